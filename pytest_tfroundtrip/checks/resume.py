"""``check_resume_training``: a resumed run must equal an uninterrupted one.

Reference: a structural copy of the model and its optimizer (new variables,
nothing through serialization; see :mod:`object_copy`) trained
``steps_before + steps_after`` steps.  Candidate, per format: another such
copy trained ``steps_before`` steps, saved, reloaded the way a user resumes
from that format, then trained ``steps_after`` steps on the same batches.  Compared: every weight, every optimizer variable, the
learning rate and the loss at each step.  The failure says what diverged first
and the likely cause.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.arguments import (
    existing_dir,
    validate_positive_int,
    validate_seed,
)
from pytest_tfroundtrip.checks.continued import Continued, continue_in_worker, continue_training
from pytest_tfroundtrip.checks.placement import rebuild_in_workers, validate_reload_in
from pytest_tfroundtrip.checks.rebuild_control import config_rebuild_cannot_train, needs_a_rebuild
from pytest_tfroundtrip.checks.resume_diagnosis import Divergence, diagnose
from pytest_tfroundtrip.checks.subject import prepare_subject, require_keras3
from pytest_tfroundtrip.checks.training import (
    aligned_python_state,
    aligned_to,
    generated_data,
    independent_copy,
    make_batches,
    python_state,
    rebuild_compiled,
    require_compiled,
    seed_states,
    state_of,
    train_steps,
)
from pytest_tfroundtrip.errors import (
    RoundTripError,
    RoundTripUsageError,
    TrainingDataUnsuitable,
    describe_exception,
    error_head,
)
from pytest_tfroundtrip.formats import all_formats, parse_format_names
from pytest_tfroundtrip.formats.base import (
    ModelBlueprint,
    RoundTripFormat,
    Subject,
    blueprint_of,
    rebuild_not_judged,
    trains_itself,
)
from pytest_tfroundtrip.formats.user_rebuild import validate_rebuild
from pytest_tfroundtrip.inputs.reading import model_input_structure
from pytest_tfroundtrip.inputs.specs import signature_from_structure, specs_of_data
from pytest_tfroundtrip.isolation.check_scope import public_check
from pytest_tfroundtrip.isolation.pool import WorkerCrashed, session_pool
from pytest_tfroundtrip.isolation.remote import Lease, Workers, lend_workers
from pytest_tfroundtrip.isolation.user_modules import UserModules, user_modules
from pytest_tfroundtrip.results.report import FAILED, PASSED, SKIPPED, result_named
from pytest_tfroundtrip.results.tolerances import validate_tolerance_argument

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-7


@dataclass(frozen=True)
class ResumeResult:
    """One format's resumed run against the uninterrupted one."""

    format: str
    status: str
    divergences: tuple[Divergence, ...] = ()
    reference_losses: tuple[float, ...] = ()
    resumed_losses: tuple[float, ...] = ()
    max_weight_error: float = 0.0
    max_optimizer_error: float = 0.0
    skip_reason: str | None = None
    artifact: Path | None = None
    notes: tuple[str, ...] = ()

    @property
    def first_divergence(self) -> str | None:
        return self.divergences[0].message if self.divergences else None


@dataclass(frozen=True)
class ResumeReport:
    """Per-format results of :func:`check_resume_training`."""

    results: tuple[ResumeResult, ...]
    steps_before: int
    steps_after: int
    batch_size: int
    artifacts_dir: Path | None = None

    @property
    def passed(self) -> bool:
        return all(r.status != FAILED for r in self.results)

    @property
    def formats_passed(self) -> tuple[str, ...]:
        return tuple(r.format for r in self.results if r.status == PASSED)

    def result_for(self, name: str) -> ResumeResult:
        return result_named(self.results, name)


