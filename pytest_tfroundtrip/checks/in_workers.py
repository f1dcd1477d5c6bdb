"""Formats reloaded where users reload: in worker interpreters that did not save them, several at once.

The main process keeps the original model: it saves each format's artifact
and computes the original's outputs.  Each worker loads one format at a
time and calls it on the inputs the search replays while the main process
saves the next format, so at most as many reloaded copies exist as workers
were lent; each is released, and a passing format's files deleted, before
its worker takes another.  Results come out in the formats' own order,
whatever order the workers finish in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pytest_tfroundtrip.checks.one_format import (
    COLLECT_FROM_BYTES,
    FormatRun,
    finished,
    judged_and_diagnosed,
    save_artifact,
    with_reproduction_of,
)
from pytest_tfroundtrip.checks.search import SearchOutcome, search
from pytest_tfroundtrip.formats.base import ModelBlueprint, RoundTripFormat
from pytest_tfroundtrip.isolation.pool import WorkerCrashed, wait_for_any
from pytest_tfroundtrip.isolation.remote import (
    Lease,
    LoadFailed,
    LoadRequest,
    StartedLoad,
    Workers,
    finish_load,
    start_load,
)
from pytest_tfroundtrip.results.report import FAILED, LOAD, PASSED, SAVE, FormatFailure, FormatResult

Checked = tuple[RoundTripFormat, FormatResult, "SearchOutcome | None"]


@dataclass(frozen=True)
class WorkerRun:
    """One check's formats for the workers: the workers, the model's blueprint, and who hears a format start."""

    formats: tuple[RoundTripFormat, ...]
    workers: Workers
    blueprint: ModelBlueprint | None
    on_start: Callable[[RoundTripFormat], None]


def check_in_workers(run: FormatRun, plan: WorkerRun) -> Iterator[Checked]:
    """Each format's result and its search outcome (None if it never loaded), in the formats' order.

    The main process saves a format and hands it to a worker with every input
    the search replays; while workers load and call, it saves the next.  A
    worker of a small model takes a second format before the first is judged
    (so it loads one while the main process judges the other); one of a model
    of :data:`~pytest_tfroundtrip.checks.one_format.COLLECT_FROM_BYTES` or more
    holds one at a time.  When every worker has its share, the main process
    judges the format whose worker answered first (searching further, with
    the worker, only if it failed), which frees its place for the next.
    """
    inputs = _replayed_inputs(run)
    depth = 2 if run.weight_bytes < COLLECT_FROM_BYTES else 1
    waiting = list(plan.formats)
    queues: dict[Lease, list[tuple[RoundTripFormat, StartedLoad, float]]] = {lease: [] for lease in plan.workers.leases}
    done: dict[str, Checked] = {}
    while waiting or any(queues.values()):
        while waiting:
            placed = _next_with_room(waiting, queues, depth)
            if placed is None:
                break
            fmt, lease = placed
            waiting.remove(fmt)
            plan.on_start(fmt)
            started = _save_and_start(fmt, run, plan, lease, inputs)
            if isinstance(started, FormatResult):
                done[fmt.name] = (fmt, started, None)
            else:
                queues[lease].append((fmt, *started))
        if not any(queues.values()):
            continue
        lease = _first_to_answer(queues)
        fmt, started_load, save_seconds = queues[lease].pop(0)
        done[fmt.name] = _judged_in_worker(fmt, run, started_load, save_seconds)
        outcome = done[fmt.name][2]
        if outcome is not None and (outcome.nondeterminism is not None or outcome.model_error is not None):
            waiting = []  # a verdict on the model itself: the formats not started are not judged
    for fmt in plan.formats:  # the formats' own order, whatever order the workers answered in
        fmt, result, outcome = done[fmt.name]
        yield fmt, replace(result, reloaded_in="fresh") if result.failure is None or result.failure.stage != SAVE else result, outcome


def _next_with_room(
    waiting: list[RoundTripFormat], queues: dict[Lease, list[tuple[RoundTripFormat, StartedLoad, float]]], depth: int,
) -> tuple[RoundTripFormat, Lease] | None:
    """The first waiting format with a worker of its Keras backend that has room, and the least busy such worker."""
    for fmt in waiting:
        leases = [lease for lease in queues if lease.worker.backend == fmt.keras_backend]
        lease = min(leases, key=lambda candidate: len(queues[candidate]), default=None)
        if lease is not None and len(queues[lease]) < depth:
            return fmt, lease
    return None


def _replayed_inputs(run: FormatRun) -> tuple[Mapping[str, np.ndarray], ...]:
    """The inputs every search replays first (targeted, then pre-drawn), once each: sent with each load."""
    seen: set[str] = set()
    inputs = []
    for example in [example for example, _pin in run.search.targeted] + list(run.search.examples):
        key = example.cache_key()
        if key not in seen:
            seen.add(key)
            inputs.append(example.arrays)
    return tuple(inputs)


def _save_and_start(
    fmt: RoundTripFormat, run: FormatRun, plan: WorkerRun, lease: Lease, inputs: tuple[Mapping[str, np.ndarray], ...],
) -> FormatResult | tuple[StartedLoad, float]:
    saved = save_artifact(fmt, run.subject, run.workdir / fmt.name)
    if isinstance(saved, FormatResult):
        return with_reproduction_of(fmt, run, saved)
    artifact, save_seconds = saved
    request = LoadRequest(fmt.name, artifact, plan.blueprint, run.subject.signature, run.subject.output_template)
    for _attempt in range(2):  # a worker found dead when sending crashed on an earlier format's request: use its replacement
        worker = lease.worker
        try:
            return start_load(lease, request, inputs), save_seconds
        except WorkerCrashed as error:
            lease.replace(worker)
            crash = error
    return _load_failed(fmt, run, artifact, save_seconds, f"WorkerCrashed: {crash}")


def _first_to_answer(queues: dict[Lease, list[tuple[RoundTripFormat, StartedLoad, float]]]) -> Lease:
    """The lease whose oldest format's load was answered first (waiting for one if none was).

    When no worker answers within the request timeout, the first lease is returned all the same: its own
    wait then times out and stops the worker (waiting here without a limit let a hung load, a model whose
    call never returns in a new interpreter, hold the check for as long as it hung).
    """
    heads = {lease: queue[0][1] for lease, queue in queues.items() if queue}
    while True:
        answered = [lease for lease, started in heads.items() if started.answered]
        if answered:
            return answered[0]
        if not wait_for_any([started.worker for started in heads.values()]):
            return next(iter(heads))


def _judged_in_worker(fmt: RoundTripFormat, run: FormatRun, started: StartedLoad, save_seconds: float) -> Checked:
    loaded = finish_load(started)
    if isinstance(loaded, LoadFailed):
        return fmt, _load_failed(fmt, run, started.request.artifact, save_seconds, loaded.error), None
    result = FormatResult(fmt.name, PASSED, save_seconds=save_seconds, load_seconds=loaded.load_seconds,
                          artifact=started.request.artifact, warnings=loaded.warnings)
    try:
        outcome = search(run.search.plan_for(fmt, loaded))
        judged = judged_and_diagnosed(result, outcome, loaded, run, fmt)
    finally:
        loaded.release(collect=run.weight_bytes >= COLLECT_FROM_BYTES)
    return fmt, finished(fmt, run, judged), outcome


def _load_failed(fmt: RoundTripFormat, run: FormatRun, artifact: Any, save_seconds: float, error: str) -> FormatResult:
    result = FormatResult(fmt.name, FAILED, save_seconds=save_seconds, artifact=artifact, failure=FormatFailure(LOAD, error))
    return with_reproduction_of(fmt, run, result)
