"""docs/layer-coverage.md and .json (written by tests/layer_table.py) are not stale.

The fast tests read the JSON and run no oracle: same Keras and TensorFlow as installed, the same
``keras.layers`` classes, and the Markdown file exactly what the script renders from the JSON (a hand
edit is caught). The slow test re-runs the oracle on three classes and compares with the JSON.
"""

from __future__ import annotations

import json

import pytest

from tests.layer_table import COMMAND, MARKDOWN, json_path, public_layer_classes, render, run_class, versions

JSON = json_path(MARKDOWN)
REGENERATE = f"the layer table is stale: regenerate with `{COMMAND}`"


@pytest.fixture(scope="module")
def table() -> dict:
    assert JSON.exists(), f"{JSON} is missing: {REGENERATE}"
    return json.loads(JSON.read_text())


def test_the_table_was_made_with_the_installed_keras_and_tensorflow(table):
    installed = versions()
    for name in ("keras", "tensorflow"):
        assert table["versions"][name] == installed[name], \
            f"{name} {table['versions'][name]} in the table, {installed[name]} installed: {REGENERATE}"


def test_the_table_names_every_installed_keras_layers_class(table):
    listed = set(table["classes"]) | set(table["aliases"]) | set(table["excluded"])
    installed = set(public_layer_classes())
    assert listed == installed, (f"only in the table: {sorted(listed - installed)}; "
                                 f"only installed: {sorted(installed - listed)}: {REGENERATE}")


def test_every_hosted_class_has_a_verdict_per_format(table):
    for name, record in table["classes"].items():
        assert "verdicts" in record or record.get("host_error"), name
        if "verdicts" in record:
            assert list(record["verdicts"]) == table["formats"], name
            assert all(v["status"] in ("pass", "limit", "differs") for v in record["verdicts"].values()), name


def test_the_markdown_is_the_rendering_of_the_json(table):
    assert MARKDOWN.read_text() == render(table), \
        (f"{MARKDOWN.name} is not what the script renders from {JSON.name} (edited by hand?): {REGENERATE}, or "
         f"`python -m tests.layer_table --write docs/layer-coverage.md --render-only` to re-render only")


def test_render_numbers_shared_errors_once():
    formats = ["keras", "h5"]
    data = {"command": COMMAND, "versions": {"python": "3", "tensorflow": "2", "keras": "3"}, "formats": formats,
            "aliases": {"Convolution2D": "Conv2D"}, "excluded": {"Layer": "the base class"}, "seconds": {"A": 60.0},
            "classes": {
                "A": {"verdicts": {"keras": {"status": "pass", "error": None, "max_abs": 0.0},
                                   "h5": {"status": "limit", "error": "ValueError: no\nsecond line", "max_abs": None}}},
                "B": {"verdicts": {"keras": {"status": "differs", "error": "output 0: max abs diff 1", "max_abs": 1.0},
                                   "h5": {"status": "limit", "error": "ValueError: no", "max_abs": None}}},
                "C": {"host_error": "TypeError: " + "x" * 300}}}
    text = render(data)
    assert "| A | pass | limit¹ |" in text and "| B | differs² | limit¹ |" in text
    assert "1. `ValueError: no`" in text and "2. `output 0: max abs diff 1`" in text and "second line" not in text
    assert "2 of" not in text and "1 of 2 pass" not in text and "0 of 2 pass every format" in text
    assert "keras 0/1, h5 2/0" in text
    assert "- C: `TypeError: " in text and "x" * 200 not in text
    assert "Convolution2D = Conv2D" in text and "| Layer | the base class |" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Dense", "Conv2D", "LSTM"])
def test_the_oracle_still_gives_the_tables_verdicts(table, name, tmp_path):
    again = run_class(name, tmp_path)
    recorded = table["classes"][name]
    assert again.get("host") == recorded.get("host"), f"{name}: the host changed: {REGENERATE}"
    got = {f: (v["status"], v["error"]) for f, v in again["verdicts"].items()}
    want = {f: (v["status"], v["error"]) for f, v in recorded["verdicts"].items()}
    assert got == want, f"{name}: {REGENERATE}"
