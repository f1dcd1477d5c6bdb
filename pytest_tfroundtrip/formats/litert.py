"""``litert``: ``model.export(path, format="litert")``, run by the LiteRT interpreter.

Keras's own LiteRT export (``tflite`` is the plain converter path): it traces
``model.__call__`` in an export archive and converts it with TensorFlow ops
allowed as a fallback (``SELECT_TF_OPS``) and resource variables enabled, so
it converts models the built-in op set alone refuses (string lookups among
them); a file that keeps TensorFlow ops then needs a LiteRT runtime that
links the TensorFlow-ops (Flex) delegate, which ``ai-edge-litert`` does not.  Run,
like ``tflite``, through the interpreter's signature runner, one interpreter
per input shape.
"""

from __future__ import annotations

from pathlib import Path

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Subject
from pytest_tfroundtrip.formats.runtime import KERAS2_HAS_NO_RUNTIME_EXPORT, export_to_file
from pytest_tfroundtrip.formats.tflite import TFLiteFormat


class LiteRTFormat(TFLiteFormat):
    name = "litert"
    order = 75
    saved_with = 'model.export("model.tflite", format="litert")'
    runtime_name = "the LiteRT interpreter (ai-edge-litert)"
    # Measured: TensorFlow ops kept by the export (LlamaBackbone's StridedSlice, LSTM over unknown lengths).
    cannot_take_patterns = ("Select TensorFlow op",)

    def backend_reason(self, backend: str) -> str | None:
        if backend in ("tensorflow", "torch"):
            return None
        # Keras's own refusal, measured (Keras 3.15, KERAS_BACKEND=jax): model.export(path, format="litert") raises it.
        return f'Keras exports LiteRT only from TensorFlow or PyTorch: under KERAS_BACKEND={backend}, model.export(path, ' \
               'format="litert") raises "LiteRT export requires TensorFlow or PyTorch backend."'

    def not_applicable_reason(self, subject: Subject) -> str | None:
        # Measured: string lookups convert to built-in hash-table ops and run; float16,
        # bfloat16 and float64 compute falls back to TensorFlow ops, which the
        # ai-edge-litert interpreter does not link ("Select TensorFlow op(s) ... not supported").
        if _lazy.is_keras2_model(subject.model):
            return KERAS2_HAS_NO_RUNTIME_EXPORT
        return self._compute_dtype_reason(subject, self.try_anyway)

    def save(self, subject: Subject, directory: Path) -> Path:
        settings = self.conversion.converter_settings() if self.conversion is not None else {}
        return export_to_file(subject, directory / "model.tflite", "litert", named_inputs=bool(settings), **settings)


FORMAT = LiteRTFormat()
