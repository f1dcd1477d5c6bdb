"""Workers start while the check does its own work (issue 29): started early, used, and only when needed."""

from __future__ import annotations

import keras
import pytest

from pytest_tfroundtrip import _lazy, check_resume_training, check_roundtrip
from pytest_tfroundtrip.checks import resume, roundtrip
from pytest_tfroundtrip.isolation import pool


@pytest.fixture(autouse=True)
def no_workers_before_or_after():
    pool.close_pool()
    yield
    pool.close_pool()


def small_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile("sgd", "mse")
    return model


def started_by_now() -> dict[str, int]:
    return {backend: p.started for (pid, backend), p in pool._POOL.items()}


def test_a_check_starts_its_worker_before_placing_formats_and_uses_that_one(monkeypatch):
    seen_at_placement = []
    place = roundtrip.place_formats

    def spy(*args, **kwargs):
        seen_at_placement.append(started_by_now())
        return place(*args, **kwargs)

    monkeypatch.setattr(roundtrip, "place_formats", spy)
    check_roundtrip(small_model(), formats=["keras"], max_examples=2, seed=0)
    here = _lazy.process_backend()
    assert seen_at_placement == [{here: 1}]  # already starting while inputs were prepared and the control ran
    assert started_by_now() == {here: 1}  # and it is the worker the format was reloaded in: no second one


@pytest.mark.skipif(not _lazy.is_installed("jax"), reason="JAX is not installed (the test extra installs it)")
def test_a_format_of_another_backend_starts_a_worker_of_that_backend_too(monkeypatch):
    seen_at_placement = []
    place = roundtrip.place_formats
    monkeypatch.setattr(roundtrip, "place_formats",
                        lambda *args, **kwargs: seen_at_placement.append(started_by_now()) or place(*args, **kwargs))
    check_roundtrip(small_model(), formats=["keras@jax"], max_examples=2, seed=0, reload_in="process")
    assert seen_at_placement == [{"jax": 1}]  # reload_in="process" starts none of this backend's workers
    assert started_by_now() == {"jax": 1}


def test_a_check_that_reloads_here_starts_no_worker():
    check_roundtrip(small_model(), formats=["keras"], max_examples=2, seed=0, reload_in="process")
    assert all(count == 0 for count in started_by_now().values())


def test_the_resume_check_starts_its_worker_before_training_the_reference(monkeypatch):
    seen_while_training = []
    train = resume._train_untouched

    def spy(*args, **kwargs):
        seen_while_training.append(started_by_now())
        return train(*args, **kwargs)

    monkeypatch.setattr(resume, "_train_untouched", spy)
    model = small_model()
    check_resume_training(model, formats=["keras"], seed=0)
    assert seen_while_training[0] == {_lazy.process_backend(): 1}
    assert started_by_now() == {_lazy.process_backend(): 1}


# --- in a pytest session: started before the test module is imported, and at the fixture's setup

STARTED_NOW = """
from pytest_tfroundtrip.isolation import pool

def started():
    return sum(p.started for (pid, backend), p in pool._POOL.items())
"""


def test_a_module_that_names_our_api_has_a_worker_starting_before_it_is_imported(pytester):
    pytester.makepyfile(test_uses_us=STARTED_NOW + """
from pytest_tfroundtrip import check_roundtrip  # named here: the worker starts before this module is imported

def test_a_worker_is_starting():
    assert started() == 1
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_only_modules_that_name_us_start_one_and_not_when_checks_reload_here(pytester):
    unnamed = 'import importlib\npool = importlib.import_module("pytest_tf" + "roundtrip.isolation.pool")\n'
    pytester.makepyfile(test_plain=STARTED_NOW.replace("from pytest_tfroundtrip.isolation import pool\n", unnamed) + """
def test_nothing_started():
    assert started() == 0
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(test_uses_us=STARTED_NOW + """
def test_nothing_started_for_reloads_here(tf_roundtrip):
    assert started() == 0
""")
    pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-reload-in=process").assert_outcomes(passed=2)


def test_collect_only_starts_no_worker(pytester):
    pytester.makeconftest("""
from pytest_tfroundtrip.isolation import pool

def pytest_sessionfinish(session):
    (session.config.rootpath / "started.txt").write_text(str(sum(p.started for p in pool._POOL.values())))
""")
    pytester.makepyfile(test_uses_us="def test_uses(tf_roundtrip):\n    pass\n")
    pytester.runpytest("-p", "no:cacheprovider", "--collect-only")
    assert (pytester.path / "started.txt").read_text() == "0"
    pytester.runpytest("-p", "no:cacheprovider")
    assert (pytester.path / "started.txt").read_text() == "1"  # the same session, run: one started


def test_the_fixture_starts_one_at_its_setup_when_none_is_starting(pytester):
    pytester.makepyfile(test_uses_us=STARTED_NOW + """
def test_at_setup(request):
    pool.close_pool()  # the one started at collection is gone: the fixture starts another
    request.getfixturevalue("tf_roundtrip")
    assert started() == 1
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
