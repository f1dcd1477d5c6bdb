"""The end-of-run table: one row per checked model, one column per format.

Pure text layout from records (:mod:`~pytest_tfroundtrip.results.records`), so
pytest's summary and the command line print the same table.  A line is a list
of ``(text, colour)`` segments; the caller decides whether colours are shown.

Cells: the max abs error of a pass, ``FAIL`` (wrong numbers), ``error`` (save,
load or call raised), ``skip(n)`` and ``n/a(n)`` whose reasons are footnote n.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Segment = tuple[str, str | None]  # (text, colour name for pytest's markup, or None)
Line = list[Segment]

MIN_NAME_WIDTH = 16
MAX_FOOTNOTE = 160
_TRY_HINT = re.compile(r"\s*\(name '[^']+' in formats= to [^)]*\)")
_HEADER_NAMES = {"savedmodel": "saved", "checkpoint": "ckpt"}
_QUANTIZATION_NAMES = {"dynamic_int8": "dyn8", "float16": "f16", "int8": "i8"}
_KIND_SUFFIX = {"roundtrip": "", "custom_objects": " [custom objects]", "resume": " [resume]", "baseline": " [baseline]"}
_COLOURS = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow", "not_applicable": "yellow"}
LEGEND = ("check: the check's verdict; cells: max abs error of a pass (inputs include large magnitudes; the JSON file has the relative error); FAIL: reloaded but computed something else; "
          "error: saving, loading or calling raised; skip/n/a: not run here / the format cannot take the model (footnotes; "
          "name a format in formats= to run it anyway)")


@dataclass(frozen=True)
class MatrixRow:
    """One check: the name its row shows (a test id) and its record."""

    name: str
    record: dict[str, Any]


def matrix_lines(rows: Sequence[MatrixRow], format_order: Sequence[str], width: int = 100) -> list[Line]:
    """The table, its footnotes, a totals line and the legend, fitted to ``width`` columns.

    The first column is the check's verdict; then one per format.  A test id
    longer than the name column gets a line of its own above its cells; formats
    that do not fit go to a second table.

    Example:
        >>> record = {"kind": "roundtrip", "passed": True, "formats": [
        ...     {"label": "keras", "verdict": "passed", "max_abs_error": 0.0},
        ...     {"label": "onnx", "verdict": "skipped", "reason": "onnxruntime is not installed"}]}
        >>> for line in matrix_lines([MatrixRow("test_mlp", record)], ["keras", "onnx"]):
        ...     print("".join(text for text, _colour in line).rstrip())
        model     check  keras  onnx
        test_mlp  ok     0      skip(1)
        (1) onnx: onnxruntime is not installed
        1 check: 1 passed
        check: the check's verdict; cells: max abs error of a pass (inputs include large magnitudes; the
            JSON file has the relative error); FAIL: reloaded but computed something else; error: saving,
            loading or calling raised; skip/n/a: not run here / the format cannot take the model
            (footnotes; name a format in formats= to run it anyway)
    """
    if not rows:
        return []
    columns = _columns(rows, format_order)
    notes: dict[str, int] = {}
    where_noted: dict[int, list[str]] = {}
    # The first column is the check's own verdict: a check can fail with every format passing (custom-object findings).
    table = [[_verdict_cell(row.record)] + [_cell(_entry(row.record, label), notes, where_noted, label) for label in columns]
             for row in rows]
    headers = ["check"] + [_header(label) for label in columns]
    widths = [max([len(h)] + [len(r[i][0]) for r in table]) for i, h in enumerate(headers)]
    names = [row.name + _KIND_SUFFIX.get(row.record.get("kind", ""), "") for row in rows]
    for gap in (2, 1):  # one space between columns when that keeps the table in one piece
        name_width = _name_width(names, sum(w + gap for w in widths), width)
        chunks = _column_chunks(widths, width - name_width - gap, gap)
        if len(chunks) == 1:
            break
    pad = " " * gap
    lines: list[Line] = []
    for chunk in chunks:
        header: Line = [("model".ljust(name_width) + pad, None)]
        lines.append(header + [(headers[i].ljust(widths[i] + gap), None) for i in chunk])
        for name, cells in zip(names, table):
            if len(name) > name_width:  # the whole test id on a line of its own, so it can be found
                lines.append([(name, None)])
                name = ""
            lines.append([(name.ljust(name_width) + pad, None)]
                         + [(cells[i][0].ljust(widths[i] + gap), cells[i][1]) for i in chunk])
    for reason, number in notes.items():
        text = f"({number}) {', '.join(where_noted[number])}: {reason}"
        lines.extend([(part, None)] for part in textwrap.wrap(text, width - 1, subsequent_indent="    ") or [text])
    lines.append([(_totals(rows), None)])
    lines.extend([(part, None)] for part in textwrap.wrap(LEGEND, width - 1, subsequent_indent="    "))
    return lines


def matrix_rows(checks: list[tuple[str, dict[str, Any]]]) -> list[MatrixRow]:
    """One row per check in test-id order, named by its test id (and its model when a test checked several).

    Example:
        >>> [row.name for row in matrix_rows([("test_a", {"model": "mlp (Sequential)"}), ("test_b", {})])]
        ['test_a', 'test_b']
    """
    per_test: dict[str, int] = defaultdict(int)
    for nodeid, _check in checks:
        per_test[nodeid] += 1
    ordered = sorted(checks, key=lambda pair: pair[0])  # by test id: under xdist they arrive as workers finish
    return [MatrixRow(nodeid if per_test[nodeid] == 1 else f"{nodeid} {check.get('model') or ''}".rstrip(), check)
            for nodeid, check in ordered]


def _columns(rows: Sequence[MatrixRow], format_order: Sequence[str]) -> list[str]:
    labels: list[str] = []
    for row in rows:
        labels.extend(e["label"] for e in row.record.get("formats", ()) if e["label"] not in labels)

    def position(label: str) -> tuple[int, str]:
        base = label.split("[")[0]
        return (list(format_order).index(base) if base in format_order else len(format_order), label)

    return sorted(labels, key=position)


def _entry(record: dict[str, Any], label: str) -> dict[str, Any] | None:
    return next((e for e in record.get("formats", ()) if e["label"] == label), None)


def _cell(entry: dict[str, Any] | None, notes: dict[str, int], where: dict[int, list[str]], label: str) -> Segment:
    if entry is None:
        return "-", None
    verdict = entry["verdict"]
    if verdict == "passed":
        error = entry.get("max_abs_error")
        if entry.get("quantized") or error is None:
            return "pass", "green"
        return ("0" if error == 0 else f"{error:.0e}"), "green"
    if verdict in ("skipped", "not_applicable"):
        reason = _footnote(entry.get("reason") or "no reason given")
        number = notes.setdefault(reason, len(notes) + 1)
        if label not in where.setdefault(number, []):
            where[number].append(label)
        return f"{'skip' if verdict == 'skipped' else 'n/a'}({number})", _COLOURS[verdict]
    return ("FAIL" if verdict == "failed" else "error"), _COLOURS[verdict]


def _footnote(reason: str) -> str:
    """A reason as a footnote: without the per-format "name it to try" hint (the legend says it), at most ~2 lines."""
    text = " ".join(_TRY_HINT.sub("", reason).split())
    return text if len(text) <= MAX_FOOTNOTE else text[:MAX_FOOTNOTE - 3].rstrip() + "..."


def _header(label: str) -> str:
    base, _, quantization = label.partition("[")
    header = _HEADER_NAMES.get(base, base)
    if quantization:
        header += "[" + _QUANTIZATION_NAMES.get(quantization.rstrip("]"), quantization.rstrip("]")) + "]"
    return header


def _name_width(names: list[str], cells_width: int, width: int) -> int:
    """Names beside their cells when all fit; else as wide as leaves room for the cells (longer names get their
    own line), but not narrower than :data:`MIN_NAME_WIDTH`; else just "model" wide (every name on its own line)."""
    longest = max(len("model"), *map(len, names))
    room = width - cells_width - 1
    if room >= longest:
        return longest
    if room >= MIN_NAME_WIDTH:
        return room
    return len("model")


def _column_chunks(widths: list[int], room: int, gap: int) -> list[list[int]]:
    """Column indices per table: all in one when they fit in ``room``, else split into tables that do."""
    chunks: list[list[int]] = [[]]
    used = 0
    for i, column_width in enumerate(widths):
        if chunks[-1] and used + column_width + gap > room:
            chunks.append([])
            used = 0
        chunks[-1].append(i)
        used += column_width + gap
    return chunks


def _verdict_cell(record: dict[str, Any]) -> Segment:
    return ("ok", "green") if record.get("passed") else ("FAIL", "red")


def _totals(rows: Sequence[MatrixRow]) -> str:
    passed = sum(1 for row in rows if row.record.get("passed"))
    failed = len(rows) - passed
    return f"{len(rows)} check{'s' if len(rows) != 1 else ''}: {passed} passed" + (f", {failed} failed" if failed else "")
