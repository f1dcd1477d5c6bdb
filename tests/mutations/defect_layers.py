"""Defective custom layers (one per catalogue class), their sound twins, and model-level defects.

Every layer takes a float tensor of rank >= 2 and returns a float tensor of the
same shape, for any feature size (weights come from ``input_shape[-1]`` in
``build``), so a factory below can be placed anywhere a ``(batch, features)``
tensor flows (``model_recipes(containing=...)``).  Each factory is a module-level
zero-argument function, importable as ``tests.mutations.defect_layers:<name>``.

Values that stand in for trained weights are drawn from OS entropy
(:func:`_drawn`): no rebuild of the layer, under any global seed, reproduces
them, so a weight that a format forgets always shows.  The defect in each
class is marked ``DEFECT``; the sound twin differs only there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

PACKAGE = "tfroundtrip_defects"
_register = functools.partial(keras.saving.register_keras_serializable, package=PACKAGE)


def _drawn(shape: tuple[int, ...], low: float = 0.5, high: float = 1.5) -> np.ndarray:
    """Values standing in for trained ones, from OS entropy (never reproduced by a rebuild)."""
    return np.random.default_rng().uniform(low, high, size=shape).astype("float32")


def _batch_axes(x: Any) -> tuple[int, ...]:
    """Every axis but the last (features)."""
    return tuple(range(len(x.shape) - 1))


class _ShapeKeeping(keras.layers.Layer):
    """Base: the output has the input's shape."""

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


# --- get_config_missing_arg ---------------------------------------------------------------------------------------

@_register()
class RememberedScale(_ShapeKeeping):
    """Sound twin: multiplies by ``scale``, which its config keeps."""

    def __init__(self, scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, x: Any) -> Any:
        return x * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


@_register()
class ForgetfulScale(RememberedScale):
    """DEFECT: ``get_config`` omits ``scale``; a config-based reload uses the default 1.0."""

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("scale")  # DEFECT
        return config


def forgets_scale() -> keras.layers.Layer:
    return ForgetfulScale(scale=3.0)


def remembers_scale() -> keras.layers.Layer:
    return RememberedScale(scale=3.0)


# --- numpy_state_attr ---------------------------------------------------------------------------------------------

