"""Output positions a padding mask removes: not the model's answer, so never judged.

A query whose attention window is all padding (right padding under a sliding
window, a causal model's left padding) has no defined output, and backends and
runtimes fill it differently (measured: keras-hub's Mistral with
``sliding_window=4``, TensorFlow against JAX, 0.60 at padded positions and
4e-7 at kept ones).  An output of shape ``(batch, length, ...)`` whose first two
axes match a 2-D mask input is judged only where the mask keeps the position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

ENCODER_DECODER = ("encoder", "decoder")


def padded_positions(
    inputs: Mapping[str, np.ndarray], masks: Iterable[str], outputs: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """For each output a padding mask covers, a boolean array of its shape, true where the position is padding.

    Outputs no mask covers, and masks that keep every position, give no entry.
    When several masks fit one output, the one whose name shares its
    ``encoder``/``decoder`` part is used; without one, a position removed by any
    of them is left out (a miss is better than a false alarm).

    Example:
        >>> import numpy as np
        >>> inputs = {"ids": np.ones((1, 3), "int32"), "padding_mask": np.array([[1, 1, 0]])}
        >>> outputs = {"sequence": np.zeros((1, 3, 2)), "pooled": np.zeros((1, 2))}
        >>> left_out = padded_positions(inputs, ["padding_mask"], outputs)
        >>> sorted(left_out), left_out["sequence"][0, :, 0].tolist()
        (['sequence'], [False, False, True])
    """
    removed = {name: ~np.asarray(inputs[name]).astype(bool) for name in masks
               if name in inputs and np.ndim(inputs[name]) == 2}
    if not any(padding.any() for padding in removed.values()):
        return {}
    left_out = {}
    for output_name, output in outputs.items():
        shape = np.shape(output)
        fitting = [name for name, padding in removed.items() if len(shape) >= 2 and padding.shape == shape[:2]]
        fitting = _same_side(output_name, fitting) or fitting
        padding = np.logical_or.reduce([removed[name] for name in fitting]) if fitting else None
        if padding is not None and padding.any():
            left_out[output_name] = np.broadcast_to(padding.reshape(padding.shape + (1,) * (len(shape) - 2)), shape)
    return left_out


def _same_side(output_name: str, masks: list[str]) -> list[str]:
    side = next((part for part in ENCODER_DECODER if part in output_name.lower()), None)
    return [name for name in masks if side is not None and side in name.lower()]


def left_out_count(left_out: Mapping[str, np.ndarray]) -> int:
    """How many output values ``left_out`` removes from judgement.

    Example:
        >>> import numpy as np
        >>> left_out_count({"y": np.array([[True, False], [True, True]])})
        3
    """
    return int(sum(int(np.count_nonzero(padding)) for padding in left_out.values()))
