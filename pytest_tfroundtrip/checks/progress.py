"""Who wants to hear as each format starts and ends: the command line's progress display.

A check calls :func:`format_started` and :func:`format_finished`; they do
nothing unless a listener was installed with :func:`reporting_progress`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol


class ProgressListener(Protocol):
    def format_started(self, name: str, index: int, total: int) -> None: ...

    def format_finished(self, result: Any) -> None: ...


_LISTENER: ContextVar[ProgressListener | None] = ContextVar("tf_roundtrip_progress", default=None)


@contextmanager
def reporting_progress(listener: ProgressListener) -> Iterator[None]:
    """Tell ``listener`` about each format of the checks run inside this block.

    Example:
        >>> class Printer:
        ...     def format_started(self, name, index, total): print("start", name, f"{index}/{total}")
        ...     def format_finished(self, result): print("done", result)
        >>> with reporting_progress(Printer()):
        ...     format_started("keras", 1, 2)
        start keras 1/2
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def format_started(name: str, index: int, total: int) -> None:
    listener = _LISTENER.get()
    if listener is not None:
        listener.format_started(name, index, total)


def format_finished(result: Any) -> None:
    listener = _LISTENER.get()
    if listener is not None:
        listener.format_finished(result)
