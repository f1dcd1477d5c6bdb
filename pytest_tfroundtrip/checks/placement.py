"""Where each format is reloaded: in worker interpreters (the default) or in this process, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.one_format import FormatRun
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import ModelBlueprint, RoundTripFormat, blueprint_of
from pytest_tfroundtrip.isolation.pool import default_worker_count, session_pool
from pytest_tfroundtrip.isolation.remote import Workers, lend_workers
from pytest_tfroundtrip.isolation.user_modules import user_modules

RELOAD_PLACES = ("fresh", "process")


@dataclass(frozen=True)
class Placement:
    """The formats reloaded in ``workers`` and those reloaded here, with notes for the report."""

    in_workers: tuple[RoundTripFormat, ...]
    here: tuple[RoundTripFormat, ...]
    workers: Workers | None = None
    blueprint: ModelBlueprint | None = None
    notes: tuple[str, ...] = ()

    def give_back(self) -> None:
        if self.workers is not None:
            self.workers.give_back()


def validate_reload_in(reload_in: Any, workers: Any) -> None:
    """Refuse a ``reload_in`` or ``workers`` argument that cannot be meant.

    Example:
        >>> validate_reload_in("fresh", 2)
        >>> validate_reload_in("subprocess", None)
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: reload_in must be 'fresh' (a new interpreter, the default) or 'process' (this one), got 'subprocess'
    """
    if reload_in not in RELOAD_PLACES:
        raise RoundTripUsageError(f"reload_in must be 'fresh' (a new interpreter, the default) or 'process' (this one), got {reload_in!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RoundTripUsageError(f"workers must be a whole number of worker interpreters, 1 or more (or None for the "
                                  f"default), got {workers!r}")


def place_formats(chosen: list[RoundTripFormat], run: FormatRun, reload_in: str, workers: int | None) -> Placement:
    """Lend workers for the formats to reload fresh; keep here those a new interpreter cannot load, saying why."""
    model = run.subject.model
    if reload_in == "process" or not chosen:
        return Placement((), tuple(chosen))
    if _lazy.is_keras2_model(model):
        return Placement((), tuple(chosen), notes=(
            "reloaded in this process: a tf_keras (Keras 2) model is not reloaded in a new interpreter yet",))
    needs_architecture = any(not fmt.preserves.architecture for fmt in chosen)
    blueprint = blueprint_of(model) if needs_architecture else None
    count = workers or default_worker_count(len(chosen), run.weight_bytes)
    lent = lend_workers(session_pool(count), min(count, len(chosen)),
                        user_modules(model, blueprint.architecture if blueprint is not None else None))
    why_not = lent.classes_not_importable
    if why_not is None:
        return Placement(tuple(chosen), (), lent, blueprint)
    here = tuple(fmt for fmt in chosen if fmt.preserves.needs_python_classes)
    fresh = tuple(fmt for fmt in chosen if not fmt.preserves.needs_python_classes)
    note = (f"{', '.join(fmt.name for fmt in here)} reloaded in this process, not in a new interpreter: {why_not}. "
            "Define the class at the top level of a module to check them where users reload them")
    if not fresh:
        lent.give_back()
        return Placement((), here, notes=(note,))
    return Placement(fresh, here, lent, blueprint, (note,))
