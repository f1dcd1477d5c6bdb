"""What the command line prints and writes besides JSON: the matrix (coloured on a terminal) and the HTML report."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, TextIO

from pytest_tfroundtrip.formats import all_formats

_COLOUR_CODES = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m"}


def write_html(file: str | None, document: dict[str, Any], out: TextIO) -> None:
    """``--html FILE``: the document as one self-contained HTML page."""
    if file:
        from pytest_tfroundtrip.results.html import write_html_report

        print(f"HTML report written to {write_html_report(Path(file), document)}", file=out)


def print_matrix(checks: list[dict[str, Any]], target: str, out: TextIO, colour: bool) -> None:
    from pytest_tfroundtrip.results.matrix import MatrixRow

    print_rows([MatrixRow(target, check) for check in checks], out, colour)


def print_rows(rows: list[Any], out: TextIO, colour: bool) -> None:
    from pytest_tfroundtrip.results.matrix import matrix_lines

    width = shutil.get_terminal_size((100, 24)).columns
    print("", file=out)
    for line in matrix_lines(rows, [f.name for f in all_formats()], width):
        text = "".join(_COLOUR_CODES[c] + t + "\033[0m" if colour and c else t for t, c in line)
        print(text.rstrip(), file=out)
