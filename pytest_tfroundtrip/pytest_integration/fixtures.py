"""The fixtures: ``tf_roundtrip``, ``roundtrip_format`` and ``reloaded_model``.

They only read the settings and call the plain-Python API; TensorFlow, Keras
and hypothesis are imported when a check runs, not before.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip._lazy import process_backend
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.formats import all_formats, parse_format_names
from pytest_tfroundtrip.pytest_integration.settings import baseline_root, keep_artifacts, settings_for


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
        settings.setdefault("keep_artifacts", keep_artifacts(self._request.config))
        return check_roundtrip(model, **settings)

    def check_resume_training(self, model: Any, x: Any = None, y: Any = None, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_resume_training`; the marker's formats/rtol/atol/seed apply."""
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.resume import check_resume_training

        settings = {k: v for k, v in settings_for(self._request.config, self._request.node).items()
                    if k in ("formats", "rtol", "atol", "seed", "input_signature")}
        settings.update(kwargs)
        settings.setdefault("artifacts_dir", self._artifacts_dir)
        settings.setdefault("keep_artifacts", keep_artifacts(self._request.config))
        return check_resume_training(model, x, y, **settings)

    def check_custom_objects(self, model: Any, **kwargs: Any) -> Any:
        """Run :func:`pytest_tfroundtrip.check_custom_objects`; the marker's formats/max_examples/seed apply."""
        __tracebackhide__ = True
        from pytest_tfroundtrip.checks.custom_objects import check_custom_objects

        settings = {k: v for k, v in settings_for(self._request.config, self._request.node).items()
                    if k in ("formats", "max_examples", "seed", "input_signature")}
        settings.update(kwargs)
        settings.setdefault("artifacts_dir", self._artifacts_dir)
        settings.setdefault("keep_artifacts", keep_artifacts(self._request.config))
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
    prestart_unless_in_process(request.config, request.node)  # its start overlaps building the test's model
    return RoundTripFixture(request, _artifacts_dir(request, tmp_path_factory))


def prestart_unless_in_process(config: pytest.Config, node: pytest.Item | None) -> None:
    """Start one worker of this process's backend now, without waiting, unless checks here reload in this process:
    its start (importing Keras there) overlaps the caller's own work instead of delaying the first check."""
    try:
        reload_in = settings_for(config, node).get("reload_in", "fresh")
    except RoundTripUsageError:  # said when the test calls a check, where the user looks for it
        return
    if reload_in == "fresh":
        from pytest_tfroundtrip.isolation.pool import session_pool

        session_pool(1, process_backend()).prestart(1)


_PRESTARTED = pytest.StashKey[bool]()
# What a test module that checks models names (fixtures, marker, the API): read before pytest imports it.
_CHECKS_A_MODEL = re.compile(rb"\b(tf_roundtrip|roundtrip_format|reloaded_model|check_roundtrip|pytest_tfroundtrip)\b")


def prestart_for_module(config: pytest.Config, module_path: Path) -> None:
    """Start a worker before the first test module that names our fixtures or API is imported, once per session.

    Importing that module (TensorFlow and Keras, the user's model code) takes seconds; the worker imports
    Keras at the same time, on the other core, instead of after the test has built its model.  Nothing starts
    for ``--collect-only``, for modules that never name us, or when checks reload in this process.

    Example::

        pytest tests/test_model.py   # the worker starts while tests/test_model.py is being imported
    """
    if config.option.collectonly or config.stash.get(_PRESTARTED, False):
        return
    try:
        text = module_path.read_bytes()
    except OSError:
        return
    if _CHECKS_A_MODEL.search(text) is None:
        return
    config.stash[_PRESTARTED] = True
    prestart_unless_in_process(config, None)


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
