"""Quantized TFLite/LiteRT deployments, judged by what quantization keeps.

A quantized model is not the same function as the original, so it is not
searched for the first element beyond a float tolerance: it is run on a set
of inputs typical of real data (float inputs standard-normal, other inputs
from their inferred domains, or the user's ``inputs=``), and each output's
range error, correlation and argmax agreement over all of them are compared
with :class:`~pytest_tfroundtrip.results.quantized.QuantizedThresholds`.
Full-integer ``int8`` calibrates on inputs drawn the same way with another
seed, so the model is never judged on the inputs it was calibrated on.
"""

from __future__ import annotations

import gc
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pytest_tfroundtrip.checks.one_format import COLLECT_FROM_BYTES, FormatRun, save_and_load, save_example
from pytest_tfroundtrip.checks.search import draw_examples
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import RoundTripFormat
from pytest_tfroundtrip.formats.quantization import (
    DYNAMIC_INT8,
    FLOAT16,
    INT8,
    MODES,
    QuantizedConversion,
    validate_mode,
)
from pytest_tfroundtrip.inputs.strategies import (
    MAX_UNKNOWN_DIM,
    Example,
    Pin,
    axis_bounds,
    axis_floors,
    example_strategy,
    fit_size,
)
from pytest_tfroundtrip.results.quantized import QuantizedThresholds, figures_text, quantized_figures
from pytest_tfroundtrip.results.report import CALL, FAILED, QUANTIZED, FormatFailure, FormatResult

QUANTIZABLE_FORMATS = ("tflite", "litert")
TYPICAL_VALUES = Pin(family="normal", scale=1.0)

# Measured with benchmarks/quantization.py (docs/quantized.md): sound trained models reached, at worst,
# range error 2e-4 / 0.005 / 0.149, correlation 1.0 / 0.99997 / 0.9992 and argmax agreement
# 1.0 / 0.991 / 0.985 (float16 / dynamic_int8 / int8); the defaults leave room above those.
# An output spreading over less than 16 steps of the mode's resolution (2**-10 of its peak for
# float16, 1/127 for int8) is not judged: untrained keras.applications softmaxes spread over 1e-6.
DEFAULT_THRESHOLDS = {
    FLOAT16: QuantizedThresholds(0.99, 0.01, 0.9999, min_relative_spread=16 * 2**-10),
    DYNAMIC_INT8: QuantizedThresholds(0.95, 0.05, 0.999, min_relative_spread=16 / 127),
    INT8: QuantizedThresholds(0.90, 0.25, 0.99, min_relative_spread=16 / 127),
}


@dataclass(frozen=True)
class Quantization:
    """Check the TFLite/LiteRT formats quantized with ``mode`` (``"dynamic_int8"``, ``"float16"`` or ``"int8"``).

    ``thresholds`` default to the mode's :data:`DEFAULT_THRESHOLDS`;
    ``calibration_examples`` drawn inputs calibrate ``int8`` activation ranges.

    Example:
        >>> Quantization("int8").thresholds.min_correlation
        0.99
        >>> Quantization("int8", QuantizedThresholds(min_correlation=0.95)).thresholds.min_correlation
        0.95
    """

    mode: str
    thresholds: QuantizedThresholds = None  # type: ignore[assignment]  # None: the mode's defaults
    calibration_examples: int = 100

    def __post_init__(self) -> None:
        validate_mode(self.mode)
        if self.thresholds is None:
            object.__setattr__(self, "thresholds", DEFAULT_THRESHOLDS[self.mode])
        if not isinstance(self.thresholds, QuantizedThresholds):
            raise RoundTripUsageError(f"thresholds must be a QuantizedThresholds, got {self.thresholds!r}")
        if isinstance(self.calibration_examples, bool) or not isinstance(self.calibration_examples, int) \
                or self.calibration_examples < 1:
            raise RoundTripUsageError(f"calibration_examples must be a whole number >= 1, got {self.calibration_examples!r}")


def resolve_quantization(value: object, requested: list[str] | None) -> Quantization | None:
    """The ``quantization=`` argument as a :class:`Quantization` (None: no quantization).

    With quantization, naming a format other than :data:`QUANTIZABLE_FORMATS` is an error.

    Example:
        >>> resolve_quantization("float16", None).mode
        'float16'
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value not in MODES:
            raise RoundTripUsageError(f"quantization must be one of {list(MODES)} or a Quantization, got {value!r}")
        value = Quantization(value)
    if not isinstance(value, Quantization):
        raise RoundTripUsageError(
            f"quantization must be one of {list(MODES)} or a Quantization, got {type(value).__name__}: {value!r}")
    others = [name for name in requested or () if name not in QUANTIZABLE_FORMATS]
    if others:
        raise RoundTripUsageError(
            f"quantization applies to the formats {list(QUANTIZABLE_FORMATS)}, not {others}; "
            "check the other formats in a separate call without quantization=")
    return value


@dataclass(frozen=True)
class QuantizedRun:
    """One quantized check's settings, conversion and evaluation inputs (drawn once for every format)."""

    quantization: Quantization
    conversion: QuantizedConversion
    examples: tuple[Example, ...]


