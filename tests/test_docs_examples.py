"""The Python examples of README.md and docs/ run as written, so the documentation cannot drift from the code.

A fenced block whose info string is exactly ``python``, at the start of a line, runs; any other info
string (``py`` for a fragment that needs your own code, ``text``, ``bash``) is only shown.  The
``python`` blocks of one page run in order in one new interpreter, like a notebook, from an empty
directory.  A block that defines ``test_`` functions is a test file: it runs under pytest, named by
its first line (``# tests/test_model_saving.py``), once however many pages show it, on two
formats and 5 examples reloaded in the test process (``QUICK_TEST_FILE_OPTIONS``) to keep the run
short: every format of a small model costs a minute on 2 cores, and the example suite checks them all.

Run:  pytest tests/test_docs_examples.py -n 2
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
EXECUTED_BLOCK = re.compile(r"^```python\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
ANY_PYTHON_FENCE = re.compile(r"^[ \t>]*```python\b.*$", re.MULTILINE)
TEST_FILE_NAME = re.compile(r"\A#\s*(?:\S*/)?(test_\w+\.py)\s*\n")
SECONDS_PER_PAGE = 600
QUICK_TEST_FILE_OPTIONS = ["--tf-roundtrip-formats=keras,export", "--tf-roundtrip-max-examples=5",
                           "--tf-roundtrip-reload-in=process"]


def executed_blocks(page: Path) -> list[str]:
    """The ``python`` blocks of a page, in order."""
    return EXECUTED_BLOCK.findall(page.read_text())


def is_test_file(block: str) -> bool:
    return re.search(r"^def test_", block, re.MULTILINE) is not None


def run(command: list[str], directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=SECONDS_PER_PAGE, check=False)


def assert_ran(completed: subprocess.CompletedProcess[str], what: str) -> None:
    __tracebackhide__ = True
    if completed.returncode != 0:
        pytest.fail(f"{what} exited {completed.returncode}\n--- stdout\n{completed.stdout[-6000:]}\n"
                    f"--- stderr\n{completed.stderr[-6000:]}", pytrace=False)


PAGES_WITH_EXAMPLES = [page for page in PAGES if executed_blocks(page)]
PAGES_WITH_SCRIPTS = [page for page in PAGES_WITH_EXAMPLES if not all(map(is_test_file, executed_blocks(page)))]
TEST_FILES = {block: page for page in reversed(PAGES_WITH_EXAMPLES) for block in executed_blocks(page) if is_test_file(block)}


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES_WITH_SCRIPTS, ids=map(page_id, PAGES_WITH_SCRIPTS))
def test_the_examples_of_the_page_run_as_written(page: Path, tmp_path: Path) -> None:
    script = [block for block in executed_blocks(page) if not is_test_file(block)]
    tmp_path.joinpath("page.py").write_text("\n\n".join(script))
    assert_ran(run([sys.executable, "page.py"], tmp_path), f"the python blocks of {page_id(page)}, run as one script,")


@pytest.mark.parametrize("block", list(TEST_FILES), ids=[page_id(page) for page in TEST_FILES.values()])
def test_the_test_files_of_the_pages_pass_under_pytest(block: str, tmp_path: Path) -> None:
    named = TEST_FILE_NAME.match(block)
    assert named, f"a test-file block must start with a comment naming the file:\n{block}"
    tmp_path.joinpath(named.group(1)).write_text(block)
    completed = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *QUICK_TEST_FILE_OPTIONS, named.group(1)],
                    tmp_path)
    assert_ran(completed, f"pytest on {named.group(1)} of {page_id(TEST_FILES[block])}")


def test_every_python_block_is_one_that_runs() -> None:
    """An indented or annotated ``python`` fence would be shown but never run: use ``py`` for fragments."""
    for page in PAGES:
        fences = ANY_PYTHON_FENCE.findall(page.read_text())
        assert len(fences) == len(executed_blocks(page)), (
            f"{page.relative_to(ROOT)}: {len(fences)} python fences, {len(executed_blocks(page))} run; "
            "an example that should not run takes the info string `py`")


def test_the_documentation_has_examples_that_run() -> None:
    assert {"README.md", "getting-started.md"} <= {page.name for page in PAGES_WITH_EXAMPLES}


def test_the_readme_stays_short() -> None:
    """The README is the front door: the rest lives on the documentation site (docs/)."""
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 250, f"README.md has {lines} lines: move sections to their page in docs/ (at most 250)"


MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_site_links_only_to_its_own_pages() -> None:
    """``mkdocs build --strict`` (run by CI) refuses a link to a file outside docs/; catch it here, fast."""
    outside = []
    for page in (ROOT / "docs").rglob("*.md"):
        prose = re.sub(r"^```.*?^```|`[^`\n]*`", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
        for target in MARKDOWN_LINK.findall(prose):
            if re.match(r"[a-z]+:|#", target):
                continue
            resolved = (page.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT / "docs") or not resolved.exists():
                outside.append(f"{page.relative_to(ROOT)}: {target}")
    assert not outside, "links the site cannot follow (use a plain `path`):\n" + "\n".join(outside)
