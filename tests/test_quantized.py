"""Quantized TFLite/LiteRT deployments, judged by argmax agreement, range error and correlation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from pytest_tfroundtrip import RoundTripError, RoundTripUsageError, check_roundtrip
from pytest_tfroundtrip.checks.quantized import Quantization
from pytest_tfroundtrip.results.failure_text import report_text
from pytest_tfroundtrip.results.quantized import QuantizedThresholds
from tests import models


@pytest.fixture(scope="module")
def trained_convnet():
    return models.trained_convnet()


@pytest.mark.parametrize("mode", ["dynamic_int8", "float16", "int8"])
def test_quantized_sound_convnet_passes_and_reports_its_figures(trained_convnet, mode):
    report = check_roundtrip(trained_convnet, quantization=mode, max_examples=10, seed=0)
    assert [r.format for r in report.results] == ["tflite", "litert"]
    for result in report.results:
        assert result.passed and result.quantization == mode and result.label == f"{result.format}[{mode}]"
        (figure,) = result.quantized
        assert figure.argmax_agreement >= 0.95 and figure.correlation > 0.999 and figure.range_error < 0.1
        assert figure.argmax_rows > 10
    assert "argmax agreement" in report_text(report)


def test_quantization_hostile_model_fails_with_its_figures(trained_convnet, tmp_path):
    hostile = models.quantization_hostile(trained_convnet)
    x = np.random.default_rng(1).standard_normal((8, 16, 16, 3)).astype("float32")
    # Plain Keras: the hostile model computes the same function as the sound one in float32.
    np.testing.assert_allclose(np.asarray(hostile(x)), np.asarray(trained_convnet(x)), rtol=1e-3, atol=1e-3)
    # Plain LiteRT with dynamic-range quantization: the outlier's scale rounds the ordinary weights away.
    hostile.export(str(tmp_path / "q.tflite"), format="litert", verbose=False, optimizations=[tf.lite.Optimize.DEFAULT])
    runner = Interpreter(model_path=str(tmp_path / "q.tflite")).get_signature_runner()
    quantized = next(iter(runner(**{next(iter(runner.get_input_details())): x}).values()))
    assert np.corrcoef(quantized.ravel(), np.asarray(hostile(x)).ravel())[0, 1] < 0.9

    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(hostile, quantization="dynamic_int8", max_examples=10, seed=0)
    text = str(caught.value)
    assert text.startswith("Round trip failed for 2 of 2 formats: tflite[dynamic_int8], litert[dynamic_int8]")
    assert "[litert[dynamic_int8]] the quantized model lost more than the thresholds allow" in text
    assert "below the thresholds: range error" in text and "correlation" in text
    figure = caught.value.report.result_for("litert").quantized[0]
    assert figure.correlation < 0.9 and not figure.ok
    # The same model as float32 LiteRT is sound: the failure is quantization's, not the conversion's.
    assert check_roundtrip(hostile, formats=["litert"], max_examples=5, seed=0).passed


def test_thresholds_are_the_users_to_set(trained_convnet):
    strict = Quantization("int8", QuantizedThresholds(min_argmax_agreement=1.0, max_range_error=1e-6, min_correlation=1.0))
    with pytest.raises(RoundTripError, match=r"range error [0-9.e-]+ > 1e-06"):
        check_roundtrip(trained_convnet, formats=["tflite"], quantization=strict, max_examples=3, seed=0)


def test_quantization_misuse_is_a_usage_error():
    with pytest.raises(RoundTripUsageError, match=r"quantization must be one of \['dynamic_int8', 'float16', 'int8'\]"):
        check_roundtrip(models.mlp(), quantization="int4")
    with pytest.raises(RoundTripUsageError, match=r"quantization applies to the formats \['tflite', 'litert'\], not \['onnx'\]"):
        check_roundtrip(models.mlp(), formats=["onnx"], quantization="float16")
    with pytest.raises(RoundTripUsageError, match="calibration_examples must be a whole number >= 1, got 0"):
        Quantization("int8", calibration_examples=0)


# The figures themselves (pure NumPy) --------------------------------------------------------------------------

from pytest_tfroundtrip.results.quantized import quantized_figures  # noqa: E402

LOOSE = QuantizedThresholds(min_argmax_agreement=0.9, max_range_error=0.25, min_correlation=0.99, min_relative_spread=0.1)


def test_a_flipped_near_tie_is_counted_not_judged_but_a_flipped_decision_fails():
    original = {"scores": np.array([[1.0, 1.001, 0.0], [0.0, 4.0, 0.0], [3.0, 0.0, 0.0]])}
    tie_flipped = {"scores": np.array([[1.001, 1.0, 0.0], [0.0, 4.01, 0.0], [3.01, 0.0, 0.0]])}
    (figure,) = quantized_figures([original], [tie_flipped], LOOSE)
    assert figure.ok and figure.near_ties == 1 and figure.argmax_rows == 2 and figure.argmax_agreement == 1.0
    decision_flipped = {"scores": np.array([[1.0, 1.001, 0.0], [4.0, 0.0, 0.0], [3.0, 0.0, 0.0]])}
    (figure,) = quantized_figures([original], [decision_flipped], LOOSE)
    assert not figure.ok and figure.argmax_agreement == 0.5
    assert any(problem.startswith("argmax agreement 0.5 < 0.9") for problem in figure.problems)


def test_an_output_constant_at_the_modes_precision_is_reported_not_judged():
    original = {"p": np.full((4, 3), 0.1) + np.arange(12).reshape(4, 3) * 1e-7}
    rounded = {"p": np.full((4, 3), 0.1)}
    (figure,) = quantized_figures([original], [rounded], LOOSE)
    assert figure.ok and figure.range_error is None and "constant at this precision" in figure.not_judged


def test_integer_outputs_are_judged_by_the_fraction_of_equal_elements():
    original = [{"label": np.array([0, 1, 2, 3])}, {"label": np.array([1, 1])}]
    (figure,) = quantized_figures(original, [{"label": np.array([0, 1, 2, 0])}, {"label": np.array([1, 1])}], LOOSE)
    assert figure.argmax_agreement == 5 / 6 and not figure.ok


def test_outputs_of_varying_length_are_pooled_across_inputs():
    original = [{"y": np.linspace(0, 1, 6).reshape(1, 3, 2)}, {"y": np.linspace(1, 2, 10).reshape(1, 5, 2)}]
    noisy = [{"y": o["y"] + 0.01} for o in original]
    (figure,) = quantized_figures(original, noisy, LOOSE)
    assert figure.elements == 16 and abs(figure.range_error - 0.005) < 1e-9 and figure.correlation > 0.999
