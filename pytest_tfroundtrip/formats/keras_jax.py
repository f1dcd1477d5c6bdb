"""``keras@jax``: the ``.keras`` file saved under TensorFlow, loaded and called under JAX (``KERAS_BACKEND=jax``)."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import JAX, KerasOnBackend


class KerasOnJax(KerasOnBackend):
    name = "keras@jax"
    order = 110
    backend = JAX
    runtime_name = "JAX"


FORMAT = KerasOnJax()
