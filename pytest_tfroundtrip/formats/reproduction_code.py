"""Pieces of the reproduction snippet each format writes (see :meth:`RoundTripFormat.reproduction_code`).

A format's lines read ``inputs`` (the failing input: the model's input names ->
NumPy arrays) and set ``got``: the reloaded artifact's outputs, in the model's
flat output order.  They use plain Keras, TensorFlow and runtime calls only, so
the snippet shows the defect without this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.user_rebuild import reference_of


def keras_call_lines(template: Any) -> list[str]:
    """Lines calling a Keras ``model`` on the inputs in its own structure.

    Example:
        >>> keras_call_lines({"b": "b", "a": "a"})[-1]
        "got = tf.nest.flatten(model({'a': x['a'], 'b': x['b']}, training=False))"
    """
    if _lazy.process_backend() != "tensorflow":  # the model runs on another backend: keras.ops only
        return [TENSORS_ANY_BACKEND, f"got = {_flat_outputs_any_backend(template)}"]
    return ["x = {name: tf.constant(array) for name, array in inputs.items()}",
            f"got = tf.nest.flatten(model({structure_code(template)}, training=False))"]


TENSORS_ANY_BACKEND = "x = {name: keras.ops.convert_to_tensor(array) for name, array in inputs.items()}"


def _flat_outputs_any_backend(template: Any) -> str:
    return f"[keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model({structure_code(template)}, training=False))]"


def structure_code(template: Any) -> str:
    """Python source building the model's input structure from ``x`` (input name -> tensor).

    Example:
        >>> structure_code(["a", ("b", "c")])
        "[x['a'], (x['b'], x['c'])]"
    """
    if isinstance(template, Mapping):
        return "{" + ", ".join(f"{key!r}: {structure_code(template[key])}" for key in sorted(template)) + "}"
    if isinstance(template, (list, tuple)):
        items = ", ".join(structure_code(item) for item in template)
        return f"({items}{',' if len(template) == 1 else ''})" if isinstance(template, tuple) else f"[{items}]"
    return f"x[{template!r}]"


def feed_code(names: Mapping[str, str], convert: str = "") -> str:
    """``{artifact input name: inputs[model input name]}`` as source, each value wrapped in ``convert(...)``.

    Example:
        >>> feed_code({"x": "inputs"}, "tf.constant")
        "{'inputs': tf.constant(inputs['x'])}"
    """
    return "{" + ", ".join(f"{theirs!r}: {convert}(inputs[{ours!r}])" if convert else f"{theirs!r}: inputs[{ours!r}]"
                           for ours, theirs in names.items()) + "}"


KERAS_IMPORT = "import keras, tensorflow as tf"


def for_models_keras(lines: list[str], model: Any) -> list[str]:
    """``lines`` importing the model's own Keras: ``tf_keras`` (as ``keras``) for a Keras 2 model.

    Example:
        >>> for_models_keras([KERAS_IMPORT, "model = keras.models.load_model('m.keras')"], object())[0]
        'import keras, tensorflow as tf'
    """
    from pytest_tfroundtrip import _lazy

    if not _lazy.is_keras2_model(model):
        return lines
    return ["import tf_keras as keras, tensorflow as tf  # the model is a tf_keras (Keras 2) model" if line == KERAS_IMPORT
            else line for line in lines]


def rebuild_then_restore_lines(subject: Any, artifact: Any, restore: str) -> list[str]:
    """Lines for the weights-only formats: rebuild the architecture, build it, restore, call.

    The architecture is written beside the artifact as ``model.json``; in your
    code this is where your own model-building function runs.
    """
    template = subject.signature.template
    reference = reference_of(subject.rebuild) if subject.rebuild is not None else None
    if reference is not None and not isinstance(reference, str):
        module, _dot, function = reference.spelled.partition(":")
        head = function.split(".")[0]
        built = [f"from {module} import {head}", f"model = {function}()  # rebuild=: your code builds the model"]
    else:
        architecture = artifact.parent / "model.json"
        architecture.write_text(subject.model.to_json())
        built = [f"model = keras.models.model_from_json(open({str(architecture)!r}).read())  # your code builds the model here"]
    tensors, call = ("x = {name: tf.constant(array) for name, array in inputs.items()}",
                     f"tf.nest.flatten(model({structure_code(template)}, training=False))")
    if _lazy.process_backend() != "tensorflow":  # the model runs on another backend: keras.ops only
        tensors, call = TENSORS_ANY_BACKEND, _flat_outputs_any_backend(template)
    return [KERAS_IMPORT, *built,
            tensors,
            f"model({structure_code(template)}, training=False)  # creates the variables to restore into",
            restore,
            f"got = {call}"]
