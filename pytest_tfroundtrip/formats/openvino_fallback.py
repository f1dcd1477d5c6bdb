"""OpenVINO's documented path for a model Keras's ``export(format="openvino")`` cannot convert.

``openvino.convert_model`` on the TensorFlow SavedModel that ``model.export(dir)``
writes, saved as OpenVINO IR without compressing weights to float16.  The
format takes this path only after Keras's export failed with a conversion
error; if this converter fails too, the error quotes both converters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_tfroundtrip.errors import describe_exception
from pytest_tfroundtrip.formats.base import Subject
from pytest_tfroundtrip.formats.runtime import export_to_file

SAVED_MODEL_DIRECTORY = "savedmodel"
CONVERTED_FILE = "model_from_savedmodel.xml"
KERAS_ERROR_FILE = "keras_export_error.txt"
KERAS_EXPORT = "Keras's model.export(format=\"openvino\")"
SAVED_MODEL_PATH = "openvino.convert_model on model.export()'s SavedModel"


class OpenVINOConversionFailed(RuntimeError):
    """Neither Keras's OpenVINO export nor OpenVINO's converter on the SavedModel converted the model."""


def convert_saved_model(subject: Subject, directory: Path, keras_error: str, patterns: Sequence[str]) -> Path:
    """The model converted by OpenVINO from ``model.export()``'s SavedModel, as IR under ``directory``.

    ``keras_error`` is what Keras's own export raised; ``patterns`` the format's
    measured conversion-error texts.  Raises :class:`OpenVINOConversionFailed`
    with both converters' words when this converter cannot take the model either.
    """
    import openvino

    # The model's input names on the SavedModel's inputs, so the IR's inputs carry them.
    exported = export_to_file(subject, directory / SAVED_MODEL_DIRECTORY, "tf_saved_model", named_inputs=True)
    try:
        converted = openvino.convert_model(str(exported))
    except Exception as error:
        words = describe_exception(error)
        if not any(pattern in words for pattern in patterns):
            raise RuntimeError(f"{KERAS_EXPORT} could not convert the model ({conversion_words(keras_error, patterns)}), "
                               f"and {SAVED_MODEL_PATH} failed otherwise: {words}") from error
        raise OpenVINOConversionFailed(
            f"{KERAS_EXPORT}: {conversion_words(keras_error, patterns)}; "
            f"{SAVED_MODEL_PATH}: {conversion_words(words, patterns)}\n\n"
            f"{KERAS_EXPORT} raised:\n{keras_error}\n\n{SAVED_MODEL_PATH} raised:\n{words}") from None
    path = directory / CONVERTED_FILE
    # save_model compresses weights to float16 by default (measured: 9.5e-6 off on an LSTM, against 7e-9 uncompressed).
    openvino.save_model(converted, str(path), compress_to_fp16=False)
    (directory / KERAS_ERROR_FILE).write_text(conversion_words(keras_error, patterns), encoding="utf-8")
    return path


def conversion_words(error: str, patterns: Sequence[str]) -> str:
    """The converter's own words, short: its error type and the ops its summary names (else the line that says why).

    Example:
        >>> conversion_words("OpConversionFailure: Check 'false' failed at x.cpp:151:\\n"
        ...                  "Model wasn't fully converted.\\nSummary:\\n"
        ...                  "-- No conversion rule found for operations: TensorList\\nTo facilitate ...",
        ...                  ["OpConversionFailure"])
        'OpConversionFailure: No conversion rule found for operations: TensorList'
        >>> conversion_words("RuntimeError: FrontEnd API failed with OpConversionFailure:\\nSummary:\\n-- Conversion is "
        ...                  "failed for: HashTableV2", ["OpConversionFailure"])
        'RuntimeError: FrontEnd API failed with OpConversionFailure: Conversion is failed for: HashTableV2'
    """
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    why = next((line for line in lines if any(pattern in line for pattern in patterns)), lines[0])
    kind = lines[0].split(":")[0]
    summary = lines[lines.index("Summary:") + 1:] if "Summary:" in lines else []
    said = "; ".join(line.lstrip("- ") for line in summary if line.startswith("--"))
    if not said:
        return why[:300]
    return f"{kind}: {said}"[:300] if any(pattern in kind for pattern in patterns) else f"{why} {said}"[:300]


def is_converted_from_saved_model(artifact: Path) -> bool:
    """Whether ``artifact`` is the IR OpenVINO's converter made from the SavedModel (Keras's export failed).

    Example:
        >>> is_converted_from_saved_model(Path("/tmp/run/openvino/model.xml"))
        False
    """
    return artifact.name == CONVERTED_FILE


def saved_model_beside(artifact: Path) -> Path:
    """The SavedModel directory the converted ``artifact`` was made from.

    Example:
        >>> saved_model_beside(Path("/tmp/run/openvino/model_from_savedmodel.xml")).as_posix()
        '/tmp/run/openvino/savedmodel'
    """
    return artifact.parent / SAVED_MODEL_DIRECTORY


def converted_from_saved_model_warning(artifact: Path) -> list[str]:
    """The warning a result converted from the SavedModel carries: Keras's own export fails on it (none otherwise).

    Example:
        >>> converted_from_saved_model_warning(Path("/tmp/run/openvino/model.xml"))
        []
    """
    if not is_converted_from_saved_model(artifact):
        return []
    keras_error = artifact.parent / KERAS_ERROR_FILE
    said = keras_error.read_text(encoding="utf-8") if keras_error.exists() else "a conversion error"
    return [f"{KERAS_EXPORT} cannot convert this model ({said}); the check converted the TensorFlow SavedModel "
            "of model.export(dir) with openvino.convert_model (OpenVINO's documented path) and ran that: "
            "deploy through that path"]
