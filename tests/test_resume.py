"""Resume-training check: exact resumption, divergence caught and explained."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, RoundTripUsageError, check_resume_training
from pytest_tfroundtrip.formats import get_format
from tests import models

OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-2),
    "sgd_momentum": lambda: keras.optimizers.SGD(1e-2, momentum=0.9),
    "adam_schedule": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=2, decay_rate=0.5)),
}


def compiled(optimizer, *, dropout=True, extra_layer=None):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.BatchNormalization()]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    if extra_layer is not None:
        layers.append(extra_layer)
    model = keras.Sequential(layers + [keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    return model


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_keras_and_checkpoint_resume_exactly(optimizer):
    model = compiled(OPTIMIZERS[optimizer]())
    before = models.fingerprint(model)
    report = check_resume_training(model, formats=["keras", "checkpoint"], seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))
    assert report.formats_passed == ("keras", "checkpoint")
    for result in report.results:
        assert result.max_weight_error == 0.0 and result.max_optimizer_error == 0.0
        assert result.reference_losses == result.resumed_losses


def test_weights_file_into_a_fresh_optimizer_diverges_with_an_explanation():
    model = compiled(OPTIMIZERS["adam"]())
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, formats=["keras", "weights"], steps_before=4, seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))
    report = caught.value.report
    assert report.formats_passed == ("keras",)
    weights = report.result_for("weights")
    assert weights.first_divergence.startswith("a 'weights' file holds no optimizer state by design")
    assert weights.divergences[1].message == "optimizer.iterations is 0 after reload (expected 4): optimizer state was not restored"
    text = str(caught.value)
    assert "the reloaded optimizer has no slot variables" in text and "Adam first moment" in text
    # The loss of step 5 is computed before its update: the fresh optimizer shows from step 6.
    assert "loss differs from step 6 on" in text


@pytest.mark.slow  # CI budget
def test_learning_rate_schedule_position_lost_is_named():
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(compiled(OPTIMIZERS["adam_schedule"]()), formats=["weights"], seed=0)
    assert "learning rate differs from step 5 on" in str(caught.value)
    assert "the schedule position was not restored" in str(caught.value)


class WarmupCounter(keras.layers.Layer):
    """Training-only state in a raw tf.Variable that Keras does not track."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.steps_seen = tf.Variable(0.0, trainable=False)

    def call(self, x, training=False):
        if training:
            self.steps_seen.assign_add(1.0)
        return x * (1.0 + 0.1 * self.steps_seen)


keras.saving.register_keras_serializable(package=models.PACKAGE)(WarmupCounter)


def test_custom_layer_training_state_that_the_format_does_not_save_is_named():
    model = compiled(keras.optimizers.SGD(1e-2), dropout=False, extra_layer=WarmupCounter(name="warmup"))
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, formats=["keras", "checkpoint"], seed=0)
    report = caught.value.report
    # tf.train.Checkpoint tracks the raw variable as an attribute; the .keras archive does not.
    assert report.formats_passed == ("checkpoint",)
    assert report.result_for("keras").first_divergence == (
        "layer 'warmup' attribute 'steps_seen' is 0.0 after reload (was 4.0): "
        "layer 'warmup' holds training state that the format does not save"
    )


def test_dropout_rng_not_kept_by_any_format_is_aligned_and_noted():
    report = check_resume_training(compiled(OPTIMIZERS["adam"]()), formats=["keras"], seed=0)
    assert "dropout RNG state" in report.result_for("keras").notes[0]


@pytest.mark.slow  # CI budget
def test_inference_only_formats_skip_by_default_and_fail_when_named():
    report = check_resume_training(compiled(OPTIMIZERS["sgd_momentum"](), dropout=False), seed=1)
    assert report.formats_passed == ("keras", "checkpoint")  # h5 and weights: see the tests above and below
    assert "legacy .h5 loader" in report.result_for("h5").skip_reason  # its limit: test_first_user_model.py
    assert "no optimizer state by design" in report.result_for("weights").skip_reason
    for name in ("savedmodel", "export", "tflite"):
        assert report.result_for(name).status == "skipped"
    with pytest.raises(RoundTripError, match="format 'savedmodel' cannot resume training"):
        check_resume_training(compiled(OPTIMIZERS["sgd_momentum"](), dropout=False), formats=["savedmodel", "keras"])


def test_user_model_is_unchanged_and_given_data_is_used():
    model = compiled(OPTIMIZERS["adam"]())
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 6)).astype("float32"), rng.standard_normal((64, 2)).astype("float32")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # a model with real optimizer state
    before = models.fingerprint(model)
    report = check_resume_training(model, x, y, formats=["keras", "checkpoint"], steps_before=3, steps_after=3, batch_size=8)
    assert report.passed
    models.assert_same_fingerprint(before, models.fingerprint(model))


def test_sparse_categorical_targets_are_generated_for_classifiers():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy())
    assert check_resume_training(model, formats=["keras"], seed=0).passed