@_register()
class FittedOffset(_ShapeKeeping):
    """DEFECT: the offset fitted after construction lives in a NumPy attribute, which no format saves."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = np.float32(0.0)  # DEFECT: state, not a weight

    def fit(self, data: np.ndarray) -> None:
        self.offset = np.float32(np.mean(data))

    def call(self, x: Any) -> Any:
        return x - self.offset


@_register()
class ConfiguredOffset(_ShapeKeeping):
    """Sound twin: the offset is a constructor argument kept in the config."""

    def __init__(self, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = float(offset)

    def call(self, x: Any) -> Any:
        return x - self.offset

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "offset": self.offset}


def fitted_numpy_offset() -> keras.layers.Layer:
    layer = FittedOffset()
    layer.fit(np.array([2.0, 2.5, 3.5], "float32"))
    return layer


def configured_offset() -> keras.layers.Layer:
    return ConfiguredOffset(offset=float(np.mean([2.0, 2.5, 3.5])))


# --- raw_tf_variable ----------------------------------------------------------------------------------------------

@_register()
class RawVariableGain(_ShapeKeeping):
    """DEFECT: the gain is a raw ``tf.Variable``; Keras 3 tracking (and its formats) ignore it."""

    def build(self, input_shape: Any) -> None:
        self.gain = tf.Variable(_drawn((input_shape[-1],)), name="gain")  # DEFECT: not add_weight

    def call(self, x: Any) -> Any:
        return x * self.gain


@_register()
class TrackedGain(_ShapeKeeping):
    """Sound twin: the gain is made with ``add_weight``."""

    def build(self, input_shape: Any) -> None:
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")
        self.gain.assign(_drawn((input_shape[-1],)))

    def call(self, x: Any) -> Any:
        return x * self.gain


def raw_variable_gain() -> keras.layers.Layer:
    return RawVariableGain()


def tracked_gain() -> keras.layers.Layer:
    return TrackedGain()


# --- hashseed_weight_order ----------------------------------------------------------------------------------------

TERMS = frozenset({"linear", "shift", "tanh", "sigmoid", "softsign", "half_tanh"})
_TERM_VALUE = {name: 0.25 * (k + 1) for k, name in enumerate(sorted(TERMS))}


def _terms(layer: keras.layers.Layer, x: Any) -> Any:
    w = {name: getattr(layer, "w_" + name) for name in TERMS}
    return (w["linear"] * x + w["shift"] + w["tanh"] * ops.tanh(x) + w["sigmoid"] * ops.sigmoid(x)
            + w["softsign"] * ops.softsign(x) + w["half_tanh"] * ops.tanh(0.5 * x))


@_register()
class SetOrderedTerms(_ShapeKeeping):
    """DEFECT: weights are created while iterating a set of strings, whose order depends on PYTHONHASHSEED.

    ``.keras`` and ``.weights.h5`` store a layer's own weights by creation index,
    so a new interpreter with another hash seed puts the values into the wrong weights.
    """

    def build(self, input_shape: Any) -> None:
        for name in TERMS:  # DEFECT: set iteration order
            setattr(self, "w_" + name, self.add_weight(
                shape=(input_shape[-1],), initializer=keras.initializers.Constant(_TERM_VALUE[name]), name=name))

    def call(self, x: Any) -> Any:
        return _terms(self, x)


@_register()
class SortedTerms(_ShapeKeeping):
    """Sound twin: the same weights, created in sorted order."""

    def build(self, input_shape: Any) -> None:
        for name in sorted(TERMS):
            setattr(self, "w_" + name, self.add_weight(
                shape=(input_shape[-1],), initializer=keras.initializers.Constant(_TERM_VALUE[name]), name=name))

    def call(self, x: Any) -> Any:
        return _terms(self, x)


def set_ordered_terms() -> keras.layers.Layer:
    return SetOrderedTerms()


def sorted_terms() -> keras.layers.Layer:
    return SortedTerms()


# --- container_vars_checkpoint ------------------------------------------------------------------------------------

@_register()
class ListedGains(_ShapeKeeping):
    """DEFECT: weights kept in a Python list attribute: invisible to ``tf.train.Checkpoint`` on Keras 3."""

    def build(self, input_shape: Any) -> None:
        self.gains = []  # DEFECT for tf.train.Checkpoint
        for k in range(3):
            gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name=f"gain_{k}")
            gain.assign(_drawn((input_shape[-1],)))
            self.gains.append(gain)

    def call(self, x: Any) -> Any:
        for gain in self.gains:
            x = x * gain
        return x


@_register()
class AttributeGains(_ShapeKeeping):
    """Sound twin: each weight is its own attribute."""

    def build(self, input_shape: Any) -> None:
        for k in range(3):
            gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name=f"gain_{k}")
            gain.assign(_drawn((input_shape[-1],)))
            setattr(self, f"gain_{k}", gain)

    def call(self, x: Any) -> Any:
        return x * self.gain_0 * self.gain_1 * self.gain_2


def listed_gains() -> keras.layers.Layer:
    return ListedGains()


def attribute_gains() -> keras.layers.Layer:
    return AttributeGains()


# --- python_random_init -------------------------------------------------------------------------------------------

def _projection(seed: int, features: int) -> np.ndarray:
    return (np.random.RandomState(seed).normal(size=(features, features)) / np.sqrt(features)).astype("float32")


@_register()
class InitDrawnProjection(_ShapeKeeping):
    """DEFECT: an unseeded NumPy draw in ``__init__`` fixes a projection kept as a constant, not a weight."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.draw = int(np.random.default_rng().integers(2**31))  # DEFECT: every construction draws anew

    def build(self, input_shape: Any) -> None:
        self.projection = _projection(self.draw, input_shape[-1])

    def call(self, x: Any) -> Any:
        return ops.matmul(x, self.projection)


