"""A trained, compiled model: inference outputs survive, and Dropout/BatchNorm use inference mode."""

import keras
import pytest

# tf.train.Checkpoint tracks TensorFlow objects only: under KERAS_BACKEND=jax or torch the check says
# "not applicable" for it, and the keras format alone keeps the optimizer state.
tensorflow_checkpoint = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                           reason="the checkpoint format is TensorFlow's (tf.train.Checkpoint)")


def test_trained_model_survives(tf_roundtrip, trained_model):
    report = tf_roundtrip.check(trained_model)
    assert report.passed


@tensorflow_checkpoint
@pytest.mark.tf_roundtrip(formats=["keras", "checkpoint"], max_examples=10)
def test_formats_that_keep_optimizer_state(tf_roundtrip, trained_model):
    assert tf_roundtrip.check(trained_model).formats_passed == ("keras", "checkpoint")


@tensorflow_checkpoint
@pytest.mark.tf_roundtrip(formats=["keras", "checkpoint"])
def test_training_resumes_exactly(tf_roundtrip, trained_model):
    # Trains copies: 4 steps, save, reload, 4 more, against 8 uninterrupted steps.
    report = tf_roundtrip.check_resume_training(trained_model, seed=0)
    assert report.formats_passed == ("keras", "checkpoint")
