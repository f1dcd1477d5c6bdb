"""Turn the user's model and arguments into a :class:`Subject` every check can use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats.base import (
    Subject,
    call_keras_model,
    output_template_of,
)
from pytest_tfroundtrip.inputs.domains import infer_domains
from pytest_tfroundtrip.inputs.probing import (
    given_arrays,
    narrow_by_calling,
    probe_arrays,
)
from pytest_tfroundtrip.inputs.specs import signature_from_model
from pytest_tfroundtrip.inputs.strategies import normalise_overrides


@dataclass(frozen=True)
class Prepared:
    """The model under test, the user's ``inputs=`` per input name (and one concrete array each), notes for the report."""

    subject: Subject
    overrides: dict[str, Any]
    given: dict[str, Any]
    notes: tuple[str, ...] = ()


def prepare_subject(model: Any, input_signature: Any = None, inputs: Any = None) -> Prepared:
    """Validate the model, read its signature and input domains, and name its outputs.

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
        signature = infer_domains(model, signature_from_model(model, input_signature))
        given = given_arrays(signature, normalise_overrides(signature, inputs))
        model = keras.models.clone_model(model)
        notes.append("the model was not built: a copy built from input_signature was checked")
        call_keras_model(model, Subject(model, signature, None), probe_arrays(signature, given))
    signature = infer_domains(model, signature_from_model(model, input_signature))
    overrides = normalise_overrides(signature, inputs)
    given = given_arrays(signature, overrides)
    probe = Subject(model, signature, None, input_signature)
    signature = narrow_by_calling(lambda arrays: call_keras_model(model, probe, arrays), signature, given,
                                  size_hints=_weight_dimensions(model))
    probe = Subject(model, signature, None, input_signature)
    outputs = call_keras_model(model, probe, probe_arrays(signature, given))
    subject = Subject(model, signature, output_template_of(model, outputs), input_signature)
    return Prepared(subject, overrides, given, tuple(notes))


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


def _weight_dimensions(model: Any) -> tuple[int, ...]:
    """Every dimension of the model's weights: where an exact input length would come from."""
    return tuple(sorted({int(d) for weight in model.weights for d in weight.shape if d is not None}))


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
