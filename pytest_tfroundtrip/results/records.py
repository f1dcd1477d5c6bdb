"""Every check as a plain JSON-ready record: what the matrix, the JSON file and JUnit read.

A record is a ``dict`` of strings, numbers, booleans, lists and ``None``, so it
crosses pytest-xdist's wire and ``json.dump`` unchanged.  Its shape is
``schema.json`` (next to this module), version :data:`SCHEMA_VERSION`.

Verdicts per format:

- ``passed``: reloaded and agreed within tolerance (or the quantized thresholds);
- ``failed``: reloaded, but computed something else (outputs, weights, quantized figures, resumed training);
- ``error``: saving, loading or calling the artifact raised;
- ``skipped``: not run here (runtime not installed, model not deterministic), with the reason;
- ``not_applicable``: the format cannot take this model (an op or dtype its runtime lacks), with the reason.

This module imports nothing heavy: it reads the reports' attributes.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
from typing import Any

SCHEMA_VERSION = 1
VERDICTS = ("passed", "failed", "error", "skipped", "not_applicable")
ROUNDTRIP, CUSTOM_OBJECTS, RESUME, BASELINE = "roundtrip", "custom_objects", "resume", "baseline"

_RAISED_STAGES = ("save", "load", "call")
MAX_EXAMPLE_ERRORS = 200  # per format: enough for a distribution, small enough for the JSON file
_VERSIONED = {
    "pytest-tfroundtrip": ("pytest-tfroundtrip",), "tensorflow": ("tensorflow", "tensorflow-cpu"), "keras": ("keras",),
    "numpy": ("numpy",), "hypothesis": ("hypothesis",), "pytest": ("pytest",), "ai-edge-litert": ("ai-edge-litert",),
    "tf2onnx": ("tf2onnx",), "onnxruntime": ("onnxruntime",), "openvino": ("openvino",), "keras-hub": ("keras-hub",),
    "tf-keras": ("tf-keras",),
}


def record_of(report: Any, seconds: float, model: Any = None) -> dict[str, Any] | None:
    """The record of a check's report (None for an object that is not one of our reports).

    Example:
        >>> from pytest_tfroundtrip.results.report import FormatResult, RoundTripReport
        >>> record = record_of(RoundTripReport((FormatResult("keras", "passed", examples=3),), examples=3), 1.5)
        >>> record["kind"], record["passed"], record["formats"][0]["verdict"]
        ('roundtrip', True, 'passed')
    """
    kind = type(report).__name__
    if kind == "RoundTripReport":
        record = _roundtrip(report)
    elif kind == "CustomObjectsReport":
        record = _custom_objects(report)
    elif kind == "ResumeReport":
        record = _resume(report)
    elif kind == "BaselineReport":
        record = _baseline(report)
    else:
        return None
    record["model"] = model_description(model)
    record["seconds"] = round(seconds, 3)
    record["artifacts_dir"] = _path(getattr(report, "artifacts_dir", None) or getattr(report, "directory", None))
    return record


def model_description(model: Any) -> str | None:
    """``name (Class)`` of a model, None without one.

    Example:
        >>> class Dense: name = "head"
        >>> model_description(Dense())
        'head (Dense)'
    """
    if model is None:
        return None
    name = getattr(model, "name", None)
    cls = type(model).__name__
    return f"{name} ({cls})" if isinstance(name, str) else cls


def _roundtrip(report: Any) -> dict[str, Any]:
    formats = [_format_result(result) for result in report.results]
    return {"kind": ROUNDTRIP, "passed": bool(report.passed), "examples": int(report.examples),
            "inputs": report.input_description or None, "nondeterminism": report.nondeterminism, "formats": formats}


def _format_result(result: Any) -> dict[str, Any]:
    failure = result.failure
    verdict = result.status
    if verdict == "skipped" and result.not_applicable:
        verdict = "not_applicable"
    elif verdict == "failed" and failure is not None and failure.stage in _RAISED_STAGES:
        verdict = "error"
    entry = _format_entry(result.label, verdict)
    entry.update({
        "format": result.format, "quantization": result.quantization, "examples": int(result.examples),
        "max_abs_error": _number(max([result.max_abs_error] + [o.max_abs_error for o in _mismatches(failure)])),
        "max_rel_error": _number(max([result.max_rel_error] + [o.max_rel_error for o in _mismatches(failure)])),
        "tolerance_used": _number(max([result.tolerance_used] + [o.tolerance_used for o in _mismatches(failure)])),
        "timings": {"save": round(result.save_seconds, 4), "load": round(result.load_seconds, 4),
                    "compare": round(result.compare_seconds, 4)},
        "artifact": _path(result.artifact), "reason": result.skip_reason,
        "warnings": list(result.warnings), "reloaded_in": result.reloaded_in,
        "saved_from_twin": result.saved_from_twin,
        "padding_not_judged": int(result.padding_not_judged),
    })
    if failure is not None:
        entry.update({"stage": failure.stage, "message": failure.message[:2000], "cause": cause_line(failure),
                      "failing_input": _path(failure.input_file), "input_summary": failure.input_summary})
        if failure.reproduction is not None:
            entry["reproduce"] = _path(failure.reproduction)
    if result.quantized or verdict not in ("passed", "failed"):  # judged by other figures, or not compared at all
        entry["tolerance_used"] = None
    if result.quantized:
        entry["quantized"] = [_quantized_figures(figures) for figures in result.quantized]

    entry.update(_report_details(result))
    return entry


def cause_line(failure: Any) -> str:
    """One line saying why a format failed: the first differing output with its figures, or the message's first line.

    Example:
        >>> from pytest_tfroundtrip.results.report import FormatFailure
        >>> cause_line(FormatFailure("load", "\\nValueError: Unknown layer: 'Scale'\\n  more"))
        "ValueError: Unknown layer: 'Scale'"
    """
    comparison = getattr(failure, "comparison", None)
    if comparison is not None and comparison.failures:
        output = comparison.failures[0]
        text = f"output {output.output!r}: "
        if output.problem == "values":
            text += f"{output.mismatched} of {output.elements} values differ"
            if math.isfinite(output.max_abs_error):
                text += f" by up to {output.max_abs_error:.3g}"
            if math.isfinite(output.tolerance_used):
                text += f" ({output.tolerance_used:.3g}x its tolerance)"
        else:
            text += output.detail
        others = len(comparison.failures) - 1
        text += f" (and {others} more output{'s' if others != 1 else ''})" if others else ""
    else:
        text = next((line.strip() for line in failure.message.splitlines() if line.strip()), failure.stage)
    if getattr(failure, "first_differing_layer", None):
        text += f"; first layer that differs: {failure.first_differing_layer!r}"
    return text[:400]


def _mismatches(failure: Any) -> list[Any]:
    """The outputs that differed on the failing input (their errors are not in the passing inputs' figures)."""
    comparison = getattr(failure, "comparison", None)
    return [o for o in comparison.failures if o.problem == "values"] if comparison is not None else []


def _quantized_figures(figures: Any) -> dict[str, Any]:
    return {"output": figures.output, "range_error": _number(figures.range_error),
            "correlation": _number(figures.correlation), "argmax_agreement": _number(figures.argmax_agreement),
            "near_ties": figures.near_ties, "not_judged": figures.not_judged, "problems": list(figures.problems)}


def _custom_objects(report: Any) -> dict[str, Any]:
    formats = []
    for result in report.clean:
        failing = [p for p in report.problems if p.startswith(f"[{result.format}]")]
        differ = any("outputs differ" in problem for problem in failing)  # loaded, computed something else
        entry = _format_entry(result.format, ("failed" if differ else "error") if failing else "passed")
        entry.update({"format": result.format, "max_abs_error": _number(result.max_abs_error),
                      "tolerance_used": None if failing else _number(result.tolerance_used),
                      "clean_process": result.verdict, "classes_needed": list(result.classes_needed)})
        if failing:
            entry.update({"stage": "mismatch" if differ else "load", "message": "\n".join(failing)[:2000]})
        scripts = [r.reproduction for r in (result, *report.in_process) if r.format == result.format and r.reproduction]
        if failing and scripts:
            entry["reproduce"] = str(scripts[0])
        formats.append(entry)
    for name, reason in report.not_applicable.items():
        entry = _format_entry(name, "not_applicable")
        entry.update({"format": name, "reason": reason})
        formats.append(entry)
    return {"kind": CUSTOM_OBJECTS, "passed": bool(report.passed), "formats": formats,
            "findings": [finding.describe() for finding in report.findings],
            "custom_classes": list(report.custom_classes)}


def _resume(report: Any) -> dict[str, Any]:
    formats = []
    for result in report.results:
        entry = _format_entry(result.format, result.status)
        entry.update({"format": result.format, "reason": result.skip_reason, "artifact": _path(result.artifact),
                      "max_weight_error": _number(result.max_weight_error),
                      "max_optimizer_error": _number(result.max_optimizer_error)})
        if result.resumed_losses:
            entry["losses"] = {"uninterrupted": [_number(loss) for loss in result.reference_losses],
                               "resumed": [_number(loss) for loss in result.resumed_losses]}
        if result.first_divergence:
            entry.update({"stage": "resume", "message": result.first_divergence[:2000]})
        formats.append(entry)
    return {"kind": RESUME, "passed": bool(report.passed), "formats": formats,
            "steps": {"before": report.steps_before, "after": report.steps_after, "batch_size": report.batch_size}}


def _baseline(report: Any) -> dict[str, Any]:
    formats = []
    for result in report.results:
        if result.status in ("created", "written", "skipped"):
            entry = _format_entry(result.format, "skipped")
            reason = result.detail or f"baseline {result.status} on this run; later runs compare against it"
            entry.update({"format": result.format, "reason": reason})
            formats.append(entry)
            continue
        entry = _format_entry(result.format, "passed" if result.status == "passed" else
                              ("error" if result.status == "artifact failed to load" else "failed"))
        entry["format"] = result.format
        if result.status != "passed":
            entry.update({"stage": "load" if entry["verdict"] == "error" else "mismatch",
                          "message": f"{result.status}: {result.detail}"[:2000]})
        formats.append(entry)
    return {"kind": BASELINE, "passed": report.status in ("passed", "written"), "formats": formats,
            "baseline": report.status, "written_by": report.written_by}


def _format_entry(label: str, verdict: str) -> dict[str, Any]:
    assert verdict in VERDICTS, verdict
    return {"label": label, "verdict": verdict}


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those become None (the message keeps the text)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _path(path: Any) -> str | None:
    return None if path is None else str(path)


def example_errors(errors: Any) -> dict[str, list[float | None]]:
    """Per passing example (the first :data:`MAX_EXAMPLE_ERRORS`): max abs error, max rel error, and the fraction
    of its tolerance the error used (1.0 is the tolerance), each to 4 significant digits.

    Example:
        >>> example_errors([(2e-7, 1e-7, 0.25), (0.0, 0.0, 0.0)])
        {'abs': [2e-07, 0.0], 'rel': [1e-07, 0.0], 'of_tolerance': [0.25, 0.0]}
    """
    kept = list(errors)[:MAX_EXAMPLE_ERRORS]
    return {name: [_number(float(f"{example[index]:.4g}")) for example in kept]
            for index, name in enumerate(("abs", "rel", "of_tolerance"))}


def _report_details(result: Any) -> dict[str, Any]:
    """What the HTML report shows beyond the matrix: per-example errors; for a failure, the first differing layer and
    the format's part of the failure text (without the paths its own fields hold)."""
    details: dict[str, Any] = {}
    if result.example_errors:
        details["example_errors"] = example_errors(result.example_errors)
    failure = result.failure
    if failure is not None:
        from pytest_tfroundtrip.results.failure_text import format_failure_lines

        if failure.first_differing_layer:
            details["first_differing_layer"] = failure.first_differing_layer
        paths = ("    input saved as ", "    artifact: ")  # in failing_input and artifact already
        details["failure_text"] = "\n".join(line for line in format_failure_lines(result) if not line.startswith(paths))[:4000]
    return details


def versions() -> dict[str, str | None]:
    """Python and every package a check may use, with the version installed here (None: not installed).

    Example:
        >>> versions()["python"] == platform.python_version()
        True
    """
    return {"python": platform.python_version(),
            **{name: installed_version(distributions) for name, distributions in _VERSIONED.items()}}


def installed_version(distributions: tuple[str, ...]) -> str | None:
    """The version of the first of ``distributions`` installed here (TensorFlow comes as two), None if none is.

    Example:
        >>> installed_version(("no-such-distribution-here",)) is None
        True
    """
    for distribution in distributions:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


class RecordCollector:
    """Records of the checks that ran since the last :meth:`take` (the plugin takes them per test phase)."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        self._records.append(record)

    def take(self) -> list[dict[str, Any]]:
        records, self._records = self._records, []
        return records


COLLECTED = RecordCollector()
