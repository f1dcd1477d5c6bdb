"""``tf-roundtrip merge``: the JSON files of a suite's shards joined equal one unsharded run of it.

The shard files are real: one suite run by pytest as CI jobs would (two ``-k`` shards and
the whole suite, each its own process, in parallel), once for this module.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from pytest_tfroundtrip.cli import FINDING, PASSED, USAGE_ERROR, build_parser, main
from pytest_tfroundtrip.results.json_report import SCHEMA_PATH, json_document, write_json_report
from tests.forgetful import forgetful_layer_source

SUITE = '''
import keras
import pytest

pytestmark = pytest.mark.tf_roundtrip(seed=0)


''' + forgetful_layer_source("merge_test_defect") + '''


def mlp(units):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)], name=f"mlp{units}")


def test_alpha(tf_roundtrip):
    tf_roundtrip.check(mlp(2))


def test_beta_checks_two_models(tf_roundtrip):
    tf_roundtrip.check(mlp(3))  # ran first: stays first, although mlp2 sorts before it
    tf_roundtrip.check(mlp(2))


@pytest.mark.parametrize("units", [1, 4])
def test_gamma(tf_roundtrip, units):
    tf_roundtrip.check(mlp(units))


def test_forgotten_argument(tf_roundtrip):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    tf_roundtrip.check(keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs)), name="forgetful"))


def test_without_a_check():
    pass
'''
SHARDS = {"shard-1": ["-k", "alpha or forgotten"], "shard-2": ["-k", "not alpha and not forgotten"], "unsharded": []}
COLUMNS = "100"
PATH_KEYS = ("artifacts_dir", "artifact", "failing_input", "reproduce")


@dataclass(frozen=True)
class Runs:
    """The suite's files: each run's JSON, JUnit and output, under ``directory``."""

    directory: Path

    def json(self, run: str) -> Path:
        return self.directory / run / "checks.json"

    def junit(self, run: str) -> Path:
        return self.directory / run / "junit.xml"

    def output(self, run: str) -> str:
        return (self.directory / run / "output.txt").read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    directory = tmp_path_factory.mktemp("sharded-suite")
    (directory / "test_sharded_suite.py").write_text(SUITE)
    environment = dict(os.environ, COLUMNS=COLUMNS, TF_CPP_MIN_LOG_LEVEL="2")
    processes = {}
    for run, selection in SHARDS.items():
        (directory / run).mkdir()
        # Reloading in this process: where artifacts reload is not what merge is about, and no worker interpreters start.
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *selection,
                "--tf-roundtrip-formats=keras", "--tf-roundtrip-max-examples=2", "--tf-roundtrip-reload-in=process",
                f"--basetemp={directory / run / 'tmp'}",
                f"--tf-roundtrip-json={run}/checks.json", f"--junitxml={run}/junit.xml", "test_sharded_suite.py"]
        with open(directory / run / "output.txt", "w") as output:  # the processes run side by side, as CI jobs do
            processes[run] = subprocess.Popen(argv, cwd=directory, env=environment, stdout=output, stderr=subprocess.STDOUT)
    for run, process in processes.items():
        expected = 0 if run == "shard-2" else 1  # test_forgotten_argument fails where it runs
        assert process.wait(timeout=600) == expected, (directory / run / "output.txt").read_text()[-3000:]
    return Runs(directory)


def merge(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    return main(["merge", *map(str, argv)], stdout=out), out.getvalue()


def matrix_of(output: str) -> list[str]:
    """The matrix lines of pytest's summary or of merge's output: from its header to the legend's end."""
    lines = [line.rstrip() for line in output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("model "))
    legend = next(i for i, line in enumerate(lines) if line.startswith("check: the check's verdict"))
    end = next((i for i in range(legend + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return lines[start:end]


def numbering_aside(lines: list[str]) -> list[str]:
    """Lines without Keras's auto-numbering of layer names (``dense_5``), which counts the models a process built:
    the failures line and a check's ``cause`` name the differing output."""
    return [re.sub(r"'(\w+?)_\d+'", r"'\1_N'", line) for line in lines]


def comparable(check: dict) -> dict:
    """A check without what differs between two runs of the same test: times, temporary paths and auto-numbered names."""
    check = {key: ("<path>" if key in PATH_KEYS and value else value) for key, value in check.items() if key != "seconds"}
    # failure_text and cause name outputs as Keras numbered them ('dense_5'), which depends on the models built before.
    check["formats"] = [{key: ("<path>" if key in PATH_KEYS and value else numbering_aside([value])[0] if key == "cause"
                               else value) for key, value in entry.items() if key not in ("timings", "failure_text")}
                        for entry in check["formats"]]
    return check


def junit_cases(path: Path) -> dict[tuple[str, str], tuple[list[tuple[str, str]], bool]]:
    """Per testcase that carries check properties: its properties (without the seconds) and whether it failed."""
    cases = {}
    for case in ET.parse(path).iter("testcase"):
        properties = [(p.get("name"), re.sub(r"; [0-9.e+-]+ s$", "", p.get("value"))) for p in case.iter("property")]
        if properties:
            cases[(case.get("classname"), case.get("name"))] = (properties, case.find("failure") is not None)
    return cases


def without_created(document: dict) -> dict:
    return {key: value for key, value in document.items() if key != "created"}


def test_merged_shards_are_the_unsharded_run_matrix_json_and_junit(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", COLUMNS)
    status, output = merge(runs.json("shard-2"), runs.json("shard-1"), "--json", tmp_path / "merged.json",
                           "--junit", tmp_path / "junit.xml")
    assert status == FINDING, output  # test_forgotten_argument's check failed
    assert output.startswith("tf-roundtrip: merged 2 files: 6 checks\n") and "warning" not in output
    assert numbering_aside(matrix_of(output)) == numbering_aside(matrix_of(runs.output("unsharded")))
    assert "6 checks: 5 passed, 1 failed" in matrix_of(output)

    merged = json.loads((tmp_path / "merged.json").read_text())
    jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))
    whole = json.loads(runs.json("unsharded").read_text())
    by_test = sorted(whole["checks"], key=lambda check: check["test"])  # stable: a test's checks in the order they ran
    assert [comparable(check) for check in merged["checks"]] == [comparable(check) for check in by_test]
    assert [check["model"] for check in merged["checks"][1:3]] == ["mlp3 (Sequential)", "mlp2 (Sequential)"]
    assert merged["summary"] == whole["summary"] == {"checks": 6, "passed": 5, "failed": 1}
    assert merged["versions"] == whole["versions"] and merged["warnings"] == []
    shards = [json.loads(runs.json(run).read_text()) for run in ("shard-1", "shard-2")]
    assert merged["merged_from"] == [  # in the order of their first test id, whatever the order named
        {"file": str(runs.json(run)), "created": shard["created"], "versions": shard["versions"],
         "summary": shard["summary"], "tests": sorted({check["test"] for check in shard["checks"]})}
        for run, shard in zip(("shard-1", "shard-2"), shards)]

    cases = junit_cases(tmp_path / "junit.xml")
    assert cases == junit_cases(runs.junit("unsharded"))
    assert len(cases) == 5 and cases[("test_sharded_suite", "test_forgotten_argument")][1] is True
    failure = ET.parse(tmp_path / "junit.xml").find(".//failure")
    assert failure.get("message") == "1 of 1 tf-roundtrip checks failed: keras" and "outputs differ" in failure.text


def test_the_order_of_the_files_does_not_matter(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", COLUMNS)
    # A third shard: shard-2's gamma checks in a file of their own (real records, as a -k "gamma" job writes them).
    shard = json.loads(runs.json("shard-2").read_text())
    gamma = [check for check in shard["checks"] if "gamma" in check["test"]]
    rest = [check for check in shard["checks"] if "gamma" not in check["test"]]
    files = [runs.json("shard-1"), write_json_report(tmp_path / "beta.json", rest),
             write_json_report(tmp_path / "gamma.json", gamma)]
    results = []
    for index, order in enumerate(itertools.permutations(files)):
        status, output = merge(*order, "--json", tmp_path / f"{index}.json", "--junit", tmp_path / f"{index}.xml")
        results.append((status, output.replace(f"{index}.json", "N.json").replace(f"{index}.xml", "N.xml"),
                        without_created(json.loads((tmp_path / f"{index}.json").read_text())),
                        (tmp_path / f"{index}.xml").read_text()))
    assert len(results) == 6 and all(result == results[0] for result in results[1:])
    status, output, document, _junit = results[0]
    assert status == FINDING and document["summary"] == {"checks": 6, "passed": 5, "failed": 1}
    assert numbering_aside(matrix_of(output)) == numbering_aside(matrix_of(runs.output("unsharded")))
    assert [part["file"] for part in document["merged_from"]] == [str(runs.json("shard-1")), str(files[1]), str(files[2])]


def test_a_merged_file_merges_again_into_the_same_document(runs, tmp_path):
    assert merge(runs.json("shard-1"), "--json", tmp_path / "first.json")[0] == FINDING
    _status, output = merge(tmp_path / "first.json", runs.json("shard-2"), "--json", tmp_path / "again.json")
    merge(runs.json("shard-1"), runs.json("shard-2"), "--json", tmp_path / "direct.json")
    again, direct = (without_created(json.loads((tmp_path / name).read_text())) for name in ("again.json", "direct.json"))
    assert again == direct  # merged_from names the shards, not the intermediate file
    assert "merged 2 files: 6 checks" in output


def test_exit_status_is_0_when_every_merged_check_passed_1_on_a_failure_2_on_a_usage_error(runs, capsys):
    status, output = merge(runs.json("shard-2"))
    assert status == PASSED and "4 checks: 4 passed" in output
    assert merge(runs.json("shard-1"))[0] == FINDING
    assert merge()[0] == USAGE_ERROR  # no FILE: argparse says so
    assert main(["merge", "--help"]) == PASSED
    assert "Exit status: 0 every merged check passed" in capsys.readouterr().out
    merge_parser = build_parser()._subparsers._group_actions[0].choices["merge"]
    for option in (action for action in merge_parser._actions if action.option_strings and action.dest != "help"):
        assert "Default:" in option.help, option.dest


def test_a_file_of_another_schema_version_is_refused_saying_how_to_fix_it(runs, tmp_path):
    document = json.loads(runs.json("shard-2").read_text())
    document.update(schema_version=2, versions=dict(document["versions"], **{"pytest-tfroundtrip": "9.0.0"}))
    (tmp_path / "future.json").write_text(json.dumps(document))
    status, output = merge(runs.json("shard-1"), tmp_path / "future.json", "--json", tmp_path / "merged.json")
    assert status == USAGE_ERROR
    assert f"{tmp_path / 'future.json'} has schema_version 2 (written by pytest-tfroundtrip 9.0.0)" in output
    assert "merges schema_version 1: re-run that shard with this version of pytest-tfroundtrip" in output
    assert not (tmp_path / "merged.json").exists()  # nothing half-merged is written


@pytest.mark.parametrize("content, says", [
    ('<?xml version="1.0"?><testsuites/>', "is not JSON (Expecting value at line 1, column 1); received: '<?xml"),
    ("", "is not JSON (Expecting value at line 1, column 1); received: an empty file"),
    ('{"checks": [', "is not JSON (Expecting value at line 1, column 13)"),
    ("[1, 2]", "is not a pytest-tfroundtrip JSON report: received a JSON array"),
    ('{"created": 1, "tests": []}', "received an object with no 'tool' (keys: created, tests)"),
    ('{"tool": "pytest-json-report"}', "received an object with 'tool': 'pytest-json-report'"),
    ('{"tool": "pytest-tfroundtrip", "schema_version": 1}', "lacks created, versions, summary, checks as schema_version 1 requires them"),
    (json.dumps(json_document([{"kind": "roundtrip", "passed": True, "formats": []}])),
     "check 0 lacks model, seconds, artifacts_dir as schema_version 1 requires them"),
    (json.dumps(dict(json_document([]), versions="2.16")), "lacks versions as schema_version 1 requires them"),
    (json.dumps(dict(json_document([]), merged_from=[{"file": "a.json"}])), "lacks a well-formed merged_from as"),
    (json.dumps(json_document([{"kind": "roundtrip", "passed": True, "formats": [], "model": None, "seconds": 1.0,
                                "artifacts_dir": None, "test": None}])),
     "check 0 has neither a test id nor a target, so it has no row to go in"),
])
def test_a_file_that_is_not_a_shard_report_is_refused_saying_what_was_received(runs, tmp_path, content, says):
    (tmp_path / "other.json").write_text(content)
    status, output = merge(runs.json("shard-1"), tmp_path / "other.json")
    assert status == USAGE_ERROR, output
    assert output.startswith(f"tf-roundtrip: error: {tmp_path / 'other.json'}") and says in output, output


def test_a_missing_file_or_a_directory_is_refused(runs, tmp_path):
    status, output = merge(runs.json("shard-1"), tmp_path / "shard-3.json")
    assert status == USAGE_ERROR
    assert f"{tmp_path / 'shard-3.json'} does not exist (expected the JSON file a shard wrote with pytest --tf-roundtrip-json=PATH " \
           "or tf-roundtrip check TARGET --json PATH)" in output
    status, output = merge(tmp_path)
    assert status == USAGE_ERROR and "is a directory, not a JSON file" in output


def test_a_test_in_two_shards_is_refused_not_de_duplicated(runs, tmp_path):
    retried = tmp_path / "shard-1-retry.json"
    retried.write_text(runs.json("shard-1").read_text())
    status, output = merge(runs.json("shard-1"), runs.json("shard-2"), retried, "--json", tmp_path / "merged.json")
    assert status == USAGE_ERROR
    assert "2 test ids are in more than one file, so the shards overlap: " \
           f"test_sharded_suite.py::test_alpha ({runs.json('shard-1')}, {retried}); " \
           f"test_sharded_suite.py::test_forgotten_argument ({runs.json('shard-1')}, {retried})" in output
    assert "Each test must run in exactly one shard" in output and "name only the retry's file" in output
    assert not (tmp_path / "merged.json").exists()
    status, output = merge(runs.json("shard-1"), runs.json("shard-1"))
    assert status == USAGE_ERROR and "is named twice" in output


def test_shards_run_with_different_versions_merge_with_a_warning_kept_in_the_document(runs, tmp_path):
    document = json.loads(runs.json("shard-2").read_text())
    document["versions"].update(tensorflow="2.16.1", onnxruntime=None)
    (tmp_path / "older.json").write_text(json.dumps(document))
    outputs = []
    for order in ((runs.json("shard-1"), tmp_path / "older.json"), (tmp_path / "older.json", runs.json("shard-1"))):
        status, output = merge(*order, "--json", tmp_path / "merged.json")
        outputs.append(output)
        assert status == FINDING
        merged = json.loads((tmp_path / "merged.json").read_text())
        jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))
        first = json.loads(runs.json("shard-1").read_text())["versions"]
        assert merged["versions"] == first  # the first shard's: shard-1 holds the first test id
        assert [part["versions"]["tensorflow"] for part in merged["merged_from"]] == [first["tensorflow"], "2.16.1"]
        (warning,) = merged["warnings"]
        assert warning.startswith(f"shards ran with different versions: onnxruntime {first['onnxruntime']} "
                                  f"({runs.json('shard-1')}), not installed ({tmp_path / 'older.json'}); "
                                  f"tensorflow {first['tensorflow']} ({runs.json('shard-1')}), 2.16.1 ({tmp_path / 'older.json'})")
        assert f"the document's versions are those of {runs.json('shard-1')}" in warning
        assert f"tf-roundtrip: warning: {warning}" in output
    assert outputs[0] == outputs[1]


def test_merge_does_not_import_tensorflow_or_keras(runs, tmp_path):
    code = ("import sys; from pytest_tfroundtrip.cli import main; "
            f"status = main(['merge', {str(runs.json('shard-1'))!r}, {str(runs.json('shard-2'))!r}, "
            f"'--json', {str(tmp_path / 'merged.json')!r}, '--junit', {str(tmp_path / 'junit.xml')!r}]); "
            "print('status', status, sorted(m for m in ('tensorflow', 'keras', 'hypothesis') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().endswith("status 1 []"), done.stdout + done.stderr
    assert (tmp_path / "merged.json").exists() and (tmp_path / "junit.xml").exists()


# --- files of tf-roundtrip check: one per checked model, keyed by target --------------------------------------------

CHECKED_MODELS = '''
import keras


''' + forgetful_layer_source("merge_check_defect") + '''


def broken():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs)), name="forgetful")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="mlp").save("mlp.keras")
'''
CHECK_JOBS = {"mlp": "mlp.keras", "broken": "checked_models.py:broken"}


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> Path:
    """Two real ``tf-roundtrip check --json`` runs side by side, as two CI jobs would: a passing file and a failing one."""
    directory = tmp_path_factory.mktemp("checked-models")
    (directory / "checked_models.py").write_text(CHECKED_MODELS)
    environment = dict(os.environ, COLUMNS=COLUMNS, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "checked_models.py"], cwd=directory, env=environment, check=True, timeout=300)
    processes = {}
    for job, target in CHECK_JOBS.items():
        argv = [sys.executable, "-c", "from pytest_tfroundtrip.cli import main_exit; main_exit()", "check", target,
                "--formats", "keras,export", "--max-examples", "2", "--seed", "0", "--reload-in", "process",
                "--no-progress", "--json", f"{job}.json"]
        with open(directory / f"{job}.txt", "w") as output:
            processes[job] = subprocess.Popen(argv, cwd=directory, env=environment, stdout=output, stderr=subprocess.STDOUT)
    for job, process in processes.items():
        assert process.wait(timeout=600) == (FINDING if job == "broken" else PASSED), (directory / f"{job}.txt").read_text()
    return directory


def test_files_of_tf_roundtrip_check_merge_into_one_matrix_keyed_by_target(checked, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", COLUMNS)
    status, output = merge(checked / "mlp.json", checked / "broken.json", "--json", tmp_path / "merged.json",
                           "--junit", tmp_path / "junit.xml")
    assert status == FINDING, output  # the broken model's keras round trip failed
    assert output.startswith("tf-roundtrip: merged 2 files: 2 checks\n"), output
    matrix = matrix_of(output)
    assert matrix[0].split() == ["model", "check", "keras", "export"]
    # One row per target, in target order, with the cells its own run printed.
    for job, target in sorted(CHECK_JOBS.items(), key=lambda item: item[1]):
        row = next(line for line in matrix if line.startswith(target + " "))
        own = next(line for line in (checked / f"{job}.txt").read_text().splitlines() if line.startswith(target + " "))
        assert row.split() == own.split(), (row, own)
    assert [line.split()[0] for line in matrix[1:3]] == ["checked_models.py:broken", "mlp.keras"]
    assert "failures:" in matrix and any(line.startswith("  checked_models.py:broken [keras]:") for line in matrix)
    assert "2 checks: 1 passed, 1 failed" in matrix

    merged = json.loads((tmp_path / "merged.json").read_text())
    jsonschema.validate(merged, json.loads(SCHEMA_PATH.read_text()))
    assert [(check["test"], check["target"], check["passed"]) for check in merged["checks"]] == [
        (None, "checked_models.py:broken", False), (None, "mlp.keras", True)]
    assert merged["summary"] == {"checks": 2, "passed": 1, "failed": 1} and "target" not in merged
    assert [(part["file"], part["target"], part["tests"]) for part in merged["merged_from"]] == [
        (str(checked / "broken.json"), "checked_models.py:broken", ["checked_models.py:broken"]),
        (str(checked / "mlp.json"), "mlp.keras", ["mlp.keras"])]
    for job in CHECK_JOBS:  # each job's check, unchanged but for its target
        (own,) = json.loads((checked / f"{job}.json").read_text())["checks"]
        assert own in merged["checks"]
    cases = junit_cases(tmp_path / "junit.xml")
    assert set(cases) == {("tf-roundtrip check", "checked_models.py:broken"), ("tf-roundtrip check", "mlp.keras")}
    assert cases[("tf-roundtrip check", "checked_models.py:broken")][1] is True
    assert cases[("tf-roundtrip check", "mlp.keras")][1] is False
    # The order of the files does not matter; a merged file merges again into the same document.
    status, again = merge(checked / "broken.json", checked / "mlp.json", "--json", tmp_path / "again.json")
    assert again == output.replace(str(tmp_path / "merged.json"), str(tmp_path / "again.json")).split("JUnit XML")[0]
    assert merge(tmp_path / "merged.json", "--json", tmp_path / "twice.json")[0] == FINDING
    assert without_created(json.loads((tmp_path / "twice.json").read_text())) == without_created(merged)


def test_a_target_checked_in_two_files_is_refused_saying_how_to_fix_it(checked, tmp_path):
    retried = tmp_path / "mlp-retry.json"
    retried.write_text((checked / "mlp.json").read_text())
    status, output = merge(checked / "mlp.json", checked / "broken.json", retried, "--json", tmp_path / "merged.json")
    assert status == USAGE_ERROR
    assert (f"1 target is checked in more than one file (tf-roundtrip check TARGET --json): mlp.keras "
            f"({checked / 'mlp.json'}, {retried}).") in output
    assert "if a job was retried, name only the retry's file" in output and "Not de-duplicated" in output
    assert not (tmp_path / "merged.json").exists()  # nothing half-merged is written


def test_check_files_and_a_pytest_shard_merge_into_one_matrix(checked, runs, tmp_path):
    status, output = merge(runs.json("shard-2"), checked / "mlp.json", "--json", tmp_path / "merged.json")
    assert status == PASSED, output
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert merged["summary"] == {"checks": 5, "passed": 5, "failed": 0}
    keys = [check["test"] or check["target"] for check in merged["checks"]]
    assert keys == sorted(keys) and keys[0] == "mlp.keras"  # rows by key: test ids and targets sort together
    assert "5 checks: 5 passed" in matrix_of(output)
