"""Models for the tests: sound ones, and ones with deliberate round-trip defects."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

PACKAGE = "tfroundtrip_tests"


def mlp() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def dict_multi_io() -> keras.Model:
    """Dict inputs (float + token ids through an Embedding), two named outputs."""
    keras.utils.set_random_seed(0)
    features = keras.Input((6,), name="features")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    embedded = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 4)(tokens))
    hidden = keras.layers.Concatenate()([features, embedded])
    return keras.Model(
        {"features": features, "tokens": tokens},
        {"logits": keras.layers.Dense(3, name="logits")(hidden), "score": keras.layers.Dense(1, name="score")(hidden)},
    )


def list_multi_output() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,), name="x")
    return keras.Model(inputs, [keras.layers.Dense(2, name="p")(inputs), keras.layers.Dense(3, name="q")(inputs)])


def small_convnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(4),
    ])


def string_lookup_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    words = keras.Input((3,), dtype="string", name="words")
    ids = keras.layers.StringLookup(vocabulary=["cat", "dog", "bird"])(words)
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(5, 2)(ids))
    return keras.Model(words, keras.layers.Dense(1)(pooled))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SubclassedClassifier(keras.Model):
    def __init__(self, units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.out = keras.layers.Dense(3)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.out.build((*input_shape[:-1], self.units))

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def subclassed(first_batch: int | None = None) -> keras.Model:
    """Built with a None batch dimension (sound) or by a first call on a fixed batch."""
    keras.utils.set_random_seed(0)
    model = SubclassedClassifier()
    if first_batch is None:
        model.build((None, 12))
    else:
        model(np.zeros((first_batch, 12), "float32"))
    return model


SUBCLASSED_SIGNATURE = tf.TensorSpec((None, 12), tf.float32)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Scale(keras.layers.Layer):
    """A sound custom layer: weights created in build, every argument in get_config."""

    def __init__(self, factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="gain")

    def call(self, x):
        return x * self.gain * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ForgetfulScale(Scale):
    """Defect: get_config forgets `factor`, so a reload uses the default 1.0."""

    def get_config(self):
        config = super().get_config()
        del config["factor"]
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class ForgetfulClip(keras.layers.Layer):
    """Defect that shows only on large inputs: `limit` is not in the config."""

    def __init__(self, limit: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, x):
        return x if self.limit is None else keras.ops.clip(x, -self.limit, self.limit)

    def get_config(self):
        config = super().get_config()  # Keras 3 captures `limit` automatically...
        config.pop("limit", None)  # ...and this defect drops it.
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class NoisyAtInference(keras.layers.Layer):
    """Non-deterministic at inference: adds unseeded noise even when training=False."""

    def call(self, x):
        return x + tf.random.normal(tf.shape(x))


def with_layer(layer: keras.layers.Layer, features: int = 4) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((features,))
    return keras.Model(inputs, keras.layers.Dense(3)(layer(inputs)))


@keras.saving.register_keras_serializable(package=PACKAGE)
class CentreUnlessSingleSample(keras.layers.Layer):
    """Defect of traced artifacts: a Python branch on the static batch size.

    Eagerly a batch of 1 passes through unchanged; a trace with an unknown
    batch (every export) always takes the centring branch.
    """

    def call(self, x):
        if x.shape[0] == 1:
            return x
        return x - keras.ops.mean(x, axis=0, keepdims=True)


def trained_convnet() -> keras.Model:
    """A small conv net trained for a few epochs on a learnable synthetic task (clear class decisions)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(128, activation="relu"), keras.layers.Dense(5),
    ])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 16, 16, 3)).astype("float32")
    y = np.argmax(x.reshape(1024, -1) @ np.random.default_rng(99).standard_normal((768, 5)), axis=1)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model


def quantization_hostile(model: keras.Model, outlier: float = 1000.0) -> keras.Model:
    """The same function as ``model``, whose hidden Dense layer (``model.layers[-2]``) also reads an input slot
    that is always 0 through weights of ``outlier`` magnitude.  Exact in float32; 8-bit weights share one scale
    per output channel, set by the outlier, which rounds every ordinary weight of that channel away.  The layer
    has >= 1024 weights, as TFLite's dynamic-range quantization only quantizes tensors that large."""
    hidden_layer, head = model.layers[-2], model.layers[-1]
    kernel, bias = hidden_layer.get_weights()
    inputs = keras.Input(model.inputs[0].shape[1:])
    pooled = keras.Model(model.inputs, model.layers[-3].output)(inputs)
    always_zero = keras.layers.Dense(1, kernel_initializer="zeros", name="unused_slot")(pooled)
    hidden = keras.layers.Dense(kernel.shape[1], activation=hidden_layer.activation, name="hidden")
    new_head = keras.layers.Dense(head.units, name="head")
    hostile = keras.Model(inputs, new_head(hidden(keras.layers.Concatenate()([pooled, always_zero]))))
    hidden.set_weights([np.vstack([kernel, np.full((1, kernel.shape[1]), outlier, kernel.dtype)]), bias])
    new_head.set_weights(head.get_weights())
    return hostile


def masked_rnn() -> keras.Model:
    """An ordinary model legacy .h5 cannot reload on Keras 3 (Unknown layer 'NotEqual')."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 4, mask_zero=True)(tokens)
    return keras.Model(tokens, keras.layers.Dense(2)(keras.layers.LSTM(3)(embedded)))


def fingerprint(model: keras.Model) -> dict:
    """Everything a check must leave alone: weights, optimizer, compile state, flags."""
    optimizer = getattr(model, "optimizer", None)
    return {
        "weights": [np.array(w) for w in model.get_weights()],
        "weight_names": [w.path for w in model.weights],
        "trainable": [layer.trainable for layer in model._flatten_layers(include_self=True)],
        "built": model.built,
        "compiled": getattr(model, "compiled", False),
        "optimizer": [keras.ops.convert_to_numpy(v) for v in optimizer.variables] if optimizer is not None else None,
        "compile_config": repr(model.get_compile_config()) if getattr(model, "compiled", False) else None,
        "n_layers": len(model.layers),
    }


def assert_same_fingerprint(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for key in before:
        if key in ("weights", "optimizer") and before[key] is not None:
            assert len(before[key]) == len(after[key]), key
            for a, b in zip(before[key], after[key]):
                np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            assert before[key] == after[key], key
