"""Checks are independent: any order of checks in one process gives the verdicts each gives alone.

Measured before the fix: after check_roundtrip (its legacy h5 save mutated the
model's compile config), check_resume_training raised a usage error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import permutations
from pathlib import Path

import pytest

from tests import independence_checks as checks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def verdicts_alone():
    """Each check's verdict in a fresh interpreter of its own (nothing ran before it)."""
    code = "import json, sys; from tests import independence_checks as c; print(json.dumps(c.verdict(sys.argv[1], c.build())))"
    alone = {}
    for name in checks.CHECKS:
        done = subprocess.run([sys.executable, "-c", code, name], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        alone[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return alone


IN_CI = {("custom_objects", "roundtrip"), ("roundtrip", "resume")}  # the others: -m slow


@pytest.mark.parametrize("first,second", [pytest.param(*pair, marks=[] if pair in IN_CI else [pytest.mark.slow])
                                          for pair in permutations(checks.CHECKS, 2)])
def test_a_check_after_another_on_the_same_model_gives_its_verdict_alone(first, second, verdicts_alone):
    model = checks.build()
    assert checks.verdict(first, model) == verdicts_alone[first]
    assert checks.verdict(second, model) == verdicts_alone[second]


def test_the_users_hypothesis_home_is_restored_after_a_check(tmp_path):
    from hypothesis import configuration

    from pytest_tfroundtrip import check_roundtrip
    from tests import models

    previous = vars(configuration)["__hypothesis_home_directory"]
    mine = tmp_path / "my-hypothesis-home"
    configuration.set_hypothesis_home_dir(mine)
    try:
        check_roundtrip(models.mlp(), formats=["keras"], max_examples=3, seed=0)
        assert configuration.storage_directory("constants").path == mine / "constants"
    finally:
        configuration.set_hypothesis_home_dir(previous)
