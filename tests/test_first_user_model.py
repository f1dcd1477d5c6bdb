"""The first ordinary model a new user writes, and the checker bugs it exposed (issue 17).

An Embedding with ``mask_zero``, a registered custom residual layer creating its
sublayers in ``__init__`` (the pattern the Keras guides teach), compiled and
fit: every check passes on every format but the ones that genuinely cannot take
it, and each of those is reproduced here with plain Keras calls.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import (
    RoundTripError,
    available_formats,
    check_custom_objects,
    check_resume_training,
    check_roundtrip,
)
from pytest_tfroundtrip.checks.object_copy import structural_copy
from tests import models

PACKAGE = "tfroundtrip_first_user"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Residual(keras.layers.Layer):
    def __init__(self, units, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.units, self.rate = units, rate
        self.inner = keras.layers.Dense(units, activation="relu")
        self.outer = keras.layers.Dense(units)
        self.dropout = keras.layers.Dropout(rate)

    def call(self, x, training=None):
        return x + self.dropout(self.outer(self.inner(x)), training=training)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate}


def first_user_model():
    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(500, 32, mask_zero=True)(ids))
    outputs = keras.layers.Dense(3, activation="softmax")(Residual(32)(hidden))
    model = keras.Model(ids, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 500, size=(64, 10)).astype("int32"), rng.integers(0, 3, size=(64,))
    model.fit(x, y, epochs=1, verbose=0)
    return model, x, y


QUICK = ["keras", "h5", "savedmodel", "export", "weights", "checkpoint"]
# The formats that resume a sound functional model exactly, by default (orbax where orbax-checkpoint is installed).
RESUMING = tuple(name for name in ("keras", "checkpoint", "orbax") if name in available_formats())


@pytest.mark.slow  # CI budget (50 s): examples/test_custom_layer.py and test_trained_model.py run the three checks in CI
def test_the_first_user_model_passes_all_three_checks_and_h5_is_not_applicable_with_its_reason():
    model, x, y = first_user_model()
    before = models.fingerprint(model)
    roundtrip = check_roundtrip(model, max_examples=6, seed=0)
    custom = check_custom_objects(model, formats=["keras", "export"], max_examples=4, seed=0)
    resume = check_resume_training(model, x, y, seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))
    assert "h5" not in roundtrip.formats_passed and "keras" in roundtrip.formats_passed
    assert "Unknown layer: 'NotEqual'" in roundtrip.result_for("h5").skip_reason
    assert custom.passed and not custom.findings
    # orbax: not applicable (its Residual's sublayers are auto-named: the checkpoint holds 'residual/dense_1' and
    # 'residual/dense_2', a reload names them 'dense' and 'dense_1'; see tests/test_orbax.py).
    assert resume.formats_passed == ("keras", "checkpoint")
    assert "no optimizer state by design" in resume.result_for("weights").skip_reason
    assert "Unknown layer: 'NotEqual'" in resume.result_for("h5").skip_reason


def test_h5_named_is_a_failure_and_plain_keras_fails_the_same_way(tmp_path):
    model, _x, _y = first_user_model()
    with pytest.raises(RoundTripError, match="Unknown layer: 'NotEqual'"):
        check_roundtrip(model, formats=["h5"], max_examples=2, seed=0)
    with pytest.raises(RoundTripError, match="Unknown layer: 'NotEqual'"):
        check_resume_training(model, formats=["h5"], seed=0)
    model.save(tmp_path / "plain.h5")
    with pytest.raises(ValueError, match="Unknown layer: 'NotEqual'"):
        keras.models.load_model(tmp_path / "plain.h5")


def test_an_unregistered_class_stays_a_failure_of_h5_by_default():
    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Unregistered()(keras.layers.Dense(3)(inputs)))
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=None, max_examples=2, seed=0)
    report = caught.value.report
    assert report.result_for("h5").status == "failed" and report.result_for("keras").status == "failed"


def _functional(kind):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    if kind == "one_dense":
        outputs = keras.layers.Dense(2)(inputs)
    elif kind == "dense_dense_named":
        outputs = keras.layers.Dense(2, name="out")(keras.layers.Dense(4, name="hidden")(inputs))
    elif kind == "dropout":
        outputs = keras.layers.Dense(2)(keras.layers.Dropout(0.2)(keras.layers.Dense(4)(inputs)))
    elif kind == "nested":
        inner_in = keras.Input((5,))
        inner = keras.Model(inner_in, keras.layers.Dense(4)(inner_in))
        outputs = keras.layers.Dense(2)(inner(inputs))
    else:  # a keras.ops call on the input
        outputs = keras.layers.Dense(2)(keras.ops.tanh(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.MeanSquaredError(), metrics=["mae"])
    return model


@pytest.mark.parametrize("kind", ["one_dense", "nested"] + [pytest.param(kind, marks=pytest.mark.slow)  # CI budget
                                  for kind in ("dense_dense_named", "dropout", "ops_call")])
def test_resume_works_for_plain_functional_models_and_h5_is_not_applicable_with_its_reason(kind):
    report = check_resume_training(_functional(kind), seed=0)
    assert report.formats_passed == RESUMING
    assert "legacy .h5 loader" in report.result_for("h5").skip_reason


def test_plain_keras_cannot_continue_training_a_functional_model_reloaded_from_h5(tmp_path):
    model = _functional("one_dense")
    x, y = np.ones((16, 5), "float32"), np.ones((16, 2), "float32")
    model.fit(x, y, batch_size=8, verbose=0)
    model.save(tmp_path / "plain.h5")
    reloaded = keras.models.load_model(tmp_path / "plain.h5")
    with pytest.raises(ValueError, match="can only be called for the variables it was originally built with"):
        reloaded.fit(x, y, batch_size=8, verbose=0)


def test_a_structural_copy_of_a_functional_model_saves_and_reloads(tmp_path):
    model = _functional("nested")
    copy = structural_copy(model)
    copy.save(tmp_path / "copy.keras")  # raised "could not find node key <id>_ib-0" before
    x = np.ones((2, 5), "float32")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "copy.keras")(x), model(x))


@keras.saving.register_keras_serializable(package=PACKAGE)
class TabularNet(keras.Model):
    def __init__(self, widths=(8, 8), **kwargs):
        super().__init__(**kwargs)
        self.widths = list(widths)
        self.norm = keras.layers.BatchNormalization()
        self.hidden = [keras.layers.Dense(w, activation="relu") for w in self.widths]
        self.head = keras.layers.Dense(1)

    def call(self, x, training=None):
        x = self.norm(x, training=training)
        for layer in self.hidden:
            x = layer(x)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "widths": self.widths}


def test_sublayer_constructor_arguments_are_not_called_lost_training_state():
    keras.utils.set_random_seed(0)
    model = TabularNet()
    model.compile(keras.optimizers.AdamW(1e-2), "mse")
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, epochs=1, verbose=0)
    try:
        report = check_resume_training(model, x, y, formats=["keras", "checkpoint"], seed=0)
        results = report.results
    except RoundTripError as error:
        results = error.report.results
    for result in results:
        assert not any(d.kind == "state" for d in result.divergences), result.divergences
    assert results[0].status == "passed"  # keras


def test_weights_resume_exactly_with_a_stateless_optimizer():
    model = _functional("one_dense")
    model.compile(keras.optimizers.SGD(1e-2), keras.losses.MeanSquaredError())
    assert check_resume_training(model, seed=0).result_for("weights").status == "passed"


def test_weights_named_with_adam_fails_saying_why_and_plain_calls_show_the_fresh_optimizer(tmp_path):
    model = _functional("one_dense")
    with pytest.raises(RoundTripError, match="holds no optimizer state by design"):
        check_resume_training(model, formats=["weights"], seed=0)
    model.fit(np.ones((8, 5)), np.ones((8, 2)), verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    fresh = _functional("one_dense")
    fresh.load_weights(tmp_path / "m.weights.h5")
    assert int(fresh.optimizer.iterations.numpy()) == 0 and int(model.optimizer.iterations.numpy()) > 0


def test_custom_layer_with_sublayers_built_at_first_call_has_no_finding():
    model, _x, _y = first_user_model()
    report = check_custom_objects(model, formats=["keras"], max_examples=4, seed=0)
    assert report.passed, report.findings
    assert tf.executing_eagerly()