@_register()
class SeededProjection(_ShapeKeeping):
    """Sound twin: the seed is a constructor argument kept in the config."""

    def __init__(self, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = int(seed)

    def build(self, input_shape: Any) -> None:
        self.projection = _projection(self.seed, input_shape[-1])

    def call(self, x: Any) -> Any:
        return ops.matmul(x, self.projection)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def init_drawn_projection() -> keras.layers.Layer:
    return InitDrawnProjection()


def seeded_projection() -> keras.layers.Layer:
    return SeededProjection(seed=7)


# --- unregistered_class -------------------------------------------------------------------------------------------

class UnregisteredDoubler(_ShapeKeeping):
    """DEFECT: not registered; a config-based reload cannot locate the class."""

    def call(self, x: Any) -> Any:
        return 2.0 * x


@_register()
class RegisteredDoubler(_ShapeKeeping):
    """Sound twin: registered."""

    def call(self, x: Any) -> Any:
        return 2.0 * x


def unregistered_doubler() -> keras.layers.Layer:
    return UnregisteredDoubler()


def registered_doubler() -> keras.layers.Layer:
    return RegisteredDoubler()


# --- lambda_global ------------------------------------------------------------------------------------------------

LAMBDA_SCALE = 3.0


def lambda_reading_global() -> keras.layers.Layer:
    """DEFECT: a Lambda whose function reads a module global (bytecode saved; the global is looked up at load)."""
    return keras.layers.Lambda(lambda t: t * LAMBDA_SCALE)


# --- numpy_function -----------------------------------------------------------------------------------------------

def _clip_np(a: np.ndarray) -> np.ndarray:
    return np.clip(a, -0.5, 0.5).astype(a.dtype)


@_register()
class NumpyFunctionClip(_ShapeKeeping):
    """DEFECT: ``tf.numpy_function``: the graph keeps a token to a callable of the saving process only."""

    def call(self, x: Any) -> Any:
        y = tf.numpy_function(_clip_np, [x], x.dtype)  # DEFECT
        y.set_shape(x.shape)
        return y


@_register()
class OpsClip(_ShapeKeeping):
    """Sound twin: the same clip with ``keras.ops``."""

    def call(self, x: Any) -> Any:
        return ops.clip(x, -0.5, 0.5)


def numpy_function_clip() -> keras.layers.Layer:
    return NumpyFunctionClip()


def ops_clip() -> keras.layers.Layer:
    return OpsClip()


# --- dtype_policy_no_super ----------------------------------------------------------------------------------------

@_register()
class PolicyKeepingMix(_ShapeKeeping):
    """Sound twin: ``x + x @ kernel``, config from ``super().get_config()`` (name, trainable, dtype policy)."""

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], input_shape[-1]), name="kernel")

    def call(self, x: Any) -> Any:
        return x + ops.matmul(x, self.kernel)


@_register()
class PolicyDroppingMix(PolicyKeepingMix):
    """DEFECT: ``get_config`` is built without ``super()``: the dtype policy (mixed_float16) is lost."""

    def get_config(self) -> dict[str, Any]:
        return {}  # DEFECT: no super().get_config()


def drops_dtype_policy() -> keras.layers.Layer:
    return PolicyDroppingMix(dtype="mixed_float16")


def keeps_dtype_policy() -> keras.layers.Layer:
    return PolicyKeepingMix(dtype="mixed_float16")


# --- initializer_object_in_config ---------------------------------------------------------------------------------

@_register()
class SerializedInitializerSquare(_ShapeKeeping):
    """Sound twin: ``x @ kernel``; the initializer goes into the config serialized."""

    def __init__(self, kernel_initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], input_shape[-1]),
                                      initializer=self.kernel_initializer, name="kernel")

    def call(self, x: Any) -> Any:
        return ops.matmul(x, self.kernel)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@_register()
class RawInitializerSquare(SerializedInitializerSquare):
    """DEFECT: the initializer object goes into the config raw (legacy .h5 writes a bare class name)."""

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_initializer": self.kernel_initializer}  # DEFECT


def raw_initializer_in_config() -> keras.layers.Layer:
    return RawInitializerSquare(kernel_initializer=keras.initializers.Orthogonal(seed=1))


def serialized_initializer_in_config() -> keras.layers.Layer:
    return SerializedInitializerSquare(kernel_initializer=keras.initializers.Orthogonal(seed=1))


# --- training_default_true ----------------------------------------------------------------------------------------

