"""Progress per format on the command line."""

from __future__ import annotations

import time
from typing import Any, TextIO


class ProgressDisplay:
    """Progress per format: a bar redrawn in place on a terminal, one line per format otherwise.

    Formats reloaded in workers overlap, so a line is written whole when its format finishes.

    Example:
        >>> import io
        >>> from pytest_tfroundtrip.results.report import FormatResult
        >>> out = io.StringIO()
        >>> display = ProgressDisplay(out)
        >>> display.format_started("keras", 1, 2); display.format_started("h5", 2, 2)
        >>> display.format_finished(FormatResult("h5", "passed")); display.format_finished(FormatResult("keras", "passed"))
        >>> [line.split(" (")[0] for line in out.getvalue().splitlines()]
        ['[2/2] h5 ... passed', '[1/2] keras ... passed']
    """

    def __init__(self, out: TextIO, enabled: bool = True) -> None:
        self.out = out
        self.enabled = enabled
        self.bar = enabled and out.isatty()
        self._started: dict[str, tuple[int, int, float]] = {}

    def format_started(self, name: str, index: int, total: int) -> None:
        self._started[name] = (index, total, time.perf_counter())
        if not self.enabled or not self.bar:
            return
        width = 20
        filled = width * (index - 1) // max(total, 1)
        self.out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {index}/{total} {name} ...".ljust(60))
        self.out.flush()

    def format_finished(self, result: Any) -> None:
        index, total, started = self._started.pop(result.format, (0, 0, time.perf_counter()))
        if not self.enabled:
            return
        verdict = "not applicable" if getattr(result, "not_applicable", False) else result.status
        seconds = time.perf_counter() - started
        if self.bar:
            self.out.write(f"\r{result.label}: {verdict} ({seconds:.1f} s)".ljust(60) + "\n")
        else:
            self.out.write(f"[{index}/{total}] {result.label} ... {verdict} ({seconds:.1f} s)\n")
        self.out.flush()
