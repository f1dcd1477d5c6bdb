"""Config audit of custom layers and models: what a reload would get wrong.

For every object in the model tree whose class is not built into Keras:
``from_config(get_config())`` must rebuild it with an equal, JSON-serializable
config, and so must Keras's real serialization through JSON text; every constructor parameter must be in the config (or listed in the
class attribute ``config_derived_args``); the current attributes must equal
what the config records; the rebuilt object, given the same weights, must
compute the same outputs; and no variable may escape Keras's tracking.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.construction import NOT_PARAMETERS, canonical, is_plain, short

DERIVED_ARGS_ATTRIBUTE = "config_derived_args"


@dataclass(frozen=True)
class Finding:
    """One problem with a custom object, and the fix."""

    check: str  # config | json | parameter | attribute | state | untracked | registration | lambda
    cls: str
    name: str
    message: str
    fix: str

    def describe(self) -> str:
        return f"{self.cls} {self.name!r}: {self.message}. Fix: {self.fix}"


def lambda_layers_in(model: Any) -> list[Any]:
    keras = _lazy.keras()
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, keras.layers.Lambda)]


def audit_config(obj: Any) -> list[Finding]:
    """Config round trip, JSON, constructor parameters and attribute drift for one object."""
    cls, name = type(obj).__name__, obj.name
    findings: list[Finding] = []
    try:
        config = obj.get_config()
    except Exception as error:
        return [Finding("config", cls, name, f"get_config() raised {type(error).__name__}: {error}",
                        f"implement {cls}.get_config() returning every constructor argument")]
    try:
        json.dumps(_lazy.keras().saving.serialize_keras_object(obj))
    except Exception as error:
        findings.append(Finding("config", cls, name, f"the config is not JSON-serializable ({type(error).__name__}: {error})",
                                f"return plain values from {cls}.get_config() (serialize nested objects with keras.saving.serialize_keras_object)"))
    try:
        rebuilt = type(obj).from_config(config)
        rebuilt_config = rebuilt.get_config()
    except Exception as error:
        findings.append(Finding("config", cls, name, f"{cls}.from_config(get_config()) raised {type(error).__name__}: {error}",
                                f"make {cls}.get_config() return exactly the arguments {cls}.__init__ takes"))
        rebuilt_config = None
    if rebuilt_config is not None and _plain(rebuilt_config) != _plain(config):
        drift = [f"{key!r}: {short(config.get(key))} becomes {short(rebuilt_config.get(key))}"
                 for key in sorted(set(config) | set(rebuilt_config))
                 if key != "name" and not _equal(config.get(key), rebuilt_config.get(key))]
        findings.append(Finding("config", cls, name, f"from_config(get_config()) gives a different config ({'; '.join(drift)})",
                                f"make {cls}.__init__ store every argument unchanged (derive other values in separate attributes)"))
    findings.extend(_parameter_findings(obj, config))
    policy = _lost_dtype_policy(obj, config, rebuilt_config)
    if policy is not None:
        findings.append(policy)
    return findings


def _lost_dtype_policy(obj: Any, config: dict[str, Any], rebuilt_config: dict[str, Any] | None) -> Finding | None:
    """A dtype policy (``mixed_float16``, ...) that ``from_config(get_config())`` does not give back."""
    cls, name = type(obj).__name__, obj.name
    policy = getattr(getattr(obj, "dtype_policy", None), "name", None)
    if policy is None or rebuilt_config is None:
        return None
    try:
        rebuilt_policy = type(obj).from_config(config).dtype_policy.name
    except Exception:  # from_config failing is already a finding
        return None
    if rebuilt_policy == policy:
        return None
    why = " (get_config() has no 'dtype': does it call super().get_config()?)" if "dtype" not in config else ""
    return Finding("config", cls, name,
                   f"its dtype policy {policy!r} is lost: a reload computes in {rebuilt_policy!r}{why}",
                   f"start {cls}.get_config() from super().get_config() (it records name, trainable and dtype)")


def json_round_trip(obj: Any) -> list[Finding]:
    """Round-trip ``obj`` through Keras's real serialization: ``serialize_keras_object`` -> JSON text -> ``deserialize_keras_object``.

    ``from_config(get_config())`` in memory keeps Python types that JSON does not
    (tuples become lists, integer dict keys become strings), so a config can pass
    it and still fail ``load_model``.  Names the config keys that JSON changes.
    Unregistered classes are skipped (the registration finding covers them).
    """
    keras = _lazy.keras()
    cls, name = type(obj).__name__, obj.name
    try:
        serialized = keras.saving.serialize_keras_object(obj)
        decoded = json.loads(json.dumps(serialized))
    except Exception:  # not JSON-serializable: audit_config reports it
        return []
    if registration_finding(obj) is not None:
        return []
    before, after = serialized.get("config") or {}, decoded.get("config") or {}
    changed = [f"{key!r}: {short(before[key])} becomes {short(after.get(key))}"
               for key in before if key != "name" and not _same_python_value(before[key], after.get(key))]
    where = f"; config key{'s' if len(changed) > 1 else ''} that JSON changes: {'; '.join(changed)}" if changed else ""
    fix = (f"make {cls}.get_config() return JSON types (lists, string keys) and {cls}.__init__ accept them "
           "(convert back to tuples or integer keys there)")
    try:
        rebuilt = keras.saving.deserialize_keras_object(decoded)
        rebuilt_config = rebuilt.get_config()
    except Exception as error:
        return [Finding("json", cls, name, f"after Keras's serialization to JSON and back (what .keras files store), "
                        f"{cls} cannot be rebuilt ({type(error).__name__}: {error}){where}", fix)]
    if _plain(rebuilt_config) != _plain(obj.get_config()):
        return [Finding("json", cls, name, f"after Keras's serialization to JSON and back, the rebuilt config differs{where}", fix)]
    return []


def _same_python_value(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _plain(config: dict[str, Any]) -> str:
    keep = {k: v for k, v in config.items() if k != "name"}
    return json.dumps(keep, sort_keys=True, default=canonical)


def _parameter_findings(obj: Any, config: dict[str, Any]) -> list[Finding]:
    cls, name = type(obj).__name__, obj.name
    derived = set(getattr(type(obj), DERIVED_ARGS_ATTRIBUTE, ()))
    findings = []
    for parameter in inspect.signature(type(obj).__init__).parameters.values():
        if parameter.name in NOT_PARAMETERS or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        has_attribute = parameter.name in vars(obj)
        current = getattr(obj, parameter.name, None)
        if parameter.name not in config:
            if parameter.name in derived:
                continue
            reload_gets = "no value (reloading raises)" if parameter.default is parameter.empty else f"the default {parameter.default!r}"
            now = f"current value {short(current)}, " if has_attribute else ""
            findings.append(Finding("parameter", cls, name, f"constructor parameter {parameter.name!r} is missing from get_config() ({now}a reload gets {reload_gets})",
                                    f"add {parameter.name!r} to {cls}.get_config()"))
        elif has_attribute and is_plain(current) and not _equal(current, config[parameter.name]):
            findings.append(Finding("attribute", cls, name,
                                    f"attribute {parameter.name!r} is {short(current)} but get_config() records {short(config[parameter.name])}, "
                                    f"which is what a reload gets (changed after construction?)",
                                    f"make {cls}.get_config() return the current self.{parameter.name}, or do not change it after construction"))
    return findings


def _equal(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True, default=canonical) == json.dumps(b, sort_keys=True, default=canonical)
    except Exception:
        return a == b


def tracked_variable_ids(obj: Any) -> set[int]:
    """Ids of the variables Keras tracks for ``obj`` (and the backend variables inside them)."""
    tracked = {id(v) for v in obj.variables}
    for variable in obj.variables:
        value = getattr(variable, "value", None)
        if value is not None:
            tracked.add(id(value))
    return tracked


def _is_variable(value: Any) -> bool:
    return hasattr(value, "assign") and hasattr(value, "numpy")


def untracked_variables(obj: Any) -> list[Finding]:
    """Variables set as attributes that Keras does not track (not saved, not in weights)."""
    tracked = tracked_variable_ids(obj)
    findings = []
    for key, value in vars(obj).items():
        if _is_variable(value) and id(value) not in tracked:
            findings.append(Finding("untracked", type(obj).__name__, obj.name,
                                    f"variable {key!r} ({getattr(value, 'name', '')}) is not tracked by Keras: no format but tf.train.Checkpoint saves it",
                                    f"create it with self.add_weight(..., name={key!r}) in {type(obj).__name__}.build()"))
    return findings


def attribute_state(obj: Any, untracked_from: set[int] | None = None) -> dict[str, np.ndarray]:
    """Copies of what ``obj`` keeps in public attributes outside config and weights.

    NumPy arrays and numbers; with ``untracked_from`` (tracked variable ids), also
    the values of variables that are not among them.
    """
    found = {}
    for key, value in vars(obj).items():
        if key.startswith("_") or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) or (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"):
            found[key] = np.array(value, copy=True)
        elif untracked_from is not None and _is_variable(value) and id(value) not in untracked_from:
            found[key] = np.array(value.numpy(), copy=True)
    return found


def registration_finding(obj: Any) -> Finding | None:
    """Is the class resolvable by Keras's serialization registry?"""
    keras = _lazy.keras()
    cls = type(obj)
    registered = keras.saving.get_registered_name(cls)
    if keras.saving.get_registered_object(registered) is cls:
        return None
    return Finding("registration", cls.__name__, obj.name,
                   f"class {cls.__module__}.{cls.__qualname__} is not registered with Keras: .keras and .h5 files cannot find it at load",
                   f"decorate {cls.__name__} with @keras.saving.register_keras_serializable(package=...) "
                   "(or pass custom_objects= to load_model)")
