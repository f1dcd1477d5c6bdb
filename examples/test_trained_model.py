"""A trained, compiled model: inference outputs survive, and Dropout/BatchNorm use inference mode."""

import pytest


def test_trained_model_survives(tf_roundtrip, trained_model):
    report = tf_roundtrip.check(trained_model)
    assert report.passed


@pytest.mark.tf_roundtrip(formats=["keras", "checkpoint"], max_examples=10)
def test_formats_that_keep_optimizer_state(tf_roundtrip, trained_model):
    assert tf_roundtrip.check(trained_model).formats_passed == ("keras", "checkpoint")


@pytest.mark.tf_roundtrip(formats=["keras", "checkpoint"])
def test_training_resumes_exactly(tf_roundtrip, trained_model):
    # Trains copies: 4 steps, save, reload, 4 more, against 8 uninterrupted steps.
    report = tf_roundtrip.check_resume_training(trained_model, seed=0)
    assert report.formats_passed == ("keras", "checkpoint")
