"""The end-of-run table: one row per checked model, one column per format, fitted to the terminal.

Pure text layout from records (:mod:`~pytest_tfroundtrip.results.records`), so
pytest's summary and the command line print the same table.  A line is a list
of ``(text, colour)`` segments; the caller decides whether colours are shown.
Cells (:mod:`~pytest_tfroundtrip.results.matrix_cells`): a pass's largest error as a
share of its tolerance, ``FAIL`` (wrong numbers), ``error`` (save, load or call raised),
``skip(n)`` and ``n/a(n)`` whose reasons are footnote n.

The first layout that fits ``width`` is used: formats as columns (two spaces between
columns, then one); then with the backend and quantization of a format's label on a
header line above (``@jax`` over ``keras weights``); then turned, formats as rows and
checks as numbered columns; last, the formats split over several tables.  Under the
table, each failure's cause on one line.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_tfroundtrip.results.matrix_cells import (
    Footnotes,
    Segment,
    failure_lines,
    footnote,
    format_cell,
    header,
    split_label,
    verdict_cell,
)

Line = list[Segment]


def _plain(text: str) -> Line:
    """A line of uncoloured text."""
    return [(text, None)]

MIN_NAME_WIDTH = 16
MAX_FAILURE_LINES = 12
CAUSE_INDENT = " " * 6
_KIND_SUFFIX = {"roundtrip": "", "custom_objects": " [custom objects]", "resume": " [resume]", "baseline": " [baseline]"}
LEGEND = ("check: the check's verdict; a pass shows its largest error as a share of its tolerance (0: bit for bit, "
          "100%: at the limit; pass: judged by other figures, quantized formats or resumed training); FAIL: reloaded but "
          "computed something else; error: saving, loading or calling raised (causes under failures); skip/n/a: not run "
          "here / the format cannot take the model (footnotes; name a format in formats= to run it anyway)")
GROUPED_LEGEND = "a column under @backend: that format reloaded by Keras on that backend; under [mode]: quantized"


@dataclass(frozen=True)
class MatrixRow:
    """One check: the name its row shows (a test id) and its record."""

    name: str
    record: dict[str, Any]


@dataclass(frozen=True)
class _Table:
    """The cells before layout: per check its name and cells (verdict first), per column its format label."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    cells: tuple[tuple[Segment, ...], ...]


def matrix_lines(rows: Sequence[MatrixRow], format_order: Sequence[str], width: int = 100) -> list[Line]:
    """The table, the failures' causes, its footnotes, a totals line and the legend, fitted to ``width`` columns.

    The first column is the check's verdict; then one per format.  A test id
    longer than the name column gets a line of its own above its cells.  A format
    every check skipped for one reason (its runtime is not installed) gets no column,
    a line under the table.

    Example:
        >>> record = {"kind": "roundtrip", "passed": True, "formats": [
        ...     {"label": "keras", "verdict": "passed", "max_abs_error": 0.0, "tolerance_used": 0.0},
        ...     {"label": "export", "verdict": "passed", "max_abs_error": 4e3, "tolerance_used": 0.021},
        ...     {"label": "onnx", "verdict": "not_applicable", "reason": "onnxruntime has no kernel for Erfinv"},
        ...     {"label": "openvino", "verdict": "skipped", "reason": "openvino is not installed"}]}
        >>> for line in matrix_lines([MatrixRow("test_mlp", record)], ["keras", "export", "onnx", "openvino"]):
        ...     print("".join(text for text, _colour in line).rstrip())
        model     check  keras  export  onnx
        test_mlp  ok     0      2%      n/a(1)
        (1) onnx: onnxruntime has no kernel for Erfinv
        not run here (no column): openvino: openvino is not installed
        1 check: 1 passed
        check: the check's verdict; a pass shows its largest error as a share of its tolerance (0: bit for
            bit, 100%: at the limit; pass: judged by other figures, quantized formats or resumed training);
            FAIL: reloaded but computed something else; error: saving, loading or calling raised (causes
            under failures); skip/n/a: not run here / the format cannot take the model (footnotes; name a
            format in formats= to run it anyway)
    """
    if not rows:
        return []
    labels = _columns(rows, format_order)
    not_run = _skipped_everywhere(rows, labels)
    labels = [label for label in labels if label not in not_run] or labels  # a column of one skip(n) says nothing per check
    notes = Footnotes()
    # The first column is the check's own verdict: a check can fail with every format passing (custom-object findings).
    table = _Table(tuple(row.name + _KIND_SUFFIX.get(row.record.get("kind", ""), "") for row in rows), tuple(labels),
                   tuple((verdict_cell(row.record), *(format_cell(_entry(row.record, label), notes) for label in labels))
                         for row in rows))
    grouped = any(split_label(label)[1] for label in labels)
    # One table if it fits; then with backends on a header line; then turned; last, split over several tables.
    lines = _as_columns(table, width, grouped=False) or (_as_columns(table, width, grouped=True) if grouped else None)
    lines = lines or _as_rows(table, width) or _as_columns(table, width, grouped=grouped, split=True) or []
    lines += _failures(rows, table.names, width)
    for text in notes.texts():
        lines.extend(_wrapped(text, width))
    for reason, skipped in _by_reason(not_run, labels).items():
        lines.extend(_wrapped(f"not run here (no column): {', '.join(skipped)}: {reason}", width))
    lines.append([(_totals(rows), None)])
    lines.extend(_wrapped(LEGEND + (f"; {GROUPED_LEGEND}" if grouped and _has_group_line(lines) else ""), width))
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


