"""The HTML report: the generator on hand-written documents (no browser), then a real run opened in headless Chromium.

The browser tests need Debian's ``chromium`` and the ``playwright`` package (it drives the installed browser: it
cannot download its own here); without them they skip, saying which is missing.  They share one real pytest run
(module-scoped fixture) with passes, a genuine failure, an n/a cell, a resume check and a quantized check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_tfroundtrip.results.html import html_report, write_html_report
from pytest_tfroundtrip.results.html.assets import VERDICT_COLOURS
from pytest_tfroundtrip.results.html.cells import display_verdict
from pytest_tfroundtrip.results.json_report import json_document
from tests.forgetful import forgetful_layer_class, forgetful_layer_source

REPO = Path(__file__).resolve().parents[1]
# The docs' screenshots are taken again only when asked (TFROUNDTRIP_SCREENSHOTS=docs): a test run writes nothing in the repository.
IMAGES = REPO / "docs" / "images" if os.environ.get("TFROUNDTRIP_SCREENSHOTS") == "docs" else Path(tempfile.mkdtemp(prefix="screenshots-"))
NASTY = "<script>alert('x')</script>"


def entry(label: str, verdict: str, **fields: Any) -> dict[str, Any]:
    return {"label": label, "format": label.split("[")[0], "verdict": verdict, **fields}


def hand_written_document() -> dict[str, Any]:
    """Every verdict, names and causes with markup in them, and every picture's numbers."""
    errors = {"abs": [0.0, 2e-7, 1e-6], "rel": [0.0, 1e-7, 3e-6], "of_tolerance": [0.0, 0.02, 0.4]}
    roundtrip = {
        "test": f"t.py::test_model[{NASTY}]", "kind": "roundtrip", "passed": False, "model": f"m{NASTY} (Sequential)",
        "seconds": 3.0, "artifacts_dir": "/tmp/a", "examples": 3, "formats": [
            entry("keras", "failed", stage="mismatch", message=f"outputs differ {NASTY}", max_abs_error=0.5,
                  max_rel_error=0.7, failure_text=f"[keras] outputs differ\n  first layer whose output differs on that input: '{NASTY}'",
                  first_differing_layer=NASTY, input_summary="input: shape (1, 3) float32", reproduce="/no/such/reproduce.py",
                  timings={"save": 0.1, "load": 0.2, "compare": 0.05}),
            entry("h5", "passed", max_abs_error=1e-6, max_rel_error=3e-6, example_errors=errors,
                  timings={"save": 0.1, "load": 0.1, "compare": 0.01}),
            entry("savedmodel", "error", stage="save", message="ValueError: cannot save"),
            entry("onnx", "not_applicable", reason="tf2onnx cannot convert StringLookup"),
            entry("openvino", "skipped", reason="openvino is not installed"),
            entry("weights", "skipped", reason="not judged: the architecture cannot be rebuilt"),
        ]}
    resume = {"test": "t.py::test_resume", "kind": "resume", "passed": True, "model": None, "seconds": 2.0,
              "artifacts_dir": None, "steps": {"before": 2, "after": 2, "batch_size": 4}, "formats": [
                  entry("keras", "passed", losses={"uninterrupted": [1.0, 0.8, 0.7, 0.6], "resumed": [1.0, 0.8, 0.7, 0.6]})]}
    quantized = {"test": "t.py::test_quantized", "kind": "roundtrip", "passed": True, "model": None, "seconds": 1.0,
                 "artifacts_dir": None, "formats": [entry("litert[float16]", "passed", quantized=[
                     {"output": "y", "argmax_agreement": 0.98, "range_error": 0.004, "correlation": 0.9999}])]}
    document = json_document([roundtrip, resume, quantized])
    document["environment"] = {"keras_backend": "tensorflow", "formats_available": ["keras", "h5", "savedmodel", "onnx"],
                               "formats_unavailable": {"openvino": f"openvino is not installed {NASTY}"},
                               "format_order": ["keras", "h5", "savedmodel", "export", "weights", "onnx", "openvino"]}
    return document


