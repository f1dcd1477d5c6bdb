"""``h5``: legacy HDF5, ``model.save("model.h5")``.  Needs ``h5py``."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject, call_keras_model
from pytest_tfroundtrip.tolerances import EXACT


class H5Format(RoundTripFormat):
    name = "h5"
    order = 20
    tolerance_family = EXACT
    preserves = Preserves(architecture=True, weights=True, optimizer_state=True, needs_python_classes=True, resumes_training=True)
    saved_with = 'model.save("model.h5")'
    reloaded_with = 'keras.models.load_model("model.h5")'

    def unavailable_reason(self) -> str | None:
        return super().unavailable_reason() or (None if _lazy.is_installed("h5py") else "h5py is not installed")

    def save(self, subject: Subject, directory: Path) -> Path:
        path = directory / "model.h5"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
            subject.model.save(path)
        return path

    def save_for_training(self, model: Any, directory: Path) -> Path:
        return self.save(Subject(model, None, None), directory)  # type: ignore[arg-type]

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        return _lazy.keras().models.load_model(artifact)

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        reloaded = _lazy.keras().models.load_model(artifact)
        return lambda arrays: call_keras_model(reloaded, subject, arrays)


FORMAT = H5Format()
