"""docs/architecture.md says what the code does: its floors are FLOORS, its counts are the ratchets' lengths."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.test_import_graph import FLOORS, KNOWN_UPWARD

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads the one number it needs with a pattern
    tomllib = None

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text()


def _mypy_exceptions() -> tuple[int, int]:
    """(modules, module-code pairs) that pyproject.toml exempts from mypy's global settings."""
    text = (ROOT / "pyproject.toml").read_text()
    if tomllib is None:
        blocks = re.findall(r'module = "pytest_tfroundtrip[^"]*"\ndisable_error_code = \[([^\]]*)\]', text)
        return len(blocks), sum(block.count('"') // 2 for block in blocks)
    overrides = tomllib.loads(text)["tool"]["mypy"]["overrides"]
    ours = [o for o in overrides if str(o["module"]).startswith("pytest_tfroundtrip")]
    return len(ours), sum(len(o["disable_error_code"]) for o in ours)


def test_the_page_lists_every_floor_bottom_to_top() -> None:
    rows = re.findall(r"^\| \d+ \| ([a-z ]+) \|", PAGE, flags=re.MULTILINE)
    assert rows == [name for name, _ in FLOORS]


def test_the_page_counts_the_upward_imports_left() -> None:
    assert f"Today: **{len(KNOWN_UPWARD)}**" in PAGE
    for source, target in KNOWN_UPWARD:
        assert f"`{source} -> {target}`" in PAGE


def test_the_page_counts_mypys_exceptions() -> None:
    modules, pairs = _mypy_exceptions()
    assert f"**{modules} modules** still disable" in PAGE
    assert f"({pairs} module-code pairs" in PAGE
