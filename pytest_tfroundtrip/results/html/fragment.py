"""Pieces of the report for another page (pytest-html's): the matrix and one test's checks, styled inline.

They carry no script: a cell's cause is in its tooltip and, for one test's checks, in a column of its own.
"""

from __future__ import annotations

from html import escape
from typing import Any

from pytest_tfroundtrip.results.html.assets import VERDICT_COLOURS
from pytest_tfroundtrip.results.html.cells import cause, cell_text, display_verdict
from pytest_tfroundtrip.results.html.page import column_labels

_CELL = "padding:2px 8px;text-align:center;border:1px solid #e0e0e0;white-space:nowrap"


def _cell(entry: dict[str, Any]) -> str:
    verdict = display_verdict(entry)
    background, colour = VERDICT_COLOURS[verdict]
    tooltip = cause(entry) or verdict.replace("_", " ")
    return (f'<td style="{_CELL};background:{background};color:{colour}" title="{escape(tooltip)}" '
            f'data-verdict="{verdict}">{escape(cell_text(entry))}</td>')


def matrix_fragment(named_checks: list[tuple[str, dict[str, Any]]]) -> str:
    """The model-by-format matrix as a static table (a cell's tooltip gives its cause).

    Example:
        >>> html = matrix_fragment([("t.py::test_<a>", {"kind": "roundtrip", "passed": False,
        ...                          "formats": [{"label": "keras", "format": "keras", "verdict": "failed", "message": "bad"}]})])
        >>> "test_&lt;a&gt;" in html and 'title="bad"' in html and ">FAIL<" in html
        True
    """
    labels = column_labels([check for _name, check in named_checks])
    head = "".join(f'<th style="{_CELL}">{escape(label)}</th>' for label in labels)
    rows = []
    for name, check in named_checks:
        entries = {entry.get("label"): entry for entry in check.get("formats") or []}
        kind = check.get("kind", "")
        label = name + (f" [{kind.replace('_', ' ')}]" if kind and kind != "roundtrip" else "")
        cells = "".join(_cell(entries[column]) if column in entries else f'<td style="{_CELL};color:#bdbdbd">&middot;</td>'
                        for column in labels)
        rows.append(f'<tr><td style="padding:2px 8px;text-align:left">{escape(label)}</td>{cells}</tr>')
    return (f'<div class="tf-roundtrip-matrix"><h3>tf-roundtrip: model by format</h3><table style="border-collapse:collapse">'
            f'<tr><th style="{_CELL};text-align:left">check</th>{head}</tr>{"".join(rows)}</table>'
            "<p>Hover a cell for its cause; --tf-roundtrip-html=FILE writes the full report (details on click, pictures).</p></div>")


def checks_fragment(checks: list[dict[str, Any]]) -> str:
    """One test's checks: per format its verdict and cause, then the pictures its records have numbers for.

    Example:
        >>> html = checks_fragment([{"kind": "roundtrip", "formats": [{"label": "h5", "verdict": "passed"}]}])
        >>> "h5" in html and ">ok<" in html
        True
    """
    from pytest_tfroundtrip.results.html.figures import pictures

    parts = []
    for check in checks:
        rows = "".join(f'<tr><td style="{_CELL};text-align:left">{escape(entry.get("label", "?"))}</td>{_cell(entry)}'
                       f'<td style="padding:2px 8px">{escape(cause(entry) or "")}</td></tr>'
                       for entry in check.get("formats") or [])
        parts.append(f'<p><b>tf-roundtrip {escape(check.get("kind", "").replace("_", " "))}</b>: '
                     f'{"passed" if check.get("passed") else "failed"}</p><table style="border-collapse:collapse">{rows}</table>')
    return '<div class="tf-roundtrip-checks">' + "".join(parts) + pictures(checks) + "</div>"
