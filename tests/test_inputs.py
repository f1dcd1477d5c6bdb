"""Input specs and strategies: dtypes, domains, varying shapes, overrides."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tfroundtrip import RoundTripUsageError
from pytest_tfroundtrip.inputs.domains import infer_domains
from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature, signature_from_model
from pytest_tfroundtrip.inputs.strategies import example_strategy, normalise_overrides
from tests import models


def draw_many(strategy, count=60):
    found = []

    @settings(max_examples=count, database=None)
    @given(strategy)
    def collect(example):
        found.append(example)

    collect()
    return found


def test_signature_from_functional_dict_model():
    signature = signature_from_model(models.dict_multi_io())
    assert signature.template == {"features": "features", "tokens": "tokens"}
    assert [(s.name, s.shape, s.dtype) for s in signature.specs] == [
        ("features", (None, 6), "float32"), ("tokens", (None, None), "int32"),
    ]


def test_signature_from_nested_user_signature():
    signature = signature_from_model(None, {"image": tf.TensorSpec((None, 2, 2), tf.float16),
                                            "meta": [keras.Input((3,), dtype="bool"), tf.TensorSpec((None,), tf.string)]})
    assert signature.names == ["image", "meta/0", "meta/1"]
    assert [s.dtype for s in signature.specs] == ["float16", "bool", "string"]


def test_embedding_bounds_integer_inputs():
    model = models.dict_multi_io()
    signature = infer_domains(model, signature_from_model(model))
    tokens = signature.specs[1]
    assert tokens.int_range == (0, 49) and "Embedding" in tokens.domain_source
    for example in draw_many(example_strategy(signature)):
        assert example.arrays["tokens"].min() >= 0 and example.arrays["tokens"].max() <= 49


def test_string_inputs_draw_from_the_lookup_vocabulary_plus_out_of_vocabulary():
    model = models.string_lookup_model()
    signature = infer_domains(model, signature_from_model(model))
    seen = set()
    for example in draw_many(example_strategy(signature), 80):
        seen.update(example.arrays["words"].ravel().tolist())
    assert {"cat", "dog", "bird"} <= seen
    assert seen - {"cat", "dog", "bird"}, "no out-of-vocabulary token drawn"


def test_subclassed_model_uses_its_embedding_for_integer_bounds():
    class Bag(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(7, 2)

        def call(self, ids):
            return keras.ops.mean(self.embedding(ids), axis=1)

    model = Bag()
    model(np.zeros((1, 3), "int32"))
    signature = infer_domains(model, signature_from_model(model, tf.TensorSpec((None, 3), tf.int32)))
    assert signature.specs[0].int_range == (0, 6)


def test_batch_and_unknown_dimensions_vary_and_values_cover_wide_ranges():
    signature = ModelSignature("x", (InputSpec("x", (None, None, 3), "float32"),))
    examples = draw_many(example_strategy(signature), 100)
    batches = {e.arrays["x"].shape[0] for e in examples}
    lengths = {e.arrays["x"].shape[1] for e in examples}
    assert len(batches) >= 4 and max(batches) > 1
    assert len(lengths) >= 4
    magnitudes = [np.abs(e.arrays["x"]).max() for e in examples]
    assert max(magnitudes) >= 1e3
    assert any(np.all(e.arrays["x"] == 0) for e in examples) or any(np.any(e.arrays["x"] == 1.0) for e in examples)


@pytest.mark.parametrize("dtype", ["float16", "float64", "int8", "uint8", "bool"])
def test_every_dtype_is_generated_with_its_own_dtype(dtype):
    signature = ModelSignature("x", (InputSpec("x", (None, 2), dtype),))
    signature = infer_domains(keras.Sequential([keras.Input((2,))]), signature)
    for example in draw_many(example_strategy(signature), 20):
        array = example.arrays["x"]
        assert array.dtype == np.dtype(dtype)
        if dtype.startswith("float"):
            assert np.all(np.isfinite(array))


def test_overrides_take_arrays_or_strategies_and_fix_the_batch():
    model = models.dict_multi_io()
    signature = infer_domains(model, signature_from_model(model))
    fixed = np.arange(12, dtype="float32").reshape(2, 6)
    overrides = normalise_overrides(signature, {"features": fixed})
    for example in draw_many(example_strategy(signature, overrides), 10):
        np.testing.assert_array_equal(example.arrays["features"], fixed)
        assert example.arrays["tokens"].shape[0] == 2  # generated inputs follow the given batch
    strategy = st.integers(1, 3).map(lambda n: np.full((n, 6), 7.0, "float32"))
    overrides = normalise_overrides(signature, {"features": strategy})
    assert all(np.all(e.arrays["features"] == 7.0) for e in draw_many(example_strategy(signature, overrides), 10))


def test_inputs_in_the_wrong_structure_are_rejected_by_name():
    signature = signature_from_model(models.dict_multi_io())
    with pytest.raises(RoundTripUsageError, match=r"inputs must match the model's inputs, dict\(features, tokens\)"):
        signature.by_name([np.zeros((1, 6)), np.zeros((1, 2))])
    with pytest.raises(RoundTripUsageError, match=r"inputs are missing \['tokens'\]"):
        signature.by_name({"features": np.zeros((1, 6)), "other": np.zeros((1, 2))})
    single = signature_from_model(models.mlp())
    assert list(single.by_name(np.zeros((1, 784)))) == single.names
