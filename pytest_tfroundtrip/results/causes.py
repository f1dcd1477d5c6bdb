"""One line for a failure: the cause a table cell, a Markdown page or an HTML report shows for it.

Example:
    >>> one_line_cause("load failed: ValueError: bad\\n  Traceback ...")
    'load failed: ValueError: bad'
"""

from __future__ import annotations

import re

CAUSE_LENGTH = 220


def one_line_cause(message: str | None) -> str:
    """The first meaningful line of a failure message, shortened, with Markdown's table characters escaped."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    text = re.sub(r"\s+", " ", text)
    if len(text) > CAUSE_LENGTH:
        text = text[:CAUSE_LENGTH - 3] + "..."
    return text.replace("|", "\\|")


DIAGNOSES = ("not restored", "not portable", "cannot be rebuilt", "constructor argument", "first divergence",
             "first layer whose output differs")


def failure_cause(block: str | None, message: str | None) -> str:
    r"""One line for a failing format: its most telling diagnosis line when the failure text has one, else its message.

    Example:
        >>> failure_cause("[ckpt] outputs differ\n  values mismatch\n  3 of 9 weights were not restored", "outputs differ")
        'outputs differ; 3 of 9 weights were not restored'
    """
    lines = [line.strip() for line in (block or "").splitlines() if line.strip()]
    head = one_line_cause(message)
    if head.endswith("in user code:"):  # a traced function's error: its own message comes last
        raised = [line.strip() for line in (message or "").splitlines() if re.match(r"^\s*\w+(Error|Exception):", line)]
        head = one_line_cause(raised[-1]) if len(raised) > 1 else head
    for keyword in DIAGNOSES:
        for line in lines[1:]:
            if keyword in line:
                return one_line_cause(f"{head}; {line}" if not line.startswith(head) else line)
    return head
