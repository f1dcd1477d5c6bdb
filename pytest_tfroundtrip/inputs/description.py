"""One description of what a model takes, built once per check.

:func:`describe_inputs` reads the model once (:func:`~pytest_tfroundtrip.inputs.reading.read_model`),
infers its input specs and value domains from that reading, applies the user's
``inputs=``, narrows ranges and sizes by calling the model (through a callable the
check gives: how to call a model belongs to the formats, a floor above), and reads
the shapes the model was built and traced with.  The result, :class:`ModelInputs`, is
immutable; the search, the targeted examples, the probing and the reproduction
scripts take it (or its ``signature``) as data and never walk the model again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_tfroundtrip.inputs.domains import domains_of
from pytest_tfroundtrip.inputs.probing import given_arrays, narrow_by_calling
from pytest_tfroundtrip.inputs.reading import read_model
from pytest_tfroundtrip.inputs.specs import ModelSignature, signature_of
from pytest_tfroundtrip.inputs.strategies import normalise_overrides
from pytest_tfroundtrip.inputs.targeted import ShapeHints, shape_hints

SignatureCall = Callable[[ModelSignature, Mapping[str, np.ndarray]], Any]
"""Calls the model on arrays keyed by input name, packed the way ``signature`` says."""


@dataclass(frozen=True)
class ModelInputs:
    """What a model takes: its signature (specs with domains, sizes and masks), the user's overrides, hints.

    ``overrides`` are the user's ``inputs=`` keyed by input name (arrays or
    hypothesis strategies); ``given`` one concrete array per override;
    ``hints`` the batch sizes and lengths the model was built or traced with.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,), name="pixels"), keras.layers.Dense(2)])
        >>> describe_inputs(model).signature.describe()
        'pixels: shape (None, 3), float32'
    """

    signature: ModelSignature
    overrides: Mapping[str, Any] = field(default_factory=dict)
    given: Mapping[str, np.ndarray] = field(default_factory=dict)
    hints: ShapeHints = field(default_factory=ShapeHints)


def describe_inputs(model: Any, call: SignatureCall | None = None, input_signature: Any = None,
                    inputs: Any = None) -> ModelInputs:
    """Read ``model`` once and describe what it takes; with ``call``, narrow that by calling it.

    Without ``call`` (an unbuilt model, which must not be called) the description
    is what the graph and ``input_signature`` tell.

    Example:
        >>> import keras
        >>> ids = keras.Input((4,), dtype="int32")
        >>> model = keras.Model(ids, keras.layers.Embedding(10, 2)(ids))
        >>> describe_inputs(model).signature.specs[0].int_range
        (0, 9)
    """
    reading = read_model(model)
    signature = domains_of(reading, signature_of(reading, input_signature))
    overrides = normalise_overrides(signature, inputs)
    given = given_arrays(signature, overrides)
    if call is not None:
        unnarrowed = signature
        signature = narrow_by_calling(lambda arrays: call(unnarrowed, arrays), signature, given,
                                      size_hints=reading.weight_dimensions)
    return ModelInputs(signature, overrides, given, shape_hints(reading, signature))
