"""``check_roundtrip``: save a model in every format, reload, compare on drawn inputs."""

from __future__ import annotations

import itertools
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.arguments import existing_dir, validate_max_examples, validate_seed
from pytest_tfroundtrip.checks import progress
from pytest_tfroundtrip.checks.in_workers import WorkerRun, check_in_workers
from pytest_tfroundtrip.checks.one_format import (
    NOT_DETERMINISTIC,
    FormatRun,
    SharedSearch,
    check_one_format,
    judged_before_nondeterminism,
)
from pytest_tfroundtrip.checks.output_cache import OutputCache
from pytest_tfroundtrip.checks.placement import Placement, place_formats, prestart_workers, validate_reload_in
from pytest_tfroundtrip.checks.quantized import (
    QUANTIZABLE_FORMATS,
    Quantization,
    check_quantized_format,
    prepare_quantized_run,
    resolve_quantization,
)
from pytest_tfroundtrip.checks.rebuild_control import control_results
from pytest_tfroundtrip.checks.search import SearchOutcome, draw_examples
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.checks.twin_conversions import TwinSettings
from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError, RoundTripWarning, warn_at_callers_line
from pytest_tfroundtrip.formats import AmongFormats, all_formats, parse_format_names
from pytest_tfroundtrip.formats.base import RoundTripFormat, Subject, call_keras_model, weight_bytes
from pytest_tfroundtrip.formats.runtime import lowest_float_compute
from pytest_tfroundtrip.formats.user_rebuild import validate_rebuild
from pytest_tfroundtrip.inputs.probing import inputs_code
from pytest_tfroundtrip.inputs.strategies import Pin, example_strategy
from pytest_tfroundtrip.inputs.targeted import targeted_examples, targeted_pins
from pytest_tfroundtrip.isolation.check_scope import public_check
from pytest_tfroundtrip.results.failure_text import failure_message
from pytest_tfroundtrip.results.report import CALL, FAILED, LOAD, SAVE, SKIPPED, FormatResult, RoundTripReport
from pytest_tfroundtrip.results.tolerances import ToleranceArgument, check_override_names, validate_tolerance_argument


