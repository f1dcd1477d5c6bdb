"""``h5``: legacy HDF5, ``model.save("model.h5")``.  Needs ``h5py``.

Saved and reloaded like ``keras`` (same calls), only the file suffix differs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.keras_v3 import KerasFormat


class H5Format(KerasFormat):
    name = "h5"
    order = 20
    saved_with = 'model.save("model.h5")'
    reloaded_with = 'keras.models.load_model("model.h5")'
    filename = "model.h5"

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
            if kept is not None and compile_config != kept:
                compile_config.clear()
                compile_config.update(kept)


FORMAT = H5Format()
