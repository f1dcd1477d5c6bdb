"""Formats reloaded where users reload: in worker interpreters that did not save them, several at once.

The main process keeps the original model: it saves each format's artifact
and computes the original's outputs.  Each worker loads one format at a
time and calls it on the inputs the search replays while the main process
saves the next format, so at most as many reloaded copies exist as workers
were lent; each is released, and a passing format's files deleted, before
its worker takes another.  Once ``keras`` has passed bit for bit, idle
workers also convert the live model's formats from its proved twin
(:mod:`~pytest_tfroundtrip.checks.twin_conversions`), and TFLite converts
from the export this process saved.  Results come out in the formats' own
order, whatever order the workers finish in.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.one_format import COLLECT_FROM_BYTES, FormatRun, save_artifact, with_reproduction_of
from pytest_tfroundtrip.checks.search import SearchOutcome
from pytest_tfroundtrip.checks.twin_conversions import PROVED, REFUSED, TWIN_FROM, plan_twin_conversions
from pytest_tfroundtrip.checks.worker_queue import (
    Checked,
    Conversion,
    Load,
    Queued,
    Saved,
    WorkerRun,
    first_to_answer,
    judged_in_worker,
    load_failed,
    next_with_room,
    replayed_inputs,
)
from pytest_tfroundtrip.formats.base import RoundTripFormat
from pytest_tfroundtrip.isolation.conversion import (
    Converted,
    ExportConversionRequest,
    finish_conversion,
    start_conversion,
)
from pytest_tfroundtrip.isolation.pool import WorkerCrashed
from pytest_tfroundtrip.isolation.remote import Lease, LoadRequest, RemoteReload, finish_load, start_load
from pytest_tfroundtrip.results.report import FAILED, PASSED, SAVE, FormatResult

__all__ = ["WorkerRun", "check_in_workers"]
EXPORT, TFLITE = "export", "tflite"


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
    Once ``keras`` has passed bit for bit, the conversions of the live model go
    to idle workers, from its twin (:mod:`~pytest_tfroundtrip.checks.twin_conversions`);
    a failure found on a twin's conversion is checked again from the original
    here, and only that verdict is reported.
    """
    schedule = _Schedule(run, plan)
    schedule.run_all()
    for fmt in plan.formats:  # the formats' own order, whatever order the workers answered in
        if fmt.name not in schedule.done:  # not started: the model was found nondeterministic first
            continue
        fmt, result, outcome = schedule.done[fmt.name]
        yield fmt, replace(result, reloaded_in="fresh") if result.failure is None or result.failure.stage != SAVE else result, outcome


