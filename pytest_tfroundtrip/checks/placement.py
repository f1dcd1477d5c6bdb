"""Where each format is reloaded: in worker interpreters (the default; always, for another Keras backend) or in this process, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.one_format import FormatRun
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import ModelBlueprint, RoundTripFormat, blueprint_of
from pytest_tfroundtrip.formats.user_rebuild import RebuildReference, reference_of
from pytest_tfroundtrip.isolation.pool import default_worker_count, session_pool
from pytest_tfroundtrip.isolation.remote import Workers, lend_workers
from pytest_tfroundtrip.isolation.user_modules import UserModule, UserModules, module_to_import, user_modules
from pytest_tfroundtrip.results.report import FAILED, LOAD, SKIPPED, FormatFailure, FormatResult

RELOAD_PLACES = ("fresh", "process")


@dataclass(frozen=True)
class Placement:
    """The formats reloaded in ``workers`` and those reloaded here, with notes for the report."""

    in_workers: tuple[RoundTripFormat, ...]
    here: tuple[RoundTripFormat, ...]
    workers: Workers | None = None
    blueprint: ModelBlueprint | None = None
    notes: tuple[str, ...] = ()
    decided: tuple[tuple[RoundTripFormat, FormatResult], ...] = ()  # formats no worker can load: their results

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


def prestart_workers(chosen: list[RoundTripFormat], model: Any, reload_in: str) -> None:
    """Start, without waiting, one worker of each backend :func:`place_formats` will lend for ``chosen``, so that
    importing Keras there overlaps this check's own work (preparing inputs, the rebuild control, in-process saves).

    Example:
        >>> from pytest_tfroundtrip.formats import get_format
        >>> prestart_workers([get_format("keras")], None, "process")  # reloaded here: nothing to start
    """
    here_backend = _lazy.process_backend()
    if model is not None and _lazy.is_keras2_model(model):
        return
    backends = {fmt.keras_backend for fmt in chosen if fmt.keras_backend != here_backend}
    if reload_in == "fresh" and any(fmt.keras_backend == here_backend for fmt in chosen):
        backends.add(here_backend)
    for backend in sorted(backends):
        session_pool(1, backend).prestart(1)


def place_formats(chosen: list[RoundTripFormat], run: FormatRun, reload_in: str, workers: int | None) -> Placement:
    """Lend workers for the formats to reload fresh; keep here those a new interpreter cannot load, saying why.

    Formats that load under another Keras backend (``keras@jax``) always reload in a worker of that
    backend, whatever ``reload_in`` says: Keras's backend is fixed in this process.
    """
    model = run.subject.model
    here_backend = _lazy.process_backend()
    elsewhere = tuple(fmt for fmt in chosen if fmt.keras_backend != here_backend)
    ours = [fmt for fmt in chosen if fmt.keras_backend == here_backend]
    if _lazy.is_keras2_model(model):
        keras2_notes = ("reloaded in this process: a tf_keras (Keras 2) model is not reloaded in a new interpreter yet",) if ours else ()
        return Placement((), tuple(chosen), notes=keras2_notes)
    fresh = tuple(ours) if reload_in == "fresh" else ()
    here = () if reload_in == "fresh" else tuple(ours)
    if not fresh and not elsewhere:
        return Placement((), here)
    needs_architecture = any(not fmt.preserves.architecture for fmt in fresh + elsewhere)
    rebuild = rebuild_in_workers(run.subject.rebuild) if needs_architecture else None
    blueprint = blueprint_of(model, rebuild.reference if rebuild else None) if needs_architecture else None
    modules = user_modules(model, blueprint.architecture if blueprint is not None else None)
    lent = None
    notes: list[str] = []
    decided: list[tuple[RoundTripFormat, FormatResult]] = []
    if rebuild is not None and rebuild.why_not is not None:  # the user's rebuild= can only run here
        kept = tuple(fmt for fmt in fresh if not fmt.preserves.architecture)
        fresh, here = tuple(fmt for fmt in fresh if fmt not in kept), kept + here
        notes.extend([f"{', '.join(fmt.name for fmt in kept)} reloaded in this process, not in a new interpreter: "
                      f"{rebuild.why_not}. Define it at the top level of a module to check them where users reload them"]
                     if kept else [])
        for fmt in [fmt for fmt in elsewhere if not fmt.preserves.architecture]:
            decided.append((fmt, FormatResult(fmt.name, SKIPPED, not_applicable=True, skip_reason=(
                f"not judged: {rebuild.why_not}; {fmt.name} rebuilds the model in a new interpreter. "
                "Define rebuild= at the top level of a module to check it"))))
        elsewhere = tuple(fmt for fmt in elsewhere if fmt.preserves.architecture)
    elif rebuild is not None:
        modules = rebuild.imported_with(modules)
    if fresh:
        count = workers or default_worker_count(len(fresh), run.weight_bytes)
        lent = lend_workers(session_pool(count, here_backend), min(count, len(fresh)), modules)
        why_not = lent.classes_not_importable
        if why_not is not None:
            kept = tuple(fmt for fmt in fresh if fmt.preserves.needs_python_classes)
            fresh = tuple(fmt for fmt in fresh if not fmt.preserves.needs_python_classes)
            here = kept + here
            notes.append(f"{', '.join(fmt.name for fmt in kept)} reloaded in this process, not in a new interpreter: "
                         f"{why_not}. Define the class at the top level of a module to check them where users reload them")
            if not fresh:
                lent.give_back()
                lent = None
    on_backends = []
    for fmt in elsewhere:
        backend_workers = _lend_backend(fmt, modules, lent)
        if isinstance(backend_workers, FormatResult):
            decided.append((fmt, backend_workers))
            continue
        on_backends.append(fmt)
        if all(lease not in (lent.leases if lent else ()) for lease in backend_workers.leases):
            lent = backend_workers if lent is None else lent.joined(backend_workers)
    in_workers = tuple(fmt for fmt in chosen if fmt in fresh or fmt in on_backends)
    return Placement(in_workers, here, lent, blueprint, tuple(notes), tuple(decided))


@dataclass(frozen=True)
class RebuildInWorkers:
    """The user's ``rebuild=`` as a worker finds it: by name, after importing ``module``; or why it cannot."""

    reference: RebuildReference | None
    module: UserModule | None
    why_not: str | None = None

    def imported_with(self, modules: UserModules) -> UserModules:
        """``modules`` and the module defining ``rebuild=`` (when a worker can import it), for the worker to import."""
        return modules if self.module is None else UserModules(modules.modules + (self.module,), modules.why_not)


