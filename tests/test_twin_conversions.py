"""Conversions of the live model made in workers from a twin the keras round trip proved identical.

The verdict of every converted format must be the one the original model gives: a twin is used only after
an exact ``keras`` pass and a fingerprint check in the worker, and a failure found on a twin's conversion is
checked again from the original.  Each expected failure is reproduced with plain Keras/TensorFlow calls.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, check_roundtrip
from pytest_tfroundtrip.formats.twin import fingerprint_of, twin_differences
from tests.models import ForgetfulScale
from tests.twin_layers import DropsInside, GainWhenTraced, OffByOneWhenTraced, model_with

LIVE = ["keras", "export", "tflite"]


def _by_format(report_or_error):
    report = getattr(report_or_error, "report", report_or_error)
    return {result.format: result for result in report.results}, report


def _plain_export_outputs(model, tmp_path, x):
    """The user's path: model.export, tf.saved_model.load, serve."""
    model.export(str(tmp_path / "export"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "export"))  # held while serving: its functions need its variables
    return loaded.serve(x).numpy()


def test_the_live_model_conversions_come_from_the_twin_once_keras_passed_bit_for_bit():
    # Dropout's seed generator state differs in a reload (inference never reads it): a twin all the same.
    model = model_with(keras.layers.Dropout(0.3, name="dropout"))
    results, report = _by_format(check_roundtrip(model, formats=LIVE, max_examples=5, seed=0, workers=2))
    assert all(result.status == "passed" for result in results.values())
    from_twin = [name for name, result in results.items() if result.saved_from_twin]
    assert from_twin and set(from_twin) <= {"export", "tflite"}
    note = next(note for note in report.notes if "twin" in note)
    assert note.startswith(", ".join(from_twin) + " converted in a worker from the model's twin")


def test_turned_off_every_conversion_starts_from_the_original_and_tflite_from_the_exports_directory():
    model = model_with(keras.layers.ReLU(name="relu"))
    results, report = _by_format(check_roundtrip(model, formats=LIVE, max_examples=5, seed=0, convert_from_twin=False,
                                                 workers=2))
    assert all(result.status == "passed" and not result.saved_from_twin for result in results.values())
    assert not any("twin" in note for note in report.notes)
    assert "tflite converted in a worker from the export format's directory" in " ".join(report.notes)


def test_a_keras_file_that_loses_an_argument_gives_no_twin_and_export_is_judged_on_the_original(tmp_path):
    model = model_with(ForgetfulScale(factor=3.0, name="forgetful"))
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(model, formats=["keras", "export"], max_examples=5, seed=0, workers=2)
    results, _report = _by_format(raised.value)
    assert results["keras"].status == "failed"
    assert results["export"].status == "passed" and not results["export"].saved_from_twin
    # Plain Keras: the .keras reload scales by 1.0, the original's export by 3.0 as the model does.
    x = np.ones((2, 4), "float32")
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert not np.allclose(reloaded(x), model(x))
    np.testing.assert_allclose(_plain_export_outputs(model, tmp_path, x), model(x).numpy(), rtol=1e-6)
    # A twin made from that file would have given export another verdict: its export differs from the model.
    np.testing.assert_allclose(_plain_export_outputs(reloaded, tmp_path / "twin", x), reloaded(x).numpy(), rtol=1e-6)


def test_a_failure_on_the_twins_conversion_is_judged_again_on_the_original(tmp_path):
    model = model_with(OffByOneWhenTraced(name="traced"))
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(model, formats=["keras", "export"], max_examples=5, seed=0, workers=2)
    results, report = _by_format(raised.value)
    assert results["keras"].status == "passed" and results["keras"].max_abs_error == 0.0
    assert results["export"].status == "failed" and not results["export"].saved_from_twin
    assert "export failed converted from the twin and was judged again from the original" in " ".join(report.notes)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(_plain_export_outputs(model, tmp_path, x) - model(x).numpy(), 1.0, rtol=1e-6)


