"""Lazy access to TensorFlow and Keras.

The plugin is imported by pytest in every project where it is installed, so
nothing at module level may import TensorFlow (about 2 s).  Call these where
TensorFlow is first needed.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType


def tensorflow() -> ModuleType:
    """Import and return ``tensorflow``."""
    import tensorflow as tf

    return tf


def keras() -> ModuleType:
    """Import and return ``keras`` (Keras 3)."""
    import keras as keras_module

    return keras_module


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
