"""Format adapters and their registry.

Every module in this package that defines ``FORMAT`` (a
:class:`~pytest_tfroundtrip.formats.base.RoundTripFormat`) is a format;
adding a format is adding one file.  The order is each format's ``order``.
Importing this package does not import TensorFlow.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache

from pytest_tfroundtrip._lazy import process_backend
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import RoundTripFormat


@cache
def all_formats() -> tuple[RoundTripFormat, ...]:
    """Every format this package knows, in their stable order.

    Example:
        >>> [f.name for f in all_formats()]
        ['keras', 'h5', 'savedmodel', 'export', 'weights', 'checkpoint', 'orbax', 'tflite', 'litert', 'onnx', 'openvino', 'keras@tensorflow', 'weights@tensorflow', 'keras@jax', 'weights@jax', 'keras@torch', 'weights@torch']
    """
    found = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        candidate = getattr(module, "FORMAT", None)
        if isinstance(candidate, RoundTripFormat):
            found.append(candidate)
    return tuple(sorted(found, key=lambda f: (f.order, f.name)))


def format_names() -> list[str]:
    return [f.name for f in all_formats()]


def available_formats() -> list[str]:
    """Names of the formats a check runs by default in this process, in stable order: their runtime is installed
    and they are formats of a model under this process's Keras backend (not ``savedmodel`` under JAX, nor ``keras@jax``).

    Example:
        >>> "keras" in available_formats(), "keras@tensorflow" in available_formats()  # a TensorFlow process
        (True, False)
    """
    backend = process_backend()
    return [f.name for f in all_formats()
            if f.listed_under(backend) and f.backend_reason(backend) is None and f.unavailable_reason() is None]


def get_format(name: str) -> RoundTripFormat:
    """The format called ``name``; a clear error listing the known names otherwise."""
    for candidate in all_formats():
        if candidate.name == name:
            return candidate
    raise RoundTripUsageError(f"unknown format {name!r}; the formats are {format_names()} (available here: {available_formats()})")


@dataclass(frozen=True)
class AmongFormats:
    """``formats=AmongFormats(names)``: check only these, but as if chosen by default.

    A format whose runtime is missing is skipped, and one that cannot take the
    model is not applicable, instead of failing as a named format does.  The
    command line uses it for a SavedModel, whose default is the formats that re-export it.

    Example:
        >>> AmongFormats(("export", "onnx")).names
        ('export', 'onnx')
    """

    names: tuple[str, ...]


def parse_format_names(formats: object) -> list[str] | None:
    """Normalise a ``formats=`` argument: None, a name, a comma list, or names.

    Example:
        >>> parse_format_names("keras, h5")
        ['keras', 'h5']
    """
    if formats is None:
        return None
    if isinstance(formats, str):
        names = [part.strip() for part in formats.split(",") if part.strip()]
    elif isinstance(formats, (list, tuple, set, frozenset)):
        names = list(formats)
    else:
        raise RoundTripUsageError(f"formats must be a list of format names, got {type(formats).__name__}: {formats!r}")
    if not names:
        raise RoundTripUsageError(f"formats is empty; choose from {format_names()}")
    for name in names:
        if not isinstance(name, str):
            raise RoundTripUsageError(f"formats must hold format names (str), got {name!r}")
        get_format(name)
    return list(dict.fromkeys(names))
