"""The generated-model properties with the process under test on JAX (issue 28), a sample in CI.

Keras fixes its backend when first imported, so :mod:`tests.test_properties` runs in a pytest
subprocess started with ``KERAS_BACKEND=jax``, as a JAX team's suite would: its sound and mutated
models are built and trained under JAX, the checker judges the formats it lists there (``keras``,
``h5``, ``export``, ``weights``, ``tflite``, ``keras@tensorflow``, ``weights@tensorflow``; ``savedmodel``
and ``checkpoint`` not applicable) and the oracle makes its own plain attempt at each, with the same
assertions as under TensorFlow (no false alarm, no crash, the oracle's own error, defects caught).

Budgets: seeds ``0 .. N-1`` of each (``TFROUNDTRIP_JAX_MODELS``, default 1); ``-m slow`` runs the next
``TFROUNDTRIP_JAX_SLOW_MODELS`` (default 40) of each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tfroundtrip import _lazy

pytestmark = pytest.mark.skipif(not _lazy.is_installed("jax"), reason="JAX is not installed (the test extra installs it)")

ROOT = Path(__file__).resolve().parents[1]
JAX_MODELS = int(os.environ.get("TFROUNDTRIP_JAX_MODELS", "1"))
JAX_SLOW_MODELS = int(os.environ.get("TFROUNDTRIP_JAX_SLOW_MODELS", "40"))
# What a JAX process's checker judges (docs/backends.md, "The backend of the process under test"), and what it cannot.
JUDGED_UNDER_JAX = ("keras", "h5", "export", "weights", "tflite", "keras@tensorflow", "weights@tensorflow")
TENSORFLOW_ONLY = ("savedmodel", "checkpoint")


def run_properties_under_jax(tmp_path: Path, *, marker: str, first: int, slow: int = 0) -> list[dict]:
    """Run the sound and mutated properties in a JAX process; the judgements it logged (fails if any test did)."""
    log = tmp_path / "judgements.jsonl"
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "TFROUNDTRIP_PROPERTY_LOG": str(log),
           "TFROUNDTRIP_SOUND_MODELS": str(first), "TFROUNDTRIP_MUTATED_MODELS": str(first),
           "TFROUNDTRIP_SLOW_MODELS": str(slow)}
    command = [sys.executable, "-m", "pytest", "tests/test_properties.py", "-m", marker, "-p", "no:cacheprovider",
               "-k", "sound_generated_model or mutated_generated_model", "-q", "-rfE", f"--basetemp={tmp_path / 'inner'}"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        pytest.fail(f"the properties under JAX failed (exit {run.returncode}):\n{run.stdout[-12000:]}\n{run.stderr[-3000:]}",
                    pytrace=False)
    return [json.loads(line) for line in log.read_text().splitlines()]


def assert_judged_under_jax(judgements: list[dict], expected: int) -> None:
    """Every model judged, on every format; the TensorFlow-only formats refused by the oracle's own plain call."""
    assert len(judgements) == expected, [j["label"] for j in judgements]
    for judgement in judgements:
        if "(the model)" in judgement["checker"]:  # not deterministic at inference: no format judged, rightly
            continue
        assert set(JUDGED_UNDER_JAX + TENSORFLOW_ONLY) <= set(judgement["oracle"]) <= set(judgement["checker"]), judgement
        for name in TENSORFLOW_ONLY:
            assert judgement["oracle"][name].startswith("limit: ValueError"), judgement["oracle"][name]
            assert judgement["checker"][name] == "skipped", judgement["checker"]
    both_passed = [name for j in judgements for name in JUDGED_UNDER_JAX
                   if j["oracle"].get(name, "").startswith("pass") and j["checker"].get(name) == "passed"]
    assert {"keras@tensorflow", "weights@tensorflow"} <= set(both_passed), both_passed


@pytest.mark.slow  # CI budget (its last run took 33 min): 174 s of one xdist worker; CI runs KERAS_BACKEND=jax pytest examples
def test_the_properties_hold_on_a_jax_sample(tmp_path: Path) -> None:
    judgements = run_properties_under_jax(tmp_path, marker="not slow", first=JAX_MODELS)
    assert_judged_under_jax(judgements, 2 * JAX_MODELS)
    assert any(j["label"].startswith("sound model") for j in judgements)


@pytest.mark.slow
def test_the_properties_hold_on_more_jax_models(tmp_path: Path) -> None:
    judgements = run_properties_under_jax(tmp_path, marker="slow", first=JAX_MODELS, slow=JAX_SLOW_MODELS)
    assert_judged_under_jax(judgements, 2 * JAX_SLOW_MODELS)
