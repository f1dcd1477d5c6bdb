"""Which of the user's modules a new interpreter imports to load the model, as the user's loading code would.

The classes are found from the model: its own class and every custom layer
(:func:`~pytest_tfroundtrip.formats.construction.custom_objects_in`), plus
every object its serialized config and compile config name by module
(initializers, activations, schedules, losses, metrics, ...).  Each module is imported from the directory its import
name starts in (its *root*), so the worker finds the same file.  A class
defined in ``__main__`` or inside a function cannot be imported by another
interpreter: that is said, with the class.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Always importable where the checker runs, and never the user's: not imported ahead.
_INSTALLED_WITH_US = ("keras", "tensorflow", "tf_keras", "builtins", "numpy")


@dataclass(frozen=True)
class UserModule:
    """A module to import: its name, the directory its name is resolved from, and the file it must be."""

    name: str
    root: str
    file: str


@dataclass(frozen=True)
class UserModules:
    """The modules that define the model's classes, or why a new interpreter cannot import one of them."""

    modules: tuple[UserModule, ...]
    why_not: str | None = None


def user_modules(model: Any, serialized: Any = None) -> UserModules:
    """The modules a new interpreter imports before loading ``model``'s artifacts.

    ``serialized``: the model's ``keras.saving.serialize_keras_object`` output, if already made.

    Example:
        >>> import keras
        >>> user_modules(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
        UserModules(modules=(), why_not=None)
    """
    from pytest_tfroundtrip.formats.construction import custom_objects_in

    classes = [type(obj) for obj in custom_objects_in(model)]
    found: dict[str, UserModule] = {}
    for cls in classes:
        if "<locals>" in cls.__qualname__:
            return UserModules((), f"class {cls.__qualname__} is defined inside a function, which another interpreter cannot import")
        if cls.__module__ == "__main__":
            return UserModules((), f"class {cls.__name__} is defined in __main__, which another interpreter cannot import")
    names = [cls.__module__ for cls in classes] + list(_modules_named_in(serialized))
    names += list(_modules_named_in(_compile_config(model)))  # a schedule, loss or metric of the user's
    for name in names:
        if name in found or name.split(".")[0] in _INSTALLED_WITH_US or name == "__main__":
            continue
        module = _module_of(name)
        if isinstance(module, str):
            return UserModules((), module)
        found[name] = module
    return UserModules(tuple(found.values()))


def module_to_import(name: str) -> UserModule | str:
    """The module ``name`` as a worker imports it, or why another interpreter cannot find it again.

    Example:
        >>> module_to_import("pytest_tfroundtrip.errors").name
        'pytest_tfroundtrip.errors'
    """
    return _module_of(name)


def _module_of(name: str) -> UserModule | str:
    """The module ``name`` as a :class:`UserModule`, or why it cannot be found again elsewhere."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if module is None or file is None:
        return f"module {name!r} that defines the model's classes has no file another interpreter can import"
    depth = name.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    path = Path(file).resolve()
    return UserModule(name, str(path.parents[depth]), str(path))


def _compile_config(model: Any) -> Any:
    """The model's compile config (optimizer, schedule, losses, metrics as Keras serializes them), or None."""
    try:
        return model.get_compile_config() if getattr(model, "compiled", False) else None
    except Exception:  # a config Keras cannot serialize: the reload says so itself
        return None


def _modules_named_in(serialized: Any) -> Iterator[str]:
    """Every ``module`` a serialized Keras config names next to a ``class_name``."""
    if isinstance(serialized, dict):
        if isinstance(serialized.get("module"), str) and "class_name" in serialized:
            yield serialized["module"]
        for value in serialized.values():
            yield from _modules_named_in(value)
    elif isinstance(serialized, (list, tuple)):
        for value in serialized:
            yield from _modules_named_in(value)


def import_user_modules(modules: tuple[UserModule, ...]) -> str | None:
    """In the worker: import each module from its root; None, or the name of one already imported from another file.

    A module of that name imported earlier from another file (another test's
    project, say) cannot be replaced in this interpreter: the caller starts another.

    Example:
        >>> import_user_modules(()) is None
        True
    """
    import importlib

    for module in modules:
        if module.root in sys.path:
            sys.path.remove(module.root)
        sys.path.insert(0, module.root)  # as the reproduction scripts do: this model's root first
        loaded = importlib.import_module(module.name)
        file = getattr(loaded, "__file__", None)
        if file is None or Path(file).resolve() != Path(module.file):
            return module.name
    return None
