"""What a rebuild from a model's config must keep: each layer's class, dtype policy and constructor arguments.

Kept as plain data (:class:`LayerConstruction`), so that a model rebuilt in
another interpreter, from the config sent there, is compared with the
original here without sending either model across.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.checks.config_audit import _NOT_PARAMETERS, _canonical, _is_plain, _short


@dataclass(frozen=True)
class LayerConstruction:
    """One layer as constructed: its class, dtype policy, and each plain constructor argument it holds.

    ``arguments`` are ``(name, canonical JSON text, short repr)``; the JSON
    text is None when the value has none, and is then not compared.
    """

    name: str
    cls: str
    class_name: str
    policy: str | None
    arguments: tuple[tuple[str, str | None, str], ...]


def construction_record(model: Any) -> tuple[LayerConstruction, ...]:
    """Every layer of ``model`` (itself first, then depth first) as constructed.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.3)])
        >>> dropout = construction_record(model)[-1]
        >>> dropout.class_name, [a for a in dropout.arguments if a[0] == "rate"]
        ('Dropout', [('rate', '0.3', '0.3')])
    """
    return tuple(_layer_construction(layer) for layer in model._flatten_layers(include_self=True, recursive=True))


def _layer_construction(layer: Any) -> LayerConstruction:
    arguments = []
    for parameter in inspect.signature(type(layer).__init__).parameters.values():
        name = parameter.name
        if name in _NOT_PARAMETERS or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if name not in vars(layer) or not _is_plain(vars(layer)[name]):
            continue
        value = vars(layer)[name]
        try:
            text: str | None = json.dumps(value, sort_keys=True, default=_canonical)
        except Exception:  # circular or otherwise unprintable: not compared
            text = None
        arguments.append((name, text, _short(value)))
    policy = getattr(getattr(layer, "dtype_policy", None), "name", None)
    cls = type(layer)
    return LayerConstruction(layer.name, f"{cls.__module__}.{cls.__qualname__}", cls.__name__, policy, tuple(arguments))


def construction_lost(
    original: tuple[LayerConstruction, ...], rebuilt: tuple[LayerConstruction, ...],
) -> str | None:
    """What ``rebuilt`` lost of ``original``: a layer's class, dtype policy or constructor argument, paired by position.

    Example:
        >>> import keras
        >>> a = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.3, name="dropout")])
        >>> b = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5, name="dropout")])
        >>> construction_lost(construction_record(a), construction_record(b))
        "layer 'dropout' argument 'rate' is 0.3 in the model, 0.5 when rebuilt from its config"
    """
    if len(original) != len(rebuilt):
        return f"the model has {len(original)} layers, rebuilt from its config {len(rebuilt)}"
    for layer, copy in zip(original, rebuilt):
        if layer.cls != copy.cls:
            return f"layer {layer.name!r} is a {layer.class_name}, rebuilt from its config a {copy.class_name}"
        if layer.policy != copy.policy:
            return f"layer {layer.name!r} has the dtype policy {layer.policy!r}, rebuilt from its config {copy.policy!r}"
        copied = {name: (text, short) for name, text, short in copy.arguments}
        for name, text, short in layer.arguments:
            if name not in copied or text is None or copied[name][0] is None:
                continue
            if text != copied[name][0]:
                return (f"layer {layer.name!r} argument {name!r} is {short} in the model, "
                        f"{copied[name][1]} when rebuilt from its config")
    return None


def constructor_arguments_lost(model: Any, rebuilt: Any) -> str | None:
    """What ``rebuilt`` (from ``model``'s config) lost: a layer's constructor argument or dtype policy, paired by position.

    Example:
        >>> import keras
        >>> a = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.3)])
        >>> constructor_arguments_lost(a, keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.3)])) is None
        True
    """
    return construction_lost(construction_record(model), construction_record(rebuilt))
