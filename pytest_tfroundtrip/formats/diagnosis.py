"""Say what did not survive a reload into a Keras model: which weights, and where outputs first diverge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Subject, saved_form, to_numpy
from pytest_tfroundtrip.results.weights import WeightDifference, compare_weights
from pytest_tfroundtrip.structure import flatten_with_paths

Close = Callable[[np.ndarray, np.ndarray], bool]


def weight_difference(original: Any, reload: Any, close: Callable[[np.ndarray, np.ndarray], bool] | None = None) -> WeightDifference:
    """Every weight of the reloaded model (a :class:`KerasReload`, or one held by a worker) against the original's, by path.

    ``close``: when given, a pair it accepts is the same weight (default: equal values).

    Example:
        >>> import keras, tempfile
        >>> from pytest_tfroundtrip.checks.subject import prepare_subject
        >>> from pytest_tfroundtrip.formats import get_format
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> subject = prepare_subject(model).subject
        >>> fmt = get_format("weights")
        >>> reload = fmt.load(subject, fmt.save(subject, __import__("pathlib").Path(tempfile.mkdtemp())))
        >>> weight_difference(model, reload).ok
        True
    """
    named_weights = getattr(reload, "named_weights", None)  # a reload held by a worker interpreter reads its own
    reloaded = named_weights() if named_weights is not None else saved_form(reload.model)
    return compare_weights(saved_form(original), reloaded, reload.restored_by, reload.initial_digests, close)


Trace = list[tuple[str, list[np.ndarray]]]


def first_differing_layer(
    original: Any, reloaded_trace: Callable[[bool], Trace | None], subject: Subject, arrays: Mapping[str, np.ndarray],
    close: Close,
) -> str | None:
    """The first layer whose output differs between the original and the reload on ``arrays`` (the original's name).

    ``reloaded_trace(recorded)`` is :func:`layer_trace` of the reloaded model
    on ``arrays``, wherever that model lives.  Layers are paired by position
    (a reload may rename them); None if the two models' layers do not pair up
    or every layer agrees.
    """
    expected, actual = layer_trace(original, subject, arrays, False), reloaded_trace(False)
    if expected is None or actual is None:
        expected, actual = layer_trace(original, subject, arrays, True), reloaded_trace(True)
    if expected is None or actual is None or len(expected) != len(actual):
        return None
    for (name, want), (_name, got) in zip(expected, actual):
        if len(want) != len(got) or not all(a.shape == b.shape and close(a, b) for a, b in zip(want, got)):
            return name
    return None


def layer_trace(model: Any, subject: Subject, arrays: Mapping[str, np.ndarray], recorded: bool) -> Trace | None:
    """Each layer's output on ``arrays``: ``(layer name, output leaves)`` in order, or None if it cannot be read.

    Functional and Sequential models: in topological order, from their
    intermediate outputs.  ``recorded`` (for subclassed models): in the order
    their layers' calls complete, recorded during one call (innermost first).

    Example:
        >>> import keras, numpy as np
        >>> from pytest_tfroundtrip.checks.subject import prepare_subject
        >>> x = keras.Input((3,), name="x")
        >>> model = keras.Model(x, keras.layers.Dense(1, name="b")(keras.layers.Dense(2, name="a")(x)))
        >>> subject = prepare_subject(model).subject
        >>> [name for name, _ in layer_trace(model, subject, {"x": np.ones((1, 3), "float32")}, False)]
        ['a', 'b']
    """
    return _recorded_calls(model, subject, arrays) if recorded else _layer_outputs(model, subject, arrays)


def _layer_outputs(model: Any, subject: Subject, arrays: Mapping[str, np.ndarray]) -> list[tuple[str, list[np.ndarray]]] | None:
    keras = _lazy.keras_of(model)
    try:
        inputs = model.input
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        outputs = [layer.output for layer in layers]
        extractor = keras.Model(inputs, outputs)
        values = extractor(subject.input_tensors(arrays), training=False)
    except Exception:  # subclassed models, shared layers: no intermediate outputs to read
        return None
    return [(layer.name, [to_numpy(leaf) for _path, leaf in flatten_with_paths(value)]) for layer, value in zip(layers, values)]


def _recorded_calls(model: Any, subject: Subject, arrays: Mapping[str, np.ndarray]) -> list[tuple[str, list[np.ndarray]]] | None:
    """Each sublayer's output, in the order the calls complete, recorded during one eager call of ``model``.

    Each layer's ``call`` is wrapped on the instance for that one call and
    restored afterwards, whatever happens: the model is left as it was.
    """
    records: list[tuple[str, list[np.ndarray]]] = []
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    wrapped = []

    def recording(layer: Any, call: Callable[..., Any]) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            output = call(*args, **kwargs)
            records.append((layer.name, [to_numpy(leaf) for _path, leaf in flatten_with_paths(output)]))
            return output
        return record

    try:
        for layer in layers:
            if "call" not in vars(layer):  # a layer listed twice (shared) is wrapped once
                object.__setattr__(layer, "call", recording(layer, layer.call))
                wrapped.append(layer)
        model(subject.input_tensors(arrays), training=False)
    except Exception:  # a traced call (tf.function), an output that is not an array: no record to give
        return None
    finally:
        for layer in wrapped:
            object.__delattr__(layer, "call")
    return records
