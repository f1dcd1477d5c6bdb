"""Hypothesis strategies for model inputs, built from a :class:`ModelSignature`.

Drawing every element of a (batch, 784) array through hypothesis would be slow
and, for large arrays, mostly constant.  Instead hypothesis draws a small
*recipe* per input (batch size, unknown dimensions, a distribution, a scale, a
NumPy seed and a few pinned special values) and NumPy expands it.  Recipes
shrink well: towards batch 1, small dimensions, simple distributions and the
first pinned value, so a failure is shown on a small, readable input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.inputs.arrays import model_strings
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, InputSpec, ModelSignature
from pytest_tfroundtrip.inputs.values import (
    FLOAT_KINDS,
    FLOAT_SCALES,
    INT_KINDS,
    MASK_KINDS,
    NONFINITE,
    float_array,
    float_limit,
    integer_array,
    is_float_array,
    mask_array,
    special_values,
)

MAX_BATCH = 8
MAX_UNKNOWN_DIM = 8
TYPICAL_UNKNOWN_DIM = 4  # the size of unknown dimensions in most targeted examples


@dataclass(frozen=True)
class Pin:
    """Fixes part of what the strategy draws: the batch size, unknown dimension sizes, a value family.

    The targeted phase builds its examples from pins; a failure on one is then
    shrunk by a hypothesis search under the same pin.  ``finite_inputs`` are
    never given a non-finite family.

    Example:
        >>> Pin(batch=3, dims=((1, 64),), family="nonfinite").describe()
        'batch 3, axis 1 = 64, nonfinite values'
    """

    batch: int | None = None
    dims: tuple[tuple[int, int], ...] = ()
    family: str | None = None
    scale: float | None = None
    finite_inputs: frozenset[str] = frozenset()

    def describe(self) -> str:
        parts = [f"batch {self.batch}"] if self.batch is not None else []
        parts += [f"axis {axis} = {size}" for axis, size in self.dims]
        if self.family is not None:
            parts.append(f"{self.family} values" + (f" at scale {self.scale:g}" if self.scale is not None else ""))
        return ", ".join(parts) or "nothing pinned"


@dataclass(frozen=True)
class Example:
    """One drawn model input: arrays by input name, and how each was drawn.

    Example:
        >>> import numpy as np
        >>> Example({"x": np.zeros((2, 3), "float32")}, {"x": "constant 0"}).summary()
        'x: shape (2, 3) float32, min 0, max 0, mean 0 [constant 0]'
    """

    arrays: Mapping[str, np.ndarray]
    recipes: Mapping[str, str]

    def cache_key(self) -> str:
        digest = hashlib.sha1()
        for name in sorted(self.arrays):
            array = self.arrays[name]
            digest.update(f"{name}{array.shape}{array.dtype}".encode())
            digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
        return digest.hexdigest()

    def summary(self) -> str:
        return "; ".join(
            f"{name}: {summarise_array(array)} [{self.recipes.get(name, 'given')}]"
            for name, array in self.arrays.items()
        )


def summarise_array(array: np.ndarray) -> str:
    """Shape, dtype and a few statistics of ``array``.

    Example:
        >>> summarise_array(np.array([1.0, -2.0], dtype="float32"))
        'shape (2,) float32, min -2, max 1, mean -0.5'
    """
    head = f"shape {tuple(array.shape)} {array.dtype if array.dtype != object else 'string'}"
    if array.size == 0:
        return head + ", empty"
    if array.dtype == object or array.dtype.kind in "USb" and array.dtype != bool:
        values = sorted({str(v) for v in array.ravel().tolist()})[:4]
        return head + f", values like {values}"
    if array.dtype == bool:
        return head + f", {int(array.sum())} true of {array.size}"
    finite = array[np.isfinite(array.astype(np.float64))] if is_float_array(array) else array
    if finite.size == 0:
        return head + ", no finite values"
    return head + f", min {finite.min():.6g}, max {finite.max():.6g}, mean {finite.astype('float64').mean():.6g}"


def normalise_overrides(signature: ModelSignature, inputs: Any) -> dict[str, Any]:
    """Validate ``inputs=`` eagerly; return a strategy or array per input name.

    A model with one input takes a value or strategy directly; any model takes
    a dict keyed by input name (inputs left out are generated).

    Example:
        >>> import numpy as np
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> signature = ModelSignature("x", (InputSpec("x", (None, 2), "float32"),))
        >>> sorted(normalise_overrides(signature, np.zeros((1, 2), "float32")))
        ['x']
    """
    if inputs is None:
        return {}
    names = signature.names
    if isinstance(inputs, Mapping):
        unknown = sorted(set(map(str, inputs)) - set(names))
        if unknown:
            raise RoundTripUsageError(f"inputs= names unknown inputs {unknown}; the model's inputs are {names}")
        given = {str(k): v for k, v in inputs.items()}
    elif isinstance(inputs, (list, tuple)) and len(names) > 1:
        if len(inputs) != len(names):
            raise RoundTripUsageError(f"inputs= has {len(inputs)} entries but the model has {len(names)} inputs {names}")
        given = dict(zip(names, inputs))
    elif len(names) == 1:
        given = {names[0]: inputs}
    else:
        raise RoundTripUsageError(
            f"inputs= got a {type(inputs).__name__} but the model has {len(names)} inputs {names}: "
            "pass a dict keyed by input name"
        )
    specs = {spec.name: spec for spec in signature.specs}
    result = {}
    for name, value in given.items():
        if isinstance(value, st.SearchStrategy):
            result[name] = value
        else:
            result[name] = check_override_array(specs[name], value)
    return result


def check_override_array(spec: InputSpec, value: Any) -> np.ndarray:
    """Return ``value`` as an array after checking it fits ``spec``."""
    array = model_strings(value)
    problem = _mismatch(spec, array)
    if problem:
        raise RoundTripUsageError(
            f"inputs= value for {spec.name!r} does not match the model's input ({spec.describe()}): {problem}; "
            f"received shape {array.shape}, dtype {array.dtype}"
        )
    return array if spec.dtype == STRING_DTYPE else array.astype(spec.dtype)


def _mismatch(spec: InputSpec, array: np.ndarray) -> str | None:
    if array.ndim != len(spec.shape):
        return f"rank {array.ndim} instead of {len(spec.shape)}"
    for axis, (want, got) in enumerate(zip(spec.shape, array.shape)):
        if want is not None and want != got:
            return f"dimension {axis} is {got} instead of {want}"
    is_string = array.dtype == object or array.dtype.kind in "US"
    if (spec.dtype == STRING_DTYPE) != is_string:
        return f"dtype kind {'string' if is_string else array.dtype} cannot feed {spec.dtype}"
    if spec.dtype == "bool" and array.dtype != bool:
        return f"dtype {array.dtype} cannot feed bool"
    if spec.dtype.startswith(("int", "uint")) and array.dtype.kind not in "iub":
        return f"dtype {array.dtype} would be truncated to {spec.dtype}"
    return None


def example_strategy(
    signature: ModelSignature,
    overrides: Mapping[str, Any] | None = None,
    *,
    max_batch: int = MAX_BATCH,
    max_unknown_dim: int = MAX_UNKNOWN_DIM,
    pin: Pin | None = None,
) -> st.SearchStrategy[Example]:
    """A strategy of :class:`Example` values for every input of ``signature``.

    The batch size, and each unknown dimension (shared by axis across inputs),
    vary per example.

    Example:
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> signature = ModelSignature("x", (InputSpec("x", (None, 3), "float32"),))
        >>> example_strategy(signature).example().arrays["x"].shape[1]
        3
    """
    overrides = dict(overrides or {})
    pin = pin or Pin()

    @st.composite
    def draw_example(draw: Any) -> Example:
        arrays: dict[str, np.ndarray] = {}
        recipes: dict[str, str] = {}
        for name, override in overrides.items():
            spec = next(s for s in signature.specs if s.name == name)
            value = draw(override) if isinstance(override, st.SearchStrategy) else override
            arrays[name] = check_override_array(spec, value)
            recipes[name] = "given"
        batch = batch_of(arrays) or pin.batch or draw(st.integers(1, max_batch))
        given_dims = {**dict(pin.dims), **unknown_dims_of(signature, arrays)}
        unknown = [given_dims.get(axis) or draw(st.integers(floor, _highest_size(floor, bound, max_unknown_dim)))
                   for axis, (floor, bound) in enumerate(zip(axis_floors(signature), axis_bounds(signature)))]
        for spec in signature.specs:
            if spec.name in arrays:
                continue
            shape = tuple(batch if axis == 0 else (unknown[axis] if dim is None else dim) for axis, dim in enumerate(spec.shape))
            arrays[spec.name], recipes[spec.name] = _draw_array(draw, spec, shape, pin)
        ordered = {spec.name: arrays[spec.name] for spec in signature.specs}
        return Example(ordered, recipes)

    return draw_example()


def batch_of(arrays: Mapping[str, np.ndarray]) -> int | None:
    """The batch size given arrays agree on, if they do (generated inputs then follow it)."""
    batches = {a.shape[0] for a in arrays.values() if a.ndim}
    return batches.pop() if len(batches) == 1 else None


def unknown_dims_of(signature: ModelSignature, arrays: Mapping[str, np.ndarray]) -> dict[int, int]:
    """Sizes that given arrays fix for the unknown dimensions (by axis), so generated inputs match them."""
    fixed: dict[int, int] = {}
    for spec in signature.specs:
        array = arrays.get(spec.name)
        if array is None:
            continue
        for axis, dim in enumerate(spec.shape):
            if axis and dim is None and axis < array.ndim:
                fixed.setdefault(axis, int(array.shape[axis]))
    return fixed


def axis_bounds(signature: ModelSignature) -> list[int | None]:
    """Per axis, the smallest bound any input puts on an unknown dimension (None: unbounded).

    Example:
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> ids = InputSpec("ids", (None, None), "int32", max_dims=(None, 32))
        >>> axis_bounds(ModelSignature("ids", (ids,)))
        [None, 32]
    """
    bounds: list[int | None] = [None] * _max_rank(signature)
    for spec in signature.specs:
        for axis in range(len(spec.shape)):
            bound = spec.bound_of(axis)
            if bound is not None:
                bounds[axis] = bound if bounds[axis] is None else min(bound, bounds[axis])  # type: ignore[type-var]
    return bounds


def axis_floors(signature: ModelSignature) -> list[int]:
    """Per axis, the largest minimum size any input needs on an unknown dimension (1: none).

    Example:
        >>> from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature
        >>> audio = InputSpec("audio", (None, None), "float32", min_dims=(None, 400))
        >>> axis_floors(ModelSignature("audio", (audio,)))
        [1, 400]
    """
    floors = [1] * _max_rank(signature)
    for spec in signature.specs:
        for axis in range(len(spec.shape)):
            floors[axis] = max(floors[axis], spec.floor_of(axis))
    return floors


def fit_size(size: int, floor: int, bound: int | None) -> int:
    """``size`` moved inside [``floor``, ``bound``].

    Example:
        >>> fit_size(1, 400, None), fit_size(64, 1, 32), fit_size(4, 1, None)
        (400, 32, 4)
    """
    return max(floor, min(size, bound if bound is not None else size))


def _highest_size(floor: int, bound: int | None, spread: int) -> int:
    """The largest unknown size drawn: ``spread`` sizes from the floor, within the bound."""
    return fit_size(floor + spread - 1, floor, bound)


def _max_rank(signature: ModelSignature) -> int:
    return max(len(spec.shape) for spec in signature.specs)


def _draw_array(draw: Any, spec: InputSpec, shape: tuple[int, ...], pin: Pin) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if spec.vocabulary is not None:
        return _vocabulary_array(draw, rng, spec, shape)
    if spec.role == "mask":
        kind = pin.family if pin.family in MASK_KINDS else draw(st.sampled_from(MASK_KINDS))
        return mask_array(rng, shape, spec.dtype, kind), f"mask, {kind}"
    if spec.dtype == "bool":
        probability = draw(st.sampled_from((0.5, 0.0, 1.0)))
        return rng.random(shape) < probability, f"bool, p(true)={probability}"
    if spec.int_range is not None:
        return _integer_array(draw, rng, spec, shape, pin.family)
    if spec.dtype.startswith(("float", "bfloat")):
        return _float_array(draw, rng, spec, shape, pin if spec.name not in pin.finite_inputs else Pin())
    raise RoundTripUsageError(f"cannot generate inputs of dtype {spec.dtype} for {spec.name!r}; pass inputs=")


def _integer_array(draw: Any, rng: np.random.Generator, spec: InputSpec, shape: tuple[int, ...],
                   pinned_kind: str | None) -> tuple[np.ndarray, str]:
    low, high = spec.int_range or (0, 0)
    kind = pinned_kind if pinned_kind in INT_KINDS else draw(st.sampled_from(INT_KINDS))
    return integer_array(rng, shape, low, high, kind).astype(spec.dtype), f"{kind} integers in [{low}, {high}]"


def _float_array(draw: Any, rng: np.random.Generator, spec: InputSpec, shape: tuple[int, ...], pin: Pin) -> tuple[np.ndarray, str]:
    limit = float_limit(spec.dtype)
    kind = pin.family if pin.family in FLOAT_KINDS + (NONFINITE,) else draw(st.sampled_from(FLOAT_KINDS))
    scale = min(pin.scale if pin.scale is not None else draw(st.sampled_from(FLOAT_SCALES)), limit)
    specials = special_values(spec.dtype, scale)
    constant = draw(st.sampled_from(tuple(specials))) if kind == "constant" else 0.0
    array = float_array(rng, shape, spec.dtype, kind, scale, constant)
    pins = [] if kind == NONFINITE else draw(
        st.lists(st.tuples(st.integers(0, max(array.size - 1, 0)), st.sampled_from(tuple(specials))), max_size=3))
    flat = array.reshape(-1)
    for index, value in pins:
        if flat.size:
            flat[index] = value
    recipe = f"{kind}, scale {scale:g}" + (f", pinned {[(i, float(v)) for i, v in pins]}" if pins else "")
    with np.errstate(over="ignore", invalid="ignore"):
        return flat.reshape(shape).astype(spec.dtype), recipe


def _vocabulary_array(draw: Any, rng: np.random.Generator, spec: InputSpec, shape: tuple[int, ...]) -> tuple[np.ndarray, str]:
    vocabulary = list(spec.vocabulary or ())
    if spec.free_text:
        lengths = rng.integers(0, 6, size=shape)
        words = [" ".join(rng.choice(vocabulary, size=int(n)).tolist()) for n in lengths.reshape(-1)]
        return np.array(words, dtype=object).reshape(shape), f"text from a vocabulary of {len(vocabulary)}"
    kind = draw(st.sampled_from(("any", "first")))
    indices = rng.integers(0, len(vocabulary), size=shape) if kind == "any" else np.zeros(shape, dtype=int)
    values = np.array(vocabulary, dtype=object)[indices]
    if spec.dtype != STRING_DTYPE:
        values = values.astype(spec.dtype)
    return values, f"{kind} of a vocabulary of {len(vocabulary)} (with out-of-vocabulary values)"
