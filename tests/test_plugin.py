"""The pytest layer, exercised through pytester as a user's project would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pytest_tfroundtrip.formats import all_formats, available_formats
from tests.forgetful import forgetful_layer_source

MODEL_FIXTURE = """
import keras, numpy as np, pytest, pytest_tfroundtrip

@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
"""

FORGETFUL = """
""" + forgetful_layer_source("pytester_defect") + """

@pytest.fixture
def broken():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs)))
"""


PASS_SHARE = re.compile(r"0|<1%|\d{1,3}%")  # a pass: its largest error as a share of its tolerance


def test_check_fixture_passes_and_the_summary_lists_formats(pytester, monkeypatch):
    pytester.makepyfile(MODEL_FIXTURE + """
def test_survives(tf_roundtrip, model):
    report = tf_roundtrip.check(model, max_examples=3)
    assert report.formats_passed == tuple(pytest_tfroundtrip.available_formats())
""")
    monkeypatch.setenv("COLUMNS", "100")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    # Every available format in one table of at most 100 columns (a backend's formats grouped under @backend).
    result.stdout.fnmatch_lines(["*tf-roundtrip summary*", "model*check*keras*h5*saved*export*weights*ckpt*tflite*",
                                 "test_check_fixture_passes_and_the_summary_lists_formats.py::test_survives",
                                 " *ok*0*0*0*0*0*0*", "1 check: 1 passed"])
    lines = result.stdout.str().split("tf-roundtrip summary")[1].splitlines()
    header = next(line for line in lines if line.startswith("model"))
    row = lines[lines.index(header) + 2].split()
    assert row[0] == "ok" and len(row) == len(header.split()) - 1 == len(available_formats()) + 1
    assert all(PASS_SHARE.fullmatch(cell) for cell in row[1:]), row
    assert all(len(line) <= 100 for line in lines[lines.index(header) - 1:] if "::" not in line and "JSON to" not in line)


def test_failure_explains_itself_in_pytest_output(pytester):
    pytester.makepyfile(MODEL_FIXTURE + FORGETFUL + """
