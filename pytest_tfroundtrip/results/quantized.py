"""Judge a quantized artifact by what quantization is meant to keep, not bit for bit.

Per output, over every judged input: the error relative to the output's
range (the largest ``|quantized - original|`` over ``max - min`` of the
original), the Pearson correlation with the original, and, for outputs whose
last axis holds scores (rank >= 2, at least 2 entries), how often the argmax
agrees.  Rows whose two best original scores are closer than twice the
output's mean absolute error are near-ties that typical quantization noise
flips; they are counted, not judged.  An output whose spread over all inputs (``max - min``) is below
``min_relative_spread`` of its peak magnitude is constant at the mode's
precision (an untrained classifier's near-uniform softmax): nothing
quantized can follow it, so it is reported and not judged.  Integer and bool outputs are judged by the fraction of equal
elements, against the argmax threshold.  Pure NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.inputs.values import is_float_array


@dataclass(frozen=True)
class QuantizedThresholds:
    """What a quantized output must keep (each check's defaults depend on the quantization mode).

    Example:
        >>> QuantizedThresholds(0.9, 0.25, 0.99).describe()
        'argmax agreement >= 0.9, range error <= 0.25, correlation >= 0.99'
    """

    min_argmax_agreement: float = 0.95
    max_range_error: float = 0.05
    min_correlation: float = 0.999
    min_relative_spread: float = 0.125

    def __post_init__(self) -> None:
        for name in ("min_argmax_agreement", "max_range_error", "min_correlation", "min_relative_spread"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise RoundTripUsageError(f"QuantizedThresholds.{name} must be a number, got {value!r}")

    def describe(self) -> str:
        return (f"argmax agreement >= {self.min_argmax_agreement:g}, range error <= {self.max_range_error:g}, "
                f"correlation >= {self.min_correlation:g}")


@dataclass(frozen=True)
class QuantizedFigures:
    """One output's figures; ``None`` where a figure does not apply (see the module docstring)."""

    output: str
    elements: int
    range_error: float | None
    correlation: float | None
    argmax_agreement: float | None = None
    argmax_rows: int = 0
    near_ties: int = 0
    problems: tuple[str, ...] = ()
    not_judged: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        """One line of figures, e.g. for the report of a passing check.

        Example:
            >>> QuantizedFigures("y", 6, 0.0213, 0.99912, 1.0, 3).describe()
            "output 'y': range error 0.0213, correlation 0.99912, argmax agreement 1 (3 rows)"
        """
        if self.not_judged is not None:
            return f"output {self.output!r}: not judged ({self.not_judged})"
        parts = [f"range error {_figure(self.range_error)}", f"correlation {_figure(self.correlation)}"]
        if self.argmax_agreement is not None or self.argmax_rows or self.near_ties:
            ties = f", {self.near_ties} near-ties not judged" if self.near_ties else ""
            parts.append(f"argmax agreement {_figure(self.argmax_agreement)} ({self.argmax_rows} rows{ties})")
        return f"output {self.output!r}: " + ", ".join(parts)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def quantized_figures(
    expected: Sequence[Mapping[str, np.ndarray]], actual: Sequence[Mapping[str, np.ndarray]],
    thresholds: QuantizedThresholds,
) -> tuple[QuantizedFigures, ...]:
    """Figures per output over all examples (``expected[i]``/``actual[i]`` are one example's flat outputs).

    Example:
        >>> import numpy as np
        >>> original = [{"y": np.array([[0.0, 1.0], [1.0, 0.0]])}]
        >>> quantized = [{"y": np.array([[0.02, 0.97], [0.99, 0.01]])}]
        >>> figures = quantized_figures(original, quantized, QuantizedThresholds(max_range_error=0.1))
        >>> figures[0].ok, round(figures[0].range_error, 3), figures[0].argmax_agreement
        (True, 0.03, 1.0)
    """
    names = list(expected[0]) if expected else []
    return tuple(_output_figures(name, [np.asarray(e[name]) for e in expected], [np.asarray(a[name]) for a in actual],
                                 thresholds) for name in names)


def _output_figures(
    name: str, wants: list[np.ndarray], gots: list[np.ndarray], thresholds: QuantizedThresholds,
) -> QuantizedFigures:
    elements = sum(w.size for w in wants)
    for want, got in zip(wants, gots):
        if want.shape != got.shape:
            return QuantizedFigures(name, elements, None, None, problems=(f"shape {got.shape}, expected {want.shape}",))
    want = np.concatenate([w.ravel() for w in wants])
    got = np.concatenate([g.ravel() for g in gots])
    if not is_float_array(want):
        agreement = float(np.mean(want == got)) if want.size else None
        unequal = () if agreement is None or agreement >= thresholds.min_argmax_agreement else (
            f"{agreement:.4g} of the elements equal the original's (at least {thresholds.min_argmax_agreement:g} required)",)
        return QuantizedFigures(name, elements, None, None, agreement, want.size, problems=unequal)
    want64, got64 = want.astype(np.float64), got.astype(np.float64)
    finite = np.isfinite(want64)
    if not finite.any():
        return QuantizedFigures(name, elements, None, None)
    span = float(want64[finite].max() - want64[finite].min())
    peak = float(np.abs(want64[finite]).max())
    if span < thresholds.min_relative_spread * peak:
        return QuantizedFigures(name, elements, None, None, not_judged=(
            f"it spreads over {span:.3g} at magnitude {peak:.3g}, less than {thresholds.min_relative_spread:g} of it: "
            "constant at this precision"))
    scale = span if span > 0 else max(float(np.abs(want64[finite]).max()), float(np.finfo(np.float32).tiny))
    with np.errstate(invalid="ignore"):
        error = np.abs(got64 - want64)
    range_error = float(np.nan_to_num(error[finite], nan=np.inf).max()) / scale
    correlation = _correlation(want64[finite], got64[finite])
    agreement, rows, ties = _argmax_agreement(wants, gots, 2 * float(np.nanmean(error[finite])))
    problems: list[str] = []
    if range_error > thresholds.max_range_error:
        problems.append(f"range error {range_error:.4g} > {thresholds.max_range_error:g} "
                        f"(largest error {range_error * scale:.4g} over the output's range {span:.4g})")
    if correlation is not None and correlation < thresholds.min_correlation:
        problems.append(f"correlation {correlation:.4g} < {thresholds.min_correlation:g}")
    if agreement is not None and agreement < thresholds.min_argmax_agreement:
        problems.append(f"argmax agreement {agreement:.4g} < {thresholds.min_argmax_agreement:g} ({rows} rows)")
    return QuantizedFigures(name, elements, range_error, correlation, agreement, rows, ties, tuple(problems))


def _correlation(want: np.ndarray, got: np.ndarray) -> float | None:
    """Pearson correlation; None when the original output is constant (nothing to correlate with)."""
    if want.size < 2 or float(np.std(want)) == 0.0:
        return None
    if not np.all(np.isfinite(got)) or float(np.std(got)) == 0.0:
        return 0.0
    return float(np.corrcoef(want, got)[0, 1])


def _argmax_agreement(wants: list[np.ndarray], gots: list[np.ndarray], tie_margin: float) -> tuple[float | None, int, int]:
    """(agreement over decisive rows, decisive rows, near-ties) along the last axis; (None, 0, 0) if not scores."""
    if wants[0].ndim < 2 or wants[0].shape[-1] < 2 or len({w.shape[-1] for w in wants}) != 1:
        return None, 0, 0
    rows_want = np.concatenate([w.reshape(-1, w.shape[-1]) for w in wants]).astype(np.float64)
    rows_got = np.concatenate([g.reshape(-1, g.shape[-1]) for g in gots]).astype(np.float64)
    usable = np.isfinite(rows_want).all(axis=1)
    rows_want, rows_got = rows_want[usable], rows_got[usable]
    top_two = np.sort(rows_want, axis=1)[:, -2:]
    decisive = (top_two[:, 1] - top_two[:, 0]) > tie_margin
    ties = int((~decisive).sum())
    if not decisive.any():
        return None, 0, ties
    agree = np.argmax(rows_want[decisive], axis=1) == np.argmax(rows_got[decisive], axis=1)
    return float(agree.mean()), int(decisive.sum()), ties


def figures_text(figures: Sequence[QuantizedFigures], thresholds: QuantizedThresholds) -> str:
    """Every output's figures and, for failing ones, what they missed.

    Example:
        >>> print(figures_text([QuantizedFigures("y", 4, 0.5, 0.2, problems=("range error 0.5 > 0.1",))],
        ...                    QuantizedThresholds(0.9, 0.1, 0.98)))
        output 'y': range error 0.5, correlation 0.2
          below the thresholds: range error 0.5 > 0.1
        (thresholds: argmax agreement >= 0.9, range error <= 0.1, correlation >= 0.98)
    """
    lines = []
    for figure in figures:
        lines.append(figure.describe())
        if figure.problems:
            lines.append("  below the thresholds: " + "; ".join(figure.problems))
    lines.append(f"(thresholds: {thresholds.describe()})")
    return "\n".join(lines)
