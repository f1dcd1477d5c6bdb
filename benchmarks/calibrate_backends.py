"""How far the same ``.keras`` file computes apart under JAX and PyTorch, on real models: the figures behind
the ``backend`` tolerance family and the table of models under other backends in docs/backends.md.

Each model of the real-model suite (keras-hub backbones at small configurations,
keras.applications at 32x32 with random weights) is saved here under TensorFlow,
then loaded with plain ``keras.models.load_model`` in a new interpreter per backend
(``KERAS_BACKEND`` set) and called on the same inputs as the original: normal
pixels, and token ids with a full mask.  The script prints, per model and
backend, the largest absolute difference, the largest difference relative to the
output's peak magnitude, the seconds the load and first call took there, or the
first line of the error.  No checker code is involved: this calibrates it.

    python benchmarks/calibrate_backends.py [--models BertBackbone,MobileNet] [--backends jax,torch]
    python benchmarks/calibrate_backends.py --cost   # seconds a backend format adds to a check, cold and warm

``--cost`` times ``check_roundtrip`` on a small MLP (50 examples) with
``formats=["keras"]`` and with each backend format beside it: once with no worker
of that backend running (its interpreter starts, Keras and the backend import), then
again with the worker warm, as every later check in a session finds it.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]

_LOAD = r"""
import json, sys, time
import numpy as np
started = time.perf_counter()
import keras
import keras_hub  # registers its classes, as a project using keras-hub models would
directory = sys.argv[1]
try:
    model = keras.models.load_model(directory + "/model.keras")
    inputs = dict(np.load(directory + "/inputs.npz"))
    x = inputs["x"] if list(inputs) == ["x"] else inputs
    got = keras.tree.flatten(model(x, training=False))
    np.savez(directory + "/got.npz", *[keras.ops.convert_to_numpy(t) for t in got])
    print(json.dumps({"seconds": time.perf_counter() - started}))
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"}))
"""


def build(name: str):  # noqa: ANN201 - a keras.Model
    import keras
    sys.path.insert(0, str(REPO))
    from tests.test_real_models import REAL_MODELS

    case = next(case for case in REAL_MODELS if case.name == name)
    keras.utils.set_random_seed(0)
    return case.build()


def inputs_for(model) -> dict[str, np.ndarray]:  # noqa: ANN001
    rng = np.random.default_rng(0)
    if isinstance(model.input, dict):
        ids = rng.integers(1, 100, size=(2, 16)).astype("int32")
        # Token ids over the vocabulary; segment ids 0 (a type vocabulary of 2); every position unmasked.
        return {name: (ids if name == "token_ids" else np.full((2, 16), 0 if "segment" in name else 1, "int32"))
                for name in model.input}
    return {"x": rng.standard_normal((2, *model.input.shape[1:])).astype("float32")}


def measure(name: str, backends: list[str]) -> list[dict[str, object]]:
    import keras

    model = build(name)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory) / "model.keras")
        inputs = inputs_for(model)
        np.savez(Path(directory) / "inputs.npz", **inputs)
        x = inputs["x"] if list(inputs) == ["x"] else inputs
        want = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model(x, training=False))]
        for backend in backends:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _LOAD, directory], capture_output=True, text=True, timeout=900,
                                  env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"))
            wall = time.perf_counter() - started
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            answer = json.loads(lines[-1]) if lines else {"error": (done.stderr.strip().splitlines() or ["crashed"])[-1][:200]}
            row: dict[str, object] = {"model": name, "backend": backend, "wall": wall, **answer}
            if "error" not in answer:
                got = list(np.load(Path(directory) / "got.npz").values())
                row["max_abs"] = max(float(np.max(np.abs(g.astype(np.float64) - w))) for g, w in zip(got, want))
                row["max_rel_to_peak"] = max(float(np.max(np.abs(g.astype(np.float64) - w)) / max(np.max(np.abs(w)), 1e-30))
                                             for g, w in zip(got, want))
            rows.append(row)
    return rows


def cost(backends: list[str]) -> None:
    import keras

    from pytest_tfroundtrip import check_roundtrip
    from pytest_tfroundtrip.isolation.pool import close_pool

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])

    def seconds(formats: list[str]) -> float:
        started = time.perf_counter()
        check_roundtrip(model, formats=formats, max_examples=50, seed=0)
        return time.perf_counter() - started

    seconds(["keras"])  # TensorFlow's worker started, tracing warmed up
    base = min(seconds(["keras"]) for _ in range(3))
    print(f"keras alone, warm: {base:.2f} s")
    for backend in backends:
        for name in (f"keras@{backend}", f"weights@{backend}"):
            close_pool()
            seconds(["keras"])
            cold = seconds(["keras", name]) - base
            warm = min(seconds(["keras", name]) for _ in range(3)) - base
            print(f"{name}: +{cold:.2f} s cold (its interpreter starting), +{warm:.2f} s warm", flush=True)
    close_pool()


def main() -> None:
    sys.path.insert(0, str(REPO))
    from tests.test_real_models import REAL_MODELS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(case.name for case in REAL_MODELS))
    parser.add_argument("--backends", default="jax,torch")
    parser.add_argument("--cost", action="store_true", help="time what a backend format adds to a check")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if __import__("importlib").util.find_spec(b) is not None]
    if args.cost:
        cost(backends)
        return
    print(f"| model | {' | '.join(backends)} |")
    print(f"|---|{'---|' * len(backends)}")
    for name in args.models.split(","):
        cells = []
        for row in measure(name, backends):
            if "error" in row:
                cells.append(f"does not port: {row['error']}")
            else:
                cells.append(f"{row['max_abs']:.2g} abs, {row['max_rel_to_peak']:.2g} of peak ({row['wall']:.1f} s)")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
