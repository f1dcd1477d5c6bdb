"""The oracle for resuming training: plain save, plain restore into what the user rebuilds, train on, compare.

Per format, in this process (resuming needs the training code, which the user's process has):
the model as built, trained ``steps`` more batches without interruption, is the reference; a second copy
built the same way is saved, restored (``keras.models.load_model``; ``build()`` + ``load_weights``;
``build()`` + ``tf.train.Checkpoint(model=..., optimizer=...)``), trained the same ``steps`` batches, and
compared with the reference by its weights (in the form Keras saves them) and its outputs.
Verdicts as in :mod:`.plain`: "pass", "limit" (a plain call raised), "differs".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .fresh_loader import effective_weights
from .plain import OracleVerdict, _error_text, compare, compare_weights

RESUME_FORMATS = ("keras", "weights", "checkpoint")


def _restored(fmt: str, original: keras.Model, rebuild: Callable[[], keras.Model], workdir: Path) -> keras.Model:
    if fmt == "keras":
        original.save(workdir / "resume.keras")
        return keras.models.load_model(workdir / "resume.keras")
    if fmt == "weights":
        original.save_weights(workdir / "resume.weights.h5")
        model = rebuild()
        model.load_weights(workdir / "resume.weights.h5")
        return model
    if fmt == "checkpoint":
        path = tf.train.Checkpoint(model=original, optimizer=original.optimizer).save(str(workdir / "ckpt" / "c"))
        model = rebuild()
        tf.train.Checkpoint(model=model, optimizer=model.optimizer).read(path).expect_partial()
        return model
    raise ValueError(fmt)


def _same_random_state(saved: keras.Model, resumed: keras.Model) -> None:
    """Give the resumed model the saved one's random-number state (``keras.random.SeedGenerator`` variables).

    No format keeps it (measured: a checkpoint restores a GAN's ``SeedGenerator(1337)`` to ``[1337, 0]``, not the
    ``[1337, 4]`` it had), and the resume check's convention is to align it and say so, rather than call every
    model that draws random numbers in training divergent: the oracle judges by the same convention.
    """
    states = [v for v in saved.variables if "seed_generator" in v.path]
    targets = [v for v in resumed.variables if "seed_generator" in v.path]
    if len(states) == len(targets):  # paired by order: a rebuilt model's generators are numbered anew
        for state, target in zip(states, targets):
            target.assign(np.asarray(state))


def _train(model: keras.Model, x: Any, y: Any, steps: int) -> None:
    for _ in range(steps):
        model.train_on_batch(x, y)


def resume_verdicts(build: Callable[[], keras.Model], rebuild: Callable[[], keras.Model], x: Any, y: Any, *,
                    workdir: str | Path, probe: Any = None, steps: int = 3,
                    formats: tuple[str, ...] = RESUME_FORMATS) -> dict[str, OracleVerdict]:
    """Resume each format with plain calls; ``build()`` must give the same trained model each call.

    ``probe``: the inputs the outputs are compared on (default ``x``; a GAN trains on data and is called on noise).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    reference = build()
    _train(reference, x, y, steps)
    probe = x if probe is None else probe
    want_outputs = [np.asarray(o) for o in keras.tree.flatten(reference(probe, training=False))]
    want_weights = effective_weights(reference)
    verdicts = {}
    for fmt in formats:
        try:
            (workdir / fmt).mkdir(exist_ok=True)
            saved = build()
            resumed = _restored(fmt, saved, rebuild, workdir / fmt)
            _same_random_state(saved, resumed)
            _train(resumed, x, y, steps)
            got = [np.asarray(o) for o in keras.tree.flatten(resumed(probe, training=False))]
        except Exception as error:  # noqa: BLE001 - the raise is the verdict
            verdicts[fmt] = OracleVerdict(fmt, "limit", _error_text(error), float("nan"))
            continue
        verdict = compare(fmt, want_outputs, got)
        verdicts[fmt] = compare_weights(verdict, want_weights, effective_weights(resumed)) if verdict.status == "pass" \
            else verdict
    return verdicts