def rebuild_in_workers(rebuild: Any) -> RebuildInWorkers | None:
    """Where a worker finds the user's ``rebuild=`` (None when there is none).

    Example:
        >>> rebuild_in_workers(lambda: None).why_not
        'rebuild= is a lambda, which another interpreter cannot import'
    """
    if rebuild is None:
        return None
    reference = reference_of(rebuild)
    if isinstance(reference, str):
        return RebuildInWorkers(None, None, reference)
    module = module_to_import(reference.module)
    if isinstance(module, str):
        return RebuildInWorkers(None, None, f"rebuild= ({reference.spelled}): {module}")
    return RebuildInWorkers(reference, module)


def _lend_backend(fmt: RoundTripFormat, modules: UserModules, lent: Workers | None) -> Workers | FormatResult:
    """A worker running ``fmt``'s backend with the model's modules imported (one already lent, if any), or the result
    of ``fmt`` when none can load it: not judged when another interpreter cannot import the model's classes, a failure
    when importing them under that backend failed."""
    for lease in lent.leases if lent is not None else ():
        if lease.worker.backend == fmt.keras_backend:
            return Workers((lease,))
    if modules.why_not is not None:
        return FormatResult(fmt.name, SKIPPED, skip_reason=f"not judged: {modules.why_not}; {fmt.name} loads the model "
                            "in a new interpreter. Define the class at the top level of a module to check it")
    backend_workers = lend_workers(session_pool(1, fmt.keras_backend), 1, modules)
    if backend_workers.import_error is None:
        return backend_workers
    backend_workers.give_back()
    return FormatResult(fmt.name, FAILED, reloaded_in="fresh", failure=FormatFailure(LOAD, backend_workers.import_error))
