"""Registered subclassed models that generated recipes of kind ``subclassed`` build.

They follow the pattern the Keras guides teach: sublayers created in
``__init__``, a complete ``get_config`` (the recipe), registration under the
package ``tfroundtrip_generated`` so ``.keras`` files reload them.  The block
layer they may contain is :class:`~.graph.GeneratedBlock`.

Example:
    >>> import keras
    >>> from pytest_tfroundtrip.generators.recipes import InputRecipe, LayerRecipe, ModelRecipe, NodeRecipe
    >>> recipe = ModelRecipe("subclassed", (InputRecipe("x", (3,), "float32"),),
    ...                      (NodeRecipe(LayerRecipe("Dense", (("units", 2),)), (0,)),), (1,))
    >>> model = GeneratedModel(recipe.to_dict())
    >>> tuple(model(keras.ops.ones((1, 3))).shape)
    (1, 2)
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from pytest_tfroundtrip.generators.graph import PACKAGE, instantiate, run_graph
from pytest_tfroundtrip.generators.recipes import LayerRecipe, ModelRecipe, structure_inputs, structure_outputs


def _graph_part(recipe: dict[str, Any]) -> dict[str, Any]:
    """The part of a recipe the model's ``call`` interprets (no compile or training)."""
    return {**recipe, "kind": "subclassed", "compile": None, "train_steps": 0}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GeneratedModel(keras.Model):
    """A subclassed model running a recipe's node graph; its config is the recipe."""

    def __init__(self, recipe: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recipe = _graph_part(recipe)
        self._graph = ModelRecipe.from_dict(self.recipe)
        self.graph_layers: list[Any] = []
        self._slot: dict[int, int] = {}
        offset = len(self._graph.inputs)
        for j, node in enumerate(self._graph.nodes):
            if isinstance(node.layer, LayerRecipe):
                self._slot[offset + j] = len(self.graph_layers)
                self.graph_layers.append(instantiate(node.layer, self._graph.dtype_policy))
            else:
                self._slot[offset + j] = self._slot[node.layer]

    def _layers_by_node(self) -> dict[int, Any]:
        return {node: self.graph_layers[slot] for node, slot in self._slot.items()}

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        specs = [keras.KerasTensor((None, *i.shape), dtype=i.dtype, sparse=i.sparse, name=i.name)
                 for i in self._graph.inputs]
        self.call(structure_inputs(self._graph, specs))  # symbolic calls build every sublayer
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        tensors = run_graph(self._graph, _flatten_inputs(self._graph, inputs), self._layers_by_node(), training)
        return structure_outputs(self._graph, [tensors[o] for o in self._graph.outputs])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "recipe": self.recipe}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GeneratedTrainStepModel(GeneratedModel):
    """A :class:`GeneratedModel` overriding ``train_step`` as the Keras 3 TensorFlow guide shows."""

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            scaled = self.optimizer.scale_loss(loss)  # a LossScaleOptimizer scales; others return loss
        trainable = self.trainable_variables
        gradients = tape.gradient(scaled, trainable)
        self.optimizer.apply(gradients, trainable)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _flatten_inputs(recipe: ModelRecipe, inputs: Any) -> list[Any]:
    if recipe.input_structure == "dict":
        return [inputs[i.name] for i in recipe.inputs]
    if recipe.input_structure == "list":
        return list(inputs)
    return [inputs]
