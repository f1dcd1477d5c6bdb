"""Build the everyday models of :mod:`.usecases` (imports Keras): adapted lookups, LoRA, int8, a Python loss, a GAN.

Each builder takes the recipe and whether to train: ``trained=False`` is the user's rebuild
(another weight seed; adapted again on the same data; LoRA enabled, quantized and compiled as
the trained model was), the model a user restores weights or a checkpoint into.

Example:
    >>> from pytest_tfroundtrip.generators.usecases import UseCaseRecipe
    >>> recipe = UseCaseRecipe("python_loss", seed=1, width=4, variant="dense", train_steps=1)
    >>> model = build_use_case(recipe)
    >>> model(sample_inputs(recipe, batch=2)).shape, model.loss is symmetric_percentage_error
    (TensorShape([2, 1]), True)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from pytest_tfroundtrip.generators.usecases import UseCaseRecipe

FEATURES, STEPS, VOCABULARY, LATENT, DATA_DIM, TOKENS = 3, 6, 5, 4, 6, 5


def symmetric_percentage_error(y_true: Any, y_pred: Any) -> Any:
    """A forecaster's loss written as a plain function, registered nowhere (as users write one)."""
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    return keras.ops.mean(2.0 * keras.ops.abs(y_pred - y_true) / (keras.ops.abs(y_true) + keras.ops.abs(y_pred) + 1.0),
                          axis=-1)


