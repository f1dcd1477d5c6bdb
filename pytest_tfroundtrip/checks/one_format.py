"""One format at a time: save, load, search, diagnose, then let go of it.

Memory and disk are bounded by the model, not by the number of formats: a
format's reloaded copy is released (and collected) before the next format is
saved, and the artifact of a format that passed is deleted unless artifacts
are kept.  Only failing formats keep their files, for the failure report.
The original model's outputs are shared across formats through the plan's
:class:`~pytest_tfroundtrip.checks.output_cache.OutputCache`.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.output_cache import OutputCache
from pytest_tfroundtrip.checks.reproduction import with_reproduction
from pytest_tfroundtrip.checks.search import Finding, FormatStats, SearchOutcome, SearchPlan, ToleranceFor, search
from pytest_tfroundtrip.errors import describe_exception
from pytest_tfroundtrip.formats.base import KerasReload, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.formats.diagnosis import first_differing_layer, layer_trace, weight_difference
from pytest_tfroundtrip.inputs.arrays import savable
from pytest_tfroundtrip.inputs.strategies import Example, Pin
from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend
from pytest_tfroundtrip.isolation.pool import WorkerCrashed
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.report import (
    CALL,
    FAILED,
    LOAD,
    MISMATCH,
    PASSED,
    SAVE,
    SKIPPED,
    WEIGHTS,
    FormatFailure,
    FormatResult,
)
from pytest_tfroundtrip.results.tolerances import EXACT, ToleranceArgument, conditioning_step, tolerance_function

NOT_DETERMINISTIC = "not judged: the model is not deterministic"
COLLECT_FROM_BYTES = 32 * 2**20


@dataclass(frozen=True)
class SharedSearch:
    """What every format's search shares: the original model, the inputs, the seed, the cache."""

    reference: Callable[[Any], dict[str, np.ndarray]]
    flatten: Callable[[object], dict[str, np.ndarray]]
    strategy: Any
    max_examples: int
    seed: int
    targeted: tuple[tuple[Example, Pin], ...]
    strategy_for: Callable[[Pin], Any]
    cache: OutputCache
    examples: tuple[Example, ...] = ()
    rtol: ToleranceArgument = None
    atol: ToleranceArgument = None
    compute_dtype: str | None = None  # the lowest float precision the model computes in, below float32
    padding_masks: tuple[str, ...] = ()  # inputs whose zeros mark padding: outputs there are not judged

    def tolerance_for(self, fmt: RoundTripFormat) -> ToleranceFor:
        return tolerance_function(fmt.tolerance_family, self.rtol, self.atol, self.compute_dtype)

    def plan_for(self, fmt: RoundTripFormat, call: ReloadedCall) -> SearchPlan:
        return self.plan_for_many({fmt: call})

    def plan_for_many(self, calls: dict[RoundTripFormat, ReloadedCall]) -> SearchPlan:
        """One search over several formats: each input is given to all of them (at once, where they run elsewhere)."""
        steps = {fmt.name: conditioning_step(fmt.tolerance_family) for fmt in calls}
        return SearchPlan(
            reference=self.reference, reloaded={fmt.name: call for fmt, call in calls.items()}, flatten=self.flatten,
            tolerance_for={fmt.name: self.tolerance_for(fmt) for fmt in calls}, strategy=self.strategy,
            max_examples=self.max_examples, seed=self.seed,
            perturbation_for={name: step for name, step in steps.items() if step is not None},
            targeted=self.targeted, strategy_for=self.strategy_for,
            finite_samples_only=frozenset(fmt.name for fmt in calls if fmt.tolerance_family != EXACT),
            cache=self.cache, examples=self.examples, padding_masks=self.padding_masks,
        )


@dataclass(frozen=True)
class FormatRun:
    """Where one check's formats write, and whether passing artifacts stay."""

    subject: Subject
    workdir: Path
    keep_artifacts: bool
    search: SharedSearch
    weight_bytes: int = 0


def check_one_format(fmt: RoundTripFormat, run: FormatRun) -> tuple[FormatResult, SearchOutcome | None]:
    """Save, reload, search and diagnose ``fmt``; return its result and the search outcome (None if it never loaded).

    The reloaded copy is released before returning; a passing format's files
    are deleted unless ``run.keep_artifacts``.
    """
    directory = run.workdir / fmt.name
    loaded = save_and_load(fmt, run.subject, directory)
    if isinstance(loaded, FormatResult):
        return with_reproduction_of(fmt, run, loaded), None
    call, result = loaded
    try:
        outcome = search(run.search.plan_for(fmt, call))
        result = judged_and_diagnosed(result, outcome, call, run, fmt)
    finally:
        del call, loaded
        if run.weight_bytes >= COLLECT_FROM_BYTES:
            # Reloaded Keras/TF objects hold reference cycles: free them before the next
            # format.  A full collection costs ~0.15 s, more than a small model is worth.
            gc.collect()
    return finished(fmt, run, result), outcome


