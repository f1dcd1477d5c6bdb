"""User layer factories for ``containing=``: references, probing, portability.

A recipe names a factory by ``module:qualname`` when it can be imported
again (then the recipe is portable); otherwise by a number in this process's
registry, and :meth:`ModelRecipe.to_json` refuses it with a clear error.

Example:
    >>> factory_reference(dict)
    'builtins:dict'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FACTORY_CLASS = "tfroundtrip.Factory"
_LOCAL: list[Callable[[], Any]] = []
_PROBES: dict[int, tuple[Callable[[], Any], FactoryProbe]] = {}
PROBE_SHAPES: tuple[tuple[int, ...], ...] = ((4,), (4, 4), (4, 4, 4))


def _importable_name(factory: Callable[[], Any]) -> str | None:
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if found is factory else None


def factory_reference(factory: Callable[[], Any]) -> str:
    """``module:qualname`` for an importable factory, else ``local:<n>`` (this process only)."""
    name = _importable_name(factory)
    if name is not None:
        return name
    for index, known in enumerate(_LOCAL):
        if known is factory:
            return f"local:{index}"
    _LOCAL.append(factory)
    return f"local:{len(_LOCAL) - 1}"


def resolve_factory(reference: str) -> Callable[[], Any]:
    """The factory a reference names."""
    module, _, qualname = reference.partition(":")
    if module == "local":
        return _LOCAL[int(qualname)]
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def ensure_portable(recipe: Any) -> None:
    """Raise ``ValueError`` if ``recipe`` uses a factory only this process knows."""
    for node in recipe.nodes:
        layer = node.layer
        if getattr(layer, "class_name", None) == FACTORY_CLASS:
            reference = layer.kwargs_dict()["factory"]
            if reference.startswith("local:"):
                raise ValueError(
                    f"this recipe contains a layer from the factory {_LOCAL[int(reference[6:])]!r}, which cannot be "
                    "imported by name (a lambda or a local function), so the recipe cannot be written as JSON or code "
                    "and rebuilt elsewhere. Pass a module-level function or class to containing= instead.")


@dataclass(frozen=True)
class FactoryProbe:
    """Which float input shapes (without batch) a factory's layer accepts, measured once."""

    accepted: tuple[tuple[int, ...], ...]
    errors: tuple[str, ...]


def probe_factory(factory: Callable[[], Any]) -> FactoryProbe:
    """Call throwaway instances on small float inputs of rank 2, 3, 4 (cached per factory)."""
    cached = _PROBES.get(id(factory))
    if cached is not None and cached[0] is factory:
        return cached[1]
    import numpy as np

    accepted, errors = [], []
    for shape in PROBE_SHAPES:
        try:
            layer = factory()
            output = layer(np.linspace(-1.0, 1.0, 2 * int(np.prod(shape)), dtype="float32").reshape((2, *shape)))
            if not hasattr(output, "shape"):
                raise TypeError(f"returned {type(output).__name__}, not one tensor")
            accepted.append(shape)
        except Exception as error:  # noqa: BLE001 - any failure means this shape is not accepted
            errors.append(f"{shape}: {type(error).__name__}: {error}")
    probe = FactoryProbe(tuple(accepted), tuple(errors))
    if not accepted:
        raise ValueError("the containing= factory's layer accepts none of the float inputs tried "
                         f"(batch 2, shapes {PROBE_SHAPES}):\n" + "\n".join(errors))
    _PROBES[id(factory)] = (factory, probe)  # holding the factory keeps its id unique
    return probe