class _Schedule:
    """The state of one check's formats between this process and its workers (see :func:`check_in_workers`)."""

    def __init__(self, run: FormatRun, plan: WorkerRun) -> None:
        self.run, self.plan = run, plan
        self.inputs = replayed_inputs(run)
        self.depth = 2 if run.weight_bytes < COLLECT_FROM_BYTES else 1
        here = [lease for lease in plan.workers.leases if lease.worker.backend == _lazy.process_backend()]
        # A worker-converted artifact loads in another worker than the one that converted it: two at least.
        self.convert_in_workers = len(here) >= 2
        self.twins = plan_twin_conversions(plan.formats, run, plan.twin.enabled and self.convert_in_workers)
        self.waiting = [fmt for fmt in plan.formats if self.twins is None or fmt not in self.twins.pending]
        self.saved: list[Saved] = []
        self.queues: dict[Lease, list[Queued]] = {lease: [] for lease in plan.workers.leases}
        self.done: dict[str, Checked] = {}
        self.stopped = False  # a verdict on the model itself: formats not started are not judged
        self.derivations: list[tuple[RoundTripFormat, Saved]] = []  # TFLite to convert from the export's directory
        self.held: dict[str, int] = {}  # a format's directory another format's conversion still reads
        self.derived: list[str] = []
        self.export_for_tflite: Saved | None = None  # saved here while TFLite was converting from a twin

    def run_all(self) -> None:
        try:
            while (self.waiting or self.saved or self.derivations or (self.twins is not None and self.twins.pending)
                   or self._busy()):
                self._place()
                if not self._busy():
                    if self.twins is not None and self.twins.pending:  # no worker took them: convert the original here
                        self._convert_here(self.twins.refuse("no worker was free to convert"))
                    continue
                if self._idle_here():
                    self._steal()
                    continue
                self._take_answer()
        finally:
            if self.twins is not None:
                keras = self.done.get(TWIN_FROM)
                kept = self.twins.finish(keras[1]) if keras is not None else None
                if keras is not None and kept is not None:
                    self.done[TWIN_FROM] = (keras[0], kept, keras[2])
                note = self.twins.note()
                if note is not None:
                    self.plan.twin.on_note(note)
            if self.derived:
                self.plan.twin.on_note(f"{', '.join(self.derived)} converted in a worker from the export format's directory "
                                       "(the model.export call its own save begins with, made once for both)")

    def _busy(self) -> bool:
        return any(self.queues.values())

    def _load_of(self, lease: Lease) -> int:
        return sum(self.depth if isinstance(item, Conversion) else 1 for item in self.queues[lease])

    def _room_for(self, fmt: RoundTripFormat, avoid: Lease | None = None) -> Lease | None:
        leases = [lease for lease in self.queues if lease.worker.backend == fmt.keras_backend and lease is not avoid]
        lease = min(leases, key=self._load_of, default=None)
        return lease if lease is not None and self._load_of(lease) < self.depth else None

    def _place(self) -> None:
        """Start what can start: loads of artifacts waiting for a worker, conversions on idle workers, the next save."""
        progressed = True
        while progressed and not self.stopped:
            progressed = False
            for saved in list(self.saved):
                lease = self._room_for(saved.fmt, avoid=saved.converted_by)
                if lease is not None:
                    self.saved.remove(saved)
                    self._start_load(saved, lease)
                    progressed = True
            for lease in [lease for lease, queue in self.queues.items() if not queue]:
                if self.derivations and lease.worker.backend == self.derivations[0][0].keras_backend:
                    self._start_derivation(*self.derivations.pop(0), lease)
                    progressed = True
            twins = self.twins
            if twins is not None and twins.state == PROVED:
                for lease in [lease for lease, queue in self.queues.items() if not queue]:
                    if twins.pending and lease.worker.backend == twins.pending[0].keras_backend:
                        self._start_conversion(twins.pending.pop(0), lease)
                        progressed = True
            placed = next_with_room(self.waiting, self._room_for)
            if placed is not None:
                fmt, lease = placed
                self.waiting.remove(fmt)
                here = self._save_here(fmt)
                if here is not None:
                    self._start_load(here, lease)
                progressed = True

    def _idle_here(self) -> bool:
        """Nothing for this process to save or judge, while conversions wait for a worker: it may convert one."""
        twins = self.twins
        return (twins is not None and twins.state == PROVED and bool(twins.pending) and not self.waiting
                and not self.saved and not any(queue[0].answered for queue in self.queues.values() if queue))

    def _steal(self) -> None:
        """Convert the last waiting conversion here, from the original, while the workers convert the others."""
        assert self.twins is not None
        saved = self._save_here(self.twins.pending.pop())
        if saved is not None:
            self.saved.append(saved)

    def _convert_here(self, formats: list[RoundTripFormat]) -> None:
        self.waiting.extend(formats)
        self.waiting.sort(key=self.plan.formats.index)

    def _save_here(self, fmt: RoundTripFormat) -> Saved | None:
        self.plan.on_start(fmt)
        saved = save_artifact(fmt, self.run.subject, self.run.workdir / fmt.name)
        if isinstance(saved, FormatResult):
            self._record(fmt, with_reproduction_of(fmt, self.run, saved), None)
            return None
        here = Saved(fmt, *saved)
        self._derive_from(here)
        return here

    def _derive_from(self, export: Saved) -> None:
        """TFLite not started yet converts, in a worker, from the export just saved here: the same ``model.export``
        call as its own save begins with, so the original is exported once for both formats."""
        if export.fmt.name != EXPORT or not self.convert_in_workers:
            return
        pending = self.twins.pending if self.twins is not None else []
        for fmt in self.waiting + pending:
            if fmt.name == TFLITE and getattr(fmt, "derives_from_export", False) and fmt.keras_backend == export.fmt.keras_backend:
                (self.waiting if fmt in self.waiting else pending).remove(fmt)
                self.derivations.append((fmt, export))
                self.held[EXPORT] = self.held.get(EXPORT, 0) + 1
                return
        if any(isinstance(item, Conversion) and item.fmt.name == TFLITE for queue in self.queues.values() for item in queue):
            # TFLite is being converted from a twin that may yet be refused: the export stays until it answers.
            self.export_for_tflite = export
            self.held[EXPORT] = self.held.get(EXPORT, 0) + 1

    def _start_derivation(self, fmt: RoundTripFormat, export: Saved, lease: Lease) -> None:
        self.plan.on_start(fmt)
        worker = lease.worker
        request = ExportConversionRequest(fmt.name, self.run.workdir / fmt.name, export.artifact)
        try:
            self.queues[lease].append(Conversion(fmt, start_conversion(lease, request)))
        except WorkerCrashed:
            lease.replace(worker)
            self._release(EXPORT)
            self._convert_here([fmt])

    def _release(self, name: str) -> None:
        """One reader fewer of ``name``'s directory; once none is left and ``name`` passed, its files go."""
        self.held[name] -= 1
        if self.held[name] == 0 and name in self.done:
            self._let_go(name)

    def _let_go(self, name: str) -> None:
        fmt, result, outcome = self.done[name]
        if result.status == PASSED and not self.run.keep_artifacts:
            shutil.rmtree(self.run.workdir / name, ignore_errors=True)
            self.done[name] = (fmt, replace(result, artifact=None), outcome)

    def _start_load(self, saved: Saved, lease: Lease) -> None:
        request = LoadRequest(saved.fmt.name, saved.artifact, self.plan.blueprint, self.run.subject.signature,
                              self.run.subject.output_template)
        for _attempt in range(2):  # a worker found dead when sending crashed on an earlier request: use its replacement
            worker = lease.worker
            try:
                self.queues[lease].append(Load(saved, start_load(lease, request, self.inputs)))
                return
            except WorkerCrashed as error:
                lease.replace(worker)
                crash = error
        self._record(saved.fmt, load_failed(saved.fmt, self.run, saved.artifact, saved.save_seconds,
                                             f"WorkerCrashed: {crash}"), None)

    def _start_conversion(self, fmt: RoundTripFormat, lease: Lease) -> None:
        assert self.twins is not None
        self.plan.on_start(fmt)
        worker = lease.worker
        try:
            self.queues[lease].append(Conversion(fmt, start_conversion(lease, self.twins.request_for(fmt))))
            self.twins.used.append(lease)
        except WorkerCrashed:
            lease.replace(worker)
            self._convert_here([fmt])

    def _take_answer(self) -> None:
        lease = first_to_answer(self.queues)
        item = self.queues[lease].pop(0)
        if isinstance(item, Conversion):
            self._converted(item)
            return
        saved = item.saved
        if self.stopped:  # not judged: the model was found nondeterministic (or rejects an input) meanwhile
            loaded = finish_load(item.started)
            if isinstance(loaded, RemoteReload):  # its calls' answer read and the copy dropped: the worker goes on
                loaded.release()
            return
        fmt, result, outcome = judged_in_worker(saved.fmt, self._run_for(saved.fmt), item.started, saved.save_seconds)
        if saved.from_twin and result.status == FAILED and (outcome is None or outcome.nondeterminism is None):
            # Reported only as the original gives it: the twin's failure sends the format back to this process.
            shutil.rmtree(self.run.workdir / fmt.name, ignore_errors=True)
            assert self.twins is not None
            self.twins.judged_again.append(fmt.name)
            self._convert_here([fmt])
            return
        if saved.from_twin:
            result = replace(result, saved_from_twin=True)
            assert self.twins is not None
            self.twins.converted.append(fmt.name)
        self._record(fmt, result, outcome)
        if outcome is not None and (outcome.nondeterminism is not None or outcome.model_error is not None):
            self.stopped, self.waiting, self.saved, self.derivations = True, [], [], []
            if self.twins is not None:
                self.twins.refuse(None)

    def _converted(self, item: Conversion) -> None:
        answer = finish_conversion(item.started)
        if isinstance(item.started.request, ExportConversionRequest):
            self._release(EXPORT)
            if not self.stopped:
                if isinstance(answer, Converted):
                    self.saved.append(Saved(item.fmt, answer.artifact, answer.seconds, converted_by=item.started.lease))
                    self.derived.append(item.fmt.name)
                else:  # converted here from the original instead, as the format itself saves
                    shutil.rmtree(self.run.workdir / item.fmt.name, ignore_errors=True)
                    self._convert_here([item.fmt])
            return
        export, self.export_for_tflite = (self.export_for_tflite, None) if item.fmt.name == TFLITE else (None, self.export_for_tflite)
        if export is not None and (self.stopped or isinstance(answer, Converted)):
            self._release(EXPORT)
        if self.stopped:
            return
        if isinstance(answer, Converted):
            self.saved.append(Saved(item.fmt, answer.artifact, answer.seconds, from_twin=True, converted_by=item.started.lease))
            return
        if export is not None:  # from the export saved here after all (the hold passes to the derivation)
            if answer.not_twin and self.twins is not None:
                self._convert_here(self.twins.refuse(answer.reason))
            shutil.rmtree(self.run.workdir / item.fmt.name, ignore_errors=True)
            self.derivations.append((item.fmt, export))
            return
        if answer.not_twin and self.twins is not None:
            self._convert_here(self.twins.refuse(answer.reason))
        shutil.rmtree(self.run.workdir / item.fmt.name, ignore_errors=True)
        self._convert_here([item.fmt])

    def _run_for(self, fmt: RoundTripFormat) -> FormatRun:
        """The run as it is, except that ``keras``'s file stays while the twin may be reloaded from it."""
        held = self.held.get(fmt.name, 0) > 0 or (self.twins is not None and fmt.name == TWIN_FROM)
        return replace(self.run, keep_artifacts=True) if held else self.run

    def _record(self, fmt: RoundTripFormat, result: FormatResult, outcome: SearchOutcome | None) -> None:
        self.done[fmt.name] = (fmt, result, outcome)
        if fmt.name in self.held and self.held[fmt.name] == 0 and fmt.name != TWIN_FROM:
            self._let_go(fmt.name)  # kept for a conversion that has read it already
        if self.twins is not None and fmt.name == TWIN_FROM:
            self.twins.keras_judged(result)
            if self.twins.state == REFUSED:
                self._convert_here(self.twins.refuse(None))


