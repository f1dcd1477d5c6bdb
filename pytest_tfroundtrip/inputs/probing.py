"""Find out by calling the model what static inference could not tell.

The first call on a model uses :func:`probe_arrays` (batch 1, unknown
dimensions 1, zero or the smallest value of each domain, masks fully kept,
and the user's ``inputs=`` where given).  Integer inputs are then tried at
both ends of their range (inferred from a layer, or the default) and
narrowed, input by input, by a binary search for the largest value the model
accepts.  A model
that rejects its inputs gets an error with the ``inputs=`` code to write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, InputSpec, ModelSignature
from pytest_tfroundtrip.inputs.strategies import (
    TYPICAL_UNKNOWN_DIM,
    axis_bounds,
    axis_floors,
    batch_of,
    check_override_array,
    fit_size,
    unknown_dims_of,
)
from pytest_tfroundtrip.inputs.values import mask_array

ModelCall = Callable[[Mapping[str, np.ndarray]], Any]
PROBED = "probing the model"


def given_arrays(signature: ModelSignature, overrides: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One concrete array per ``inputs=`` override (the simplest value of a strategy).

    Example:
        >>> from hypothesis import strategies as st
        >>> from hypothesis.extra import numpy as hnp
        >>> signature = ModelSignature("x", (InputSpec("x", (None, 2), "int32"),))
        >>> given_arrays(signature, {"x": hnp.arrays("int32", (1, 2), elements=st.integers(3, 9))})["x"].tolist()
        [[3, 3]]
    """
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st

    specs = {spec.name: spec for spec in signature.specs}
    arrays = {}
    for name, value in overrides.items():
        if isinstance(value, st.SearchStrategy):
            value = find(value, lambda _drawn: True,
                         settings=settings(database=None, max_examples=10, suppress_health_check=list(HealthCheck)))
        arrays[name] = check_override_array(specs[name], value)
    return arrays


def probe_arrays(signature: ModelSignature, given: Mapping[str, np.ndarray] | None = None,
                 size: int | None = None) -> dict[str, np.ndarray]:
    """The first input a check feeds the model: small, inside every domain, honouring ``given``.

    Example:
        >>> signature = ModelSignature({"ids": "ids", "padding_mask": "padding_mask"}, (
        ...     InputSpec("ids", (None, None), "int32", int_range=(0, 9)),
        ...     InputSpec("padding_mask", (None, None), "int32", role="mask")))
        >>> {k: v.tolist() for k, v in probe_arrays(signature).items()}
        {'ids': [[0]], 'padding_mask': [[1]]}
    """
    given = dict(given or {})
    batch = batch_of(given) or 1
    dims = unknown_dims_of(signature, given)
    floors, bounds = axis_floors(signature), axis_bounds(signature)
    sizes = [floor if size is None else fit_size(size, floor, bound) for floor, bound in zip(floors, bounds)]
    arrays = {}
    for spec in signature.specs:
        if spec.name in given:
            arrays[spec.name] = given[spec.name]
            continue
        shape = tuple(batch if axis == 0 else (dims.get(axis, sizes[axis]) if dim is None else dim)
                      for axis, dim in enumerate(spec.shape))
        arrays[spec.name] = smallest_array(spec, shape)
    return arrays


