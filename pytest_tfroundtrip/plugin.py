"""The pytest plugin (registered by the ``pytest11`` entry point): the hooks that tie its parts together.

The parts live in :mod:`pytest_tfroundtrip.pytest_integration`: ``options``
(command line and ini), ``settings`` (what a check takes from them and the
marker), ``fixtures``, ``reporting`` (header, records, summary) and
``spec_tests`` (``--tf-roundtrip-model``).  It only reads configuration and
calls the plain-Python API, and stays cheap to import: TensorFlow, Keras and
hypothesis are imported only when a check runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tfroundtrip.isolation import internal_warnings
from pytest_tfroundtrip.pytest_integration.fixtures import (  # noqa: F401  (pytest finds fixtures and hooks here)
    RoundTripFixture,
    prestart_for_module,
    pytest_generate_tests,
    reloaded_model,
    roundtrip_format,
    tf_roundtrip,
)
from pytest_tfroundtrip.pytest_integration.options import pytest_addoption  # noqa: F401
from pytest_tfroundtrip.pytest_integration.pytest_html_report import PytestHtmlSummary, uses_pytest_html
from pytest_tfroundtrip.pytest_integration.reporting import (  # noqa: F401
    SessionChecks,
    pytest_report_header,
    pytest_runtest_makereport,
)
from pytest_tfroundtrip.pytest_integration.settings import MARKER

_POOL_OWNER: list[pytest.Config] = []  # the outermost session in this process (pytester runs sessions inside it)


def pytest_configure(config: pytest.Config) -> None:
    if not _POOL_OWNER:
        _POOL_OWNER.append(config)
    internal_warnings.COLLECTED.show_all = bool(config.getoption("tf_roundtrip_show_internal_warnings", False))
    session_checks = SessionChecks(config)
    config.pluginmanager.register(session_checks, "tf-roundtrip-session-checks")
    if uses_pytest_html(config):
        config.pluginmanager.register(PytestHtmlSummary(session_checks), "tf-roundtrip-pytest-html")
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


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> None:
    """Before a test module is imported: if it checks models, a worker starts now (see ``prestart_for_module``)."""
    prestart_for_module(parent.config, module_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    specs = config.getoption("tf_roundtrip_model", None)
    if specs:
        from pytest_tfroundtrip.pytest_integration.settings import requested_checks
        from pytest_tfroundtrip.pytest_integration.spec_tests import spec_items

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
