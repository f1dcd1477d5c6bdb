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
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject, WarnedCall, to_numpy
from pytest_tfroundtrip.formats.reproduction_code import feed_code
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE
from pytest_tfroundtrip.results.tolerances import GRAPH
from pytest_tfroundtrip.structure import flatten_with_paths, pack_like

SIGNATURE_KEY = "serving_default"


class SavedModelFormat(RoundTripFormat):
    name = "savedmodel"
    order = 30
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = "tf.saved_model.save(model, path)"
    reloaded_with = 'tf.saved_model.load(path).signatures["serving_default"](**inputs)'

    def backend_reason(self, backend: str) -> str | None:
        if backend == "tensorflow":
            return None
        # Measured (Keras 3.15, KERAS_BACKEND=jax): ValueError "Expected an object of type `Trackable` ... for export".
        return (f"tf.saved_model.save takes only TensorFlow objects (tf.Module): under KERAS_BACKEND={backend} a Keras "
                "model is not one (it raises ValueError: Expected an object of type `Trackable`); model.export(path) "
                "writes its SavedModel (the 'export' format)")

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
        fixed = fixed_dimension_warnings(subject, declared, names)
        retyped = declared_dtype_warnings(subject, declared, names)

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            # In the dtypes the signature declares, as its every caller must feed them (it does not cast).
            kwargs = {names[spec.name]: tf.constant(arrays[spec.name], dtype=declared[names[spec.name]].dtype)
                      for spec in subject.signature.specs}
            _ = loaded  # keep the loaded object (and its variables) alive with the signature
            try:
                returned = signature(**kwargs)
            except Exception as error:
                if fixed:  # the classic trap: say why, with TensorFlow's own error
                    raise ValueError(f"{fixed[0]}. TensorFlow refused the call: {type(error).__name__}: {error}") from error
                raise
            return outputs_in_model_structure(subject, returned)

        return WarnedCall(call, tuple(fixed + retyped))

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return ["import tensorflow as tf", f"loaded = tf.saved_model.load({str(artifact)!r})"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        signature = _lazy.tensorflow().saved_model.load(str(artifact)).signatures[SIGNATURE_KEY]
        names = match_input_names(subject.signature.names, list(signature.structured_input_signature[1]))
        keys = output_keys_in_model_order(subject, list(signature.structured_outputs))
        return [f"returned = loaded.signatures[{SIGNATURE_KEY!r}](**{feed_code(names, 'tf.constant')})",
                f"got = [returned[key] for key in {keys!r}]"]


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


def fixed_dimension_warnings(subject: Subject, declared: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """A warning per input whose serving signature fixes a dimension the model leaves unknown.

    TensorFlow called from Python checks signature shapes loosely and computes
    such calls correctly, so this is not a failure; but TF Serving and
    converters take the declared shape at its word: a deployment risk.
    """
    warnings = []
    for spec in subject.signature.specs:
        declared_shape = declared[names[spec.name]].shape.as_list()
        fixed = [axis for axis, (model_dim, dim) in enumerate(zip(spec.shape, declared_shape)) if model_dim is None and dim is not None]
        if fixed:
            warnings.append(
                f"the serving signature fixes input {names[spec.name]!r} to shape {tuple(declared_shape)} (the model takes "
                f"{tuple(spec.shape)}; axis {', '.join(map(str, fixed))} was fixed by the model's first call). TensorFlow called "
                "from Python accepts other sizes, but TF Serving and converters may not: build the model with a None batch "
                "dimension (model.build((None, ...)) or keras.Input) before saving, or pass "
                "signatures=tf.function(model.call).get_concrete_function(tf.TensorSpec((None, ...)))"
            )
    return warnings


def declared_dtype_warnings(subject: Subject, declared: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """A warning per input whose serving signature declares another dtype than the model takes.

    ``tf.saved_model.save`` traces a subclassed model's signature from its build
    shapes, which carry no dtype: a float64 or bfloat16 input is declared float32.
    Callers must feed the declared dtype; the values are converted on the way.
    """
    warnings = []
    for spec in subject.signature.specs:
        dtype = declared[names[spec.name]].dtype.name
        wanted = "string" if spec.dtype == STRING_DTYPE else spec.dtype
        if dtype != wanted:
            warnings.append(
                f"the serving signature declares input {names[spec.name]!r} as {dtype}, but the model takes {wanted}: "
                f"callers must convert to {dtype} (the check did), and a serving client sending {wanted} is refused. "
                "Pass signatures=tf.function(model.call).get_concrete_function(tf.TensorSpec(..., dtype)) when saving")
    return warnings


def outputs_in_model_structure(subject: Subject, returned: Any) -> Any:
    """Map a signature's output dict back onto the model's output structure."""
    if not isinstance(returned, Mapping):
        # A list of one output is one leaf, not an array with an extra axis (np.asarray would stack it).
        leaves = [leaf for _path, leaf in flatten_with_paths(returned)]
        return pack_like(subject.output_template, [to_numpy(v) for v in leaves])
    ordered = [returned[key] for key in output_keys_in_model_order(subject, list(returned))]
    return pack_like(subject.output_template, [to_numpy(v) for v in ordered])


def output_keys_in_model_order(subject: Subject, keys: list[str]) -> list[str]:
    """A signature's output keys in the model's flat output order (by name, else ``output_0, output_1, ...``)."""
    names = subject.output_names
    if set(keys) == set(names):
        return list(names)
    if len(keys) == len(names):
        return sorted(keys, key=_natural_key)
    raise LookupError(f"the signature returned outputs {sorted(keys)} but the model has outputs {names}")


FORMAT = SavedModelFormat()
