"""keras-hub models by class name: which classes the installed keras-hub has, and building one tiny or from a preset.

Example:
    >>> from pytest_tfroundtrip.zoo.specs import parse_model_spec
    >>> built = build_keras_hub_model(parse_model_spec("keras_hub:BertBackbone"))
    >>> built.model.__class__.__name__, built.model.count_params() < 20_000
    ('BertBackbone', True)
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.zoo import keras_hub_tiny as tiny
from pytest_tfroundtrip.zoo.specs import BuiltModel, ModelSpec

BACKBONE, TASK = "backbone", "task"


@dataclass(frozen=True)
class KerasHubClass:
    """A concrete backbone or task class that ``keras_hub.models`` exports, under one of its exported names."""

    name: str
    kind: str  # BACKBONE or TASK


def keras_hub_module() -> Any:
    """``keras_hub``, or a usage error saying how to install it."""
    try:
        return importlib.import_module("keras_hub")
    except ImportError as error:
        raise RoundTripUsageError(f"keras_hub models need keras-hub, which is not importable here ({error}); "
                                  "install it: pip install keras-hub") from error


def keras_hub_classes() -> list[KerasHubClass]:
    """Every concrete backbone and task class exported by the installed keras-hub, aliases included, sorted by name.

    Abstract bases (``Backbone``, ``Task``, ``CausalLM``, ``FeaturePyramidBackbone``...) are left out: a task
    is concrete when it names its ``backbone_cls``; a backbone unless it is the base of others without a
    constructor of its own.

    Example:
        >>> names = [c.name for c in keras_hub_classes()]
        >>> "BertBackbone" in names and "Task" not in names
        True
    """
    models = keras_hub_module().models
    exported = {name: getattr(models, name) for name in sorted(dir(models)) if inspect.isclass(getattr(models, name))}
    found: list[KerasHubClass] = []
    for name, cls in exported.items():
        if issubclass(cls, models.Backbone) and cls is not models.Backbone and not _abstract_backbone(cls, exported):
            found.append(KerasHubClass(name, BACKBONE))
        elif issubclass(cls, models.Task) and cls is not models.Task and getattr(cls, "backbone_cls", None) is not None:
            found.append(KerasHubClass(name, TASK))
    return found


def _abstract_backbone(cls: type, exported: dict[str, type]) -> bool:
    derived = any(other is not cls and issubclass(other, cls) for other in exported.values())
    return derived and "__init__" not in vars(cls)


def missing_tiny_configs() -> list[KerasHubClass]:
    """The installed keras-hub's classes that have no tiny configuration here (and are not known to be uncallable).

    Example:
        >>> missing_tiny_configs()
        []
    """
    return [c for c in keras_hub_classes()
            if c.name not in tiny.NOT_CALLABLE and c.name not in (tiny.BACKBONES if c.kind == BACKBONE else tiny.TASKS)]


def build_keras_hub_model(spec: ModelSpec, pretrained: bool = False) -> BuiltModel:
    """Build ``keras_hub:ClassName`` at its tiny size (random weights), or ``keras_hub:ClassName@preset``.

    A preset is loaded only with ``pretrained=True`` (``--tf-roundtrip-pretrained``): it downloads weights.
    """
    models = keras_hub_module().models
    cls = getattr(models, spec.name, None)
    if not inspect.isclass(cls):
        near = sorted(c.name for c in keras_hub_classes() if c.name.lower().startswith(spec.name.lower()[:4]))[:6]
        raise RoundTripUsageError(f"keras_hub has no model class {spec.name!r} (keras-hub {_version()}); "
                                  + (f"similar names: {near}" if near else "see dir(keras_hub.models)"))
    if spec.preset is not None:
        return _from_preset(cls, spec, pretrained)
    if spec.name in tiny.NOT_CALLABLE:
        raise RoundTripUsageError(f"keras_hub:{spec.name} cannot be checked on its own: it is {tiny.NOT_CALLABLE[spec.name]}")
    if spec.name in tiny.BACKBONES:
        model = _build(cls, tiny.BACKBONES[spec.name])
        return BuiltModel(model, f"keras_hub:{spec.name} (tiny, random weights)", tiny.MODEL_INPUTS.get(spec.name))
    if spec.name in tiny.TASKS:
        backbone_name, arguments = tiny.TASKS[spec.name]
        backbone = _build(getattr(models, backbone_name), tiny.TASK_BACKBONES.get(spec.name, tiny.BACKBONES[backbone_name]))
        model = _build(cls, {"backbone": backbone, "preprocessor": None, **arguments})
        described = tiny.MODEL_INPUTS[spec.name] if spec.name in tiny.MODEL_INPUTS else tiny.MODEL_INPUTS.get(backbone_name)
        return BuiltModel(model, f"keras_hub:{spec.name} (tiny, random weights)", described)
    raise RoundTripUsageError(
        f"keras_hub:{spec.name} has no tiny configuration in pytest-tfroundtrip yet (keras-hub {_version()} is newer "
        f"than its table). Check it through a factory instead: write a function returning the model, e.g. "
        f"def build(): return keras_hub.models.{spec.name}(...small arguments...), and pass module:build "
        f"(or path/to/file.py:build) as the model spec.")


def _from_preset(cls: Any, spec: ModelSpec, pretrained: bool) -> BuiltModel:
    if not pretrained:
        raise RoundTripUsageError(
            f"keras_hub:{spec.name}@{spec.preset} loads a preset, which downloads its weights: pass "
            "--tf-roundtrip-pretrained (or pretrained=True) to allow it, or drop @preset for the tiny random-weight model")
    try:
        model = cls.from_preset(spec.preset) if issubclass(cls, keras_hub_module().models.Backbone) \
            else cls.from_preset(spec.preset, preprocessor=None)
    except Exception as error:  # no network, an unknown preset: the user's setup, not a finding
        raise RoundTripUsageError(f"keras_hub:{spec.name}@{spec.preset} could not be loaded: {type(error).__name__}: "
                                  f"{str(error)[:300]}") from error
    return BuiltModel(model, f"keras_hub:{spec.name}@{spec.preset} (preset weights)")


def _build(cls: Any, arguments: dict[str, Any]) -> Any:
    return cls(**{key: _built_value(value) for key, value in arguments.items()})


def _built_value(value: Any) -> Any:
    if isinstance(value, dict) and "__class__" in value:
        return _build(_class_named(value["__class__"]), value.get("kwargs", {}))
    if isinstance(value, dict):
        return {key: _built_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_built_value(item) for item in value]
    return value


def _class_named(name: str) -> Any:
    if "." not in name:
        return getattr(keras_hub_module().models, name)
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _version() -> str:
    return getattr(keras_hub_module(), "__version__", "?")
