"""Say what did not survive a reload into a Keras model: which weights, and where outputs first diverge."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import KerasReload, Subject, named_variables, to_numpy
from pytest_tfroundtrip.results.weights import WeightDifference, compare_weights
from pytest_tfroundtrip.structure import flatten_with_paths

Close = Callable[[np.ndarray, np.ndarray], bool]


def weight_difference(original: Any, reload: KerasReload) -> WeightDifference:
    """Every weight of ``reload.model`` against the original model's, by path.

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
    return compare_weights(named_variables(original.weights), named_variables(reload.model.weights), reload.restored_by,
                           reload.initial_digests)


def first_differing_layer(
    original: Any, reloaded: Any, subject: Subject, arrays: Mapping[str, np.ndarray], close: Close,
) -> str | None:
    """The first layer, in topological order, whose output differs between the two models on ``arrays``.

    Only for functional and Sequential models with the same layer list (their
    intermediate outputs can be read); None otherwise or if every layer agrees.
    """
    expected, actual = _layer_outputs(original, subject, arrays), _layer_outputs(reloaded, subject, arrays)
    if expected is None or actual is None or [n for n, _ in expected] != [n for n, _ in actual]:
        return None
    for (name, want), (_name, got) in zip(expected, actual):
        if len(want) != len(got) or not all(a.shape == b.shape and close(a, b) for a, b in zip(want, got)):
            return name
    return None


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
