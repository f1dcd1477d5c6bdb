"""``keras@torch``: the ``.keras`` file saved under TensorFlow, loaded and called under PyTorch (``KERAS_BACKEND=torch``)."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import TORCH, KerasOnBackend


class KerasOnTorch(KerasOnBackend):
    name = "keras@torch"
    order = 120
    backend = TORCH
    runtime_name = "PyTorch"


FORMAT = KerasOnTorch()
