"""Warnings raised inside TensorFlow, Keras and the runtimes during our checks: counted, not shown one by one.

A check calls deep into TensorFlow, Keras and the export runtimes, which warn
about their own internals (measured: 24 ``DeprecationWarning``s from Keras's
TensorFlow backend in one check of a small MLP).  Those say nothing about the
user's model, so during a check they are collected here and summarised once;
every other warning (the user's own code, this package's
``RoundTripWarning``) is raised again unchanged, with its own location.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

# Packages whose own code raises the warnings we collect (matched on the warning's file path).
INTERNAL_PACKAGES = ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx", "onnxruntime", "openvino",
                     "ai_edge_litert", "google", "absl", "h5py", "ml_dtypes", "tensorflow_text", "keras_hub",
                     "jax", "jaxlib", "orbax")
_INTERNAL_PATH = re.compile(r"[/\\](site|dist)-packages[/\\](" + "|".join(INTERNAL_PACKAGES) + r")[/\\]")
Function = TypeVar("Function", bound=Callable[..., Any])


@dataclass
class InternalWarnings:
    """Internal warnings collected since the last :meth:`take`; ``show_all`` raises them again instead."""

    count: int = 0
    first: str | None = None
    show_all: bool = False

    def take(self) -> tuple[int, str | None]:
        """The count and the first message so far, and start again."""
        taken = (self.count, self.first)
        self.count, self.first = 0, None
        return taken


COLLECTED = InternalWarnings()


def is_internal(filename: str) -> bool:
    """Whether a warning raised in ``filename`` comes from TensorFlow, Keras or a runtime's own code.

    Example:
        >>> is_internal("/venv/lib/python3.11/site-packages/keras/src/backend/tensorflow/core.py")
        True
        >>> is_internal("/home/me/project/layers.py")
        False
    """
    return bool(_INTERNAL_PATH.search(filename))


@contextmanager
def internal_warnings_collected() -> Iterator[None]:
    """Collect internal warnings raised in this block into :data:`COLLECTED`; raise every other one again.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     with internal_warnings_collected():
        ...         warnings.warn("yours")
        >>> [str(w.message) for w in seen]
        ['yours']
    """
    recorded: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                recorded = list(caught)
    finally:  # also when the check raised; the user's warnings then meet the user's own filters again
        _sort(recorded)


def _sort(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        if is_internal(warning.filename) and not COLLECTED.show_all:
            COLLECTED.count += 1
            if COLLECTED.first is None:
                text = str(warning.message)
                text = text if len(text) <= 200 else text[:197] + "..."
                COLLECTED.first = f"{warning.category.__name__}: {text} ({warning.filename}:{warning.lineno})"
            continue
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno,
                               source=warning.source)