def judged_and_diagnosed(
    result: FormatResult, outcome: SearchOutcome, call: ReloadedCall, run: FormatRun, fmt: RoundTripFormat,
) -> FormatResult:
    """The search's verdict on ``fmt``, with the weights and the first differing layer for reloads into Keras."""
    result = _judged(result, outcome, run.workdir)
    keras_reload = isinstance(call, KerasReload) or getattr(call, "is_keras", False)
    if keras_reload and result.status != SKIPPED and outcome.model_error is None:
        try:
            result = _with_weight_diagnosis(result, call, run, outcome.findings.get(fmt.name), run.search.tolerance_for(fmt))
        except WorkerCrashed:  # the worker holding the reload crashed calling it: the failure says so, undiagnosed
            pass
    return result


def finished(fmt: RoundTripFormat, run: FormatRun, result: FormatResult) -> FormatResult:
    """A failure gets its reproduction script; a pass lets go of its files unless artifacts are kept."""
    directory = run.workdir / fmt.name
    if result.status == FAILED:
        return with_reproduction_of(fmt, run, result)
    if not run.keep_artifacts:
        shutil.rmtree(directory, ignore_errors=True)
        result = replace(result, artifact=None)
    return result


def with_reproduction_of(fmt: RoundTripFormat, run: FormatRun, result: FormatResult) -> FormatResult:
    """``result`` with a script reproducing its failure with plain calls (the original's outputs beside it)."""
    directory = run.workdir / fmt.name
    expected = None
    if result.failure is not None and result.failure.input_file is not None:
        try:  # the original model's outputs on the failing input, as saved (the cache has them)
            expected = run.search.reference(dict(np.load(result.failure.input_file)))
        except Exception:
            return result
    return with_reproduction(fmt, run.subject, result, directory, expected)


def save_artifact(fmt: RoundTripFormat, subject: Subject, directory: Path) -> FormatResult | tuple[Path, float]:
    """Save ``fmt`` under ``directory``: the artifact and the seconds it took, or the failed result."""
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        artifact = fmt.save(subject, directory)
    except Exception as error:
        return FormatResult(fmt.name, FAILED, artifact=directory, failure=FormatFailure(SAVE, describe_exception(error)))
    return artifact, time.perf_counter() - started


def save_and_load(fmt: RoundTripFormat, subject: Subject, directory: Path) -> FormatResult | tuple[ReloadedCall, FormatResult]:
    """Save and reload ``fmt`` under ``directory``: the reloaded call and a passing result so far, or the failed result."""
    saved_artifact = save_artifact(fmt, subject, directory)
    if isinstance(saved_artifact, FormatResult):
        return saved_artifact
    artifact, save_seconds = saved_artifact
    started = time.perf_counter() - save_seconds
    saved = time.perf_counter()
    try:
        call = load_in_its_backend(fmt, subject, artifact)
    except Exception as error:
        return FormatResult(fmt.name, FAILED, save_seconds=saved - started, artifact=artifact,
                            failure=FormatFailure(LOAD, describe_exception(error)))
    return call, FormatResult(fmt.name, PASSED, save_seconds=saved - started,
                              load_seconds=time.perf_counter() - saved, artifact=artifact,
                              warnings=tuple(getattr(call, "warnings", ())))


def _judged(base: FormatResult, outcome: SearchOutcome, workdir: Path) -> FormatResult:
    name = base.format
    stats = outcome.stats.get(name, FormatStats())
    judged = replace(base, examples=stats.examples, max_abs_error=stats.max_abs_error, max_rel_error=stats.max_rel_error,
                     tolerance_used=stats.tolerance_used,
                     ill_conditioned=stats.ill_conditioned, nonfinite_not_judged=stats.nonfinite_not_judged,
                     padding_not_judged=stats.padding_not_judged,
                     compare_seconds=stats.compare_seconds, example_errors=tuple(stats.example_errors))
    if outcome.nondeterminism is not None:
        return replace(judged, status=SKIPPED, skip_reason=NOT_DETERMINISTIC)
    finding = outcome.findings.get(name)
    if finding is None:
        return judged
    return replace(judged, status=FAILED, failure=_failure_of(name, finding, workdir))


