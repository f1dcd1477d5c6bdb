"""What makes a reloaded model the user's model as far as Keras can tell: its fingerprint, compared.

A twin (the model the ``.keras`` round trip reloaded in a worker) may stand in
for the original in the conversions that read a live model (``export``,
TFLite, LiteRT, ONNX, OpenVINO) only when its fingerprint is the original's:
the same config, every variable bit-identical in order (shape, dtype, bytes), the
same plain public attributes on every layer (a number, string or flag set on a
layer after it was built is outside config and weights, and a traced call may
read it), and the same input signature ``model.export`` infers.  The fingerprint is taken
here from the original and again in the worker from the twin; any difference
sends the conversions back to the original.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.formats.base import variable_path
from pytest_tfroundtrip.results.weights import value_digest


@dataclass(frozen=True)
class Fingerprint:
    """A model's config digest, each variable's ``(path, digest)``, and the export signature Keras infers."""

    config: str
    variables: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]  # ("position:layer.attribute", repr) of each plain public attribute
    export_signature: str | None  # None: this Keras does not say what it infers


def fingerprint_of(model: Any) -> Fingerprint:
    """The fingerprint of a Keras 3 model.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")], name="s")
        >>> [path for path, _digest in fingerprint_of(model).variables]
        ['s/d/kernel', 's/d/bias']
    """
    config = json.dumps(model.get_config(), sort_keys=True, default=repr)
    variables = tuple((variable_path(v), value_digest(v)) for v in model.variables
                      if not variable_path(v).endswith(_SEED_STATE))
    return Fingerprint(hashlib.sha256(config.encode()).hexdigest(), variables, _plain_attributes(model), _export_signature(model))


def twin_differences(original: Fingerprint, twin: Fingerprint) -> str | None:
    """Why ``twin`` cannot stand in for ``original``, or None when every part of the fingerprints is equal.

    Example:
        >>> a = Fingerprint("c", (("d/kernel", "<f4(3, 2):01"),), (("1:d.units", "2"),), "[(None, 3)]")
        >>> twin_differences(a, a) is None
        True
        >>> twin_differences(a, Fingerprint("c", (("d/kernel", "<f4(3, 2):02"),), (("1:d.units", "2"),), "[(None, 3)]"))
        "variable 'd/kernel' differs"
        >>> twin_differences(a, Fingerprint("c", (("d/kernel", "<f4(3, 2):01"),), (("1:d.units", "3"),), "[(None, 3)]"))
        'layer attribute d.units differs (2 in the original, 3 reloaded)'
    """
    if original.config != twin.config:
        return "its config differs"
    if len(original.variables) != len(twin.variables):
        return f"it has {len(twin.variables)} variables, the original {len(original.variables)}"
    # In order, not by path: a reload's paths lack the scope its model was built in ('dense/kernel' for
    # 'sequential/dense/kernel'); the same config creates the same variables in the same order.
    for (path, digest), (_path, twin_digest) in zip(original.variables, twin.variables):
        if digest != twin_digest:
            return f"variable {path!r} differs"
    # Matched by layer position and attribute, not by layer name: a layer a model creates in its own __init__
    # takes an automatic name ("dropout_37") that depends on how many such layers the process made before.
    theirs = {_position_and_attribute(key): value for key, value in twin.attributes}  # attributes only the reload
    for key, value in original.attributes:  # has come from loading (Dense's is_gptq_calibrated)
        got = theirs.get(_position_and_attribute(key), "None")  # absent: never set, as None is (a model's predict_function)
        if got != value:
            return f"layer attribute {key.split(':', 1)[1]} differs ({value} in the original, {got} reloaded)"
    if original.export_signature is None or twin.export_signature is None:
        return "the input signature model.export infers cannot be read in this Keras"
    if original.export_signature != twin.export_signature:
        return f"the input signature model.export infers differs ({original.export_signature} in the original, {twin.export_signature} reloaded)"
    return None


_PLAIN = (int, float, str, bool, type(None))
# A SeedGenerator's state (Dropout, random augmentation) advances with every training-mode call, and a reload
# starts it afresh; the conversions trace inference, which never reads it (measured: MobileNetV3Small's Dropout).
_SEED_STATE = "seed_generator_state"


def _position_and_attribute(key: str) -> tuple[str, str]:
    """``"3:dropout_37.rate"`` -> ``("3", "rate")``."""
    position, named = key.split(":", 1)
    return position, named.rsplit(".", 1)[1]


def _plain_attributes(model: Any) -> tuple[tuple[str, str], ...]:
    """Every layer's public attributes holding a plain value (or a tuple of them), as ``("layer.attribute", repr)``."""
    found = []
    for index, layer in enumerate(model._flatten_layers(include_self=True)):  # by position: names may repeat
        for attribute, value in sorted(vars(layer).items()):
            if attribute.startswith("_") or attribute == "name":  # names: see twin_differences
                continue
            if isinstance(value, _PLAIN) or (isinstance(value, tuple) and all(isinstance(item, _PLAIN) for item in value)):
                found.append((f"{index}:{layer.name}.{attribute}", repr(value)))
    return tuple(found)


def _export_signature(model: Any) -> str | None:
    """The input signature ``model.export`` infers when given none (a subclassed model's depends on how it was built)."""
    try:
        from keras.src.export.export_utils import get_input_signature
    except ImportError:  # another Keras layout: the conversions stay with the original
        return None
    try:
        return repr(get_input_signature(model))
    except Exception as error:  # export itself would raise: the same error either side is the same model
        return f"{type(error).__name__}: {error}"
