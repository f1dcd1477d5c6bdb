"""Time one default check_roundtrip (every format, default example count).

Prints seconds per phase and the ratio of the whole check to one bare
``.keras`` save + load, so the figure travels across machines.

    python benchmarks/check_timing.py [--models mlp,mobilenet_v3_small] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402

from pytest_tfroundtrip import RoundTripError, check_roundtrip  # noqa: E402

MODELS = {
    "mlp": lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]),
    "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), weights=None),
}


def bare_keras_roundtrip(model: keras.Model) -> float:
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        model.save(f"{directory}/m.keras")
        keras.models.load_model(f"{directory}/m.keras")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for name in args.models.split(","):
        keras.utils.set_random_seed(0)
        model = MODELS[name]()
        baseline = min(bare_keras_roundtrip(model) for _ in range(3))
        for attempt in range(args.repeat):
            started = time.perf_counter()
            try:
                report = check_roundtrip(model, seed=attempt)
            except RoundTripError as error:
                report = error.report
            total = time.perf_counter() - started
            phases = ", ".join(
                f"{r.format} {r.save_seconds + r.load_seconds:.2f}+{r.compare_seconds:.2f}s" for r in report.results if r.status != "skipped"
            )
            failed = [r.format for r in report.failed]
            print(f"{name:<20} run {attempt + 1}: {total:6.2f} s for {report.examples} examples "
                  f"({total / baseline:.0f}x one .keras save+load); failed: {failed or 'none'}")
            print(f"{'':<20} save+load + compare per format: {phases}")


if __name__ == "__main__":
    main()