def test_misuse():
    model = models.mlp()
    with pytest.raises(RoundTripUsageError, match="is not compiled"):
        check_resume_training(model)
    model = compiled(OPTIMIZERS["adam"]())
    with pytest.raises(RoundTripUsageError, match="steps_before must be a whole number >= 1, got 0"):
        check_resume_training(model, steps_before=0)
    with pytest.raises(RoundTripUsageError, match="x/y hold 10 samples but 8 steps of batch_size 8 need 64"):
        check_resume_training(model, np.zeros((10, 6), "float32"), np.zeros((10, 2), "float32"))
    with pytest.raises(RoundTripUsageError, match=r"x must match the model's inputs, tensor"):
        check_resume_training(model, {"a": np.zeros((64, 6), "float32")}, np.zeros((64, 2), "float32"))
    with pytest.raises(RoundTripUsageError, match="pass both x and y"):
        check_resume_training(model, np.zeros((64, 6), "float32"))


def test_legacy_h5_cannot_continue_training_on_keras_3():
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(compiled(OPTIMIZERS["sgd_momentum"](), dropout=False), formats=["h5"], seed=0)
    first = caught.value.report.result_for("h5").first_divergence
    assert first.startswith("training cannot continue after reload: ValueError: Unknown variable")


@keras.saving.register_keras_serializable(package="tfroundtrip_resume")
class ForgetfulWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak``; get_config forgets ``peak`` (a reload warms up to 1e-3)."""

    def __init__(self, peak=1e-3, warmup_steps=8):
        self.peak, self.warmup_steps = peak, warmup_steps

    def __call__(self, step):
        progress = keras.ops.minimum(keras.ops.cast(step + 1, "float32") / self.warmup_steps, 1.0)
        return self.peak * progress

    def get_config(self):
        return {"warmup_steps": self.warmup_steps}  # the defect: peak is not saved


def warmup_model():
    return compiled(keras.optimizers.Adam(ForgetfulWarmup(peak=0.05)))


def test_plain_keras_loses_the_schedule_argument_in_the_keras_file(tmp_path):
    model = warmup_model()
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05 / 8)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(1e-3 / 8)


@pytest.mark.parametrize("seed", [0, 1] + [pytest.param(seed, marks=pytest.mark.slow) for seed in range(2, 5)])  # CI budget
def test_a_schedule_whose_config_loses_an_argument_is_caught_by_the_resume_check(seed):
    model = warmup_model()
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, formats=["keras"], seed=seed)
    models.assert_same_fingerprint(before, models.fingerprint(model))
    assert "learning rate differs from step 5 on" in str(caught.value)


def functional_warmup_model():
    """``warmup_model`` as a functional model: Keras 3.15's Orbax checkpoint restores a Sequential model's weights to
    none of its variables (tests/test_orbax.py), which would hide the schedule's defect behind that one."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(ForgetfulWarmup(peak=0.05)), loss=keras.losses.MeanSquaredError())
    return model


@pytest.mark.skipif(get_format("orbax").unavailable_reason() is not None, reason="orbax-checkpoint is not installed")
def test_a_schedule_whose_config_loses_an_argument_is_caught_on_orbax_as_on_keras(tmp_path):
    model = functional_warmup_model()
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, formats=["keras", "orbax"], seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))
    for name in ("keras", "orbax"):
        assert caught.value.report.result_for(name).status == "failed"
    assert str(caught.value).count("learning rate differs from step 5 on") == 2
    # Plain calls: the checkpoint OrbaxCheckpoint writes during fit reloads with the schedule's default peak.
    x, y = np.zeros((8, 6), "float32"), np.zeros((8, 2), "float32")
    model = functional_warmup_model()
    model.fit(x, y, batch_size=8, verbose=0, callbacks=[keras.callbacks.OrbaxCheckpoint(directory=str(tmp_path / "ckpt"))])
    reloaded = keras.models.load_model(tmp_path / "ckpt")
    assert int(reloaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05 * 2 / 8)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(1e-3 * 2 / 8)


class TargetsOfItsOwn(keras.Model):
    """A loss that reads ``y["target"]`` (as RetinaNet's reads boxes and labels): drawn output-shaped targets cannot train it."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean((y_pred - y["target"]) ** 2)


def _targets_of_its_own() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = TargetsOfItsOwn(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam")
    return model


def test_a_model_the_drawn_targets_cannot_train_is_a_usage_error_naming_the_data_never_a_finding_or_ours():
    from pytest_tfroundtrip.errors import TrainingDataUnsuitable

    with pytest.raises(TrainingDataUnsuitable, match=r"before any save.*needs x= and y=") as caught:
        check_resume_training(_targets_of_its_own(), formats=["keras"], seed=0)
    assert isinstance(caught.value, RoundTripUsageError) and not isinstance(caught.value, AssertionError)
    # Plain calls: output-shaped targets cannot train it; the targets its loss reads can.
    x = np.ones((8, 4), "float32")
    with pytest.raises(Exception):
        _targets_of_its_own().train_on_batch(x, np.ones((8, 2), "float32"))
    _targets_of_its_own().train_on_batch(x, {"target": np.ones((8, 2), "float32")})
