"""tf_keras (Keras 2) models for the tests, and the same architectures in Keras 3 for cross-version baselines."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import keras
import tf_keras

PACKAGE = "tfroundtrip_keras2_tests"


@tf_keras.saving.register_keras_serializable(package=PACKAGE)
class ForgetfulScale(tf_keras.layers.Layer):
    """Defect, Keras 2 edition: get_config forgets `factor`, so a reload uses the default 1.0."""

    def __init__(self, factor: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}  # no "factor"


@tf_keras.saving.register_keras_serializable(package=PACKAGE)
class Doubler(tf_keras.Model):
    """A registered subclassed tf_keras model: no graph to save as HDF5."""

    def __init__(self, units: int = 3, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self.dense = tf_keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x) * 2.0

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def mlp(k: ModuleType = tf_keras, functional: bool = False) -> Any:
    """A small MLP in ``k`` (``tf_keras`` or ``keras``); Sequential or functional."""
    k.utils.set_random_seed(0)
    if not functional:
        return k.Sequential([k.Input((6,)), k.layers.Dense(5, activation="relu"), k.layers.Dense(3)])
    inputs = k.Input((6,))
    hidden = k.layers.Dense(5, activation="relu")(inputs)
    return k.Model(inputs, k.layers.Dense(3)(hidden))


def lstm_classifier(k: ModuleType = tf_keras) -> Any:
    """Token ids -> Embedding -> LSTM -> Dense, in ``k``."""
    k.utils.set_random_seed(0)
    ids = k.Input((7,), dtype="int32")
    hidden = k.layers.LSTM(3)(k.layers.Embedding(20, 4)(ids))
    return k.Model(ids, k.layers.Dense(2)(hidden))


def forgetful_model() -> Any:
    tf_keras.utils.set_random_seed(0)
    return tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(3), ForgetfulScale(3.0)])


def same_weights_in_keras3(old: Any, build: Any) -> Any:
    """The same architecture built with Keras 3, holding the tf_keras model's weights: a project after migrating."""
    new = build(keras)
    new.set_weights(old.get_weights())
    return new
