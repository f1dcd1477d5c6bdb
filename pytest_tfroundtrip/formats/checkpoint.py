"""``checkpoint``: ``tf.train.Checkpoint(model=model)`` restored into a freshly built model."""

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
    trains_itself,
    weight_digests,
)
from pytest_tfroundtrip.formats.reproduction_code import rebuild_then_restore_lines
from pytest_tfroundtrip.results.tolerances import EXACT


class CheckpointFormat(RoundTripFormat):
    name = "checkpoint"
    order = 60
    tolerance_family = EXACT
    preserves = Preserves(architecture=False, weights=True, optimizer_state=True, needs_python_classes=True, resumes_training=True)
    saved_with = 'tf.train.Checkpoint(model=model).save("ckpt/model")'
    reloaded_with = 'build the model in code, then tf.train.Checkpoint(model=model).read(tf.train.latest_checkpoint("ckpt"))'

    def backend_reason(self, backend: str) -> str | None:
        if backend == "tensorflow":
            return None
        # Measured (Keras 3.15, KERAS_BACKEND=jax): ValueError "`Checkpoint` was expecting model to be a trackable object".
        return (f"tf.train.Checkpoint tracks only TensorFlow objects: under KERAS_BACKEND={backend} a Keras model is not "
                "one (it raises ValueError: `Checkpoint` was expecting model to be a trackable object); the 'weights' and "
                "'keras' formats hold its weights")

    def save(self, subject: Subject, directory: Path) -> Path:
        tf = _lazy.tensorflow()
        checkpoint_dir = directory / "ckpt"
        tf.train.Checkpoint(model=subject.model).save(str(checkpoint_dir / "model"))
        return checkpoint_dir

    def save_for_training(self, model: Any, directory: Path) -> Path:
        tf = _lazy.tensorflow()
        checkpoint_dir = directory / "ckpt"
        tf.train.Checkpoint(model=model, optimizer=model.optimizer).save(str(checkpoint_dir / "train"))
        return checkpoint_dir

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        tf = _lazy.tensorflow()
        model = rebuild()
        # Slot variables must exist before the restore can fill them. A model with its own train_step (a GAN)
        # builds its optimizers itself, each for its own variables: restored on creation, as in user code.
        if not trains_itself(model):
            model.optimizer.build(model.trainable_variables)
        status = tf.train.Checkpoint(model=model, optimizer=model.optimizer).read(tf.train.latest_checkpoint(str(artifact)))
        status.assert_existing_objects_matched()
        return model

    def cannot_take(self, message: str) -> str | None:
        """Not judged when the model cannot be rebuilt faithfully from its config (the config's defect, not this file's)."""
        return rebuild_not_judged(self.name, message)

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        tf = _lazy.tensorflow()
        fresh = fresh_model_like(subject)
        latest = tf.train.latest_checkpoint(str(artifact))
        if latest is None:
            raise FileNotFoundError(f"no checkpoint found in {artifact}")
        initial = weight_digests(fresh)
        status = tf.train.Checkpoint(model=fresh).read(latest)
        # Every variable of the fresh model must be restored; optimizer slots in the
        # checkpoint have nowhere to go in an uncompiled model, which is expected here.
        status.assert_existing_objects_matched().expect_partial()
        return KerasReload(fresh, subject, restored_by="tf.train.Checkpoint", initial_digests=initial)


    def reproduction_code(self, subject: Subject, artifact: Path) -> list[str] | None:
        return rebuild_then_restore_lines(subject, artifact, f'tf.train.Checkpoint(model=model).read(tf.train.latest_checkpoint({str(artifact)!r})).expect_partial()')


FORMAT = CheckpointFormat()