@public_check
def check_roundtrip(
    model: Any,
    *,
    formats: list[str] | str | None = None,
    input_signature: Any = None,
    inputs: Any = None,
    max_examples: int | None = None,
    rtol: ToleranceArgument = None,
    atol: ToleranceArgument = None,
    seed: int | None = None,
    artifacts_dir: str | Path | None = None,
    keep_artifacts: bool = False,
    finite_inputs: bool | Collection[str] = False,
    quantization: str | Quantization | None = None,
    reload_in: str = "fresh",
    workers: int | None = None,
    rebuild: Callable[[], Any] | None = None,
    convert_from_twin: bool = True,
) -> RoundTripReport:
    """Save ``model`` in each format, reload it, and compare outputs on drawn inputs.

    ``formats=None`` means every format available for this model here
    (:class:`~pytest_tfroundtrip.formats.AmongFormats` limits that choice); of
    those, a deployment format whose converter or runtime says it cannot take
    the model (an op it lacks) is skipped as not applicable, with that reason.
    Raises
    :class:`RoundTripError` naming every failing format; returns a
    :class:`RoundTripReport` otherwise.  Artifacts go to a new temporary
    directory (inside ``artifacts_dir`` if given).  Formats are checked one
    at a time: each reloaded copy is released before the next format is
    saved, and a passing format's files are deleted unless
    ``keep_artifacts``; a failing format's files are kept.

    Before the random search, targeted examples try the sizes the model was
    built or traced with, the smallest and largest sizes, every value family,
    large magnitudes, and NaN/infinity in float inputs.  ``finite_inputs``
    names float inputs that are never given NaN or infinity (``True``: none is).

    ``quantization`` (``"dynamic_int8"``, ``"float16"``, ``"int8"`` or a
    :class:`~pytest_tfroundtrip.checks.quantized.Quantization` with your
    thresholds) converts the ``tflite``/``litert`` formats quantized and
    judges them by argmax agreement, range error and correlation on typical
    inputs; the figures are on each result (``result.quantized``).

    ``reload_in="fresh"`` (the default) loads and calls every artifact in a
    worker interpreter that did not save it, with another hash seed, after
    importing the modules that define the model's classes, as a user's
    server or next training run would; ``workers`` of them run formats at
    once (default: the cores, shared among pytest-xdist workers, and the
    memory the model needs).  Formats that need the model's classes stay in
    this process when a new interpreter cannot import them (a class defined
    in ``__main__`` or inside a function), with a note saying why; so do
    ``tf_keras`` models and quantized conversions.  ``reload_in="process"``
    reloads everything here, one format at a time.  Once ``keras`` has
    passed bit for bit and its reload's config, variables and export
    signature are the original's, the conversions of the live model
    (``export``, TFLite, LiteRT, ONNX, OpenVINO) run in idle workers from that
    twin, a failure there being checked again from the original before it is
    reported; ``convert_from_twin=False`` converts the original here.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> report = check_roundtrip(model, formats=["keras"], max_examples=3, seed=0)
        >>> report.formats_passed
        ('keras',)
    """
    __tracebackhide__ = True
    started = time.perf_counter()
    among = parse_format_names(list(formats.names)) if isinstance(formats, AmongFormats) else None
    requested = None if among is not None else parse_format_names(formats)
    quantized_settings = resolve_quantization(quantization, requested)
    validate_tolerance_argument("rtol", rtol)
    validate_tolerance_argument("atol", atol)
    examples = validate_max_examples(max_examples)
    validate_seed(seed)
    validate_reload_in(reload_in, workers)
    if not isinstance(convert_from_twin, bool):
        raise RoundTripUsageError(f"convert_from_twin must be True or False, got {convert_from_twin!r}")
    validate_rebuild(rebuild)
    prepared = prepare_subject(model, input_signature, inputs)
    subject, overrides, notes = replace(prepared.subject, rebuild=rebuild), prepared.overrides, list(prepared.notes)
    check_override_names("rtol", rtol, subject.output_names)
    check_override_names("atol", atol, subject.output_names)
    limit_to = QUANTIZABLE_FORMATS if quantized_settings else None
    if among is not None:
        limit_to = tuple(name for name in among if limit_to is None or name in limit_to)
    chosen, skipped = _choose_formats(requested, subject, limit_to)
    if quantized_settings is None:
        prestart_workers(chosen, subject.model, reload_in)

    workdir = Path(tempfile.mkdtemp(prefix="tf-roundtrip-", dir=existing_dir(artifacts_dir)))
    finite = _finite_input_names(subject, finite_inputs)

    def strategy_for(pin: Pin) -> Any:
        return example_strategy(subject.signature, overrides, pin=pin)

    pins = targeted_pins(subject.signature, prepared.given, prepared.inputs.hints, finite)
    strategy = example_strategy(subject.signature, overrides)
    # Every format is searched with the same seed, on examples drawn once, so all
    # meet the same inputs and the original model's outputs come from the shared cache.
    run_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    run = FormatRun(subject, workdir, keep_artifacts, SharedSearch(
        reference=lambda arrays: subject.flat_outputs(call_keras_model(subject.model, subject, arrays)),
        flatten=subject.flat_outputs,
        strategy=strategy,
        max_examples=examples,
        seed=run_seed,
        targeted=tuple(targeted_examples(pins, strategy_for)),
        strategy_for=strategy_for,
        cache=OutputCache(),
        rtol=rtol,
        atol=atol,
        examples=draw_examples(strategy, examples, run_seed),
        compute_dtype=lowest_float_compute(subject),
        padding_masks=subject.signature.padding_masks,
    ), weight_bytes=weight_bytes(subject.model))
    results: dict[str, FormatResult] = dict(skipped)
    for name, result in control_results(run, chosen).items():  # the config rebuild cannot stand in for the user's
        results[name] = result if requested is not None else _not_applicable_if_it_cannot_take(
            next(fmt for fmt in chosen if fmt.name == name), result, workdir)
    chosen = [fmt for fmt in chosen if fmt.name not in results]
    nondeterminism: SearchOutcome | None = None
    quantized_run = prepare_quantized_run(quantized_settings, run, overrides) if quantized_settings else None
    placement = place_formats(chosen, run, reload_in if quantized_run is None else "process", workers)
    notes.extend(placement.notes)
    try:
        counter = itertools.count(1)

        def format_started(fmt: RoundTripFormat) -> None:
            progress.format_started(fmt.name, next(counter), len(chosen))

        twin = TwinSettings(convert_from_twin, notes.append)
        for fmt, result, outcome in _checked(placement, run, quantized_run, format_started, twin):
            if requested is None:
                result = _not_applicable_if_it_cannot_take(fmt, result, workdir)
            results[fmt.name] = result
            progress.format_finished(result)
            if outcome is not None and outcome.model_error is not None:
                shutil.rmtree(workdir, ignore_errors=True)
                _raise_model_rejects_input(outcome, subject, overrides)
            if outcome is not None and outcome.nondeterminism is not None:
                nondeterminism = outcome
                results = {name: judged_before_nondeterminism(result) for name, result in results.items()}
                break
    finally:
        placement.give_back()
    for fmt in chosen:  # not reached: the model was found nondeterministic first
        if fmt.name not in results:
            results[fmt.name] = FormatResult(fmt.name, SKIPPED, skip_reason=NOT_DETERMINISTIC)
            progress.format_finished(results[fmt.name])
    report = RoundTripReport(
        results=tuple(results[f.name] for f in all_formats() if f.name in results),
        examples=examples,
        artifacts_dir=workdir,
        input_description=subject.signature.describe(),
        nondeterminism=_nondeterminism_text(nondeterminism),
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )
    if not report.passed:
        raise RoundTripError(failure_message(report), report)
    for text in report.warnings:
        warn_at_callers_line(RoundTripWarning(text))
    if not keep_artifacts:
        shutil.rmtree(workdir, ignore_errors=True)
        report = _without_artifacts(report)
    return report


