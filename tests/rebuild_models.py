"""Ordinary models that users rebuild with their own code (issue 27's held-out kinds), at module level so that a
worker interpreter imports them, as it imports a user's module."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

RNG = np.random.default_rng(0)
CITIES = np.array([["paris"], ["rome"], ["oslo"], ["lima"]] * 8, dtype=object)
ROOMS = RNG.integers(1, 6, size=(32, 1))
AREA = RNG.normal(70, 20, size=(32, 1)).astype("float32")
SERIES = RNG.standard_normal((64, 24, 3)).astype("float32")
FORECAST = RNG.standard_normal((64, 1)).astype("float32")
FEATURES = RNG.standard_normal((64, 8)).astype("float32")
CLASSES = RNG.integers(0, 3, (64,))
IMAGES = RNG.random((64, 8, 8, 1)).astype("float32")
LATENT = 8


def structured_data_model() -> keras.Model:
    """A string, an integer and a float column through adapted StringLookup, IntegerLookup and Normalization."""
    city = keras.Input((1,), dtype="string", name="city")
    rooms = keras.Input((1,), dtype="int64", name="rooms")
    area = keras.Input((1,), dtype="float32", name="area")
    lookup = layers.StringLookup(output_mode="one_hot", name="city_lookup")
    lookup.adapt(CITIES)
    integers = layers.IntegerLookup(output_mode="one_hot", name="rooms_lookup")
    integers.adapt(ROOMS)
    normalization = layers.Normalization(name="area_norm")
    normalization.adapt(AREA)
    joined = layers.Concatenate()([lookup(city), integers(rooms), normalization(area)])
    hidden = layers.Dense(8, activation="relu")(joined)
    model = keras.Model({"city": city, "rooms": rooms, "area": area}, layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy")
    return model


def structured_inputs() -> dict[str, np.ndarray]:
    return {"city": CITIES, "rooms": ROOMS, "area": AREA}


def smape(y_true, y_pred):  # a plain function: not registered with Keras
    return ops.mean(ops.abs(y_true - y_pred) / (ops.abs(y_true) + ops.abs(y_pred) + 1e-3))


def forecaster() -> keras.Model:
    model = keras.Sequential([keras.Input((24, 3)), layers.LSTM(16), layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-3), loss=smape)
    return model


def lora_classifier() -> keras.Model:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu", name="d1"),
                              layers.Dense(3, activation="softmax", name="d2")])
    model.layers[0].enable_lora(4)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


class GAN(keras.Model):
    """The GAN of the Keras guide "Customizing what happens in fit()", smaller: its own compile and train_step."""

    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        import tensorflow as tf

        if isinstance(real_images, tuple):  # train_on_batch(x) hands over (x, None, None)
            real_images = real_images[0]
        batch_size = ops.shape(real_images)[0]
        latent = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        combined = ops.concatenate([self.generator(latent), real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        latent = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(ops.zeros((batch_size, 1)), self.discriminator(self.generator(latent)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def gan() -> GAN:
    discriminator = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, strides=2, padding="same"),
                                      layers.LeakyReLU(0.2), layers.GlobalMaxPooling2D(), layers.Dense(1)],
                                     name="discriminator")
    generator = keras.Sequential([keras.Input((LATENT,)), layers.Dense(64), layers.LeakyReLU(0.2),
                                  layers.Reshape((4, 4, 4)), layers.Conv2DTranspose(4, 4, strides=2, padding="same"),
                                  layers.LeakyReLU(0.2), layers.Conv2D(1, 3, padding="same", activation="sigmoid")],
                                 name="generator")
    model = GAN(discriminator=discriminator, generator=generator, latent_dim=LATENT)
    model.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4),
                  loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return model
