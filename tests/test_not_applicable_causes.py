"""A runtime format that cannot take a model says what the converter or runtime itself says (issue 27).

Two held-out models: a structured-data model (string, int and float columns through adapted
lookups and a normalization) that no runtime format can take, for reasons each converter
names; and an LSTM forecaster Keras's OpenVINO export refuses while OpenVINO's own converter,
on the SavedModel ``model.export(dir)`` writes, converts it.  Each verdict is shown with plain calls.
"""

from __future__ import annotations

import keras
import numpy as np
import onnxruntime
import openvino
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, RoundTripWarning, check_roundtrip
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.formats import AmongFormats, get_format
from tests import models

F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def structured_data_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    color = keras.Input((1,), dtype="string", name="color")
    count = keras.Input((1,), dtype="int64", name="count")
    value = keras.Input((1,), dtype="float32", name="value")
    colors = keras.layers.StringLookup(output_mode="one_hot")
    colors.adapt(np.array(["red", "green", "blue", "red", "blue"]))
    counts = keras.layers.IntegerLookup(output_mode="one_hot")
    counts.adapt(np.array([1, 2, 3, 2, 5]))
    scaled = keras.layers.Normalization()
    scaled.adapt(np.array([[0.5], [1.5], [-2.0], [3.0], [0.0]], "float32"))
    joined = keras.layers.Concatenate()([colors(color), counts(count), scaled(value)])
    hidden = keras.layers.Dense(8, activation="relu")(joined)
    model = keras.Model({"color": color, "count": count, "value": value}, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model(STRUCTURED_ROWS)  # Keras's ONNX export refuses a model never called
    return model


STRUCTURED_ROWS = {"color": np.array([["red"], ["violet"]]), "count": np.array([[1], [9]]),
                   "value": np.array([[0.5], [1.0]], "float32")}


def plain_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred))


def lstm_forecaster() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(16), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss=plain_loss)
    return model


@pytest.mark.slow  # CI budget; test_runtimes keeps not-applicable runtimes in CI
def test_a_structured_data_model_is_not_applicable_to_the_runtimes_for_the_reasons_their_converters_give(tmp_path):
    model = structured_data_model()
    # Plain calls.  ONNX: tf2onnx writes the file but leaves the lookup tables' op in it; ONNX Runtime refuses it.
    model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    with pytest.raises(Exception, match="No Op registered for LookupTableFindV2"):
        onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    # OpenVINO: Keras's export fails on the lookup; OpenVINO's converter on the SavedModel fails on the hash table.
    with pytest.raises(Exception, match="Conversion is failed for: LookupTableFindV2"):
        model.export(str(tmp_path / "m.xml"), format="openvino", verbose=False)
    model.export(str(tmp_path / "saved"), verbose=False)
    with pytest.raises(Exception, match="Conversion is failed for: HashTableV2, LookupTableFindV2"):
        openvino.convert_model(str(tmp_path / "saved"))
    # TFLite's built-in ops: the converter refuses the hash table.
    with pytest.raises(Exception, match="'tf.HashTableV2' op is neither a custom op nor a flex op"):
        tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "saved")).convert()

    report = check_roundtrip(model, formats=AmongFormats(("keras", "tflite", "onnx", "openvino")), max_examples=3, seed=0)
    assert report.formats_passed == ("keras",)
    reasons = {name: report.result_for(name).skip_reason for name in ("tflite", "onnx", "openvino")}
    assert all("string inputs" not in reason for reason in reasons.values()), reasons
    assert reasons["onnx"].startswith("ONNX Runtime cannot run this model: InvalidGraph")
    assert "No Op registered for LookupTableFindV2" in reasons["onnx"]
    assert reasons["openvino"].startswith("OpenVINO cannot run this model: OpenVINOConversionFailed: "
                                          "Keras's model.export(format=\"openvino\"): OpConversionFailure: "
                                          "Conversion is failed for: LookupTableFindV2; ")
    assert ("openvino.convert_model on model.export()'s SavedModel: OpConversionFailure: "
            "Conversion is failed for: HashTableV2, LookupTableFindV2 (name 'openvino' in formats= to see it fail)"
            ) in reasons["openvino"]
    assert "'tf.HashTableV2' op is neither a custom op nor a flex op" in reasons["tflite"]


