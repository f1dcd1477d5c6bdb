"""``--tf-roundtrip-model-inputs``: describe inputs that inference cannot, in JSON or TOML.

A description maps input names to a concrete shape (batch included), an
optional dtype and how to fill it: ``"fill": "ones"`` or ``"zeros"`` gives that
array in every example; ``"range": [low, high]`` draws values in that range
(integers for integer dtypes).  Inputs left out are inferred as usual.  The
result is the ``inputs=`` argument of :func:`~pytest_tfroundtrip.check_roundtrip`.

Example:
    >>> parsed = parse_model_inputs('{"padding_mask": {"shape": [2, 8], "dtype": "bool", "fill": "ones"}}')
    >>> parsed["padding_mask"].shape, parsed["padding_mask"].dtype.name
    ((2, 8), 'bool')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError

FILLS = ("ones", "zeros")
KEYS = ("shape", "dtype", "fill", "range")
EXAMPLE = '{"padding_mask": {"shape": [2, 8], "dtype": "bool", "fill": "ones"}, "token_ids": {"shape": [2, 8], "range": [1, 20]}}'


def parse_model_inputs(text: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An ``inputs=`` mapping (arrays and strategies by input name) from a JSON/TOML text, a file path, or a dict.

    Example:
        >>> parse_model_inputs(None) is None
        True
        >>> parse_model_inputs('{"x": {"shape": [2, null]}}')
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: model inputs: 'x' has shape [2, None]; give the whole shape with the batch first, as a list of whole numbers, e.g. [2, 8]
    """
    if text is None:
        return None
    description = text if isinstance(text, Mapping) else _read(text)
    if not isinstance(description, Mapping) or not description:
        raise RoundTripUsageError(f"model inputs: expected a non-empty mapping of input names, got {description!r}; e.g. {EXAMPLE}")
    return {str(name): _one_input(str(name), entry) for name, entry in description.items()}


def _read(text: str) -> Any:
    source = text
    path = Path(text)
    if not text.lstrip().startswith(("{", "[")) and path.suffix in (".json", ".toml"):
        if not path.is_file():
            raise RoundTripUsageError(f"model inputs: file {text!r} does not exist (expected JSON or TOML, or the text itself)")
        source = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            return _toml(source, text)
    try:
        return json.loads(source)
    except json.JSONDecodeError as json_error:
        try:
            return _toml(source, text)
        except RoundTripUsageError:
            raise RoundTripUsageError(f"model inputs {text!r} is neither JSON ({json_error}) nor TOML; e.g. {EXAMPLE}") from None


def _toml(source: str, what: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise RoundTripUsageError(f"model inputs {what!r} is not valid TOML: {error}") from error


def _one_input(name: str, entry: Any) -> Any:
    import numpy as np

    if not isinstance(entry, Mapping):
        raise RoundTripUsageError(f"model inputs: {name!r} is {entry!r}; expected a mapping with keys {list(KEYS)}")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise RoundTripUsageError(f"model inputs: {name!r} has unknown keys {unknown}; the keys are {list(KEYS)}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or len(shape) < 1 or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise RoundTripUsageError(f"model inputs: {name!r} has shape {shape!r}; give the whole shape with the batch first, "
                                  "as a list of whole numbers, e.g. [2, 8]")
    dtype = str(entry.get("dtype", "float32"))
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as error:
        raise RoundTripUsageError(f"model inputs: {name!r} has dtype {dtype!r}, which numpy does not know ({error})") from error
    fill, value_range = entry.get("fill"), entry.get("range")
    if fill is not None and value_range is not None:
        raise RoundTripUsageError(f"model inputs: {name!r} gives both fill and range; give one")
    if fill is not None:
        if fill not in FILLS:
            raise RoundTripUsageError(f"model inputs: {name!r} has fill {fill!r}; expected one of {list(FILLS)}")
        return (np.ones if fill == "ones" else np.zeros)(shape, dtype=np_dtype)
    return _ranged(name, tuple(shape), np_dtype, value_range)


def _representable(value: float, width: int, toward: float) -> float:
    """``value`` as the nearest float of ``width`` bits inside the range (hypothesis takes only exact bounds)."""
    import numpy as np

    exact = np.float32(value) if width == 32 else np.float64(value)
    if (toward > 0 and exact < value) or (toward < 0 and exact > value):
        exact = np.nextafter(exact, type(exact)(toward))
    return float(exact)


def _ranged(name: str, shape: tuple[int, ...], dtype: Any, value_range: Any) -> Any:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    if value_range is None:
        value_range = [0, 2] if dtype.kind in "iu" else [-1.0, 1.0]
    if not (isinstance(value_range, list) and len(value_range) == 2 and value_range[0] <= value_range[1]):
        raise RoundTripUsageError(f"model inputs: {name!r} has range {value_range!r}; expected [low, high] with low <= high")
    low, high = value_range
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind in "iu":
        elements = st.integers(int(low), int(high))
    else:
        width = 32 if dtype.itemsize <= 4 else 64
        low, high = _representable(low, width, 1.0), _representable(high, width, -1.0)
        elements = st.floats(low, high, width=width)
    return hnp.arrays(dtype, shape, elements=elements)
