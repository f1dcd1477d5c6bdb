"""Custom objects: each kind of finding, sound layers passing, the clean process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, check_custom_objects
from pytest_tfroundtrip.checks.config_audit import audit_config
from pytest_tfroundtrip.isolation.clean_process import CleanProcessError, CleanWorker, forbidden_paths, shared_worker
from pytest_tfroundtrip.isolation.worker import allowed_sys_path, installed_roots
from tests import models


@keras.saving.register_keras_serializable(package=models.PACKAGE)
class AutoConfigScale(keras.layers.Layer):
    """No get_config: Keras 3 records constructor arguments at construction."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


@keras.saving.register_keras_serializable(package=models.PACKAGE)
class Offset(keras.layers.Layer):
    """State outside config and weights: a NumPy array users overwrite after construction."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.offset = np.zeros(4, "float32")

    def call(self, x):
        return x + self.offset


@keras.saving.register_keras_serializable(package=models.PACKAGE)
class UntrackedCounter(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = tf.Variable(0.0, trainable=False)

    def call(self, x):
        return x + 0.0 * self.calls


class UnregisteredScale(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def findings_of(model, **kwargs):
    with pytest.raises(RoundTripError) as caught:
        check_custom_objects(model, max_examples=5, seed=0, **kwargs)
    return caught.value.report, str(caught.value)


def test_sound_custom_layer_passes_every_check_and_names_the_classes_each_format_needs():
    report = check_custom_objects(models.with_layer(models.Scale(factor=2.0)), max_examples=5, seed=0)
    assert report.findings == () and report.problems == ()
    assert report.custom_classes == ("tests.models.Scale",)
    for name in ("savedmodel", "export", "tflite", "litert", "onnx", "openvino"):
        assert report.clean_result(name).verdict == "loads and matches on its own"
        assert report.classes_needed[name] == ()
    for name in ("keras", "h5", "weights", "checkpoint"):
        assert report.clean_result(name).verdict == "needs classes"
        assert report.clean_result(name).classes_needed == ("Scale",)
        assert report.classes_needed[name] == ("tests.models.Scale",)


def test_config_missing_a_constructor_argument():
    report, text = findings_of(models.with_layer(models.ForgetfulScale(factor=3.0)), formats=["keras"])
    assert [f.check for f in report.findings] == ["parameter"]
    assert ("ForgetfulScale 'forgetful_scale': constructor parameter 'factor' is missing from get_config() "
            "(current value 3.0, a reload gets the default 1.0). Fix: add 'factor' to ForgetfulScale.get_config()") in text


def test_attribute_changed_after_construction():
    layer = AutoConfigScale(factor=2.0, name="scale")
    model = models.with_layer(layer)
    layer.factor = 5.0
    report, text = findings_of(model, formats=["savedmodel"])
    assert [f.check for f in report.findings] == ["attribute"]
    assert "attribute 'factor' is 5.0 but get_config() records 2.0, which is what a reload gets" in text


def test_state_outside_config_and_weights():
    layer = Offset(name="offset_layer")
    model = models.with_layer(layer)
    layer.offset = np.full(4, 3.0, "float32")
    report, text = findings_of(model, formats=["savedmodel"])
    assert [f.check for f in report.findings] == ["state"]
    assert "Offset 'offset_layer': a copy rebuilt from its config with the same weights gives different outputs" in text
    assert "attribute 'offset' (set outside the constructor" in text


class _Helper:
    pass


class NotSerializable(keras.layers.Layer):
    def __init__(self, helper=None, **kwargs):
        super().__init__(**kwargs)
        self.helper = helper

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "helper": self.helper}


class DoublesOnRebuild(keras.layers.Layer):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units * 2  # stores a derived value under the argument's name

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_config_that_is_not_json_serializable():
    findings = audit_config(NotSerializable(helper=_Helper(), name="odd"))
    assert [f.check for f in findings] == ["config"]
    assert "the config is not JSON-serializable (TypeError: Cannot serialize object" in findings[0].describe()
    assert "Fix: return plain values from NotSerializable.get_config()" in findings[0].describe()


def test_config_that_changes_when_rebuilt():
    findings = audit_config(DoublesOnRebuild(units=3, name="doubler"))
    assert [f.check for f in findings] == ["config"]
    assert "from_config(get_config()) gives a different config ('units': 6 becomes 12)" in findings[0].describe()


def test_untracked_variable():
    report, text = findings_of(models.with_layer(UntrackedCounter(name="counter")), formats=["savedmodel"])
    assert [f.check for f in report.findings] == ["untracked"]
    assert "variable 'calls'" in text and "is not tracked by Keras" in text and "self.add_weight" in text


def test_unregistered_class_is_named_and_needs_classes_in_the_clean_process():
    report, text = findings_of(models.with_layer(UnregisteredScale(name="twice")), formats=["keras", "export"])
    assert [f.check for f in report.findings] == ["registration"]
    assert "decorate UnregisteredScale with @keras.saving.register_keras_serializable" in text
    assert report.clean_result("keras").verdict == "needs classes"
    assert report.clean_result("keras").classes_needed == ("UnregisteredScale",)
    assert report.clean_result("export").verdict == "loads and matches on its own"


def test_importable_module_lets_the_clean_process_load_the_keras_file(tmp_path, monkeypatch):
    (tmp_path / "served_layers.py").write_text(textwrap.dedent("""
        import keras

        @keras.saving.register_keras_serializable(package="served")
        class Double(keras.layers.Layer):
            def call(self, x):
                return x * 2.0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import served_layers

    model = models.with_layer(served_layers.Double())
    without = check_custom_objects(model, formats=["keras"], max_examples=2, seed=0)
    assert without.clean_result("keras").verdict == "needs classes"  # tmp_path is this session's, not installed
    with_module = check_custom_objects(model, formats=["keras"], importable=["served_layers"], max_examples=2, seed=0)
    assert with_module.clean_result("keras").verdict == "loads and matches on its own"
    monkeypatch.delitem(sys.modules, "served_layers")


