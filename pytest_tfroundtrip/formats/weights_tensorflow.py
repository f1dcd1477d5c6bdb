"""``weights@tensorflow``: ``.weights.h5`` saved in a JAX or PyTorch process, loaded into the model rebuilt under TensorFlow."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import TENSORFLOW, WeightsOnBackend


class WeightsOnTensorFlow(WeightsOnBackend):
    name = "weights@tensorflow"
    order = 105
    backend = TENSORFLOW
    runtime_name = "TensorFlow"


FORMAT = WeightsOnTensorFlow()
