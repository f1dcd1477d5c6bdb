"""String arrays across boundaries: models take object arrays of str, ``.npz`` files take unicode."""

from __future__ import annotations

from typing import Any

import numpy as np


def savable(array: np.ndarray) -> np.ndarray:
    """An array ``np.savez`` can store without pickling (object strings become unicode).

    Example:
        >>> savable(np.array(["a", "bc"], dtype=object)).dtype
        dtype('<U2')
    """
    return array.astype(str) if array.dtype == object else array


def model_strings(array: Any) -> np.ndarray:
    """``array`` as NumPy, with unicode or bytes strings as an object array of str.

    Example:
        >>> model_strings(np.array(["a"])).dtype
        dtype('O')
    """
    array = np.asarray(array)
    return array.astype(object) if array.dtype.kind in "US" else array
