"""Defects in corners of the input space, caught by the targeted phase whatever the seed.

Each defect is first reproduced with plain Keras calls, so the test proves it
is genuine, then caught by ``check_roundtrip`` with the default example count
for 5 seeds.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, check_roundtrip
from pytest_tfroundtrip.inputs.strategies import MAX_BATCH, MAX_UNKNOWN_DIM
from tests import models

PACKAGE = "tfroundtrip_targeted"
SEEDS = range(5)
BUILD_BATCH = 12  # beyond the random search's batch sizes (at most MAX_BATCH)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CalibratedScale(keras.Model):
    """``call`` is a tf.function reading ``self.scale`` at trace time; the scale is calibrated after the first call.

    The trace made at the first call's batch size keeps the old scale; every
    other batch size retraces with the new one; a reloaded model uses the new
    one everywhere.  So the reload differs only at the build batch size.
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.dense = keras.layers.Dense(3, name="dense")

    @tf.function
    def call(self, x):
        return self.dense(x) * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def calibrated_model():
    keras.utils.set_random_seed(0)
    model = CalibratedScale()
    model(np.zeros((BUILD_BATCH, 4), "float32"))  # traced at batch 12
    model.scale = 3.0  # calibrated afterwards: the batch-12 trace still multiplies by 1.0
    return model


@keras.saving.register_keras_serializable(package=PACKAGE)
class TruncatedSum(keras.layers.Layer):
    """Sums the first ``max_length`` steps; get_config forgets ``max_length`` (a reload gets 16)."""

    def __init__(self, max_length=16, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def call(self, x):
        return tf.reduce_sum(x[:, : self.max_length], axis=1)

    def get_config(self):
        return super().get_config()  # the defect: max_length is not saved


def long_sequence_model():
    steps = keras.Input((None, 2), name="steps")
    return keras.Model(steps, TruncatedSum(max_length=40)(steps))


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillMissing(keras.layers.Layer):
    """Replaces NaN with ``fill``; get_config forgets ``fill`` (a reload fills 0)."""

    def __init__(self, fill=0.0, **kwargs):
        super().__init__(**kwargs)
        self.fill = fill

    def call(self, x):
        return tf.where(tf.math.is_nan(x), tf.cast(self.fill, x.dtype), x)

    def get_config(self):
        return super().get_config()  # the defect: fill is not saved


def missing_values_model():
    features = keras.Input((6,), name="features")
    return keras.Model(features, keras.layers.Dense(2)(FillMissing(fill=-1.0)(features)))


def reloaded_through_keras(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.models.load_model(path)


def test_plain_keras_reproduces_each_corner_defect(tmp_path):
    calibrated = calibrated_model()
    reloaded = reloaded_through_keras(calibrated, tmp_path)
    at_build, elsewhere = np.ones((BUILD_BATCH, 4), "float32"), np.ones((MAX_BATCH, 4), "float32")
    assert np.abs(calibrated(at_build) - reloaded(at_build)).max() > 0.1
    assert np.abs(calibrated(elsewhere) - reloaded(elsewhere)).max() == 0

    long_model = long_sequence_model()
    reloaded = reloaded_through_keras(long_model, tmp_path)
    short, long = np.ones((2, MAX_UNKNOWN_DIM, 2), "float32"), np.ones((2, 40, 2), "float32")
    assert np.abs(long_model(short) - reloaded(short)).max() == 0
    assert np.abs(long_model(long) - reloaded(long)).max() > 1

    filling = missing_values_model()
    reloaded = reloaded_through_keras(filling, tmp_path)
    finite, missing = np.ones((2, 6), "float32"), np.full((2, 6), np.nan, "float32")
    assert np.abs(filling(finite) - reloaded(finite)).max() == 0
    assert np.abs(filling(missing) - reloaded(missing)).max() > 0.01


@pytest.mark.parametrize("seed", SEEDS)
def test_a_trace_specialised_at_the_build_batch_size_is_caught(seed):
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(calibrated_model(), formats=["keras"], input_signature=tf.TensorSpec((None, 4), tf.float32),
                        seed=seed)
    failure = raised.value.report.result_for("keras").failure
    assert failure.stage == "mismatch" and f"shape ({BUILD_BATCH}, 4)" in failure.input_summary


@pytest.mark.parametrize("seed", SEEDS)
def test_a_defect_visible_only_on_long_sequences_is_caught(seed):
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(long_sequence_model(), formats=["keras"], seed=seed)
    failure = raised.value.report.result_for("keras").failure
    length = int(failure.input_summary.split("shape (")[1].split(",")[1])
    assert length > 16  # only sequences longer than the forgotten max_length show it


@pytest.mark.parametrize("seed", SEEDS)
def test_a_defect_visible_only_on_nan_inputs_is_caught(seed):
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(missing_values_model(), formats=["keras"], seed=seed)
    assert "nonfinite" in raised.value.report.result_for("keras").failure.input_summary


def test_finite_inputs_turns_non_finite_probing_off():
    report = check_roundtrip(missing_values_model(), formats=["keras"], finite_inputs=["features"], seed=0)
    assert report.passed  # the NaN-only defect is not looked for, as asked


def test_tflite_spreads_nan_differently_from_eager_keras_within_the_nan_sample_only(tmp_path):
    """Why the non-finite rule exists: measured on a sound conv net, with plain TensorFlow calls."""
    model = models.small_convnet()
    model.export(str(tmp_path / "export"), verbose=False)
    converted = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "export")).convert()
    interpreter = tf.lite.Interpreter(model_content=converted)
    x = np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype("float32")
    x[0, 0, 1, 2] = np.nan  # the first sample has one missing value; the second is finite
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], x.shape)
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    tflite_out = next(iter(runner(**{next(iter(runner.get_input_details())): x}).values()))
    eager_out = model(x, training=False).numpy()
    assert not np.array_equal(np.isnan(eager_out[0]), np.isnan(tflite_out[0]))  # NaN spreads differently
    np.testing.assert_allclose(eager_out[1], tflite_out[1], rtol=1e-5, atol=1e-6)  # the finite sample agrees


@pytest.mark.parametrize("seed", SEEDS)
def test_sound_conv_nets_pass_under_the_non_finite_rule(seed):
    report = check_roundtrip(models.small_convnet(), formats=["keras", "savedmodel", "tflite"], seed=seed)
    assert report.formats_passed == ("keras", "savedmodel", "tflite")


def test_pins_that_a_given_batch_makes_identical_yield_one_example():
    from pytest_tfroundtrip.checks.subject import prepare_subject
    from pytest_tfroundtrip.inputs.strategies import example_strategy
    from pytest_tfroundtrip.inputs.targeted import ShapeHints, targeted_examples, targeted_pins

    prepared = prepare_subject(models.mlp(), inputs=np.zeros((3, 784), "float32"))
    signature = prepared.subject.signature
    pins = targeted_pins(signature, prepared.given, ShapeHints(batches=(5,)))
    examples = targeted_examples(pins, lambda pin: example_strategy(signature, prepared.overrides, pin=pin))
    assert len(pins) > 1 and len(examples) == 1  # every pin is overridden by the given array
