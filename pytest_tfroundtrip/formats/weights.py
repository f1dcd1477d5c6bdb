"""``weights``: ``save_weights("*.weights.h5")`` loaded into a freshly built model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import (
    KerasReload,
    Preserves,
    ReloadedCall,
    RoundTripFormat,
    Subject,
    fresh_model_like,
    rebuild_not_judged,
    weight_digests,
)
from pytest_tfroundtrip.formats.reproduction_code import rebuild_then_restore_lines
from pytest_tfroundtrip.results.tolerances import EXACT


class WeightsFormat(RoundTripFormat):
    name = "weights"
    order = 50
    tolerance_family = EXACT
    preserves = Preserves(architecture=False, weights=True, optimizer_state=False, needs_python_classes=True, resumes_training=True)
    saved_with = 'model.save_weights("model.weights.h5")'
    reloaded_with = 'build the model in code, then model.load_weights("model.weights.h5")'

    def unavailable_reason(self) -> str | None:
        return super().unavailable_reason() or (None if _lazy.is_installed("h5py") else "h5py is not installed")

    def _write(self, model: Any, directory: Path) -> Path:
        path = directory / "model.weights.h5"
        model.save_weights(path)
        return path

    def save(self, subject: Subject, directory: Path) -> Path:
        return self._write(subject.model, directory)

    def save_for_training(self, model: Any, directory: Path) -> Path:
        return self._write(model, directory)

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        model = rebuild()  # user code: build, compile (a fresh optimizer), load_weights
        model.load_weights(artifact)
        return model

    def cannot_take(self, message: str) -> str | None:
        """Not judged when the model cannot be rebuilt faithfully from its config (the config's defect, not this file's)."""
        return rebuild_not_judged(self.name, message)

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        fresh = fresh_model_like(subject)
        initial = weight_digests(fresh)
        fresh.load_weights(artifact)
        return KerasReload(fresh, subject, restored_by="model.load_weights", initial_digests=initial)


    def reproduction_code(self, subject: Subject, artifact: Path) -> list[str] | None:
        return rebuild_then_restore_lines(subject, artifact, f'model.load_weights({str(artifact)!r})')


FORMAT = WeightsFormat()
