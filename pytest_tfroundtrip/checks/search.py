"""The property-based search: run every reloaded format on drawn inputs.

Targeted examples (see :mod:`~pytest_tfroundtrip.inputs.targeted`) run
first, as hypothesis's explicit examples; a failure on one is then shrunk by
a search under the same pin.  One hypothesis run draws examples; for each,
the original model's outputs are computed once (and kept in the plan's
:class:`~pytest_tfroundtrip.checks.output_cache.OutputCache`, which several
searches may share) and every pending format is called and compared.
With pre-drawn ``examples`` (one draw shared by several searches), those are
replayed first without hypothesis, and only failing formats are searched.
Once a format fails, the run only re-evaluates the failing formats, so
hypothesis shrinks cheaply to a small input that still fails them.  Formats
that have not failed are searched again in a further run, so every failing
format is found, each with its own shrunk input.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from pytest_tfroundtrip.checks.output_cache import OutputCache
from pytest_tfroundtrip.errors import RoundTripInternalError
from pytest_tfroundtrip.formats.base import ReloadedCall
from pytest_tfroundtrip.inputs.strategies import Example, Pin
from pytest_tfroundtrip.inputs.values import finite_samples, is_float_array
from pytest_tfroundtrip.results.compare import Comparison, compare_outputs
from pytest_tfroundtrip.results.padding import padded_positions
from pytest_tfroundtrip.results.tolerances import Tolerance, machine_epsilon

ToleranceFor = Callable[[str, str], Tolerance]


@dataclass
class FormatStats:
    examples: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    tolerance_used: float = 0.0
    compare_seconds: float = 0.0
    ill_conditioned: int = 0
    nonfinite_not_judged: int = 0
    padding_not_judged: int = 0
    example_errors: list[tuple[float, float, float]] = field(default_factory=list)  # (abs, rel, tolerance used) per passing example

    def record(self, comparison: Comparison, seconds: float) -> None:
        self.examples += 1
        self.compare_seconds += seconds
        if comparison.ok:  # per example, for the HTML report's distribution
            self.example_errors.append((comparison.max_abs_error, comparison.max_rel_error, comparison.tolerance_used))
        self.padding_not_judged += comparison.left_out
        if comparison.ok:
            self.max_abs_error = max(self.max_abs_error, comparison.max_abs_error)
            self.max_rel_error = max(self.max_rel_error, comparison.max_rel_error)
            self.tolerance_used = max(self.tolerance_used, comparison.tolerance_used)


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
    tolerance.  ``targeted`` examples run before the random ones; a failure on
    one is shrunk under its pin with ``strategy_for(pin)``.  Formats in
    ``finite_samples_only`` (graph and TFLite runtimes, which spread NaN
    differently from eager Keras) are judged, on an input with NaN or
    infinities, only on the samples whose inputs are all finite.  ``cache``
    holds the original's outputs; pass one cache to several searches drawn
    with the same seed to run the original once per input for all of them.
    ``examples`` (from :func:`draw_examples` with the same seed): evaluated
    directly, without hypothesis, after the targeted ones; only a format that
    fails one is searched by hypothesis, which finds that failure again and
    shrinks it.  Drawing once and replaying saves hypothesis's per-run cost
    for every format that passes.

    Example:
        >>> import numpy as np
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> from pytest_tfroundtrip.inputs.strategies import example_strategy
        >>> from pytest_tfroundtrip.results.tolerances import Tolerance, machine_epsilon
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
    targeted: tuple[tuple[Example, Pin], ...] = ()
    strategy_for: Callable[[Pin], SearchStrategy[Example]] | None = None
    finite_samples_only: frozenset[str] = frozenset()
    cache: OutputCache | None = None
    examples: tuple[Example, ...] | None = None
    padding_masks: tuple[str, ...] = ()

    def left_out(self, example: Example, expected: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The output positions ``example``'s padding masks remove: never judged."""
        return padded_positions(example.arrays, self.padding_masks, expected) if self.padding_masks else {}