@public_check
def check_resume_training(
    model: Any,
    x: Any = None,
    y: Any = None,
    *,
    formats: list[str] | str | None = None,
    steps_before: int = 4,
    steps_after: int = 4,
    batch_size: int = 8,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int | None = None,
    input_signature: Any = None,
    artifacts_dir: str | Path | None = None,
    keep_artifacts: bool = False,
    reload_in: str = "fresh",
    rebuild: Callable[[], Any] | None = None,
) -> ResumeReport:
    """Train, save, reload and continue in each format; compare with an uninterrupted run.

    ``formats=None`` means every format that can resume training; naming one
    that cannot (``savedmodel``, ``export``, ``tflite``) is a failure.
    ``reload_in="fresh"`` (the default) reloads and continues training in a
    worker interpreter that did not save the artifact, as the next training
    job would (``"process"``: here; see :func:`check_roundtrip`).

    ``rebuild``: your own function that builds (and compiles) the model, as
    your training code does before ``load_weights`` or a checkpoint restore;
    ``weights`` and ``checkpoint`` resume into the model it builds (compiled
    like the model if it comes back uncompiled). Without it they resume into
    the model rebuilt from ``get_config()`` and compiled from the compile
    config, after a control: when that rebuild cannot even take the model's
    state in memory (an unregistered loss, an adapted vocabulary), they are
    not judged, with the reason.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> check_resume_training(model, formats=["keras"], seed=0).formats_passed
        ('keras',)
    """
    __tracebackhide__ = True
    requested = parse_format_names(formats)
    for name, value in (("steps_before", steps_before), ("steps_after", steps_after), ("batch_size", batch_size)):
        validate_positive_int(name, value)
    validate_tolerance_argument("rtol", rtol)
    validate_tolerance_argument("atol", atol)
    validate_seed(seed)
    validate_reload_in(reload_in, None)
    validate_rebuild(rebuild)
    require_keras3(model, "check_resume_training")
    require_compiled(model)
    own_train_step = trains_itself(model)  # a GAN's own train_step decides what data it takes (x alone, often)
    self_training = own_train_step and not model.built  # ... and fit may never call the model
    if (x is None) != (y is None) and not (own_train_step and x is not None):
        raise RoundTripUsageError("pass both x and y, or neither (then data is generated from the input signature)")
    if input_signature is None and x is not None and model_input_structure(model) is None:
        input_signature = specs_of_data(x)  # a subclassed model: x says what it takes
    if self_training and x is not None:
        subject = Subject(model, signature_from_structure(input_signature, source="x"), None, rebuild=rebuild)
    else:
        subject = replace(prepare_subject(model, input_signature).subject, rebuild=rebuild)
    if reload_in == "fresh":
        session_pool(1).prestart(1)  # its start overlaps the uninterrupted training below
    seed = 0 if seed is None else seed
    total = steps_before + steps_after
    drawn = x is None
    if drawn:
        x, y = generated_data(subject, batch_size * total, seed)
    if not own_train_step:  # what a custom train_step trains on need not be what the model is called on
        subject.signature.by_name(x, what="x")
    batches = make_batches(x, y, batch_size, total)
    tolerance = (DEFAULT_RTOL if rtol is None else float(rtol), DEFAULT_ATOL if atol is None else float(atol))

    keras = _lazy.keras()
    keras.utils.set_random_seed(seed)
    reference_copy = independent_copy(subject)
    reference_model = reference_copy.model
    reference_losses, reference_rates = _train_untouched(reference_model, batches, drawn)
    reference = state_of(reference_model)
    del reference_copy, reference_model  # its state is copied: one trained model less in memory

    workdir = Path(tempfile.mkdtemp(prefix="tf-roundtrip-resume-", dir=existing_dir(artifacts_dir)))
    results = []
    control = None
    if any(needs_a_rebuild(fmt) and fmt.preserves.resumes_training and (requested is None or fmt.name in requested)
           for fmt in all_formats()):
        control = config_rebuild_cannot_train(subject, batches)
    elsewhere = _resume_elsewhere(subject) if reload_in == "fresh" else None
    backend = _lazy.process_backend()
    for fmt in all_formats():
        if requested is not None and fmt.name not in requested or requested is None and not fmt.listed_under(backend):
            continue
        no_format_here = fmt.backend_reason(backend)  # a TensorFlow-only API under JAX: not applicable, even when named
        if no_format_here is not None:
            results.append(ResumeResult(fmt.name, SKIPPED, skip_reason=f"not applicable: {no_format_here}"))
            continue
        if not fmt.preserves.resumes_training:
            reason = f"cannot resume training: {fmt.why_no_resume}"
            status = SKIPPED if requested is None else FAILED
            results.append(ResumeResult(fmt.name, status, skip_reason=reason,
                                        divergences=(Divergence("format", f"format {fmt.name!r} {reason}"),) if status == FAILED else ()))
            continue
        if control is not None and needs_a_rebuild(fmt):
            results.append(_not_judged(fmt, control, named=requested is not None))
            continue
        try:
            result = _resume_one(fmt, _Resuming(subject, batches, steps_before, seed, elsewhere), reference,
                                 reference_losses, reference_rates, tolerance, workdir / fmt.name)
        except BaseException:
            if elsewhere is not None:
                elsewhere.give_back()
            raise
        results.append(_not_applicable_if_it_cannot_take(fmt, _without_optimizer_state(fmt, result, named=requested is not None),
                                                         named=requested is not None))
        gc.collect()  # the resumed model and its copies go before the next format
        if results[-1].status != FAILED and not keep_artifacts:
            shutil.rmtree(workdir / fmt.name, ignore_errors=True)
            results[-1] = replace(results[-1], artifact=None)
    if elsewhere is not None:
        elsewhere.give_back()
    report = ResumeReport(tuple(results), steps_before, steps_after, batch_size, workdir)
    if not report.passed:
        raise RoundTripError(resume_failure_message(report), report)
    if not keep_artifacts:
        shutil.rmtree(workdir, ignore_errors=True)
        report = ResumeReport(report.results, steps_before, steps_after, batch_size, None)
    return report


