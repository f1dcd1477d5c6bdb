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


class VerdictsAlone(dict):
    """Each check's verdict in a fresh interpreter of its own (nothing ran before it), computed when first asked.

    Keyed by ``(check, formats)``; ``formats`` is None for every format.
    """

    def __missing__(self, key: tuple[str, tuple[str, ...] | None]) -> object:
        name, formats = key
        code = ("import json, sys; from tests import independence_checks as c; "
                "print(json.dumps(c.verdict(sys.argv[1], c.build(), tuple(sys.argv[2].split(',')) if sys.argv[2] else None)))")
        done = subprocess.run([sys.executable, "-c", code, name, ",".join(formats or ())], cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        self[key] = json.loads(done.stdout.strip().splitlines()[-1])
        return self[key]


@pytest.fixture(scope="module")
def verdicts_alone() -> VerdictsAlone:
    return VerdictsAlone()


# CI: the order the bug needed (see above), on the formats that save through Keras's and TensorFlow's savers;
# -m slow: every order, every format.
IN_CI = {("roundtrip", "resume")}
CASES = [pytest.param(first, second, checks.SAVER_FORMATS, id=f"{first}-{second}") for first, second in sorted(IN_CI)] + [
    pytest.param(first, second, None, id=f"{first}-{second}-every-format", marks=pytest.mark.slow)
    for first, second in permutations(checks.CHECKS, 2)]


@pytest.mark.parametrize("first,second,formats", CASES)
def test_a_check_after_another_on_the_same_model_gives_its_verdict_alone(first, second, formats, verdicts_alone):
    model = checks.build()
    assert checks.verdict(first, model, formats) == verdicts_alone[first, formats]
    assert checks.verdict(second, model, formats) == verdicts_alone[second, formats]


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