def search(plan: SearchPlan) -> SearchOutcome:
    """Search for inputs on which a reloaded format differs from the model."""
    outcome = SearchOutcome(stats={name: FormatStats() for name in plan.reloaded})
    cache = plan.cache if plan.cache is not None else OutputCache()
    pending = dict(plan.reloaded)
    replayed: dict[str, Finding] = {}
    if _ends_the_search(outcome, _called_twice(plan, cache)):
        return outcome
    if plan.examples is not None:
        first = _replay(plan, pending, cache, outcome.stats)
        if _ends_the_search(outcome, first):
            return outcome
        replayed = first
        pending = {name: pending[name] for name in replayed}  # only failing formats need hypothesis, to shrink
    while pending:
        result = _one_run(plan, pending, cache, outcome.stats)
        if _ends_the_search(outcome, result):
            break
        if not result:
            break
        outcome.findings.update(_shrunk_under_pins(plan, result, pending, cache, outcome.stats))
        for name in result:
            pending.pop(name)
    for name, finding in replayed.items():  # hypothesis did not reproduce it: report the replayed failure
        if outcome.nondeterminism is None and outcome.model_error is None:
            outcome.findings.setdefault(name, finding)
    return outcome


def _shrunk_under_pins(
    plan: SearchPlan, findings: dict[str, Finding], pending: Mapping[str, ReloadedCall],
    cache: OutputCache, stats: dict[str, FormatStats],
) -> dict[str, Finding]:
    """Findings on targeted examples, replaced by a smaller failing input drawn under the same pin where one exists."""
    if plan.strategy_for is None or not plan.targeted:
        return findings
    pins = {example.cache_key(): pin for example, pin in plan.targeted}
    shrunk = dict(findings)
    for pin in {pins[f.example.cache_key()] for f in findings.values() if f.example.cache_key() in pins}:
        names = [n for n, f in findings.items() if pins.get(f.example.cache_key()) == pin]
        pinned = replace(plan, strategy=plan.strategy_for(pin), targeted=())
        result = _one_run(pinned, {n: pending[n] for n in names}, cache, stats)
        if isinstance(result, dict):
            shrunk.update({n: f for n, f in result.items() if n in names})
    return shrunk