@dataclass(frozen=True)
class _Elsewhere:
    """The worker a resume check continues training in, with what it needs to rebuild the model there."""

    workers: Workers
    blueprint: ModelBlueprint
    compile_config: Any
    note: str | None = None

    @property
    def lease(self) -> Lease | None:
        return None if self.workers.classes_not_importable else self.workers.leases[0]

    def give_back(self) -> None:
        self.workers.give_back()


@dataclass(frozen=True)
class _Resuming:
    """What every format's resumed run shares."""

    subject: Subject
    batches: list[tuple[Any, Any]]
    steps_before: int
    seed: int
    elsewhere: _Elsewhere | None


def _train_untouched(model: Any, batches: list[tuple[Any, Any]], drawn: bool) -> tuple[list[float], list[float]]:
    """The uninterrupted run; the model's training step raising is about the data, not a round trip: nothing was saved yet."""
    where = ("on data drawn from its inputs, with targets shaped like its outputs; a model whose loss takes other "
             "targets (RetinaNet's boxes and labels) needs x= and y=" if drawn else "on the x= and y= given")

    def unsuitable(error: Exception) -> Exception:
        return TrainingDataUnsuitable(
            f"training {getattr(model, 'name', 'the model')!r} (an untouched copy, before any save) raised "
            f"{type(error).__name__}: {error_head(error, limit=300)}; it was trained {where}")

    return train_steps(model, batches, on_step_error=unsuitable)