def test_broken(tf_roundtrip, broken):
    tf_roundtrip.check(broken, formats=["keras", "export"], max_examples=5, seed=0)
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*RoundTripError: Round trip failed for 1 of 2 formats: keras*",
        "*[[]keras[]] outputs differ from the original model*",
        "*max abs error*",
        "*on input (shrunk): input: shape (1, 3)*",
        "*Other formats: export passed*",
        "*Artifacts kept in*tf-roundtrip-test_broken*",
    ])
    assert "runner.py" not in result.stdout.str()  # library frames are hidden


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_reloaded_model_runs_once_per_format(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
def test_reloaded_matches(reloaded_model, model):
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(3, 8)
    np.testing.assert_allclose(reloaded_model(x), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
""")
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    available = available_formats()  # the ten formats, and keras@jax and weights@jax where JAX is installed
    listed = [f for f in all_formats() if f.listed_under("tensorflow")]  # keras@tensorflow repeats keras here: not listed
    result.assert_outcomes(passed=len(available), skipped=len(listed) - len(available))
    for name in available:
        result.stdout.fnmatch_lines([f"*test_reloaded_matches[[]{name}[]] PASSED*"])


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_marker_sets_formats_and_examples_for_check_and_parametrization(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
@pytest.mark.tf_roundtrip(formats=["keras", "weights"], max_examples=2)
def test_marked(tf_roundtrip, model):
    report = tf_roundtrip.check(model)
    assert report.formats_passed == ("keras", "weights")
    assert report.examples == 2

@pytest.mark.tf_roundtrip(formats=["export"])
def test_marked_reload(reloaded_model, roundtrip_format):
    assert roundtrip_format == "export"
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-formats=h5")  # the marker wins
    result.assert_outcomes(passed=2)


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_marker_finite_inputs_reaches_the_check(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
def test_checked_with_nan_by_default(tf_roundtrip, model, monkeypatch):
    from pytest_tfroundtrip.checks import roundtrip
    seen = []
    original = roundtrip.targeted_pins
    monkeypatch.setattr(roundtrip, "targeted_pins", lambda *a, **k: seen.extend(p.family for p in original(*a, **k)) or original(*a, **k))
    tf_roundtrip.check(model, formats=["keras"], max_examples=2)
    assert "nonfinite" in seen

@pytest.mark.tf_roundtrip(formats=["keras"], max_examples=2, finite_inputs=True)
def test_marker_removes_nan(tf_roundtrip, model, monkeypatch):
    from pytest_tfroundtrip.checks import roundtrip
    seen = []
    original = roundtrip.targeted_pins
    monkeypatch.setattr(roundtrip, "targeted_pins", lambda *a, **k: seen.extend(p.family for p in original(*a, **k)) or original(*a, **k))
    tf_roundtrip.check(model)
    assert seen and "nonfinite" not in seen
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_command_line_and_ini_options(pytester):
    pytester.makeini("[pytest]\ntf_roundtrip_formats = h5\ntf_roundtrip_max_examples = 3\n")
    pytester.makepyfile(MODEL_FIXTURE + """
def test_options(tf_roundtrip, model, request):
    report = tf_roundtrip.check(model)
    assert report.formats_passed == tuple(request.config.getoption("expect").split(","))
    assert report.examples == int(request.config.getoption("examples"))
""")
    pytester.makeconftest("""
def pytest_addoption(parser):
    parser.addoption("--expect")
    parser.addoption("--examples")
""")
    pytester.runpytest("-p", "no:cacheprovider", "--expect=h5", "--examples=3").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-formats=keras,export", "--tf-roundtrip-max-examples=2",
                       "--expect=keras,export", "--examples=2").assert_outcomes(passed=1)


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_keep_artifacts_option_keeps_them_after_success(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
def test_kept(tf_roundtrip, model, request):
    report = tf_roundtrip.check(model, formats=["keras"], max_examples=2)
    kept = request.config.getoption("tf_roundtrip_keep_artifacts")
    assert (report.artifacts_dir is not None) == bool(kept)
    if kept:
        assert report.result_for("keras").artifact.is_file()
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-keep-artifacts").assert_outcomes(passed=1)


def test_bad_marker_arguments_are_reported(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
@pytest.mark.tf_roundtrip(format="keras")
def test_typo(tf_roundtrip, model):
    tf_roundtrip.check(model)
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RoundTripUsageError: @pytest.mark.tf_roundtrip got unknown arguments [[]'format'[]]*"])


def test_reloaded_model_without_a_model_fixture_says_what_to_define(pytester):
    pytester.makepyfile("""
def test_no_model(reloaded_model):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-formats=keras")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no fixture named 'model'*"])


def test_help_documents_options_with_defaults(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "*--tf-roundtrip-formats=NAMES*", "*Default: every format available here*",
        "*--tf-roundtrip-max-examples=N*", "*Default: 20*",
        "*--tf-roundtrip-keep-artifacts*",
    ])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["*@pytest.mark.tf_roundtrip(formats=None, rtol=None, atol=None, max_examples=None*"])


def test_report_header_lists_versions_and_formats(pytester):
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "tf-roundtrip: tensorflow 2.*, keras 3.*, hypothesis 6.*; formats available: "
        "keras, h5, savedmodel, export, weights, checkpoint, tflite, litert, onnx, openvino*",
    ])


