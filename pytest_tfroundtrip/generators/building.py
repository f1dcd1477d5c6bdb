"""Turn a :class:`~.recipes.ModelRecipe` into a Keras model (imports Keras).

Example:
    >>> from pytest_tfroundtrip.generators.recipes import InputRecipe, LayerRecipe, ModelRecipe, NodeRecipe
    >>> recipe = ModelRecipe("functional", (InputRecipe("x", (3,), "float32"),),
    ...                      (NodeRecipe(LayerRecipe("Dense", (("units", 2),)), (0,)),), (1,))
    >>> build_model(recipe).output_shape
    (None, 2)
"""

from __future__ import annotations

from typing import Any

import keras

from pytest_tfroundtrip.generators.factories import FACTORY_CLASS, resolve_factory
from pytest_tfroundtrip.generators.recipes import JSONValue, LayerRecipe, ModelRecipe, thaw

BLOCK_CLASS = "GeneratedBlock"
SUBMODEL_CLASS = "tfroundtrip.Submodel"
TRAIN_BATCH = 4
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
            from pytest_tfroundtrip.generators.custom import GeneratedBlock

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


def structure_inputs(recipe: ModelRecipe, tensors: list[Any]) -> Any:
    """Arrange input tensors as the model takes them."""
    if recipe.input_structure == "dict":
        return {i.name: t for i, t in zip(recipe.inputs, tensors)}
    return list(tensors) if recipe.input_structure == "list" else tensors[0]


def structure_outputs(recipe: ModelRecipe, tensors: list[Any]) -> Any:
    """Arrange output tensors as the model returns them."""
    if recipe.output_structure == "dict":
        return dict(zip(recipe.output_names(), tensors))
    return list(tensors) if recipe.output_structure == "list" else tensors[0]


def _keras_inputs(recipe: ModelRecipe) -> list[Any]:
    return [keras.Input(shape=i.shape, dtype=i.dtype, sparse=i.sparse, name=i.name) for i in recipe.inputs]


def functional_model(recipe: ModelRecipe) -> Any:
    """The recipe's graph as a functional model (also used for nested sub-models)."""
    inputs = _keras_inputs(recipe)
    tensors = run_graph(recipe, inputs, make_layers(recipe))
    return keras.Model(structure_inputs(recipe, inputs), structure_outputs(recipe, [tensors[o] for o in recipe.outputs]))


def untrained_model(recipe: ModelRecipe) -> Any:
    """Build the model without compiling or training it (weights from the recipe's seed)."""
    keras.utils.set_random_seed(recipe.seed)
    if recipe.kind == "sequential":
        layers = make_layers(recipe)
        return keras.Sequential([*_keras_inputs(recipe), *(layers[k] for k in sorted(layers))])
    if recipe.kind == "functional":
        return functional_model(recipe)
    from pytest_tfroundtrip.generators import custom

    cls = custom.GeneratedTrainStepModel if recipe.compile and recipe.compile.custom_train_step else custom.GeneratedModel
    model = cls(recipe.to_dict())
    model(recipe.sample_inputs(batch=1, seed=recipe.seed))  # builds, recording the build shapes for reloading
    return model


def build_model(recipe: ModelRecipe) -> Any:
    """Seed, build, compile (if the recipe says so) and train ``train_steps`` batches."""
    model = untrained_model(recipe)
    if recipe.compile is None:
        return model
    from pytest_tfroundtrip.generators.training import compile_arguments

    model.compile(**compile_arguments(recipe))
    if recipe.train_steps:
        from pytest_tfroundtrip.generators.data import training_targets

        x = recipe.sample_inputs(batch=TRAIN_BATCH, seed=recipe.seed)  # = recipe.training_data(TRAIN_BATCH, seed)
        y = training_targets(recipe, model, x, recipe.seed + 1)
        for _ in range(recipe.train_steps):
            model.train_on_batch(x, y)
    return model
