"""The layer whose ``get_config`` forgets its constructor argument, as source for the projects tests write.

Tests that run pytest, the command line or a JAX process on a project of their own write this layer into
it (:func:`forgetful_layer_source`, registered under a package of the test's own); a test that reproduces
the project's failure with plain Keras runs the very same code (:func:`forgetful_layer_class`).
"""

from __future__ import annotations

from typing import Any

_SOURCE = '''
@keras.saving.register_keras_serializable(package={package!r})
class Forgetful(keras.layers.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        config = super().get_config()
        config.pop("factor", None)  # the defect: a reload scales by the default 1.0
        return config
'''


def forgetful_layer_source(package: str) -> str:
    """The layer's source (its module must have imported ``keras``), registered under ``package``."""
    return _SOURCE.format(package=package)


def forgetful_layer_class(package: str) -> Any:
    """The layer itself, made from the same source, for a plain-Keras reproduction in this process."""
    import keras

    namespace: dict[str, Any] = {"keras": keras}
    exec(forgetful_layer_source(package), namespace)
    return namespace["Forgetful"]
