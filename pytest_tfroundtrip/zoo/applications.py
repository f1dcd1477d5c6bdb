"""``keras_applications:Name``: a ``keras.applications`` architecture with random weights at a small input size.

Built with ``weights=None``, ``classes=10`` and a square input of 32 pixels
(or the architecture's minimum: 71 for Xception, 75 for the Inception
networks), unless the spec gives a size: ``keras_applications:ResNet50@96``.

Example:
    >>> from pytest_tfroundtrip.zoo.specs import parse_model_spec
    >>> built = build_application(parse_model_spec("keras_applications:MobileNetV3Small"))
    >>> built.model.input_shape
    (None, 32, 32, 3)
"""

from __future__ import annotations

import inspect

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.zoo.specs import BuiltModel, ModelSpec

SMALL_SIZE = 32
MINIMUM_SIZES = {"Xception": 71, "InceptionV3": 75, "InceptionResNetV2": 75}
CLASSES = 10


def application_names() -> list[str]:
    """Every architecture in the installed ``keras.applications``, sorted.

    Example:
        >>> "ResNet50" in application_names()
        True
    """
    applications = _lazy.keras().applications
    return sorted(name for name in dir(applications) if name[0].isupper() and callable(getattr(applications, name)))


def build_application(spec: ModelSpec) -> BuiltModel:
    """Build ``keras_applications:Name[@size]`` with random weights."""
    names = application_names()
    if spec.name not in names:
        near = [n for n in names if n.lower().startswith(spec.name.lower()[:5])][:6]
        raise RoundTripUsageError(f"keras.applications has no architecture {spec.name!r}; "
                                  + (f"similar names: {near}" if near else f"the architectures are: {', '.join(names)}"))
    minimum = MINIMUM_SIZES.get(spec.name, SMALL_SIZE)
    size = minimum
    if spec.preset is not None:
        if not spec.preset.isdigit() or int(spec.preset) < minimum:
            raise RoundTripUsageError(f"keras_applications:{spec.name}@{spec.preset}: the part after @ is the input size in "
                                      f"pixels, an integer of at least {minimum} for {spec.name}")
        size = int(spec.preset)
    constructor = getattr(_lazy.keras().applications, spec.name)
    arguments = {"weights": None, "input_shape": (size, size, 3), "classes": CLASSES}
    if "include_preprocessing" in inspect.signature(constructor).parameters:
        arguments["include_preprocessing"] = True
    model = constructor(**arguments)
    return BuiltModel(model, f"keras_applications:{spec.name} ({size}x{size}, {CLASSES} classes, random weights)")
