"""The model under test is never modified, and nothing is left behind."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, check_roundtrip
from tests import models


def trained_model() -> keras.Model:
    model = models.small_convnet()
    model.layers[0].trainable = False  # a non-default flag that must survive
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = np.random.default_rng(0).standard_normal((8, 16, 16, 3)).astype("float32")
    model.fit(x, np.zeros((8, 4), "float32"), epochs=1, verbose=0)
    return model


def test_passing_check_leaves_weights_optimizer_compile_state_and_flags_alone():
    model = trained_model()
    before = models.fingerprint(model)
    formats = ["keras", "savedmodel", "export", "weights", "checkpoint", "tflite"]  # h5: see test_defects
    assert check_roundtrip(model, formats=formats, max_examples=4, seed=0).passed
    models.assert_same_fingerprint(before, models.fingerprint(model))


def test_failing_check_leaves_the_model_alone_too():
    model = models.with_layer(models.ForgetfulScale(factor=2.0))
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError):
        check_roundtrip(model, max_examples=4, seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))


def test_fingerprint_detects_a_change():
    # Guard for the two tests above: the fingerprint must notice a modification.
    model = trained_model()
    before = models.fingerprint(model)
    model.layers[-1].kernel.assign(model.layers[-1].kernel + 1.0)
    with pytest.raises(AssertionError):
        models.assert_same_fingerprint(before, models.fingerprint(model))


def test_artifacts_removed_after_success_kept_on_request_and_on_failure(tmp_path):
    report = check_roundtrip(models.mlp(), formats=["keras"], max_examples=2, artifacts_dir=tmp_path / "a")
    assert report.artifacts_dir is None and list((tmp_path / "a").iterdir()) == []
    kept = check_roundtrip(models.mlp(), formats=["keras"], max_examples=2, artifacts_dir=tmp_path / "b", keep_artifacts=True)
    assert kept.result_for("keras").artifact.is_file()
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(models.with_layer(models.ForgetfulScale(factor=2.0)), formats=["keras"], max_examples=3, artifacts_dir=tmp_path / "c")
    assert caught.value.report.artifacts_dir.parent == tmp_path / "c"
    assert (caught.value.report.artifacts_dir / "failing-input-keras.npz").is_file()
    assert str(caught.value.report.artifacts_dir) in str(caught.value)


def test_nothing_is_written_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_roundtrip(models.mlp(), max_examples=2, seed=0)
    assert os.listdir(tmp_path) == []  # no .hypothesis database, no artifacts


def test_legacy_h5_saving_mutates_the_model_it_saves_but_the_check_restores_it(tmp_path):
    # Plain Keras 3: model.save("*.h5") pops "optimizer" out of the model's own compile config.
    model = trained_model()
    model.save(tmp_path / "plain.h5")
    assert "optimizer" not in model.get_compile_config()
    # The check saves h5 too, and leaves the model as it found it.
    model = trained_model()
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError):  # loss="mse" cannot be deserialized from h5 on Keras 3.15
        check_roundtrip(model, formats=["h5"], max_examples=2, seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))
