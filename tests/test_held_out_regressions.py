"""Regression tests for the bugs found on held-out models nobody here wrote a test for (issue 17).

Each test names the bug; each expected failure is reproduced with plain Keras calls.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import (
    RoundTripError,
    RoundTripInternalError,
    check_custom_objects,
    check_roundtrip,
)

PACKAGE = "tfroundtrip_held_out"


def uint8_convnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    images = keras.Input((8, 8, 3), dtype="uint8")
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(images))
    return keras.Model(images, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(hidden)))


def test_uint8_images_pass_every_format_with_values_the_dtype_holds():
    report = check_roundtrip(uint8_convnet(), formats=["keras", "export", "weights", "tflite"], max_examples=5, seed=0)
    assert report.formats_passed == ("keras", "export", "weights", "tflite")


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int16"])
def test_small_integer_inputs_into_a_large_embedding_stay_inside_the_dtype(dtype):
    keras.utils.set_random_seed(0)
    ids = keras.Input((4,), dtype=dtype)
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Embedding(70000, 3)(ids))))
    report = check_roundtrip(model, formats=["keras"], max_examples=5, seed=0)
    assert report.formats_passed == ("keras",)


def test_a_crash_inside_the_checker_is_an_internal_error_never_a_finding(monkeypatch):
    from pytest_tfroundtrip.checks import roundtrip

    def crash(*args, **kwargs):
        raise OverflowError("Python integer 1000 out of bounds for uint8")

    monkeypatch.setattr(roundtrip, "prepare_subject", crash)
    with pytest.raises(RoundTripInternalError, match="not a finding about your model") as caught:
        check_roundtrip(uint8_convnet(), formats=["keras"])
    assert not isinstance(caught.value, AssertionError)
    assert isinstance(caught.value.__cause__, OverflowError)