def _resume_elsewhere(subject: Subject) -> _Elsewhere:
    rebuild = rebuild_in_workers(subject.rebuild)
    blueprint = blueprint_of(subject.model, rebuild.reference if rebuild is not None else None)
    modules = user_modules(subject.model, blueprint.architecture)
    if rebuild is not None:  # the worker imports the module that defines rebuild=, or everything resumes here
        modules = (UserModules(modules.modules, rebuild.why_not) if rebuild.why_not is not None
                   else rebuild.imported_with(modules))
    workers = lend_workers(session_pool(1), 1, modules)
    note = None
    if workers.classes_not_importable:
        note = f"resumed in this process, not in a new interpreter: {workers.classes_not_importable}"
    return _Elsewhere(workers, blueprint, subject.model.get_compile_config(), note)


def _resume_one(
    fmt: RoundTripFormat, resuming: _Resuming, reference: Any, reference_losses: list[float],
    reference_rates: list[float], tolerance: tuple[float, float], directory: Path,
) -> ResumeResult:
    keras = _lazy.keras()
    subject, batches, steps_before, seed = resuming.subject, resuming.batches, resuming.steps_before, resuming.seed
    directory.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    candidate_copy = independent_copy(subject)
    candidate = candidate_copy.model
    first_losses, first_rates = train_steps(candidate, batches[:steps_before])
    saved_state, saved_python = state_of(candidate), python_state(candidate)
    try:
        artifact = fmt.save_for_training(candidate, directory)
    except Exception as error:
        return ResumeResult(fmt.name, FAILED, (Divergence("reload", f"saving or reloading for training failed: {describe_exception(error)}"),),
                            artifact=directory)
    continued = _continued(fmt, artifact, resuming, seed_states(candidate))
    if continued.error is not None:
        return ResumeResult(fmt.name, FAILED, (Divergence("reload", continued.error),), artifact=artifact)
    assert continued.reloaded is not None and continued.final is not None
    reloaded_state = aligned_to(saved_state, continued.reloaded)
    reloaded_python = aligned_python_state(saved_python, continued.reloaded_python)
    later_losses, later_rates = continued.losses, continued.rates
    final = aligned_to(reference, continued.final)
    divergences = diagnose(
        saved=saved_state, reloaded=reloaded_state, saved_python=saved_python, reloaded_python=reloaded_python,
        reference=reference, final=final, steps_before=steps_before,
        reference_losses=reference_losses, losses=first_losses + later_losses,
        reference_rates=reference_rates, rates=first_rates + later_rates, tolerance=tolerance,
    )
    weight_error = _max_error(reference.weights, final.weights)
    optimizer_error = _max_error(reference.optimizer, final.optimizer)
    notes: tuple[str, ...] = (
        ("the format does not keep dropout RNG state (seed generators); the check aligned it",) if continued.rng_reset else ())
    notes += (candidate_copy.note,) if candidate_copy.note else ()
    notes += (resuming.elsewhere.note,) if resuming.elsewhere is not None and resuming.elsewhere.note else ()
    return ResumeResult(
        fmt.name, FAILED if divergences else PASSED, tuple(divergences), tuple(reference_losses),
        tuple(first_losses + later_losses), weight_error, optimizer_error, artifact=artifact, notes=notes,
    )


def _continued(fmt: RoundTripFormat, artifact: Path, resuming: _Resuming, rng_states: list[np.ndarray]) -> Continued:
    """The resumed run, in the worker (``reload_in="fresh"``) or here."""
    subject, later = resuming.subject, resuming.batches[resuming.steps_before:]
    elsewhere = resuming.elsewhere
    lease = elsewhere.lease if elsewhere is not None else None
    if elsewhere is None or lease is None:
        return continue_training(fmt, artifact, lambda: rebuild_compiled(subject), rng_states, later)
    request = {"op": "resume", "continue_in_worker": continue_in_worker, "format": fmt.name, "artifact": str(artifact),
               "blueprint": elsewhere.blueprint,
               "signature": subject.signature, "output_template": subject.output_template,
               "compile_config": elsewhere.compile_config, "rng_states": rng_states, "batches": later,
               "seed": resuming.seed}
    worker = lease.worker
    try:
        return worker.request(request, f"resuming training from {fmt.name}")["continued"]
    except WorkerCrashed as error:
        lease.replace(worker)
        return Continued(error=f"WorkerCrashed: {error}")


