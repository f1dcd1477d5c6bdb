"""Results people read and keep: reproduction scripts, records, the JSON schema, the matrix layout."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, available_formats, check_roundtrip
from pytest_tfroundtrip.results import records
from pytest_tfroundtrip.results.json_report import SCHEMA_PATH, json_document
from pytest_tfroundtrip.results.matrix import MatrixRow, matrix_lines
from pytest_tfroundtrip.results.matrix_cells import tolerance_share
from tests import models

FORMAT_ORDER = ["keras", "h5", "savedmodel", "export", "weights", "checkpoint", "tflite", "litert", "onnx", "openvino"]


def forgetful_dict_model() -> keras.Model:
    """Two named inputs, two named outputs; get_config forgets the scale factor (Keras-reloading formats fail)."""
    keras.utils.set_random_seed(0)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    hidden = models.ForgetfulScale(4.0)(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, {"p": keras.layers.Dense(2, name="p")(hidden),
                                          "q": keras.layers.Dense(1, name="q")(hidden)})


def centring_model() -> keras.Model:
    """A Python branch on the batch size: every traced artifact centres a batch of one, the model does not."""
    model = models.with_layer(models.CentreUnlessSingleSample())
    model(np.zeros((2, 4), "float32"))  # Keras's ONNX export refuses a model never called
    return model


def _run_script(path, cwd) -> str:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def untracked_variable_model() -> keras.Model:
    """A raw tf.Variable in a layer: Keras's files (.keras, .h5, .weights.h5) do not hold it."""
    from tests.mutations import defect_layers

    return models.with_layer(defect_layers.raw_variable_gain())


def listed_weights_model() -> keras.Model:
    """Weights kept in a Python list: tf.train.Checkpoint restores nothing into them."""
    from tests.mutations import defect_layers

    return models.with_layer(defect_layers.listed_gains())


ON_BACKENDS = {name for name in available_formats() if "@" in name}  # keras@jax, weights@jax where JAX is installed


@pytest.mark.parametrize("build, failing", [
    # weights, checkpoint, weights@*: not judged (the config is at fault)
    # slow for CI's budget: test_defects and test_twin_conversions reproduce this defect's failure with plain Keras in CI
    pytest.param(forgetful_dict_model, {"keras", "h5"} | {name for name in ON_BACKENDS if name.startswith("keras@")},
                 marks=pytest.mark.slow),
    pytest.param(centring_model, {"savedmodel", "export", "tflite", "litert", "onnx", "openvino"}, marks=pytest.mark.slow),
    # weights, weights@*: not judged (the config rebuild given the weights in memory already differs: the control)
    pytest.param(untracked_variable_model, {"keras", "h5"} | {name for name in ON_BACKENDS if name.startswith("keras@")},
                 marks=pytest.mark.slow),  # CI keeps one of the four; -m slow runs them all
    (listed_weights_model, {"checkpoint"}),
], ids=["config-loses-an-argument", "trace-takes-another-branch", "untracked-variable", "checkpoint-restores-nothing"])
def test_each_failing_formats_script_reproduces_the_failure_with_plain_calls(build, failing, tmp_path):
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(build(), max_examples=10, seed=0, artifacts_dir=tmp_path)
    report, message = caught.value.report, str(caught.value)
    assert {r.format for r in report.failed} == failing
    first = report.failed[0]
    # The message ends with the first script in full; the others are named.
    assert message.rstrip().endswith(str(report.failed[-1].failure.reproduction)) or len(failing) == 1
    assert f"Reproduce [{first.format}] with plain calls (python {first.failure.reproduction}):" in message
    assert first.failure.reproduction_code.splitlines()[-1] in message
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for result in report.failed:
        code = result.failure.reproduction.read_text()
        assert "pytest_tfroundtrip" not in code.replace("found by pytest-tfroundtrip", "")  # plain calls only
        printed = _run_script(result.failure.reproduction, cwd=elsewhere)
        reproduced = [float(value) for value in re.findall(r"max abs error (\S+) at index", printed)]
        mismatched = result.failure.comparison.failures
        # Each output the check found differing differs by the same amount when the script runs (state the
        # format does not save, drawn again at random in the script's process, differs by another amount).
        for output in mismatched if build not in (untracked_variable_model, listed_weights_model) else ():
            line = next(line for line in printed.splitlines() if line.startswith(f"{output.output}:"))
            assert float(re.search(r"max abs error (\S+)", line).group(1)) == pytest.approx(output.max_abs_error, rel=1e-4), (
                result.format, printed)
        # Redrawn state differs by a random amount (once 0.008): enough that it is well beyond any tolerance.
        redrawn = build in (untracked_variable_model, listed_weights_model)
        assert max(reproduced) > (1e-4 if redrawn else 0.01), (result.format, printed)


