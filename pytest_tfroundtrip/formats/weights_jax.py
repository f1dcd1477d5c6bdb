"""``weights@jax``: ``.weights.h5`` saved under TensorFlow, loaded into the model rebuilt under JAX (``KERAS_BACKEND=jax``)."""

from __future__ import annotations

from pytest_tfroundtrip.formats.backends import JAX, WeightsOnBackend


class WeightsOnJax(WeightsOnBackend):
    name = "weights@jax"
    order = 115
    backend = JAX
    runtime_name = "JAX"


FORMAT = WeightsOnJax()
