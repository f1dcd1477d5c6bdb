"""Turn a :class:`~.recipes.ModelRecipe` into a Keras model (imports Keras): seeded, compiled and trained.

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

from pytest_tfroundtrip.generators.data import sample_inputs, training_targets
from pytest_tfroundtrip.generators.graph import functional_model, keras_inputs, make_layers
from pytest_tfroundtrip.generators.recipes import ModelRecipe

TRAIN_BATCH = 4


def untrained_model(recipe: ModelRecipe) -> Any:
    """Build the model without compiling or training it (weights from the recipe's seed)."""
    keras.utils.set_random_seed(recipe.seed)
    if recipe.kind == "sequential":
        layers = make_layers(recipe)
        return keras.Sequential([*keras_inputs(recipe), *(layers[k] for k in sorted(layers))])
    if recipe.kind == "functional":
        return functional_model(recipe)
    from pytest_tfroundtrip.generators import custom  # imports TensorFlow, which the other kinds do not need

    cls = custom.GeneratedTrainStepModel if recipe.compile and recipe.compile.custom_train_step else custom.GeneratedModel
    model = cls(recipe.to_dict())
    model(sample_inputs(recipe, batch=1, seed=recipe.seed))  # builds, recording the build shapes for reloading
    return model


def build_model(recipe: ModelRecipe) -> Any:
    """Seed, build, compile (if the recipe says so) and train ``train_steps`` batches."""
    model = untrained_model(recipe)
    if recipe.compile is None:
        return model
    from pytest_tfroundtrip.generators.training import compile_arguments  # imports hypothesis, a rebuild need not

    model.compile(**compile_arguments(recipe))
    if recipe.train_steps:
        x = sample_inputs(recipe, batch=TRAIN_BATCH, seed=recipe.seed)  # = training_data(recipe, TRAIN_BATCH, seed)
        y = training_targets(recipe, model, x, recipe.seed + 1)
        for _ in range(recipe.train_steps):
            model.train_on_batch(x, y)
    return model


def training_data(recipe: ModelRecipe, samples: int = 4, seed: int = 0) -> tuple[Any, Any]:
    """``(x, y)`` with ``samples`` rows; ``y`` fits the recipe's losses."""
    x = sample_inputs(recipe, samples, seed)
    return x, training_targets(recipe, untrained_model(recipe), x, seed + 1)
