"""What a check hands its workers, one item at a time: loads of saved artifacts and conversions, and their answers.

The pieces :mod:`~pytest_tfroundtrip.checks.in_workers` schedules: an artifact
waiting for a worker, a load or a conversion sent to one, the first worker to
answer, and the verdict on a load once its worker answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.checks.one_format import (
    COLLECT_FROM_BYTES,
    FormatRun,
    finished,
    judged_and_diagnosed,
    with_reproduction_of,
)
from pytest_tfroundtrip.checks.search import SearchOutcome, search
from pytest_tfroundtrip.checks.twin_conversions import TwinSettings
from pytest_tfroundtrip.formats.base import ModelBlueprint, RoundTripFormat
from pytest_tfroundtrip.isolation.conversion import StartedConversion
from pytest_tfroundtrip.isolation.pool import wait_for_any
from pytest_tfroundtrip.isolation.remote import Lease, LoadFailed, StartedLoad, Workers, finish_load
from pytest_tfroundtrip.results.report import FAILED, LOAD, PASSED, FormatFailure, FormatResult

Checked = tuple[RoundTripFormat, FormatResult, "SearchOutcome | None"]


@dataclass(frozen=True)
class WorkerRun:
    """One check's formats for the workers: the workers, the model's blueprint, and who hears a format start."""

    formats: tuple[RoundTripFormat, ...]
    workers: Workers
    blueprint: ModelBlueprint | None
    on_start: Callable[[RoundTripFormat], None]
    twin: TwinSettings = TwinSettings()


@dataclass(frozen=True)
class Saved:
    """An artifact waiting for a worker to load it: saved here from the original, or converted from the twin."""

    fmt: RoundTripFormat
    artifact: Path
    save_seconds: float
    from_twin: bool = False
    converted_by: Lease | None = None  # the worker that converted it: never the one that loads it


@dataclass(frozen=True)
class Load:
    saved: Saved
    started: StartedLoad

    @property
    def answered(self) -> bool:
        return self.started.answered


@dataclass(frozen=True)
class Conversion:
    fmt: RoundTripFormat
    started: StartedConversion

    @property
    def answered(self) -> bool:
        return self.started.answered


Queued = Load | Conversion


def next_with_room(
    waiting: list[RoundTripFormat], room_for: Callable[[RoundTripFormat], Lease | None],
) -> tuple[RoundTripFormat, Lease] | None:
    """The first waiting format with a worker of its Keras backend that has room (the least busy such worker)."""
    for fmt in waiting:
        lease = room_for(fmt)
        if lease is not None:
            return fmt, lease
    return None


def replayed_inputs(run: FormatRun) -> tuple[Mapping[str, np.ndarray], ...]:
    """The inputs every search replays first (targeted, then pre-drawn), once each: sent with each load."""
    seen: set[str] = set()
    inputs = []
    for example in [example for example, _pin in run.search.targeted] + list(run.search.examples):
        key = example.cache_key()
        if key not in seen:
            seen.add(key)
            inputs.append(example.arrays)
    return tuple(inputs)


def first_to_answer(queues: dict[Lease, list[Queued]]) -> Lease:
    """The lease whose oldest format's load was answered first (waiting for one if none was).

    When no worker answers within the request timeout, the first lease is returned all the same: its own
    wait then times out and stops the worker (waiting here without a limit let a hung load, a model whose
    call never returns in a new interpreter, hold the check for as long as it hung).
    """
    heads = {lease: queue[0].started for lease, queue in queues.items() if queue}
    while True:
        answered = [lease for lease, started in heads.items() if started.answered]
        if answered:
            return answered[0]
        if not wait_for_any([started.worker for started in heads.values()]):
            return next(iter(heads))


def judged_in_worker(fmt: RoundTripFormat, run: FormatRun, started: StartedLoad, save_seconds: float) -> Checked:
    loaded = finish_load(started)
    if isinstance(loaded, LoadFailed):
        return fmt, load_failed(fmt, run, started.request.artifact, save_seconds, loaded.error), None
    result = FormatResult(fmt.name, PASSED, save_seconds=save_seconds, load_seconds=loaded.load_seconds,
                          artifact=started.request.artifact, warnings=loaded.warnings)
    try:
        outcome = search(run.search.plan_for(fmt, loaded))
        judged = judged_and_diagnosed(result, outcome, loaded, run, fmt)
    finally:
        loaded.release(collect=run.weight_bytes >= COLLECT_FROM_BYTES)
    return fmt, finished(fmt, run, judged), outcome


def load_failed(fmt: RoundTripFormat, run: FormatRun, artifact: Any, save_seconds: float, error: str) -> FormatResult:
    result = FormatResult(fmt.name, FAILED, save_seconds=save_seconds, artifact=artifact, failure=FormatFailure(LOAD, error))
    return with_reproduction_of(fmt, run, result)
