"""``h5``: legacy HDF5, ``model.save("model.h5")``.  Needs ``h5py``.

Saved and reloaded like ``keras`` (same calls), only the file suffix differs.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.keras_v3 import KerasFormat


class H5Format(KerasFormat):
    name = "h5"
    order = 20
    saved_with = 'model.save("model.h5")'
    reloaded_with = 'keras.models.load_model("model.h5")'
    filename = "model.h5"

    # Measured on Keras 3.15: the legacy loader's own limits on models that .keras reloads exactly.
    cannot_take_patterns: ClassVar[tuple[str, ...]] = (
        "Could not deserialize 'keras.metrics.", "Could not deserialize 'keras.losses.", "too many positional arguments",
        "Only input tensors may be passed as positional arguments", "No cast function available",
        # A functional model reloaded from .h5 cannot continue training: its optimizer is bound to other variables.
        "This optimizer can only be called for the variables it was originally built with",
        # The same under JAX (measured, Keras 3.15): the reloaded optimizer is built with no variables.
        "corresponding 1:1 to the trainable variables list that the optimizer was built with",
    )
    runtime_name: ClassVar[str] = "Keras's legacy .h5 loader (deprecated)"

    def cannot_take(self, message: str) -> str | None:
        """Also "Unknown layer: 'X'" where Keras 3 knows X (a registered class, a Keras op) and only the legacy loader does not.

        An unregistered class of yours stays a failure (``.keras`` fails on it too).

        Example:
            >>> get_format = __import__("pytest_tfroundtrip.formats", fromlist=["get_format"]).get_format
            >>> get_format("h5").cannot_take("ValueError: Unknown layer: 'NotEqual'. Please ensure ...")[:60]
            "Keras's legacy .h5 loader (deprecated) cannot rebuild this m"
            >>> get_format("h5").cannot_take("ValueError: Unknown layer: 'MyForgottenLayer'. Please ensure ...") is None
            True
        """
        reason = super().cannot_take(message)
        if reason is not None:
            return reason
        unknown = re.search(r"Unknown layer: '([A-Za-z_][\w.]*)'", message)
        if unknown is None or not _known_to_keras(unknown.group(1)):
            return None
        return (f"{self.runtime_name} cannot rebuild this model: Unknown layer: {unknown.group(1)!r}, a class Keras 3 knows "
                f"(the legacy loader does not look up registered classes or Keras ops) (name {self.name!r} in formats= to see it fail)")

    def unavailable_reason(self) -> str | None:
        return super().unavailable_reason() or (None if _lazy.is_installed("h5py") else "h5py is not installed")

    def _write(self, model: Any, directory: Path) -> Path:
        # Measured on Keras 3.15: legacy HDF5 saving pops "optimizer" out of the
        # model's own compile config, so a later compile(**get_compile_config())
        # silently gets RMSprop.  The model under test must not change: restore it.
        compile_config = getattr(getattr(model, "_compile_config", None), "config", None)
        kept = dict(compile_config) if isinstance(compile_config, dict) else None
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
                return super()._write(model, directory)
        finally:
            if kept is not None and isinstance(compile_config, dict) and compile_config != kept:
                compile_config.clear()
                compile_config.update(kept)


def _known_to_keras(class_name: str) -> bool:
    """Registered with Keras 3 under any package, or an operation class of ``keras.ops``."""
    keras = _lazy.keras()
    if any(key == class_name or key.endswith(f">{class_name}") for key in keras.saving.get_custom_objects()):
        return True
    from keras.src import ops

    return any(isinstance(getattr(module, class_name, None), type) for module in (ops.numpy, ops.math, ops.nn, ops.core))


FORMAT = H5Format()
