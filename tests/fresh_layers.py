"""Layers that behave differently in an interpreter that did not save them: for the fresh-reload tests.

They live in a module of their own (not a test module) so a worker imports
only them.  ``saver_pid`` is the process that built the layer; it travels in
the config, so a rebuild anywhere else knows it is elsewhere.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="tfroundtrip_fresh_tests")
class CrashesElsewhere(keras.layers.Layer):
    """Kills its interpreter with SIGSEGV when rebuilt in a process other than the one that built it."""

    def __init__(self, saver_pid: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.saver_pid = os.getpid() if saver_pid is None else saver_pid
        if self.saver_pid != os.getpid():
            os.kill(os.getpid(), signal.SIGSEGV)

    def call(self, x: Any) -> Any:
        return x * 2.0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "saver_pid": self.saver_pid}


@keras.saving.register_keras_serializable(package="tfroundtrip_fresh_tests")
class SlowElsewhere(keras.layers.Layer):
    """Sleeps ``seconds`` in every call made in a process other than the one that built it."""

    def __init__(self, seconds: float = 60.0, saver_pid: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        self.saver_pid = os.getpid() if saver_pid is None else saver_pid

    def call(self, x: Any) -> Any:
        if self.saver_pid != os.getpid():
            time.sleep(self.seconds)
        return x + 1.0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seconds": self.seconds, "saver_pid": self.saver_pid}


def host(layer: keras.layers.Layer, features: int = 4) -> keras.Model:
    """``Dense -> layer -> Dense``: a functional model around ``layer``."""
    x = keras.Input((features,), name="x")
    return keras.Model(x, keras.layers.Dense(2, name="head")(layer(keras.layers.Dense(features, name="stem")(x))))
