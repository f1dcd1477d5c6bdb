"""Default tolerances by output dtype and by format family, and overrides.

An element passes when ``|actual - expected| <= atol + rtol * |expected|``.
Graph formats (SavedModel, export) and TFLite reassociate float sums, whose
rounding error grows with the magnitude of the terms, not of the result: an
output near zero computed from large terms can be off by ``eps * |terms|``.
So their default ``atol`` also grows with the output's peak magnitude
(``peak_rtol * max|expected|`` over that output).  A user-given ``atol`` is
used as given.  The figures are calibrated in ``benchmarks`` (docs/tolerances.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pytest_tfroundtrip.errors import RoundTripUsageError

EXACT = "exact"
GRAPH = "graph"
TFLITE = "tflite"
BACKEND = "backend"  # the same .keras file computed by another Keras backend (JAX, PyTorch)


@dataclass(frozen=True)
class Tolerance:
    """How far an output may move: relative, absolute, and relative to its peak.

    Example:
        >>> round(Tolerance(rtol=1e-5, atol=1e-6).allowed(expected=2.0, peak=2.0), 12)
        2.1e-05
    """

    rtol: float
    atol: float
    peak_rtol: float = 0.0

    def allowed(self, expected: float, peak: float) -> float:
        return self.atol + self.peak_rtol * peak + self.rtol * abs(expected)

    def describe(self) -> str:
        text = f"rtol={self.rtol:g}, atol={self.atol:g}"
        return text + (f" + {self.peak_rtol:g}*max|expected|" if self.peak_rtol else "")


# Multiples of the dtype's machine epsilon, per format family, calibrated with
# benchmarks/calibrate_tolerances.py (figures in docs/tolerances.md): exact formats were
# bit-exact on every model measured; graph formats differed by up to 3.0e-5 and
# TFLite by up to 1.5e-3 (EfficientNetB0, float32); real defects measured 0.07+.
_FAMILY_FACTORS: dict[str, tuple[float, float, float]] = {
    #         rtol     atol     peak_rtol  (in units of eps; float32 eps = 1.19e-7)
    EXACT: (8.0, 8.0, 0.0),
    GRAPH: (1024.0, 1024.0, 1024.0),
    TFLITE: (16384.0, 16384.0, 16384.0),
    BACKEND: (1024.0, 1024.0, 1024.0),
}
# float16 and bfloat16 outputs: a graph or another runtime rounds each low-precision step its own way, by a
# few of their (large) epsilons, not by a thousand: 1024 bfloat16 epsilons is 8.0, which passed anything.
_LOW_PRECISION_FACTORS: dict[str, tuple[float, float, float]] = {
    EXACT: (8.0, 8.0, 0.0),
    GRAPH: (8.0, 8.0, 8.0),
    TFLITE: (32.0, 32.0, 32.0),
    BACKEND: (8.0, 8.0, 8.0),
}
_EPSILON = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}


def machine_epsilon(dtype: str) -> float | None:
    """The spacing of floats near 1 for a float dtype name (bfloat16 included); None for other dtypes.

    ``np.finfo`` refuses ml_dtypes' bfloat16, so the project keeps its own table.

    Example:
        >>> machine_epsilon("bfloat16"), machine_epsilon("int32")
        (0.0078125, None)
    """
    return _EPSILON.get(dtype)


def default_tolerance(family: str, dtype: str) -> Tolerance:
    """The default tolerance for one output of ``dtype`` under a format family.

    Integer, bool and string outputs must match exactly.

    Example:
        >>> default_tolerance("exact", "int64")
        Tolerance(rtol=0.0, atol=0.0, peak_rtol=0.0)
    """
    epsilon = machine_epsilon(dtype)
    if epsilon is None:
        return Tolerance(0.0, 0.0)
    factors = _LOW_PRECISION_FACTORS if dtype in ("float16", "bfloat16") else _FAMILY_FACTORS
    rtol, atol, peak = factors[family]
    return Tolerance(rtol * epsilon, atol * epsilon, peak * epsilon)


ToleranceArgument = float | Mapping[str, float] | None


def validate_tolerance_argument(name: str, value: ToleranceArgument) -> None:
    """Reject negative, non-numeric or badly keyed ``rtol``/``atol`` early.

    Example:
        >>> validate_tolerance_argument("rtol", -1.0)
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: rtol must be a number >= 0, got -1.0
    """
    if value is None:
        return
    items = value.items() if isinstance(value, Mapping) else [(None, value)]
    for key, number in items:
        label = name if key is None else f"{name}[{key!r}]"
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number >= 0:
            raise RoundTripUsageError(f"{label} must be a number >= 0, got {number!r}")


def resolve_tolerance(
    family: str, dtype: str, output: str, rtol: ToleranceArgument, atol: ToleranceArgument
) -> Tolerance:
    """The tolerance for one output: defaults, overridden by the user's values.

    ``rtol``/``atol`` may be a number (all outputs) or a dict keyed by output
    name (others keep the default).

    Example:
        >>> resolve_tolerance("exact", "float32", "probs", {"probs": 0.1}, None).rtol
        0.1
    """
    default = default_tolerance(family, dtype)
    user_rtol = _pick(rtol, output)
    user_atol = _pick(atol, output)
    return Tolerance(
        rtol=default.rtol if user_rtol is None else float(user_rtol),
        atol=default.atol if user_atol is None else float(user_atol),
        peak_rtol=default.peak_rtol if user_atol is None else 0.0,
    )


def tolerance_function(family: str, rtol: ToleranceArgument, atol: ToleranceArgument,  # type: ignore[no-untyped-def]
                       compute_dtype: str | None = None):
    """``(output, dtype) -> Tolerance`` for one format family and the user's overrides.

    ``compute_dtype``: the lowest float precision the model computes in (``float16``, ``bfloat16``).  A graph
    or another runtime rounds each of those steps its own way, so a float32 output of a mixed-precision model
    is judged at that precision there; the exact formats run the same code and keep the output's own.

    Example:
        >>> tolerance_function("graph", None, None, "bfloat16")("y", "float32").rtol == default_tolerance("graph", "bfloat16").rtol
        True
    """
    def judged_at(dtype: str) -> str:
        low = compute_dtype in ("float16", "bfloat16") and family != EXACT and dtype in ("float32", "float64")
        return compute_dtype if low else dtype  # type: ignore[return-value]

    return lambda output, dtype: resolve_tolerance(family, judged_at(dtype), output, rtol, atol)


def _pick(value: ToleranceArgument, output: str) -> float | None:
    if isinstance(value, Mapping):
        return value.get(output)
    return value


def check_override_names(name: str, value: ToleranceArgument, outputs: list[str]) -> None:
    """Per-output overrides must name real outputs."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(outputs))
        if unknown:
            raise RoundTripUsageError(f"{name} names unknown outputs {unknown}; the model's outputs are {outputs}")


# Inputs are perturbed by this fraction of a family's rtol to detect ill-conditioning.
# Measured: randomly initialised EfficientNetV2B0 (10 classes) on 1e5-scale pixels: a
# SavedModel differs by 6.1e-4 (allowance 2.4e-4); scaling the input by rtol/16 moves
# the original itself by 2.0e-4 (not caught), by rtol/8 1.1e-3 (caught).
CONDITIONING_FRACTION = 1 / 8


def conditioning_step(family: str) -> float | None:
    """Relative input change that probes ill-conditioning for a format family.

    ``None`` for exact formats: they must reproduce outputs bit for bit.

    Example:
        >>> conditioning_step("exact") is None
        True
    """
    if family == EXACT:
        return None
    return _FAMILY_FACTORS[family][0] * _EPSILON["float32"] * CONDITIONING_FRACTION
