"""Layers and models for the backend-format tests, in a module of their own so a worker imports only them.

``TensorFlowSoftplus`` calls TensorFlow directly (not portable); ``BackendBranch``
computes something else off TensorFlow (portable code, a different model).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfroundtrip_backend_tests")
class TensorFlowSoftplus(keras.layers.Layer):
    """softplus written with ``tf.math`` instead of ``keras.ops``: runs only on TensorFlow."""

    def call(self, x: Any) -> Any:
        return tf.math.softplus(x)


@keras.saving.register_keras_serializable(package="tfroundtrip_backend_tests")
class BackendBranch(keras.layers.Layer):
    """Code that branches on the backend: 2x on TensorFlow, 2x + 0.5 anywhere else."""

    def call(self, x: Any) -> Any:
        if keras.backend.backend() == "tensorflow":
            return x * 2.0
        return x * 2.0 + 0.5


@keras.saving.register_keras_serializable(package="tfroundtrip_backend_tests")
class PositionOffsets(keras.layers.Layer):
    """Adds its feature positions, kept as an int64 weight (as SigLIP keeps ``position_ids``); sound everywhere."""

    def build(self, input_shape: Any) -> None:
        self.positions = self.add_weight(shape=(input_shape[-1],), dtype="int64", trainable=False,
                                         initializer="zeros", name="positions")
        self.positions.assign(keras.ops.arange(input_shape[-1], dtype="int64"))

    def call(self, x: Any) -> Any:
        return x + keras.ops.cast(self.positions, x.dtype)


def mlp(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def conv_net(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


def with_layer(layer: keras.layers.Layer, seed: int = 0) -> keras.Model:
    """A functional model with ``layer`` between two Dense layers."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,), name="features")
    hidden = keras.layers.Dense(8, name="before")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="after")(layer(hidden)))
