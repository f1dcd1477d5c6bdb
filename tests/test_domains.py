"""Input domains of real models: nested embeddings, masks, length bounds, probing, inputs= in every call."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pytest_tfroundtrip import RoundTripUsageError, check_roundtrip
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.inputs.probing import PROBED
from pytest_tfroundtrip.inputs.strategies import example_strategy

keras_hub = pytest.importorskip("keras_hub")


def small_bert():
    keras.utils.set_random_seed(0)
    return keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=8,
                                         intermediate_dim=16, max_sequence_length=12)


def specs_of(model, **kwargs):
    return {spec.name: spec for spec in prepare_subject(model, **kwargs).subject.signature.specs}


def test_keras_hub_token_ids_segment_ids_and_mask_get_their_domains():
    specs = specs_of(small_bert())
    assert specs["token_ids"].int_range == (0, 99)
    assert "ReversibleEmbedding" in specs["token_ids"].domain_source
    assert specs["segment_ids"].int_range == (0, 1)
    assert specs["padding_mask"].role == "mask"
    assert specs["token_ids"].max_dims == (None, 12)  # the position embedding's sequence_length


def test_generated_keras_hub_inputs_stay_inside_what_the_model_accepts():
    model = small_bert()
    signature = prepare_subject(model).subject.signature

    @settings(max_examples=25, database=None, deadline=None)
    @given(example_strategy(signature, max_unknown_dim=64))
    def accepted(example):
        arrays = example.arrays
        assert arrays["token_ids"].shape[1] <= 12
        assert arrays["token_ids"].min() >= 0 and arrays["token_ids"].max() <= 99
        assert set(np.unique(arrays["padding_mask"])) <= {0, 1}
        assert (arrays["padding_mask"][:, 0] == 1).all()  # the first position of each row kept
        assert (np.diff(arrays["padding_mask"], axis=1) <= 0).all()  # then padding: no holes
        model({k: tf.constant(v) for k, v in arrays.items()}, training=False)

    accepted()


class TableLookup(keras.layers.Layer):
    """Gathers rows of a fixed table: accepts ids 0..rows-1, which no Keras layer type tells."""

    def __init__(self, rows=37, **kwargs):
        super().__init__(**kwargs)
        self.rows = rows

    def build(self, input_shape):
        self.table = self.add_weight(shape=(self.rows, 3), initializer="random_normal")

    def call(self, ids):
        return tf.reduce_sum(tf.gather(self.table, ids), axis=1)

    def get_config(self):
        return {**super().get_config(), "rows": self.rows}


def table_model():
    ids = keras.Input((4,), dtype="int32", name="ids")
    return keras.Model(ids, TableLookup(name="lookup")(ids))


def test_an_integer_range_no_layer_tells_is_found_by_calling_the_model():
    spec = specs_of(table_model())["ids"]
    assert spec.int_range == (0, 36) and spec.domain_source == PROBED


def test_the_first_call_honours_inputs_overrides():
    calls = []

    class Recording(keras.layers.Layer):
        def call(self, ids):
            calls.append(ids.shape)
            return tf.gather(tf.ones((5, 2)), ids)

    ids = keras.Input((None,), dtype="int32", name="ids")
    model = keras.Model(ids, Recording()(ids))
    calls.clear()
    override = hnp.arrays("int32", (3, 6), elements=st.integers(0, 4))
    check_roundtrip(model, formats=["savedmodel"], inputs={"ids": override}, max_examples=3, seed=0)
    eager = [tuple(shape) for shape in calls if None not in tuple(shape)]  # (None, None): the SavedModel trace
    assert eager and all(shape == (3, 6) for shape in eager)


def test_a_model_rejecting_every_input_gets_the_inputs_code_to_write():
    class NeedsPositive(keras.layers.Layer):
        def call(self, x):
            tf.debugging.assert_greater(tf.reduce_min(x), 100)
            return x

    ids = keras.Input((3,), dtype="int32", name="ids")
    model = keras.Model(ids, NeedsPositive()(ids))
    with pytest.raises(RoundTripUsageError) as raised:
        check_roundtrip(model, formats=["keras"], max_examples=2)
    message = str(raised.value)
    assert "inputs={" in message and '"ids": hnp.arrays("int32", (2, 3), elements=st.integers(' in message


def test_a_task_model_routes_each_input_to_its_own_domain_inside_the_backbone():
    keras.utils.set_random_seed(0)
    classifier = keras_hub.models.BertTextClassifier(small_bert(), num_classes=3, preprocessor=None)
    specs = specs_of(classifier)
    assert specs["token_ids"].int_range == (0, 99)
    assert specs["segment_ids"].int_range == (0, 1)  # not the token embedding's range
    assert specs["padding_mask"].role == "mask"


def test_a_statically_inferred_range_the_model_rejects_is_narrowed_by_calling_it():
    class ClipsAtTen(keras.layers.Layer):
        def call(self, ids):
            tf.debugging.assert_less(tf.reduce_max(ids), 10)
            return tf.cast(ids, "float32")

    ids = keras.Input((3,), dtype="int32", name="ids")
    embedded = keras.layers.Embedding(50, 2)(ids)
    model = keras.Model(ids, [embedded, ClipsAtTen()(ids)])
    spec = specs_of(model)["ids"]
    assert spec.int_range == (0, 9) and spec.domain_source.endswith(f"narrowed by {PROBED}")


def test_segment_ids_that_no_layer_bounds_take_sentence_a_and_b():
    class OneHotSegments(keras.layers.Layer):
        def call(self, ids):
            return tf.one_hot(ids, 2)  # out-of-range ids give zeros silently: no error to probe

    ids = keras.Input((None,), dtype="int32", name="token_type_ids")
    spec = specs_of(keras.Model(ids, OneHotSegments()(ids)))["token_type_ids"]
    assert spec.int_range == (0, 1) and spec.domain_source == "the input name 'token_type_ids'"
