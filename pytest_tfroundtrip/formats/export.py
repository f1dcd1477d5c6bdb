"""``export``: Keras 3's ``model.export(path)``, reloaded as ``tf.saved_model.load(path).serve``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.formats.reproduction_code import structure_code
from pytest_tfroundtrip.formats.runtime import export_to_file
from pytest_tfroundtrip.formats.savedmodel import outputs_in_model_structure
from pytest_tfroundtrip.results.tolerances import GRAPH


class ExportFormat(RoundTripFormat):
    name = "export"
    order = 40
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = 'model.export(path)  (format="tf_saved_model")'
    reloaded_with = "tf.saved_model.load(path).serve(inputs)"
    converts_live_model = True

    def save(self, subject: Subject, directory: Path) -> Path:
        return export_to_file(subject, directory / "export", "tf_saved_model")

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        loaded = _lazy.tensorflow().saved_model.load(str(artifact))

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            return outputs_in_model_structure(subject, loaded.serve(subject.input_tensors(arrays)))

        return call

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return ["import tensorflow as tf", f"loaded = tf.saved_model.load({str(artifact)!r})"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        return ["x = {name: tf.constant(array) for name, array in inputs.items()}",
                f"got = tf.nest.flatten(loaded.serve({structure_code(subject.signature.template)}))"]


FORMAT = ExportFormat()
