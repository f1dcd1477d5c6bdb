"""Infer the values a model accepts for each input from the layers consuming it.

An ``Embedding(input_dim=100)`` accepts integers in [0, 99]; a ``StringLookup``
accepts any string but only its vocabulary exercises the learned rows.  Inputs
are generated inside these domains (plus out-of-vocabulary values where the
layer maps them to an OOV bucket).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, InputSpec, ModelSignature, model_input_structure
from pytest_tfroundtrip.structure import flatten_with_paths

DEFAULT_INT_RANGE = (-1000, 1000)
OUT_OF_VOCABULARY_STRINGS = ("", "out-of-vocabulary", "ünïcödé ✓")


def infer_domains(model: Any, signature: ModelSignature) -> ModelSignature:
    """Attach integer ranges and vocabularies to ``signature``'s specs.

    Example:
        >>> import keras
        >>> ids = keras.Input((5,), dtype="int32")
        >>> model = keras.Model(ids, keras.layers.Embedding(50, 4)(ids))
        >>> from pytest_tfroundtrip.inputs.specs import signature_from_model
        >>> infer_domains(model, signature_from_model(model)).specs[0].int_range
        (0, 49)
    """
    consumers = _consumers_in_flat_order(model)
    if len(consumers) != len(signature.specs):
        consumers = [[] for _ in signature.specs]
    all_layers = _all_layers(model)
    specs = []
    for spec, direct in zip(signature.specs, consumers):
        if not (_is_integer(spec.dtype) or spec.dtype == STRING_DTYPE):
            specs.append(spec)
            continue
        layers = direct or _fallback_layers(all_layers, spec.dtype)
        specs.append(_narrow(spec, layers))
    return signature.with_specs(specs)


def _is_integer(dtype: str) -> bool:
    return dtype.startswith("int") or dtype.startswith("uint")


def _all_layers(model: Any) -> list[Any]:
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is None:
        return []
    return list(flatten(include_self=False, recursive=True))


def _consumers_in_flat_order(model: Any) -> list[list[Any]]:
    """For each model input, in flat order, the layers that take it directly."""
    structure = model_input_structure(model)
    if structure is None:
        return []
    layers = _all_layers(model)
    consumers = []
    for _path, tensor in flatten_with_paths(structure):
        consumers.append([
            layer
            for layer in layers
            for node in getattr(layer, "_inbound_nodes", [])
            if any(t is tensor for t in getattr(node, "input_tensors", []))
        ])
    return consumers


def _fallback_layers(layers: list[Any], dtype: str) -> list[Any]:
    """Without a graph (subclassed models), use the model's lookup layers."""
    wanted = ("Embedding", "CategoryEncoding", "IntegerLookup") if dtype != STRING_DTYPE else ("StringLookup", "TextVectorization")
    return [layer for layer in layers if type(layer).__name__ in wanted]


def _narrow(spec: InputSpec, layers: list[Any]) -> InputSpec:
    for layer in layers:
        kind = type(layer).__name__
        label = f"{kind} {layer.name!r}"
        if kind == "Embedding" and _is_integer(spec.dtype):
            return replace(spec, int_range=(0, int(layer.input_dim) - 1), domain_source=label)
        if kind == "CategoryEncoding" and _is_integer(spec.dtype):
            return replace(spec, int_range=(0, int(layer.num_tokens) - 1), domain_source=label)
        if kind in ("IntegerLookup", "StringLookup"):
            vocabulary = tuple(_plain(v) for v in layer.get_vocabulary(include_special_tokens=False))
            extra = _out_of_vocabulary(spec.dtype, vocabulary)
            return replace(spec, vocabulary=vocabulary + extra, domain_source=label)
        if kind == "TextVectorization" and spec.dtype == STRING_DTYPE:
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
