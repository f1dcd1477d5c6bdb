"""The property-based search: run every reloaded format on drawn inputs.

One hypothesis run draws examples; for each, the original model's outputs are
computed once (and cached) and every pending format is called and compared.
Once a format fails, the run only re-evaluates the failing formats, so
hypothesis shrinks cheaply to a small input that still fails them.  Formats
that have not failed are searched again in a further run, so every failing
format is found, each with its own shrunk input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from pytest_tfroundtrip.results.compare import Comparison, compare_outputs
from pytest_tfroundtrip.formats.base import ReloadedCall
from pytest_tfroundtrip.inputs.strategies import Example
from pytest_tfroundtrip.results.tolerances import Tolerance

ToleranceFor = Callable[[str, str], Tolerance]


@dataclass
class FormatStats:
    examples: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    compare_seconds: float = 0.0
    ill_conditioned: int = 0

    def record(self, comparison: Comparison, seconds: float) -> None:
        self.examples += 1
        self.compare_seconds += seconds
        if comparison.ok:
            self.max_abs_error = max(self.max_abs_error, comparison.max_abs_error)
            self.max_rel_error = max(self.max_rel_error, comparison.max_rel_error)


@dataclass(frozen=True)
class Finding:
    """A format that failed on ``example``: a mismatch or a call error."""

    example: Example
    comparison: Comparison | None = None
    error: str | None = None


@dataclass
class SearchOutcome:
    findings: dict[str, Finding] = field(default_factory=dict)
    stats: dict[str, FormatStats] = field(default_factory=dict)
    nondeterminism: tuple[Comparison, Example] | None = None
    model_error: tuple[BaseException, Example] | None = None


class _FoundFailures(Exception):
    def __init__(self, findings: dict[str, Finding]) -> None:
        super().__init__(sorted(findings))
        self.findings = findings


class _NotDeterministic(Exception):
    def __init__(self, comparison: Comparison, example: Example) -> None:
        super().__init__("model not deterministic")
        self.comparison, self.example = comparison, example


class _ModelRejectsInput(Exception):
    def __init__(self, error: BaseException, example: Example) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.example = error, example


@dataclass(frozen=True)
class SearchPlan:
    """What one search compares, on which inputs, with which tolerances.

    ``reference`` computes the original model's flat outputs; ``reloaded``
    maps format names to reloaded calls, whose outputs ``flatten`` turns into
    the same flat form.  Formats in ``perturbation_for`` (graph and TFLite,
    which reassociate sums and fold weights) are not judged on inputs where
    the model is ill-conditioned: a relative change of the float inputs by
    that format's step moves the original model's output beyond that format's
    tolerance.

    Example:
        >>> import numpy as np
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> from pytest_tfroundtrip.inputs.strategies import example_strategy
        >>> from pytest_tfroundtrip.results.tolerances import Tolerance
        >>> double = lambda arrays: {"y": arrays["x"] * 2}
        >>> plan = SearchPlan(double, {"copy": double}, lambda outputs: outputs,
        ...                   {"copy": lambda output, dtype: Tolerance(0.0, 0.0)},
        ...                   example_strategy(ModelSignature("x", (InputSpec("x", (None, 2), "float32"),))),
        ...                   max_examples=3, seed=0)
        >>> search(plan).findings
        {}
    """

    reference: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]
    reloaded: Mapping[str, ReloadedCall]
    flatten: Callable[[object], dict[str, np.ndarray]]
    tolerance_for: Mapping[str, ToleranceFor]
    strategy: SearchStrategy[Example]
    max_examples: int
    seed: int | None
    perturbation_for: Mapping[str, float] = field(default_factory=dict)


def search(plan: SearchPlan) -> SearchOutcome:
    """Search for inputs on which a reloaded format differs from the model."""
    outcome = SearchOutcome(stats={name: FormatStats() for name in plan.reloaded})
    cache: dict[str, dict[str, np.ndarray]] = {}
    pending = dict(plan.reloaded)
    while pending:
        result = _one_run(plan, pending, cache, outcome.stats)
        if isinstance(result, _NotDeterministic):
            outcome.nondeterminism = (result.comparison, result.example)
            break
        if isinstance(result, _ModelRejectsInput):
            outcome.model_error = (result.error, result.example)
            break
        if not result:
            break
        outcome.findings.update(result)
        for name in result:
            pending.pop(name)
    return outcome


def _one_run(
    plan: SearchPlan,
    pending: Mapping[str, ReloadedCall],
    cache: dict[str, dict[str, np.ndarray]],
    stats: dict[str, FormatStats],
) -> dict[str, Finding] | _NotDeterministic | _ModelRejectsInput:
    reference, tolerance_for, perturbation_for = plan.reference, plan.tolerance_for, plan.perturbation_for
    failing_seen: set[str] = set()
    last_raised: list[Exception] = []

    def expected_for(example: Example) -> dict[str, np.ndarray]:
        key = example.cache_key()
        if key not in cache:
            if len(cache) > 256:
                cache.clear()
            try:
                cache[key] = reference(example.arrays)
            except Exception as error:  # the model itself rejects a generated input
                raise _ModelRejectsInput(error, example) from error
        return cache[key]

    def check(example: Example) -> None:
        expected = expected_for(example)
        findings: dict[str, Finding] = {}
        names = sorted(failing_seen) if failing_seen else list(pending)
        for name in names:
            started = time.perf_counter()
            try:
                actual = plan.flatten(pending[name](example.arrays))
            except Exception as error:
                findings[name] = Finding(example, error=f"{type(error).__name__}: {error}")
                continue
            comparison = compare_outputs(expected, actual, tolerance_for[name])
            stats[name].record(comparison, time.perf_counter() - started)
            if not comparison.ok:
                findings[name] = Finding(example, comparison=comparison)
        if findings:
            _rule_out_nondeterminism(reference, expected, example, tolerance_for, findings)
        perturbed: dict[float, dict[str, np.ndarray] | None] = {}
        for name in [n for n, f in findings.items() if n in perturbation_for and f.comparison is not None]:
            step = perturbation_for[name]
            if step not in perturbed:
                perturbed[step] = _perturbed_output(reference, example, step)
            moved = perturbed[step]
            if moved is not None and not compare_outputs(expected, moved, tolerance_for[name]).ok:
                stats[name].ill_conditioned += 1
                del findings[name]
        if not findings:
            return
        failing_seen.update(findings)
        error = _FoundFailures(findings)
        last_raised.append(error)
        raise error

    run = settings(
        max_examples=plan.max_examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )(given(plan.strategy)(check))
    if plan.seed is not None:
        run = hypothesis_seed(plan.seed)(run)
    try:
        run()
    except _FoundFailures as found:
        return found.findings
    except (_NotDeterministic, _ModelRejectsInput) as verdict:
        return verdict
    except Flaky:
        # The minimal failure did not fail again on replay: report what was seen.
        for error in reversed(last_raised):
            return error.findings  # type: ignore[attr-defined]
        raise
    return {}


def _rule_out_nondeterminism(
    reference: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]],
    expected: dict[str, np.ndarray],
    example: Example,
    tolerance_for: Mapping[str, ToleranceFor],
    findings: dict[str, Finding],
) -> None:
    """Run the original model again; if it disagrees with itself, say so."""
    mismatched = [name for name, finding in findings.items() if finding.comparison is not None]
    if not mismatched:
        return
    again = reference(example.arrays)
    strictest = tolerance_for[mismatched[0]]
    comparison = compare_outputs(expected, again, strictest)
    if not comparison.ok:
        raise _NotDeterministic(comparison, example)


def _perturbed_output(
    reference: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]],
    example: Example,
    relative_step: float,
) -> dict[str, np.ndarray] | None:
    """The original model's output after scaling the float inputs by ``1 + relative_step``.

    If that alone moves the output beyond a format's tolerance, the input is
    ill-conditioned (e.g. a saturated softmax of huge logits, where rounding
    moves the argmax) and a reassociating format cannot be judged on it.  None
    when the model has no float inputs to perturb.
    """
    perturbed = {}
    for name, array in example.arrays.items():
        if array.dtype.kind == "f":
            step = max(relative_step, 2 * float(np.finfo(array.dtype).eps))
            perturbed[name] = (array * (1 + step)).astype(array.dtype)
        else:
            perturbed[name] = array
    if all(perturbed[name] is example.arrays[name] for name in perturbed):
        return None
    return reference(perturbed)
