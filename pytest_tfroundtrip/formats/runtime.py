"""What the deployment-runtime formats (ONNX, LiteRT, OpenVINO) share.

Each saves with ``model.export(path, format=...)`` and runs the file in its
own runtime, which knows inputs by the names the file declares and returns
outputs in the model's flat output order.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats.base import Subject, to_numpy
from pytest_tfroundtrip.formats.savedmodel import match_input_names
from pytest_tfroundtrip.structure import pack_like

# Measured on TF 2.21 / Keras 3.15: the TFLite built-in ops, ONNX Runtime and OpenVINO's CPU
# plugin refuse these compute dtypes, or compute them in float32 (OpenVINO and float64).
FLOAT32_ONLY = frozenset({"float16", "bfloat16", "float64"})


def lowest_float_compute(subject: Subject) -> str | None:
    """``bfloat16`` or ``float16`` if some layer computes in it (the coarser first), else None."""
    found = non_float32_compute(subject)
    return next((dtype for dtype in ("bfloat16", "float16") if dtype in found), None)


def non_float32_compute(subject: Subject) -> list[str]:
    """The compute dtypes other than float32 (and integers) that the model's layers use, sorted."""
    layers = subject.model._flatten_layers(include_self=True, recursive=True)
    return sorted({layer.compute_dtype for layer in layers} & FLOAT32_ONLY)


def missing_packages(packages: Mapping[str, str], extra: str) -> str | None:
    """Why a runtime format is unavailable: the packages (module -> pip name) not installed here, or None.

    Example:
        >>> missing_packages({"json": "json"}, extra="onnx") is None
        True
        >>> missing_packages({"no_such_module_x": "no-such-package"}, extra="onnx")
        'no-such-package is not installed (pip install "pytest-tfroundtrip[onnx]")'
    """
    missing = [pip_name for module, pip_name in packages.items() if not _lazy.is_installed(module)]
    if not missing:
        return None
    verb = "is" if len(missing) == 1 else "are"
    return f"{', '.join(missing)} {verb} not installed (pip install \"pytest-tfroundtrip[{extra}]\")"


def reason_runtime_cannot_take(subject: Subject, runtime: str, hint: str) -> str | None:
    """"Not applicable, because ..." known before trying: a Keras 2 model, or non-float32 compute.

    Only where trying cannot tell: a ``tf_keras`` model has no ``export(format=...)``
    to try, and a model computing in float16, bfloat16 or float64 converts and runs
    without an error, computing in other arithmetic (measured: ONNX Runtime gives 0
    where the model gives NaN in float16; OpenVINO computes float64 in float32).
    Everything else (string inputs among it) is tried: the converter's or runtime's
    own error says whether it cannot take the model (:meth:`RoundTripFormat.cannot_take`).
    """
    if _lazy.is_keras2_model(subject.model):
        return KERAS2_HAS_NO_RUNTIME_EXPORT
    unsupported = non_float32_compute(subject)
    if unsupported:
        return f"{runtime} takes float32 models; this one computes in {', '.join(unsupported)} {hint}"
    return None


def _export_keras2(subject: Subject, path: Path, export_format: str, needs_options: bool) -> Path:
    """tf_keras's ``model.export(path)`` writes a SavedModel with a ``serve`` endpoint, and takes no options."""
    from pytest_tfroundtrip.errors import RoundTripUsageError

    if export_format != "tf_saved_model" or needs_options:
        raise RoundTripUsageError(f"{KERAS2_HAS_NO_RUNTIME_EXPORT} (asked for format={export_format!r}"
                                  f"{' with options' if needs_options else ''})")
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the endpoints; Keras 3 has verbose=False for that
        if subject.user_input_signature is None:
            subject.model.export(str(path))
            return path
        archive = _lazy.keras_of(subject.model).export.ExportArchive()
        archive.track(subject.model)
        archive.add_endpoint("serve", subject.model.__call__, [pack_like(subject.signature.template, subject.tensor_specs())])
        archive.write_out(str(path))
    return path


def physical_memory_bytes() -> int | None:
    """This machine's physical memory, or None where the OS does not say.

    Example:
        >>> (physical_memory_bytes() or 1) > 0
        True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


KERAS2_HAS_NO_RUNTIME_EXPORT = ("a tf_keras (Keras 2) model has no model.export(format=...) for this runtime; "
                                "its deployments are checked by the tflite, export and savedmodel formats")


def export_to_file(subject: Subject, path: Path, export_format: str, named_inputs: bool = False, **options: Any) -> Path:
    """``model.export(path, format=export_format, **options)``; a ``tf_keras`` model's ``model.export(path)``.

    The input signature is the user's when one was given, or with
    ``named_inputs`` always the subject's (so the file's inputs carry the
    model's input names, which a representative dataset is keyed by).
    """
    if _lazy.is_keras2_model(subject.model):
        return _export_keras2(subject, path, export_format, named_inputs or bool(options))
    kwargs: dict[str, Any] = {"format": export_format, "verbose": False, **options}
    if subject.user_input_signature is not None or named_inputs:
        kwargs["input_signature"] = [pack_like(subject.signature.template, subject.tensor_specs())]
    subject.model.export(str(path), **kwargs)
    return path


def matched_input_names(subject: Subject, declared: list[str]) -> dict[str, str]:
    """The model's input names -> the names the exported file declares (``x`` or ``x:0``, same flat order)."""
    stripped = {name.split(":")[0]: name for name in declared}
    if len(stripped) == len(declared):
        mapping = match_input_names(subject.signature.names, list(stripped))
        return {model_name: stripped[file_name] for model_name, file_name in mapping.items()}
    return match_input_names(subject.signature.names, declared)


def outputs_in_file_order(subject: Subject, outputs: Sequence[Any]) -> Any:
    """A runtime's outputs (in the file's order, which is the model's flat order) in the model's structure."""
    names = subject.output_names
    if len(outputs) != len(names):
        raise LookupError(f"the exported file returned {len(outputs)} outputs but the model has {len(names)}: {names}")
    return pack_like(subject.output_template, [to_numpy(np.asarray(value)) for value in outputs])
