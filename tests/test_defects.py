"""Deliberately defective models: the check fails, naming format, output, error and input."""

from __future__ import annotations

import re
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, RoundTripWarning, available_formats, check_roundtrip
from tests import models


def failing(model, **kwargs) -> RoundTripError:
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, **kwargs)
    return caught.value


def test_config_that_forgets_an_argument_fails_config_based_formats_only(tmp_path):
    model = models.with_layer(models.ForgetfulScale(factor=3.0))
    error = failing(model, max_examples=10, seed=0)
    report = error.report
    # Formats that rebuild the model from its config lose `factor`; graph formats keep the traced behaviour.
    # The same .keras file loaded under JAX (and PyTorch where installed) rebuilds from the same config.
    keras_on_backends = [name for name in available_formats() if name.startswith("keras@")]
    assert [r.format for r in report.failed] == ["keras", "h5"] + keras_on_backends
    assert set(report.formats_passed) == {"savedmodel", "export", "tflite", "litert", "onnx", "openvino"}
    # The weights files are not at fault: the check rebuilds their model from the same lossy config, so by default
    # they are not judged, with the reason; a model built by code takes the weights file exactly (plain calls).
    weights_on_backends = [name for name in available_formats() if name.startswith("weights@")]
    for name in ("weights", "checkpoint", *weights_on_backends):
        assert report.result_for(name).skip_reason.startswith("not judged: the architecture cannot be rebuilt")
    model.save_weights(tmp_path / "m.weights.h5")
    built_by_code = models.with_layer(models.ForgetfulScale(factor=3.0))
    built_by_code.set_weights([w + 1.0 for w in built_by_code.get_weights()])  # a restore of nothing must not pass
    built_by_code.load_weights(tmp_path / "m.weights.h5")
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_array_equal(built_by_code(x), model(x))
    named = failing(model, formats=["weights"], max_examples=2, seed=0)
    assert "argument 'factor' is 3.0 in the model, 1.0 when rebuilt from its config" in str(named)
    text = str(error)
    failed = ", ".join(["keras", "h5"] + keras_on_backends)
    assert text.startswith(f"Round trip failed for {2 + len(keras_on_backends)} of {len(report.results)} formats: {failed}")
    for expected in ("[keras] outputs differ from the original model", "output 'dense", "max abs error",
                     "elements differ", "worst at index", "on input (shrunk):", "input saved as", "artifact:"):
        assert expected in text
    for name in ("keras", "h5"):
        failure = report.result_for(name).failure
        assert failure.stage == "mismatch"
        assert failure.input_file.exists()
        with np.load(failure.input_file) as saved:
            assert list(saved.keys()) == ["input"]
        assert report.result_for(name).artifact.exists()


def test_failure_is_shrunk_to_a_small_input():
    error = failing(models.with_layer(models.ForgetfulScale(factor=3.0)), formats=["keras"], max_examples=10, seed=0)
    summary = error.report.result_for("keras").failure.input_summary
    assert re.search(r"shape \(1, 4\)", summary), summary  # batch shrunk to 1


def test_defect_on_large_values_only_is_found_by_wide_ranges():
    # Differs only where |x| > 100: a standard-normal input of batch 1 never shows it.
    model = models.with_layer(models.ForgetfulClip(limit=100.0))
    single = np.random.default_rng(0).standard_normal((1, 4)).astype("float32")
    assert check_roundtrip(model, formats=["keras"], inputs=single, max_examples=3).passed
    error = failing(model, formats=["keras"], max_examples=20, seed=3)
    assert "[keras] outputs differ" in str(error)


def test_a_serving_signature_fixed_to_the_first_batch_that_tensorflow_accepts_is_a_warning_not_a_failure():
    model = models.subclassed(first_batch=2)
    # Plain TensorFlow: the signature says (2, 12), yet a (1, 12) call works and is exact.
    with tempfile.TemporaryDirectory() as directory:
        tf.saved_model.save(model, directory)
        serve = tf.saved_model.load(directory).signatures["serving_default"]
        assert serve.structured_input_signature[1]["inputs"].shape.as_list() == [2, 12]
        x = np.random.default_rng(0).standard_normal((1, 12)).astype("float32")
        assert np.abs(next(iter(serve(inputs=tf.constant(x)).values())).numpy() - model(x).numpy()).max() < 1e-5
    with pytest.warns(RoundTripWarning, match=r"fixes input 'inputs' to shape \(2, 12\)") as warned:
        report = check_roundtrip(model, formats=["savedmodel"], input_signature=models.SUBCLASSED_SIGNATURE,
                                 max_examples=10, seed=0)
    assert [w.filename for w in warned if w.category is RoundTripWarning] == [__file__]  # points at the caller
    assert report.formats_passed == ("savedmodel",)
    assert report.result_for("savedmodel").examples >= 10
    assert "TF Serving" in report.warnings[0] and "model.build((None, ...))" in report.warnings[0]


def test_legacy_h5_failing_on_an_ordinary_model_reports_the_original_error():
    error = failing(models.masked_rnn(), formats=["keras", "h5"], max_examples=4, seed=0)
    assert error.report.formats_passed == ("keras",)
    failure = error.report.result_for("h5").failure
    assert failure.stage == "load"
    assert "Unknown layer: 'NotEqual'" in failure.message


def test_every_failing_format_is_reported_not_only_the_first():
    error = failing(models.masked_rnn(), formats=["h5", "savedmodel"], max_examples=4, seed=0)
    assert [r.format for r in error.report.failed] == ["h5"]
    error = failing(models.with_layer(models.ForgetfulScale(factor=2.0)), formats=["weights", "checkpoint"], max_examples=5, seed=1)
    assert "[weights]" in str(error) and "[checkpoint]" in str(error)


def test_model_not_deterministic_at_inference_is_not_blamed_on_a_format():
    model = models.with_layer(models.NoisyAtInference())
    error = failing(model, formats=["keras", "weights"], max_examples=5, seed=0)
    text = str(error)
    assert text.startswith("The model is not deterministic at inference")
    assert "output 'dense" in text
    assert "outputs differ from the original model" not in text
    assert all(r.status == "skipped" for r in error.report.results)


def test_unregistered_custom_layer_fails_keras_load_with_original_error():
    import keras

    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = models.with_layer(Unregistered())
    error = failing(model, formats=["keras", "export"], max_examples=3, seed=0)
    assert error.report.formats_passed == ("export",)
    assert "Could not locate class 'Unregistered'" in error.report.result_for("keras").failure.message


def test_legacy_h5_cannot_reload_a_model_compiled_with_a_string_loss():
    import keras

    model = models.mlp()
    model.compile(optimizer="adam", loss="mse")
    error = failing(model, formats=["h5", "keras"], max_examples=2, seed=0)
    assert error.report.formats_passed == ("keras",)
    assert "Could not deserialize 'keras.metrics.mse'" in error.report.result_for("h5").failure.message
    assert isinstance(model.optimizer, keras.optimizers.Adam)