class _Page(HTMLParser):
    """The cells of the matrix and every URL the page would fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.fetched: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "td" and "data-verdict" in found:
            self.cells.append(found)
        for name in ("src", "href"):
            if name in found:
                self.fetched.append(found[name])
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_every_verdict_gets_its_own_colour_and_text():
    page = html_report(hand_written_document())
    verdicts = [(cell["data-format"], cell["data-verdict"]) for cell in parsed(page).cells]
    assert verdicts == [("keras", "failed"), ("h5", "passed"), ("savedmodel", "error"), ("weights", "not_judged"),
                        ("onnx", "not_applicable"), ("openvino", "skipped"), ("keras", "passed"), ("litert[float16]", "passed")]
    assert len({colours for colours in VERDICT_COLOURS.values()}) == len(VERDICT_COLOURS) == 6
    for verdict, (background, _text) in VERDICT_COLOURS.items():
        assert f".v-{verdict} {{ background: {background};" in page
    assert display_verdict({"verdict": "not_applicable", "reason": "not judged: rebuild= raised"}) == "not_judged"
    # A pass says how much of its tolerance the worst input used.
    assert re.search(r'data-format="h5" data-verdict="passed"[^>]*>ok 40%</td>', page)


def test_every_text_from_the_document_is_escaped():
    page = html_report(hand_written_document())
    assert NASTY not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    page_parts = parsed(page)
    assert len(page_parts.scripts) == 1 and "alert" not in page_parts.scripts[0]  # only our own script


def test_the_page_fetches_nothing_and_draws_its_pictures_inline():
    page = html_report(hand_written_document())
    assert parsed(page).fetched == []
    assert not re.search(r"(src|href)=|@import|url\(", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    pictures = page.split('<section id="pictures">')[1]
    assert pictures.count("<svg") == 7  # 3 error strips, 1 resume plot, 2 quantized bars, 1 findings by kind
    assert "Resumed training: t.py::test_resume" in pictures and pictures.count("<polyline") == 2
    assert "keras mismatch" not in pictures and "roundtrip mismatch" in pictures and "roundtrip save" in pictures


def test_a_cell_detail_holds_cause_input_layer_script_and_artifact():
    page = html_report(hand_written_document())
    detail = re.search(r'<section class="detail v-failed" id="detail-0-0".*?</section>', page, re.S).group(0)
    assert "keras: FAIL (stage mismatch): reloaded, but computed something else" in detail
    assert "first differing layer" in detail and "input: shape (1, 3) float32" in detail
    assert "python /no/such/reproduce.py" in detail and 'class="copy"' in detail  # the script's file is gone: its command
    assert "/tmp/a" in detail
    skipped = re.search(r'<section class="detail v-skipped".*?</section>', page, re.S).group(0)
    assert "openvino is not installed" in skipped


def test_the_reproduction_script_is_inlined_when_its_file_exists(tmp_path):
    script = tmp_path / "reproduce.py"
    script.write_text("import keras\nassert 1 < 2\n")
    document = hand_written_document()
    document["checks"][0]["formats"][0]["reproduce"] = str(script)
    page = html_report(document)
    assert "import keras\nassert 1 &lt; 2" in page


def test_an_empty_document_says_no_check_ran(tmp_path):
    path = write_html_report(tmp_path / "empty.html", json_document([]))
    page = path.read_text()
    assert "No check ran" in page and 'id="matrix"' not in page and "Versions: " in page
    minimal = html_report({})  # a document missing every field still renders
    assert "0 checks: 0 passed, 0 failed" in minimal


def test_the_command_line_writes_the_report_of_merged_files(tmp_path):
    from pytest_tfroundtrip.cli import main
    from pytest_tfroundtrip.results.json_report import write_json_document

    document = hand_written_document()
    shard = write_json_document(tmp_path / "shard.json", document)
    output = tmp_path / "out.txt"
    with output.open("w") as out:
        status = main(["merge", str(shard), "--html", str(tmp_path / "merged.html"), "--no-color"], stdout=out)
    assert status == 1  # a check failed
    assert f"HTML report written to {tmp_path / 'merged.html'}" in output.read_text()
    assert "Merged from" in (tmp_path / "merged.html").read_text()


def test_tf_roundtrip_check_writes_the_report_of_its_target(tmp_path):
    import keras

    from pytest_tfroundtrip.cli import PASSED, main

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(tmp_path / "m<1>.keras")
    output = tmp_path / "out.txt"
    with output.open("w") as out:
        status = main(["check", str(tmp_path / "m<1>.keras"), "--formats", "keras,h5", "--max-examples", "2", "--seed", "0",
                       "--reload-in", "process", "--no-progress", "--html", str(tmp_path / "r.html")], stdout=out)
    assert status == PASSED, output.read_text()
    page = (tmp_path / "r.html").read_text()
    assert f'data-name="{tmp_path}/m&lt;1&gt;.keras"' in page  # the row is the target, escaped
    assert 'data-format="keras" data-verdict="passed"' in page and 'data-format="h5" data-verdict="passed"' in page


def test_the_ini_setting_writes_the_report_relative_to_the_rootdir(pytester):
    pytester.makeini("[pytest]\ntf_roundtrip_html = out/report.html\n")
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert "No check ran" in (pytester.path / "out" / "report.html").read_text()


def test_with_pytest_html_installed_its_report_gets_the_matrix_and_each_tests_checks(pytester):
    pytest.importorskip("pytest_html", reason="pytest-html is not installed (optional: its report then gets the matrix too)")
    pytester.makepyfile("""
