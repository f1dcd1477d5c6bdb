"""Parse a model spec string (``keras_hub:BertBackbone``, ``pkg.mod:factory``, ``file.py:factory``, a path),
and hold what building one gives (``BuiltModel``).

Parsing never imports the model's package: a bad spec is refused before
TensorFlow starts.

Example:
    >>> parse_model_spec("keras_hub:GemmaBackbone@gemma_2b_en")
    ModelSpec(kind='keras_hub', name='GemmaBackbone', preset='gemma_2b_en', text='keras_hub:GemmaBackbone@gemma_2b_en')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError

KERAS_HUB = "keras_hub"
KERAS_APPLICATIONS = "keras_applications"
FACTORY = "factory"
FILE_FACTORY = "file_factory"
SAVED = "saved"

ZOOS = (KERAS_HUB, KERAS_APPLICATIONS)
FORMS = ("keras_hub:ClassName[@preset]", "keras_applications:Name[@size]", "package.module:factory",
         "path/to/file.py:factory", "a .keras/.h5 file or a SavedModel directory")

_NAME = r"[A-Za-z_]\w*"
_ZOO_SPEC = re.compile(rf"^(?P<zoo>{KERAS_HUB}|{KERAS_APPLICATIONS}):(?P<name>{_NAME})(?:@(?P<preset>[\w./:-]+))?$")
_FACTORY_SPEC = re.compile(rf"^(?P<module>{_NAME}(?:\.{_NAME})*):(?P<name>{_NAME})$")
_FILE_SPEC = re.compile(rf"^(?P<path>.+\.py):(?P<name>{_NAME})$")


@dataclass(frozen=True)
class ModelSpec:
    """One parsed model spec: what kind of source, which name in it, and an optional preset or size."""

    kind: str
    name: str
    preset: str | None = None
    text: str = ""

    @property
    def module(self) -> str:
        """The module (``factory``) or file (``file_factory``) the factory lives in."""
        return self.text.rsplit(":", 1)[0]


def parse_model_spec(text: str) -> ModelSpec:
    """The :class:`ModelSpec` that ``text`` names, or a :class:`RoundTripUsageError` saying which forms exist.

    Example:
        >>> parse_model_spec("keras_applications:MobileNetV3Small@64").preset
        '64'
        >>> parse_model_spec("examples/models.py:build").kind
        'file_factory'
        >>> parse_model_spec("keras_hub:")
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: model spec 'keras_hub:' names no class: expected keras_hub:ClassName, e.g. keras_hub:BertBackbone
    """
    if not isinstance(text, str) or not text.strip():
        raise RoundTripUsageError(f"model spec {text!r} is empty; expected one of: {', '.join(FORMS)}")
    text = text.strip()
    zoo_prefix = text.split(":", 1)[0]
    if zoo_prefix in ZOOS:
        match = _ZOO_SPEC.match(text)
        if match is None:
            example = "keras_hub:BertBackbone" if zoo_prefix == KERAS_HUB else "keras_applications:ResNet50"
            rest = text.split(":", 1)[1] if ":" in text else ""
            what = "names no class" if not rest else f"has a malformed name {rest!r}"
            raise RoundTripUsageError(f"model spec {text!r} {what}: expected {zoo_prefix}:ClassName, e.g. {example}")
        return ModelSpec(match["zoo"], match["name"], match["preset"], text)
    if (match := _FILE_SPEC.match(text)) is not None:
        return ModelSpec(FILE_FACTORY, match["name"], None, text)
    if (match := _FACTORY_SPEC.match(text)) is not None:
        return ModelSpec(FACTORY, match["name"], None, text)
    return ModelSpec(SAVED, text, None, text)


@dataclass(frozen=True)
class BuiltModel:
    """A model built from a spec, what it is, and the inputs it needs described (or None: inferred)."""

    model: Any
    description: str
    model_inputs: dict[str, Any] | None = None
    rebuild: Any = None  # a factory spec's function: it builds the model again for weights-only formats