def _judged_samples(
    keep: np.ndarray | None, expected: dict[str, np.ndarray], actual: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The outputs judged: all of them, or those of the samples ``keep`` marks finite (None: no sample to judge)."""
    if keep is None:
        return expected, actual
    if not keep.any():
        return None
    batch = len(keep)
    rows = [k for k in expected if expected[k].ndim and expected[k].shape[0] == batch
            and k in actual and np.shape(actual[k])[:1] == (batch,)]
    if not rows:
        return None
    return {k: expected[k][keep] for k in rows}, {k: np.asarray(actual[k])[keep] for k in rows}


def _left_out_of_samples(left_out: dict[str, np.ndarray], keep: np.ndarray | None) -> dict[str, np.ndarray]:
    """``left_out`` for the samples judged (``keep``: those whose inputs are all finite)."""
    if keep is None:
        return left_out
    return {name: padding[keep] for name, padding in left_out.items() if padding.shape[:1] == keep.shape}


def _expected_for(plan: SearchPlan, cache: OutputCache, example: Example) -> dict[str, np.ndarray]:
    def compute() -> dict[str, np.ndarray]:
        try:
            return plan.reference(example.arrays)
        except Exception as error:  # the model itself rejects a generated input
            raise _ModelRejectsInput(error, example) from error

    return cache.get_or_compute(example.cache_key(), compute)


def _ends_the_search(outcome: SearchOutcome, verdict: object) -> bool:
    """Record a verdict on the model itself (not deterministic, rejects an input); True if it was one."""
    if isinstance(verdict, _NotDeterministic):
        outcome.nondeterminism = (verdict.comparison, verdict.example)
        return True
    if isinstance(verdict, _ModelRejectsInput):
        outcome.model_error = (verdict.error, verdict.example)
        return True
    return False


def _called_twice(plan: SearchPlan, cache: OutputCache) -> _NotDeterministic | _ModelRejectsInput | None:
    """Call the original twice on the first example, once per cache (per check), whatever the formats do.

    Checking only after a format disagrees misses state that changes at
    inference (a counter updated in ``call``): a reloaded copy that restored
    the counter advances with the original, call for call, and agrees.
    """
    first = next(iter([example for example, _pin in plan.targeted] + list(plan.examples or ())), None)
    if first is None or cache.determinism_checked or not plan.tolerance_for:
        return None
    cache.determinism_checked = True
    try:
        expected = _expected_for(plan, cache, first)
    except _ModelRejectsInput as rejected:
        return rejected
    comparison = compare_outputs(expected, plan.reference(first.arrays), next(iter(plan.tolerance_for.values())),
                                 plan.left_out(first, expected))
    return None if comparison.ok else _NotDeterministic(comparison, first)


def _evaluate(
    plan: SearchPlan, names: list[str], example: Example, cache: OutputCache, stats: dict[str, FormatStats],
) -> dict[str, Finding]:
    """Call each named format on ``example`` and judge it; the formats that failed, with why."""
    reference, tolerance_for, perturbation_for = plan.reference, plan.tolerance_for, plan.perturbation_for
    expected = _expected_for(plan, cache, example)
    left_out = plan.left_out(example, expected)
    findings: dict[str, Finding] = {}
    keep = finite_samples(example.arrays) if plan.finite_samples_only else None
    sent = _sent_at_once(plan, names, example)
    for name in names:
        started = time.perf_counter()
        try:
            outputs = sent[name].result() if name in sent else plan.reloaded[name](example.arrays)
            actual = plan.flatten(outputs)
        except RoundTripInternalError:
            raise
        except Exception as error:
            findings[name] = Finding(example, error=f"{type(error).__name__}: {error}")
            continue
        samples = keep if name in plan.finite_samples_only else None
        judged = _judged_samples(samples, expected, actual)
        if judged is None:
            stats[name].nonfinite_not_judged += 1
            continue
        comparison = compare_outputs(*judged, tolerance_for[name], _left_out_of_samples(left_out, samples))
        stats[name].record(comparison, time.perf_counter() - started)
        if not comparison.ok:
            findings[name] = Finding(example, comparison=comparison)
    if findings:
        _rule_out_nondeterminism(reference, expected, example, tolerance_for, findings, left_out)
    moved_by_step: dict[float, dict[str, np.ndarray] | None] = {}  # formats of one family share the perturbed run
    for name in [n for n, f in findings.items() if n in perturbation_for and f.comparison is not None]:
        step = perturbation_for[name]
        if step not in moved_by_step:
            moved_by_step[step] = perturbed_output(reference, example, step)
        if _moved_beyond(expected, moved_by_step[step], tolerance_for[name], left_out):
            stats[name].ill_conditioned += 1
            del findings[name]
    return findings


def _sent_at_once(plan: SearchPlan, names: list[str], example: Example) -> dict[str, Any]:
    """Send ``example`` to every reload that runs elsewhere (a worker interpreter) before waiting for any."""
    sent = {}
    for name in names:
        submit = getattr(plan.reloaded[name], "submit", None)
        if submit is None:
            continue
        try:
            sent[name] = submit(example.arrays)
        except RoundTripInternalError:
            raise
        except Exception as error:  # it could not even be sent (its worker is gone): its result raises that
            sent[name] = _Raising(error)
    return sent


class _Raising:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def result(self) -> Any:
        raise self.error


def _replay(
    plan: SearchPlan, pending: Mapping[str, ReloadedCall], cache: OutputCache, stats: dict[str, FormatStats],
) -> dict[str, Finding] | _NotDeterministic | _ModelRejectsInput:
    """The targeted, then the pre-drawn examples, in order, without hypothesis: each format's first failure."""
    found: dict[str, Finding] = {}
    seen: set[str] = set()
    for example in [targeted for targeted, _pin in plan.targeted] + list(plan.examples or ()):
        key = example.cache_key()
        if key in seen:  # hypothesis draws some inputs twice: judging one again tells nothing new
            continue
        seen.add(key)
        names = [name for name in pending if name not in found]
        if not names:
            break
        try:
            found.update(_evaluate(plan, names, example, cache, stats))
        except (_NotDeterministic, _ModelRejectsInput) as verdict:
            return verdict
    return found


def _settings(max_examples: int, phases: tuple[Phase, ...]) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=phases,
        print_blob=False,
    )