def test_lambda_layers_report_safe_mode_refusals_and_the_fix():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Lambda(lambda x: x * 2.0, name="times_two")(inputs)))
    report, text = findings_of(model, formats=["keras", "savedmodel"])
    assert report.lambda_layers == ("times_two",)
    assert "Lambda layers ['times_two']: keras refuse them under Keras safe mode" in text
    assert "savedmodel reload them" in text and "registered keras.layers.Layer subclass" in text


def test_clean_process_cannot_see_this_sessions_modules():
    worker, _fresh = shared_worker(None, None, 120.0)
    invisible = lambda module: worker.request({"op": "probe_import", "module": module}, "probing")["ok"]  # noqa: E731
    # Not `tests` itself: tf2onnx's wheel installs a top-level `tests` package into site-packages.
    assert invisible("tests.models") and invisible("tests.test_custom_objects") and invisible("conftest")
    assert not invisible("numpy") and not invisible("pytest_tfroundtrip.formats")
    project_root = str(Path(__file__).resolve().parents[1])
    assert project_root not in worker.info["sys_path"] and "" not in worker.info["sys_path"]


def test_sys_path_filter_drops_session_directories_but_keeps_installed_roots(tmp_path):
    project = tmp_path / "project"
    venv_site = project / ".venv" / "lib" / "site-packages"
    for directory in (project / "src", project / "tests", venv_site):
        directory.mkdir(parents=True)
    entries = ["", str(project), str(project / "src"), str(project / "tests"), str(venv_site), "/usr/lib/python3"]
    kept = allowed_sys_path(entries, [str(project)], [str(venv_site)], cwd=str(project))
    assert kept == [str(venv_site), "/usr/lib/python3"]  # e.g. a .pth adding the project is dropped


def test_forbidden_paths_cover_the_working_directory_and_session_entries(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "extra"))
    (tmp_path / "extra").mkdir()
    forbidden = forbidden_paths()
    assert str(tmp_path.resolve()) in forbidden and str((tmp_path / "extra").resolve()) in forbidden
    assert not any(root in forbidden for root in installed_roots())


def test_clean_process_that_cannot_start_fails_loudly():
    with pytest.raises(CleanProcessError, match="could not start the clean process"):
        CleanWorker(python="/nonexistent/python")
    with pytest.raises(CleanProcessError, match=r"exited (before|while) starting .*exit code 1"):
        CleanWorker(python="/bin/false")


