"""Measure benign round-trip differences per format on real architectures.

Prints, per model and format, the largest absolute and relative error seen
and the largest error as a fraction of the default allowance ("used"): a
value near or above 1.0 means the default tolerance is too tight.  Real models
are keras.applications architectures built offline with ``weights=None``.

    python benchmarks/calibrate_tolerances.py [--examples 8] [--models mobilenet_v3_small,lstm] [--formats onnx,litert]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from pytest_tfroundtrip.checks.subject import prepare_subject  # noqa: E402
from pytest_tfroundtrip.formats import all_formats  # noqa: E402
from pytest_tfroundtrip.inputs.strategies import example_strategy  # noqa: E402
from pytest_tfroundtrip.results.tolerances import default_tolerance  # noqa: E402


def lstm_model() -> keras.Model:
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(1000, 32)(tokens)
    x = keras.layers.LSTM(32, return_sequences=True)(x)
    return keras.Model(tokens, keras.layers.Dense(5)(keras.layers.GRU(16)(x)))


def transformer_block() -> keras.Model:
    inputs = keras.Input((None, 32))
    attended = keras.layers.MultiHeadAttention(4, 8)(inputs, inputs)
    x = keras.layers.LayerNormalization()(inputs + attended)
    return keras.Model(inputs, keras.layers.Dense(32, activation="gelu")(x))


MODELS = {
    "mlp": lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]),
    "lstm": lstm_model,
    "transformer_block": transformer_block,
    "mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), weights=None),
    "efficientnet_b0": lambda: keras.applications.EfficientNetB0(weights=None),
    "resnet50": lambda: keras.applications.ResNet50(weights=None),
    "densenet121": lambda: keras.applications.DenseNet121(weights=None),
}


def measure(name: str, examples: int, formats: list[str] | None = None) -> None:
    keras.utils.set_random_seed(0)
    model = MODELS[name]()
    subject = prepare_subject(model, None).subject
    strategy = example_strategy(subject.signature, max_batch=4)
    drawn = [strategy.example() for _ in range(examples)]
    expected = [subject.flat_outputs(model(subject.input_tensors(e.arrays), training=False)) for e in drawn]
    for fmt in [f for f in all_formats() if formats is None or f.name in formats]:
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            try:
                call = fmt.load(subject, fmt.save(subject, Path(directory)))
            except Exception as error:  # a real limitation of the format: report it
                print(f"{name:<20} {fmt.name:<11} fails: {type(error).__name__}: {str(error).splitlines()[0][:90]}")
                continue
            setup = time.perf_counter() - started
            worst_abs = worst_rel = used = 0.0
            try:
                outputs = [subject.flat_outputs(call(example.arrays)) for example in drawn]
            except Exception as error:  # e.g. LiteRT without the TensorFlow-ops delegate
                print(f"{name:<20} {fmt.name:<11} fails at call: {type(error).__name__}: {str(error).splitlines()[0][:90]}")
                continue
            for got, want in zip(outputs, expected):
                for output, reference in want.items():
                    if reference.dtype.kind != "f":
                        continue
                    tolerance = default_tolerance(fmt.tolerance_family, str(reference.dtype))
                    e = reference.astype(np.float64)
                    a = got[output].astype(np.float64)
                    finite = np.isfinite(e) & np.isfinite(a)
                    diff = np.abs(a - e)[finite]
                    if diff.size == 0:
                        continue
                    peak = float(np.abs(e[finite]).max())
                    allowed = tolerance.atol + tolerance.peak_rtol * peak + tolerance.rtol * np.abs(e[finite])
                    worst_abs = max(worst_abs, float(diff.max()))
                    worst_rel = max(worst_rel, float((diff / np.maximum(np.abs(e[finite]), 1e-30)).max()))
                    used = max(used, float((diff / allowed).max()))
            print(f"{name:<20} {fmt.name:<11} max abs {worst_abs:<10.3g} max rel {worst_rel:<10.3g} "
                  f"used {used:<8.3f} (save+load {setup:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--formats", default=None, help="comma list of formats (default: all)")
    args = parser.parse_args()
    for name in args.models.split(","):
        measure(name.strip(), args.examples, args.formats.split(",") if args.formats else None)


if __name__ == "__main__":
    main()
