"""Frozen result objects returned by :func:`check_roundtrip`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.results.compare import Comparison
from pytest_tfroundtrip.results.quantized import QuantizedFigures
from pytest_tfroundtrip.results.weights import WeightDifference

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"

SAVE = "save"
LOAD = "load"
CALL = "call"
MISMATCH = "mismatch"
WEIGHTS = "weights"
QUANTIZED = "quantized"


@dataclass(frozen=True)
class FormatFailure:
    """Why one format failed: at which stage, on which input, by how much."""

    stage: str  # save | load | call | mismatch | weights | quantized
    message: str
    comparison: Comparison | None = None
    input_summary: str | None = None
    input_file: Path | None = None
    weights: WeightDifference | None = None
    first_differing_layer: str | None = None
    reproduction: Path | None = None  # a script reproducing it with plain calls
    reproduction_code: str | None = None


@dataclass(frozen=True)
class FormatResult:
    """The outcome for one format.

    Example:
        >>> FormatResult("keras", PASSED, examples=5).passed
        True
    """

    format: str
    status: str
    examples: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    tolerance_used: float = 0.0  # the largest error over what its tolerance allowed (0: bit for bit; above 1: failed)
    save_seconds: float = 0.0
    load_seconds: float = 0.0
    compare_seconds: float = 0.0
    ill_conditioned: int = 0
    nonfinite_not_judged: int = 0
    padding_not_judged: int = 0  # output values at padded positions, left out of every comparison
    example_errors: tuple[tuple[float, float, float], ...] = ()  # per passing example: max abs, max rel, tolerance used
    artifact: Path | None = None
    failure: FormatFailure | None = None
    skip_reason: str | None = None
    warnings: tuple[str, ...] = ()
    quantization: str | None = None
    quantized: tuple[QuantizedFigures, ...] = ()
    not_applicable: bool = False  # skipped because the format cannot take this model (not because it is missing here)
    reloaded_in: str = "process"  # "fresh": loaded and called in a worker interpreter that did not save it
    saved_from_twin: bool = False  # converted in a worker from the .keras reload proved identical (checks/twin_conversions.py)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def label(self) -> str:
        """The format's name, with the quantization mode when it was quantized (``litert[int8]``)."""
        return self.format if self.quantization is None else f"{self.format}[{self.quantization}]"


@dataclass(frozen=True)
class RoundTripReport:
    """Everything one check found, per format, in the registry's order.

    Example:
        >>> report = RoundTripReport((FormatResult("keras", PASSED, examples=3),), examples=3)
        >>> report.passed, report.formats_passed
        (True, ('keras',))
    """

    results: tuple[FormatResult, ...]
    examples: int
    artifacts_dir: Path | None = None
    input_description: str = ""
    nondeterminism: str | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> tuple[FormatResult, ...]:
        return tuple(r for r in self.results if r.status == FAILED)

    @property
    def passed(self) -> bool:
        return not self.failed and self.nondeterminism is None

    @property
    def formats_passed(self) -> tuple[str, ...]:
        return tuple(r.format for r in self.results if r.status == PASSED)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Deployment risks of formats that survived, as ``[format] text``."""
        return tuple(f"[{r.format}] {text}" for r in self.results for text in r.warnings)

    def result_for(self, name: str) -> FormatResult:
        return result_named(self.results, name)


def result_named(results: tuple[Any, ...], name: str) -> Any:
    """The result whose ``format`` is ``name``; a KeyError listing the formats otherwise."""
    for result in results:
        if result.format == name:
            return result
    raise KeyError(f"no result for format {name!r}; formats in this report: {[r.format for r in results]}")