def test_no_script_for_formats_that_passed_or_failed_to_save(tmp_path):
    report = check_roundtrip(models.mlp(), formats=["keras"], max_examples=3, seed=0, artifacts_dir=tmp_path)
    assert report.result_for("keras").failure is None
    assert not list(tmp_path.rglob("reproduce.py"))


def _failing_roundtrip_record(tmp_path) -> dict:
    records.COLLECTED.take()
    with pytest.raises(RoundTripError):
        check_roundtrip(centring_model(), formats=["keras", "export", "onnx"], max_examples=5, seed=0,
                        artifacts_dir=tmp_path)
    (record,) = records.COLLECTED.take()
    return record


def test_a_failing_check_records_verdicts_paths_and_figures(tmp_path):
    record = _failing_roundtrip_record(tmp_path)
    assert record["kind"] == "roundtrip" and record["passed"] is False
    assert record["model"].endswith("(Functional)") and record["seconds"] > 0
    by_label = {entry["label"]: entry for entry in record["formats"]}
    assert by_label["keras"]["verdict"] == "passed" and by_label["keras"]["max_abs_error"] == 0
    assert by_label["keras"]["tolerance_used"] == 0  # bit for bit
    export = by_label["export"]
    assert export["verdict"] == "failed" and export["stage"] == "mismatch" and export["max_abs_error"] > 0.01
    assert export["tolerance_used"] > 1  # beyond its tolerance, by that factor
    assert re.match(r"output '\w+': \d+ of \d+ values differ by up to \S+ \(\S+x its tolerance\)", export["cause"])
    assert f"by up to {export['max_abs_error']:.3g} ({export['tolerance_used']:.3g}x its tolerance)" in export["cause"]
    for key in ("failing_input", "reproduce", "artifact"):
        assert export[key] and __import__("pathlib").Path(export[key]).exists(), key
    assert set(export["timings"]) == {"save", "load", "compare"}


