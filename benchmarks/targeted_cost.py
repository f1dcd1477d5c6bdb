"""Cost of the targeted phase: one default check with and without it, per model.

Prints the examples the targeted phase adds and the ratio of the check's time
with it to the time without it (the floor: the same check, random search
only), so the figure travels across machines.  Never asserts a timing.

    python benchmarks/targeted_cost.py [--models mlp,bert,mobilenet_v2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402

from pytest_tfroundtrip import RoundTripError, check_roundtrip  # noqa: E402
from pytest_tfroundtrip.checks import roundtrip  # noqa: E402


def _bert() -> keras.Model:
    import keras_hub

    return keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=16,
                                         intermediate_dim=32, max_sequence_length=32)


MODELS = {
    "mlp": lambda: keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                                     keras.layers.Dense(10, activation="softmax")]),
    "bert": _bert,
    "mobilenet_v2": lambda: keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10),
}


def timed_check(model: keras.Model, targeted: bool) -> tuple[float, int]:
    """Seconds of one default check (all formats) and the examples the first passing format saw."""
    started = time.perf_counter()
    if targeted:
        report = _report(model)
    else:
        with mock.patch.object(roundtrip, "targeted_pins", lambda *args, **kwargs: []):
            report = _report(model)
    examples = max(r.examples for r in report.results)
    return time.perf_counter() - started, examples


def _report(model: keras.Model):  # type: ignore[no-untyped-def]
    try:
        return check_roundtrip(model, seed=0)
    except RoundTripError as error:
        return error.report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"{'model':<14} {'random only':>12} {'with targeted':>14} {'ratio':>6} {'examples added':>15}")
    for name in args.models.split(","):
        keras.utils.set_random_seed(0)
        model = MODELS[name]()
        timed_check(model, targeted=True)  # warm-up: first traces and conversions
        floor = min(timed_check(model, targeted=False) for _ in range(args.repeat))
        full = min(timed_check(model, targeted=True) for _ in range(args.repeat))
        print(f"{name:<14} {floor[0]:>11.1f}s {full[0]:>13.1f}s {full[0] / floor[0]:>6.2f} {full[1] - floor[1]:>15d}")


if __name__ == "__main__":
    main()
