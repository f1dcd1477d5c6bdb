"""The recipe's node graph in Keras: layers from layer recipes (nested blocks and sub-models too), run on tensors.

A :class:`GeneratedBlock` is made of layers and is itself a layer, so building
one layer may build a block, whose sublayers are built here again: the
recursion lives in this one module.

Example:
    >>> import keras
    >>> block = GeneratedBlock([{"class_name": "Dense", "kwargs": {"units": 2}}])
    >>> tuple(block(keras.ops.ones((1, 3))).shape)
    (1, 2)
    >>> GeneratedBlock.from_config(block.get_config()).get_config()["layers"] == block.get_config()["layers"]
    True
"""

from __future__ import annotations

from typing import Any

import keras

from pytest_tfroundtrip.generators.factories import FACTORY_CLASS, resolve_factory
from pytest_tfroundtrip.generators.recipes import (
    JSONValue,
    LayerRecipe,
    ModelRecipe,
    structure_inputs,
    structure_outputs,
    thaw,
)

PACKAGE = "tfroundtrip_generated"
BLOCK_CLASS = "GeneratedBlock"
SUBMODEL_CLASS = "tfroundtrip.Submodel"
# Categorical preprocessing layers compute on ids or strings: a float dtype policy does not apply to them.
# ActivityRegularization under a float16 policy adds a float16 loss that Keras cannot sum with float32 ones.
# CutMix cannot train in float16 (Keras 3.15: TensorFlow's Range has no half kernel), found by the properties.
NO_POLICY = frozenset({"StringLookup", "IntegerLookup", "Hashing", "TextVectorization", "Discretization",
                       "CategoryEncoding", "ActivityRegularization", "CutMix"})


def _decode(value: JSONValue, policy: str | None) -> Any:
    """Kwarg value for Keras: nested layers instantiated, tuples as lists."""
    if isinstance(value, dict) and "__layer__" in value:
        return instantiate(LayerRecipe.from_dict(value["__layer__"]), policy)
    if isinstance(value, (list, tuple)):
        return [_decode(v, policy) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v, policy) for k, v in value.items()}
    return value


def instantiate(recipe: LayerRecipe, policy: str | None = None) -> Any:
    """A new layer from its recipe; ``policy`` is its dtype policy unless it names one."""
    kwargs = {k: _decode(v, policy) for k, v in recipe.kwargs}
    if recipe.class_name == FACTORY_CLASS:
        layer = resolve_factory(kwargs["factory"])()
    elif recipe.class_name == SUBMODEL_CLASS:
        inner = ModelRecipe.from_dict(thaw(recipe.kwargs_dict()["recipe"]))
        layer = functional_model(inner if inner.dtype_policy or not policy else _with_policy(inner, policy))
    else:
        if policy is not None and "dtype" not in kwargs and recipe.class_name not in NO_POLICY:
            kwargs["dtype"] = policy
        if recipe.class_name == BLOCK_CLASS:
            layer = GeneratedBlock(**kwargs)
        else:
            layer = getattr(keras.layers, recipe.class_name)(**kwargs)
    if recipe.frozen:
        layer.trainable = False
    return layer


def _with_policy(recipe: ModelRecipe, policy: str) -> ModelRecipe:
    return ModelRecipe.from_dict({**recipe.to_dict(), "dtype_policy": policy})


def _call(layer: Any, args: list[Any], call: str, training: bool | None) -> Any:
    extra = {} if training is None else {"training": training}
    if call == "list":
        return layer(args, **extra)
    if call == "args":
        return layer(*args, **extra)
    return layer(args[0], **extra)


def run_graph(recipe: ModelRecipe, inputs: list[Any], layers: dict[int, Any], training: bool | None = None) -> list[Any]:
    """Every node's tensor: ``inputs`` followed by each node's layer call."""
    tensors = list(inputs)
    for node_id in range(len(recipe.inputs), recipe.node_count):
        node = recipe.nodes[node_id - len(recipe.inputs)]
        tensors.append(_call(layers[node_id], [tensors[i] for i in node.inputs], node.call, training))
    return tensors


def make_layers(recipe: ModelRecipe) -> dict[int, Any]:
    """One layer object per node id; a shared node gets its original node's layer."""
    layers: dict[int, Any] = {}
    for j, node in enumerate(recipe.nodes):
        node_id = len(recipe.inputs) + j
        layers[node_id] = layers[node.layer] if isinstance(node.layer, int) else instantiate(node.layer, recipe.dtype_policy)
    return layers


def keras_inputs(recipe: ModelRecipe) -> list[Any]:
    return [keras.Input(shape=i.shape, dtype=i.dtype, sparse=i.sparse, name=i.name) for i in recipe.inputs]


def functional_model(recipe: ModelRecipe) -> Any:
    """The recipe's graph as a functional model (also used for nested sub-models)."""
    inputs = keras_inputs(recipe)
    tensors = run_graph(recipe, inputs, make_layers(recipe))
    return keras.Model(structure_inputs(recipe, inputs), structure_outputs(recipe, [tensors[o] for o in recipe.outputs]))


@keras.saving.register_keras_serializable(package=PACKAGE)
class GeneratedBlock(keras.layers.Layer):
    """A chain of sublayers, created in ``__init__`` from their recipes (JSON dicts)."""

    def __init__(self, layers: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer_recipes = [LayerRecipe.from_dict(spec).to_dict() for spec in layers]
        self.chain = [instantiate(LayerRecipe.from_dict(spec)) for spec in self.layer_recipes]

    def build(self, input_shape: Any) -> None:
        spec = keras.KerasTensor(input_shape, dtype=self.compute_dtype)
        for layer in self.chain:  # building a sublayer needs the shape its predecessor produces
            spec = layer.compute_output_spec(spec) if layer.built else _build_and_spec(layer, spec)
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = inputs
        for layer in self.chain:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        for layer in self.chain:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layers": self.layer_recipes}


def _build_and_spec(layer: Any, spec: Any) -> Any:
    layer.build(spec.shape)
    return layer.compute_output_spec(spec)
