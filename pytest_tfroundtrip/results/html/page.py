"""The whole page: header (versions, formats, time per format), filters, the matrix, its cells' details, pictures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.results.html import figures
from pytest_tfroundtrip.results.html.assets import SCRIPT, STYLE, verdict_style
from pytest_tfroundtrip.results.html.cells import (
    SHOWN_VERDICTS,
    VERDICT_MEANINGS,
    VERDICT_NAMES,
    cell_text,
    detail_html,
    display_verdict,
)

KIND_SUFFIX = {"roundtrip": "", "custom_objects": "custom objects", "resume": "resume", "baseline": "baseline"}


def html_report(document: dict[str, Any]) -> str:
    """The report of a run's JSON document (:mod:`~pytest_tfroundtrip.results.json_report`) as one HTML page.

    Styles, script and pictures are inline: the file opens offline and fetches nothing.

    Example:
        >>> page = html_report({"checks": [], "summary": {"checks": 0, "passed": 0, "failed": 0}})
        >>> page.startswith("<!DOCTYPE html>") and "No check ran" in page and "http" not in page.split("<svg")[0].replace("http-equiv", "")
        True
    """
    checks = list(document.get("checks") or [])
    rows = [(row_name(check, document), check) for check in checks]
    labels = column_labels(checks, (document.get("environment") or {}).get("format_order") or ())
    body = [_header(document, checks)]
    if checks:
        body += [_legend(), _filters(labels, checks), _matrix(rows, labels), _details(rows, labels)]
        body.append(figures.pictures(checks))
    else:
        body.append('<p class="note">No check ran: nothing to show.</p>')
    title = f"tf-roundtrip report: {_summary_text(document, checks)}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}\n{verdict_style()}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")


def write_html_report(path: Path, document: dict[str, Any]) -> Path:
    """Write :func:`html_report` of ``document`` to ``path`` (its directory is created).

    Example:
        >>> import tempfile
        >>> from pytest_tfroundtrip.results.json_report import json_document
        >>> path = write_html_report(Path(tempfile.mkdtemp()) / "out" / "report.html", json_document([]))
        >>> path.read_text().count("<html")
        1
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(document), encoding="utf-8")
    return path


def row_name(check: dict[str, Any], document: dict[str, Any]) -> str:
    """A row's name: the test id, else the check's or the document's target (``tf-roundtrip check``), else the model.

    Example:
        >>> row_name({"test": None, "model": "mlp (Sequential)"}, {"target": "m.keras"})
        'm.keras'
    """
    return check.get("test") or check.get("target") or document.get("target") or check.get("model") or "(unnamed check)"


def column_labels(checks: list[dict[str, Any]], format_order: Sequence[str] = ()) -> list[str]:
    """The format labels of every check, in ``format_order`` (the run's, from its document; a quantized label after
    its format); without one, in the order the checks met them (each check runs its formats in that order).

    Example:
        >>> checks = [{"formats": [{"label": "onnx", "format": "onnx"}, {"label": "litert[int8]", "format": "litert"},
        ...                        {"label": "keras", "format": "keras"}]}]
        >>> column_labels(checks, ["keras", "litert", "onnx"])
        ['keras', 'litert[int8]', 'onnx']
        >>> column_labels(checks)
        ['onnx', 'litert[int8]', 'keras']
    """
    order = {name: index for index, name in enumerate(format_order)}
    seen: dict[str, tuple[int, int, str]] = {}
    for check in checks:
        for position, entry in enumerate(check.get("formats") or []):
            label = entry.get("label", "?")
            rank = order.get(entry.get("format", label), len(order))
            known = seen.get(label)
            seen[label] = (rank, position if known is None else min(position, known[1]), label)
    return [label for label, _key in sorted(seen.items(), key=lambda item: item[1])]


