"""tf_keras (Keras 2) models in check_roundtrip: each format reloads with tf_keras, as a Keras 2 project does."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from pytest_tfroundtrip import (
    RoundTripError,
    RoundTripUsageError,
    check_custom_objects,
    check_resume_training,
    check_roundtrip,
)
from tests import keras2_models

CORE_FORMATS = {"keras", "h5", "savedmodel", "export", "weights", "checkpoint", "tflite"}


def test_a_sound_tf_keras_model_passes_and_runtime_exports_are_not_applicable():
    report = check_roundtrip(keras2_models.mlp(), max_examples=10, seed=0)
    assert {r.format for r in report.results if r.status == "passed"} == CORE_FORMATS
    for name in ("litert", "onnx", "openvino"):
        result = report.result_for(name)
        assert result.not_applicable and "tf_keras (Keras 2) model has no model.export(format=...)" in result.skip_reason


def test_an_embeddings_range_is_read_from_the_tf_keras_layer():
    report = check_roundtrip(keras2_models.lstm_classifier(), formats=["keras", "savedmodel"], max_examples=5, seed=0)
    assert "values in [0, 19] (from Embedding" in report.input_description


def test_a_forgotten_config_argument_is_caught_and_the_script_reproduces_it_with_tf_keras(tmp_path):
    model = keras2_models.forgetful_model()
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["keras", "h5", "export"], max_examples=10, seed=0, artifacts_dir=tmp_path)
    report = caught.value.report
    assert {r.format for r in report.failed} == {"keras", "h5"} and report.result_for("export").status == "passed"
    # Plain tf_keras: the reloaded layer scales by the default 1.0, not 3.0.
    model.save(tmp_path / "plain.keras")
    x = np.ones((2, 4), "float32")
    reloaded = tf_keras.models.load_model(tmp_path / "plain.keras")
    np.testing.assert_allclose(reloaded(x).numpy() * 3.0, model(x).numpy(), rtol=1e-6)
    script = report.result_for("keras").failure.reproduction
    assert "import tf_keras as keras" in script.read_text()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert max(float(v) for v in re.findall(r"max abs error (\S+) at index", done.stdout)) > 0.01, done.stdout


def test_a_subclassed_tf_keras_model_with_an_input_signature(tmp_path):
    model = keras2_models.Doubler()
    model(np.zeros((1, 5), "float32"))
    signature = tf.TensorSpec((None, 5), tf.float32)
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, input_signature=signature, formats=["keras", "h5", "export", "tflite"], max_examples=5, seed=0)
    report = caught.value.report
    assert [r.format for r in report.failed] == ["h5"] and "NotImplementedError" in report.result_for("h5").failure.message
    with pytest.raises(NotImplementedError, match="Functional model or a Sequential model"):  # plain tf_keras says so too
        model.save(tmp_path / "plain.h5")


@pytest.mark.parametrize("check", [check_custom_objects, lambda m: check_resume_training(m)], ids=["custom_objects", "resume"])
def test_checks_that_read_keras3_internals_refuse_tf_keras_models_clearly(check):
    model = keras2_models.mlp()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(RoundTripUsageError, match=r"takes Keras 3 models; got the tf_keras \(Keras 2\) model Sequential"):
        check(model)


def test_tf_keras_under_the_legacy_switch_is_checked_as_keras2(tmp_path):
    # TF_USE_LEGACY_KERAS=1 makes tf.keras tf_keras; it must be set before TensorFlow is imported.
    code = ("import tensorflow as tf\n"
            "from pytest_tfroundtrip import check_roundtrip\n"
            "m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])\n"
            "r = check_roundtrip(m, formats=['keras', 'h5', 'weights'], max_examples=3, seed=0)\n"
            "print(type(m).__module__.split('.')[0], r.passed)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "tf_keras True"
