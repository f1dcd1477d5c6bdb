"""Cost of check_custom_objects: the first check (starts the clean process) and later ones.

    python benchmarks/clean_process_cost.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402

from pytest_tfroundtrip import check_custom_objects  # noqa: E402


@keras.saving.register_keras_serializable(package="benchmarks")
class Scale(keras.layers.Layer):
    def __init__(self, factor: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gain")

    def call(self, x):
        return x * self.gain * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    inputs = keras.Input((32,))
    model = keras.Model(inputs, keras.layers.Dense(4)(Scale(2.0)(keras.layers.Dense(32)(inputs))))
    times = []
    for attempt in range(args.repeat):
        started = time.perf_counter()
        report = check_custom_objects(model, seed=attempt)
        times.append(time.perf_counter() - started)
        print(f"check {attempt + 1}: {times[-1]:.2f} s (clean process start {report.clean_start_seconds:.2f} s, "
              f"clean-process part {report.clean_seconds:.2f} s, {len(report.clean)} formats)")
    if len(times) > 1:
        print(f"first / later check: {times[0] / (sum(times[1:]) / len(times[1:])):.1f}x")


if __name__ == "__main__":
    main()
