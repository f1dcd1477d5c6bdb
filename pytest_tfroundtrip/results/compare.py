"""Compare a reloaded artifact's outputs with the original model's.

Pure data in (flat ``{output name: array}`` dicts), a frozen result out.
Checks run in order: structure, dtype, shape, values.  NaN equals NaN and
infinities match when their signs do.  Positions in ``left_out`` (padding, see
:mod:`~pytest_tfroundtrip.results.padding`) are not judged and are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from pytest_tfroundtrip.inputs.values import is_float_array
from pytest_tfroundtrip.results.tolerances import Tolerance

MAX_TABLE_ROWS = 10

STRUCTURE = "structure"
DTYPE = "dtype"
SHAPE = "shape"
VALUES = "values"


@dataclass(frozen=True)
class Difference:
    """One differing element: where it is, what was expected and obtained."""

    index: tuple[int, ...]
    expected: object
    actual: object
    abs_error: float


@dataclass(frozen=True)
class OutputComparison:
    """How one output compared.  ``problem`` is ``None`` when it matched.

    Example:
        >>> import numpy as np
        >>> result = compare_arrays("y", np.ones(3), np.ones(3), Tolerance(0, 0))
        >>> result.problem is None, result.elements
        (True, 3)
    """

    output: str
    problem: str | None
    detail: str = ""
    elements: int = 0
    mismatched: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst: Difference | None = None
    table: tuple[Difference, ...] = ()
    tolerance: Tolerance | None = None
    left_out: int = 0  # values at padded positions, not judged
    tolerance_used: float = 0.0  # the largest error as a fraction of what the tolerance allowed there (1: at the limit)

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Comparison:
    """All outputs of one call compared."""

    outputs: tuple[OutputComparison, ...]

    @property
    def ok(self) -> bool:
        return all(output.ok for output in self.outputs)

    @property
    def failures(self) -> tuple[OutputComparison, ...]:
        return tuple(output for output in self.outputs if not output.ok)

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=0.0)

    @property
    def left_out(self) -> int:
        return sum(o.left_out for o in self.outputs)

    @property
    def tolerance_used(self) -> float:
        """How close the outputs came to failing: the largest error over its allowance (0: bit for bit, 1: at the limit)."""
        return max((o.tolerance_used for o in self.outputs), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((o.max_rel_error for o in self.outputs), default=0.0)


def compare_outputs(
    expected: Mapping[str, np.ndarray],
    actual: Mapping[str, np.ndarray],
    tolerance_for: Callable[[str, str], Tolerance],
    left_out: Mapping[str, np.ndarray] | None = None,
) -> Comparison:
    """Compare flat output dicts; ``tolerance_for(name, dtype)`` gives tolerances.

    ``left_out`` maps an output name to a boolean array of its shape, true
    where a value is not judged (padding).

    Example:
        >>> import numpy as np
        >>> same = compare_outputs({"y": np.zeros(2)}, {"y": np.zeros(2)}, lambda n, d: Tolerance(0, 0))
        >>> same.ok
        True
    """
    if set(expected) != set(actual):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        detail = f"expected outputs {sorted(expected)}, got {sorted(actual)}"
        detail += f" (missing {missing})" if missing else ""
        detail += f" (unexpected {extra})" if extra else ""
        return Comparison((OutputComparison("(all outputs)", STRUCTURE, detail),))
    results = []
    for name in expected:
        want, got = np.asarray(expected[name]), np.asarray(actual[name])
        skip = None if left_out is None else left_out.get(name)
        results.append(compare_arrays(name, want, got, tolerance_for(name, _dtype_name(want)), skip))
    return Comparison(tuple(results))


def _dtype_name(array: np.ndarray) -> str:
    return "string" if array.dtype == object or array.dtype.kind in "US" else str(array.dtype)


def compare_arrays(
    name: str, expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance, left_out: np.ndarray | None = None,
) -> OutputComparison:
    """Compare one output: dtype, then shape, then values within ``tolerance`` where ``left_out`` is false.

    Example:
        >>> import numpy as np
        >>> padded = np.array([False, True])
        >>> compare_arrays("y", np.zeros(2), np.array([0.0, 9.0]), Tolerance(0, 0), padded).left_out
        1
    """
    if _dtype_name(expected) != _dtype_name(actual):
        return OutputComparison(name, DTYPE, f"expected dtype {_dtype_name(expected)}, got {_dtype_name(actual)}")
    if expected.shape != actual.shape:
        return OutputComparison(name, SHAPE, f"expected shape {expected.shape}, got {actual.shape}")
    judged = None if left_out is None or np.shape(left_out) != expected.shape else ~np.asarray(left_out, bool)
    if not is_float_array(expected):
        result = _compare_exact(name, expected, actual, judged)
    else:
        result = _compare_floats(name, expected, actual, tolerance, judged)
    return result if judged is None else replace(result, left_out=int(expected.size - np.count_nonzero(judged)))


def _compare_exact(name: str, expected: np.ndarray, actual: np.ndarray, judged: np.ndarray | None) -> OutputComparison:
    bad = expected != actual
    if judged is not None:
        bad &= judged
    if not np.any(bad):
        return OutputComparison(name, None, elements=expected.size)
    indices = np.argwhere(bad)
    table = tuple(Difference(tuple(map(int, i)), expected[tuple(i)], actual[tuple(i)], float("nan")) for i in indices[:MAX_TABLE_ROWS])
    return OutputComparison(
        name, VALUES, "values differ (exact comparison for this dtype)", expected.size, int(bad.sum()),
        float("nan"), float("nan"), table[0], table, Tolerance(0.0, 0.0), tolerance_used=float("inf"),
    )


def _compare_floats(
    name: str, expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance, judged: np.ndarray | None,
) -> OutputComparison:
    want = expected.astype(np.float64)
    got = actual.astype(np.float64)
    if judged is not None:  # a value not judged counts as equal, and its size does not set the peak
        want, got = np.where(judged, want, 0.0), np.where(judged, got, 0.0)
    both_nan = np.isnan(want) & np.isnan(got)
    same_inf = np.isinf(want) & (want == got)
    special = both_nan | same_inf
    finite_want = np.where(np.isfinite(want), np.abs(want), 0.0)
    peak = float(finite_want.max()) if want.size else 0.0
    unmatched_special = ~special & ~(np.isfinite(want) & np.isfinite(got))
    with np.errstate(invalid="ignore", over="ignore"):
        abs_error = np.where(special, 0.0, np.abs(got - want))
        abs_error = np.where(unmatched_special, np.inf, abs_error)
        rel_error = np.where(abs_error == 0, 0.0, abs_error / np.maximum(finite_want, np.finfo(np.float64).tiny))
    allowed = tolerance.atol + tolerance.peak_rtol * peak + tolerance.rtol * finite_want
    bad = unmatched_special | (abs_error > allowed)
    max_abs = float(abs_error.max()) if abs_error.size else 0.0
    max_rel = float(rel_error.max()) if rel_error.size else 0.0
    used = _tolerance_used(abs_error, allowed)
    if not np.any(bad):
        return OutputComparison(name, None, elements=expected.size, max_abs_error=max_abs, max_rel_error=max_rel,
                                tolerance=tolerance, tolerance_used=used)
    order = np.argsort(-np.where(bad, abs_error, -1.0), axis=None, kind="stable")[: min(MAX_TABLE_ROWS, int(bad.sum()))]
    table = tuple(
        Difference(tuple(int(i) for i in np.unravel_index(flat, expected.shape)),
                   expected.reshape(-1)[flat].item(), actual.reshape(-1)[flat].item(), float(abs_error.reshape(-1)[flat]))
        for flat in order
    )
    return OutputComparison(
        name, VALUES, "values differ beyond tolerance", expected.size, int(bad.sum()),
        max_abs, max_rel, table[0], table, tolerance, tolerance_used=used,
    )


def _tolerance_used(abs_error: np.ndarray, allowed: np.ndarray) -> float:
    """The largest ``abs_error / allowed`` over the elements: 0 when none differs, infinity when one differs where
    nothing was allowed.  A raw absolute error says nothing without the magnitudes (4e+03 passes on outputs of 1e8):
    this fraction is how close the output came to failing."""
    if not abs_error.size:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(abs_error == 0, 0.0, abs_error / np.broadcast_to(allowed, abs_error.shape))
    return float(ratio.max())
