"""The resumed half of a resume check: reload for training, continue, report the state; here or in a worker.

:func:`continue_training` runs where the reload happens: in this process,
or in a worker interpreter that did not save the artifact (``reload_in="fresh"``),
which answers with a :class:`Continued` made of plain arrays and numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.checks.training import TrainingState, align_seed_states, python_state, state_of, train_steps
from pytest_tfroundtrip.errors import describe_exception
from pytest_tfroundtrip.formats.base import RoundTripFormat


@dataclass(frozen=True)
class Continued:
    """What the resumed model did: its state as reloaded, the later steps' losses and rates, its final state.

    ``error``: why it could not reload or continue (then nothing else is set).
    """

    reloaded: TrainingState | None = None
    reloaded_python: dict[str, dict[str, Any]] = field(default_factory=dict)
    rng_reset: bool = False
    losses: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    final: TrainingState | None = None
    error: str | None = None


def continue_training(
    fmt: RoundTripFormat, artifact: Path, rebuild: Callable[[], Any], rng_states: list[np.ndarray],
    batches: list[tuple[Any, Any]],
) -> Continued:
    """Reload ``artifact`` for training as a user resuming would, give it the saved RNG states, train on ``batches``."""
    try:
        resumed = fmt.load_for_training(artifact, rebuild)
    except Exception as error:
        return Continued(error=f"saving or reloading for training failed: {describe_exception(error)}")
    rng_reset = align_seed_states(rng_states, resumed)
    reloaded, reloaded_python = state_of(resumed), python_state(resumed)
    try:
        losses, rates = train_steps(resumed, batches)
    except Exception as error:
        return Continued(error=f"training cannot continue after reload: {describe_exception(error)}")
    return Continued(reloaded, reloaded_python, rng_reset, losses, rates, state_of(resumed))


def continue_in_worker(request: dict[str, Any]) -> dict[str, Any]:
    """In a worker interpreter: :func:`continue_training` on the model rebuilt from the request's blueprint."""
    from pytest_tfroundtrip import _lazy
    from pytest_tfroundtrip.checks.training import rebuild_compiled
    from pytest_tfroundtrip.formats import get_format
    from pytest_tfroundtrip.formats.base import Subject

    subject = Subject(request["blueprint"], request["signature"], request["output_template"])
    _lazy.keras().utils.set_random_seed(request["seed"])
    continued = continue_training(
        get_format(request["format"]), Path(request["artifact"]),
        lambda: rebuild_compiled(subject, compile_config=request["compile_config"]), request["rng_states"], request["batches"])
    return {"ok": True, "continued": continued}
