"""Turn the user's model and arguments into a :class:`Subject` every check can use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import (
    Subject,
    call_keras_model,
    output_template_of,
)
from pytest_tfroundtrip.inputs.description import ModelInputs, describe_inputs
from pytest_tfroundtrip.inputs.probing import probe_arrays


@dataclass(frozen=True)
class Prepared:
    """The model under test, the description of what it takes (with the user's ``inputs=``), notes for the report."""

    subject: Subject
    inputs: ModelInputs
    notes: tuple[str, ...] = ()

    @property
    def overrides(self) -> Mapping[str, Any]:
        return self.inputs.overrides

    @property
    def given(self) -> Mapping[str, Any]:
        return self.inputs.given


def prepare_subject(model: Any, input_signature: Any = None, inputs: Any = None) -> Prepared:
    """Validate the model, describe what it takes (read once, then probed by calling it), and name its outputs.

    Every call made here honours ``inputs=``.  An unbuilt model with an
    ``input_signature`` is checked through a copy built from that signature:
    building the user's model would modify it.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> prepare_subject(model).subject.output_names
        ['output']
    """
    keras = _lazy.keras_of(model)
    if not isinstance(model, keras.Model):
        raise RoundTripUsageError(
            f"the check takes a keras.Model, got {type(model).__module__}.{type(model).__qualname__}: "
            f"{_short_repr(model)}. Wrap layers in a model (keras.Sequential([keras.Input(shape), layer]))."
        )
    notes: list[str] = []
    if not model.built:
        if input_signature is None:
            raise RoundTripUsageError(
                f"model {model.name!r} is not built, so its inputs and weights are unknown. "
                "Call it on an input, call model.build(input_shape), or pass input_signature="
            )
        unbuilt = describe_inputs(model, None, input_signature, inputs)  # an unbuilt model is not called
        model = keras.models.clone_model(model)
        notes.append("the model was not built: a copy built from input_signature was checked")
        call_keras_model(model, Subject(model, unbuilt.signature, None), probe_arrays(unbuilt.signature, unbuilt.given))

    def call(signature: Any, arrays: Mapping[str, Any]) -> Any:
        return call_keras_model(model, Subject(model, signature, None, input_signature), arrays)

    described = describe_inputs(model, call, input_signature, inputs)
    outputs = call(described.signature, probe_arrays(described.signature, described.given))
    subject = Subject(model, described.signature, output_template_of(model, outputs), input_signature)
    return Prepared(subject, described, tuple(notes))


def require_keras3(model: Any, check: str) -> None:
    """Refuse a ``tf_keras`` (Keras 2) model in a check that reads Keras 3 internals.

    Example:
        >>> require_keras3(object(), "check_custom_objects") is None
        True
    """
    __tracebackhide__ = True
    if _lazy.is_keras2_model(model):
        raise RoundTripUsageError(
            f"{check} takes Keras 3 models; got the tf_keras (Keras 2) model {type(model).__name__} "
            f"{getattr(model, 'name', '')!r}. check_roundtrip and check_baseline take tf_keras models: use them, "
            "or build the model with Keras 3 (import keras)."
        )


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
