"""The pytest layer: options, marker, fixtures, report header and summary.

It only reads configuration and calls the plain-Python API.  It must stay
cheap to import (pytest imports it in every project where the package is
installed): TensorFlow, Keras and hypothesis are imported only when a
fixture runs a check.

Precedence for each setting: keyword arguments to ``tf_roundtrip.check``,
then the ``tf_roundtrip`` marker, then the command line, then the ini file,
then the built-in default.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip.arguments import DEFAULT_MAX_EXAMPLES
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip._lazy import process_backend
from pytest_tfroundtrip.formats import all_formats, available_formats, parse_format_names
from pytest_tfroundtrip.isolation import internal_warnings
from pytest_tfroundtrip.results import records
from pytest_tfroundtrip.results.junit import junit_properties
from pytest_tfroundtrip.results.matrix import matrix_lines, matrix_rows
from pytest_tfroundtrip.spec_tests import add_model_options

MARKER = "tf_roundtrip"
DEFAULT_BASELINE_DIR = "tests/roundtrip_baselines"
MARKER_KEYWORDS = ("formats", "rtol", "atol", "max_examples", "input_signature", "inputs", "seed", "finite_inputs", "quantization",
                   "reload_in", "workers")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tf-roundtrip", "pytest-tfroundtrip: save/reload checks of Keras models")
    names = ", ".join(f.name for f in all_formats())
    group.addoption(
        "--tf-roundtrip-formats", default=None, metavar="NAMES",
        help=f"comma-separated formats to check, from: {names}. "
             "Default: every format available here (ini: tf_roundtrip_formats).",
    )
    group.addoption(
        "--tf-roundtrip-max-examples", type=int, default=None, metavar="N",
        help=f"hypothesis examples per check. Default: {DEFAULT_MAX_EXAMPLES} (ini: tf_roundtrip_max_examples).",
    )
    group.addoption(
        "--tf-roundtrip-keep-artifacts", action="store_true", default=None,
        help="keep saved artifacts after passing checks too (they are always kept on failure, "
             "under pytest's temporary directory). Default: off (ini: tf_roundtrip_keep_artifacts).",
    )
    group.addoption(
        "--tf-roundtrip-show-internal-warnings", action="store_true", default=False,
        help="show every warning raised inside TensorFlow, Keras and the runtimes during the checks. "
             "Default: off (they are counted, and the first one shown, at the end of the run).",
    )
    group.addoption(
        "--tf-roundtrip-no-matrix", action="store_true", default=None,
        help="do not print the model-by-format table at the end of the run. Default: printed when a check ran "
             "(ini: tf_roundtrip_matrix = false turns it off too).",
    )
    group.addoption(
        "--tf-roundtrip-json", default=None, metavar="PATH",
        help="write every check (verdicts, errors, timings, artifact and failing-input paths, versions) as JSON "
             "to PATH, in the schema pytest_tfroundtrip/results/schema.json. Default: not written.",
    )
    group.addoption(
        "--tf-roundtrip-update-baselines", action="store_true", default=False,
        help="rewrite the golden baselines that tf_roundtrip.check_baseline() reads, from the models as they are now; "
             "those tests pass and the summary lists what was written. Default: off (a missing baseline is created "
             "and its test fails until it is committed; an existing one is compared).",
    )
    group.addoption(
        "--tf-roundtrip-baseline-dir", default=None, metavar="DIR",
        help=f"where baselines live, relative to the rootdir. Default: {DEFAULT_BASELINE_DIR} "
             "(ini: tf_roundtrip_baseline_dir).",
    )
    group.addoption(
        "--tf-roundtrip-reload-in", choices=("fresh", "process"), default=None,
        help="where check() reloads each artifact: 'fresh' worker interpreters that did not save it (another hash seed, "
             "the model's modules imported), or 'process', this one. Default: fresh (ini: tf_roundtrip_reload_in).",
    )
    group.addoption(
        "--tf-roundtrip-workers", type=int, default=None, metavar="N",
        help="worker interpreters that reload formats at once, per pytest-xdist worker. Default: the cores (shared "
             "among xdist workers) and the memory the model needs (ini: tf_roundtrip_workers).",
    )
    add_model_options(group)
    parser.addini("tf_roundtrip_reload_in", "fresh (default) or process: where check() reloads artifacts.", default="")
    parser.addini("tf_roundtrip_workers", "worker interpreters per pytest-xdist worker. Default: from cores and memory.", default="")
    parser.addini("tf_roundtrip_baseline_dir", f"where baselines live, relative to the rootdir. Default: {DEFAULT_BASELINE_DIR}.",
                  default="")
    parser.addini("tf_roundtrip_matrix", "print the model-by-format table at the end of the run. Default: true.",
                  type="bool", default=True)
    parser.addini("tf_roundtrip_formats", f"formats to check (comma-separated, from: {names}). Default: all available.", default="")
    parser.addini("tf_roundtrip_max_examples", f"hypothesis examples per check. Default: {DEFAULT_MAX_EXAMPLES}.", default="")
    parser.addini("tf_roundtrip_keep_artifacts", "keep artifacts of passing checks. Default: false.", type="bool", default=False)


_POOL_OWNER: list[pytest.Config] = []  # the outermost session in this process (pytester runs sessions inside it)


def pytest_configure(config: pytest.Config) -> None:
    if not _POOL_OWNER:
        _POOL_OWNER.append(config)
    internal_warnings.COLLECTED.show_all = bool(config.getoption("tf_roundtrip_show_internal_warnings", False))
    config.pluginmanager.register(SessionChecks(config), "tf-roundtrip-session-checks")
    config.addinivalue_line(
        "markers",
        f"{MARKER}(formats=None, rtol=None, atol=None, max_examples=None, input_signature=None, inputs=None, seed=None, "
        "finite_inputs=False, reload_in='fresh', workers=None): "
        "defaults for tf_roundtrip.check() and the roundtrip_format/reloaded_model fixtures in this test "
        "(formats=None: every available format; rtol/atol=None: per-format defaults).",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--tf-roundtrip-model`` and no test paths, only the model's checks run, not the project's tests."""
    if config.getoption("tf_roundtrip_model", None) and config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True
    return None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    specs = config.getoption("tf_roundtrip_model", None)
    if specs:
        from pytest_tfroundtrip.spec_tests import requested_checks, spec_items

        added = spec_items(session, specs, requested_checks(config.getoption("tf_roundtrip_model_checks")))
        items.extend(added)
        # Reported as collected, so the header counts them ("collected 6 items", not 0).
        config.hook.pytest_collectreport(report=pytest.CollectReport(session.nodeid, "passed", None, added))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop this process's worker interpreters: nothing is left running after the session, Ctrl-C included."""
    if _POOL_OWNER and _POOL_OWNER[0] is not config:
        return  # a session run inside another (pytester): the outer session's workers stay for its next checks
    _POOL_OWNER.clear()
    from pytest_tfroundtrip.isolation.pool import close_pool

    close_pool()


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


