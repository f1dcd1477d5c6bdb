"""A model of a zoo by name: ``keras_hub:ClassName`` or ``keras_applications:Name``."""

from __future__ import annotations

from pytest_tfroundtrip.zoo.specs import KERAS_APPLICATIONS, KERAS_HUB, BuiltModel, ModelSpec


def build_zoo_model(spec: ModelSpec, pretrained: bool = False) -> BuiltModel:
    """The keras-hub or keras.applications model ``spec`` names (a preset's weights only when ``pretrained``).

    Example:
        >>> from pytest_tfroundtrip.zoo.specs import parse_model_spec
        >>> build_zoo_model(parse_model_spec("keras_applications:MobileNetV3Small")).model.name
        'MobileNetV3Small'
    """
    if spec.kind == KERAS_HUB:
        from pytest_tfroundtrip.zoo.keras_hub_models import build_keras_hub_model

        return build_keras_hub_model(spec, pretrained)
    if spec.kind == KERAS_APPLICATIONS:
        from pytest_tfroundtrip.zoo.applications import build_application

        return build_application(spec)
    raise ValueError(f"{spec.text!r} names no zoo model (expected keras_hub:... or keras_applications:...)")
