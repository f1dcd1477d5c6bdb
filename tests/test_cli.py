"""``tf-roundtrip check TARGET``: each target kind, each exit status, --help, JSON, progress."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap

import jsonschema
import keras
import pytest

from pytest_tfroundtrip.cli import FINDING, PASSED, USAGE_ERROR, build_parser, main
from pytest_tfroundtrip.results.json_report import SCHEMA_PATH
from tests.forgetful import forgetful_layer_source

MODELS_MODULE = "import keras\n" + forgetful_layer_source("cli_test") + textwrap.dedent("""

    def mlp():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])

    def broken():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs)))

    def not_a_model():
        return 42
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project directory with a module of model functions, as the working directory."""
    module = f"cli_models_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(MODELS_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path, module


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def _mlp() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])


@pytest.mark.parametrize("kind", ["keras", "h5", "savedmodel", "function"])
def test_each_target_kind_passes_with_the_matrix_and_progress(kind, project):
    directory, module = project
    target = {"keras": "mlp.keras", "h5": "mlp.h5", "savedmodel": "mlp_savedmodel", "function": f"{module}:mlp"}[kind]
    if kind == "savedmodel":
        _mlp().export(str(directory / target), verbose=False)
    elif kind != "function":
        _mlp().save(directory / target)
    status, output = run("check", target, "--formats", "savedmodel,export,onnx" if kind == "savedmodel" else "keras,export,onnx",
                         "--max-examples", "3", "--seed", "0", "--json", "out/checks.json")
    assert status == PASSED, output
    assert "[1/3] " in output and "[3/3] onnx ... passed" in output  # progress per format, one line each off a terminal
    # A passing cell shows its largest error as a share of its tolerance, whatever it is on this CPU (onnxruntime's
    # rounding differs between CPUs with and without AVX-512): what the product promises is a pass in every cell.
    row = next(line.split()[1:] for line in output.splitlines() if line.startswith(target))
    assert row[0] == "ok" and len(row) == 4 and all(re.fullmatch(r"0|<1%|\d{1,3}%", cell) for cell in row[1:]), output
    assert "1 check: 1 passed" in output
    document = json.loads((directory / "out" / "checks.json").read_text())
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    assert document["target"] == target and document["checks"][0]["test"] is None


def test_a_savedmodel_is_checked_by_default_in_the_formats_that_re_export_it(project):
    directory, _module = project
    _mlp().export(str(directory / "exported"), verbose=False)
    status, output = run("check", "exported", "--max-examples", "2", "--seed", "0", "--no-progress")
    assert status == PASSED, output
    header = next(line for line in output.splitlines() if line.startswith("model"))
    assert header.split()[1:] == ["check", "saved", "export", "tflite", "litert", "onnx", "openvino"]


def test_a_finding_exits_1_with_the_failure_and_its_reproduction(project):
    _directory, module = project
    status, output = run("check", f"{module}:broken", "--formats", "keras,export", "--max-examples", "3", "--seed", "0")
    assert status == FINDING
    assert "Round trip failed for 1 of 2 formats: keras" in output
    assert "Reproduce [keras] with plain calls" in output
    lines = output.splitlines()
    row = next(line for line in lines if line.startswith(f"{module}:broken"))
    assert row.split()[1:] == ["FAIL", "FAIL", "0"]
    # The FAIL cell's cause right under the matrix, not only hundreds of lines above it.
    assert lines[lines.index(row) + 1] == "failures:"
    failure = " ".join(lines[lines.index(row) + 2:lines.index("1 check: 0 passed, 1 failed")]).split()  # wrapped to the width
    assert re.fullmatch(rf"{module}:broken \[keras\]: output '\w+': \d+ of \d+ values differ by up to \S+ "
                        r"\(\S+x its tolerance\); first layer that differs: 'forgetful'",
                        " ".join(failure)), output


def test_a_pass_with_a_large_absolute_error_shows_its_share_of_the_tolerance(project):
    """Inputs of magnitude 1e5 make float32 rounding thousands off on a two-layer MLP, well within tolerance:
    the cell says how close it came to failing (a share of the tolerance), never the raw 2e+03 read as a failure.

    Which runtime rounds differently depends on the machine (TFLite's XNNPACK was thousands off on one CI
    machine and bit for bit on another; XLA under JAX differed on both): at least one of the two must.
    """
    directory, _module = project
    keras.utils.set_random_seed(0)
    keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(4)]).save(
        directory / "m.keras")
    status, output = run("check", "m.keras", "--formats", "keras,tflite,keras@jax", "--seed", "0", "--no-progress",
                         "--json", "m.json")
    assert status == PASSED, output
    (check,) = json.loads((directory / "m.json").read_text())["checks"]
    rounded = [entry for entry in check["formats"] if entry["label"] != "keras" and entry["max_abs_error"] > 100]
    assert rounded, check["formats"]
    assert all(entry["verdict"] == "passed" and 0 < entry["tolerance_used"] <= 1 for entry in rounded), rounded
    row = next(line for line in output.splitlines() if line.startswith("m.keras")).split()
    assert row[1:3] == ["ok", "0"] and all(re.fullmatch(r"<1%|\d{1,3}%|0", cell) for cell in row[3:]), output
    assert any(cell != "0" for cell in row[3:]), output


def test_a_saved_file_is_the_original_so_a_defect_already_saved_into_it_is_invisible(project):
    # What docs/cli.md says a saved file cannot prove: the factor was lost when the file was written.
    directory, module = project
    broken = __import__(module).broken()
    broken.save(directory / "broken.keras")
    script = [sys.executable, "-c", "from pytest_tfroundtrip.cli import main_exit; main_exit()", "check", "broken.keras"]
    # A fresh process: its custom class is not registered until --import imports the module.
    done = subprocess.run([*script, "--formats", "keras"], capture_output=True, text=True, cwd=directory, timeout=600)
    assert done.returncode == USAGE_ERROR and "Could not locate class 'Forgetful'" in done.stdout
    assert "pass --import with the module that registers them" in done.stdout
    done = subprocess.run([*script, "--import", module, "--formats", "keras", "--max-examples", "2"],
                          capture_output=True, text=True, cwd=directory, timeout=600)
    assert done.returncode == PASSED, done.stdout[-2000:]


@pytest.mark.parametrize("argv, says", [
    (["check", "missing.keras"], "TARGET 'missing.keras' does not exist"),
    (["check", "empty_dir"], "is a directory without saved_model.pb"),
    (["check", "notes.txt"], "is not a .keras or .h5 file, a SavedModel directory, package.module:function, path/to/file.py:function"),
    (["check", "no_such_module_anywhere:mlp"], "cannot import module 'no_such_module_anywhere'"),
    (["check", "{module}:missing"], "has no function 'missing'"),
    (["check", "{module}:not_a_model"], "returned int, not a Keras model"),
    (["check", "{module}:mlp", "--formats", "kerass"], "kerass"),
    (["check", "{module}:mlp", "--max-examples", "0"], "--max-examples must be >= 1, got 0"),
    (["check", "{module}:mlp", "--import", "no_such_module_anywhere"], "--import no_such_module_anywhere"),
])
def test_usage_errors_exit_2_and_say_what_was_received(argv, says, project):
    directory, module = project
    (directory / "empty_dir").mkdir()
    (directory / "notes.txt").write_text("not a model")
    status, output = run(*[a.format(module=module) for a in argv])
    assert status == USAGE_ERROR
    assert says.format(module=module) in output


def test_help_documents_every_option_with_its_default(capsys):
    parser = build_parser()
    check = parser._subparsers._group_actions[0].choices["check"]
    options = [action for action in check._actions if action.option_strings and action.dest != "help"]
    assert {o.dest for o in options} == {"formats", "max_examples", "seed", "reload_in", "workers", "json", "html", "imports", "artifacts_dir",
                                         "keep_artifacts", "no_twin", "no_progress", "no_color", "pretrained", "model_inputs", "fit"}
    for option in options:
        assert "Default:" in option.help, option.dest
    assert main(["check", "--help"]) == PASSED
    assert "Exit status: 0" in capsys.readouterr().out
    assert main(["check"]) == USAGE_ERROR  # no TARGET: argparse says so


def test_the_console_script_exits_with_the_status(project):
    directory, module = project
    script = [sys.executable, "-c", "from pytest_tfroundtrip.cli import main_exit; main_exit()"]
    done = subprocess.run([*script, "check", "missing.keras"], capture_output=True, text=True, cwd=directory)
    assert done.returncode == USAGE_ERROR and "does not exist" in done.stdout
    done = subprocess.run([*script, "check", f"{module}:broken", "--formats", "keras", "--max-examples", "2", "--seed", "0"],
                          capture_output=True, text=True, cwd=directory, timeout=600)
    assert done.returncode == FINDING, done.stdout[-2000:] + done.stderr[-2000:]
    assert "[1/1] keras ... failed" in done.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal_and_lines_elsewhere():
    from pytest_tfroundtrip.cli import ProgressDisplay
    from pytest_tfroundtrip.results.report import FormatResult

    for stream, bar in ((_Terminal(), True), (io.StringIO(), False)):
        display = ProgressDisplay(stream)
        display.format_started("keras", 1, 2)
        display.format_finished(FormatResult("keras", "passed"))
        display.format_started("onnx", 2, 2)
        display.format_finished(FormatResult("onnx", "skipped", not_applicable=True))
        text = stream.getvalue()
        if bar:
            assert "\r[----------" in text and "\r[##########----------] 2/2 onnx ..." in text
            assert "\ronnx: not applicable (" in text
        else:
            assert text.splitlines()[0].startswith("[1/2] keras ... passed (") and "\r" not in text
            assert text.splitlines()[1].startswith("[2/2] onnx ... not applicable (")
    quiet = io.StringIO()
    ProgressDisplay(quiet, enabled=False).format_started("keras", 1, 1)
    assert quiet.getvalue() == ""


def test_a_savedmodel_default_keeps_not_applicable_formats_from_failing(project):
    # Its default formats are a limited set, still chosen by default: a runtime that cannot take
    # the string lookup (onnx, openvino, in their own words) is "not applicable", not a finding (exit 0, not 1);
    # tflite's built-in hash-table ops take it.
    from tests import models

    directory, _module = project
    models.string_lookup_model().export(str(directory / "strings"), verbose=False)
    status, output = run("check", "strings", "--max-examples", "2", "--seed", "0", "--no-progress")
    assert status == PASSED, output
    row = next(line for line in output.splitlines() if line.startswith("strings "))
    assert row.split()[1:] == ["ok", "0", "0", "0", "0", "n/a(1)", "n/a(2)"]


def test_an_internal_error_exits_3_saying_it_is_ours_never_as_a_finding(project, monkeypatch):
    from pytest_tfroundtrip import cli
    from pytest_tfroundtrip.checks import roundtrip

    def crash(*args, **kwargs):
        raise OverflowError("Python integer 1000 out of bounds for uint8")

    monkeypatch.setattr(roundtrip, "prepare_subject", crash)
    _directory, module = project
    out = io.StringIO()
    status = cli.main(["check", f"{module}:mlp", "--formats", "keras", "--no-progress"], stdout=out)
    output = out.getvalue()
    assert status == cli.INTERNAL_ERROR == 3
    assert "internal error in pytest-tfroundtrip" in output and "not a finding about your model" in output
    assert "OverflowError" in output and "Round trip failed" not in output
