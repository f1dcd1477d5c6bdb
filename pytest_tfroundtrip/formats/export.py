"""``export``: Keras 3's ``model.export(path)``, reloaded as ``tf.saved_model.load(path).serve``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.formats.savedmodel import outputs_in_model_structure
from pytest_tfroundtrip.structure import pack_like
from pytest_tfroundtrip.results.tolerances import GRAPH


class ExportFormat(RoundTripFormat):
    name = "export"
    order = 40
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = 'model.export(path)  (format="tf_saved_model")'
    reloaded_with = "tf.saved_model.load(path).serve(inputs)"

    def save(self, subject: Subject, directory: Path) -> Path:
        path = directory / "export"
        kwargs: dict[str, Any] = {"verbose": False}
        if subject.user_input_signature is not None:
            # Same structure as the model's inputs, with None dimensions kept.
            kwargs["input_signature"] = [pack_like(subject.signature.template, subject.tensor_specs())]
        subject.model.export(str(path), **kwargs)
        return path

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        loaded = _lazy.tensorflow().saved_model.load(str(artifact))

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            return outputs_in_model_structure(subject, loaded.serve(subject.input_tensors(arrays)))

        return call


FORMAT = ExportFormat()