@pytest.mark.slow  # CI budget; test_runtimes covers string inputs, the next tests the OpenVINO path's choice
def test_a_string_lookup_given_its_vocabulary_is_tried_and_runs_in_tflite():
    # Plain calls (test_runtimes): the built-in hash-table ops take it; "string inputs" decided nothing.
    report = check_roundtrip(models.string_lookup_model(), formats=AmongFormats(("tflite", "openvino")), max_examples=3, seed=0)
    assert report.result_for("tflite").passed
    reason = report.result_for("openvino").skip_reason
    assert "Model references undeclared parameters" in reason and "HashTableV2" in reason


@pytest.mark.slow  # CI budget; test_runtimes covers string inputs, the next tests the OpenVINO path's choice
def test_openvino_converts_an_lstm_keras_export_refuses_through_the_savedmodel_and_says_so(tmp_path):
    model = lstm_forecaster()
    x = np.random.default_rng(0).standard_normal((2, 24, 3)).astype("float32")
    # Plain calls: Keras's OpenVINO export refuses the LSTM's tensor lists; OpenVINO's converter on the SavedModel
    # model.export(dir) writes takes it, and the compiled model matches the model.
    with pytest.raises(Exception, match="No conversion rule found for operations: TensorList"):
        model.export(str(tmp_path / "m.xml"), format="openvino", verbose=False)
    model.export(str(tmp_path / "saved"), verbose=False)
    compiled = openvino.Core().compile_model(openvino.convert_model(str(tmp_path / "saved")), "CPU", F32)
    assert np.abs(compiled(x)[0] - np.asarray(model(x))).max() < 1e-5

    with pytest.warns(RoundTripWarning, match="openvino.convert_model"):
        report = check_roundtrip(model, formats=["openvino"], max_examples=4, seed=0, keep_artifacts=True)
    result = report.result_for("openvino")
    assert result.passed and result.max_abs_error < 1e-5
    (warning,) = result.warnings
    assert warning.startswith("Keras's model.export(format=\"openvino\") cannot convert this model (OpConversionFailure: "
                              "No conversion rule found for operations: TensorList); the check converted the TensorFlow "
                              "SavedModel of model.export(dir) with openvino.convert_model")

    # The reproduction code takes the same path: OpenVINO's converter on the kept SavedModel.
    code = get_format("openvino").reproduction_code(prepare_subject(model).subject, result.artifact)
    assert f"openvino.convert_model({str(result.artifact.parent / 'savedmodel')!r})" in code[1]
    scope = {"inputs": {prepare_subject(model).subject.signature.names[0]: x}}
    exec("\n".join(code), scope)
    assert np.abs(scope["got"][0] - np.asarray(model(x))).max() < 1e-5


def _keras_openvino_export_refused(monkeypatch):
    from pytest_tfroundtrip.formats import openvino as openvino_format

    export = openvino_format.export_to_file

    class OpConversionFailure(RuntimeError):  # as OpenVINO's converter words it
        pass

    def refusing(subject, path, export_format, *args, **kwargs):
        if export_format == "openvino":
            raise OpConversionFailure("Check 'false' failed\nFrontEnd API failed with OpConversionFailure:\nSummary:\n"
                                      "-- No conversion rule found for operations: Forced")
        return export(subject, path, export_format, *args, **kwargs)

    monkeypatch.setattr(openvino_format, "export_to_file", refusing)


def test_the_savedmodel_path_keeps_the_models_output_order(monkeypatch):
    # Several outputs with names: the converted ports are named by the signature's keys, read in the model's order.
    _keras_openvino_export_refused(monkeypatch)
    with pytest.warns(RoundTripWarning, match="OpConversionFailure: No conversion rule found for operations: Forced"):
        report = check_roundtrip(models.dict_multi_io(), formats=["openvino"], max_examples=4, seed=0)
    assert report.result_for("openvino").passed


def test_only_a_conversion_error_sends_openvino_down_the_savedmodel_path(monkeypatch):
    from pytest_tfroundtrip.formats import openvino as openvino_format

    monkeypatch.setattr(openvino_format, "export_to_file", lambda *args, **kwargs: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(models.mlp(), formats=AmongFormats(("openvino",)), max_examples=2, seed=0)
    failure = caught.value.report.result_for("openvino").failure
    assert failure.stage == "save" and failure.message.startswith("OSError: disk full")