def settings_for(config: pytest.Config, node: pytest.Item | None) -> dict[str, Any]:
    """check_roundtrip keyword arguments from ini, command line and marker."""
    __tracebackhide__ = True
    settings: dict[str, Any] = {}
    formats = config.getoption("tf_roundtrip_formats") or config.getini("tf_roundtrip_formats")
    if formats:
        settings["formats"] = parse_format_names(formats)
    max_examples = config.getoption("tf_roundtrip_max_examples") or config.getini("tf_roundtrip_max_examples")
    if max_examples:
        settings["max_examples"] = _positive_int(max_examples, "max examples")
    reload_in = config.getoption("tf_roundtrip_reload_in", None) or config.getini("tf_roundtrip_reload_in")
    if reload_in:
        settings["reload_in"] = reload_in
    workers = config.getoption("tf_roundtrip_workers", None) or config.getini("tf_roundtrip_workers")
    if workers:
        settings["workers"] = _positive_int(workers, "workers")
    marker = node.get_closest_marker(MARKER) if node is not None else None
    if marker is not None:
        if marker.args:
            raise RoundTripUsageError(f"@pytest.mark.{MARKER} takes keyword arguments only ({', '.join(MARKER_KEYWORDS)}), got {marker.args!r}")
        unknown = sorted(set(marker.kwargs) - set(MARKER_KEYWORDS))
        if unknown:
            raise RoundTripUsageError(f"@pytest.mark.{MARKER} got unknown arguments {unknown}; it takes {list(MARKER_KEYWORDS)}")
        settings.update(marker.kwargs)
    return settings


