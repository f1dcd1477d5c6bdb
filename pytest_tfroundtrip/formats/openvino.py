"""``openvino``: ``model.export(path, format="openvino")``, run by OpenVINO on the CPU.

Keras converts the traced ``call`` to OpenVINO IR (``model.xml`` with its
weights in ``model.bin``), keeping unknown dimensions dynamic; a deployment
runs it with ``openvino.Core().compile_model(path, "CPU")``.  The compiled
model is asked for float32 inference precision: on CPUs with bfloat16 units
OpenVINO otherwise computes in bfloat16, a precision trade (like
quantization) rather than a round trip, and results would depend on the
machine.

When Keras's export fails to convert the model, OpenVINO's documented path is
tried before the model is called unconvertible: ``openvino.convert_model`` on
the TensorFlow SavedModel ``model.export(dir)`` writes (measured: an LSTM
forecaster Keras's export refuses for its ``TensorList`` ops converts that way
and matches to about 1e-7).  The result then carries a warning naming that path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.errors import describe_exception
from pytest_tfroundtrip.formats.base import Preserves, ReloadedCall, RoundTripFormat, Subject, WarnedCall
from pytest_tfroundtrip.formats.openvino_fallback import (
    convert_saved_model,
    converted_from_saved_model_warning,
    is_converted_from_saved_model,
    saved_model_beside,
)
from pytest_tfroundtrip.formats.reproduction_code import feed_code
from pytest_tfroundtrip.formats.runtime import (
    export_to_file,
    matched_input_names,
    missing_packages,
    outputs_in_file_order,
    reason_runtime_cannot_take,
)
from pytest_tfroundtrip.formats.savedmodel import output_keys_in_model_order
from pytest_tfroundtrip.results.tolerances import GRAPH

# Keras's OpenVINO export imports its OpenVINO backend, which imports scipy.
PACKAGES = {"openvino": "openvino", "scipy": "scipy"}


class OpenVINOFormat(RoundTripFormat):
    name = "openvino"
    order = 90
    tolerance_family = GRAPH
    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=False, resumes_training=False)
    saved_with = 'model.export("model.xml", format="openvino")'
    reloaded_with = 'openvino.Core().compile_model("model.xml", "CPU")(inputs)'
    converts_live_model = True
    runtime_name = "OpenVINO"
    # Measured: TensorFlow ops its frontend cannot convert (LSTM over unknown lengths, lookups),
    # CPU-plugin ops it lacks (bfloat16).
    cannot_take_patterns = ("OpConversionFailure", "Unsupported operation", "undeclared parameters")

    def unavailable_reason(self) -> str | None:
        return super().unavailable_reason() or missing_packages(PACKAGES, extra="openvino")

    def backend_reason(self, backend: str) -> str | None:
        if backend != "jax":
            return None
        # Measured (Keras 3.15, OpenVINO 2025, KERAS_BACKEND=jax, a two-Dense MLP): Keras exports through jax2tf, whose
        # graph is one XlaCallModule op: "No conversion rule found for operations: XlaCallModule".
        return ("Keras's OpenVINO export under JAX goes through jax2tf, whose graph is a single XlaCallModule op that "
                "OpenVINO cannot convert (\"No conversion rule found for operations: XlaCallModule\")")

    def not_applicable_reason(self, subject: Subject) -> str | None:
        return reason_runtime_cannot_take(subject, runtime="OpenVINO export", hint=self.try_anyway)

    def save(self, subject: Subject, directory: Path) -> Path:
        try:
            return export_to_file(subject, directory / "model.xml", "openvino")
        except Exception as error:
            keras_words = describe_exception(error)
            if self.cannot_take(keras_words) is None:  # not a conversion error: a failure as it is
                raise
        return convert_saved_model(subject, directory, keras_words, self.cannot_take_patterns)

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        import openvino

        compiled = openvino.Core().compile_model(str(artifact), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        declared = {port.get_any_name(): port for port in compiled.inputs}
        names = matched_input_names(subject, list(declared))
        outputs, extra = model_outputs(subject, compiled.outputs, artifact)
        request = compiled.create_infer_request()

        def call(arrays: Mapping[str, np.ndarray]) -> Any:
            feed = {names[name]: np.ascontiguousarray(arrays[name]) for name in subject.signature.names}
            results = request.infer(feed)
            return outputs_in_file_order(subject, [np.array(results[port]) for port in outputs])

        warnings = [] if not extra else [
            f"the OpenVINO model declares {len(extra)} output(s) beyond the model's {len(outputs)} "
            f"({', '.join(sorted(extra)[:3])}{', ...' if len(extra) > 3 else ''}: intermediate tensors the conversion "
            "left as outputs); code that reads every output, or outputs by position past the model's own, gets them"]
        warnings += converted_from_saved_model_warning(artifact)
        return WarnedCall(call, tuple(warnings)) if warnings else call

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        source = repr(str(artifact))
        if is_converted_from_saved_model(artifact):  # the path the check took: OpenVINO's converter on the SavedModel
            source = f"openvino.convert_model({str(saved_model_beside(artifact))!r})"
        return ["import numpy as np, openvino",
                f"compiled = openvino.Core().compile_model({source}, 'CPU', {{'INFERENCE_PRECISION_HINT': 'f32'}})"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        import openvino

        model = openvino.Core().read_model(str(artifact))
        names = matched_input_names(subject, [port.get_any_name() for port in model.inputs])
        outputs, _extra = model_outputs(subject, model.outputs, artifact)
        return [f"results = compiled({feed_code(names, 'np.ascontiguousarray')})",
                f"got = [results[compiled.output(name)] for name in {[port.get_any_name() for port in outputs]!r}]"]


def model_outputs(subject: Subject, ports: Sequence[Any], artifact: Path) -> tuple[list[Any], list[str]]:
    """The ports that are the model's outputs in its flat order, and the names of any others.

    Converted from a SavedModel, the ports are named by the serving signature's output keys.
    """
    if not is_converted_from_saved_model(artifact):
        return function_outputs(ports, len(subject.output_names))
    by_key = {port.get_any_name(): port for port in ports}
    return [by_key[key] for key in output_keys_in_model_order(subject, list(by_key))], []


_FUNCTION_OUTPUT = re.compile(r"Identity(?:_(\d+))?:0")


def function_outputs(ports: Sequence[Any], count: int) -> tuple[list[Any], list[str]]:
    """The ports that are the traced function's outputs (``Identity:0``, ``Identity_1:0``, ... in that order), and the
    names of any other outputs the converted graph declares (measured: keras-hub GPT-2 leaves 4 scalar slices).

    Falls back to the first ``count`` ports when the names do not tell.
    """
    numbered: dict[int, Any] = {}
    for port in ports:
        for name in port.get_names():
            match = _FUNCTION_OUTPUT.fullmatch(name)
            if match:
                numbered[int(match.group(1) or 0)] = port
    chosen = [numbered[i] for i in sorted(numbered)] if len(numbered) == count else list(ports)[:count]
    extra = [port.get_any_name() for port in ports if all(port is not c for c in chosen)]
    return chosen, extra


FORMAT = OpenVINOFormat()
