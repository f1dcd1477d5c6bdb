"""Golden baselines (issue 9, work in progress): create, pass, model changed, artifact changed, corruption, update."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, RoundTripUsageError, check_baseline
from pytest_tfroundtrip.checks.baseline import _digest_of


def mlp(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])


@pytest.fixture
def baseline(tmp_path):
    with pytest.raises(RoundTripError, match=r"baseline 'mlp' created in .* KB\): commit it"):
        check_baseline(mlp(), tmp_path, "mlp", formats=["keras", "export"])
    return tmp_path / "mlp"


def test_a_stored_baseline_passes_for_the_same_model(baseline):
    report = check_baseline(mlp(), baseline.parent, "mlp")
    assert report.passed and [(r.format, r.status) for r in report.results] == [("export", "passed"), ("keras", "passed")]
    assert set(json.loads((baseline / "manifest.json").read_text())["written_by"]) >= {"python", "tensorflow", "keras"}


def test_a_changed_model_is_told_apart_from_a_changed_format(baseline):
    with pytest.raises(RoundTripError, match="the model changed, not the format") as caught:
        check_baseline(mlp(seed=1), baseline.parent, "mlp")
    assert "written by TensorFlow" in str(caught.value) and "read by TensorFlow" in str(caught.value)


def test_an_artifact_that_now_computes_something_else_is_a_format_change(baseline):
    # Stand-in for an upgrade that changes what the stored file computes: another model's file,
    # with the manifest's checksum updated, so only the numbers can tell.
    keras_file = baseline / "keras" / "model.keras"
    mlp(seed=2).save(keras_file)
    manifest = json.loads((baseline / "manifest.json").read_text())
    manifest["files"]["keras/model.keras"] = hashlib.sha256(keras_file.read_bytes()).hexdigest()
    manifest["manifest_sha256"] = _digest_of(manifest)
    (baseline / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RoundTripError, match=r"\[keras\] it loads but disagrees with the outputs stored"):
        check_baseline(mlp(), baseline.parent, "mlp")


def _flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("tamper, says", [
    (lambda b: _flip_a_byte(b / "outputs.npz"), "outputs.npz: changed"),
    (lambda b: (b / "inputs.npz").unlink(), "inputs.npz: missing"),
    (lambda b: (b / "keras" / "extra.py").write_text("print('hi')"), "keras/extra.py: not in the manifest"),
    (lambda b: (b / "keras" / "manifest.json").write_text("{}"), "keras/manifest.json: not in the manifest"),
])
def test_a_hand_edited_or_damaged_baseline_is_an_error_never_a_pass(baseline, tamper, says):
    tamper(baseline)
    with pytest.raises(RoundTripError, match="was modified since it was written") as caught:
        check_baseline(mlp(), baseline.parent, "mlp")
    assert says in str(caught.value)


def test_a_hand_edited_manifest_is_an_error_never_a_pass(baseline):
    manifest = json.loads((baseline / "manifest.json").read_text())
    manifest["formats"]["keras"]["tolerance_family"] = "tflite"  # a looser allowance, slipped in by hand
    (baseline / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RoundTripError, match=r"manifest.json: edited by hand \(its own checksum differs\)"):
        check_baseline(mlp(), baseline.parent, "mlp")


def test_asking_for_a_format_the_baseline_does_not_store_is_a_usage_error(baseline):
    with pytest.raises(RoundTripUsageError, match=r"stores no \['h5'\] \(it stores \['export', 'keras'\]\)"):
        check_baseline(mlp(), baseline.parent, "mlp", formats=["h5"])


def test_a_model_with_other_inputs_is_told_to_regenerate(baseline):
    two_inputs = keras.Model([a := keras.Input((8,)), b := keras.Input((8,))], keras.layers.Add()([a, b]))
    with pytest.raises(RoundTripError, match=r"written for a model with inputs \['input'\]; the model now has \['input_0', 'input_1'\]"):
        check_baseline(two_inputs, baseline.parent, "mlp")


def test_default_formats_the_model_cannot_be_saved_in_are_said_not_stored(tmp_path):
    import tensorflow as tf

    from tests.keras2_models import Doubler

    model = Doubler()  # tf_keras cannot write a subclassed model as HDF5
    model(np.zeros((1, 5), "float32"))
    with pytest.raises(RoundTripError) as caught:
        check_baseline(model, tmp_path, "sub", examples=2, input_signature=tf.TensorSpec((None, 5), tf.float32))
    assert "h5 not stored (saving failed" in str(caught.value)


def test_stored_keras_files_load_in_safe_mode_so_no_stored_lambda_runs(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2.0)])
    check_baseline(model, tmp_path, "lambda", formats=["keras", "h5", "export"], update=True)
    with pytest.raises(RoundTripError) as caught:
        check_baseline(model, tmp_path, "lambda")
    statuses = {r.format: r.status for r in caught.value.report.results}
    assert statuses == {"keras": "artifact failed to load", "h5": "artifact failed to load", "export": "passed"}
    assert all("arbitrary code execution" in r.detail for r in caught.value.report.results if r.format != "export")
    for stored in ("keras/model.keras", "h5/model.h5"):  # plain Keras refuses the same files
        with pytest.raises(ValueError, match="arbitrary code execution"):
            keras.models.load_model(tmp_path / "lambda" / stored)


def test_a_manifest_that_is_not_ours_is_a_usage_error(baseline):
    (baseline / "manifest.json").write_text("{not json")
    with pytest.raises(RoundTripUsageError, match="is not one this package wrote"):
        check_baseline(mlp(), baseline.parent, "mlp")


def test_update_rewrites_the_baseline_for_the_new_model_and_passes(baseline):
    written = check_baseline(mlp(seed=1), baseline.parent, "mlp", formats=["keras"], update=True)
    assert written.passed and written.status == "written"
    report = check_baseline(mlp(seed=1), baseline.parent, "mlp")
    assert [r.format for r in report.results] == ["keras"]
    assert np.load(baseline / "inputs.npz")["0/input"].shape[1] == 8


PYTESTER_BASELINE = """
import keras, pytest

