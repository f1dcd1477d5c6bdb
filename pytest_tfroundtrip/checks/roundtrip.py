"""``check_roundtrip``: save a model in every format, reload, compare on drawn inputs."""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.arguments import existing_dir, validate_max_examples, validate_seed
from pytest_tfroundtrip.checks.diagnosis import first_differing_layer, weight_difference
from pytest_tfroundtrip.checks.search import Finding, SearchOutcome, SearchPlan, ToleranceFor, search
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError, RoundTripWarning, describe_exception
from pytest_tfroundtrip.formats import all_formats, get_format, parse_format_names
from pytest_tfroundtrip.formats.base import KerasReload, ReloadedCall, RoundTripFormat, Subject, call_keras_model
from pytest_tfroundtrip.inputs.arrays import savable
from pytest_tfroundtrip.inputs.probing import inputs_code
from pytest_tfroundtrip.inputs.strategies import Example, Pin, example_strategy
from pytest_tfroundtrip.inputs.targeted import shape_hints, targeted_examples, targeted_pins
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.failure_text import failure_message
from pytest_tfroundtrip.results.report import (
    CALL, FAILED, LOAD, MISMATCH, PASSED, SAVE, SKIPPED, WEIGHTS, FormatFailure, FormatResult, RoundTripReport,
)
from pytest_tfroundtrip.results.tolerances import (
    EXACT, ToleranceArgument, check_override_names, conditioning_step, tolerance_function, validate_tolerance_argument,
)


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
) -> RoundTripReport:
    """Save ``model`` in each format, reload it, and compare outputs on drawn inputs.

    ``formats=None`` means every format available for this model here.  Raises
    :class:`RoundTripError` naming every failing format; returns a
    :class:`RoundTripReport` otherwise.  Artifacts go to a new temporary
    directory (inside ``artifacts_dir`` if given), removed on success unless
    ``keep_artifacts``, kept on failure.

    Before the random search, targeted examples try the sizes the model was
    built or traced with, the smallest and largest sizes, every value family,
    large magnitudes, and NaN/infinity in float inputs.  ``finite_inputs``
    names float inputs that are never given NaN or infinity (``True``: none is).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> report = check_roundtrip(model, formats=["keras"], max_examples=3, seed=0)
        >>> report.formats_passed
        ('keras',)
    """
    __tracebackhide__ = True
    started = time.perf_counter()
    requested = parse_format_names(formats)
    validate_tolerance_argument("rtol", rtol)
    validate_tolerance_argument("atol", atol)
    examples = validate_max_examples(max_examples)
    validate_seed(seed)
    prepared = prepare_subject(model, input_signature, inputs)
    subject, overrides, notes = prepared.subject, prepared.overrides, list(prepared.notes)
    check_override_names("rtol", rtol, subject.output_names)
    check_override_names("atol", atol, subject.output_names)
    chosen, skipped = _choose_formats(requested, subject)

    workdir = Path(tempfile.mkdtemp(prefix="tf-roundtrip-", dir=existing_dir(artifacts_dir)))
    results: dict[str, FormatResult] = dict(skipped)
    reloaded: dict[str, ReloadedCall] = {}
    for fmt in chosen:
        outcome = _save_and_load(fmt, subject, workdir / fmt.name)
        if isinstance(outcome, FormatResult):
            results[fmt.name] = outcome
        else:
            reloaded[fmt.name], results[fmt.name] = outcome

    tolerance_for = {name: tolerance_function(get_format(name).tolerance_family, rtol, atol) for name in reloaded}
    finite = _finite_input_names(subject, finite_inputs)

    def strategy_for(pin: Pin) -> Any:
        return example_strategy(subject.signature, overrides, pin=pin)

    pins = targeted_pins(subject.signature, prepared.given, shape_hints(subject.model, subject.signature), finite)
    outcome = search(SearchPlan(
        reference=lambda arrays: subject.flat_outputs(call_keras_model(subject.model, subject, arrays)),
        reloaded=reloaded,
        flatten=subject.flat_outputs,
        tolerance_for=tolerance_for,
        strategy=example_strategy(subject.signature, overrides),
        max_examples=examples,
        seed=seed,
        perturbation_for={
            name: step for name in reloaded if (step := conditioning_step(get_format(name).tolerance_family)) is not None
        },
        targeted=tuple(targeted_examples(pins, strategy_for)),
        strategy_for=strategy_for,
        finite_samples_only=frozenset(name for name in reloaded if get_format(name).tolerance_family != EXACT),
    ))
    if outcome.model_error is not None:
        error, example = outcome.model_error
        raise RoundTripUsageError(
            f"the original model raised {type(error).__name__} on a generated input ({example.summary()}): {error}\n"
            f"The inputs were drawn from: {subject.signature.describe()}. Narrow them with inputs=, for example:\n\n"
            f"{inputs_code(subject.signature, overrides)}"
        ) from error
    results.update(_search_results(outcome, results, workdir))
    results.update(_weight_results(subject, reloaded, results, outcome.findings, tolerance_for))
    report = RoundTripReport(
        results=tuple(results[f.name] for f in all_formats() if f.name in results),
        examples=examples,
        artifacts_dir=workdir,
        input_description=subject.signature.describe(),
        nondeterminism=_nondeterminism_text(outcome),
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )
    if not report.passed:
        raise RoundTripError(failure_message(report), report)
    for text in report.warnings:
        warnings.warn(RoundTripWarning(text), stacklevel=2)
    if not keep_artifacts:
        shutil.rmtree(workdir, ignore_errors=True)
        report = _without_artifacts(report)
    return report


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