def draw_examples(strategy: SearchStrategy[Example], max_examples: int, seed: int) -> tuple[Example, ...]:
    """The examples a search with this seed generates (before any shrinking), drawn once.

    Example:
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> from pytest_tfroundtrip.inputs.strategies import example_strategy
        >>> strategy = example_strategy(ModelSignature("x", (InputSpec("x", (None, 2), "float32"),)))
        >>> first, again = draw_examples(strategy, 5, seed=1), draw_examples(strategy, 5, seed=1)
        >>> len(first), [e.cache_key() for e in first] == [e.cache_key() for e in again]
        (5, True)
    """
    drawn: list[Example] = []

    def collect(example: Example) -> None:
        drawn.append(example)

    hypothesis_seed(seed)(_settings(max_examples, (Phase.generate,))(given(strategy)(collect)))()
    return tuple(drawn)


def _one_run(
    plan: SearchPlan,
    pending: Mapping[str, ReloadedCall],
    cache: OutputCache,
    stats: dict[str, FormatStats],
) -> dict[str, Finding] | _NotDeterministic | _ModelRejectsInput:
    failing_seen: set[str] = set()
    last_raised: list[Exception] = []

    def check(example: Example) -> None:
        names = sorted(failing_seen) if failing_seen else list(pending)
        findings = _evaluate(plan, names, example, cache, stats)
        if not findings:
            return
        failing_seen.update(findings)
        error = _FoundFailures(findings)
        last_raised.append(error)
        raise error

    run = _settings(plan.max_examples, (Phase.explicit, Phase.generate, Phase.shrink))(given(plan.strategy)(check))
    for targeted, _pin in reversed(plan.targeted):
        run = hypothesis_example(targeted)(run)
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
    left_out: Mapping[str, np.ndarray],
) -> None:
    """Run the original model again; if it disagrees with itself (where judged), say so."""
    mismatched = [name for name, finding in findings.items() if finding.comparison is not None]
    if not mismatched:
        return
    again = reference(example.arrays)
    strictest = tolerance_for[mismatched[0]]
    comparison = compare_outputs(expected, again, strictest, left_out)
    if not comparison.ok:
        raise _NotDeterministic(comparison, example)


def is_ill_conditioned(
    reference: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]],
    example: Example,
    expected: dict[str, np.ndarray],
    relative_step: float,
    tolerance_for: ToleranceFor,
) -> bool:
    """Does scaling the float inputs by ``1 + relative_step`` alone move the original beyond tolerance?

    Such an input cannot judge a format that reassociates sums (graph and
    TFLite): rounding alone moves the output that far.

    Example:
        >>> import numpy as np
        >>> from pytest_tfroundtrip.results.tolerances import Tolerance
        >>> example = Example({"x": np.array([1e6], "float32")}, {})
        >>> steep = lambda arrays: {"y": np.sin(arrays["x"] * 1e3)}
        >>> flat = lambda arrays: {"y": arrays["x"] * 0}
        >>> exact = lambda output, dtype: Tolerance(1e-6, 1e-6)
        >>> [is_ill_conditioned(f, example, f(example.arrays), 1e-5, exact) for f in (steep, flat)]
        [True, False]
    """
    return _moved_beyond(expected, perturbed_output(reference, example, relative_step), tolerance_for)


def _moved_beyond(
    expected: dict[str, np.ndarray], moved: dict[str, np.ndarray] | None, tolerance_for: ToleranceFor,
    left_out: Mapping[str, np.ndarray] | None = None,
) -> bool:
    return moved is not None and not compare_outputs(expected, moved, tolerance_for, left_out).ok


def perturbed_output(
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
        if is_float_array(array):
            step = max(relative_step, 2 * (machine_epsilon(str(array.dtype)) or 0.0))
            perturbed[name] = (array * (1 + step)).astype(array.dtype)
        else:
            perturbed[name] = array
    if all(perturbed[name] is example.arrays[name] for name in perturbed):
        return None
    return reference(perturbed)
