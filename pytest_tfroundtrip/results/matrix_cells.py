"""What the matrix writes in a cell, a header, a footnote and a failure line, from records.

Pure text from records (:mod:`~pytest_tfroundtrip.results.records`); the layout is
:mod:`~pytest_tfroundtrip.results.matrix`.  A pass shows how close it came to failing:
its largest error as a share of what its tolerance allowed (``tolerance_used``), so a
pass never shows a raw absolute error that reads like a failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Segment = tuple[str, str | None]  # (text, colour name for pytest's markup, or None)

MAX_FOOTNOTE = 160
MAX_CAUSE = 240
_TRY_HINT = re.compile(r"\s*\(name '[^']+' in formats= to [^)]*\)")
_HEADER_NAMES = {"savedmodel": "saved", "checkpoint": "ckpt"}
_QUANTIZATION_NAMES = {"dynamic_int8": "dyn8", "float16": "f16", "int8": "i8"}
_COLOURS = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow", "not_applicable": "yellow"}
_NOT_JUDGED_BY_TOLERANCE = "pass"


@dataclass
class Footnotes:
    """Reasons of skip and n/a cells, numbered in the order met, with the formats each was met in.

    Example:
        >>> notes = Footnotes()
        >>> notes.number("no kernel for Erfinv", "onnx"), notes.number("no kernel for Erfinv", "openvino")
        (1, 1)
        >>> notes.texts()
        ['(1) onnx, openvino: no kernel for Erfinv']
    """

    numbers: dict[str, int] = field(default_factory=dict)
    formats: dict[int, list[str]] = field(default_factory=dict)

    def number(self, reason: str, label: str) -> int:
        number = self.numbers.setdefault(footnote(reason), len(self.numbers) + 1)
        if label not in self.formats.setdefault(number, []):
            self.formats[number].append(label)
        return number

    def texts(self) -> list[str]:
        return [f"({number}) {', '.join(self.formats[number])}: {reason}" for reason, number in self.numbers.items()]


def tolerance_share(used: float) -> str:
    """A pass's ``tolerance_used`` as a cell: ``0`` bit for bit, ``<1%``, ..., ``100%`` at the limit.

    Example:
        >>> [tolerance_share(x) for x in (0.0, 0.004, 0.02, 0.456, 1.0)]
        ['0', '<1%', '2%', '46%', '100%']
    """
    if used == 0:
        return "0"
    if used < 0.01:
        return "<1%"
    return f"{min(100, round(100 * used))}%"


def format_cell(entry: dict[str, Any] | None, notes: Footnotes) -> Segment:
    """One format's cell of a check: a pass's share of its tolerance, FAIL, error, skip(n) or n/a(n).

    Example:
        >>> notes = Footnotes()
        >>> format_cell({"label": "export", "verdict": "passed", "max_abs_error": 4e3, "tolerance_used": 0.02}, notes)
        ('2%', 'green')
        >>> format_cell({"label": "onnx", "verdict": "skipped", "reason": "onnxruntime is not installed"}, notes)
        ('skip(1)', 'yellow')
    """
    if entry is None:
        return "-", None
    verdict = entry["verdict"]
    if verdict == "passed":
        return _passed_text(entry), "green"
    if verdict in ("skipped", "not_applicable"):
        number = notes.number(entry.get("reason") or "no reason given", entry["label"])
        return f"{'skip' if verdict == 'skipped' else 'n/a'}({number})", _COLOURS[verdict]
    return ("FAIL" if verdict == "failed" else "error"), _COLOURS[verdict]


def _passed_text(entry: dict[str, Any]) -> str:
    if entry.get("quantized"):
        return _NOT_JUDGED_BY_TOLERANCE  # judged by argmax agreement and range error, not by a tolerance
    used = entry.get("tolerance_used")
    if used is not None:
        return tolerance_share(used)
    # Records without the share (files of older versions, resume and baseline checks): only bit for bit is said.
    return "0" if entry.get("max_abs_error") == 0 else _NOT_JUDGED_BY_TOLERANCE


def verdict_cell(record: dict[str, Any]) -> Segment:
    """The check's own verdict, first cell of its row.

    Example:
        >>> verdict_cell({"passed": False})
        ('FAIL', 'red')
    """
    return ("ok", "green") if record.get("passed") else ("FAIL", "red")


def header(label: str) -> str:
    """A column's header: the format's short name, the quantization mode shortened.

    Example:
        >>> header("savedmodel"), header("litert[dynamic_int8]"), header("keras@jax")
        ('saved', 'litert[dyn8]', 'keras@jax')
    """
    base, qualifier = split_label(label)
    return base + qualifier


def split_label(label: str) -> tuple[str, str]:
    """A label as its format's short name and its qualifier (``@backend`` or ``[quantization]``), for grouped headers.

    Example:
        >>> split_label("weights@jax"), split_label("litert[float16]"), split_label("checkpoint")
        (('weights', '@jax'), ('litert', '[f16]'), ('ckpt', ''))
    """
    base, bracket, quantization = label.partition("[")
    base, at, backend = base.partition("@")
    short = _HEADER_NAMES.get(base, base)
    if bracket:
        mode = quantization.rstrip("]")
        return short, "[" + _QUANTIZATION_NAMES.get(mode, mode) + "]"
    return short, (at + backend if at else "")


def failure_lines(name: str, record: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name [format], cause)`` for each failed or erred format of a check, or the check's own cause.

    The cause is the record's one-line ``cause``, else the first line of its message (the
    whole text is in the test's output and the JSON file), so a FAIL cell's cause reads
    right under the matrix.

    Example:
        >>> failure_lines("test_mlp", {"passed": False, "formats": [
        ...     {"label": "keras", "verdict": "error", "message": "[keras] ValueError: Unknown layer\\n..."},
        ...     {"label": "h5", "verdict": "passed"}]})
        [('test_mlp [keras]', 'ValueError: Unknown layer')]
    """
    lines = [(f"{name} [{entry['label']}]", _cause(entry.get("cause") or entry.get("message"), entry["label"]) or entry["verdict"])
             for entry in record.get("formats", ()) if entry["verdict"] in ("failed", "error")]
    if lines or record.get("passed", True):
        return lines
    own = (record.get("findings") or [None])[0] or record.get("nondeterminism") or "the check failed (no format did)"
    return [(name, _cause(own, ""))]


def _cause(message: str | None, label: str) -> str:
    """The first non-empty line of a message, without a leading ``[label]`` and shortened to :data:`MAX_CAUSE`."""
    if not message:
        return ""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    first = first.removeprefix(f"[{label}]").strip() if label else first
    return first if len(first) <= MAX_CAUSE else first[:MAX_CAUSE - 3].rstrip() + "..."


def footnote(reason: str) -> str:
    """A reason as a footnote: without the per-format "name it to try" hint (the legend says it), at most ~2 lines.

    Example:
        >>> footnote("onnxruntime is not installed (name 'onnx' in formats= to see it fail)")
        'onnxruntime is not installed'
    """
    text = " ".join(_TRY_HINT.sub("", reason).split())
    return text if len(text) <= MAX_FOOTNOTE else text[:MAX_FOOTNOTE - 3].rstrip() + "..."
