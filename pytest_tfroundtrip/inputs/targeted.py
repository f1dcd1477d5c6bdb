"""Targeted examples: the corners where round-trip defects live, tried before the random search.

Random draws find a defect only when they land on it.  Some corners are
known in advance: the batch size (and sequence length) a model was built or
traced with, where a ``tf.function`` keeps a specialised trace; the smallest
and largest sizes, and sequences as long as the model allows; every value
family; values at and beyond large magnitudes; NaN and infinities.  Each
targeted example is described by a :class:`Pin` and drawn by the same
strategy as the random search (a derandomized draw under the pin), so a
failure on one is shrunk by a hypothesis search under that pin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.strategies import SearchStrategy

from pytest_tfroundtrip.inputs.reading import ModelReading
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, ModelSignature
from pytest_tfroundtrip.inputs.strategies import (
    MAX_BATCH,
    TYPICAL_UNKNOWN_DIM,
    Example,
    Pin,
    axis_bounds,
    axis_floors,
    fit_size,
    unknown_dims_of,
)
from pytest_tfroundtrip.inputs.values import FLOAT_KINDS, NONFINITE
from pytest_tfroundtrip.structure import flatten_with_paths

LONG_DIM = 64
BASE_DIM = TYPICAL_UNKNOWN_DIM
FAMILY_BATCH = 3  # room for a NaN sample, an inf sample and a finite one
MAX_ELEMENTS = 1 << 18  # per input, so a long example stays cheap on large models
MAX_HINTED_BATCH = 64
LARGE_SCALE, BEYOND_LARGE_SCALE = 1e5, 1e10


@dataclass(frozen=True)
class ShapeHints:
    """Sizes the model has been built or traced with: batch sizes, and sizes of its unknown dimensions.

    Example:
        >>> ShapeHints(batches=(5,), dims=((1, 12),)).describe()
        'batch 5; axis 1 = 12'
    """

    batches: tuple[int, ...] = ()
    dims: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        parts = [f"batch {b}" for b in self.batches] + [f"axis {a} = {s}" for a, s in self.dims]
        return "; ".join(parts) or "none"


def shape_hints(reading: ModelReading, signature: ModelSignature) -> ShapeHints:
    """Read build shapes (every layer) and traced input signatures (``tf.function`` calls).

    Example:
        >>> import keras
        >>> from pytest_tfroundtrip.inputs.reading import read_model
        >>> from pytest_tfroundtrip.inputs.specs import signature_from_model
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> shape_hints(read_model(model), signature_from_model(model)).describe()
        'none'
    """
    model = reading.model
    unknown_axes = {axis for spec in signature.specs for axis, dim in enumerate(spec.shape) if axis and dim is None}
    batches: set[int] = set()
    dims: set[tuple[int, int]] = set()
    layers = [model, *reading.layers]
    for layer in layers:
        shapes = _build_shapes(layer) + _traced_shapes(layer)
        for shape in shapes:
            if shape and isinstance(shape[0], int) and 0 < shape[0] <= MAX_HINTED_BATCH:
                batches.add(shape[0])
            if layer is model:
                dims.update((axis, size) for axis, size in enumerate(shape)
                            if axis in unknown_axes and isinstance(size, int) and size > 0)
    return ShapeHints(tuple(sorted(batches)), tuple(sorted(dims)))


def _build_shapes(layer: Any) -> list[tuple[Any, ...]]:
    recorded = getattr(layer, "_build_shapes_dict", None) or {}
    return [tuple(leaf) for _path, leaf in _shape_leaves(recorded)]


def _shape_leaves(value: Any) -> list[tuple[str, Any]]:
    """Leaves of nested dicts/lists that look like shapes (tuples or lists of ints and None)."""
    if isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value):
        return [("", value)]
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _shape_leaves(item)]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _shape_leaves(item)]
    return []


def _traced_shapes(layer: Any) -> list[tuple[Any, ...]]:
    function = getattr(layer, "call", None)
    list_concrete = getattr(function, "_list_all_concrete_functions", None)
    if list_concrete is None:
        return []
    shapes = []
    try:
        for concrete in list_concrete():
            for _path, spec in flatten_with_paths(concrete.structured_input_signature):
                shape = getattr(spec, "shape", None)
                if shape is not None and shape.rank is not None:
                    shapes.append(tuple(shape.as_list()))
    except Exception:  # tracing internals vary across TensorFlow versions: hints are optional
        return []
    return shapes


def targeted_pins(signature: ModelSignature, given: Mapping[str, np.ndarray], hints: ShapeHints,
                  finite_inputs: frozenset[str] = frozenset()) -> list[Pin]:
    """The pins of the targeted phase, in the order they run, without repeats.

    Example:
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec
        >>> signature = ModelSignature("x", (InputSpec("x", (None, None), "float32"),))
        >>> [p.describe() for p in targeted_pins(signature, {}, ShapeHints(batches=(5,)))][:4]
        ['batch 1, axis 1 = 1', 'batch 8, axis 1 = 4', 'batch 5, axis 1 = 4', 'batch 2, axis 1 = 64']
    """
    bounds, floors = axis_bounds(signature), axis_floors(signature)
    fixed = unknown_dims_of(signature, given)
    unknown = sorted({axis for spec in signature.specs for axis, dim in enumerate(spec.shape)
                      if axis and dim is None and axis not in fixed})

    def sized(size_of: Callable[[int], int]) -> tuple[tuple[int, int], ...]:
        return tuple((axis, fit_size(size_of(axis), floors[axis], bounds[axis])) for axis in unknown)

    base = sized(lambda axis: BASE_DIM)
    pins = [Pin(batch=1, dims=sized(lambda axis: 1)), Pin(batch=MAX_BATCH, dims=base)]
    pins += [Pin(batch=b, dims=base) for b in hints.batches]
    for axis, size in hints.dims:
        if axis in unknown and (bounds[axis] is None or size <= bounds[axis]) and size >= floors[axis]:
            pins.append(Pin(batch=2, dims=tuple((a, size if a == axis else s) for a, s in base)))
    if unknown:
        pins.append(Pin(batch=2, dims=_within_budget(signature, sized(lambda axis: bounds[axis] or LONG_DIM))))
    kinds = {_kind(spec) for spec in signature.specs if spec.name not in given}
    family_pin = lambda family, scale=None: Pin(FAMILY_BATCH, base, family, scale, finite_inputs)  # noqa: E731
    if "float" in kinds:
        pins += [family_pin(kind, 1.0) for kind in FLOAT_KINDS]
        pins += [family_pin("normal", LARGE_SCALE), family_pin("normal", BEYOND_LARGE_SCALE)]
        if any(_kind(s) == "float" and s.name not in finite_inputs and s.name not in given for s in signature.specs):
            pins.append(family_pin(NONFINITE, 1.0))
    if "int" in kinds:
        pins += [family_pin("lowest"), family_pin("highest")]
    if "mask" in kinds:
        pins += [family_pin("right padding")]
    return list(dict.fromkeys(pins))


def _kind(spec: Any) -> str:
    if spec.role == "mask":
        return "mask"
    if spec.vocabulary is not None or spec.dtype in (STRING_DTYPE, "bool"):
        return "other"
    if spec.int_range is not None:
        return "int"
    return "float" if spec.dtype.startswith(("float", "bfloat")) else "other"


def _within_budget(signature: ModelSignature, dims: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Shrink the long sizes until every input of batch 2 has at most MAX_ELEMENTS elements."""
    sizes = dict(dims)
    while True:
        largest = max(2 * int(np.prod([sizes.get(axis, dim or 1) for axis, dim in enumerate(spec.shape) if axis]))
                      for spec in signature.specs)
        if largest <= MAX_ELEMENTS or all(size <= BASE_DIM for size in sizes.values()):
            return tuple(sizes.items())
        sizes = {axis: max(BASE_DIM, size // 2) for axis, size in sizes.items()}


def targeted_examples(pins: list[Pin], strategy_for: Callable[[Pin], SearchStrategy[Example]]) -> list[tuple[Example, Pin]]:
    """One example per pin, drawn by the strategy under that pin (derandomized: the same every run).

    Pins that ``inputs=`` makes identical (a given batch size wins over a
    pinned one) yield one example, not several copies of it.
    """
    quick = settings(database=None, max_examples=1, phases=(Phase.generate,), derandomize=True,
                     suppress_health_check=list(HealthCheck), deadline=None)
    examples, seen = [], set()
    for pin in pins:
        example = find(strategy_for(pin), lambda _drawn: True, settings=quick)
        if example.cache_key() in seen:
            continue
        seen.add(example.cache_key())
        recipes = {name: f"targeted: {pin.describe()}; {recipe}" for name, recipe in example.recipes.items()}
        examples.append((Example(example.arrays, recipes), pin))
    return examples