class _Standardize(_ShapeKeeping):
    """Standardizes with batch statistics when training, with its moving statistics otherwise."""

    def build(self, input_shape: Any) -> None:
        n = input_shape[-1]
        self.moving_mean = self.add_weight(shape=(n,), initializer=keras.initializers.Constant(0.5),
                                           trainable=False, name="moving_mean")
        self.moving_var = self.add_weight(shape=(n,), initializer=keras.initializers.Constant(2.0),
                                          trainable=False, name="moving_var")

    def _standardize(self, x: Any, training: Any) -> Any:
        if training:
            mean, var = ops.mean(x, axis=_batch_axes(x)), ops.var(x, axis=_batch_axes(x))
        else:
            mean, var = self.moving_mean, self.moving_var
        return (x - mean) / ops.sqrt(var + 1e-3)


@_register()
class TrainingByDefault(_Standardize):
    """DEFECT: ``call(..., training=True)``: calls without a flag (graph exports) take the training branch."""

    def call(self, x: Any, training: Any = True) -> Any:  # DEFECT: default True
        return self._standardize(x, training)


@_register()
class InferenceByDefault(_Standardize):
    """Sound twin: ``training=None``."""

    def call(self, x: Any, training: Any = None) -> Any:
        return self._standardize(x, training)


def training_by_default() -> keras.layers.Layer:
    return TrainingByDefault()


def inference_by_default() -> keras.layers.Layer:
    return InferenceByDefault()


# --- stateful_rnn_state -------------------------------------------------------------------------------------------

@_register()
class CarriedState(_ShapeKeeping):
    """DEFECT: state carried from call to call (as ``RNN(stateful=True)``), in a variable outside Keras tracking.

    Each call adds half the previous batch's feature means; like an RNN's
    states, the variable is created without automatic tracking, so no Keras
    format saves it.
    """

    def build(self, input_shape: Any) -> None:
        carry = keras.Variable(np.zeros((input_shape[-1],), "float32"), trainable=False, name="carry")
        object.__setattr__(self, "_carry", carry)  # DEFECT: untracked state carried between calls

    def call(self, x: Any) -> Any:
        out = x + 0.5 * ops.cast(self._carry, x.dtype)
        self._carry.assign(ops.cast(ops.mean(x, axis=_batch_axes(x)), "float32"))
        return out


def carried_state() -> keras.layers.Layer:
    return CarriedState()


# --- trainable_set_after_init -------------------------------------------------------------------------------------

@_register()
class SquareDense(_ShapeKeeping):
    """A Dense layer with as many units as input features (``x @ kernel + bias``)."""

    def build(self, input_shape: Any) -> None:
        n = input_shape[-1]
        self.kernel = self.add_weight(shape=(n, n), name="kernel")
        self.bias = self.add_weight(shape=(n,), initializer="zeros", name="bias")
        self.bias.assign(_drawn((n,), -0.5, 0.5))

    def call(self, x: Any) -> Any:
        return ops.matmul(x, self.kernel) + self.bias


@_register()
class TwoStepBlock(_ShapeKeeping):
    """Two :class:`SquareDense` sublayers made in ``__init__``; ``freeze_first`` (in the config) freezes the first."""

    def __init__(self, freeze_first: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.freeze_first = bool(freeze_first)
        self.first = SquareDense(name="first")
        self.second = SquareDense(name="second")
        self.first.trainable = not self.freeze_first

    def build(self, input_shape: Any) -> None:
        self.first.build(input_shape)
        self.second.build(input_shape)

    def call(self, x: Any) -> Any:
        return self.second(self.first(x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "freeze_first": self.freeze_first}


def frozen_after_init() -> keras.layers.Layer:
    """DEFECT: the first sublayer is frozen after construction, outside any config."""
    block = TwoStepBlock()
    block.first.trainable = False  # DEFECT
    return block


def frozen_by_config() -> keras.layers.Layer:
    return TwoStepBlock(freeze_first=True)


# --- counter_updated_in_call --------------------------------------------------------------------------------------

@_register()
class CallCounter(_ShapeKeeping):
    """DEFECT: a non-trainable weight counts inference calls and feeds the output."""

    def build(self, input_shape: Any) -> None:
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x: Any, training: Any = None) -> Any:
        self.count.assign_add(1.0)  # DEFECT: state changes at inference
        return x * (1.0 + 0.1 * ops.cast(self.count, x.dtype))


@_register()
class TrainingStepCounter(_ShapeKeeping):
    """Sound twin: counts training calls only; inference reads the count without changing it."""

    def build(self, input_shape: Any) -> None:
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x: Any, training: Any = None) -> Any:
        if training:
            self.count.assign_add(1.0)
        return x * (1.0 + 0.1 * ops.cast(self.count, x.dtype))


