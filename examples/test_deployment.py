"""Where the model ships: ONNX Runtime, LiteRT, OpenVINO, and a quantized mobile build."""

import keras
import pytest

# LiteRT and OpenVINO builds are exported from Keras's TensorFlow backend (under JAX, Keras refuses LiteRT and its
# OpenVINO graph is one XlaCallModule op; ONNX needs jax2onnx): the check says so as "not applicable".
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="these deployment builds are exported under Keras's TensorFlow backend")


@pytest.mark.tf_roundtrip(formats=["litert", "onnx", "openvino"])
def test_model_computes_the_same_in_each_deployment_runtime(tf_roundtrip, model):
    report = tf_roundtrip.check(model)
    assert report.formats_passed == ("litert", "onnx", "openvino")


@pytest.mark.tf_roundtrip(formats=["litert"], quantization="float16")
def test_float16_mobile_build_keeps_what_the_model_decides(tf_roundtrip, model):
    report = tf_roundtrip.check(model)
    (figures,) = report.result_for("litert").quantized  # also there when it passes: watch them drift
    assert figures.argmax_agreement >= 0.99
