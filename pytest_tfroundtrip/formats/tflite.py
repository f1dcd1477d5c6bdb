"""``tflite``: TFLite conversion, run by the LiteRT interpreter (or ``tf.lite``).

The model is exported with ``model.export`` (unknown dimensions kept) and
converted with ``TFLiteConverter.from_saved_model``.  Each input shape gets
its own interpreter whose signature runner is resized to that shape; one is
alive at a time.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject
from pytest_tfroundtrip.formats.quantization import QuantizedConversion
from pytest_tfroundtrip.formats.reproduction_code import feed_code
from pytest_tfroundtrip.formats.runtime import export_to_file, non_float32_compute
from pytest_tfroundtrip.formats.savedmodel import (
    match_input_names,
    output_keys_in_model_order,
    outputs_in_model_structure,
)
from pytest_tfroundtrip.results.tolerances import TFLITE


class TFLiteFormat(RoundTripFormat):
    name = "tflite"
    order = 70
    tolerance_family = TFLITE
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = "model.export(path); tf.lite.TFLiteConverter.from_saved_model(path).convert()"
    reloaded_with = "ai_edge_litert.interpreter.Interpreter(model_path).get_signature_runner()(**inputs)"
    converts_live_model = True
    runtime_name = "TFLite's built-in ops"
    # Measured: ops the converter can only keep as TensorFlow ops (LlamaBackbone's StridedSlice,
    # tensor lists of an LSTM over unknown lengths), refused by the built-in op set.
    cannot_take_patterns: ClassVar[tuple[str, ...]] = ("Some ops are not supported by the native TFLite runtime", "neither a custom op nor a flex op",
                            "Lowering tensor list ops is failed",
                            # Measured under JAX (Keras 3.15): jax2tf keeps a Dropout's seed generator state as a uint32
                            # variable, a dtype TFLite's variable ops do not take ("but got 'tensor<2xui32>'").
                            "'tfl.assign_variable' op operand #1 must be tensor of", "'tfl.read_variable' op result #0 must be tensor of")

    def __init__(self, conversion: QuantizedConversion | None = None) -> None:
        self.conversion = conversion

    def quantized(self, conversion: QuantizedConversion) -> TFLiteFormat:
        """This format converting with ``conversion``'s quantization (a new adapter; this one is unchanged)."""
        return type(self)(conversion)

    def not_applicable_reason(self, subject: Subject) -> str | None:
        # String inputs are tried (measured: a StringLookup given its vocabulary converts to built-in
        # hash-table ops and runs; adapted StringLookup/IntegerLookup keep HashTableV2, which the converter
        # refuses in its own words, and cannot_take makes that "not applicable").
        return self._compute_dtype_reason(subject, self.try_anyway)

    def _compute_dtype_reason(self, subject: Subject, hint: str) -> str | None:
        # Measured: the converter rejects MatMul/BiasAdd in these dtypes (they need Select TF ops).
        unsupported = non_float32_compute(subject)
        if unsupported:
            return f"TFLite built-in ops do not compute in {', '.join(unsupported)} {hint}"
        return None

    def save(self, subject: Subject, directory: Path) -> Path:
        # Converting a hand-made concrete function of a Keras 3 model loses its
        # variables (outputs are NaN); converting model.export's SavedModel works.
        # Quantized: the export's inputs carry the model's input names, which the calibration data is keyed by.
        exported = export_to_file(subject, directory / "export", "tf_saved_model", named_inputs=self.conversion is not None)
        path = self.convert_export(exported, directory)
        shutil.rmtree(exported, ignore_errors=True)  # one artifact on disk at a time
        return path

    @property
    def derives_from_export(self) -> bool:
        """Whether :meth:`convert_export` may start from the ``export`` format's own artifact: the same
        ``model.export`` call as :meth:`save` makes (a quantized conversion exports with named inputs instead)."""
        return self.conversion is None

    def convert_export(self, exported: Path, directory: Path) -> Path:
        """The second half of :meth:`save`: ``model.export``'s directory converted to ``directory/model.tflite``.

        File to file, so any interpreter may run it (a worker does, on the ``export`` format's artifact).
        """
        converter = _lazy.tensorflow().lite.TFLiteConverter.from_saved_model(str(exported))
        if self.conversion is not None:
            self.conversion.apply(converter)
        flatbuffer = converter.convert()
        del converter  # it holds the loaded SavedModel: release it before writing
        path = directory / "model.tflite"
        path.write_bytes(flatbuffer)
        return path

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        declared = make_interpreter(artifact).get_signature_list()["serving_default"]["inputs"]
        names = match_input_names(subject.signature.names, list(declared))
        current: dict[tuple[tuple[int, ...], ...], Any] = {}

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            feed = {names[name]: arrays[name] for name in subject.signature.names}
            shapes = tuple(feed[key].shape for key in sorted(feed))
            if shapes not in current:
                # XNNPACK cannot always reshape a prepared interpreter ("failed to
                # reshape"), so each input shape gets a new one, resized before its
                # first allocation, as a fixed-shape deployment would.  Only one is
                # kept: each holds packed weights and an activation arena (measured:
                # 16 of them took 9 GB for a 400 MB model), and making one takes ~5 ms.
                current.clear()
                current[shapes] = make_interpreter(artifact).get_signature_runner()
            return outputs_in_model_structure(subject, current[shapes](**feed))

        return call

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        interpreter = ("from ai_edge_litert.interpreter import Interpreter" if _lazy.is_installed("ai_edge_litert")
                       else "from tensorflow.lite import Interpreter")
        return [interpreter, f"runner = Interpreter(model_path={str(artifact)!r}).get_signature_runner()"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        signature = make_interpreter(artifact).get_signature_list()["serving_default"]
        names = match_input_names(subject.signature.names, list(signature["inputs"]))
        keys = output_keys_in_model_order(subject, list(signature["outputs"]))
        return [f"returned = runner(**{feed_code(names)})", f"got = [returned[key] for key in {keys!r}]"]


def make_interpreter(artifact: Path) -> Any:
    """The LiteRT interpreter when ``ai-edge-litert`` is installed, else ``tf.lite``'s."""
    if _lazy.is_installed("ai_edge_litert"):
        from ai_edge_litert.interpreter import Interpreter
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Interpreter = _lazy.tensorflow().lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return Interpreter(model_path=str(artifact))


FORMAT = TFLiteFormat()