def call_counter() -> keras.layers.Layer:
    return CallCounter()


def training_step_counter() -> keras.layers.Layer:
    return TrainingStepCounter()


# --- dropout_seed_state -------------------------------------------------------------------------------------------

def seeded_dropout() -> keras.layers.Layer:
    """DEFECT (Keras's own): a seeded Dropout's SeedGenerator state is saved by no format."""
    return keras.layers.Dropout(0.3, seed=7)


# --- custom_regularizer_get_config --------------------------------------------------------------------------------

@_register()
class RememberingL1(keras.regularizers.Regularizer):
    """Sound twin: an L1 penalty whose config keeps its strength."""

    def __init__(self, strength: float = 0.0) -> None:
        self.strength = float(strength)

    def __call__(self, weights: Any) -> Any:
        return self.strength * ops.sum(ops.abs(weights))

    def get_config(self) -> dict[str, Any]:
        return {"strength": self.strength}


@_register()
class ForgetfulL1(RememberingL1):
    """DEFECT: ``get_config`` omits the strength; the reloaded penalty is 0."""

    def get_config(self) -> dict[str, Any]:
        return {}  # DEFECT


@_register()
class RegularizedSquare(SquareDense):
    """A :class:`SquareDense` whose kernel has a (serialized) regularizer."""

    def __init__(self, kernel_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape: Any) -> None:
        n = input_shape[-1]
        self.kernel = self.add_weight(shape=(n, n), regularizer=self.kernel_regularizer, name="kernel")
        self.bias = self.add_weight(shape=(n,), initializer="zeros", name="bias")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}


def regularizer_forgets_strength() -> keras.layers.Layer:
    return RegularizedSquare(kernel_regularizer=ForgetfulL1(0.05))


def regularizer_keeps_strength() -> keras.layers.Layer:
    return RegularizedSquare(kernel_regularizer=RememberingL1(0.05))


# --- normalization_adapt_onnx -------------------------------------------------------------------------------------

def adapted_normalization() -> keras.layers.Layer:
    """Keras's own: adapt() statistics, which the ONNX export leaves as unfed graph inputs."""
    layer = keras.layers.Normalization(axis=None)
    layer.adapt(np.linspace(-2.0, 8.0, 50, dtype="float32"))
    return layer


# --- ops_layer_legacy_h5 ------------------------------------------------------------------------------------------

def ops_node_submodel() -> keras.Model:
    """A nested functional model applying ``keras.ops`` to KerasTensors (auto op nodes legacy .h5 cannot load)."""
    inputs = keras.Input((None,))
    return keras.Model(inputs, ops.tanh(inputs) * 2.0)  # DEFECT for legacy .h5


# === model-level mutations =========================================================================================

@dataclass(frozen=True)
class MutatedModel:
    """A defective model, with what its check needs."""

    model: Any
    inputs: Any  # NumPy arrays in the model's input structure, batch 3
    input_signature: Any = None
    x: Any = None  # training data (resume checks)
    y: Any = None
    formats: tuple[str, ...] | None = None


def _features(seed: int, rows: int = 3, features: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, features)).astype("float32")


def _training_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal((64, 6)).astype("float32"), rng.standard_normal((64, 3)).astype("float32")


def _mlp(seed: int, dtype: str | None = None) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="tanh", dtype=dtype)(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, dtype=dtype)(hidden))


def _resumable(seed: int, model: keras.Model, formats: tuple[str, ...]) -> MutatedModel:
    x, y = _training_data(seed)
    return MutatedModel(model, _features(seed), None, x, y, formats)


# --- functional_subclass_kwargs -----------------------------------------------------------------------------------