def _choose_formats(requested: list[str] | None, subject: Subject) -> tuple[list[RoundTripFormat], dict[str, FormatResult]]:
    """Formats to run, and results for those skipped (with the reason)."""
    chosen, skipped = [], {}
    for fmt in all_formats():
        if requested is not None and fmt.name not in requested:
            continue
        reason = fmt.unavailable_reason()
        if reason is None and requested is None:
            reason = fmt.not_applicable_reason(subject)
        if reason is None:
            chosen.append(fmt)
        else:
            skipped[fmt.name] = FormatResult(fmt.name, SKIPPED, skip_reason=reason)
    return chosen, skipped


def _save_and_load(fmt: RoundTripFormat, subject: Subject, directory: Path) -> FormatResult | tuple[ReloadedCall, FormatResult]:
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        artifact = fmt.save(subject, directory)
    except Exception as error:
        return FormatResult(fmt.name, FAILED, artifact=directory, failure=FormatFailure(SAVE, describe_exception(error)))
    saved = time.perf_counter()
    try:
        call = fmt.load(subject, artifact)
    except Exception as error:
        return FormatResult(fmt.name, FAILED, save_seconds=saved - started, artifact=artifact,
                            failure=FormatFailure(LOAD, describe_exception(error)))
    return call, FormatResult(fmt.name, PASSED, save_seconds=saved - started,
                              load_seconds=time.perf_counter() - saved, artifact=artifact,
                              warnings=tuple(getattr(call, "warnings", ())))


def _search_results(outcome: SearchOutcome, results: Mapping[str, FormatResult], workdir: Path) -> dict[str, FormatResult]:
    updated = {}
    for name, stats in outcome.stats.items():
        base = results[name]
        common = dict(examples=stats.examples, max_abs_error=stats.max_abs_error, max_rel_error=stats.max_rel_error,
                      ill_conditioned=stats.ill_conditioned, nonfinite_not_judged=stats.nonfinite_not_judged,
                      save_seconds=base.save_seconds, load_seconds=base.load_seconds,
                      compare_seconds=stats.compare_seconds, artifact=base.artifact, warnings=base.warnings)
        finding = outcome.findings.get(name)
        if outcome.nondeterminism is not None:
            updated[name] = FormatResult(name, SKIPPED, skip_reason="not judged: the model is not deterministic", **common)
        elif finding is None:
            updated[name] = FormatResult(name, PASSED, **common)
        else:
            updated[name] = FormatResult(name, FAILED, failure=_failure_of(name, finding, workdir), **common)
    return updated


def _weight_results(
    subject: Subject, reloaded: Mapping[str, ReloadedCall], results: Mapping[str, FormatResult],
    findings: Mapping[str, Finding], tolerance_for: Mapping[str, ToleranceFor],
) -> dict[str, FormatResult]:
    """For reloads into a Keras model: every weight by path, and the first layer whose output differs."""
    updated = {}
    for name, call in reloaded.items():
        result = results[name]
        if not isinstance(call, KerasReload) or result.status == SKIPPED:
            continue
        weights = weight_difference(subject.model, call)
        failure = result.failure
        if failure is None:
            if weights.ok:
                continue
            failure = FormatFailure(WEIGHTS, "weights differ")
        layer = None
        if failure.stage == MISMATCH and name in findings:
            layer = first_differing_layer(subject.model, call.model, subject, findings[name].example.arrays,
                                          _closeness(tolerance_for[name]))
        updated[name] = replace(result, status=FAILED, failure=replace(
            failure, weights=None if weights.ok else weights, first_differing_layer=layer))
    return updated


def _closeness(tolerance_for: ToleranceFor) -> Callable[[np.ndarray, np.ndarray], bool]:
    def close(expected: np.ndarray, actual: np.ndarray) -> bool:
        return compare_outputs({"layer": expected}, {"layer": actual}, tolerance_for).ok

    return close


def _failure_of(name: str, finding: Finding, workdir: Path) -> FormatFailure:
    input_file = save_example(finding.example, workdir / f"failing-input-{name}.npz")
    if finding.comparison is not None:
        return FormatFailure(MISMATCH, "outputs differ", finding.comparison, finding.example.summary(), input_file)
    return FormatFailure(CALL, finding.error or "", None, finding.example.summary(), input_file)


def save_example(example: Example, path: Path) -> Path:
    """Write an example's arrays to ``.npz`` (strings as unicode arrays)."""
    arrays = {name: savable(a) for name, a in example.arrays.items()}
    np.savez(path, **arrays)
    return path


def _nondeterminism_text(outcome: SearchOutcome) -> str | None:
    if outcome.nondeterminism is None:
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
