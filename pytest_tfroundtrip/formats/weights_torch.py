"""``weights@torch``: ``.weights.h5`` saved under TensorFlow, loaded into the model rebuilt under PyTorch (``KERAS_BACKEND=torch``)."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import TORCH, WeightsOnBackend


class WeightsOnTorch(WeightsOnBackend):
    name = "weights@torch"
    order = 125
    backend = TORCH
    runtime_name = "PyTorch"


FORMAT = WeightsOnTorch()