@_register()
class KwargsHead(keras.Model):
    """DEFECT: a functional-style Model subclass with its own ``__init__`` kwargs and no ``get_config``."""

    def __init__(self, hidden: int = 8, scale: float = 2.0, **kwargs: Any) -> None:
        inputs = keras.Input((6,))
        h = keras.layers.Dense(hidden, activation="relu")(inputs)
        outputs = keras.layers.Rescaling(scale)(keras.layers.Dense(3)(h))
        super().__init__(inputs, outputs, **kwargs)
        self.hidden, self.scale = hidden, scale


def functional_subclass_kwargs(seed: int) -> MutatedModel:
    keras.utils.set_random_seed(seed)
    return MutatedModel(KwargsHead(hidden=16, scale=3.0), _features(seed))


# --- unbuilt_on_load ----------------------------------------------------------------------------------------------

@_register()
class EagerOnlyCall(keras.Model):
    """DEFECT: a subclassed model (no ``build``) whose ``call`` needs concrete values, so its build cannot be replayed.

    Keras records the first call's input shape, but on load it rebuilds by a
    symbolic call, which fails here: the model stays unbuilt (a warning),
    its saved weights are not loaded, and the first real call creates fresh
    random ones.  (The catalogue's form, a ``call(a, b)`` with two positional
    tensors, cannot be called with one input structure; this form reaches the
    same unbuilt state.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(3)

    def call(self, inputs: Any) -> Any:
        peak = float(np.abs(ops.convert_to_numpy(inputs)).max())  # DEFECT: needs values, fails symbolically
        return self.head(self.hidden(inputs / max(1.0, peak)))


def unbuilt_on_load(seed: int) -> MutatedModel:
    keras.utils.set_random_seed(seed)
    model = EagerOnlyCall()
    inputs = _features(seed)
    model(inputs)
    return MutatedModel(model, inputs, tf.TensorSpec((None, 6), tf.float32, name="inputs"), formats=("keras", "weights"))


# --- build_skips_children -----------------------------------------------------------------------------------------

@_register()
class ChildrenUnbuilt(keras.Model):
    """DEFECT: a subclassed model whose ``build`` creates its own weight but not its children's.

    On load Keras replays ``build`` only, so the Dense children have no
    variables when the saved weights are assigned; their first call creates
    fresh random ones.  (In a functional host the catalogue saw no effect:
    Keras re-runs the layer symbolically there, which builds the children.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(3)

    def build(self, input_shape: Any) -> None:
        self.gate = self.add_weight(shape=(3,), initializer="ones", name="gate")  # DEFECT: children not built

    def call(self, inputs: Any) -> Any:
        return self.head(self.hidden(inputs)) * self.gate


def build_skips_children(seed: int) -> MutatedModel:
    keras.utils.set_random_seed(seed)
    model = ChildrenUnbuilt()
    inputs = _features(seed)
    model(inputs)
    return MutatedModel(model, inputs, tf.TensorSpec((None, 6), tf.float32, name="inputs"), formats=("keras", "weights"))


# --- optimizer state lost by weights-only resumes ------------------------------------------------------------------

def _compiled(seed: int, optimizer: Any, loss: Any = None, dtype: str | None = None) -> keras.Model:
    model = _mlp(seed, dtype)
    model.compile(optimizer=optimizer, loss=loss or keras.losses.MeanSquaredError())
    return model


def optimizer_state_weights_only(seed: int) -> MutatedModel:
    return _resumable(seed, _compiled(seed, keras.optimizers.Adam(0.01)), ("keras", "weights"))


def ema_optimizer(seed: int) -> MutatedModel:
    optimizer = keras.optimizers.SGD(0.05, use_ema=True, ema_momentum=0.9)
    return _resumable(seed, _compiled(seed, optimizer), ("keras", "weights"))


def grad_accumulation(seed: int) -> MutatedModel:
    optimizer = keras.optimizers.SGD(0.05, gradient_accumulation_steps=3)  # 4 steps before the save: mid-cycle
    return _resumable(seed, _compiled(seed, optimizer), ("keras", "weights"))


def loss_scale_optimizer(seed: int) -> MutatedModel:
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05), initial_scale=2.0**15,
                                                    dynamic_growth_steps=2)
    return _resumable(seed, _compiled(seed, optimizer, dtype="mixed_float16"), ("keras", "weights"))


