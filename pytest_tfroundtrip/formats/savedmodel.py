"""``savedmodel``: ``tf.saved_model.save`` reloaded with ``tf.saved_model.load``.

On Keras 3 the reloaded object is not callable; users call its
``signatures["serving_default"]`` with keyword arguments.  That signature
renames inputs (``inputs``, ``inputs_1``, ... in the model's flat input
order) and returns a dict (``output_0``, ... or the output names), which this
adapter maps back to the model's structure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject, to_numpy
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE
from pytest_tfroundtrip.structure import pack_like
from pytest_tfroundtrip.results.tolerances import GRAPH

SIGNATURE_KEY = "serving_default"


class SavedModelFormat(RoundTripFormat):
    name = "savedmodel"
    order = 30
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = "tf.saved_model.save(model, path)"
    reloaded_with = 'tf.saved_model.load(path).signatures["serving_default"](**inputs)'

    def save(self, subject: Subject, directory: Path) -> Path:
        path = directory / "savedmodel"
        _lazy.tensorflow().saved_model.save(subject.model, str(path))
        return path

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        tf = _lazy.tensorflow()
        loaded = tf.saved_model.load(str(artifact))
        if SIGNATURE_KEY not in loaded.signatures:
            raise LookupError(f"the SavedModel has no {SIGNATURE_KEY!r} signature (it has {sorted(loaded.signatures)})")
        signature = loaded.signatures[SIGNATURE_KEY]
        declared: dict[str, Any] = dict(signature.structured_input_signature[1])
        names = match_input_names(subject.signature.names, list(declared))

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            check_fixed_dimensions(declared, names, arrays)
            kwargs = {
                names[spec.name]: tf.constant(arrays[spec.name], dtype=tf.string if spec.dtype == STRING_DTYPE else spec.dtype)
                for spec in subject.signature.specs
            }
            _ = loaded  # keep the loaded object (and its variables) alive with the signature
            return outputs_in_model_structure(subject, signature(**kwargs))

        return call


def _natural_key(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


def match_input_names(model_names: list[str], signature_names: list[str]) -> dict[str, str]:
    """Map each model input name to the signature's argument name.

    Example:
        >>> match_input_names(["a", "b"], ["inputs_1", "inputs"])
        {'a': 'inputs', 'b': 'inputs_1'}
    """
    if set(model_names) == set(signature_names):
        return {name: name for name in model_names}
    if len(model_names) == len(signature_names):
        return dict(zip(model_names, sorted(signature_names, key=_natural_key)))
    raise LookupError(
        f"the serving signature takes {sorted(signature_names)} but the model has inputs {model_names}"
    )


def check_fixed_dimensions(declared: Mapping[str, Any], names: Mapping[str, str], arrays: Mapping[str, np.ndarray]) -> None:
    """Explain the classic trap: a signature traced with a fixed batch size."""
    for model_name, signature_name in names.items():
        spec_shape = declared[signature_name].shape.as_list()
        shape = arrays[model_name].shape
        fixed = [axis for axis, dim in enumerate(spec_shape) if dim is not None and axis < len(shape) and dim != shape[axis]]
        if fixed:
            raise ValueError(
                f"the serving signature fixes input {signature_name!r} to shape {tuple(spec_shape)}, "
                f"so it cannot take shape {shape}. It was traced from the model's first call; "
                "build the model with a None batch dimension (or call it on that input_signature) before saving, "
                "or pass signatures=tf.function(model.call).get_concrete_function(tf.TensorSpec((None, ...)))"
            )


def outputs_in_model_structure(subject: Subject, returned: Any) -> Any:
    """Map a signature's output dict back onto the model's output structure."""
    names = subject.output_names
    if not isinstance(returned, Mapping):
        leaves = [returned] if len(names) == 1 else list(returned)
        return pack_like(subject.output_template, [to_numpy(v) for v in leaves])
    keys = list(returned)
    if set(keys) == set(names):
        ordered = [returned[name] for name in names]
    elif len(keys) == len(names):
        ordered = [returned[key] for key in sorted(keys, key=_natural_key)]
    else:
        raise LookupError(f"the signature returned outputs {sorted(keys)} but the model has outputs {names}")
    return pack_like(subject.output_template, [to_numpy(v) for v in ordered])


FORMAT = SavedModelFormat()
