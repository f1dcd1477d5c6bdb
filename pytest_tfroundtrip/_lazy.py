"""Lazy access to TensorFlow and Keras.

The plugin is imported by pytest in every project where it is installed, so
nothing at module level may import TensorFlow (about 2 s).  Call these where
TensorFlow is first needed.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

TENSORFLOW = "tensorflow"


def tensorflow() -> ModuleType:
    """Import and return ``tensorflow``."""
    import tensorflow as tf

    return tf


def jax_numpy() -> ModuleType:
    """Import and return ``jax.numpy`` (only where a value is known to be JAX's)."""
    import jax.numpy as jnp

    return jnp


def keras() -> ModuleType:
    """Import and return ``keras`` (Keras 3)."""
    import keras as keras_module

    return keras_module


def is_keras2_model(model: object) -> bool:
    """Whether ``model`` is a ``tf_keras`` (Keras 2) object, subclassed or not; never imports ``tf_keras``.

    Example:
        >>> is_keras2_model(object())
        False
    """
    if "tf_keras" not in sys.modules:  # not imported: nothing can be one of its models
        return False
    return any(cls.__module__.split(".")[0] == "tf_keras" for cls in type(model).__mro__)


def keras_of(model: object) -> ModuleType:
    """The Keras that defines ``model``: ``tf_keras`` for Keras 2 models, else ``keras`` (Keras 3).

    Each format reloads a model with its own Keras, as its project does.

    Example:
        >>> keras_of(object()).__name__
        'keras'
    """
    if is_keras2_model(model):
        return importlib.import_module("tf_keras")
    return keras()


def is_installed(module_name: str) -> bool:
    """Whether ``module_name`` can be imported, without importing it.

    Example:
        >>> is_installed("json")
        True
    """
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        return False


def process_backend() -> str:
    """The Keras backend of this process: Keras's own answer once imported, else what it will read when imported
    (``KERAS_BACKEND``, then ``~/.keras/keras.json``, else TensorFlow).  Never imports Keras.

    Example:
        >>> process_backend() in ("tensorflow", "jax", "torch", "numpy", "openvino")
        True
    """
    keras_module = sys.modules.get("keras")
    config = getattr(keras_module, "config", None)
    if config is not None and hasattr(config, "backend"):
        return str(config.backend())
    named = os.environ.get("KERAS_BACKEND")
    if named:
        return named
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    try:
        return str(json.loads((keras_home / "keras.json").read_text()).get("backend", TENSORFLOW))
    except (OSError, ValueError, AttributeError):
        return TENSORFLOW
