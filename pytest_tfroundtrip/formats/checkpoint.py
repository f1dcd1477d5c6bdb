"""``checkpoint``: ``tf.train.Checkpoint(model=model)`` restored into a freshly built model."""

from __future__ import annotations

from pathlib import Path

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import (
    Preserves, ReloadedCall, RoundTripFormat, Subject, call_keras_model, fresh_model_like,
)
from pytest_tfroundtrip.tolerances import EXACT


class CheckpointFormat(RoundTripFormat):
    name = "checkpoint"
    order = 60
    tolerance_family = EXACT
    preserves = Preserves(architecture=False, weights=True, optimizer_state=True, needs_python_classes=True, resumes_training=True)
    saved_with = 'tf.train.Checkpoint(model=model).write("ckpt/model")'
    reloaded_with = 'build the model in code, then tf.train.Checkpoint(model=model).read(path).assert_existing_objects_matched()'

    def save(self, subject: Subject, directory: Path) -> Path:
        tf = _lazy.tensorflow()
        prefix = directory / "ckpt" / "model"
        return Path(tf.train.Checkpoint(model=subject.model).write(str(prefix)))

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        tf = _lazy.tensorflow()
        fresh = fresh_model_like(subject)
        tf.train.Checkpoint(model=fresh).read(str(artifact)).assert_existing_objects_matched()
        return lambda arrays: call_keras_model(fresh, subject, arrays)


FORMAT = CheckpointFormat()
