"""Measure the quantized figures (range error, correlation, argmax agreement) the default thresholds come from.

Run: ``python benchmarks/quantization.py`` (about 3 minutes on 2 CPU cores).
Each model is checked with every quantization mode on the TFLite path, with
thresholds that cannot fail, and the figures per output are printed; the
docs/quantized.md's table is this output.  Trained models are trained here
for a few epochs on a synthetic task, so their outputs carry decisions the
way real classifiers' do.
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from pytest_tfroundtrip import check_roundtrip
from pytest_tfroundtrip.checks.quantized import Quantization
from pytest_tfroundtrip.formats.quantization import MODES
from pytest_tfroundtrip.results.quantized import QuantizedThresholds

NEVER_FAIL = QuantizedThresholds(min_argmax_agreement=0.0, max_range_error=float("inf"), min_correlation=-1.0)


def synthetic_images(n: int, shape: tuple[int, ...], classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal images whose class is the sign pattern of a few fixed projections (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + shape).astype("float32")
    projections = np.random.default_rng(99).standard_normal((int(np.prod(shape)), classes))
    y = np.argmax(x.reshape(n, -1) @ projections, axis=1)
    return x, y


def trained(model: keras.Model, shape: tuple[int, ...], classes: int, epochs: int = 5) -> keras.Model:
    x, y = synthetic_images(2048, shape, classes)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def trained_convnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(5),
    ])
    return trained(model, (16, 16, 3), 5)


def trained_mlp() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    return trained(model, (32,), 10, epochs=10)


def mobilenet_v3_small() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=10)


def efficientnet_b0() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=10)


WORKLOADS = {"trained_convnet": trained_convnet, "trained_mlp": trained_mlp,
             "MobileNetV3Small": mobilenet_v3_small, "EfficientNetB0": efficientnet_b0}


def _shown(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS), help="default: all")
    parser.add_argument("--examples", type=int, default=20, help="evaluation examples (default: 20, the checks' default)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model and mode (default: 3)")
    args = parser.parse_args()
    print(f"{'model':<18} {'mode':<13} {'output':<12} {'range error':>12} {'correlation':>12} {'argmax':>8} {'rows':>6} {'ties':>5} {'s':>5}")
    for name in args.workloads:
        model = WORKLOADS[name]()
        for mode in MODES:
            for seed in range(args.seeds):
                started = time.perf_counter()
                report = check_roundtrip(model, formats=["tflite"], quantization=Quantization(mode, NEVER_FAIL),
                                         max_examples=args.examples, seed=seed)
                seconds = time.perf_counter() - started
                result = report.result_for("tflite")
                if not result.quantized:
                    print(f"{name:<18} {mode:<13} {result.status}: {result.failure.message[:300] if result.failure else ''}")
                for figure in result.quantized:
                    if figure.range_error is None:
                        print(f"{name:<18} {mode:<13} {figure.output[:12]:<12} not judged: {figure.problems}")
                        continue
                    print(f"{name:<18} {mode:<13} {figure.output[:12]:<12} {_shown(figure.range_error, '.3g'):>12} "
                          f"{_shown(figure.correlation, '.6f'):>12} {_shown(figure.argmax_agreement, '.3f'):>8} "
                          f"{figure.argmax_rows:>6} {figure.near_ties:>5} {seconds:>5.1f}", flush=True)


if __name__ == "__main__":
    main()