def varied_arrays(signature: ModelSignature, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random arrays inside every domain (unknown sizes 4, within the model's floors and bounds).

    Zeros (:func:`probe_arrays`) hide what a scale, a bias or a dtype does; these do not.

    Example:
        >>> signature = ModelSignature("x", (InputSpec("x", (None, 2), "int32", int_range=(0, 9)),))
        >>> arrays = varied_arrays(signature, 3, np.random.default_rng(0))
        >>> arrays["x"].shape, bool(((0 <= arrays["x"]) & (arrays["x"] <= 9)).all())
        ((3, 2), True)
    """
    sizes = [fit_size(TYPICAL_UNKNOWN_DIM, floor, bound) for floor, bound in zip(axis_floors(signature), axis_bounds(signature))]
    arrays = {}
    for spec in signature.specs:
        shape = (batch,) + tuple(sizes[axis] if dim is None else dim for axis, dim in enumerate(spec.shape) if axis)
        arrays[spec.name] = _varied(spec, shape, rng)
    return arrays


def _varied(spec: InputSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if spec.role == "mask":
        return mask_array(rng, shape, spec.dtype)
    if spec.vocabulary is not None:
        values = np.array(spec.vocabulary, dtype=object)[rng.integers(0, len(spec.vocabulary), size=shape)]
        return values if spec.dtype == STRING_DTYPE else values.astype(spec.dtype)
    if spec.int_range is not None:
        return rng.integers(spec.int_range[0], spec.int_range[1] + 1, size=shape).astype(spec.dtype)
    if spec.dtype == "bool":
        return rng.random(shape) < 0.5
    if spec.dtype == STRING_DTYPE:
        return np.full(shape, "some text", dtype=object)
    return rng.standard_normal(shape).astype(spec.dtype)


def smallest_array(spec: InputSpec, shape: tuple[int, ...]) -> np.ndarray:
    """Zero, the lowest value of the range, the first vocabulary entry, or a fully kept mask."""
    if spec.dtype == STRING_DTYPE:
        return np.full(shape, spec.vocabulary[0] if spec.vocabulary else "", dtype=object)
    if spec.role == "mask":
        return np.ones(shape, dtype=spec.dtype)
    if spec.vocabulary is not None:
        return np.full(shape, spec.vocabulary[0]).astype(spec.dtype)
    low, high = spec.int_range or (0, 0)
    return np.full(shape, 0 if low <= 0 <= high else low).astype(spec.dtype)


def narrow_by_calling(call: ModelCall, signature: ModelSignature, given: Mapping[str, np.ndarray],
                      size_hints: tuple[int, ...] = ()) -> ModelSignature:
    """Integer ranges the model accepts, found by calling it; raises with ``inputs=`` code if none works.

    Integer inputs that the user did not give and that are not masks are
    checked at both ends of their range (inferred or default) and narrowed by
    binary search where the model rejects them.  Each probe is one model call
    on a batch of 1.
    """
    base = probe_arrays(signature, given)
    base_error = _rejection(call, base)
    # Size 1 can pass by broadcasting where the sizes a search uses fail (a position table added unsliced).
    if base_error is not None or _rejection(call, probe_arrays(signature, given, size=TYPICAL_UNKNOWN_DIM)) is not None:
        sized = sizes_by_calling(call, signature, given, size_hints)
        if sized is None and base_error is not None:
            raise rejected_inputs_error(signature, base_error, given)
        if sized is not None:
            signature, base = sized, probe_arrays(sized, given)
    narrowed = []
    for spec in signature.specs:
        if not _integer_range_to_verify(spec, given):
            narrowed.append(spec)
            continue
        low, high = spec.int_range or (0, 0)
        accepts = lambda value, name=spec.name: _rejection(call, {**base, name: np.full_like(base[name], value)}) is None  # noqa: E731
        top = high if accepts(high) else _largest_accepted(accepts, high)
        bottom = low if low >= 0 or accepts(low) else 0
        if (bottom, top) != (low, high):
            source = PROBED if spec.domain_source is None else f"{spec.domain_source}, narrowed by {PROBED}"
            spec = replace(spec, int_range=(bottom, top), domain_source=source)
        narrowed.append(spec)
    return signature.with_specs(narrowed)


SIZES_TRIED = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


def sizes_by_calling(call: ModelCall, signature: ModelSignature, given: Mapping[str, np.ndarray],
                     size_hints: tuple[int, ...] = ()) -> ModelSignature | None:
    """The unknown dimensions' sizes the model needs, found by calling it; None if no size helps.

    A strided convolution stem with a long kernel needs a minimum sequence
    length; a position embedding added without slicing needs exactly its
    length, while the signature says ``None``.  Unknown dimensions (all
    together) are tried at growing sizes, the smallest accepted is found by
    binary search, and a size whose next and double are both rejected is
    exact.  ``size_hints`` (the model's weight dimensions) join the sizes
    tried: an exact length is the length of some table.  Each probe is one
    model call on a batch of 1.
    """
    fixed = unknown_dims_of(signature, given)
    axes = sorted({axis for spec in signature.specs if spec.name not in given
                   for axis, dim in enumerate(spec.shape) if axis and dim is None and axis not in fixed})
    if not axes:
        return None
    bounds = axis_bounds(signature)
    ceiling = min((bounds[axis] for axis in axes if bounds[axis] is not None), default=None)

    def with_sizes(low: int, high: int | None) -> ModelSignature:
        def sized(spec: InputSpec, sizes: tuple[int | None, ...] | None, value: int | None) -> tuple[int | None, ...]:
            current = list(sizes or (None,) * len(spec.shape))
            for axis in axes:
                if axis < len(spec.shape) and spec.shape[axis] is None:
                    current[axis] = value if value is not None else current[axis]
            return tuple(current)
        return signature.with_specs([replace(spec, min_dims=sized(spec, spec.min_dims, low), max_dims=sized(spec, spec.max_dims, high))
                                     for spec in signature.specs])

    accepts = lambda size: _rejection(call, probe_arrays(with_sizes(size, None), given)) is None  # noqa: E731
    previous, found = 1, None
    for size in sorted({s for s in SIZES_TRIED + tuple(size_hints) if 1 < s <= (ceiling or SIZES_TRIED[-1])}):
        if accepts(size):
            found = size
            break
        previous = size
    if found is None:
        return None
    low, high = previous + 1, found  # the smallest accepted size, assuming larger sizes keep being accepted
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if accepts(middle) else (middle + 1, high)
    exact = not accepts(low + 1) and not accepts(2 * low)
    return with_sizes(low, low if exact else None)


def _integer_range_to_verify(spec: InputSpec, given: Mapping[str, np.ndarray]) -> bool:
    return (spec.name not in given and spec.role != "mask" and spec.vocabulary is None
            and spec.dtype.startswith(("int", "uint")))


def _largest_accepted(accepts: Callable[[int], bool], high: int) -> int:
    """Binary search in [0, high) for the largest value accepted (0 is known to be, ``high`` is not)."""
    low, high = 0, high - 1
    while low < high:
        middle = (low + high + 1) // 2
        if accepts(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _rejection(call: ModelCall, arrays: Mapping[str, np.ndarray]) -> BaseException | None:
    try:
        call(arrays)
    except Exception as error:  # the model's own error, shown to the user if nothing works
        return error
    return None


def rejected_inputs_error(signature: ModelSignature, error: BaseException, given: Mapping[str, np.ndarray]) -> RoundTripUsageError:
    """A usage error naming the rejected inputs, with the ``inputs=`` code that fixes it."""
    described = signature.describe()
    text = f"{type(error).__name__}: {error}".strip()
    if len(text) > 600:
        text = text[:597] + "..."
    usage = RoundTripUsageError(
        f"the model cannot be called on an input matching its signature ({described}): {text}\n"
        f"Tell the check what the model takes with inputs= (arrays, or hypothesis strategies), for example:\n\n"
        f"{inputs_code(signature, given)}"
    )
    usage.__cause__ = error
    return usage


def inputs_code(signature: ModelSignature, given: Mapping[str, np.ndarray] | None = None) -> str:
    """Python code passing ``inputs=`` for every input not already given.

    Example:
        >>> signature = ModelSignature("ids", (InputSpec("ids", (None, None), "int32", int_range=(0, 99)),))
        >>> print(inputs_code(signature))
        from hypothesis import strategies as st
        from hypothesis.extra import numpy as hnp
        check_roundtrip(model, inputs={
            "ids": hnp.arrays("int32", (2, 8), elements=st.integers(0, 99)),  # adjust to what the model takes
        })
    """
    bounds = axis_bounds(signature)
    lines = ["from hypothesis import strategies as st", "from hypothesis.extra import numpy as hnp",
             "check_roundtrip(model, inputs={"]
    for spec in signature.specs:
        if given and spec.name in given:
            continue
        shape = tuple(2 if axis == 0 else (min(8, bounds[axis] or 8) if dim is None else dim) for axis, dim in enumerate(spec.shape))
        lines.append(f"    {spec.name!r}: {_value_code(spec, shape)},  # adjust to what the model takes".replace("'", '"', 2))
    lines.append("})")
    return "\n".join(lines)


def _value_code(spec: InputSpec, shape: tuple[int, ...]) -> str:
    if spec.role == "mask" or spec.dtype == "bool":
        return f"np.ones({shape}, {spec.dtype!r})".replace("'", '"')
    if spec.dtype == STRING_DTYPE:
        return f"np.full({shape}, \"some text\", dtype=object)"
    if spec.dtype.startswith(("int", "uint")):
        low, high = spec.int_range if spec.int_range and spec.domain_source else (0, 99)
        return f"hnp.arrays(\"{spec.dtype}\", {shape}, elements=st.integers({low}, {high}))"
    return f"hnp.arrays(\"{spec.dtype}\", {shape}, elements=st.floats(-1, 1, width=32))"
