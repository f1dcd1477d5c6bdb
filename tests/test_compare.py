"""Comparison: structure, then dtype, then shape, then values; NaN and inf rules."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_tfroundtrip.results.compare import MAX_TABLE_ROWS, compare_arrays, compare_outputs
from pytest_tfroundtrip.results.tolerances import Tolerance, default_tolerance, resolve_tolerance

EXACT = Tolerance(0.0, 0.0)


def exact(name, dtype):
    return EXACT


def test_structure_is_checked_first():
    result = compare_outputs({"a": np.zeros(2), "b": np.zeros(2)}, {"a": np.zeros(3, "int32")}, exact)
    assert result.failures[0].problem == "structure"
    assert "missing ['b']" in result.failures[0].detail


def test_dtype_before_shape_before_values():
    assert compare_arrays("y", np.zeros(2, "float32"), np.ones(3, "float64"), EXACT).problem == "dtype"
    assert compare_arrays("y", np.zeros(2, "float32"), np.ones(3, "float32"), EXACT).problem == "shape"
    assert compare_arrays("y", np.zeros(2, "float32"), np.ones(2, "float32"), EXACT).problem == "values"


def test_nan_equals_nan_and_infinities_match_by_sign():
    expected = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert compare_arrays("y", expected, expected.copy(), EXACT).ok
    flipped = np.array([np.nan, -np.inf, -np.inf, 1.0])
    result = compare_arrays("y", expected, flipped, Tolerance(1.0, 1.0))
    assert not result.ok and result.mismatched == 1 and result.worst.index == (1,)
    result = compare_arrays("y", np.array([1.0]), np.array([np.nan]), Tolerance(1.0, 1.0))
    assert not result.ok and result.max_abs_error == np.inf


def test_counts_errors_worst_element_and_capped_table():
    expected = np.zeros((4, 10), "float32")
    actual = expected.copy()
    actual[1, 3] = 0.5
    actual[2:, :] = 0.01
    result = compare_arrays("probs", expected, actual, Tolerance(0.0, 1e-3))
    assert (result.mismatched, result.elements) == (21, 40)
    assert result.worst.index == (1, 3) and result.worst.actual == 0.5
    assert result.max_abs_error == pytest.approx(0.5)
    assert len(result.table) == MAX_TABLE_ROWS


def test_integer_and_string_outputs_compare_exactly():
    assert not compare_arrays("ids", np.array([1, 2]), np.array([1, 3]), Tolerance(10.0, 10.0)).ok
    words = np.array(["a", "b"], dtype=object)
    assert compare_arrays("w", words, words.copy(), EXACT).ok


def test_tolerance_within_and_beyond():
    expected = np.array([100.0, 0.0])
    assert compare_arrays("y", expected, np.array([100.0005, 0.0]), Tolerance(1e-5, 0.0)).ok
    assert not compare_arrays("y", expected, np.array([100.002, 0.0]), Tolerance(1e-5, 0.0)).ok


def test_peak_relative_allowance_covers_cancellation_near_zero():
    expected = np.array([1e4, 1e-3])  # second element: a near-cancelled sum of large terms
    actual = np.array([1e4, 2e-3])
    assert not compare_arrays("y", expected, actual, Tolerance(1e-6, 1e-6)).ok
    assert compare_arrays("y", expected, actual, Tolerance(1e-6, 1e-6, peak_rtol=1e-6)).ok


def test_default_tolerances_scale_with_dtype_and_format_family():
    exact32 = default_tolerance("exact", "float32")
    graph32 = default_tolerance("graph", "float32")
    lite32 = default_tolerance("tflite", "float32")
    assert exact32.rtol < graph32.rtol < lite32.rtol
    assert exact32.peak_rtol == 0.0 < graph32.peak_rtol
    assert default_tolerance("exact", "float16").rtol > exact32.rtol > default_tolerance("exact", "float64").rtol
    assert default_tolerance("tflite", "int32") == Tolerance(0.0, 0.0)


def test_user_tolerances_override_defaults_per_output():
    tolerance = resolve_tolerance("graph", "float32", "score", {"score": 0.1}, {"logits": 0.5})
    assert tolerance.rtol == 0.1
    assert tolerance.atol == default_tolerance("graph", "float32").atol
    explicit = resolve_tolerance("graph", "float32", "logits", None, {"logits": 0.5})
    assert explicit.atol == 0.5 and explicit.peak_rtol == 0.0  # a given atol is used as given


def test_tolerance_used_is_the_largest_error_over_its_allowance():
    """4e+03 off on an output of 1e8 is 4% of an allowance of 1e5: how close a pass came to failing."""
    tolerance = Tolerance(rtol=1e-3, atol=0.0)
    expected = np.array([1e8, 1.0, 0.0])
    close = compare_arrays("y", expected, np.array([1e8 + 4e3, 1.0, 0.0]), tolerance)
    assert close.ok and close.max_abs_error == 4e3 and close.tolerance_used == pytest.approx(4e3 / 1e5)
    small = compare_arrays("y", expected, np.array([1e8, 1.0009, 0.0]), tolerance)  # 9e-4 off where 1e-3 is allowed
    assert small.ok and small.tolerance_used == pytest.approx(0.9) and small.max_abs_error < close.max_abs_error
    beyond = compare_arrays("y", expected, np.array([1e8, 1.0, 0.5]), tolerance)  # 0.5 where nothing is allowed
    assert not beyond.ok and beyond.tolerance_used == float("inf")
    assert compare_arrays("y", expected, expected.copy(), tolerance).tolerance_used == 0.0
    both = compare_outputs({"a": expected, "b": expected}, {"a": expected, "b": small_actual(expected)},
                           lambda name, dtype: tolerance)
    assert both.ok and both.tolerance_used == pytest.approx(0.5)  # the worst output's


def small_actual(expected: np.ndarray) -> np.ndarray:
    return expected + np.array([0.0, 5e-4, 0.0])