def legacy_h5_resume(seed: int) -> MutatedModel:
    return _resumable(seed, _compiled(seed, keras.optimizers.Adam(0.01)), ("keras", "h5"))


# --- lr_schedule_get_config ---------------------------------------------------------------------------------------

@_register()
class ForgetfulWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """DEFECT: a linear warmup whose ``get_config`` omits ``warmup_steps``."""

    def __init__(self, peak: float = 0.05, warmup_steps: int = 1000) -> None:
        self.peak, self.warmup_steps = float(peak), int(warmup_steps)

    def __call__(self, step: Any) -> Any:
        return self.peak * ops.minimum(1.0, (ops.cast(step, "float32") + 1.0) / self.warmup_steps)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak}  # DEFECT: warmup_steps missing


def lr_schedule_get_config(seed: int) -> MutatedModel:
    optimizer = keras.optimizers.SGD(ForgetfulWarmup(0.05, warmup_steps=6))
    return _resumable(seed, _compiled(seed, optimizer), ("keras", "checkpoint"))


# --- custom_loss_unregistered -------------------------------------------------------------------------------------

def doubled_mse(y_true: Any, y_pred: Any) -> Any:
    """DEFECT when used in compile(): a plain function, not registered."""
    return ops.mean(ops.square(y_true - y_pred)) * 2.0


def custom_loss_unregistered(seed: int) -> MutatedModel:
    return _resumable(seed, _compiled(seed, keras.optimizers.SGD(0.05), loss=doubled_mse), ("keras", "checkpoint"))


# --- legacy_h5_loss_string ----------------------------------------------------------------------------------------

def legacy_h5_loss_string(seed: int) -> MutatedModel:
    model = _mlp(seed)
    model.compile(optimizer="adam", loss="mse")  # DEFECT for legacy .h5: a string alias
    return MutatedModel(model, _features(seed), formats=("keras", "h5"))


# --- quantized_int8 -----------------------------------------------------------------------------------------------

def quantized_int8(seed: int) -> MutatedModel:
    model = _mlp(seed)
    model.quantize("int8")  # DEFECT for LiteRT: int8 matmuls the converter cannot legalize
    return MutatedModel(model, _features(seed), formats=("keras", "savedmodel", "litert"))


# --- stringlookup_vocab -------------------------------------------------------------------------------------------

def stringlookup_vocab(seed: int) -> MutatedModel:
    keras.utils.set_random_seed(seed)
    lookup = keras.layers.StringLookup(output_mode="one_hot")
    lookup.adapt(np.array(["a", "b", "b", "c", "c", "c"]))  # vocabulary from data: a lookup table, not a variable
    inputs = keras.Input((1,), dtype="string")
    model = keras.Model(inputs, keras.layers.Dense(2)(lookup(inputs)))
    return MutatedModel(model, np.array([["b"], ["c"], ["zz"]]), formats=("keras", "h5", "weights", "onnx"))


MODEL_LEVEL: dict[str, Callable[[int], MutatedModel]] = {
    f.__name__: f for f in (
        functional_subclass_kwargs, unbuilt_on_load, build_skips_children, optimizer_state_weights_only,
        ema_optimizer, grad_accumulation, loss_scale_optimizer, legacy_h5_resume, lr_schedule_get_config,
        custom_loss_unregistered, legacy_h5_loss_string, quantized_int8, stringlookup_vocab)
}

SOUND_TWINS: dict[str, Callable[[], keras.layers.Layer]] = {
    "get_config_missing_arg": remembers_scale,
    "numpy_state_attr": configured_offset,
    "raw_tf_variable": tracked_gain,
    "hashseed_weight_order": sorted_terms,
    "container_vars_checkpoint": attribute_gains,
    "python_random_init": seeded_projection,
    "unregistered_class": registered_doubler,
    "numpy_function": ops_clip,
    "dtype_policy_no_super": keeps_dtype_policy,
    "initializer_object_in_config": serialized_initializer_in_config,
    "training_default_true": inference_by_default,
    "trainable_set_after_init": frozen_by_config,
    "counter_updated_in_call": training_step_counter,
    "custom_regularizer_get_config": regularizer_keeps_strength,
}
