"""``reload_model``: save a model in one format and reload it as a callable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripError, describe_exception
from pytest_tfroundtrip.formats import get_format
from pytest_tfroundtrip.formats.base import ReloadedCall, Subject
from pytest_tfroundtrip.inputs.arrays import model_strings
from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend
from pytest_tfroundtrip.isolation.check_scope import public_check


class FormatUnavailable(Exception):
    """The format's runtime is not installed here (the fixture skips)."""


@dataclass(frozen=True)
class ReloadedModel:
    """A reloaded artifact that takes the same inputs as the original model.

    Calling it returns NumPy outputs in the model's output structure.
    """

    format: str
    artifact: Path
    subject: Subject
    call: ReloadedCall

    def __call__(self, inputs: Any) -> Any:
        return self.call(self._by_name(inputs))

    def _by_name(self, inputs: Any) -> dict[str, np.ndarray]:
        return {name: _as_array(value) for name, value in self.subject.signature.by_name(inputs).items()}


def _as_array(value: Any) -> np.ndarray:
    return model_strings(value.numpy() if hasattr(value, "numpy") else value)


@public_check
def reload_model(model: Any, format: str, directory: str | Path, *, input_signature: Any = None) -> ReloadedModel:
    """Save ``model`` in ``format`` under ``directory`` and reload it.

    Raises :class:`RoundTripError` (with the original error's text) when saving
    or reloading fails, and ``FormatUnavailable`` when the format's runtime is
    missing.

    Example:
        >>> import keras, numpy as np, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> reloaded = reload_model(model, "keras", tempfile.mkdtemp())
        >>> reloaded(np.ones((4, 3), "float32")).shape
        (4, 2)
    """
    __tracebackhide__ = True
    from pytest_tfroundtrip.checks.subject import prepare_subject

    fmt = get_format(format)
    not_here = fmt.backend_reason(_lazy.process_backend())
    if not_here is not None:
        raise FormatUnavailable(f"format {format!r} is not applicable here: {not_here}")
    reason = fmt.unavailable_reason()
    if reason is not None:
        raise FormatUnavailable(f"format {format!r} is not available here: {reason}")
    subject = prepare_subject(model, input_signature).subject
    target = Path(directory) / fmt.name
    target.mkdir(parents=True, exist_ok=True)
    stage = "saving"
    try:
        artifact = fmt.save(subject, target)
        stage = "reloading"
        call = load_in_its_backend(fmt, subject, artifact)
    except Exception as error:
        raise RoundTripError(f"[{fmt.name}] {stage} failed:\n    {describe_exception(error)}\n    artifact directory: {target}") from error
    return ReloadedModel(fmt.name, artifact, subject, call)
