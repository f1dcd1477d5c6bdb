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
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
            return super()._write(model, directory)


FORMAT = H5Format()
