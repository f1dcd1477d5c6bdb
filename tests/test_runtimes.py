"""Deployment runtimes: ONNX Runtime, LiteRT, OpenVINO."""

from __future__ import annotations

import keras
import numpy as np
import onnxruntime
import openvino
import pytest
from ai_edge_litert.interpreter import Interpreter

from pytest_tfroundtrip import (
    RoundTripError,
    RoundTripWarning,
    available_formats,
    check_custom_objects,
    check_roundtrip,
)
from pytest_tfroundtrip.formats import get_format
from tests import models

RUNTIMES = ["onnx", "litert", "openvino"]


def test_the_runtime_formats_are_available_here():
    assert set(RUNTIMES) <= set(available_formats())


@pytest.mark.parametrize("fmt", RUNTIMES)
@pytest.mark.parametrize("build", [models.mlp, models.small_convnet, models.dict_multi_io], ids=lambda b: b.__name__)
def test_sound_models_survive_each_runtime(fmt, build):
    report = check_roundtrip(build(), formats=[fmt], max_examples=8, seed=1)
    result = report.result_for(fmt)
    assert result.passed and result.examples >= 8


def _batch_of_one_differs_in(outputs_of_artifact, model):
    x = np.random.default_rng(0).standard_normal((1, 4)).astype("float32")
    return np.abs(outputs_of_artifact(x) - np.asarray(model(x))).max()


@pytest.mark.parametrize("fmt", RUNTIMES)
def test_a_trace_that_takes_another_branch_is_caught_through_each_runtime(fmt, tmp_path):
    model = models.with_layer(models.CentreUnlessSingleSample())
    model(np.zeros((2, 4), "float32"))  # Keras's ONNX export refuses a model never called
    # Plain Keras + each runtime: on a batch of one, the exported artifact centres the input, the model does not.
    if fmt == "onnx":
        model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
        session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        run = lambda x: session.run(None, {session.get_inputs()[0].name: x})[0]  # noqa: E731
    elif fmt == "litert":
        model.export(str(tmp_path / "m.tflite"), format="litert", verbose=False)
        runner = Interpreter(model_path=str(tmp_path / "m.tflite")).get_signature_runner()
        run = lambda x: next(iter(runner(**{next(iter(runner.get_input_details())): x}).values()))  # noqa: E731
    else:
        model.export(str(tmp_path / "m.xml"), format="openvino", verbose=False)
        compiled = openvino.Core().compile_model(str(tmp_path / "m.xml"), "CPU")
        run = lambda x: compiled(x)[0]  # noqa: E731
    assert _batch_of_one_differs_in(run, model) > 0.01

    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["keras", fmt], max_examples=10, seed=0)
    report = caught.value.report
    assert report.formats_passed == ("keras",)
    failure = report.result_for(fmt).failure
    assert failure.stage == "mismatch" and "shape (1, 4)" in failure.input_summary
    assert f"[{fmt}] outputs differ from the original model" in str(caught.value)


def test_string_inputs_are_tried_and_not_applicable_only_where_the_converter_or_runtime_says_so(tmp_path):
    model = models.string_lookup_model()
    model(np.array([["cat", "dog", "fish"]]))
    # Plain calls: ONNX Runtime refuses the lookup op tf2onnx left; Keras's OpenVINO export refuses the table handle.
    model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    with pytest.raises(Exception, match="No Op registered for LookupTableFindV2"):
        onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="Model references undeclared parameters"):
        model.export(str(tmp_path / "m.xml"), format="openvino", verbose=False)

    report = check_roundtrip(model, formats=None, max_examples=4, seed=0)
    onnx, openvino_result = report.result_for("onnx"), report.result_for("openvino")
    assert onnx.status == openvino_result.status == "skipped" and onnx.not_applicable and openvino_result.not_applicable
    assert onnx.skip_reason.startswith("ONNX Runtime cannot run this model: InvalidGraph")
    assert "No Op registered for LookupTableFindV2" in onnx.skip_reason
    assert openvino_result.skip_reason.startswith("OpenVINO cannot run this model: OpenVINOConversionFailed: Keras's "
                                                  "model.export(format=\"openvino\"): Model references undeclared parameters")
    assert report.result_for("litert").passed  # StringLookup converts to LiteRT's built-in hash-table ops
    assert report.result_for("tflite").passed  # with the built-in op set alone too


def test_named_despite_not_applicable_fails_clearly():
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(models.string_lookup_model(), formats=["onnx"], max_examples=2, seed=0)
    failure = caught.value.report.result_for("onnx").failure
    assert failure.stage == "load" and "LookupTableFindV2" in failure.message


def test_non_float32_models_are_not_applicable_to_the_runtimes():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = models.mlp()
    finally:
        keras.config.set_dtype_policy("float32")
    report = check_roundtrip(model, formats=None, max_examples=2, seed=0)
    assert "ONNX export takes float32 models; this one computes in float16" in report.result_for("onnx").skip_reason
    assert "OpenVINO export takes float32" in report.result_for("openvino").skip_reason
    assert report.result_for("litert").skip_reason.startswith("TFLite built-in ops do not compute in float16 (name 'litert'")


