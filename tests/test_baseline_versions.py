"""Baselines across the Keras 2 -> Keras 3 move: written by tf_keras, read by Keras 3 (and the reverse).

Both are installed side by side.  Each format's outcome is docs/baselines.md's
cross-version table; every failure the check reports is reproduced here with
plain TensorFlow/Keras calls, so none is an artefact of this package.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from pytest_tfroundtrip import RoundTripError, check_baseline
from tests import keras2_models

FORMATS = ["keras", "h5", "savedmodel", "export", "weights", "checkpoint", "tflite"]
BUILDERS = {
    "sequential": keras2_models.mlp,
    "functional": lambda k: keras2_models.mlp(k, functional=True),
    "lstm": keras2_models.lstm_classifier,
}
# Measured with tf-keras 2.21 and Keras 3.15 on TensorFlow 2.21: the table in docs/baselines.md.
LOADS_FAILED = "artifact failed to load"
TF_KERAS_TO_KERAS3 = {
    "sequential": {"checkpoint": LOADS_FAILED},
    "functional": {"keras": LOADS_FAILED, "checkpoint": LOADS_FAILED},
    "lstm": {"keras": LOADS_FAILED, "h5": LOADS_FAILED, "checkpoint": LOADS_FAILED},
}
KERAS3_TO_TF_KERAS = {
    "sequential": {"keras": LOADS_FAILED, "h5": LOADS_FAILED, "checkpoint": LOADS_FAILED},
    "functional": {"keras": LOADS_FAILED, "h5": LOADS_FAILED, "checkpoint": LOADS_FAILED},
    "lstm": {"keras": LOADS_FAILED, "h5": LOADS_FAILED, "checkpoint": LOADS_FAILED},
}


def _formats(kind: str) -> list[str]:
    # The TFLite converter cannot lower an LSTM's tensor lists (in either Keras): nothing to store.
    return [f for f in FORMATS if not (kind == "lstm" and f == "tflite")]


def _statuses(error: RoundTripError) -> dict[str, str]:
    return {r.format: r.status for r in error.report.results if r.status != "passed"}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_a_baseline_written_by_tf_keras_checked_under_keras3(kind, tmp_path):
    old = BUILDERS[kind](tf_keras)
    written = check_baseline(old, tmp_path, kind, formats=_formats(kind), update=True)
    assert written.written_by["model_keras"].startswith("tf_keras 2.")
    new = keras2_models.same_weights_in_keras3(old, BUILDERS[kind])
    with pytest.raises(RoundTripError) as caught:
        check_baseline(new, tmp_path, kind)
    assert _statuses(caught.value) == TF_KERAS_TO_KERAS3[kind]
    message = str(caught.value)
    assert f"written by TensorFlow {tf.__version__} with tf_keras {tf_keras.__version__}" in message
    assert f"Keras {keras.__version__}" in message.split("read by")[1]
    stored = tmp_path / kind
    _reproduce_with_plain_calls(stored, new, keras, TF_KERAS_TO_KERAS3[kind])


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_a_baseline_written_by_keras3_checked_under_tf_keras(kind, tmp_path):
    new = BUILDERS[kind](keras)
    check_baseline(new, tmp_path, kind, formats=_formats(kind), update=True)
    old = BUILDERS[kind](tf_keras)
    old.set_weights(new.get_weights())
    with pytest.raises(RoundTripError) as caught:
        check_baseline(old, tmp_path, kind)
    assert _statuses(caught.value) == KERAS3_TO_TF_KERAS[kind]
    _reproduce_with_plain_calls(tmp_path / kind, old, tf_keras, KERAS3_TO_TF_KERAS[kind])


def test_the_same_keras_reads_its_own_baseline(tmp_path):
    old = BUILDERS["lstm"](tf_keras)
    check_baseline(old, tmp_path, "lstm", formats=_formats("lstm"), update=True)
    assert check_baseline(BUILDERS["lstm"](tf_keras), tmp_path, "lstm").passed


def _reproduce_with_plain_calls(stored, reader_model, reader_keras, expected):
    """Each failure the baseline check reported, again with the reader's own Keras and TensorFlow."""
    if "keras" in expected:
        with pytest.raises(Exception):
            reader_keras.models.load_model(stored / "keras" / "model.keras")
    if "h5" in expected:
        with pytest.raises(Exception):
            reader_keras.models.load_model(stored / "h5" / "model.h5")
    else:
        reader_keras.models.load_model(stored / "h5" / "model.h5")
    if "checkpoint" in expected:
        # The plain restore raises nothing and restores nothing: the weights keep their fresh values.
        fresh = type(reader_model).from_config(reader_model.get_config())
        before = [w.copy() for w in fresh.get_weights()]
        assert before, "the fresh model must have weights to restore into"
        status = tf.train.Checkpoint(model=fresh).read(tf.train.latest_checkpoint(str(stored / "checkpoint" / "ckpt")))
        assert all(np.array_equal(a, b) for a, b in zip(before, fresh.get_weights()))
        with pytest.raises(AssertionError, match="not bound to checkpointed values"):
            status.assert_existing_objects_matched()
