"""The first check of a pytest session against the hand-written floor, each in a new pytest session.

Most suites check one to three models, so the first check's cost is what users
feel: the checker's worker interpreters start cold (TensorFlow and Keras
imported there; a JAX interpreter for the ``@jax`` formats).  This runs, in
new ``pytest`` processes, one after another:

- ``checker``: a test that takes the ``tf_roundtrip`` fixture, builds the
  workload's model and runs the default check (50 examples, seed 0), recording
  the inputs the original model was called on;
- ``floor``: a test that builds the same model and runs ``floor.py``'s floor for
  the formats the checker ran, on those inputs (the ``@jax`` formats in one
  interpreter with ``KERAS_BACKEND=jax``).

Printed per side: the whole session's wall time (pytest's start, importing
TensorFlow and the test module, the model, the work) and the test's own time
(from building the model to the end of the check), then the ratios checker /
floor.  ``--repeat N`` alternates the two N times and keeps each side's
fastest.  Never asserts: machines are shared and noisy.

    python benchmarks/first_check.py [--workloads mlp,dict_string] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHECKER_TEST = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
import floor

def test_first_check(tf_roundtrip):
    started = time.perf_counter()
    model = floor.build({workload!r})
    result = floor.run_checker(model, 50, Path({scratch!r}) / "inputs.npz")
    result["test_seconds"] = time.perf_counter() - started
    (Path({scratch!r}) / "checker.json").write_text(json.dumps(result))
"""

FLOOR_TEST = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
import floor

def test_floor():
    started = time.perf_counter()
    model = floor.build({workload!r})
    formats = json.loads((Path({scratch!r}) / "checker.json").read_text())["formats"]
    result = floor.run_floor(model, formats, floor.load_inputs(Path({scratch!r}) / "inputs.npz"))
    result["test_seconds"] = time.perf_counter() - started
    (Path({scratch!r}) / "floor.json").write_text(json.dumps(result))
"""


def session(test_source: str, side: str, scratch: Path) -> dict[str, float]:
    """One new pytest session running ``test_source``: its wall time and what the test recorded."""
    test_file = scratch / f"test_{side}.py"
    test_file.write_text(test_source)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(scratch), str(test_file)],
                   check=True, env=env, cwd=scratch, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    recorded = json.loads((scratch / f"{side}.json").read_text())
    return {"session": wall, "test": recorded["test_seconds"], "formats": recorded.get("formats", []),
            "disagreed": [name for name, agreed in recorded.get("agreed", {}).items() if not agreed]}


def measure(workload: str, repeat: int) -> dict[str, dict[str, float]]:
    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix=f"first-check-{workload}-") as directory:
        scratch = Path(directory)
        fields = {"bench": str(HERE), "workload": workload, "scratch": str(scratch)}
        for _ in range(repeat):
            for side, source in (("checker", CHECKER_TEST), ("floor", FLOOR_TEST)):
                row = session(source.format(**fields), side, scratch)
                if side not in best or row["session"] < best[side]["session"]:
                    best[side] = row
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp", help="comma list of floor.py workloads (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="alternate the two sides N times, keep the fastest")
    args = parser.parse_args()
    print(f"{'workload':<12} {'formats':>7} | {'session':>7} {'checker s':>9} {'floor s':>8} | {'test':>6} {'checker s':>9} {'floor s':>8}")
    for workload in args.workloads.split(","):
        best = measure(workload, args.repeat)
        checker, floor = best["checker"], best["floor"]
        print(f"{workload:<12} {len(checker['formats']):>7} | {checker['session'] / floor['session']:>7.2f} "
              f"{checker['session']:>9.1f} {floor['session']:>8.1f} | {checker['test'] / floor['test']:>6.2f} "
              f"{checker['test']:>9.1f} {floor['test']:>8.1f}", flush=True)
        if floor["disagreed"]:  # the floor's allclose or its attempt failed there: it paid for the attempt only
            print(f"    the floor did not agree on {', '.join(floor['disagreed'])}")


if __name__ == "__main__":
    main()
