"""``keras``: the native Keras 3 archive, ``model.save("model.keras")``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import KerasReload, Preserves, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.formats.reproduction_code import KERAS_IMPORT, keras_call_lines
from pytest_tfroundtrip.results.tolerances import EXACT


class KerasFormat(RoundTripFormat):
    name = "keras"
    order = 10
    tolerance_family = EXACT
    preserves = Preserves(architecture=True, weights=True, optimizer_state=True, needs_python_classes=True, resumes_training=True)
    saved_with = 'model.save("model.keras")'
    reloaded_with = 'keras.models.load_model("model.keras")'
    filename = "model.keras"

    def _write(self, model: Any, directory: Path) -> Path:
        path = directory / self.filename
        model.save(path)
        return path

    def save(self, subject: Subject, directory: Path) -> Path:
        return self._write(subject.model, directory)

    def save_for_training(self, model: Any, directory: Path) -> Path:
        return self._write(model, directory)

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        # A tf_keras model's project reloads with tf_keras.  Safe mode (the default, said here so it stays):
        # a stored file's Python lambdas are refused, not run; Keras 3 applies it to .h5 as well.
        reloaded = _lazy.keras_of(subject.model).models.load_model(artifact, safe_mode=True)
        return KerasReload(reloaded, subject, restored_by=f"keras.models.load_model({artifact.name!r})")

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        return _lazy.keras().models.load_model(artifact)

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return [KERAS_IMPORT, f"model = keras.models.load_model({str(artifact)!r})"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        return keras_call_lines(subject.signature.template)


FORMAT = KerasFormat()