def _positive_int(value: object, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if number < 1:
        raise RoundTripUsageError(f"tf-roundtrip {what} must be a whole number >= 1, got {value!r}")
    return number


def _keep_artifacts(config: pytest.Config) -> bool:
    option = config.getoption("tf_roundtrip_keep_artifacts")
    return bool(option) if option is not None else bool(config.getini("tf_roundtrip_keep_artifacts"))


class RoundTripFixture:
    """What the ``tf_roundtrip`` fixture gives: ``.check(model, **kwargs)``.

    Example (in a test)::

        def test_model_survives(tf_roundtrip, model):
            report = tf_roundtrip.check(model, formats=["keras", "export"])
            assert report.formats_passed == ("keras", "export")
    """

    def __init__(self, request: pytest.FixtureRequest, artifacts_dir: Path) -> None:
        self._request = request
        self._artifacts_dir = artifacts_dir

    def check(self, model: Any, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_roundtrip` with this test's settings."""
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.roundtrip import check_roundtrip

        settings = settings_for(self._request.config, self._request.node)
        settings.update(kwargs)
        settings.setdefault("artifacts_dir", self._artifacts_dir)
        settings.setdefault("keep_artifacts", _keep_artifacts(self._request.config))
        return check_roundtrip(model, **settings)

    def check_resume_training(self, model: Any, x: Any = None, y: Any = None, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_resume_training`; the marker's formats/rtol/atol/seed apply."""
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.resume import check_resume_training

        settings = {k: v for k, v in settings_for(self._request.config, self._request.node).items()
                    if k in ("formats", "rtol", "atol", "seed", "input_signature")}
        settings.update(kwargs)
        settings.setdefault("artifacts_dir", self._artifacts_dir)
        settings.setdefault("keep_artifacts", _keep_artifacts(self._request.config))
        return check_resume_training(model, x, y, **settings)

    def check_custom_objects(self, model: Any, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_custom_objects`; the marker's formats/max_examples/seed apply."""
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.custom_objects import check_custom_objects

        settings = {k: v for k, v in settings_for(self._request.config, self._request.node).items()
                    if k in ("formats", "max_examples", "seed", "input_signature")}
        settings.update(kwargs)
        settings.setdefault("artifacts_dir", self._artifacts_dir)
        settings.setdefault("keep_artifacts", _keep_artifacts(self._request.config))
        return check_custom_objects(model, **settings)

    def check_baseline(self, model: Any, name: str | None = None, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_baseline` in this project's baseline directory.

        The baseline is ``<baseline dir>/<test module>/<name or test name>/``; the
        marker's ``formats`` and ``input_signature`` apply; ``--tf-roundtrip-update-baselines``
        rewrites it.  The first run creates it and fails: commit it, then rerun.

        Example::

            def test_classifier_survives_upgrades(tf_roundtrip, model):
                tf_roundtrip.check_baseline(model, "classifier")
        """
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.baseline import check_baseline

        config = self._request.config
        settings = {k: v for k, v in settings_for(config, self._request.node).items() if k in ("formats", "input_signature")}
        settings.update(kwargs)
        settings.setdefault("update", bool(config.getoption("tf_roundtrip_update_baselines")))
        directory = baseline_root(config) / Path(str(self._request.node.path)).stem
        return check_baseline(model, directory, name or re.sub(r"[^\w.-]", "_", self._request.node.name), **settings)


def baseline_root(config: pytest.Config) -> Path:
    """The project's baseline directory (option, then ini, then the default), under the rootdir."""
    chosen = config.getoption("tf_roundtrip_baseline_dir") or config.getini("tf_roundtrip_baseline_dir") or DEFAULT_BASELINE_DIR
    return Path(config.rootpath, chosen)


def _artifacts_dir(request: pytest.FixtureRequest, factory: pytest.TempPathFactory) -> Path:
    name = re.sub(r"[^\w.-]", "_", request.node.name)[:40]
    return factory.mktemp(f"tf-roundtrip-{name}", numbered=True)


@pytest.fixture
def tf_roundtrip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RoundTripFixture:
    """Checks that a model survives saving and reloading in every format.

    Example::

        def test_survives_every_format(tf_roundtrip, model):
            tf_roundtrip.check(model)
    """
    return RoundTripFixture(request, _artifacts_dir(request, tmp_path_factory))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "roundtrip_format" not in metafunc.fixturenames:
        return
    settings = settings_for(metafunc.config, metafunc.definition)
    names = settings.get("formats") or [f.name for f in all_formats() if f.listed_under(process_backend())]
    metafunc.parametrize("roundtrip_format", parse_format_names(names), indirect=True)


@pytest.fixture
def roundtrip_format(request: pytest.FixtureRequest) -> str:
    """The name of one format; tests using it run once per format.

    A format whose runtime is not installed is skipped with the reason.

    Example::

        def test_artifact_exists(roundtrip_format):
            assert roundtrip_format in pytest_tfroundtrip.formats.format_names()
    """
    from pytest_tfroundtrip.formats import get_format

    name: str = getattr(request, "param", None) or "keras"
    not_here = get_format(name).backend_reason(process_backend())
    if not_here:
        pytest.skip(f"format {name!r} not applicable: {not_here}")
    reason = get_format(name).unavailable_reason()
    if reason:
        pytest.skip(f"format {name!r} unavailable: {reason}")
    return name


@pytest.fixture
def reloaded_model(request: pytest.FixtureRequest, roundtrip_format: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The test's ``model`` fixture, saved in ``roundtrip_format`` and reloaded.

    It is a callable taking the same inputs as the model and returning NumPy
    outputs in the model's output structure.

    Example::

        def test_reloaded_matches(reloaded_model, model):
            x = np.ones((2, 784), "float32")
            np.testing.assert_allclose(reloaded_model(x), model(x), rtol=1e-5)
    """
    from pytest_tfroundtrip.reload import reload_model

    try:
        model = request.getfixturevalue("model")
    except pytest.FixtureLookupError:
        raise RoundTripUsageError(
            "the reloaded_model fixture reloads your `model` fixture, but this test has no fixture named 'model'. "
            "Define one (@pytest.fixture def model(): ...) returning a built keras.Model."
        ) from None
    settings = settings_for(request.config, request.node)
    return reload_model(model, roundtrip_format, _artifacts_dir(request, tmp_path_factory),
                        input_signature=settings.get("input_signature"))


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
        """Write the JSON file (by the controller only, under pytest-xdist)."""
        path = self.json_path
        if path is None or hasattr(self.config, "workerinput"):
            return
        from pytest_tfroundtrip.results.json_report import write_json_report

        write_json_report(path, [dict(check, test=nodeid) for nodeid, check in self.checks])

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


def write_matrix_line(terminalreporter: Any, line: list[tuple[str, str | None]]) -> None:
    last = len(line) - 1
    for index, (text, colour) in enumerate(line):
        terminalreporter.write(text.rstrip() if index == last else text, **({colour: True} if colour else {}))
    terminalreporter.write("\n")