import keras

def test_sound(tf_roundtrip):
    keras.utils.set_random_seed(0)
    tf_roundtrip.check(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), formats=["keras", "h5"], max_examples=2)
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-reload-in=process", "--html=out/pytest-html.html",
                                "--self-contained-html")
    result.assert_outcomes(passed=1)
    page = (pytester.path / "out" / "pytest-html.html").read_text()
    summary = page.split('class="tf-roundtrip-matrix"')[1]  # the summary takes HTML as it is
    assert "test_with_pytest_html_installed_its_report_gets_the_matrix_and_each_tests_checks.py::test_sound" in summary
    assert summary.count('data-verdict="passed"') == 2
    assert "tf-roundtrip-checks" in page  # the test's row: its checks (in pytest-html's JSON data)


def test_a_comparison_says_how_much_of_its_tolerance_it_used():
    import numpy as np

    from pytest_tfroundtrip.results.compare import compare_arrays
    from pytest_tfroundtrip.results.tolerances import Tolerance

    within = compare_arrays("y", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-6]), Tolerance(rtol=0.0, atol=4e-6))
    assert within.ok and abs(within.tolerance_used - 0.25) < 1e-6
    beyond = compare_arrays("y", np.array([1.0]), np.array([1.1]), Tolerance(rtol=0.0, atol=0.05))
    assert not beyond.ok and abs(beyond.tolerance_used - 2.0) < 1e-6


def test_a_resume_record_keeps_the_loss_per_step_of_both_runs():
    from pytest_tfroundtrip.checks.resume import ResumeReport, ResumeResult
    from pytest_tfroundtrip.results.records import record_of

    result = ResumeResult("keras", "passed", reference_losses=(1.0, 0.5, 0.25), resumed_losses=(1.0, 0.5, 0.3))
    record = record_of(ResumeReport((result,), steps_before=1, steps_after=2, batch_size=4), 1.0)
    assert record["formats"][0]["losses"] == {"uninterrupted": [1.0, 0.5, 0.25], "resumed": [1.0, 0.5, 0.3]}


# ----- a real run, opened in a browser -----