def _checked(
    placement: Placement, run: FormatRun, quantized_run: Any, on_start: Callable[[RoundTripFormat], None], twin: TwinSettings,
) -> Iterator[tuple[RoundTripFormat, FormatResult, SearchOutcome | None]]:
    """Every chosen format checked: those in workers first, wave by wave, then those reloaded here."""
    for fmt, result in placement.decided:
        on_start(fmt)
        yield fmt, result, None
    if placement.workers is not None:
        yield from check_in_workers(run, WorkerRun(placement.in_workers, placement.workers, placement.blueprint, on_start, twin))
    for fmt in placement.here:
        on_start(fmt)
        if quantized_run is not None:
            yield fmt, check_quantized_format(fmt, run, quantized_run), None
        else:
            yield (fmt, *check_one_format(fmt, run))


def _finite_input_names(subject: Subject, finite_inputs: bool | Collection[str]) -> frozenset[str]:
    names = subject.signature.names
    if isinstance(finite_inputs, bool):
        return frozenset(names) if finite_inputs else frozenset()
    if isinstance(finite_inputs, str) or not isinstance(finite_inputs, Collection):
        raise RoundTripUsageError(f"finite_inputs must be True, False or a list of input names, got {finite_inputs!r}")
    unknown = sorted(set(finite_inputs) - set(names))
    if unknown:
        raise RoundTripUsageError(f"finite_inputs names unknown inputs {unknown}; the model's inputs are {names}")
    return frozenset(finite_inputs)


def _choose_formats(
    requested: list[str] | None, subject: Subject, limit_to: tuple[str, ...] | None = None,
) -> tuple[list[RoundTripFormat], dict[str, FormatResult]]:
    """Formats to run (of ``limit_to`` when given), and results for those skipped (with the reason)."""
    chosen, skipped = [], {}
    backend = _lazy.process_backend()
    for fmt in all_formats():
        if requested is not None and fmt.name not in requested or limit_to is not None and fmt.name not in limit_to:
            continue
        if requested is None and limit_to is None and not fmt.listed_under(backend):
            continue  # a format named among others (AmongFormats) is checked as if chosen by default
        reason = fmt.backend_reason(backend)  # a format of no model in this process: not applicable, even when named
        if reason is not None:
            skipped[fmt.name] = FormatResult(fmt.name, SKIPPED, skip_reason=reason, not_applicable=True)
            continue
        reason, not_applicable = fmt.unavailable_reason(), False
        if reason is None and requested is None:
            reason = fmt.not_applicable_reason(subject)
            not_applicable = reason is not None
        if reason is None:
            chosen.append(fmt)
        else:
            skipped[fmt.name] = FormatResult(fmt.name, SKIPPED, skip_reason=reason, not_applicable=not_applicable)
    return chosen, skipped


def _not_applicable_if_it_cannot_take(fmt: RoundTripFormat, result: FormatResult, workdir: Path) -> FormatResult:
    """A format chosen by default whose converter or runtime cannot take the model is "not applicable", with why.

    Only save, load and call errors that say so (:meth:`RoundTripFormat.cannot_take`); wrong numbers
    are always failures, and a format named in ``formats=`` always fails.
    """
    failure = result.failure
    if result.status != FAILED or failure is None or failure.stage not in (SAVE, LOAD, CALL):
        return result
    reason = fmt.cannot_take(failure.message)
    if reason is None:
        return result
    shutil.rmtree(workdir / fmt.name, ignore_errors=True)
    if failure.input_file is not None:
        failure.input_file.unlink(missing_ok=True)
    return FormatResult(fmt.name, SKIPPED, skip_reason=reason, quantization=result.quantization, not_applicable=True)


def _raise_model_rejects_input(outcome: SearchOutcome, subject: Subject, overrides: Any) -> None:
    __tracebackhide__ = True
    assert outcome.model_error is not None
    error, example = outcome.model_error
    raise RoundTripUsageError(
        f"the original model raised {type(error).__name__} on a generated input ({example.summary()}): {error}\n"
        f"The inputs were drawn from: {subject.signature.describe()}. Narrow them with inputs=, for example:\n\n"
        f"{inputs_code(subject.signature, overrides)}"
    ) from error


def _nondeterminism_text(outcome: SearchOutcome | None) -> str | None:
    if outcome is None or outcome.nondeterminism is None:
        return None
    comparison, example = outcome.nondeterminism
    parts = [
        f"output {o.output!r}: {o.mismatched} of {o.elements} elements changed between two calls, max abs difference {o.max_abs_error:.6g}"
        for o in comparison.failures
    ]
    return "\n".join(parts) + f"\non input: {example.summary()}\n" \
        "Seed or remove randomness active at inference (e.g. a layer that samples when training=False)."


def _without_artifacts(report: RoundTripReport) -> RoundTripReport:
    return replace(report, artifacts_dir=None, results=tuple(replace(r, artifact=None) for r in report.results))
