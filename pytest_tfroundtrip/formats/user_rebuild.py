"""``rebuild=``: the user's own code that builds the model again, before ``load_weights`` or a checkpoint restore.

Weights-only formats (``weights``, ``checkpoint``) reload into a model that the
user's code builds. Without ``rebuild=`` the check stands in for that code with
``from_config(get_config())``; with it, the check calls the same function the
user's training or serving code calls, in this interpreter or (when the
function can be imported by name) in a new one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError


@dataclass(frozen=True)
class RebuildReference:
    """A ``rebuild=`` function as another interpreter finds it: the module it is defined in, and its name there.

    The module itself is imported by the worker with the model's other modules.
    """

    module: str
    qualname: str

    @property
    def spelled(self) -> str:
        """``module:function``, as a reproduction script or a report names it.

        Example:
            >>> RebuildReference("my_models", "make_model").spelled
            'my_models:make_model'
        """
        return f"{self.module}:{self.qualname}"


def validate_rebuild(rebuild: Any) -> None:
    """Refuse a ``rebuild=`` that cannot be the user's model-building code.

    Example:
        >>> validate_rebuild(None)
        >>> validate_rebuild(lambda: None)
        >>> validate_rebuild("make_model")
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: rebuild= takes a function with no arguments that builds a new model (your own code, as your training or serving code calls it), got str: 'make_model'. Pass the function itself: rebuild=make_model
    """
    if rebuild is None or callable(rebuild) and not _is_keras_model(rebuild):
        return
    what = "the model itself" if _is_keras_model(rebuild) else f"{type(rebuild).__name__}: {rebuild!r}"[:120]
    raise RoundTripUsageError(
        "rebuild= takes a function with no arguments that builds a new model (your own code, as your training or "
        f"serving code calls it), got {what}. Pass the function itself: rebuild=make_model")


def reference_of(rebuild: Callable[[], Any]) -> RebuildReference | str:
    """Where another interpreter finds ``rebuild``, or why it cannot (a lambda, a nested function, ``__main__``).

    Example:
        >>> reference_of(validate_rebuild)
        RebuildReference(module='pytest_tfroundtrip.formats.user_rebuild', qualname='validate_rebuild')
        >>> reference_of(lambda: None)
        'rebuild= is a lambda, which another interpreter cannot import'
    """
    module = getattr(rebuild, "__module__", None)
    qualname = getattr(rebuild, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return f"rebuild= ({type(rebuild).__name__}) has no module and name another interpreter could import it by"
    if qualname == "<lambda>" or qualname.endswith(".<lambda>"):
        return "rebuild= is a lambda, which another interpreter cannot import"
    if "<locals>" in qualname:
        return f"rebuild= ({qualname}) is defined inside a function, which another interpreter cannot import"
    if module == "__main__":
        return f"rebuild= ({qualname}) is defined in __main__, which another interpreter cannot import"
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not rebuild:
        return f"rebuild= ({module}.{qualname}) is not reachable by that name in its module"
    return RebuildReference(module, qualname)


def resolved(rebuild: Callable[[], Any] | RebuildReference) -> Callable[[], Any]:
    """The function itself: ``rebuild`` in this interpreter, or found by name in a worker (its module imported).

    Example:
        >>> resolved(RebuildReference("pytest_tfroundtrip.formats.user_rebuild", "resolved")) is resolved
        True
    """
    if not isinstance(rebuild, RebuildReference):
        return rebuild
    found: Any = sys.modules[rebuild.module]
    for part in rebuild.qualname.split("."):
        found = getattr(found, part)
    return found


def users_model(rebuild: Callable[[], Any] | RebuildReference, original: Any = None) -> Any:
    """Call the user's ``rebuild`` and check that it gave a new Keras model.

    An exception raised by the user's function, or a return value that is no new model, is the user's: it is
    :class:`RebuildFailed` with the function named, which makes the format "not judged", never a defect of its file.

    Example:
        >>> import keras
        >>> def make_model():
        ...     return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> users_model(make_model).count_params()
        8
    """
    function = resolved(rebuild)
    name = getattr(function, "__qualname__", repr(function))
    try:
        model = function()
    except Exception as error:
        raise RebuildFailed(f"rebuild= ({name}) raised {type(error).__name__}: {error}") from error
    keras = _lazy.keras_of(model) if model is not None else _lazy.keras()
    if not isinstance(model, keras.Model):
        raise RebuildFailed(f"rebuild= ({name}) must return a new keras.Model, got {type(model).__name__}")
    if original is not None and model is original:
        raise RebuildFailed(f"rebuild= ({name}) returned the model under test itself; it must build a new one, "
                            "as your code does before load_weights or a checkpoint restore")
    return model


class RebuildFailed(RuntimeError):
    """The user's ``rebuild=`` function raised: the model could not be built, so no file was judged."""


def _is_keras_model(value: Any) -> bool:
    return any(cls.__name__ in ("Model", "Functional", "Sequential") and cls.__module__.startswith(("keras", "tf_keras"))
               for cls in type(value).__mro__)