def test_clean_process_that_dies_before_our_first_request_still_fails_loudly(monkeypatch):
    # The request is built after the process starts; giving /bin/false time to exit first makes
    # the flush fail with the request still buffered, so closing stdin raises BrokenPipeError
    # again. CI hit this race once; it must still end in the clear CleanProcessError.
    import time

    from pytest_tfroundtrip.isolation import clean_process
    own_package_dir = clean_process._own_package_dir

    def after_the_process_has_exited(holder):
        time.sleep(1.0)
        return own_package_dir(holder)

    monkeypatch.setattr(clean_process, "_own_package_dir", after_the_process_has_exited)
    with pytest.raises(CleanProcessError, match=r"exited before starting .*exit code 1"):
        CleanWorker(python="/bin/false")


def test_clean_process_timeout_is_a_clear_error():
    with pytest.raises(CleanProcessError, match="did not answer within 0 s while starting"):
        CleanWorker(timeout=0.05)


def test_model_is_not_modified():
    model = models.with_layer(models.Scale(factor=2.0))
    before = models.fingerprint(model)
    check_custom_objects(model, formats=["keras", "export"], max_examples=3, seed=0)
    models.assert_same_fingerprint(before, models.fingerprint(model))


@keras.saving.register_keras_serializable(package="tfroundtrip_json")
class ClassWeights(keras.layers.Layer):
    """Scales each class's score; its config holds a dict with integer keys, which JSON turns into strings."""

    def __init__(self, weights_by_class=None, **kwargs):
        super().__init__(**kwargs)
        self.weights_by_class = dict(weights_by_class or {0: 1.0})
        self.scale = [self.weights_by_class[i] for i in range(len(self.weights_by_class))]  # KeyError on "0"

    def call(self, scores):
        return scores * keras.ops.convert_to_tensor(self.scale, dtype=scores.dtype)

    def get_config(self):
        return {**super().get_config(), "weights_by_class": self.weights_by_class}


def class_weights_model():
    scores = keras.Input((2,), name="scores")
    return keras.Model(scores, ClassWeights({0: 1.0, 1: 2.5}, name="class_weights")(scores))


def test_plain_keras_cannot_load_a_config_value_that_json_changes(tmp_path):
    layer = ClassWeights({0: 1.0, 1: 2.5})
    assert type(layer).from_config(layer.get_config()).scale == [1.0, 2.5]  # the in-memory round trip passes
    class_weights_model().save(tmp_path / "model.keras")
    with pytest.raises(Exception, match="0"):
        keras.models.load_model(tmp_path / "model.keras")


@pytest.mark.parametrize("seed", range(5))
def test_a_config_value_that_does_not_survive_json_is_caught_with_the_key_named(seed):
    with pytest.raises(RoundTripError) as caught:
        check_custom_objects(class_weights_model(), formats=["keras"], max_examples=5, seed=seed)
    report = caught.value.report
    json_findings = [f for f in report.findings if f.check == "json"]
    assert [f.cls for f in json_findings] == ["ClassWeights"]
    assert "'weights_by_class': {0: 1.0, 1: 2.5} becomes {'0': 1.0, '1': 2.5}" in json_findings[0].message
    assert report.in_process[0].verdict == "fails"  # load_model in this process fails too
    assert "[keras] in this process (with your classes)" in str(caught.value)


def _run(script: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, str(script)], capture_output=True, text=True, cwd=script.parent,
                          timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})


def test_a_clean_process_load_failure_ends_with_a_script_that_reproduces_it_in_an_isolated_interpreter(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Lambda(lambda x: x * 2.0, name="times_two")(inputs)))
    with pytest.raises(RoundTripError) as caught:
        check_custom_objects(model, formats=["keras"], max_examples=2, artifacts_dir=tmp_path)
    script = caught.value.report.clean_result("keras").reproduction
    assert script is not None and script.name == "reproduce-clean.py"
    assert str(caught.value).rstrip().endswith("print('loaded without an error: the failure did not reproduce here')")
    done = _run(script, "-I")
    assert done.returncode != 0 and "safe_mode" in done.stderr


def test_a_load_failure_in_this_process_is_scripted_with_the_classes_imported(tmp_path):
    with pytest.raises(RoundTripError) as caught:
        check_custom_objects(class_weights_model(), formats=["keras"], max_examples=2, seed=0, artifacts_dir=tmp_path)
    script = caught.value.report.in_process[0].reproduction
    assert script is not None and "import tests.test_custom_objects  # defines ClassWeights" in script.read_text()
    done = _run(script)
    assert done.returncode != 0 and "ClassWeights" in done.stderr and "did not reproduce" not in done.stdout