RUN = '''
import keras, numpy as np, pytest
from pytest_tfroundtrip.formats import AmongFormats
''' + '''
@pytest.fixture
def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])

''' + forgetful_layer_source("html_report_run") + '''

def test_sound(tf_roundtrip, model):
    tf_roundtrip.check(model, formats=["keras", "export"], max_examples=3)

def test_broken(tf_roundtrip):
    inputs = keras.Input((3,))
    tf_roundtrip.check(keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs))), formats=["keras", "export"],
                       max_examples=3, seed=0)

def test_strings(tf_roundtrip):
    words = keras.Input((3,), dtype="string", name="words")
    ids = keras.layers.StringLookup(vocabulary=["cat", "dog", "bird"])(words)
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(5, 2)(ids))
    tf_roundtrip.check(keras.Model(words, keras.layers.Dense(1)(pooled)), formats=AmongFormats(("keras", "onnx")),
                       max_examples=3)

def test_resume(tf_roundtrip, model):
    model.compile(optimizer="adam", loss="mse")
    tf_roundtrip.check_resume_training(model, formats=["keras"], seed=0)

@pytest.mark.tf_roundtrip(formats=["litert"], quantization="float16", max_examples=3)
def test_quantized(tf_roundtrip, model):
    tf_roundtrip.check(model)
'''


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; the test extra has it)"
    if shutil.which("chromium") is None:
        return "no chromium on PATH (apt-get install -y chromium; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One pytest run under pytest-xdist that writes the JSON document and the HTML report."""
    directory = tmp_path_factory.mktemp("html_run")
    (directory / "test_report_run.py").write_text(RUN)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--tf-roundtrip-reload-in=process",
         "--tf-roundtrip-json=out/checks.json", "--tf-roundtrip-html=out/report.html", "test_report_run.py"],
        cwd=directory, capture_output=True, text=True, timeout=900)
    return {"directory": directory, "output": completed.stdout + completed.stderr,
            "document": json.loads((directory / "out" / "checks.json").read_text()) if (directory / "out" / "checks.json").exists() else None,
            "report": directory / "out" / "report.html"}


def test_a_real_run_under_xdist_writes_one_report_of_the_json_document(real_run):
    import jsonschema

    from pytest_tfroundtrip.results.json_report import SCHEMA_PATH

    output = real_run["output"]
    assert re.search(r"^=+ 1 failed, 4 passed in ", output, re.M), output[-3000:]
    assert f"HTML report written to {real_run['report']}" in output
    document = real_run["document"]
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    checks = {check["test"].split("::")[1]: check for check in document["checks"]}
    losses = checks["test_resume"]["formats"][0]["losses"]
    assert len(losses["uninterrupted"]) == len(losses["resumed"]) > 2  # the per-step losses the plot draws
    assert checks["test_sound"]["formats"][0]["example_errors"]["of_tolerance"]
    assert checks["test_broken"]["formats"][0]["first_differing_layer"] == "forgetful"
    assert {entry["label"]: entry["verdict"] for entry in checks["test_strings"]["formats"]} == {
        "keras": "passed", "onnx": "not_applicable"}
    assert real_run["report"].read_text() == html_report(document)  # the report is of the JSON file's document


def test_the_failure_in_the_real_run_is_genuine_with_plain_keras(tmp_path):
    import keras
    import numpy as np

    Forgetful = forgetful_layer_class("html_report_plain")  # the code the run above wrote

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Forgetful(4.0)(inputs)))
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    x = np.ones((1, 3), "float32")
    assert not np.allclose(model(x), reloaded(x))  # the factor 4.0 came back as the default 1.0


