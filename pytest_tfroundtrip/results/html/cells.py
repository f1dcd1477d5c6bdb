"""The matrix's cells: each format entry's verdict, its short text, and what a click on it shows.

Every text from the document (model names, causes, scripts) is HTML-escaped here.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.results.causes import DIAGNOSES, failure_cause, one_line_cause

PASSED, FAILED, ERROR, SKIPPED, NOT_APPLICABLE, NOT_JUDGED = (
    "passed", "failed", "error", "skipped", "not_applicable", "not_judged")
SHOWN_VERDICTS = (PASSED, FAILED, ERROR, NOT_JUDGED, NOT_APPLICABLE, SKIPPED)
VERDICT_NAMES = {PASSED: "pass", FAILED: "FAIL", ERROR: "error", SKIPPED: "skip", NOT_APPLICABLE: "n/a",
                 NOT_JUDGED: "not judged"}
VERDICT_MEANINGS = {
    PASSED: "reloaded and agreed within tolerance",
    FAILED: "reloaded, but computed something else",
    ERROR: "saving, loading or calling the artifact raised",
    NOT_JUDGED: "the checker could not judge this format (its own rebuild or conversion path failed); not a finding",
    NOT_APPLICABLE: "the format cannot take this model",
    SKIPPED: "not run here",
}
MAX_SCRIPT = 20_000


def display_verdict(entry: dict[str, Any]) -> str:
    """The cell's verdict: the record's, with 'not judged' told apart from an ordinary skip or n/a.

    Example:
        >>> display_verdict({"verdict": "skipped", "reason": "not judged: the model is not deterministic"})
        'not_judged'
        >>> display_verdict({"verdict": "failed"})
        'failed'
    """
    verdict = entry.get("verdict", SKIPPED)
    if verdict in (SKIPPED, NOT_APPLICABLE) and (entry.get("reason") or "").startswith("not judged"):
        return NOT_JUDGED
    return verdict if verdict in VERDICT_NAMES else SKIPPED


def tolerance_used(entry: dict[str, Any]) -> float | None:
    """The largest fraction of its tolerance a passing example used, when the record has it (or the per-example figures).

    Example:
        >>> tolerance_used({"example_errors": {"abs": [0.1, 0.2], "rel": [0, 0], "of_tolerance": [0.05, 0.5]}})
        0.5
    """
    if entry.get("tolerance_used") is not None:  # the record's own figure, where it has one
        return float(entry["tolerance_used"])
    figures = [v for v in (entry.get("example_errors") or {}).get("of_tolerance", []) if v is not None]
    return max(figures) if figures else None


def cell_text(entry: dict[str, Any]) -> str:
    """What a cell shows: the verdict, and for a pass how close it came to failing (percent of its tolerance).

    Example:
        >>> cell_text({"verdict": "passed", "example_errors": {"abs": [1.0], "rel": [0.1], "of_tolerance": [0.031]}})
        'ok 3%'
        >>> cell_text({"verdict": "not_applicable", "reason": "onnx cannot take strings"})
        'n/a'
    """
    verdict = display_verdict(entry)
    if verdict != PASSED:
        return VERDICT_NAMES[verdict]
    used = tolerance_used(entry)
    if used is None or used == 0:
        return "ok"
    return f"ok {used:.0%}" if used >= 0.01 else "ok <1%"


def verdict_line(check: dict[str, Any], entry: dict[str, Any]) -> str:
    """One sentence: the format, its verdict and what that verdict means, with the figures of a pass.

    Example:
        >>> verdict_line({"kind": "roundtrip"}, {"label": "onnx", "verdict": "failed", "stage": "mismatch"})
        'onnx: FAIL (stage mismatch): reloaded, but computed something else'
    """
    verdict = display_verdict(entry)
    line = f"{entry.get('label', '?')}: {VERDICT_NAMES[verdict]}"
    if entry.get("stage"):
        line += f" (stage {entry['stage']})"
    line += f": {VERDICT_MEANINGS[verdict]}"
    if verdict == PASSED and entry.get("max_abs_error") is not None:
        line += f"; max abs error {entry['max_abs_error']:.3g}, max rel error {entry.get('max_rel_error') or 0:.3g}"
        used = tolerance_used(entry)
        if used is not None:
            line += f", {used:.1%} of the tolerance at most"
    if entry.get("examples"):
        line += f"; {entry['examples']} inputs"
    return line


def cause(entry: dict[str, Any]) -> str | None:
    """The failure's most telling line (a diagnosis such as 'not restored' when there is one), or the skip's reason.

    Example:
        >>> cause({"verdict": "failed", "message": "outputs differ",
        ...        "failure_text": "[keras] outputs differ\\n  first layer whose output differs on that input: 'scale'"})
        "outputs differ; first layer whose output differs on that input: 'scale'"
    """
    if entry.get("cause"):  # the record's one line (the terminal lists it too), with a diagnosis it lacks
        lines = [line.strip() for line in (entry.get("failure_text") or "").splitlines()[1:]]
        diagnosis = next((line for line in lines for keyword in DIAGNOSES[:-1] if keyword in line), None)
        return entry["cause"] + (f"; {one_line_cause(diagnosis)}" if diagnosis else "")
    if entry.get("message") or entry.get("failure_text"):
        return failure_cause(entry.get("failure_text"), entry.get("message"))
    return entry.get("reason")


def reproduction_script(path: str | None) -> str | None:
    """The reproduction script's text when its file is still there (a report may be opened elsewhere), else None."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) <= MAX_SCRIPT else text[:MAX_SCRIPT] + "\n# ... (cut; the whole script is in the file)\n"


