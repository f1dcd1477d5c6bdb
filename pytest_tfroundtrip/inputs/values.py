"""NumPy arrays from a recipe: a value family, a scale, a seed.  No hypothesis here.

Hypothesis draws the recipe (see :mod:`strategies`); the targeted phase fixes
it (see :mod:`targeted`); both build arrays with these functions, so a
targeted example is one the random search could also draw and shrink.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

FLOAT_KINDS = ("normal", "uniform", "constant", "specials", "log_uniform")
FLOAT_SCALES = (1.0, 1e-2, 10.0, 1e3, 1e5)
INT_KINDS = ("uniform", "lowest", "highest", "small")
MASK_KINDS = ("all kept", "right padding")
NONFINITE = "nonfinite"


def is_float_array(array: object) -> bool:
    """Float arrays, including ml_dtypes' bfloat16 and float8 (whose NumPy kind is ``'V'``).

    Example:
        >>> import ml_dtypes
        >>> is_float_array(np.zeros(2, ml_dtypes.bfloat16)), is_float_array(np.zeros(2, "int32"))
        (True, False)
    """
    dtype = getattr(array, "dtype", None)
    return dtype is not None and (dtype.kind in "fc" or (dtype.kind == "V" and "float" in dtype.name))


def float_limit(dtype: str) -> float:
    """The largest scale used for ``dtype`` (a sixteenth of its maximum, so sums stay finite)."""
    return float(np.finfo(np.float16 if dtype == "bfloat16" else dtype).max) / 16


def special_values(dtype: str, scale: float) -> np.ndarray:
    """Values worth pinning into any float input: zeros, ones, halves, the scale, the smallest normal."""
    tiny = float(np.finfo(np.float16 if dtype == "bfloat16" else dtype).tiny)
    return np.array([0.0, 1.0, -1.0, 0.5, -0.5, scale, -scale, tiny])


def float_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, kind: str, scale: float,
                constant: float = 0.0) -> np.ndarray:
    """Floats of one family, as float64 (cast by the caller after pinning values).

    ``nonfinite``: finite normal values, then NaN in about a quarter of the
    first sample, +inf and -inf in the second; later samples stay finite, so
    that formats judged only on finite samples still have some to judge.

    Example:
        >>> x = float_array(np.random.default_rng(0), (3, 4), "float32", "nonfinite", 1.0)
        >>> bool(np.isnan(x[0]).any()), bool(np.isinf(x[1]).any()), bool(np.isfinite(x[2]).all())
        (True, True, True)
    """
    if kind == "normal":
        return rng.standard_normal(shape) * scale
    if kind == "uniform":
        return rng.uniform(-scale, scale, size=shape)
    if kind == "constant":
        return np.full(shape, constant, dtype=np.float64)
    if kind == "specials":
        return rng.choice(special_values(dtype, scale), size=shape)
    if kind == "log_uniform":
        exponents = rng.uniform(-6, np.log10(scale) if scale > 1 else 1, size=shape)
        return rng.choice([-1.0, 1.0], size=shape) * 10.0**exponents
    if kind == NONFINITE:
        return _with_nonfinite(rng, rng.standard_normal(shape) * scale)
    raise ValueError(f"unknown float family {kind!r}")


def _with_nonfinite(rng: np.random.Generator, array: np.ndarray) -> np.ndarray:
    if array.size == 0:
        return array
    samples = array.reshape(array.shape[0], -1) if array.ndim else array.reshape(1, 1)
    width = samples.shape[1]
    nan_positions = rng.choice(width, size=max(1, width // 4), replace=False)
    samples[0, nan_positions] = np.nan
    if samples.shape[0] > 1:
        positions = rng.choice(width, size=min(2, width), replace=False)
        samples[1, positions[0]] = np.inf
        samples[1, positions[-1]] = -np.inf if width > 1 else np.inf
    return samples.reshape(array.shape)


def integer_array(rng: np.random.Generator, shape: tuple[int, ...], low: int, high: int, kind: str) -> np.ndarray:
    """Integers in [low, high]: uniform, all lowest, all highest, or small (the lowest few)."""
    if kind == "lowest":
        return np.full(shape, low)
    if kind == "highest":
        return np.full(shape, high)
    if kind == "small":
        return rng.integers(low, min(low + 3, high) + 1, size=shape)
    return rng.integers(low, high + 1, size=shape)


def mask_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, kind: str = "right padding") -> np.ndarray:
    """A padding mask as tokenizers make one: 1 for each kept position, then 0 for the padding after it.

    Each row keeps at least its first position.  Outputs at padded positions
    are not judged (see :mod:`pytest_tfroundtrip.results.padding`); masks with
    holes, which no tokenizer makes, are not drawn.

    Example:
        >>> mask = mask_array(np.random.default_rng(0), (4, 6), "int32")
        >>> bool((mask[:, 0] == 1).all()) and bool((np.diff(mask, axis=1) <= 0).all()) and mask.dtype == np.int32
        True
    """
    if kind == "all kept" or len(shape) < 2:
        kept = np.ones(shape, dtype=bool)
    else:
        lengths = rng.integers(1, shape[-1] + 1, size=shape[:-1])
        kept = np.arange(shape[-1]) < lengths[..., None]
    return kept if dtype == "bool" else kept.astype(dtype)


def finite_samples(arrays: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """Per sample (axis 0), whether every float input is finite; None when all inputs are finite.

    Example:
        >>> finite_samples({"x": np.array([[np.nan, 1.0], [2.0, 3.0]])}).tolist()
        [False, True]
    """
    finite = [np.isfinite(a) for a in arrays.values() if is_float_array(a) and a.ndim]  # bfloat16 included
    if not finite or all(f.all() for f in finite):
        return None
    batch = finite[0].shape[0]
    keep = np.ones(batch, dtype=bool)
    for flags in finite:
        if flags.shape[0] == batch:
            keep &= flags.reshape(batch, -1).all(axis=1)
    return keep
