"""Say what did not survive: weights compared by path, and the first layer whose output differs."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, check_roundtrip
from pytest_tfroundtrip.results.weights import compare_weights
from tests import models


@keras.saving.register_keras_serializable(package="tfroundtrip_diagnosis")
class BlocksBuiltLater(keras.layers.Layer):
    """Creates its sub-layers in build(), into a list: tf.train.Checkpoint then restores none of them."""

    def __init__(self, depth=2, units=4, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.units = depth, units

    def build(self, input_shape):
        self.blocks = []
        for index in range(self.depth):
            block = keras.layers.Dense(self.units, name=f"block_{index + 1}")
            block.build((None, self.units))
            self.blocks.append(block)
        self.built = True

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "units": self.units}


def blocks_model():
    keras.utils.set_random_seed(0)
    x = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(4, name="first")(x)
    return keras.Model(x, keras.layers.Dense(2, name="head")(BlocksBuiltLater(name="stack")(hidden)))


def test_plain_tensorflow_checkpoint_silently_leaves_the_blocks_unrestored(tmp_path):
    model = blocks_model()
    tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    rebuilt = keras.Model.from_config(model.get_config())
    status = tf.train.Checkpoint(model=rebuilt).read(tf.train.latest_checkpoint(str(tmp_path)))
    status.assert_existing_objects_matched()  # no complaint...
    x = np.ones((2, 4), "float32")
    assert np.abs(model(x) - rebuilt(x)).max() > 0.05  # ...yet the outputs differ


@pytest.mark.parametrize("seed", range(5))
def test_unrestored_checkpoint_weights_are_named_with_the_first_differing_layer(seed):
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(blocks_model(), formats=["checkpoint"], seed=seed)
    failure = raised.value.report.result_for("checkpoint").failure
    assert failure.weights.not_restored == ("stack/block_1/kernel", "stack/block_2/kernel")
    assert failure.first_differing_layer == "stack"
    message = str(raised.value)
    assert "2 of 8 weights were not restored by tf.train.Checkpoint (still at their initial values), e.g. 'stack/block_1/kernel'" in message
    assert "first layer whose output differs on that input: 'stack'" in message


def test_formats_that_restore_every_weight_report_no_weight_difference():
    report = check_roundtrip(blocks_model(), formats=["keras", "weights"], max_examples=3, seed=0)
    assert report.formats_passed == ("keras", "weights")


def test_weights_are_matched_by_position_when_paths_differ():
    original = [("dense_3/kernel", np.ones(2)), ("dense_3/bias", np.zeros(2))]
    reloaded = [("dense_9/kernel", np.ones(2)), ("dense_9/bias", np.ones(2))]
    diff = compare_weights(original, reloaded, "load_weights")
    assert diff.differing == (("dense_3/bias", 1.0),)
    assert not diff.not_restored


def test_weights_created_in_hash_order_under_other_layer_counters_are_paired_by_name():
    """Property seed 155: another interpreter numbers the layers otherwise and creates a layer's weights in
    another (hash) order; pairing by position called correctly restored weights "not restored"."""
    original = [("set_ordered_terms_123/tanh", np.full(4, 1.0)), ("set_ordered_terms_123/shift", np.full(4, 2.0)),
                ("spectral_normalization_6/dense_99/kernel", np.ones((4, 2)))]
    reloaded = [("set_ordered_terms_124/shift", np.full(4, 2.0)), ("set_ordered_terms_124/tanh", np.full(4, 1.0)),
                ("spectral_normalization_7/dense_100/kernel", np.ones((4, 2)))]
    assert compare_weights(original, reloaded, "tf.train.Checkpoint").ok
    # as seed 155 reloads: the same counters, and the wrapped layer's weights outside its wrapper's name
    same_counters = [("set_ordered_terms_123/shift", np.full(4, 2.0)), ("set_ordered_terms_123/tanh", np.full(4, 1.0)),
                     ("dense_99/kernel", np.ones((4, 2)))]
    assert compare_weights(original, same_counters, "tf.train.Checkpoint").ok
    # a weight that really differs is still named, under its own path
    reloaded[0] = ("set_ordered_terms_124/shift", np.full(4, 9.0))
    assert compare_weights(original, reloaded, "tf.train.Checkpoint").differing == (("set_ordered_terms_123/shift", 7.0),)


def test_paths_that_agree_by_accident_do_not_pair_layers_by_their_shifted_counters():
    """Property seed 6 under JAX: the warm worker named the reloaded layers 'dense_1', 'dense_2' (it had reloaded
    models before), the original's are 'dense', 'dense_1'; pairing the shared 'dense_1' path compared the second
    layer with the first and called a correct reload "4 of 4 weights differ" (outputs agreed)."""
    first, second = np.ones((2, 3)), np.full((2, 3), 5.0)
    original = [("m/dense/kernel", first), ("m/dense_1/kernel", second)]
    assert compare_weights(original, [("m/dense_1/kernel", first), ("m/dense_2/kernel", second)], "load_model").ok
    swapped = compare_weights(original, [("m/dense_1/kernel", second), ("m/dense_2/kernel", first)], "load_model")
    assert [path for path, _error in swapped.differing] == ["m/dense/kernel", "m/dense_1/kernel"]  # still caught


def test_missing_and_unexpected_weights_are_named():
    original = [("a/kernel", np.ones(2)), ("b/kernel", np.ones(3))]
    reloaded = [("a/kernel", np.ones(2)), ("c/kernel", np.ones(4)), ("d/kernel", np.ones(1))]
    diff = compare_weights(original, reloaded, "load_model")
    assert diff.missing == ("b/kernel",) and diff.unexpected == ("c/kernel", "d/kernel")
    assert not diff.ok


@keras.saving.register_keras_serializable(package="tfroundtrip_diagnosis")
class SubclassedHost(keras.Model):
    """A subclassed model holding a layer whose raw tf.Variable no Keras file saves."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from tests.mutations import defect_layers

        self.first = keras.layers.Dense(6)
        self.untracked = defect_layers.raw_variable_gain()
        self.last = keras.layers.Dense(3)

    def call(self, x):
        return self.last(self.untracked(self.first(x)))


def test_a_subclassed_model_names_the_first_differing_layer_and_is_left_as_it_was():
    keras.utils.set_random_seed(0)
    model = SubclassedHost()
    model(np.zeros((2, 6), "float32"))
    before = models.fingerprint(model)
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["keras"], input_signature=tf.TensorSpec((None, 6)), max_examples=3, seed=0)
    assert caught.value.report.result_for("keras").failure.first_differing_layer == model.untracked.name
    models.assert_same_fingerprint(before, models.fingerprint(model))
    assert not any("call" in vars(layer) for layer in model._flatten_layers())  # the recording wrappers are gone