def detail_html(cell_id: str, name: str, check: dict[str, Any], entry: dict[str, Any]) -> str:
    """The hidden panel a click on cell ``cell_id`` shows: verdict line, cause, input, layer, script, artifact.

    Example:
        >>> html = detail_html("c1", "t.py::test_<x>", {"kind": "roundtrip"},
        ...                    {"label": "keras", "verdict": "failed", "message": "outputs <differ>", "reproduce": "/no/such.py"})
        >>> "test_&lt;x&gt;" in html and "outputs &lt;differ&gt;" in html and "python /no/such.py" in html
        True
    """
    verdict = display_verdict(entry)
    rows = [("verdict", verdict_line(check, entry))]
    reason = cause(entry)
    if reason:
        rows.append(("cause", reason))
    if entry.get("input_summary"):
        rows.append(("failing input", entry["input_summary"]))
    if entry.get("failing_input"):
        rows.append(("input file", entry["failing_input"]))
    if entry.get("first_differing_layer"):
        rows.append(("first differing layer", entry["first_differing_layer"]))
    for figures in entry.get("quantized") or []:
        rows.append((f"quantized output {figures.get('output')}", _quantized_text(figures)))
    if entry.get("max_weight_error") is not None and check.get("kind") == "resume":
        rows.append(("resume", f"max weight error {entry['max_weight_error']:.3g}, "
                               f"max optimizer error {entry.get('max_optimizer_error') or 0:.3g}"))
    for warning in entry.get("warnings") or []:
        rows.append(("warning", warning))
    artifact = entry.get("artifact") or check.get("artifacts_dir")
    rows.append(("artifact", artifact or "not kept (removed after a pass; --tf-roundtrip-keep-artifacts keeps it)"))
    parts = [f'<section class="detail v-{verdict}" id="detail-{cell_id}" data-cell="{cell_id}" hidden>',
             f"<h3>{escape(name)} &middot; {escape(entry.get('label', '?'))}</h3><dl>"]
    parts += [f"<dt>{escape(key)}</dt><dd class=\"{escape(key.split()[0])}\">{escape(str(value))}</dd>" for key, value in rows]
    parts.append("</dl>")
    if entry.get("failure_text"):
        parts.append(f"<details><summary>the failure as the test output shows it</summary><pre>{escape(entry['failure_text'])}</pre></details>")
    elif entry.get("message") and entry["message"] != reason:
        parts.append(f"<details><summary>the whole message</summary><pre>{escape(entry['message'])}</pre></details>")
    if entry.get("reproduce"):
        script = reproduction_script(entry["reproduce"])
        shown = script if script is not None else f"python {entry['reproduce']}"
        label = "reproduction script" if script is not None else "reproduction script (its file is not here: run it where the run was)"
        parts.append(f'<div class="script"><span>{escape(label)}: {escape(entry["reproduce"])}</span> '
                     f'<button type="button" class="copy">copy</button><pre class="code">{escape(shown)}</pre></div>')
    parts.append("</section>")
    return "".join(parts)


def _quantized_text(figures: dict[str, Any]) -> str:
    parts = []
    for key, name in (("argmax_agreement", "argmax agreement"), ("range_error", "range error"), ("correlation", "correlation")):
        if figures.get(key) is not None:
            parts.append(f"{name} {figures[key]:.4g}")
    if figures.get("not_judged"):
        parts.append(f"not judged: {figures['not_judged']}")
    parts += list(figures.get("problems") or [])
    return "; ".join(parts) or "no figures"
