"""``onnx``: ``model.export(path, format="onnx")``, run by ONNX Runtime.

Keras converts the model's traced ``call`` with ``tf2onnx``; a deployment
runs the file with ``onnxruntime.InferenceSession``, feeding inputs by the
names the file declares and reading outputs in the file's order (the model's
flat output order).  Unknown dimensions, batch included, stay dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject, weight_bytes
from pytest_tfroundtrip.formats.reproduction_code import feed_code
from pytest_tfroundtrip.formats.runtime import (
    export_to_file,
    matched_input_names,
    missing_packages,
    outputs_in_file_order,
    physical_memory_bytes,
    reason_runtime_cannot_take,
)
from pytest_tfroundtrip.results.tolerances import GRAPH

PACKAGES = {"tf2onnx": "tf2onnx", "onnxruntime": "onnxruntime"}
# Measured with benchmarks/floor.py: Keras's ONNX export (tf2onnx) raised the process's peak by 43x the
# weight bytes over the built model (16.6 GB for a 100M-parameter MLP of 384 MB; the hand-written floor
# needs the same).  By default a model whose estimate passes half the machine's memory is not applicable.
EXPORT_MEMORY_PER_WEIGHT_BYTE = 45


class OnnxFormat(RoundTripFormat):
    name = "onnx"
    order = 80
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = 'model.export("model.onnx", format="onnx")  (tf2onnx)'
    reloaded_with = 'onnxruntime.InferenceSession("model.onnx").run(None, inputs)'
    converts_live_model = True
    runtime_name = "ONNX Runtime"
    # Measured: ops tf2onnx writes that are no ONNX ops (Erfc), calls it leaves unconverted
    # (StatefulPartitionedCall), constants it leaves as unfed inputs, conversions it refuses.
    cannot_take_patterns = ("INVALID_GRAPH", "NOT_IMPLEMENTED", "the ONNX file requires", "make_sure failure")

    def unavailable_reason(self) -> str | None:
        if _lazy.process_backend() == "jax":
            # Measured: under JAX, Keras converts with jax2onnx ("This requires the jax2onnx module"), not tf2onnx.
            missing = [name for name in ("jax2onnx", "onnxruntime") if not _lazy.is_installed(name)]
            return f"{', '.join(missing)} not installed: Keras converts a JAX model to ONNX with jax2onnx " \
                   f"(pip install {' '.join(missing)})" if missing else None
        return super().unavailable_reason() or missing_packages(PACKAGES, extra="onnx")

    def not_applicable_reason(self, subject: Subject) -> str | None:
        reason = reason_runtime_cannot_take(subject, runtime="ONNX export", hint=self.try_anyway)
        if reason is not None:
            return reason
        weights = weight_bytes(subject.model)
        needed, memory = EXPORT_MEMORY_PER_WEIGHT_BYTE * weights, physical_memory_bytes()
        if memory is not None and needed > memory / 2:
            return (f"Keras's ONNX export (tf2onnx) needs about {EXPORT_MEMORY_PER_WEIGHT_BYTE}x the weights in memory "
                    f"(measured): about {needed / 2**30:.1f} GB for this model's {weights / 2**20:.0f} MB, more than half "
                    f"of this machine's {memory / 2**30:.1f} GB {self.try_anyway}")
        return None

    def save(self, subject: Subject, directory: Path) -> Path:
        return export_to_file(subject, directory / "model.onnx", "onnx")

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: the check reports what matters
        session = onnxruntime.InferenceSession(str(artifact), options, providers=["CPUExecutionProvider"])
        declared = [node.name for node in session.get_inputs()]
        if len(declared) > len(subject.signature.names):
            # Measured: tf2onnx leaves some folded constants (keras.applications EfficientNet's
            # Normalization) as graph inputs without a value, so the file cannot run on the model's inputs.
            raise ValueError(
                f"the ONNX file requires {len(declared)} inputs {declared} but the model takes "
                f"{len(subject.signature.names)} {subject.signature.names}: the conversion left tensors as graph "
                "inputs without a value, and onnxruntime refuses to run unless they are fed"
            )
        names = matched_input_names(subject, declared)

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            feed = {names[name]: np.ascontiguousarray(arrays[name]) for name in subject.signature.names}
            return outputs_in_file_order(subject, session.run(None, feed))

        return call

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return ["import numpy as np, onnxruntime",
                f"session = onnxruntime.InferenceSession({str(artifact)!r}, providers=['CPUExecutionProvider'])"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(artifact), providers=["CPUExecutionProvider"])
        names = matched_input_names(subject, [node.name for node in session.get_inputs()])
        return [f"got = session.run(None, {feed_code(names, 'np.ascontiguousarray')})"]


FORMAT = OnnxFormat()
