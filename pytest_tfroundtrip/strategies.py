"""Public hypothesis strategies generating random sound Keras models.

Importing this module imports hypothesis, not Keras: Keras is imported when
the first model is drawn.  See :mod:`pytest_tfroundtrip.generators`.

Example:
    >>> strategy = model_recipes(kinds=("sequential",), max_layers=2)
    >>> ModelRecipe.from_json(ModelRecipe("sequential", (InputRecipe("x", (2,), "float32"),), (), (0,)).to_json()).kind
    'sequential'
"""

from __future__ import annotations

from pytest_tfroundtrip.generators import (
    CompileRecipe,
    InputRecipe,
    LayerRecipe,
    ModelRecipe,
    NodeRecipe,
    build_model,
    keras_models,
    model_recipes,
)
from pytest_tfroundtrip.generators.usecases import UseCaseRecipe, use_case_recipes

__all__ = ["CompileRecipe", "InputRecipe", "LayerRecipe", "ModelRecipe", "NodeRecipe", "UseCaseRecipe", "build_model",
           "keras_models", "model_recipes", "use_case_recipes"]