def _summary_text(document: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    passed = sum(1 for check in checks if check.get("passed"))
    return f"{len(checks)} check{'s' if len(checks) != 1 else ''}: {passed} passed, {len(checks) - passed} failed"


def _header(document: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    failed = sum(1 for check in checks if not check.get("passed"))
    css = "bad" if failed else "good"
    parts = ["<header><h1>pytest-tfroundtrip report</h1>",
             f'<p class="summary"><span class="{css}">{escape(_summary_text(document, checks))}</span>'
             + (f" &middot; target {escape(str(document['target']))}" if document.get("target") else "")
             + (f" &middot; written {escape(str(document['created']))}" if document.get("created") else "") + "</p>"]
    parts += [f'<p class="warning">{escape(str(warning))}</p>' for warning in document.get("warnings") or []]
    parts.append(_versions(document.get("versions") or {}))
    parts.append('<div class="columns">')
    parts.append(_environment(document.get("environment")))
    parts.append(_time_per_format(checks))
    parts.append("</div>")
    if document.get("merged_from"):
        files = ", ".join(f"{part.get('file')} ({len(part.get('tests') or [])} tests)" for part in document["merged_from"])
        parts.append(f'<p class="note">Merged from {escape(files)}.</p>')
    parts.append("</header>")
    return "\n".join(parts)


def _versions(versions: dict[str, Any]) -> str:
    installed = " &middot; ".join(f"<b>{escape(name)}</b> {escape(str(version))}" for name, version in versions.items() if version)
    missing = [name for name, version in versions.items() if not version]
    text = installed + (f" &middot; not installed: {escape(', '.join(missing))}" if missing else "")
    return f'<p class="versions" id="versions">Versions: {text or "not recorded"}</p>'


def _environment(environment: dict[str, Any] | None) -> str:
    if not environment:
        return '<section><h2>Formats</h2><p class="note">This document does not say which formats were available.</p></section>'
    rows = (f"<tr><th>Keras backend</th><td>{escape(str(environment.get('keras_backend')))}</td></tr>"
            f"<tr><th>available</th><td>{escape(', '.join(environment.get('formats_available') or []) or 'none')}</td></tr>")
    rows += "".join(f"<tr><th>{escape(name)}</th><td>{escape(str(why))}</td></tr>"
                    for name, why in (environment.get("formats_unavailable") or {}).items())
    return f'<section><h2>Formats</h2><table class="facts">{rows}</table></section>'


def _time_per_format(checks: list[dict[str, Any]]) -> str:
    totals: dict[str, list[float]] = {}
    for check in checks:
        for entry in check.get("formats") or []:
            timings = entry.get("timings")
            if timings:
                sums = totals.setdefault(entry.get("label", "?"), [0, 0.0, 0.0, 0.0])
                sums[0] += 1
                for index, stage in enumerate(("save", "load", "compare"), start=1):
                    sums[index] += float(timings.get(stage) or 0.0)
    total_seconds = sum(float(check.get("seconds") or 0.0) for check in checks)
    if not totals:
        return (f'<section><h2>Time</h2><p class="note">{total_seconds:.1f} s in all checks; this document has no '
                "time per format.</p></section>")
    rows = "".join(f'<tr><th>{escape(label)}</th><td class="num">{int(n)}</td><td class="num">{save:.2f}</td>'
                   f'<td class="num">{load:.2f}</td><td class="num">{compare:.2f}</td>'
                   f'<td class="num">{save + load + compare:.2f}</td></tr>'
                   for label, (n, save, load, compare) in sorted(totals.items(), key=lambda item: -sum(item[1][1:])))
    return ('<section><h2>Time per format (s)</h2><table class="facts"><tr><th>format</th><th>checks</th><th>save</th>'
            f'<th>load</th><th>compare</th><th>total</th></tr>{rows}</table>'
            f'<p class="note">{total_seconds:.1f} s in all checks, drawing inputs and the original\'s outputs included.</p></section>')


def _legend() -> str:
    spans = "".join(f'<span class="v-{verdict}" title="{escape(VERDICT_MEANINGS[verdict])}">{escape(VERDICT_NAMES[verdict])}</span>'
                    f"{escape(VERDICT_MEANINGS[verdict])}; " for verdict in SHOWN_VERDICTS)
    return (f'<h2>Model by format</h2><p class="legend">{spans}</p><p class="note">A pass shows how much of its '
            "tolerance the worst input used (ok 40%: the error was 0.4 of what was allowed). Click a cell for its "
            "cause, the failing input, the first differing layer, the reproduction script and the artifact.</p>")


def _filters(labels: list[str], checks: list[dict[str, Any]]) -> str:
    kinds = sorted({check.get("kind", "") for check in checks})
    verdicts_present = Counter(display_verdict(entry) for check in checks for entry in check.get("formats") or [])
    kind_options = "".join(f'<option value="{escape(kind)}">{escape(kind.replace("_", " "))}</option>' for kind in kinds)
    formats = "".join(f'<label><input type="checkbox" class="filter-format" value="{escape(label)}" checked> {escape(label)}</label>'
                      for label in labels)
    verdicts = "".join(f'<label><input type="checkbox" class="filter-verdict" value="{verdict}" checked> '
                       f'<span class="v-{verdict}">&nbsp;{escape(VERDICT_NAMES[verdict])}&nbsp;</span> ({verdicts_present[verdict]})</label>'
                       for verdict in SHOWN_VERDICTS)
    return ('<form class="filters" onsubmit="return false">'
            '<label>check <input type="search" id="filter-check" placeholder="part of a test id or target"></label>'
            f'<label>kind <select id="filter-kind"><option value="">all</option>{kind_options}</select></label>'
            f'<fieldset id="filter-formats"><legend>formats</legend>{formats}</fieldset>'
            f'<fieldset id="filter-verdicts"><legend>verdicts</legend>{verdicts}</fieldset>'
            '<span id="shown-count"></span></form>')


def _matrix(rows: list[tuple[str, dict[str, Any]]], labels: list[str]) -> str:
    head = "".join(f'<th data-format="{escape(label)}">{escape(label)}</th>' for label in labels)
    lines = [f'<div class="matrix-wrap"><table class="matrix" id="matrix"><thead><tr><th class="name">check</th>'
             f"<th>verdict</th>{head}</tr></thead><tbody>"]
    for row_index, (name, check) in enumerate(rows):
        entries = {entry.get("label", "?"): entry for entry in check.get("formats") or []}
        kind = check.get("kind", "")
        suffix = f' <span class="kind">[{escape(KIND_SUFFIX.get(kind, kind))}]</span>' if KIND_SUFFIX.get(kind, kind) else ""
        overall = "passed" if check.get("passed") else "failed"
        cells = [f'<td class="cell v-{overall}" data-cell="{row_index}-check" tabindex="0">'
                 f'{"ok" if check.get("passed") else "FAILED"}</td>']
        for column, label in enumerate(labels):
            entry = entries.get(label)
            if entry is None:
                cells.append(f'<td class="none" data-format="{escape(label)}">&middot;</td>')
                continue
            verdict = display_verdict(entry)
            cells.append(f'<td class="cell v-{verdict}" data-format="{escape(label)}" data-verdict="{verdict}" '
                         f'data-cell="{row_index}-{column}" tabindex="0" title="{escape(label)}: {escape(VERDICT_NAMES[verdict])}">'
                         f"{escape(cell_text(entry))}</td>")
        lines.append(f'<tr data-name="{escape(name)}" data-kind="{escape(kind)}"><td class="name">{escape(name)}{suffix}</td>'
                     + "".join(cells) + "</tr>")
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def _details(rows: list[tuple[str, dict[str, Any]]], labels: list[str]) -> str:
    parts = ['<div id="details"><p id="details-placeholder" class="note">Click a cell of the matrix to see its details here.</p>']
    for row_index, (name, check) in enumerate(rows):
        parts.append(_check_detail(f"{row_index}-check", name, check))
        entries = {entry.get("label", "?"): entry for entry in check.get("formats") or []}
        for column, label in enumerate(labels):
            if label in entries:
                parts.append(detail_html(f"{row_index}-{column}", name, check, entries[label]))
    parts.append("</div>")
    return "\n".join(parts)


def _check_detail(cell_id: str, name: str, check: dict[str, Any]) -> str:
    verdict = "passed" if check.get("passed") else "failed"
    facts = [("check", f"{check.get('kind', '?')}: {'passed' if check.get('passed') else 'failed'}"),
             ("model", check.get("model")), ("inputs", check.get("inputs")), ("examples", check.get("examples")),
             ("not deterministic", check.get("nondeterminism")), ("seconds", check.get("seconds")),
             ("artifacts", check.get("artifacts_dir"))]
    if check.get("steps"):
        steps = check["steps"]
        facts.append(("steps", f"{steps.get('before')} before the save, {steps.get('after')} after, batch {steps.get('batch_size')}"))
    facts += [("finding", finding) for finding in check.get("findings") or []]
    rows = "".join(f"<dt>{escape(key)}</dt><dd>{escape(str(value))}</dd>" for key, value in facts if value not in (None, ""))
    return (f'<section class="detail v-{verdict}" id="detail-{cell_id}" data-cell="{cell_id}" hidden>'
            f"<h3>{escape(name)}</h3><dl>{rows}</dl></section>")