def test_loading_the_plugin_does_not_import_tensorflow_keras_or_hypothesis():
    code = ("import sys, pytest_tfroundtrip.plugin, pytest_tfroundtrip; "
            "pytest_tfroundtrip.available_formats(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'hypothesis') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_runs_under_xdist(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_check(tf_roundtrip, model, seed):
    tf_roundtrip.check(model, formats=["keras", "export"], max_examples=2, seed=seed)
""")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*tf-roundtrip summary*", "model*check*keras*export"])
    for seed in range(4):
        result.stdout.fnmatch_lines([f"*::test_check[[]{seed}[]]*ok*"])
        row = next(line for line in result.stdout.lines if f"::test_check[{seed}]" in line).split()[1:]
        assert row[0] == "ok" and row[1] == "0" and PASS_SHARE.fullmatch(row[2]), row  # keras bit for bit; export
    result.stdout.fnmatch_lines(["4 checks: 4 passed"])
    assert result.stdout.str().count("4 checks: 4 passed") == 1  # printed once, by the controller


@pytest.mark.slow  # CI budget: a pytester run each; xdist and the marker stay covered in CI
def test_marker_quantization_checks_the_quantized_build_and_summarises_it_apart(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
@pytest.mark.tf_roundtrip(formats=["litert"], quantization="float16", max_examples=3)
def test_quantized(tf_roundtrip, model):
    result = tf_roundtrip.check(model).result_for("litert")
    assert result.quantization == "float16" and result.quantized

def test_float(tf_roundtrip, model):
    assert tf_roundtrip.check(model, formats=["litert"], max_examples=3).passed
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*tf-roundtrip summary*", "model*check*litert*litert[[]f16[]]",
                                 "*::test_float", " *ok *[0<]*-", "*::test_quantized", " *ok*-*pass"])  # in test-id order


def test_a_check_in_a_fresh_project_leaves_nothing_but_the_test_file(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # pytest's own .pyc files are not ours to judge
    monkeypatch.setenv("HOME", str(tmp_path))  # pytester makes the project HOME, where Keras keeps ~/.keras
    pytester.makepyfile(test_fresh=MODEL_FIXTURE + """
def test_check(tf_roundtrip, model):
    assert tf_roundtrip.check(model, formats=["keras", "tflite"], max_examples=3).passed

def test_custom_objects(tf_roundtrip, model):
    assert tf_roundtrip.check_custom_objects(model, formats=["keras"], max_examples=2).passed
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    # Pytester's own: runpytest-N (the inner run's --basetemp, pytest's tmp_path) and its stdout/stderr captures.
    left = sorted(path.name for path in pytester.path.iterdir()
                  if not path.name.startswith("runpytest-") and path.name not in ("stdout", "stderr"))
    assert left == ["test_fresh.py"]  # no .hypothesis/


USER_WARNING_LAYER = """
import warnings

@keras.saving.register_keras_serializable(package="pytester_warns")
class Warns(keras.layers.Layer):
    def call(self, x):
        warnings.warn("the user's own warning", UserWarning)
        return x

@pytest.fixture
def warning_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(Warns()(inputs)))
"""


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_internal_warnings_are_summarised_once_and_the_users_own_are_shown(pytester):
    pytester.makepyfile(MODEL_FIXTURE + USER_WARNING_LAYER + """
def test_one(tf_roundtrip, warning_model):
    assert tf_roundtrip.check(warning_model, formats=["keras", "export"], max_examples=3).passed

def test_two(tf_roundtrip, model):
    assert tf_roundtrip.check(model, formats=["keras"], max_examples=3).passed
""")
    for extra in ((), ("-n", "2")):
        result = pytester.runpytest("-p", "no:cacheprovider", *extra)
        result.assert_outcomes(passed=2)
        output = result.stdout.str()
        assert "the user's own warning" in output  # raised in the user's code: shown as pytest shows warnings
        assert "__array__ implementation doesn't accept a copy keyword" not in output.split("tf-roundtrip summary")[0]
        summary = " ".join(output.split("tf-roundtrip summary")[1].split())  # wrapped to the terminal's width
        assert re.search(r"^-* \d+ warnings raised inside TensorFlow, Keras or a runtime during the checks not shown "
                         r"\(--tf-roundtrip-show-internal-warnings shows them\); the first: \w*Warning: ", summary), summary
        assert output.count("raised inside TensorFlow, Keras or a runtime") == 1  # once, also under xdist
    shown = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-show-internal-warnings")
    shown.assert_outcomes(passed=2)
    assert "raised inside TensorFlow, Keras or a runtime" not in shown.stdout.str()
    shown.stdout.fnmatch_lines(["*site-packages/keras/*Warning*"])


EVERY_CHECK = MODEL_FIXTURE + FORGETFUL + """
def test_sound(tf_roundtrip, model):
    tf_roundtrip.check(model, formats=["keras", "export", "onnx"], max_examples=3)

def test_broken(tf_roundtrip, broken):
    tf_roundtrip.check(broken, formats=["keras", "export", "onnx"], max_examples=3)

def test_custom_objects(tf_roundtrip, broken):
    tf_roundtrip.check_custom_objects(broken, formats=["keras", "export"], max_examples=2)

def test_resume(tf_roundtrip, model):
    model.compile(optimizer="adam", loss="mse")
    tf_roundtrip.check_resume_training(model, formats=["keras", "checkpoint"], seed=0)
"""


def test_every_check_reaches_the_matrix_the_json_file_and_junit_under_xdist(pytester, monkeypatch):
    import json
    import xml.etree.ElementTree as ET

    import jsonschema

    from pytest_tfroundtrip.results.json_report import SCHEMA_PATH

    pytester.makepyfile(test_every_check=EVERY_CHECK)
    monkeypatch.setenv("COLUMNS", "60")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--tf-roundtrip-json=out/checks.json",
                                           "--junitxml=out/junit.xml")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    matrix = output.split("tf-roundtrip summary")[1].split("short test summary")[0]
    assert matrix.count("4 checks: 2 passed, 2 failed") == 1  # once, by the controller
    for test in ("test_sound", "test_broken", "test_custom_objects [custom objects]", "test_resume [resume]"):
        assert f"test_every_check.py::{test}" in matrix
    assert all(len(line) <= 60 for line in matrix.splitlines()[1:] if "::" not in line and "raised inside" not in line and "JSON to" not in line)
    assert "checks written as JSON to" in output

    document = json.loads((pytester.path / "out" / "checks.json").read_text())
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    checks = {check["test"].split("::")[1]: check for check in document["checks"]}
    assert {name: checks[name]["kind"] for name in checks} == {
        "test_sound": "roundtrip", "test_broken": "roundtrip", "test_custom_objects": "custom_objects", "test_resume": "resume"}
    assert checks["test_sound"]["passed"] and not checks["test_broken"]["passed"]
    broken = {entry["label"]: entry for entry in checks["test_broken"]["formats"]}
    assert broken["keras"]["verdict"] == "failed" and broken["export"]["verdict"] == "passed"
    assert (pytester.path / "out").exists() and broken["keras"]["reproduce"].endswith("reproduce.py")
    assert document["summary"] == {"checks": 4, "passed": 2, "failed": 2}

    properties = {(case.get("name"), prop.get("name")): prop.get("value")
                  for case in ET.parse(pytester.path / "out" / "junit.xml").iter("testcase")
                  for prop in case.iter("property")}
    assert properties[("test_broken", "tf_roundtrip.roundtrip.keras")].startswith("failed; max_abs_error=")
    assert properties[("test_sound", "tf_roundtrip.roundtrip.onnx")].startswith("passed; max_abs_error=")
    assert properties[("test_resume", "tf_roundtrip.resume")].startswith("passed; 2 formats")


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_the_matrix_can_be_turned_off(pytester):
    pytester.makepyfile(MODEL_FIXTURE + """
def test_sound(tf_roundtrip, model):
    tf_roundtrip.check(model, formats=["keras"], max_examples=2)
""")
    assert "1 check: 1 passed" in pytester.runpytest("-p", "no:cacheprovider").stdout.str()
    for off in (["--tf-roundtrip-no-matrix"], ["-o", "tf_roundtrip_matrix=false"]):
        result = pytester.runpytest("-p", "no:cacheprovider", *off)
        result.assert_outcomes(passed=1)
        assert "1 check: 1 passed" not in result.stdout.str()