def test_a_missing_runtime_makes_its_format_unavailable_with_the_install_command(monkeypatch):
    from pytest_tfroundtrip import _lazy

    installed = _lazy.is_installed
    monkeypatch.setattr(_lazy, "is_installed", lambda name: name != "onnxruntime" and installed(name))
    assert get_format("onnx").unavailable_reason() == 'onnxruntime is not installed (pip install "pytest-tfroundtrip[onnx]")'
    monkeypatch.setattr(_lazy, "is_installed", lambda name: name not in ("openvino", "scipy") and installed(name))
    assert get_format("openvino").unavailable_reason() == (
        'openvino, scipy are not installed (pip install "pytest-tfroundtrip[openvino]")')


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_exact_gelu_fails_onnx_as_onnx_runtime_refuses_the_file(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="gelu")(inputs))
    # Plain Keras + ONNX Runtime: tf2onnx writes the exact GELU's erfc as an `Erfc` node, which is no ONNX op.
    model(np.zeros((1, 8), "float32"))
    model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    with pytest.raises(Exception, match="Erfc"):
        onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])

    # Named: a failure.  By default: not applicable, with ONNX Runtime's reason, in both checks.
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["onnx", "openvino"], max_examples=3, seed=0)
    assert caught.value.report.formats_passed == ("openvino",)
    failure = caught.value.report.result_for("onnx").failure
    assert failure.stage == "load" and "Erfc" in failure.message
    report = check_roundtrip(model, max_examples=3, seed=0)
    skipped = report.result_for("onnx")
    assert skipped.status == "skipped" and skipped.artifact is None
    assert skipped.skip_reason.startswith("ONNX Runtime cannot run this model: InvalidGraph")
    assert "Erfc" in skipped.skip_reason and skipped.skip_reason.endswith("(name 'onnx' in formats= to see it fail)")
    assert "onnx" not in report.formats_passed and "openvino" in report.formats_passed
    custom = check_custom_objects(model, max_examples=2, seed=0)
    assert "Erfc" in custom.not_applicable["onnx"] and "onnx" not in {r.format for r in custom.clean}


@pytest.mark.slow  # a long OpenVINO conversion; tests/test_not_applicable_causes.py keeps an LSTM through OpenVINO in CI
def test_recurrent_layers_over_unknown_lengths_fail_keras_openvino_export_and_convert_through_the_savedmodel(tmp_path):
    model = models.masked_rnn()
    tokens = np.array([[3, 5, 0, 0], [7, 1, 2, 9]], "int32")
    # Plain calls: Keras's OpenVINO export refuses the LSTM's TensorFlow ops; OpenVINO's converter on the SavedModel
    # model.export(dir) writes takes them, and the compiled model matches the model.
    with pytest.raises(Exception, match="OpConversionFailure|unconverted|Unconverted"):
        model.export(str(tmp_path / "m.xml"), format="openvino", verbose=False)
    model.export(str(tmp_path / "saved"), verbose=False)
    compiled = openvino.Core().compile_model(openvino.convert_model(str(tmp_path / "saved")), "CPU",
                                             {"INFERENCE_PRECISION_HINT": "f32"})
    assert np.abs(compiled(tokens)[0] - np.asarray(model(tokens))).max() < 1e-5

    with pytest.warns(RoundTripWarning, match="TensorList.*openvino.convert_model"):
        report = check_roundtrip(model, formats=["keras", "openvino"], max_examples=3, seed=0)
    assert report.formats_passed == ("keras", "openvino")
    # By default every format that cannot take it is not applicable (h5's legacy loader too: test_defects).
    with pytest.warns(RoundTripWarning, match="openvino.convert_model"):
        report = check_roundtrip(model, max_examples=3, seed=0)
    assert not report.failed and "Unknown layer: 'NotEqual'" in report.result_for("h5").skip_reason
    assert "tensor list ops" in report.result_for("tflite").skip_reason
    assert report.result_for("openvino").passed
    assert "Select TensorFlow op" in report.result_for("litert").skip_reason  # the LSTM keeps TensorFlow ops


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_onnx_is_not_applicable_by_default_where_its_export_would_need_more_than_half_the_memory(monkeypatch):
    from pytest_tfroundtrip.formats import onnx as onnx_format

    model = models.mlp()  # 102 KB of weights: about 4.5 MB for tf2onnx
    monkeypatch.setattr(onnx_format, "physical_memory_bytes", lambda: 8 * 2**20)
    report = check_roundtrip(model, formats=None, max_examples=2, seed=0)
    reason = report.result_for("onnx").skip_reason
    assert reason.startswith("Keras's ONNX export (tf2onnx) needs about 45x the weights in memory (measured)")
    assert "more than half of this machine's 0.0 GB (name 'onnx' in formats= to try anyway)" in reason
    assert check_roundtrip(model, formats=["onnx"], max_examples=2, seed=0).passed  # named: it runs
    monkeypatch.setattr(onnx_format, "physical_memory_bytes", lambda: 16 * 2**20)
    assert check_roundtrip(model, formats=None, max_examples=2, seed=0).result_for("onnx").passed
