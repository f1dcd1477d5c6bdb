"""pytest-html, when it is installed: each test's checks and pictures in its row, the matrix in the summary.

Nothing to configure: :func:`pytest_tfroundtrip.plugin.pytest_configure` registers :class:`PytestHtmlSummary`
only when pytest-html's plugin is loaded (its hooks exist only then), and the records' report hook adds the extras.
"""

from __future__ import annotations

from typing import Any

import pytest

PYTEST_HTML = "html"  # the name pytest-html's plugin is registered under


def uses_pytest_html(config: pytest.Config) -> bool:
    """Whether pytest-html's plugin is loaded in this run."""
    return bool(config.pluginmanager.hasplugin(PYTEST_HTML))


def add_extras(report: pytest.TestReport, checks: list[dict[str, Any]]) -> None:
    """Append this test phase's checks (verdicts, causes, pictures) to the extras pytest-html shows in its row."""
    from pytest_html import extras

    from pytest_tfroundtrip.results.html.fragment import checks_fragment

    report.extras = [*getattr(report, "extras", []), extras.html(checks_fragment(checks))]  # type: ignore[attr-defined]


class PytestHtmlSummary:
    """Puts the model-by-format matrix into pytest-html's summary (by the controller, under pytest-xdist)."""

    def __init__(self, session_checks: Any) -> None:
        self.session_checks = session_checks

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str], session: Any) -> None:
        if self.session_checks.checks:
            from pytest_tfroundtrip.results.html.fragment import matrix_fragment

            postfix.append(matrix_fragment(self.session_checks.checks))
