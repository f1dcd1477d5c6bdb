"""Infer the values a model accepts for each input from the layers consuming it.

An ``Embedding(input_dim=100)`` accepts integers in [0, 99], also when it sits
inside another layer (keras-hub's ``TokenAndPositionEmbedding`` holds a
``ReversibleEmbedding``, a subclass of ``Embedding``); a ``StringLookup``
accepts any string but only its vocabulary exercises the learned rows; a
position embedding bounds the sequence length; inputs named like masks
(``padding_mask``, ``attention_mask``) take 0/1 with the first
position of each row kept; inputs named like segment ids (``segment_ids``,
``token_type_ids``) whose range no layer tells take 0 and 1.  What static
inference cannot tell, :mod:`probing` finds out by calling the model.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.inputs.reading import ModelReading, read_model
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, InputSpec, ModelSignature, signature_of

DEFAULT_INT_RANGE = (-1000, 1000)
OUT_OF_VOCABULARY_STRINGS = ("", "out-of-vocabulary", "ünïcödé ✓")
_MASK_NAME = re.compile(r"(^|[_/.-])(padding_|attention_|input_|sequence_|token_)?mask$", re.IGNORECASE)
_SEGMENT_NAME = re.compile(r"(^|[_/.-])(segment_ids?|token_type_ids?|type_ids?)$", re.IGNORECASE)
SEGMENT_RANGE = (0, 1)


def infer_domains(model: Any, signature: ModelSignature) -> ModelSignature:
    """Attach integer ranges, vocabularies, mask roles and length bounds to ``signature``'s specs.

    Example:
        >>> import keras
        >>> ids = keras.Input((5,), dtype="int32")
        >>> model = keras.Model(ids, keras.layers.Embedding(50, 4)(ids))
        >>> from pytest_tfroundtrip.inputs.specs import signature_from_model
        >>> infer_domains(model, signature_from_model(model)).specs[0].int_range
        (0, 49)
    """
    return domains_of(read_model(model), signature)


def domains_of(reading: ModelReading, signature: ModelSignature) -> ModelSignature:
    """:func:`infer_domains` on a model already read (no walk of its layers again).

    Example:
        >>> import keras
        >>> ids = keras.Input((5,), dtype="int32")
        >>> reading = read_model(keras.Model(ids, keras.layers.Embedding(50, 4)(ids)))
        >>> domains_of(reading, signature_of(reading)).specs[0].int_range
        (0, 49)
    """
    reach, submodels = reading.reach, reading.submodels
    if len(reading.consumers) != len(signature.specs):
        reach = submodels = tuple(() for _ in signature.specs)
    all_layers = list(reading.layers)
    length_bound = _sequence_length_bound(all_layers)
    # Measured on TF 2.21: adaptive max pooling of a spatial size 1 kills the process (SIGFPE), so
    # unknown spatial sizes start at 2 for such models: a probe must never take the user's pytest down.
    crashes_on_size_one = any(type(layer).__name__.startswith("AdaptiveMaxPooling") for layer in all_layers)
    specs = []
    for index, (spec, nested, inside) in enumerate(zip(signature.specs, reach, submodels)):
        if is_mask_like(spec):
            spec = replace(spec, role="mask", int_range=None if spec.dtype == "bool" else (0, 1),
                           domain_source=f"the input name {spec.name!r}")
        elif _is_integer(spec.dtype) or spec.dtype == STRING_DTYPE:
            inner = _domain_inside_submodel(inside, index, len(signature.specs), spec)
            if inner is not None:
                spec = inner
            else:
                layers = list(nested) or _lookup_layers(all_layers, spec.dtype)
                spec = _narrow(spec, layers)
            if spec.domain_source is None and _is_integer(spec.dtype) and _SEGMENT_NAME.search(spec.name):
                # Sentence A/B ids: no layer told the range, so take what real inputs hold.
                spec = replace(spec, int_range=SEGMENT_RANGE, domain_source=f"the input name {spec.name!r}")
        if length_bound is not None and len(spec.shape) >= 2 and spec.shape[1] is None:
            bound, _label = length_bound
            spec = replace(spec, max_dims=(None, bound) + (None,) * (len(spec.shape) - 2))
        if crashes_on_size_one and len(spec.shape) >= 3:
            spec = replace(spec, min_dims=(None,) + tuple(2 if d is None else None for d in spec.shape[1:-1]) + (None,))
        specs.append(within_dtype(spec))
    return signature.with_specs(specs)


def within_dtype(spec: InputSpec) -> InputSpec:
    """``spec`` with its integer range and vocabulary cut to what its dtype holds.

    A uint8 image cannot hold the default range's -1000 or 1000, nor an int8
    input an ``Embedding(500)``'s 499.

    Example:
        >>> within_dtype(InputSpec("pixels", (None, 4), "uint8", int_range=(0, 1000))).int_range
        (0, 255)
    """
    if not _is_integer(spec.dtype):
        return spec
    import numpy as np

    info = np.iinfo(spec.dtype)
    if spec.int_range is not None:
        low, high = max(spec.int_range[0], int(info.min)), min(spec.int_range[1], int(info.max))
        spec = replace(spec, int_range=(low, max(low, high)))
    if spec.vocabulary is not None:
        spec = replace(spec, vocabulary=tuple(v for v in spec.vocabulary if not isinstance(v, int) or info.min <= v <= info.max))
    return spec


def _domain_inside_submodel(submodels: tuple[Any, ...], index: int, count: int, spec: InputSpec) -> InputSpec | None:
    """Follow input ``index`` into a functional sub-model that takes all the inputs (a task model's backbone).

    The sub-model's own matching input tells the domain; searching its layers
    at large would take the first embedding found, whichever input feeds it.
    The sub-model is another model: it is read once, here.
    """
    for submodel in submodels:
        try:
            inner_reading = read_model(submodel)
            inner = domains_of(inner_reading, signature_of(inner_reading))
        except Exception:  # an unusual sub-model: fall back to searching its layers
            return None
        if len(inner.specs) == count:
            found = inner.specs[index]
            return replace(spec, int_range=found.int_range, vocabulary=found.vocabulary, free_text=found.free_text,
                           domain_source=found.domain_source, role=found.role)
    return None


def is_mask_like(spec: InputSpec) -> bool:
    """An integer or boolean input named like a padding or attention mask.

    Example:
        >>> is_mask_like(InputSpec("padding_mask", (None, None), "int32"))
        True
        >>> is_mask_like(InputSpec("masked_ids", (None, None), "int32"))
        False
    """
    return (spec.dtype == "bool" or _is_integer(spec.dtype)) and bool(_MASK_NAME.search(spec.name))


def _is_integer(dtype: str) -> bool:
    return dtype.startswith("int") or dtype.startswith("uint")


def _sequence_length_bound(layers: list[Any]) -> tuple[int, str] | None:
    """The shortest ``sequence_length`` of a learned position embedding (keras-hub's and similar)."""
    bounds = [
        (int(layer.sequence_length), f"{type(layer).__name__} {layer.name!r}")
        for layer in layers
        if type(layer).__name__.endswith("PositionEmbedding") and isinstance(getattr(layer, "sequence_length", None), int)
    ]
    return min(bounds) if bounds else None


def _lookup_layers(layers: list[Any], dtype: str) -> list[Any]:
    """Without a graph (subclassed models), use the model's lookup layers."""
    wanted = ("Embedding", "CategoryEncoding", "IntegerLookup") if dtype != STRING_DTYPE else ("StringLookup", "TextVectorization")
    return [layer for layer in layers if _is_layer(layer, *wanted)]


def _is_layer(layer: Any, *class_names: str) -> bool:
    """Whether ``layer`` is one of these built-in layers of its own Keras (Keras 3 or ``tf_keras``)."""
    layers = _lazy.keras_of(layer).layers
    return isinstance(layer, tuple(getattr(layers, name) for name in class_names))


def _narrow(spec: InputSpec, layers: list[Any]) -> InputSpec:
    for layer in layers:
        label = f"{type(layer).__name__} {layer.name!r}"
        if _is_layer(layer, "Embedding") and _is_integer(spec.dtype):
            return replace(spec, int_range=(0, int(layer.input_dim) - 1), domain_source=label)
        if _is_layer(layer, "CategoryEncoding") and _is_integer(spec.dtype):
            return replace(spec, int_range=(0, int(layer.num_tokens) - 1), domain_source=label)
        if _is_layer(layer, "IntegerLookup", "StringLookup"):
            vocabulary = tuple(_plain(v) for v in layer.get_vocabulary(include_special_tokens=False))
            extra = _out_of_vocabulary(spec.dtype, vocabulary)
            return replace(spec, vocabulary=vocabulary + extra, domain_source=label)
        if _is_layer(layer, "TextVectorization") and spec.dtype == STRING_DTYPE:
            words = tuple(w for w in (_plain(v) for v in layer.get_vocabulary(include_special_tokens=False)) if w)
            return replace(spec, vocabulary=words + ("unseenword",), free_text=True, domain_source=label)
    if _is_integer(spec.dtype):
        low = 0 if spec.dtype.startswith("uint") else DEFAULT_INT_RANGE[0]
        return replace(spec, int_range=(low, DEFAULT_INT_RANGE[1]))
    if spec.dtype == STRING_DTYPE:
        return replace(spec, vocabulary=("a", "b", "hello world") + OUT_OF_VOCABULARY_STRINGS)
    return spec


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _out_of_vocabulary(dtype: str, vocabulary: tuple[Any, ...]) -> tuple[Any, ...]:
    if dtype == STRING_DTYPE:
        return OUT_OF_VOCABULARY_STRINGS
    numbers = [v for v in vocabulary if isinstance(v, int)]
    top = max(numbers, default=0)
    return (top + 1, top + 1000)
