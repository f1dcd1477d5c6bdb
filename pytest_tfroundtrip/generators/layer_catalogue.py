"""How to build every public ``keras.layers`` class with small arguments.

Each :class:`LayerEntry` says what a layer takes (input rank with the batch
axis, dtype family), what it gives, and a hypothesis strategy for its kwargs
given the :class:`Slot` it is applied to.  :data:`EXCLUDED` names, with a
reason, every class left out; ``tests/test_generators.py`` checks that the two
together cover ``dir(keras.layers)``, so a Keras upgrade shows up.

Example:
    >>> entry = CATALOGUE["Dense"]
    >>> entry.takes, entry.ranks, entry.accepts(Slot((None, 3), "float"))
    ('float', (2, 3, 4, 5), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from pytest_tfroundtrip.generators.recipes import LayerRecipe

Shape = tuple[Any, ...]
Kwargs = Callable[["Slot"], st.SearchStrategy[dict[str, Any]]]


@dataclass(frozen=True)
class Slot:
    """What a layer is applied to: shape with batch axis, dtype family, id bound, vocabulary."""

    shape: Shape
    dtype: str  # "float" | "int" | "string"
    bound: int | None = None
    vocabulary: tuple[str, ...] = ()
    raw_dtype: str = ""

    @property
    def static(self) -> bool:
        """All non-batch dims known."""
        return all(d is not None for d in self.shape[1:])

    @property
    def spatial(self) -> Shape:
        """The dims between batch and channels."""
        return self.shape[1:-1]


@dataclass(frozen=True)
class LayerEntry:
    """How to build one layer class; ``out`` documents the output rank/dtype."""

    name: str
    takes: str
    ranks: tuple[int, ...]
    out: str
    kwargs: Kwargs
    arity: int = 1
    call: str = "single"
    static: bool = False
    when: Callable[[Slot], bool] = field(default=lambda s: True)
    gives_int: Callable[[dict[str, Any], Slot], int | None] | None = None
    build_as: str | None = None

    def accepts(self, slot: Slot) -> bool:
        """Whether this layer can be applied to ``slot``."""
        return (slot.dtype == self.takes or (self.takes == "categorical" and slot.dtype in ("int", "string"))) \
            and len(slot.shape) in self.ranks and (slot.static or not self.static) and self.when(slot)


def _fixed(**parts: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({k: v if isinstance(v, st.SearchStrategy) else st.just(v) for k, v in parts.items()})


def _const(**parts: Any) -> Kwargs:
    return lambda s: _fixed(**parts)


ACTIVATIONS = st.sampled_from(["relu", "tanh", "sigmoid", "linear", "gelu", "elu", "selu", "swish", "softplus",
                               "hard_sigmoid", "leaky_relu", "mish", "relu6", "softsign", "silu"])
UNITS = st.integers(1, 4)
RATE = st.sampled_from([0.1, 0.5])


def _small(s: Slot) -> int:
    """Smallest spatial size (a None axis counts as 3, the size sample inputs give it)."""
    return min((3 if d is None else d) for d in s.spatial) if s.spatial else 1


def _padding(s: Slot) -> st.SearchStrategy[str]:
    return st.just("same") if any(d is None for d in s.spatial) else st.sampled_from(["valid", "same"])


def _conv(extra: dict[str, Any] | None = None, filters: bool = True) -> Kwargs:
    def kwargs(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
        parts = {"kernel_size": st.integers(1, min(3, _small(s))), "padding": _padding(s),
                 "activation": ACTIVATIONS, "strides": st.sampled_from([1, 1, 2]), **(extra or {})}
        if filters:
            parts["filters"] = st.integers(1, 3)
        return _fixed(**parts)
    return kwargs


def _pool(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    return _fixed(pool_size=st.integers(1, min(2, _small(s))), padding=_padding(s), strides=st.sampled_from([None, 1]))


def _cropping(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*(st.integers(0, (d - 1) // 2).map(lambda c: (c, c)) for d in s.spatial)).map(
        lambda pairs: {"cropping": pairs[0] if len(pairs) == 1 else pairs})


def _reshape(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    n = math.prod(s.shape[1:])
    return st.sampled_from([(n,), (n, 1), *[(d, n // d) for d in range(2, n) if n % d == 0][:3]]).map(
        lambda t: {"target_shape": t})


def _permute(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    return st.permutations(list(range(1, len(s.shape)))).map(lambda p: {"dims": tuple(p)})


def _rnn(name: str) -> Callable[[], st.SearchStrategy[dict[str, Any]]]:
    return lambda: _fixed(units=st.integers(1, 3), return_sequences=st.booleans(), go_backwards=st.booleans(),
                          **({"reset_after": st.booleans()} if name == "GRU" else {}))


def _cell(name: str) -> Kwargs:
    return lambda s: st.integers(1, 3).flatmap(lambda u: _fixed(cell=LayerRecipe.nested(name, units=u),
                                                               return_sequences=st.booleans()))


def _wrapped(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(["LSTM", "GRU", "SimpleRNN"]).flatmap(lambda n: _fixed(
        layer=st.integers(1, 2).map(lambda u: LayerRecipe.nested(n, units=u, return_sequences=True)),
        merge_mode=st.sampled_from(["concat", "sum", "mul", "ave"])))


def _attention_pair(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) == 3 and a[-1] == b[-1]


_LOOKUP_MODES = st.sampled_from(["int", "int", "int", "one_hot", "multi_hot", "count"])


def _lookup_int(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    bound = s.bound or 2
    return _fixed(vocabulary=st.lists(st.integers(1, max(bound, 2)), min_size=1, max_size=4, unique=True).map(sorted),
                  output_mode=_LOOKUP_MODES if len(s.shape) == 2 else "int")


def _lookup_str(s: Slot) -> st.SearchStrategy[dict[str, Any]]:
    return _fixed(vocabulary=st.lists(st.sampled_from(sorted(set(s.vocabulary))), min_size=1, unique=True),
                  output_mode=_LOOKUP_MODES if len(s.shape) == 2 else "int")


def _lookup_bound(kwargs: dict[str, Any], slot: Slot) -> int | None:
    return len(kwargs["vocabulary"]) + 1 if kwargs.get("output_mode", "int") == "int" else None


def _image(**parts: Any) -> Kwargs:
    return _const(value_range=(0.0, 1.0), **parts)


def _color(s: Slot) -> bool:
    return s.shape[-1] == 3 and _small(s) >= 2


E = LayerEntry
F, I, C, S = "float", "int", "categorical", "string"
ANY = (2, 3, 4, 5)
IMG = (4,)
_ENTRIES = [
    # core
    E("Dense", F, ANY, "same rank", _const(units=UNITS, activation=ACTIVATIONS, use_bias=st.booleans()), static=False,
      when=lambda s: s.shape[-1] is not None),
    E("EinsumDense", F, (2, 3), "same rank", lambda s: UNITS.map(lambda u: (
        {"equation": "ab,bc->ac", "output_shape": u, "bias_axes": "c"} if len(s.shape) == 2 else
        {"equation": "abc,cd->abd", "output_shape": (s.shape[1], u), "bias_axes": "d"})),
      when=lambda s: s.shape[-1] is not None),
    E("Identity", F, ANY, "same", _const()),
    E("Activation", F, ANY, "same", _const(activation=ACTIVATIONS)),
    E("ELU", F, ANY, "same", _const(alpha=st.sampled_from([0.5, 1.0]))),
    E("LeakyReLU", F, ANY, "same", _const(negative_slope=st.sampled_from([0.1, 0.3]))),
    E("PReLU", F, ANY, "same", _const(), static=True),
    E("ReLU", F, ANY, "same", _const(max_value=st.sampled_from([None, 6.0]), negative_slope=st.sampled_from([0.0, 0.1]))),
    E("Softmax", F, ANY, "same", _const(axis=-1)),
    E("ActivityRegularization", F, ANY, "same", _const(l1=0.01, l2=0.01)),
    E("Dropout", F, ANY, "same", _const(rate=RATE)),
    E("AlphaDropout", F, ANY, "same", _const(rate=RATE)),
    E("GaussianDropout", F, ANY, "same", _const(rate=RATE)),
    E("GaussianNoise", F, ANY, "same", _const(stddev=RATE)),
    E("SpatialDropout1D", F, (3,), "same", _const(rate=RATE)),
    E("SpatialDropout2D", F, (4,), "same", _const(rate=RATE)),
    E("SpatialDropout3D", F, (5,), "same", _const(rate=RATE)),
    # normalization
    E("BatchNormalization", F, ANY, "same", _const(momentum=st.sampled_from([0.5, 0.99]), center=st.booleans(),
                                                   scale=st.booleans()), when=lambda s: s.shape[-1] is not None),
    E("LayerNormalization", F, ANY, "same", _const(rms_scaling=st.booleans()), when=lambda s: s.shape[-1] is not None),
    E("GroupNormalization", F, ANY, "same", lambda s: st.sampled_from(
        [g for g in (1, 2, 3, 4) if s.shape[-1] % g == 0]).map(lambda g: {"groups": g}),
      when=lambda s: s.shape[-1] is not None),
    E("UnitNormalization", F, ANY, "same", _const()),
    E("RMSNormalization", F, ANY, "same", _const(), when=lambda s: s.shape[-1] is not None),
    E("Normalization", F, ANY, "same", lambda s: _fixed(
        mean=st.lists(st.sampled_from([-0.5, 0.0, 0.5]), min_size=s.shape[-1], max_size=s.shape[-1]),
        variance=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=s.shape[-1], max_size=s.shape[-1])),
      when=lambda s: s.shape[-1] is not None),
    E("Rescaling", F, ANY, "same", _const(scale=st.sampled_from([0.5, 2.0, 1 / 255]), offset=st.sampled_from([0.0, -1.0]))),
    E("SpectralNormalization", F, (2, 3), "same rank", lambda s: UNITS.map(
        lambda u: {"layer": LayerRecipe.nested("Dense", units=u)}), when=lambda s: s.shape[-1] is not None),
    # reshaping
    E("Flatten", F, (3, 4, 5), "2", _const(), static=True),
    E("Reshape", F, ANY, "varies", _reshape, static=True),
    E("Permute", F, (3, 4), "same", _permute, static=True),
    E("RepeatVector", F, (2,), "3", _const(n=st.integers(1, 3)), static=True),
    E("Cropping1D", F, (3,), "same", _cropping, static=True),
    E("Cropping2D", F, (4,), "same", _cropping, static=True),
    E("Cropping3D", F, (5,), "same", _cropping, static=True),
    E("ZeroPadding1D", F, (3,), "same", _const(padding=st.integers(1, 2)), when=lambda s: s.shape[-1] is not None),
    E("ZeroPadding2D", F, (4,), "same", _const(padding=st.integers(1, 2)), when=lambda s: s.shape[-1] is not None),
    E("ZeroPadding3D", F, (5,), "same", _const(padding=1), when=lambda s: s.shape[-1] is not None),
    E("UpSampling1D", F, (3,), "same", _const(size=2)),
    E("UpSampling2D", F, (4,), "same", _const(size=2, interpolation=st.sampled_from(["nearest", "bilinear"]))),
    E("UpSampling3D", F, (5,), "same", _const(size=2)),
    # convolution
    E("Conv1D", F, (3,), "3", _conv({"dilation_rate": 1}), when=lambda s: s.shape[-1] is not None),
    E("Conv2D", F, (4,), "4", _conv(), when=lambda s: s.shape[-1] is not None),
    E("Conv3D", F, (5,), "5", _conv(), when=lambda s: s.shape[-1] is not None),
    E("Conv1DTranspose", F, (3,), "3", _conv(), when=lambda s: s.shape[-1] is not None),
    E("Conv2DTranspose", F, (4,), "4", _conv(), when=lambda s: s.shape[-1] is not None),
    E("Conv3DTranspose", F, (5,), "5", _conv(), when=lambda s: s.shape[-1] is not None),
    E("DepthwiseConv1D", F, (3,), "3", _conv({"depth_multiplier": st.integers(1, 2)}, filters=False),
      when=lambda s: s.shape[-1] is not None),
    E("DepthwiseConv2D", F, (4,), "4", _conv({"depth_multiplier": st.integers(1, 2)}, filters=False),
      when=lambda s: s.shape[-1] is not None),
    E("SeparableConv1D", F, (3,), "3", _conv(), when=lambda s: s.shape[-1] is not None),
    E("SeparableConv2D", F, (4,), "4", _conv(), when=lambda s: s.shape[-1] is not None),
    E("ConvLSTM1D", F, (4,), "3 or 4", lambda s: _conv({"return_sequences": st.booleans()})(Slot(s.shape[1:], F)),
      static=True),
    E("ConvLSTM2D", F, (5,), "4 or 5", lambda s: _conv({"return_sequences": st.booleans()})(Slot(s.shape[1:], F)),
      static=True),
    E("ConvLSTM3D", F, (6,), "5 or 6", lambda s: _conv({"return_sequences": st.booleans()})(Slot(s.shape[1:], F)),
      static=True),
    # pooling
    *[E(f"{kind}Pooling{n}D", F, (n + 2,), "same", _pool) for kind in ("Max", "Average") for n in (1, 2, 3)],
    *[E(f"Global{kind}Pooling{n}D", F, (n + 2,), "2 (3 with keepdims)", _const(keepdims=st.booleans()),
        when=lambda s: s.shape[-1] is not None) for kind in ("Max", "Average") for n in (1, 2, 3)],
    # output_size 1 kills the process with SIGFPE in Keras 3.15 / TF 2.21: sizes start at 2
    *[E(f"Adaptive{kind}Pooling{n}D", F, (n + 2,), "same", lambda s: st.tuples(
        *(st.integers(2, d) for d in s.spatial)).map(lambda t: {"output_size": t}), static=True,
        when=lambda s: min(s.spatial) >= 2) for kind in ("Max", "Average") for n in (1, 2, 3)],
    # recurrent
    *[E(name, F, (3,), "2 or 3", lambda s, n=name: _rnn(n)(), when=lambda s: s.shape[-1] is not None)
      for name in ("SimpleRNN", "GRU", "LSTM")],
    E("Bidirectional", F, (3,), "3", _wrapped, when=lambda s: s.shape[-1] is not None),
    E("RNN", F, (3,), "2 or 3", _cell("SimpleRNNCell"), when=lambda s: s.shape[-1] is not None),
    *[E(cell, F, (3,), "2 or 3", _cell(cell), build_as="RNN", when=lambda s: s.shape[-1] is not None)
      for cell in ("SimpleRNNCell", "GRUCell", "LSTMCell")],
    E("StackedRNNCells", F, (3,), "2 or 3", lambda s: _fixed(cell={"__layer__": {"class_name": "StackedRNNCells", "kwargs": {
        "cells": [LayerRecipe.nested("GRUCell", units=2), LayerRecipe.nested("LSTMCell", units=3)]}, "frozen": False}}),
      build_as="RNN", when=lambda s: s.shape[-1] is not None),
    E("TimeDistributed", F, (3, 4, 5), "same rank", lambda s: UNITS.map(
        lambda u: {"layer": LayerRecipe.nested("Dense", units=u)}), when=lambda s: s.shape[-1] is not None),
    # attention (applied to a query and a value of compatible shapes)
    E("Attention", F, (3,), "3", _const(use_scale=st.booleans(), score_mode=st.sampled_from(["dot", "concat"])),
      arity=2, call="list", when=lambda s: s.shape[-1] is not None),
    E("AdditiveAttention", F, (3,), "3", _const(use_scale=st.booleans()), arity=2, call="list",
      when=lambda s: s.shape[-1] is not None),
    E("MultiHeadAttention", F, (3,), "3", _const(num_heads=st.integers(1, 2), key_dim=st.integers(1, 3)),
      arity=2, call="args", when=lambda s: s.shape[-1] is not None),
    E("GroupQueryAttention", F, (3,), "3", lambda s: st.sampled_from([(2, 1), (2, 2), (4, 2)]).flatmap(
        lambda h: _fixed(head_dim=st.integers(1, 3), num_query_heads=h[0], num_key_value_heads=h[1])),
      arity=2, call="args", when=lambda s: s.shape[-1] is not None),
    # merging (two operands)
    *[E(name, F, ANY, "same", _const(), arity=2, call="list") for name in
      ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")],
    E("Concatenate", F, ANY, "same rank", _const(axis=-1), arity=2, call="list"),
    E("Dot", F, (2,), "2", _const(axes=-1, normalize=st.booleans()), arity=2, call="list"),
    # image preprocessing (4-D channels-last)
    E("Resizing", F, IMG, "4", _const(height=st.integers(2, 4), width=st.integers(2, 4),
                                    interpolation=st.sampled_from(["bilinear", "nearest"])), static=True),
    E("CenterCrop", F, IMG, "4", lambda s: _fixed(height=st.integers(1, s.shape[1]), width=st.integers(1, s.shape[2])),
      static=True),
    E("RandomFlip", F, IMG, "same", _const(mode=st.sampled_from(["horizontal", "vertical", "horizontal_and_vertical"]))),
    E("RandomRotation", F, IMG, "same", _const(factor=0.1), static=True),
    E("RandomZoom", F, IMG, "same", _const(height_factor=0.1), static=True),
    E("RandomTranslation", F, IMG, "same", _const(height_factor=0.1, width_factor=0.1), static=True),
    E("RandomShear", F, IMG, "same", _const(x_factor=0.1), static=True),
    E("RandomPerspective", F, IMG, "same", _const(factor=0.5), static=True),
    E("RandomElasticTransform", F, IMG, "same", _image(factor=0.5), static=True),
    E("RandomContrast", F, IMG, "same", _const(factor=0.2)),
    E("RandomBrightness", F, IMG, "same", _image(factor=0.1)),
    E("RandomErasing", F, IMG, "same", _image(), static=True),
    E("RandomGaussianBlur", F, IMG, "same", _image(), static=True),
    E("RandomPosterization", F, IMG, "same", _const(factor=(1, 8), value_range=(0, 255)), static=True),
    E("RandomSharpness", F, IMG, "same", _image(factor=0.2), static=True, when=_color),
    E("RandomInvert", F, IMG, "same", _image()),
    E("RandomHue", F, IMG, "same", _image(factor=0.2), static=True, when=_color),
    E("RandomSaturation", F, IMG, "same", _image(factor=0.2), static=True, when=_color),
    E("RandomColorDegeneration", F, IMG, "same", _image(factor=0.2), static=True, when=_color),
    E("RandomColorJitter", F, IMG, "same", _image(brightness_factor=0.1), static=True, when=_color),
    E("RandomGrayscale", F, IMG, "same", _const(factor=0.5), static=True, when=_color),
    E("AugMix", F, IMG, "same", _image(num_chains=1, chain_depth=1), static=True, when=_color),
    E("RandAugment", F, IMG, "same", _image(num_ops=1), static=True, when=_color),
    E("CutMix", F, IMG, "same", _const(), static=True),
    E("MixUp", F, IMG, "same", _const(), static=True),
    E("AutoContrast", F, IMG, "same", _image(), static=True),
    E("Solarization", F, IMG, "same", _image(threshold_factor=0.5), static=True),
    E("ContrastLimitedAdaptiveHistogramEqualization", F, IMG, "same", _image(tile_grid_size=(1, 1)), static=True,
      when=_color),
    # audio
    E("MelSpectrogram", F, (2,), "3", _const(fft_length=8, sequence_stride=4, sequence_length=8, sampling_rate=64,
                                            num_mel_bins=4, min_freq=1.0), static=True, when=lambda s: s.shape[1] >= 8),
    E("STFTSpectrogram", F, (3,), "3", _const(frame_length=4, frame_step=2, fft_length=4, mode=st.sampled_from(
        ["log", "magnitude", "psd"])), static=True, when=lambda s: s.shape[1] >= 4),
    # categorical features (integer ids with a known bound, or strings)
    E("Embedding", I, (2, 3), "+1", lambda s: _fixed(input_dim=s.bound, output_dim=st.integers(1, 3))),
    E("ReversibleEmbedding", I, (2, 3), "+1", lambda s: _fixed(input_dim=s.bound, output_dim=st.integers(1, 3),
                                                             tie_weights=st.booleans())),
    E("CategoryEncoding", I, (2,), "2 (3 for one_hot)", lambda s: _fixed(num_tokens=s.bound, output_mode=st.sampled_from(
        ["one_hot", "multi_hot", "count"])), when=lambda s: s.raw_dtype in ("int32", "int64")),
    E("IntegerLookup", I, (2, 3), "same, int (or float one_hot/multi_hot/count)", _lookup_int, gives_int=_lookup_bound),
    E("StringLookup", S, (2, 3), "same, int (or float one_hot/multi_hot/count)", _lookup_str, gives_int=_lookup_bound),
    E("Hashing", C, (2, 3), "same, int", _const(num_bins=st.integers(2, 6)), gives_int=lambda k, s: k["num_bins"]),
    E("TextVectorization", S, (2,), "2, int", lambda s: _fixed(
        vocabulary=st.lists(st.sampled_from(sorted({w for v in s.vocabulary for w in v.split()})), min_size=1,
                            unique=True), output_sequence_length=st.integers(1, 3)),
      when=lambda s: s.shape[1:] == (1,), gives_int=lambda k, s: len(k["vocabulary"]) + 2),
    E("Discretization", F, ANY, "same, int", _const(bin_boundaries=st.sampled_from([(0.0,), (-0.5, 0.5), (-0.2, 0.0, 0.3)])),
      gives_int=lambda k, s: len(k["bin_boundaries"]) + 1),
    E("Pipeline", F, ANY, "same", _const(layers=[LayerRecipe.nested("Rescaling", scale=0.5),
                                                 LayerRecipe.nested("Identity")])),
    E("Masking", F, (3,), "same (masked)", _const(mask_value=0.0)),
]
CATALOGUE: dict[str, LayerEntry] = {e.name: e for e in _ENTRIES}

EXCLUDED: dict[str, str] = {
    "InputLayer": "made by keras.Input in every generated model, not placed as a layer",
    "Layer": "the base class; generated custom layers subclass it (GeneratedBlock)",
    "Wrapper": "abstract base of Bidirectional/TimeDistributed, not usable on its own",
    "Lambda": "serializes Python bytecode; reloading needs safe_mode=False, so it is never sound by default",
    "TFSMLayer": "wraps an external SavedModel directory; not a self-contained model",
    "FlaxLayer": "wraps JAX/Flax functions; needs the JAX backend",
    "JaxLayer": "wraps JAX functions; needs the JAX backend",
    "TorchModuleWrapper": "wraps a torch.nn.Module; needs the PyTorch backend",
    "MaxNumBoundingBoxes": "bounding-box preprocessing over dict inputs {images, bounding_boxes}",
    "RandomCrop": "Keras 3.15 returns the uncropped image at inference (symbolic output (None, 1, 2, 2), inference "
                  "(3, 4, 4, 2) for a 4x4 input), so the model's declared output shape is wrong",
    "Equalization": "Keras 3.15 cannot make a functional model of its output ('... from operation equalization is "
                    "part of a cycle')",
    "HashedCrossing": "crosses a tuple of scalar categorical features; the generator draws no paired scalar features",
}


def entries_for(slot: Slot, arity: int = 1) -> list[LayerEntry]:
    """Catalogue entries applicable to ``slot`` (unary, or the first operand of a pair).

    >>> "Embedding" in [e.name for e in entries_for(Slot((None, 3), "int", bound=5))]
    True
    """
    return [e for e in _ENTRIES if e.arity == arity and e.accepts(slot)]


def pair_compatible(entry: LayerEntry, a: Shape, b: Shape) -> bool:
    """Whether a two-operand layer can take operands of shapes ``a`` and ``b``."""
    if entry.name in ("Attention", "AdditiveAttention"):
        return _attention_pair(a, b)
    if entry.name in ("MultiHeadAttention", "GroupQueryAttention"):
        return len(a) == len(b) == 3 and b[-1] is not None
    if entry.name == "Concatenate":
        return len(a) == len(b) and a[:-1] == b[:-1] and None not in (a[-1], b[-1])
    return a == b