def _not_judged(fmt: RoundTripFormat, reason: str, named: bool) -> ResumeResult:
    """A weights-only format whose stand-in rebuild fails the control: not judged (named: a failure saying so)."""
    if named:
        return ResumeResult(fmt.name, FAILED, (Divergence("reload", reason),))
    return ResumeResult(fmt.name, SKIPPED, skip_reason=rebuild_not_judged(fmt.name, reason) or reason)


def _without_optimizer_state(fmt: RoundTripFormat, result: ResumeResult, named: bool) -> ResumeResult:
    """A format that keeps no optimizer state by design (``weights``) restarts a stateful optimizer.

    Chosen by default, that is "not applicable", with the reason; named in
    ``formats=``, a failure that says so first.  With a stateless optimizer
    (plain SGD at a constant rate) the format resumes exactly and passes.
    """
    lost_optimizer = any(d.kind == "optimizer" for d in result.divergences)
    if fmt.preserves.optimizer_state or result.status != FAILED or not lost_optimizer:
        return result
    why = (f"a {fmt.name!r} file holds no optimizer state by design (iterations, moments), so resuming from it "
           f"restarts the optimizer: {result.first_divergence}")
    if not named:
        return ResumeResult(fmt.name, SKIPPED, skip_reason=f"not applicable: {why} (name {fmt.name!r} in formats= to see it fail)")
    return replace(result, divergences=(Divergence("format", why),) + result.divergences)


def _not_applicable_if_it_cannot_take(fmt: RoundTripFormat, result: ResumeResult, named: bool) -> ResumeResult:
    """A default-chosen format whose save or reload fails with one of its known limits is "not applicable", as in
    ``check_roundtrip``; a named one stays a failure."""
    if named or result.status != FAILED or not result.divergences or result.divergences[0].kind != "reload":
        return result
    reason = fmt.cannot_take(result.divergences[0].message.split(": ", 1)[-1])
    return result if reason is None else ResumeResult(fmt.name, SKIPPED, skip_reason=f"not applicable: {reason}")


def _max_error(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> float:
    errors = [float(np.max(np.abs(expected[k].astype(np.float64) - actual[k].astype(np.float64)), initial=0.0))
              for k in expected if k in actual and expected[k].shape == actual[k].shape]
    return max(errors, default=0.0)


def resume_failure_message(report: ResumeReport) -> str:
    """Every failing format: what diverged first, then the rest."""
    failed = [r for r in report.results if r.status == FAILED]
    lines = [f"Resumed training diverged for {len(failed)} of {len(report.results)} formats: "
             + ", ".join(r.format for r in failed)
             + f" (trained {report.steps_before} steps, saved, reloaded, trained {report.steps_after} more; batch {report.batch_size})"]
    for result in failed:
        lines.append("")
        lines.append(f"[{result.format}] first divergence: {result.first_divergence}")
        lines.extend(f"    also: {d.message}" for d in result.divergences[1:6])
        if len(result.divergences) > 6:
            lines.append(f"    ... and {len(result.divergences) - 6} more")
        if result.resumed_losses:
            lines.append("    loss per step (uninterrupted vs resumed): " + ", ".join(
                f"{i + 1}: {a:.6g}/{b:.6g}" for i, (a, b) in enumerate(zip(result.reference_losses, result.resumed_losses))))
        if result.artifact:
            lines.append(f"    artifact: {result.artifact}")
    others = [r for r in report.results if r.status != FAILED]
    if others:
        lines.append("")
        lines.append("Other formats: " + "; ".join(
            f"{r.format} {r.status}" + (f" ({r.skip_reason})" if r.skip_reason else "") for r in others))
    if report.artifacts_dir:
        lines.append(f"Artifacts kept in {report.artifacts_dir}")
    return "\n".join(lines)
