"""Misuse gets a clear error naming what was received and how to fix it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import strategies as st

from pytest_tfroundtrip import RoundTripUsageError, check_roundtrip
from tests import models


def usage_error(model, **kwargs) -> str:
    with pytest.raises(RoundTripUsageError) as caught:
        check_roundtrip(model, **kwargs)
    return str(caught.value)


def test_non_keras_object():
    message = usage_error(lambda x: x)
    assert "takes a keras.Model, got builtins.function" in message


def test_keras_layer_is_not_a_model():
    message = usage_error(keras.layers.Dense(3))
    assert "got keras.src.layers.core.dense.Dense" in message and "Wrap layers in a model" in message


def test_unbuilt_model_without_input_signature():
    model = keras.Sequential([keras.layers.Dense(3)])
    message = usage_error(model)
    assert "is not built" in message and "input_signature=" in message


def test_unbuilt_model_with_input_signature_is_checked_on_a_copy():
    model = keras.Sequential([keras.layers.Dense(3)])
    report = check_roundtrip(model, formats=["keras"], input_signature=tf.TensorSpec((None, 5), tf.float32), max_examples=3)
    assert report.passed and "copy built from input_signature" in report.notes[0]
    assert not model.built  # building the user's model would modify it


def test_subclassed_model_without_signature():
    message = usage_error(models.subclassed())
    assert "no `model.inputs`" in message and "input_signature=tf.TensorSpec" in message


def test_unknown_format_lists_the_formats():
    message = usage_error(models.mlp(), formats=["keras", "tensorrt"])
    assert "unknown format 'tensorrt'" in message
    assert "['keras', 'h5', 'savedmodel', 'export', 'weights', 'checkpoint', 'orbax', 'tflite', 'litert', 'onnx', 'openvino', " \
           "'keras@tensorflow', 'weights@tensorflow', 'keras@jax', 'weights@jax', 'keras@torch', 'weights@torch']" in message


@pytest.mark.parametrize("formats", [[], 3, [None]])
def test_bad_formats_argument(formats):
    assert "formats" in usage_error(models.mlp(), formats=formats)


@pytest.mark.parametrize("argument", ["rtol", "atol"])
def test_negative_tolerance(argument):
    assert f"{argument} must be a number >= 0, got -0.1" in usage_error(models.mlp(), **{argument: -0.1})


def test_per_output_tolerance_naming_an_unknown_output():
    message = usage_error(models.dict_multi_io(), rtol={"logit": 1e-3})
    assert "unknown outputs ['logit']" in message and "['logits', 'score']" in message


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_bad_max_examples(value):
    assert "max_examples must be a whole number >= 1" in usage_error(models.mlp(), max_examples=value)


def test_bad_seed():
    assert "seed must be an int" in usage_error(models.mlp(), seed="zero")


def test_input_override_with_wrong_shape():
    message = usage_error(models.mlp(), inputs=np.zeros((2, 783), "float32"))
    assert "does not match the model's input" in message
    assert "dimension 1 is 783 instead of 784" in message and "received shape (2, 783)" in message


def test_input_override_with_wrong_dtype_kind():
    message = usage_error(models.dict_multi_io(), inputs={"tokens": np.full((2, 3), 0.5)})
    assert "'tokens'" in message and "would be truncated to int32" in message


def test_input_override_naming_an_unknown_input():
    message = usage_error(models.dict_multi_io(), inputs={"token": np.zeros((1, 2), "int32")})
    assert "unknown inputs ['token']" in message and "['features', 'tokens']" in message


def test_input_override_strategy_drawing_a_bad_value():
    bad = st.just(np.zeros((2, 3), "float32"))
    with pytest.raises(RoundTripUsageError, match="dimension 1 is 3 instead of 784"):
        check_roundtrip(models.mlp(), formats=["keras"], inputs=bad, max_examples=2)


def test_bare_shape_as_input_signature_says_how_to_wrap_it():
    message = usage_error(models.subclassed(), input_signature={"x": (None, 12)})
    assert "input_signature['x'] is (None, 12), which looks like a shape" in message
    assert "tf.TensorSpec(shape=(None, 12), dtype=tf.float32)" in message


def test_bad_input_signature_entry():
    message = usage_error(models.subclassed(), input_signature=["float32"])
    assert "must be a tf.TensorSpec or keras.Input, got str: 'float32'" in message


def test_model_that_rejects_generated_inputs_says_how_to_narrow_them():
    class NeedsPositive(keras.layers.Layer):
        def call(self, x):
            tf.debugging.assert_positive(x)
            return x

    model = models.with_layer(NeedsPositive())
    with pytest.raises(RoundTripUsageError, match="the model cannot be called|raised InvalidArgumentError on a generated input"):
        check_roundtrip(model, formats=["keras"], max_examples=5, seed=0)


def test_a_check_inside_a_users_given_test_says_how_to_allow_it_and_runs_once_allowed():
    import keras
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from pytest_tfroundtrip import RoundTripUsageError, check_roundtrip

    def model_of(units: int) -> keras.Model:
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(units)(inputs))

    @settings(max_examples=1, database=None, deadline=None)
    @given(st.integers(1, 3))
    def refused(units):
        check_roundtrip(model_of(units), formats=["keras"], max_examples=2, reload_in="process")

    with pytest.raises(RoundTripUsageError, match=r"suppress_health_check=\[HealthCheck.nested_given\]"):
        refused()

    @settings(max_examples=1, database=None, deadline=None, suppress_health_check=[HealthCheck.nested_given])
    @given(st.integers(1, 3))
    def allowed(units):
        assert check_roundtrip(model_of(units), formats=["keras"], max_examples=2, reload_in="process").passed

    allowed()
