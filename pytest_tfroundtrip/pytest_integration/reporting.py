"""What a run reports: the header, each test's check records, and the end-of-run summary (matrix, JSON)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip._lazy import process_backend
from pytest_tfroundtrip.formats import all_formats, available_formats
from pytest_tfroundtrip.isolation import internal_warnings
from pytest_tfroundtrip.pytest_integration.pytest_html_report import add_extras, uses_pytest_html
from pytest_tfroundtrip.pytest_integration.settings import baseline_root
from pytest_tfroundtrip.results import records
from pytest_tfroundtrip.results.junit import junit_properties
from pytest_tfroundtrip.results.matrix import matrix_lines, matrix_rows


def pytest_report_header(config: pytest.Config) -> str:
    versions = ", ".join(f"{name} {records.installed_version(dists) or 'not installed'}" for name, dists in (
        ("tensorflow", ("tensorflow", "tensorflow-cpu")), ("keras", ("keras",)), ("hypothesis", ("hypothesis",)),
    ))
    backend = process_backend()
    listed = [f for f in all_formats() if f.listed_under(backend)]
    not_here = [f.name for f in listed if f.backend_reason(backend)]
    missing = [f"{f.name} ({f.unavailable_reason()})" for f in listed if f.name not in not_here and f.unavailable_reason()]
    if backend != "tensorflow":
        versions += f", Keras backend {backend}"
    header = f"tf-roundtrip: {versions}; formats available: {', '.join(available_formats()) or 'none'}"
    if not_here:
        header += f"; not formats of a {backend} model: {', '.join(not_here)}"
    return header + (f"; unavailable: {', '.join(missing)}" if missing else "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach this test phase's check records and internal-warning count to its report.

    Report attributes cross pytest-xdist's wire, so the controller prints the
    matrix and writes the JSON once; the key figures also become JUnit properties.
    """
    outcome = yield
    report = outcome.get_result()
    checks = records.COLLECTED.take()
    if checks:
        report.tf_roundtrip_checks = checks
        item.user_properties.extend(junit_properties(checks))
        if uses_pytest_html(item.config):
            add_extras(report, checks)
    count, first = internal_warnings.COLLECTED.take()
    if count:
        report.tf_roundtrip_internal_warnings = {"count": count, "first": first}


class SessionChecks:
    """The session's check records and hidden-warning counts, from this process or (under pytest-xdist) the workers.

    Registered per session in :func:`pytest_configure`, as pytest-benchmark registers its session object.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.checks: list[tuple[str, dict[str, Any]]] = []
        self.hidden_warnings: list[dict[str, Any]] = []
        self.modules_run: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.modules_run.add(Path(report.nodeid.split("::")[0]).stem)  # from the reports: under xdist the controller collects nothing
        for check in getattr(report, "tf_roundtrip_checks", ()):
            self.checks.append((report.nodeid, check))
        hidden = getattr(report, "tf_roundtrip_internal_warnings", None)
        if hidden:
            self.hidden_warnings.append(hidden)

    def pytest_sessionfinish(self) -> None:
        """Write the JSON file and the HTML report, of one document (by the controller only, under pytest-xdist)."""
        if (self.json_path is None and self.html_path is None) or hasattr(self.config, "workerinput"):
            return
        from pytest_tfroundtrip.formats.environment import format_environment
        from pytest_tfroundtrip.results.json_report import json_document, write_json_document

        document = json_document([dict(check, test=nodeid) for nodeid, check in self.checks],
                                 environment=format_environment())
        if self.json_path is not None:
            write_json_document(self.json_path, document)
        if self.html_path is not None:
            from pytest_tfroundtrip.results.html import write_html_report

            write_html_report(self.html_path, document)

    def unused_baselines(self) -> list[Path]:
        """Baselines under the modules that ran, read by no check (only said when no -k/-m narrowed the run)."""
        if self.config.option.keyword or self.config.option.markexpr:
            return []
        used = {Path(check["artifacts_dir"]).resolve() for _nodeid, check in self.checks
                if check.get("kind") == "baseline" and check.get("artifacts_dir")}
        root = baseline_root(self.config)
        return sorted(manifest.parent for module in sorted(self.modules_run) for manifest in
                      (root / module).glob("*/manifest.json") if manifest.parent.resolve() not in used)

    def written_baselines(self) -> list[Path]:
        """Baselines rewritten on request (``--tf-roundtrip-update-baselines``) in this run."""
        return sorted({Path(check["artifacts_dir"]) for _nodeid, check in self.checks
                       if check.get("kind") == "baseline" and check.get("baseline") == "written" and check.get("artifacts_dir")})

    @property
    def json_path(self) -> Path | None:
        option = self.config.getoption("tf_roundtrip_json", None)
        return Path(self.config.invocation_params.dir, option) if option else None

    @property
    def html_path(self) -> Path | None:
        """``--tf-roundtrip-html`` (relative to where pytest was started), else the ini's (relative to the rootdir)."""
        option = self.config.getoption("tf_roundtrip_html", None)
        if option:
            return Path(self.config.invocation_params.dir, option)
        configured = self.config.getini("tf_roundtrip_html")
        return Path(self.config.rootpath, configured) if configured else None

    def internal_warnings_line(self) -> str | None:
        total = sum(entry["count"] for entry in self.hidden_warnings)
        if not total:
            return None
        return (f"{total} warning{'s' if total != 1 else ''} raised inside TensorFlow, Keras or a runtime during the checks "
                f"not shown (--tf-roundtrip-show-internal-warnings shows them); the first: {self.hidden_warnings[0]['first']}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The model-by-format matrix and the hidden-warnings line (once, by the controller under pytest-xdist)."""
        hidden = self.internal_warnings_line()
        show_matrix = bool(self.checks) and not self.config.getoption("tf_roundtrip_no_matrix") \
            and bool(self.config.getini("tf_roundtrip_matrix"))
        written, unused = self.written_baselines(), self.unused_baselines()
        if not show_matrix and hidden is None and not unused and not written:
            return
        terminalreporter.write_sep("-", "tf-roundtrip summary")
        width = terminalreporter._tw.fullwidth
        if hidden is not None:
            for part in textwrap.wrap(hidden, width - 1, subsequent_indent="    "):
                terminalreporter.write_line(part)
        if show_matrix:
            for line in matrix_lines(matrix_rows(self.checks), [f.name for f in all_formats()], width):
                write_matrix_line(terminalreporter, line)
        if written:
            terminalreporter.write_line(f"{len(written)} baseline{'s' if len(written) != 1 else ''} written on request "
                                        "(--tf-roundtrip-update-baselines or update=True): review and commit them")
            for path in written:
                terminalreporter.write_line(f"  {path}")
        if unused:
            terminalreporter.write_line(f"{len(unused)} baseline{'s' if len(unused) != 1 else ''} not used by any test of "
                                        "their module in this run (delete them, or check why no test reads them):")
            for path in unused:
                terminalreporter.write_line(f"  {path}")
        if self.json_path is not None and not hasattr(self.config, "workerinput"):
            terminalreporter.write_line(f"checks written as JSON to {self.json_path}")
        if self.html_path is not None and not hasattr(self.config, "workerinput"):
            terminalreporter.write_line(f"HTML report written to {self.html_path}")


def write_matrix_line(terminalreporter: Any, line: list[tuple[str, str | None]]) -> None:
    last = len(line) - 1
    for index, (text, colour) in enumerate(line):
        terminalreporter.write(text.rstrip() if index == last else text, **({colour: True} if colour else {}))
    terminalreporter.write("\n")
