"""``keras@tensorflow``: the ``.keras`` file saved in a JAX or PyTorch process, loaded and called under TensorFlow."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import TENSORFLOW, KerasOnBackend


class KerasOnTensorFlow(KerasOnBackend):
    name = "keras@tensorflow"
    order = 100
    backend = TENSORFLOW
    runtime_name = "TensorFlow"


FORMAT = KerasOnTensorFlow()
