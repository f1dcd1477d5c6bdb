"""Example fixtures a user would write: the models their project ships."""

import keras
import numpy as np
import pytest


@pytest.fixture
def model():
    """A small MNIST-style classifier, as in the README."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


@pytest.fixture
def trained_model():
    """A compiled model trained for a few steps, with Adam state, as saved after training."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((20,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.SparseCategoricalCrossentropy())
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((64, 20)).astype("float32"), rng.integers(0, 3, 64), epochs=2, batch_size=16, verbose=0)
    return model