def test_records_are_valid_against_the_published_schema(tmp_path):
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    record = dict(_failing_roundtrip_record(tmp_path), test="tests/x.py::test_y")
    document = json.loads(json.dumps(json_document([record]), allow_nan=False))
    jsonschema.validate(document, schema)
    assert document["summary"] == {"checks": 1, "passed": 0, "failed": 1}
    assert document["versions"]["tensorflow"] and document["versions"]["keras"] == keras.__version__
    broken = json.loads(json.dumps(document))
    broken["checks"][0]["formats"][0]["verdict"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_not_applicable_and_error_verdicts_are_told_apart_from_failures():
    string_model = models.string_lookup_model()
    records.COLLECTED.take()
    check_roundtrip(string_model, max_examples=3, seed=0)  # onnx/openvino cannot take string inputs
    (record,) = records.COLLECTED.take()
    verdicts = {entry["label"]: entry["verdict"] for entry in record["formats"]}
    assert verdicts["onnx"] == verdicts["openvino"] == "not_applicable"
    assert all(v in records.VERDICTS for v in verdicts.values())


def _record(*cells: tuple[str, str]) -> dict:
    formats = []
    for label, verdict in cells:
        entry = {"label": label, "verdict": verdict, "max_abs_error": 3.2e-7, "tolerance_used": 0.02}
        if verdict in ("skipped", "not_applicable"):
            entry["reason"] = f"a long reason why {label} was {verdict}, long enough that the footnote must wrap on a narrow terminal"
        if verdict in ("failed", "error"):
            entry["message"] = f"[{label}] {verdict} because of something\nand more lines"
        formats.append(entry)
    return {"kind": "roundtrip", "passed": all(v in ("passed", "skipped", "not_applicable") for _l, v in cells),
            "formats": formats}


def _text(lines) -> list[str]:
    return ["".join(text for text, _colour in line).rstrip() for line in lines]


def test_the_matrix_shows_every_verdict_with_footnotes_causes_and_colours():
    rows = [MatrixRow("tests/test_a.py::test_mlp", _record(("keras", "passed"), ("onnx", "not_applicable"))),
            MatrixRow("tests/test_a.py::test_broken", _record(("keras", "failed"), ("onnx", "error"))),
            MatrixRow("tests/test_a.py::test_missing", _record(("keras", "passed"), ("onnx", "skipped")))]
    lines = matrix_lines(rows, FORMAT_ORDER, width=100)
    text = _text(lines)
    assert text[0].split() == ["model", "check", "keras", "onnx"]
    assert text[1].split() == ["tests/test_a.py::test_mlp", "ok", "2%", "n/a(1)"]  # a pass: its share of the tolerance
    assert text[2].split() == ["tests/test_a.py::test_broken", "FAIL", "FAIL", "error"]
    assert text[3].split() == ["tests/test_a.py::test_missing", "ok", "2%", "skip(2)"]
    # Each FAIL and error cell's cause right under the table, before the footnotes.
    assert text[4:7] == ["failures:", "  tests/test_a.py::test_broken [keras]: failed because of something",
                         "  tests/test_a.py::test_broken [onnx]: error because of something"]
    assert text[7].startswith("(1) onnx: a long reason why onnx was not_applicable")
    assert "3 checks: 2 passed, 1 failed" in text
    colours = {segment[0].strip(): segment[1] for line in lines for segment in line if segment[0].strip()}
    assert colours["FAIL"] == colours["error"] == "red" and colours["2%"] == "green" and colours["n/a(1)"] == "yellow"
    assert colours["ok"] == "green"


def test_a_pass_shows_how_close_it_came_to_failing_not_its_absolute_error():
    """4e+03 off on outputs of 1e8 is 2% of the tolerance: the cell says 2%, never 4e+03 (read as a failure)."""
    record = _record(("keras", "passed"), ("export", "passed"), ("litert[f16]", "passed"), ("h5", "passed"))
    by_label = {entry["label"]: entry for entry in record["formats"]}
    by_label["keras"].update(max_abs_error=0.0, tolerance_used=0.0)
    by_label["export"].update(max_abs_error=4e3, tolerance_used=0.021)
    by_label["litert[f16]"]["quantized"] = [{"output": "y", "argmax_agreement": 1.0}]  # judged by its own figures
    del by_label["h5"]["tolerance_used"]  # a file of an older version: no share recorded
    (cells,) = [line.split() for line in _text(matrix_lines([MatrixRow("test_mlp", record)], FORMAT_ORDER))[1:2]]
    assert cells == ["test_mlp", "ok", "0", "pass", "2%", "pass"]
    assert tolerance_share(0.0) == "0" and tolerance_share(1e-9) == "<1%" and tolerance_share(1.0) == "100%"
    assert all("e+" not in line for line in _text(matrix_lines([MatrixRow("test_mlp", record)], FORMAT_ORDER)))


def test_a_check_that_failed_with_every_format_passing_shows_it_in_its_check_column_and_its_finding():
    findings_only = dict(_record(("keras", "passed")), passed=False, kind="custom_objects",
                         findings=["Scale 'scale': 'factor' is missing from get_config()"])
    text = _text(matrix_lines([MatrixRow("test_layer", findings_only)], FORMAT_ORDER))
    assert text[1].split() == ["test_layer", "[custom", "objects]", "FAIL", "2%"]
    assert text[2:4] == ["failures:", "  test_layer [custom objects]: Scale 'scale': 'factor' "
                                      "is missing from get_config()"]


EVERY_FORMAT = FORMAT_ORDER + ["keras@jax", "weights@jax"]


def _lines_fit(text: list[str], names: set[str], width: int) -> bool:
    """Every line within ``width``, but a line holding a whole test id (never cut)."""
    return all(len(line) <= width or any(name in line for name in names) for line in text)


def test_fourteen_format_columns_fit_a_100_column_terminal_in_one_table():
    """Two backend formats and a quantized build: 14 columns, once printed as two tables; now one, grouped."""
    every = [(name, "passed") for name in EVERY_FORMAT] + [("litert[float16]", "passed")]
    rows = [MatrixRow(f"examples/test_case.py::test_model_{index}", _record(*every)) for index in range(10)]
    rows[3] = MatrixRow(rows[3].name, _record(*[(name, "failed" if name == "keras@jax" else "passed") for name, _v in every]))
    text = _text(matrix_lines(rows, FORMAT_ORDER, width=100))
    assert _lines_fit(text, {row.name for row in rows}, 100), text
    headers = [line for line in text if line.startswith("model")]
    assert len(headers) == 1, text  # one table
    assert headers[0].split() == ["model", "check", "keras", "h5", "saved", "export", "weights", "ckpt", "tflite",
                                  "litert", "litert", "onnx", "openvino", "keras", "weights"]
    above = text[text.index(headers[0]) - 1]  # the backend and quantization over their columns
    assert above.split() == ["[f16]", "@jax"]
    assert above.index("@jax") == headers[0].index(" keras ", headers[0].index("openvino")) + 1
    assert above.index("[f16]") == headers[0].index("litert", headers[0].index("litert") + 1)
    assert "  examples/test_case.py::test_model_3 [keras@jax]: failed because of something" in text
    assert any("a column under @backend" in line for line in text)


def test_the_matrix_fits_a_narrow_terminal():
    every_format = [(name, "passed") for name in EVERY_FORMAT] + [("litert[int8]", "not_applicable")]
    rows = [MatrixRow(f"tests/test_real_models_with_a_long_file_name.py::test_model[{name}]", _record(*every_format))
            for name in ("EfficientNetB0", "ResNet50")]
    names = {row.name for row in rows}
    for width in (100, 80, 60, 40):
        text = _text(matrix_lines(rows, FORMAT_ORDER, width=width))
        assert _lines_fit(text, names, width), (width, text)
        for name in names:  # a test id too long for the name column gets a line of its own, never cut
            assert any(line.endswith(name) for line in text), (width, name)
        if width == 100:  # formats as columns, in one table
            assert len([line for line in text if line.startswith("model")]) == 1, text
        else:  # turned: a row per format, a column per check, named in a key above it
            assert text[:2] == [f"#1 {rows[0].name}", f"#2 {rows[1].name}"] and text[2].split() == ["format", "#1", "#2"]
            assert [line.split()[0] for line in text[3:3 + len(every_format) + 1]] == (
                ["check", "keras", "h5", "saved", "export", "weights", "ckpt", "tflite", "litert", "litert[i8]",
                 "onnx", "openvino", "keras@jax", "weights@jax"])
    many = [MatrixRow(f"{row.name}-{index}", row.record) for index in range(12) for row in rows]
    for width in (60, 40):  # too many checks to turn: the formats split over tables, each within the width
        text = _text(matrix_lines(many, FORMAT_ORDER, width=width))
        assert _lines_fit(text, {row.name for row in many}, width), (width, text)
        headers = [line for line in text if line.startswith("model")]
        assert len(headers) > 1 and sum(len(h.split()) - 1 for h in headers) == len(every_format) + 1


def test_one_check_turns_when_its_formats_do_not_fit():
    every = [(name, "passed") for name in EVERY_FORMAT]
    text = _text(matrix_lines([MatrixRow("mlp.keras", _record(*every))], FORMAT_ORDER, width=60))
    assert text[0].split() == ["format", "mlp.keras"] and text[1].split() == ["check", "ok"]
    assert text[2].split() == ["keras", "2%"] and len([line for line in text if line.endswith(" 2%")]) == len(every)


def test_a_format_every_check_skipped_for_one_reason_gets_no_column():
    """keras@torch where torch is not installed: a column of skip(1) says nothing about any check."""
    rows = [MatrixRow(f"test_{index}", _record(("keras", "passed"), ("keras@torch", "skipped"), ("weights@torch", "skipped"),
                                               ("onnx", "skipped" if index else "passed")))
            for index in range(3)]
    for row in rows:  # one reason, as the plugin gives it for a runtime that is not installed
        for entry in row.record["formats"]:
            if entry["label"].endswith("@torch"):
                entry["reason"] = "torch is not installed (name 'keras@torch' in formats= to see it fail)"
    text = _text(matrix_lines(rows, FORMAT_ORDER, width=100))
    assert text[0].split() == ["model", "check", "keras", "onnx"]  # onnx ran in one check: it keeps its column
    assert "not run here (no column): keras@torch, weights@torch: torch is not installed" in text


def test_junit_properties_carry_the_key_figures():
    from pytest_tfroundtrip.results.junit import junit_properties

    record = _record(("keras", "passed"), ("onnx", "failed"))
    record["seconds"] = 2.0
    properties = dict(junit_properties([record, record]))
    assert properties["tf_roundtrip.roundtrip"] == "failed; 2 formats; 2 s"
    assert properties["tf_roundtrip.roundtrip.keras"] == "passed; max_abs_error=3.2e-07"
    assert properties["tf_roundtrip.roundtrip[1].onnx"] == "failed; max_abs_error=3.2e-07"


def test_a_load_failure_is_reproduced_by_loading_the_kept_artifact(tmp_path):
    # Legacy HDF5 cannot rebuild a masked RNN (tests/test_defects.py reproduces it with plain Keras too).
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(models.masked_rnn(), formats=["keras", "h5"], max_examples=3, seed=0, artifacts_dir=tmp_path)
    failure = caught.value.report.result_for("h5").failure
    assert failure.stage == "load" and failure.reproduction is not None
    assert "keras.models.load_model(" in failure.reproduction_code and "inputs" not in failure.reproduction_code
    assert str(caught.value).rstrip().endswith(failure.reproduction_code.rstrip().splitlines()[-1])
    done = subprocess.run([sys.executable, str(failure.reproduction)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "Unknown layer: 'NotEqual'" in done.stderr
    assert "did not reproduce" not in done.stdout


def test_among_formats_limits_the_default_choice_without_naming_the_formats():
    from pytest_tfroundtrip.formats import AmongFormats

    report = check_roundtrip(models.string_lookup_model(), formats=AmongFormats(("keras", "onnx")), max_examples=2, seed=0)
    assert [r.format for r in report.results] == ["keras", "onnx"]
    assert report.result_for("onnx").not_applicable and report.result_for("keras").passed
    with pytest.raises(RoundTripError):  # named, the same format is a failure
        check_roundtrip(models.string_lookup_model(), formats=["keras", "onnx"], max_examples=2, seed=0)
