"""The report's pictures, from the checks' records: errors against the tolerance, resumed losses, quantized
figures, and findings by kind.  Each is drawn only when the records hold its numbers."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from pytest_tfroundtrip.results.html.charts import PALETTE, Series, bar_chart, line_chart, log_strip_chart


def pictures(checks: list[dict[str, Any]]) -> str:
    """Every picture the checks have numbers for, each under its heading ('' when none has any).

    Example:
        >>> checks = [{"kind": "roundtrip", "formats": [{"label": "keras", "verdict": "failed", "stage": "mismatch"}]}]
        >>> "Findings by kind" in pictures(checks), "<svg" in pictures(checks)
        (True, True)
    """
    parts = [error_pictures(checks), resume_pictures(checks), quantized_pictures(checks), findings_picture(checks)]
    shown = [part for part in parts if part]
    return '<section id="pictures"><h2>Pictures</h2>' + "\n".join(shown) + "</section>" if shown else ""


def error_pictures(checks: list[dict[str, Any]]) -> str:
    """Per format, every passing input's error: as a fraction of its tolerance (the red line), absolute, relative.

    Example:
        >>> checks = [{"kind": "roundtrip", "formats": [{"label": "h5", "verdict": "passed",
        ...            "example_errors": {"abs": [0.0, 1e-6], "rel": [0.0, 1e-7], "of_tolerance": [0.0, 0.01]}}]}]
        >>> error_pictures(checks).count("<svg")
        3
    """
    per_format: dict[str, dict[str, list[float | None]]] = {}
    failed: list[str] = []
    for check in checks:
        for entry in check.get("formats") or []:
            figures = entry.get("example_errors")
            if figures:
                mine = per_format.setdefault(entry.get("label", "?"), {"abs": [], "rel": [], "of_tolerance": []})
                for key in mine:
                    mine[key].extend(figures.get(key) or [])
            if entry.get("verdict") == "failed" and entry.get("stage") == "mismatch" and entry.get("max_abs_error") is not None:
                failed.append(f"{entry.get('label')} ({check.get('test') or check.get('model') or 'check'}): "
                              f"max abs error {entry['max_abs_error']:.3g}, max rel error {entry.get('max_rel_error') or 0:.3g}")
    if not per_format:
        return ""
    labels = list(per_format)
    parts = ['<h3>Errors of the passing inputs, per format</h3>',
             '<p class="note">Each dot is one input (all checks together). First, its worst error as a fraction of what '
             "the tolerance allowed there: the red line is the tolerance, a dot right of it would be a failure. Then the "
             "absolute and the relative errors. An exact format's dots sit at 0 on the left.</p>",
             "<h4>error as a fraction of the tolerance</h4>",
             log_strip_chart([Series(label, tuple(per_format[label]["of_tolerance"])) for label in labels],
                             "error as a fraction of the tolerance", threshold=1.0, threshold_label="tolerance"),
             "<h4>absolute error</h4>",
             log_strip_chart([Series(label, tuple(per_format[label]["abs"])) for label in labels], "absolute error",
                             threshold=None),
             "<h4>relative error</h4>",
             log_strip_chart([Series(label, tuple(per_format[label]["rel"])) for label in labels], "relative error",
                             threshold=None)]
    if failed:
        parts.append('<p class="note">Inputs that failed are not dots (the search shrank them); their errors: '
                     + escape("; ".join(failed)) + ".</p>")
    return "\n".join(parts)


def resume_pictures(checks: list[dict[str, Any]]) -> str:
    """Per resume check, the loss per step of the uninterrupted run and of each format's resumed run, on one plot.

    Example:
        >>> check = {"kind": "resume", "test": "t::test_resume", "steps": {"before": 2, "after": 2},
        ...          "formats": [{"label": "keras", "losses": {"uninterrupted": [1.0, 0.9, 0.8, 0.7], "resumed": [1.0, 0.9, 0.8, 0.7]}}]}
        >>> resume_pictures([check]).count("<polyline")
        2
    """
    parts = []
    for check in checks:
        entries = [entry for entry in check.get("formats") or [] if entry.get("losses")]
        if check.get("kind") != "resume" or not entries:
            continue
        reference = tuple(entries[0]["losses"]["uninterrupted"])
        lines = [Series("uninterrupted", reference, "#212121", dashed=True)]
        lines += [Series(f"resumed from {entry.get('label')}" + ("" if entry.get("verdict") == "passed" else f" ({entry.get('verdict')})"),
                         tuple(entry["losses"]["resumed"]), PALETTE[index % len(PALETTE)])
                  for index, entry in enumerate(entries)]
        before = (check.get("steps") or {}).get("before")
        name = check.get("test") or check.get("model") or "resume"
        parts.append(f"<h3>Resumed training: {escape(name)}</h3>")
        parts.append(line_chart(lines, f"loss per step: {name}", marker=before, marker_label="saved and reloaded here"))
    return "\n".join(parts)


def quantized_pictures(checks: list[dict[str, Any]]) -> str:
    """Per quantized build and output: argmax agreement (of 1) and range error.

    Example:
        >>> check = {"test": "t::q", "formats": [{"label": "litert[float16]", "quantized": [
        ...     {"output": "y", "argmax_agreement": 0.98, "range_error": 0.01, "correlation": 0.999}]}]}
        >>> quantized_pictures([check]).count("<svg")
        2
    """
    agreement, range_error = [], []
    for check in checks:
        for entry in check.get("formats") or []:
            for figures in entry.get("quantized") or []:
                label = f"{entry.get('label')} {figures.get('output')}"
                if len(checks) > 1:
                    label = f"{(check.get('test') or '').split('::')[-1]} {label}".strip()
                if figures.get("argmax_agreement") is not None:
                    agreement.append((label, float(figures["argmax_agreement"])))
                if figures.get("range_error") is not None:
                    range_error.append((label, float(figures["range_error"])))
    if not agreement and not range_error:
        return ""
    parts = ["<h3>Quantized builds</h3>",
             '<p class="note">Argmax agreement: the fraction of inputs whose largest output stays the same (1 is all). '
             "Range error: the largest error as a fraction of the output's range.</p>"]
    if agreement:
        parts.append("<h4>argmax agreement</h4>" + bar_chart(agreement, "argmax agreement", maximum=1.0))
    if range_error:
        parts.append("<h4>range error</h4>" + bar_chart(range_error, "range error"))
    return "\n".join(parts)


def findings_picture(checks: list[dict[str, Any]]) -> str:
    """A bar per kind of finding (check and stage), counting failing formats, e.g. for a zoo.

    Example:
        >>> findings_picture([{"kind": "roundtrip", "formats": [{"verdict": "passed"}]}])
        ''
    """
    kinds: Counter[str] = Counter()
    for check in checks:
        for entry in check.get("formats") or []:
            if entry.get("verdict") in ("failed", "error"):
                kinds[f"{check.get('kind', '?').replace('_', ' ')} {entry.get('stage') or entry.get('verdict')}"] += 1
    if not kinds:
        return ""
    bars = [(kind, float(count)) for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0]))]
    return "<h3>Findings by kind</h3>" + bar_chart(bars, "failing formats by kind of finding")