def _as_columns(table: _Table, width: int, grouped: bool, split: bool = False) -> list[Line] | None:
    """Formats as columns: None when they do not fit in one table, unless ``split`` (then as many tables as needed).

    ``grouped``: a label's backend or quantization goes on a header line of its own, over the columns that share it.
    """
    parts = [split_label(label) for label in table.labels]
    headers = ["check"] + ([base for base, _qualifier in parts] if grouped else [header(label) for label in table.labels])
    groups = [""] + ([qualifier for _base, qualifier in parts] if grouped else [""] * len(parts))
    for gap in (2, 1):  # one space between columns when that keeps the table in one piece
        widths = _widths(headers, table.cells, groups, gap)
        name_width = _name_width(table.names, sum(w + gap for w in widths), width)
        chunks = _column_chunks(widths, width - name_width - gap, gap)
        if len(chunks) == 1:
            break
    if len(chunks) > 1 and not split:
        return None
    pad = " " * gap
    lines: list[Line] = []
    for chunk in chunks:
        group_line = _group_line([groups[i] for i in chunk], [widths[i] for i in chunk], gap)
        if group_line.strip():
            lines.append(_plain(" " * (name_width + gap) + group_line))
        lines.append(_plain("model".ljust(name_width) + pad) + [(headers[i].ljust(widths[i] + gap), None) for i in chunk])
        for name, cells in zip(table.names, table.cells):
            if len(name) > name_width:  # the whole test id on a line of its own, so it can be found
                lines.append([(name, None)])
                name = ""
            lines.append([(name.ljust(name_width) + pad, None)]
                         + [(cells[i][0].ljust(widths[i] + gap), cells[i][1]) for i in chunk])
    return lines


def _as_rows(table: _Table, width: int, gap: int = 2) -> list[Line] | None:
    """The table turned: a row per format, a column per check (named in a key above when not by itself); None if too wide."""
    row_names = ["check"] + [header(label) for label in table.labels]
    single = len(table.names) == 1
    titles = [table.names[0]] if single else [f"#{number}" for number in range(1, len(table.names) + 1)]
    widths = [max(len(title), *(len(cells[i][0]) for i in range(len(row_names))))
              for title, cells in zip(titles, table.cells)]
    name_width = max(len("format"), *map(len, row_names))
    if name_width + sum(w + gap for w in widths) - gap > width:
        if not single:
            return None
        titles, widths = ["#1"], [max(len("#1"), *(len(cell[0]) for cell in table.cells[0]))]
        if name_width + widths[0] > width:
            return None
    pad = " " * gap
    lines: list[Line] = [_plain(f"{title} {name}") for title, name in zip(titles, table.names) if title != name]
    lines.append(_plain("format".ljust(name_width) + pad) + [(t.ljust(w + gap), None) for t, w in zip(titles, widths)])
    for index, row_name in enumerate(row_names):
        lines.append(_plain(row_name.ljust(name_width) + pad)
                     + [(cells[index][0].ljust(w + gap), cells[index][1]) for cells, w in zip(table.cells, widths)])
    return lines


def _widths(headers: list[str], cells: Sequence[Sequence[Segment]], groups: list[str], gap: int) -> list[int]:
    """Each column as wide as its header and cells; the last of a group widened when its label is wider than the group."""
    widths = [max([len(h)] + [len(row[i][0]) for row in cells]) for i, h in enumerate(headers)]
    for start, end in _group_spans(groups):
        span = sum(widths[start:end]) + gap * (end - start - 1)
        widths[end - 1] += max(0, len(groups[start]) - span)
    return widths