@pytest.fixture(scope="module")
def browser_page(real_run):
    """The real run's report open in headless Chromium, with every request the page makes recorded."""
    missing = _browser_missing()
    if missing:
        pytest.skip(f"no browser for the HTML report's tests: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())  # nothing leaves the machine, even by mistake
        page.goto(real_run["report"].as_uri())
        yield page, requests
        browser.close()


def _row(page: Any, test: str) -> Any:
    return page.locator(f'#matrix tbody tr[data-name="test_report_run.py::{test}"]')


def test_the_matrix_shows_coloured_cells_and_a_click_on_the_failure_tells_its_cause(browser_page):
    page, _requests = browser_page
    colours = {verdict: page.locator(f"#matrix td.cell.v-{verdict}[data-format]").count()
               for verdict in ("passed", "failed", "not_applicable")}
    assert colours == {"passed": 6, "failed": 1, "not_applicable": 1}, colours
    failed = _row(page, "test_broken").locator('td.cell[data-format="keras"]')
    background = failed.evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert background == "rgb(229, 57, 53)" and failed.inner_text() == "FAIL"
    assert page.locator("#details section.detail:visible").count() == 0
    IMAGES.mkdir(parents=True, exist_ok=True)
    top, bottom = page.locator("h2", has_text="Model by format").bounding_box(), page.locator("#details").bounding_box()
    page.screenshot(path=str(IMAGES / "html-report-matrix.png"), full_page=True,
                    clip={"x": 0, "y": top["y"] - 8, "width": 1280, "height": bottom["y"] + bottom["height"] - top["y"] + 16})

    failed.click()
    detail = page.locator("#details section.detail:visible")
    assert detail.count() == 1
    found = detail.locator("dd.cause").inner_text()  # the record's one-line cause, naming the layer
    assert "differ" in found and "'forgetful'" in found, found
    assert "input: shape (1, 3) float32" in detail.locator("dd.failing").inner_text()
    assert detail.locator("dd.first").inner_text() == "forgetful"
    script = detail.locator("pre.code").inner_text()
    assert "load_model" in script or "keras" in script, script  # the script itself, inlined
    detail.locator("button.copy").click()
    page.wait_for_function("() => document.querySelector('#details section.detail:not([hidden]) button.copy').textContent !== 'copy'")
    assert detail.locator("button.copy").inner_text() in ("copied", "selected: press Ctrl+C")
    detail.screenshot(path=str(IMAGES / "html-report-cell.png"))

    not_applicable = _row(page, "test_strings").locator('td.cell[data-format="onnx"]')
    not_applicable.click()
    assert "ONNX Runtime cannot run this model" in page.locator("#details section.detail:visible dd.cause").inner_text()


def test_the_filters_narrow_the_matrix_by_check_format_and_verdict(browser_page):
    page, _requests = browser_page
    rows = page.locator("#matrix tbody tr")
    assert page.locator("#shown-count").inner_text() == "5 of 5 checks shown"
    page.fill("#filter-check", "resume")
    assert [row.get_attribute("data-name") for row in rows.all() if row.is_visible()] == ["test_report_run.py::test_resume"]
    page.fill("#filter-check", "")
    page.uncheck('input.filter-verdict[value="passed"]')
    visible = sorted(row.get_attribute("data-name").split("::")[1] for row in rows.all() if row.is_visible())
    assert visible == ["test_broken", "test_strings"]  # a failure or an n/a cell
    assert page.locator("#shown-count").inner_text() == "2 of 5 checks shown"
    page.check('input.filter-verdict[value="passed"]')
    page.uncheck('input.filter-format[value="export"]')
    assert not page.locator('#matrix th[data-format="export"]').is_visible()
    assert not _row(page, "test_sound").locator('td[data-format="export"]').is_visible()
    page.check('input.filter-format[value="export"]')
    page.select_option("#filter-kind", "resume")
    assert page.locator("#shown-count").inner_text() == "1 of 5 checks shown"
    page.select_option("#filter-kind", "")


def test_the_pictures_are_drawn_inline_and_nothing_is_fetched(browser_page):
    page, requests = browser_page
    pictures = page.locator("#pictures")
    assert pictures.locator("svg.chart").count() >= 6  # 3 error strips, the resume plot, 2 quantized bars, findings
    resume = pictures.locator("svg.chart", has=page.locator("polyline"))
    assert resume.count() == 1 and resume.locator("polyline").count() == 2  # uninterrupted and resumed, one plot
    assert "argmax agreement" in pictures.inner_text() and "Findings by kind" in pictures.inner_text()
    assert page.locator("#versions").inner_text().startswith("Versions: python")
    assert requests and all(url.startswith("file://") for url in requests), requests


def test_a_records_own_cause_and_share_of_tolerance_are_shown_when_it_has_them():
    from pytest_tfroundtrip.results.html.cells import cause, cell_text

    failed = entry("keras", "failed", cause="output 'y': 2 of 2 values differ by up to 0.9",
                   failure_text="[keras] outputs differ\n  2 of 5 weights were not restored: 'scale'")
    assert cause(failed) == "output 'y': 2 of 2 values differ by up to 0.9; 2 of 5 weights were not restored: 'scale'"
    assert cell_text(entry("h5", "passed", tolerance_used=0.5, example_errors={"of_tolerance": [0.1]})) == "ok 50%"