def _with_weight_diagnosis(
    result: FormatResult, call: Any, run: FormatRun, finding: Finding | None, tolerance_for: ToleranceFor,
) -> FormatResult:
    """For reloads into a Keras model: every weight by path, and the first layer whose output differs.

    Weights reloaded under another Keras backend are judged within that backend's tolerance: a weight the model
    derives when it is built (DINOV2's interpolated position embeddings) is recomputed in the backend's arithmetic.
    """
    from pytest_tfroundtrip.formats import get_format

    elsewhere = get_format(result.format).keras_backend != _lazy.process_backend()
    weights = weight_difference(run.subject.model, call, _backend_weight_closeness(tolerance_for) if elsewhere else None)
    failure = result.failure
    if failure is None:
        if weights.ok:
            return result
        failure = FormatFailure(WEIGHTS, "weights differ")
    layer = None
    if failure.stage == MISMATCH and finding is not None:
        arrays = finding.example.arrays
        trace = getattr(call, "trace", None)  # a reload held by a worker traces itself there
        layer = first_differing_layer(
            run.subject.model,
            (lambda recorded: trace(arrays, recorded)) if trace is not None else
            (lambda recorded: layer_trace(call.model, run.subject, arrays, recorded)),
            run.subject, arrays, _closeness(tolerance_for))
    return replace(result, status=FAILED, failure=replace(
        failure, weights=None if weights.ok else weights, first_differing_layer=layer))


def _closeness(tolerance_for: ToleranceFor) -> Callable[[np.ndarray, np.ndarray], bool]:
    def close(expected: np.ndarray, actual: np.ndarray) -> bool:
        return compare_outputs({"layer": expected}, {"layer": actual}, tolerance_for).ok

    return close


def _backend_weight_closeness(tolerance_for: ToleranceFor) -> Callable[[np.ndarray, np.ndarray], bool]:
    """Within the backend's tolerance, and a weight held in another width accepted when its values survive.

    JAX keeps 64-bit values in 32 bits unless its 64-bit mode is on: SigLIP's int64 ``position_ids``
    reload as int32 with the same values, and the model computes the same numbers.  The other way, a JAX
    process's int32 ``Normalization`` count reloads as int64 under TensorFlow (JAX property sample).
    """
    close = _closeness(tolerance_for)

    def close_enough(expected: np.ndarray, actual: np.ndarray) -> bool:
        if expected.dtype != actual.dtype and expected.dtype.kind == actual.dtype.kind:
            narrow = min(expected.dtype, actual.dtype, key=lambda dtype: dtype.itemsize)
            if expected.dtype.kind in "iu":  # widening is exact: a value that did not fit stays different
                wide = max(expected.dtype, actual.dtype, key=lambda dtype: dtype.itemsize)
                return bool(np.array_equal(expected.astype(wide), actual.astype(wide)))
            if expected.dtype.kind == "f":  # judged in the precision the narrower side keeps
                return close(expected.astype(narrow), actual.astype(narrow))
        return close(expected, actual)

    return close_enough


def _failure_of(name: str, finding: Finding, workdir: Path) -> FormatFailure:
    input_file = save_example(finding.example, workdir / f"failing-input-{name}.npz")
    if finding.comparison is not None:
        return FormatFailure(MISMATCH, "outputs differ", finding.comparison, finding.example.summary(), input_file)
    return FormatFailure(CALL, finding.error or "", None, finding.example.summary(), input_file)


def save_example(example: Example, path: Path) -> Path:
    """Write an example's arrays to ``.npz`` (strings as unicode arrays).

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> path = save_example(Example({"x": np.ones(2)}, {}), pathlib.Path(tempfile.mkdtemp()) / "x.npz")
        >>> np.load(path)["x"].tolist()
        [1.0, 1.0]
    """
    arrays = {name: savable(a) for name, a in example.arrays.items()}
    np.savez(path, **arrays)
    return path


def judged_before_nondeterminism(result: FormatResult) -> FormatResult:
    """A format that passed before the model was found nondeterministic is not judged either."""
    if result.status == PASSED or (result.status == FAILED and result.failure is not None
                                   and result.failure.stage not in (SAVE, LOAD)):
        return replace(result, status=SKIPPED, failure=None, skip_reason=NOT_DETERMINISTIC)
    return result