class GuideGAN(keras.Model):
    """The GAN of the Keras guide "Customizing what happens in fit()": two sub-models, two optimizers.

    As in the guide: its own ``compile(d_optimizer, g_optimizer, loss_fn)`` and ``train_step``, no
    ``get_config`` and no registration.  ``call`` samples the generator (what a user serves).
    """

    def __init__(self, discriminator: Any, generator: Any, latent_dim: int) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer: Any, g_optimizer: Any, loss_fn: Any) -> None:
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def call(self, latent: Any) -> Any:
        return self.generator(latent)

    def train_step(self, data: Any) -> dict[str, Any]:
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch = tf.shape(real)[0]
        latent = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(latent)
        combined = tf.concat([fake, real], axis=0)
        labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        latent = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(tf.zeros((batch, 1)), self.discriminator(self.generator(latent)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


def _optimizer(name: str) -> Any:
    return {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
            "adamw": keras.optimizers.AdamW}[name](learning_rate=0.01)


def _hidden(x: Any, recipe: UseCaseRecipe) -> Any:
    for _ in range(recipe.depth):
        x = keras.layers.Dense(recipe.width, activation="relu")(x)
    return x


# --- data ---------------------------------------------------------------------------------------------------------
def _cities() -> list[str]:
    return [f"city_{i}" for i in range(VOCABULARY)]


def _codes() -> list[int]:
    return [100 + 7 * i for i in range(VOCABULARY)]


def _adapt_data(recipe: UseCaseRecipe, for_rebuild: bool) -> dict[str, np.ndarray]:
    """What the lookups adapt on: token ``i`` appears ``i + 1`` times (so their order is fixed by frequency).

    The defective rebuild adapts on other data: the frequencies reversed, so every index moves.
    """
    reverse = for_rebuild and recipe.rebuild_defect == "adapts_on_other_data"
    counts = [VOCABULARY - i if reverse else i + 1 for i in range(VOCABULARY)]
    rng = np.random.default_rng(recipe.seed + 1000)
    numbers = rng.normal(2.0, 3.0, (32, FEATURES)) * (2.0 if reverse else 1.0)
    return {"city": np.array([[c] for c, n in zip(_cities(), counts) for _ in range(n)]),
            "code": np.array([[c] for c, n in zip(_codes(), counts) for _ in range(n)], dtype="int64"),
            "num": numbers.astype("float32")}


def _input_specs(recipe: UseCaseRecipe) -> dict[str, tuple[tuple[int, ...], str]]:
    """Input name -> (shape without batch, dtype)."""
    if recipe.kind == "lookup":
        specs: dict[str, tuple[tuple[int, ...], str]] = {"num": ((FEATURES,), "float32")}
        if recipe.variant in ("string", "both"):
            specs["city"] = ((1,), "string")
        if recipe.variant in ("integer", "both"):
            specs["code"] = ((1,), "int64")
        return specs
    if recipe.kind == "python_loss":
        return {"series": ((STEPS, FEATURES), "float32")}
    if recipe.kind == "two_optimizers":
        return {"latent": ((LATENT,), "float32")}
    if recipe.kind == "quantized" and recipe.variant == "embedding":
        return {"tokens": ((TOKENS,), "int32")}
    if recipe.kind == "lora" and recipe.variant == "einsum":
        return {"sequence": ((TOKENS, FEATURES), "float32")}
    return {"features": ((FEATURES,), "float32")}


def sample_inputs(recipe: UseCaseRecipe, batch: int = 2, seed: int = 0) -> Any:
    """Valid inputs: known and unknown tokens for lookups, ids in range for embeddings, floats in [-2, 2]."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, (shape, _dtype) in _input_specs(recipe).items():
        full = (batch, *shape)
        if name == "city":
            arrays[name] = np.array(_cities() + ["unknown_city"])[rng.integers(0, VOCABULARY + 1, full)]
        elif name == "code":
            arrays[name] = np.array(_codes() + [999], dtype="int64")[rng.integers(0, VOCABULARY + 1, full)]
        elif name == "tokens":
            arrays[name] = rng.integers(0, VOCABULARY, full).astype("int32")
        else:
            arrays[name] = rng.uniform(-2.0, 2.0, full).astype("float32")
    return arrays if recipe.kind == "lookup" else next(iter(arrays.values()))


def input_signature(recipe: UseCaseRecipe) -> Any:
    """``tf.TensorSpec`` per input, as the model is called (a dict for lookups, one tensor otherwise)."""
    specs = {name: tf.TensorSpec((None, *shape), dtype, name=name) for name, (shape, dtype) in _input_specs(recipe).items()}
    return specs if recipe.kind == "lookup" else next(iter(specs.values()))


def training_data(recipe: UseCaseRecipe, samples: int = 8, seed: int = 0) -> tuple[Any, Any]:
    """``(x, y)``: regression targets in [0, 2] (``y`` is ``None`` for the GAN: it trains on ``x`` alone)."""
    if recipe.kind == "two_optimizers":
        return np.random.default_rng(seed + 1).uniform(-1.0, 1.0, (samples, DATA_DIM)).astype("float32"), None
    x = sample_inputs(recipe, samples, seed)
    outputs = 1 if recipe.kind in ("lookup", "python_loss") else 2
    return x, np.random.default_rng(seed + 1).uniform(0.0, 2.0, (samples, outputs)).astype("float32")


# --- models -------------------------------------------------------------------------------------------------------
def _lookup_model(recipe: UseCaseRecipe, for_rebuild: bool) -> Any:
    data = _adapt_data(recipe, for_rebuild)
    inputs = {name: keras.Input(shape, dtype=dtype, name=name) for name, (shape, dtype) in _input_specs(recipe).items()}
    normalize = keras.layers.Normalization()
    normalize.adapt(data["num"])
    parts = [normalize(inputs["num"])]
    if "city" in inputs:
        cities = keras.layers.StringLookup(output_mode="one_hot")
        cities.adapt(data["city"])
        parts.append(cities(inputs["city"]))
    if "code" in inputs:
        codes = keras.layers.IntegerLookup(output_mode="one_hot")
        codes.adapt(data["code"])
        parts.append(codes(inputs["code"]))
    x = _hidden(keras.layers.Concatenate()(parts), recipe)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def _dense_model(recipe: UseCaseRecipe, outputs: int = 2) -> Any:
    (name, (shape, dtype)), = _input_specs(recipe).items()
    inputs = keras.Input(shape, dtype=dtype, name=name)
    if name == "tokens":
        x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(VOCABULARY, recipe.width)(inputs))
    elif name == "sequence":
        x = keras.layers.EinsumDense("abc,cd->abd", output_shape=(TOKENS, recipe.width), bias_axes="d")(inputs)
        x = keras.layers.Flatten()(x)
    else:
        x = inputs
    return keras.Model(inputs, keras.layers.Dense(outputs)(_hidden(x, recipe)))


def _forecaster(recipe: UseCaseRecipe) -> Any:
    inputs = keras.Input((STEPS, FEATURES), name="series")
    if recipe.variant == "lstm":
        x = keras.layers.LSTM(recipe.width)(inputs)
    elif recipe.variant == "gru":
        x = keras.layers.GRU(recipe.width)(inputs)
    else:
        x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(_hidden(x, recipe)))


def _gan(recipe: UseCaseRecipe) -> Any:
    generator = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(recipe.width, activation="relu"),
                                  keras.layers.Dense(DATA_DIM, activation="tanh")], name="generator")
    discriminator = keras.Sequential([keras.Input((DATA_DIM,)), keras.layers.Dense(recipe.width),
                                      keras.layers.LeakyReLU(negative_slope=0.2), keras.layers.Dense(1)],
                                     name="discriminator")
    gan = GuideGAN(discriminator, generator, LATENT)
    gan(np.zeros((1, LATENT), "float32"))  # sampled once, as users do: builds the model so weights can be saved
    gan.compile(d_optimizer=_optimizer(recipe.optimizer), g_optimizer=_optimizer(recipe.optimizer),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan


def build_use_case(recipe: UseCaseRecipe, trained: bool = True) -> Any:
    """The recipe's model: trained, or (``trained=False``) as the user's rebuild makes it (:func:`user_rebuild`)."""
    keras.utils.set_random_seed(recipe.seed if trained else recipe.seed + 1)
    if recipe.kind == "two_optimizers":
        model = _gan(recipe)
    else:
        model = (_lookup_model(recipe, not trained) if recipe.kind == "lookup" else
                 _forecaster(recipe) if recipe.kind == "python_loss" else _dense_model(recipe))
        if recipe.kind == "lora":
            for layer in model.layers:
                if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense)):
                    layer.enable_lora(recipe.lora_rank)
        loss = symmetric_percentage_error if recipe.kind == "python_loss" else "mse"
        model.compile(optimizer=_optimizer(recipe.optimizer), loss=loss)
    if trained:
        x, y = training_data(recipe, samples=8, seed=recipe.seed)
        for _ in range(recipe.train_steps):
            model.train_on_batch(x, y)
    if recipe.kind == "quantized" and not (not trained and recipe.rebuild_defect == "forgets_quantize"):
        model.quantize("int8")
    return model


def user_rebuild(recipe: UseCaseRecipe) -> Callable[[], Any]:
    """The zero-argument callable a user passes as ``rebuild=``: ``build_use_case(recipe, trained=False)``.

    >>> user_rebuild(UseCaseRecipe("lora", lora_rank=2)).keywords
    {'trained': False}
    """
    return functools.partial(build_use_case, recipe, trained=False)
