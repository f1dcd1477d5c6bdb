"""Random sound Keras models for property-based tests: recipes drawn by hypothesis, then built.

Importing this package imports hypothesis but not Keras or TensorFlow; they
are imported when the first recipe is drawn.

Example:
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=2, deadline=None, database=None)
    ... @given(model_recipes(kinds=("functional",), max_layers=2, compiled=False))
    ... def check(recipe):
    ...     assert ModelRecipe.from_json(recipe.to_json()) == recipe
    >>> check()
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from pytest_tfroundtrip.generators.recipes import (
    KINDS,
    CompileRecipe,
    InputRecipe,
    LayerRecipe,
    ModelRecipe,
    NodeRecipe,
)

__all__ = ["CompileRecipe", "InputRecipe", "LayerRecipe", "ModelRecipe", "NodeRecipe", "build_model", "keras_models",
           "model_recipes"]


def _check_containing(containing: Any) -> Callable[[], Any] | None:
    if containing is None:
        return None
    keras = sys.modules.get("keras")  # a layer instance exists only if Keras is imported already
    if keras is not None and isinstance(containing, keras.layers.Layer):
        name = type(containing).__name__
        raise TypeError(
            f"containing= takes a factory, not a layer instance ({name}): one instance cannot be the fresh layer of "
            f"many generated models. Pass `lambda: {name}(...)`, or the class itself if it needs no arguments.")
    if not callable(containing):
        raise TypeError(f"containing= takes a zero-argument callable returning a new layer, got {containing!r}")
    return containing


def model_recipes(
    *,
    kinds: tuple[str, ...] = KINDS,
    max_layers: int = 6,
    input_dtypes: tuple[str, ...] | None = None,
    compiled: bool | None = None,
    trained: bool | None = None,
    containing: Callable[[], Any] | None = None,
) -> st.SearchStrategy[ModelRecipe]:
    """Recipes of sound models; ``None`` for ``compiled``/``trained`` means either.

    ``input_dtypes`` limits input dtypes (names as in :data:`.inputs.ALL_DTYPES`,
    ``"sparse"`` for a sparse float input). ``containing`` is a zero-argument
    factory of a layer placed into every model; a non-importable factory (a
    lambda) keeps the recipes in this process, so subclassed hosts (whose
    config is the recipe) are left out.
    """
    factory = _check_containing(containing)
    kinds = tuple(kinds)
    if not kinds or set(kinds) - set(KINDS):
        raise ValueError(f"kinds must be a non-empty selection of {KINDS}, got {kinds!r}")
    if trained and compiled is False:
        raise ValueError("trained=True needs a compiled model (compiled=None or True)")
    if max_layers < 1:
        raise ValueError("max_layers must be at least 1")
    if factory is not None:
        from pytest_tfroundtrip.generators.factories import _importable_name

        if _importable_name(factory) is None:
            kinds = tuple(k for k in kinds if k != "subclassed")
            if not kinds:
                raise ValueError("a subclassed host stores its recipe as its config, which a lambda or local factory "
                                 "cannot be part of; pass an importable factory or other kinds")
    dtypes = None if input_dtypes is None else tuple(input_dtypes)
    if dtypes is not None:
        from pytest_tfroundtrip.generators.inputs import dtype_names

        dtype_names(dtypes)  # fail now on an unknown name

    def strategy() -> st.SearchStrategy[ModelRecipe]:
        from pytest_tfroundtrip.generators.composition import graph_recipes

        return st.sampled_from(kinds).flatmap(
            lambda kind: graph_recipes(kind, max_layers, dtypes, compiled, trained, factory))

    return st.deferred(strategy)


def build_model(recipe: ModelRecipe) -> Any:
    """The recipe's Keras model: seeded, built, compiled and trained as it says (:func:`.building.build_model`).

    Keras is imported on the first call, not when this package is.

    >>> dense = NodeRecipe(LayerRecipe("Dense", (("units", 3),)), (0,))
    >>> build_model(ModelRecipe("functional", (InputRecipe("x", (2,), "float32"),), (dense,), (1,))).output_shape
    (None, 3)
    """
    from pytest_tfroundtrip.generators import building

    return building.build_model(recipe)


def keras_models(**kwargs: Any) -> st.SearchStrategy[Any]:
    """Built models: ``model_recipes(**kwargs).map(build_model)``."""
    return model_recipes(**kwargs).map(build_model)