def _group_spans(groups: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of consecutive columns sharing a non-empty group label."""
    spans: list[tuple[int, int]] = []
    for index, group in enumerate(groups):
        if not group:
            continue
        if spans and spans[-1][1] == index and groups[spans[-1][0]] == group:
            spans[-1] = (spans[-1][0], index + 1)
        else:
            spans.append((index, index + 1))
    return spans


def _group_line(groups: list[str], widths: list[int], gap: int) -> str:
    """The header line over the columns: each group's label at the start of its columns."""
    text = ""
    offsets = [sum(w + gap for w in widths[:i]) for i in range(len(widths))]
    for start, _end in _group_spans(groups):
        text = text.ljust(offsets[start]) + groups[start]
    return text


def _has_group_line(lines: list[Line]) -> bool:
    return any(segment[0].lstrip().startswith(("@", "[")) for line in lines for segment in line[:1])


def _failures(rows: Sequence[MatrixRow], names: Sequence[str], width: int) -> list[Line]:
    """``failures:`` then per failed format ``name [format]: cause`` (at most :data:`MAX_FAILURE_LINES`).

    On one line when it fits; else the name on its own line (never cut) and the cause under it, at most two lines.
    """
    causes = [pair for row, name in zip(rows, names) for pair in failure_lines(name, row.record)]
    if not causes:
        return []
    lines: list[Line] = [[("failures:", "red")]]
    for where, cause in causes[:MAX_FAILURE_LINES]:
        if len(where) + len(cause) + 4 <= width:
            lines.append([(f"  {where}: {cause}", None)])
            continue
        lines.append([(f"  {where}:", None)])
        room = max(20, width - 1 - len(CAUSE_INDENT))
        short = textwrap.shorten(cause, 2 * room - 8, placeholder=" ...")  # about two lines
        lines.extend([(CAUSE_INDENT + part, None)] for part in textwrap.wrap(short, room, break_on_hyphens=False))
    if len(causes) > MAX_FAILURE_LINES:
        lines.append([(f"  and {len(causes) - MAX_FAILURE_LINES} more (each test's output has them all)", None)])
    return lines


def _wrapped(text: str, width: int, first: str = "", then: str = "    ") -> list[Line]:
    return [[(part, None)] for part in textwrap.wrap(text, width - 1, initial_indent=first, subsequent_indent=then,
                                                    break_on_hyphens=False) or [text]]


def _columns(rows: Sequence[MatrixRow], format_order: Sequence[str]) -> list[str]:
    labels: list[str] = []
    for row in rows:
        labels.extend(e["label"] for e in row.record.get("formats", ()) if e["label"] not in labels)

    def position(label: str) -> tuple[int, str]:
        base = label.split("[")[0]
        return (list(format_order).index(base) if base in format_order else len(format_order), label)

    return sorted(labels, key=position)


def _skipped_everywhere(rows: Sequence[MatrixRow], labels: Sequence[str]) -> dict[str, str]:
    """The formats skipped by every check that lists them, for one reason (a runtime not installed): label -> reason."""
    skipped: dict[str, str] = {}
    for label in labels:
        entries = [entry for row in rows if (entry := _entry(row.record, label)) is not None]
        reasons = {footnote(entry.get("reason") or "no reason given") for entry in entries if entry["verdict"] == "skipped"}
        if len(reasons) == 1 and all(entry["verdict"] == "skipped" for entry in entries):
            skipped[label] = reasons.pop()
    return skipped


def _by_reason(not_run: dict[str, str], shown: Sequence[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for label, reason in not_run.items():
        if label not in shown:
            grouped.setdefault(reason, []).append(label)
    return grouped


def _entry(record: dict[str, Any], label: str) -> dict[str, Any] | None:
    return next((e for e in record.get("formats", ()) if e["label"] == label), None)


def _name_width(names: Sequence[str], cells_width: int, width: int) -> int:
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


def _totals(rows: Sequence[MatrixRow]) -> str:
    passed = sum(1 for row in rows if row.record.get("passed"))
    failed = len(rows) - passed
    return f"{len(rows)} check{'s' if len(rows) != 1 else ''}: {passed} passed" + (f", {failed} failed" if failed else "")
