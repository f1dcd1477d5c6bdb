"""Layers whose traced call differs from their eager call: for the tests of conversions made from a twin.

In a module of their own (not a test module) so a worker interpreter imports only them.  The checker calls
Keras models eagerly; ``model.export`` and the converters built on it trace the call.  A layer that computes
something else when traced makes the export differ from the model while the ``.keras`` round trip passes bit
for bit: the case where a twin could stand in for the original, and where it must not hide anything.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

PACKAGE = "tfroundtrip_twin_tests"


@keras.saving.register_keras_serializable(package=PACKAGE)
class OffByOneWhenTraced(keras.layers.Layer):
    """Adds 1 when traced: the original's export and any twin's export alike differ from the model."""

    def call(self, x: Any) -> Any:
        return x if tf.executing_eagerly() else x + 1.0


@keras.saving.register_keras_serializable(package=PACKAGE)
class GainWhenTraced(keras.layers.Layer):
    """Multiplies by ``gain`` when traced; ``gain`` is no constructor argument: a user sets it on the built layer.

    A reload has the default 1.0, so its export would match the model while the original's does not.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gain = 1.0

    def call(self, x: Any) -> Any:
        return x if tf.executing_eagerly() else x * self.gain


@keras.saving.register_keras_serializable(package=PACKAGE)
class DropsInside(keras.layers.Layer):
    """Holds a Dropout it creates itself, as keras-hub's blocks do: its name is automatic ("dropout_37"), so it
    depends on how many Dropout layers the process created before, and no config records it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dropout = keras.layers.Dropout(0.1)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.dropout(x, training=training)


def model_with(layer: keras.layers.Layer, features: int = 4) -> keras.Model:
    """``Dense`` then ``layer``: a functional model whose export traces ``layer``."""
    inputs = keras.Input((features,), name="x")
    return keras.Model(inputs, layer(keras.layers.Dense(features, name="dense")(inputs)), name=f"with_{layer.name}")