def test_an_attribute_set_on_a_built_layer_keeps_the_conversions_on_the_original(tmp_path):
    layer = GainWhenTraced(name="gained")
    model = model_with(layer)
    layer.gain = 2.0  # outside config and weights: a reload has 1.0
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(model, formats=["keras", "export"], max_examples=5, seed=0, workers=2)
    results, report = _by_format(raised.value)
    assert results["keras"].status == "passed"
    assert results["export"].status == "failed" and not results["export"].saved_from_twin
    assert any("layer attribute gained.gain differs (2.0 in the original, 1.0 reloaded)" in note for note in report.notes)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(_plain_export_outputs(model, tmp_path, x), 2.0 * model(x).numpy(), rtol=1e-6)
    model.save(tmp_path / "model.keras")
    twin = keras.saving.load_model(tmp_path / "model.keras")  # the twin's export would have passed: hidden by it
    np.testing.assert_allclose(_plain_export_outputs(twin, tmp_path / "twin", x), twin(x).numpy(), rtol=1e-6)


def test_the_fingerprint_of_a_reload_is_the_originals_until_anything_differs(tmp_path):
    model = model_with(keras.layers.ReLU(name="relu"))
    model.save(tmp_path / "model.keras")
    twin = keras.saving.load_model(tmp_path / "model.keras")
    assert twin_differences(fingerprint_of(model), fingerprint_of(twin)) is None
    twin.get_layer("dense").bias.assign(np.full((4,), 1e-7, "float32"))
    assert twin_differences(fingerprint_of(model), fingerprint_of(twin)) == "variable 'dense/bias' differs"
    other = model_with(keras.layers.ReLU(max_value=6.0, name="relu"))
    other.set_weights(model.get_weights())
    assert twin_differences(fingerprint_of(model), fingerprint_of(other)) == "its config differs"


def test_a_reload_whose_inner_layers_took_other_automatic_names_is_a_twin(tmp_path):
    # keras-hub's BertBackbone refused its twin in a worker that had loaded one before: the Dropout its blocks
    # create took "dropout_37" there, "dropout" here.  Names are no part of what a conversion computes.
    model = model_with(DropsInside(name="inside"))
    model.save(tmp_path / "model.keras")
    [keras.layers.Dropout(0.1) for _ in range(3)]  # the process has made more Dropout layers since
    twin = keras.saving.load_model(tmp_path / "model.keras")
    assert twin.get_layer("inside").dropout.name != model.get_layer("inside").dropout.name  # plain Keras shows it
    assert twin_differences(fingerprint_of(model), fingerprint_of(twin)) is None
    twin.get_layer("inside").dropout.rate = 0.5  # an attribute still counts, matched by the layer's position
    assert twin_differences(fingerprint_of(model), fingerprint_of(twin)).startswith("layer attribute dropout")


def test_a_second_check_in_warm_workers_still_converts_from_the_twin():
    model = model_with(DropsInside(name="inside"))
    for _check in range(2):  # the second reload is made by a worker that has built such a model already
        results, report = _by_format(check_roundtrip(model, formats=["keras", "export"], max_examples=3, seed=0, workers=2))
        assert results["export"].status == "passed" and results["export"].saved_from_twin, report.notes


def test_convert_from_twin_must_be_a_bool():
    from pytest_tfroundtrip import RoundTripUsageError

    with pytest.raises(RoundTripUsageError, match="convert_from_twin must be True or False, got 'no'"):
        check_roundtrip(model_with(keras.layers.ReLU(name="relu")), convert_from_twin="no")


def test_the_command_line_the_ini_and_the_cli_turn_it_off(pytester):
    from pytest_tfroundtrip.command_line.arguments import build_parser
    from pytest_tfroundtrip.pytest_integration.settings import settings_for

    assert "convert_from_twin" not in settings_for(pytester.parseconfig(), None)
    assert settings_for(pytester.parseconfig("--tf-roundtrip-no-twin"), None)["convert_from_twin"] is False
    pytester.makeini("[pytest]\ntf_roundtrip_convert_from_twin = false\n")
    assert settings_for(pytester.parseconfig(), None)["convert_from_twin"] is False
    assert build_parser().parse_args(["check", "model.keras", "--no-twin"]).no_twin is True
