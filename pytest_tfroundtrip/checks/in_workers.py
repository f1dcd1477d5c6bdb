"""Formats reloaded where users reload: in worker interpreters that did not save them, several at once.

The main process keeps the original model: it saves each format's artifact
and computes the original's outputs.  Workers (one per format of a *wave*)
load the artifacts while the main process saves the next, then one search
gives every input to all the wave's reloads at once.  A wave is as large as
the workers lent to the check, so at most that many reloaded copies exist
at a time; each is released, and a passing format's files deleted, before
the next wave is saved.  Results come out in the formats' own order,
whatever order the workers finish in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.checks.one_format import FormatRun, finished, judged_and_diagnosed, save_artifact, with_reproduction_of
from pytest_tfroundtrip.checks.search import SearchOutcome, search
from pytest_tfroundtrip.formats.base import ModelBlueprint, RoundTripFormat
from pytest_tfroundtrip.isolation.pool import WorkerCrashed, WorkerPool
from pytest_tfroundtrip.isolation.remote import Lease, LoadFailed, LoadRequest, RemoteReload, finish_load, start_load
from pytest_tfroundtrip.isolation.user_modules import UserModules
from pytest_tfroundtrip.results.report import FAILED, LOAD, PASSED, FormatFailure, FormatResult

Checked = tuple[RoundTripFormat, FormatResult, "SearchOutcome | None"]


@dataclass(frozen=True)
class Workers:
    """The workers lent to one check, ready (the user's modules imported), or why they cannot take its classes."""

    leases: tuple[Lease, ...]
    pool: WorkerPool
    classes_not_importable: str | None = None

    def give_back(self) -> None:
        self.pool.give_back([lease.worker for lease in self.leases])


def lend_workers(pool: WorkerPool, count: int, modules: UserModules) -> Workers:
    """``count`` workers with the model's modules imported (if they can be: else said, and none imported).

    Example:
        >>> from pytest_tfroundtrip.isolation.pool import session_pool, close_pool
        >>> workers = lend_workers(session_pool(1), 1, UserModules(()))
        >>> len(workers.leases), workers.classes_not_importable
        (1, None)
        >>> workers.give_back(); close_pool()
    """
    leases = tuple(Lease(pool, worker, modules.modules) for worker in pool.take(count))
    why_not = modules.why_not
    if why_not is None and modules.modules:
        for lease in leases:
            failed = lease.import_modules()
            if failed is not None:
                names = ", ".join(module.name for module in modules.modules)
                why_not = f"importing {names} in a new interpreter failed: {failed.splitlines()[0][:300]}"
                break
    return Workers(leases, pool, why_not)


@dataclass(frozen=True)
class WorkerRun:
    """One check's formats for the workers: the workers, the model's blueprint, and who hears a format start."""

    formats: tuple[RoundTripFormat, ...]
    workers: Workers
    blueprint: ModelBlueprint | None
    on_start: Callable[[RoundTripFormat], None]


def check_in_workers(run: FormatRun, plan: WorkerRun) -> Iterator[Checked]:
    """Each format's result and its search outcome (None if it never loaded), wave after wave, in the formats' order."""
    size = len(plan.workers.leases)
    for start in range(0, len(plan.formats), size):
        yield from _wave(list(plan.formats[start:start + size]), run, plan)


def _wave(formats: list[RoundTripFormat], run: FormatRun, plan: WorkerRun) -> Iterator[Checked]:
    started: list[tuple[RoundTripFormat, Lease, LoadRequest, int, float]] = []
    done: dict[str, Checked] = {}
    for fmt, lease in zip(formats, plan.workers.leases):
        plan.on_start(fmt)
        saved = save_artifact(fmt, run.subject, run.workdir / fmt.name)
        if isinstance(saved, FormatResult):
            done[fmt.name] = (fmt, with_reproduction_of(fmt, run, saved), None)
            continue
        artifact, save_seconds = saved
        request = LoadRequest(fmt.name, artifact, plan.blueprint, run.subject.signature, run.subject.output_template)
        try:
            started.append((fmt, lease, request, start_load(lease, request), save_seconds))
        except WorkerCrashed as error:
            lease.replace()
            done[fmt.name] = (fmt, _load_failed(fmt, run, artifact, save_seconds, f"WorkerCrashed: {error}"), None)
    reloads: dict[RoundTripFormat, tuple[RemoteReload, FormatResult]] = {}
    try:
        for fmt, lease, request, handle, save_seconds in started:
            loaded = finish_load(lease, request, handle)
            if isinstance(loaded, LoadFailed):
                done[fmt.name] = (fmt, _load_failed(fmt, run, request.artifact, save_seconds, loaded.error), None)
                continue
            reloads[fmt] = (loaded, FormatResult(fmt.name, PASSED, save_seconds=save_seconds, load_seconds=loaded.load_seconds,
                                                  artifact=request.artifact, warnings=loaded.warnings))
        if reloads:
            outcome = search(run.search.plan_for_many({fmt: reload for fmt, (reload, _result) in reloads.items()}))
            for fmt, (reload, result) in reloads.items():
                judged = judged_and_diagnosed(result, outcome, reload, run, fmt)
                done[fmt.name] = (fmt, judged, outcome)
    finally:
        for reload, _result in reloads.values():
            reload.release()
    for fmt in formats:  # the formats' own order, not the order their workers answered in
        checked = done[fmt.name]
        yield checked[0], finished(fmt, run, checked[1]) if checked[2] is not None else checked[1], checked[2]


def _load_failed(fmt: RoundTripFormat, run: FormatRun, artifact: Any, save_seconds: float, error: str) -> FormatResult:
    result = FormatResult(fmt.name, FAILED, save_seconds=save_seconds, artifact=artifact, failure=FormatFailure(LOAD, error))
    return with_reproduction_of(fmt, run, result)

