"""How a model's layers were constructed: which are custom, and each layer's class, dtype policy and arguments.

What a rebuild from a model's config must keep.  Kept as plain data
(:class:`LayerConstruction`), so that a model rebuilt in another interpreter,
from the config sent there, is compared with the original here without
sending either model across.  The config audit of
:mod:`~pytest_tfroundtrip.checks.config_audit` reads constructor arguments the
same way.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy

# Constructor parameters every layer takes that say nothing about its own configuration.
NOT_PARAMETERS = {"self", "kwargs", "args", "name", "dtype", "trainable", "autocast", "input_shape", "input_dim"}


def is_builtin(obj: Any) -> bool:
    """Whether ``obj``'s class comes with Keras (or keras-hub, keras-nlp, keras-cv, tf_keras).

    Example:
        >>> import keras
        >>> is_builtin(keras.layers.Dense(2)), is_builtin(object())
        (True, False)
    """
    return type(obj).__module__.startswith(("keras.", "keras_hub.", "keras_nlp.", "keras_cv.", "tf_keras."))


def custom_objects_in(model: Any) -> list[Any]:
    """The model (if custom) and every custom layer in its tree, once each.

    Example:
        >>> import keras
        >>> custom_objects_in(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        []
    """
    found = [] if is_builtin(model) else [model]
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not is_builtin(layer) and all(layer is not f for f in found):
            found.append(layer)
    return found


def canonical(value: Any) -> Any:
    """A Keras object (initializer, regularizer, layer, ...) as Keras serializes it; anything else by repr.

    ``repr`` of an object holds its address, so two equal initializers would
    compare unequal: Keras serializes such objects itself when saving.

    Example:
        >>> canonical(3.5), canonical(np.arange(2))
        ('3.5', [0, 1])
    """
    if hasattr(value, "get_config"):
        try:
            return _lazy.keras().saving.serialize_keras_object(value)
        except Exception:  # not a Keras-serializable object after all
            pass
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is a plain JSON-like value (number, string, bool, None, list, tuple, dict)."""
    return isinstance(value, (int, float, str, bool, type(None), list, tuple, dict))


def short(value: Any) -> str:
    """``repr(value)`` cut to 60 characters.

    Example:
        >>> short("x" * 100)[-5:]
        'xx...'
    """
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        if name in NOT_PARAMETERS or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if name not in vars(layer) or not is_plain(vars(layer)[name]):
            continue
        value = vars(layer)[name]
        try:
            text: str | None = json.dumps(value, sort_keys=True, default=canonical)
        except Exception:  # circular or otherwise unprintable: not compared
            text = None
        arguments.append((name, text, short(value)))
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