def prepare_quantized_run(quantization: Quantization, run: FormatRun, overrides: Mapping[str, Any]) -> QuantizedRun:
    """Draw the evaluation inputs (and, for ``int8``, the calibration inputs, with another seed)."""
    strategy = example_strategy(run.subject.signature, overrides, pin=TYPICAL_VALUES)
    seed = run.search.seed
    examples = draw_examples(strategy, run.search.max_examples, seed)
    calibration: tuple[dict[str, np.ndarray], ...] = ()
    if quantization.mode == INT8:
        calibration = _calibration_samples(run, overrides, quantization.calibration_examples, (seed + 1) % 2**32)
    return QuantizedRun(quantization, QuantizedConversion(quantization.mode, calibration), examples)


def _calibration_samples(run: FormatRun, overrides: dict[str, Any], count: int, seed: int) -> tuple[dict[str, np.ndarray], ...]:
    """Up to ``count`` samples of one shape (batch 1, unknown dimensions pinned), keyed by input name."""
    signature = run.subject.signature
    dims = tuple((axis, fit_size(MAX_UNKNOWN_DIM, floor, bound))
                 for axis, (floor, bound) in enumerate(zip(axis_floors(signature), axis_bounds(signature)))
                 if axis and any(axis < len(spec.shape) and spec.shape[axis] is None for spec in signature.specs))
    pin = replace(TYPICAL_VALUES, batch=1, dims=dims)
    drawn = draw_examples(example_strategy(signature, overrides, pin=pin), count, seed)
    shapes = [tuple(np.shape(example.arrays[name]) for name in signature.names) for example in drawn]
    return tuple(dict(example.arrays) for example, shape in zip(drawn, shapes) if shape == shapes[0])


def check_quantized_format(fmt: RoundTripFormat, run: FormatRun, quantized: QuantizedRun) -> FormatResult:
    """Convert ``fmt`` quantized, run it on the evaluation inputs, and judge its figures.

    The figures are on the result whether it passes or fails; a passing
    format's files are deleted unless ``run.keep_artifacts``.
    """
    adapter = fmt.quantized(quantized.conversion)  # type: ignore[attr-defined]
    directory = run.workdir / fmt.name
    loaded = save_and_load(adapter, run.subject, directory)
    label = quantized.quantization.mode
    if isinstance(loaded, FormatResult):
        return replace(loaded, quantization=label)
    call, result = loaded
    result = replace(result, quantization=label)
    expected: list[dict[str, np.ndarray]] = []
    actual: list[dict[str, np.ndarray]] = []
    try:
        for example in quantized.examples:
            want = _original_outputs(run, example)
            try:
                actual.append(run.subject.flat_outputs(call(example.arrays)))
            except Exception as error:
                input_file = save_example(example, run.workdir / f"failing-input-{fmt.name}.npz")
                return replace(result, status=FAILED, examples=len(actual), failure=FormatFailure(
                    CALL, f"{type(error).__name__}: {error}", None, example.summary(), input_file))
            expected.append(want)
    finally:
        del call, loaded
        if run.weight_bytes >= COLLECT_FROM_BYTES:  # the same release policy as the float formats
            gc.collect()
    thresholds = quantized.quantization.thresholds
    figures = quantized_figures(expected, actual, thresholds)
    result = replace(result, examples=len(actual), quantized=figures,
                     max_abs_error=_max_abs_error(expected, actual))
    if not all(figure.ok for figure in figures):
        return replace(result, status=FAILED, failure=FormatFailure(QUANTIZED, figures_text(figures, thresholds)))
    if not run.keep_artifacts:
        shutil.rmtree(directory, ignore_errors=True)
        result = replace(result, artifact=None)
    return result


def _original_outputs(run: FormatRun, example: Example) -> dict[str, np.ndarray]:
    return run.search.cache.get_or_compute(example.cache_key(), lambda: run.search.reference(example.arrays))


def _max_abs_error(expected: list[dict[str, np.ndarray]], actual: list[dict[str, np.ndarray]]) -> float:
    worst = 0.0
    for want, got in zip(expected, actual):
        for name, value in want.items():
            if np.asarray(value).dtype.kind == "f" and np.shape(got.get(name)) == np.shape(value) and np.size(value):
                with np.errstate(invalid="ignore"):
                    worst = max(worst, float(np.nanmax(np.abs(np.asarray(got[name], np.float64) - value))))
    return worst