def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])

def test_mlp(tf_roundtrip):
    tf_roundtrip.check_baseline(mlp(), formats=["keras", "export"])
"""


@pytest.mark.slow  # CI budget (100 s): examples/test_upgrade.py runs the fixture's baselines under pytest in CI, TF and JAX
def test_the_fixture_creates_then_compares_lists_unused_and_updates(pytester):
    pytester.makepyfile(test_models=PYTESTER_BASELINE)
    first = pytester.runpytest("-p", "no:cacheprovider")
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*baseline 'test_mlp' created in *tests/roundtrip_baselines/test_models/test_mlp*commit it*"])
    stored = pytester.path / "tests" / "roundtrip_baselines" / "test_models" / "test_mlp"
    assert (stored / "manifest.json").is_file() and (stored / "keras" / "model.keras").is_file()
    orphan = stored.parent / "test_removed_long_ago"
    orphan.mkdir()
    (orphan / "manifest.json").write_text("{}")
    second = pytester.runpytest("-p", "no:cacheprovider", "-n", "2")
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*test_models.py::test_mlp [[]baseline[]]*ok*pass*pass*",
                                 "1 baseline not used by any test of their module in this run*", f"  {orphan}"])
    assert str(stored) not in second.stdout.str().split("not used by any test")[1]
    updated = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-update-baselines")
    updated.assert_outcomes(passed=1)
    updated.stdout.fnmatch_lines(["1 baseline written on request (--tf-roundtrip-update-baselines or update=True): review and commit them", f"  {stored}"])


def test_baseline_records_are_valid_against_the_published_schema(tmp_path):
    import jsonschema

    from pytest_tfroundtrip.results import records
    from pytest_tfroundtrip.results.json_report import json_document

    schema = json.loads((Path(records.__file__).parent / "schema.json").read_text())
    records.COLLECTED.take()
    check_baseline(mlp(), tmp_path, "mlp", formats=["keras", "weights"], update=True)
    with pytest.raises(RoundTripError):
        check_baseline(mlp(seed=1), tmp_path, "mlp")
    written, failed = records.COLLECTED.take()
    assert written["baseline"] == "written" and written["passed"]
    assert failed["baseline"] == "failed" and {e["verdict"] for e in failed["formats"]} == {"failed"}
    assert failed["written_by"]["model_keras"] == f"keras {keras.__version__}"
    document = json.loads(json.dumps(json_document([dict(written, test="t.py::a"), dict(failed, test="t.py::b")]),
                                     allow_nan=False))
    jsonschema.validate(document, schema)


def test_a_baseline_never_replaces_a_directory_it_did_not_write(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.csv").write_text("1,2,3")
    with pytest.raises(RoundTripUsageError, match="exists and is not a baseline"):
        check_baseline(mlp(), tmp_path, "data", formats=["keras"], update=True)
    assert (tmp_path / "data" / "precious.csv").read_text() == "1,2,3"
    with pytest.raises(RoundTripUsageError, match="a baseline name is one directory name"):
        check_baseline(mlp(), tmp_path / "data", "../elsewhere", formats=["keras"])
