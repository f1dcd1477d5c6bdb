"""Which formats resume training exactly, per optimizer (Keras 3, CPU).

Prints one line per optimizer and format: "exact" or the first divergence.

    python benchmarks/resume_matrix.py
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import keras  # noqa: E402

from pytest_tfroundtrip import RoundTripError, check_resume_training  # noqa: E402

OPTIMIZERS = {
    "Adam": lambda: keras.optimizers.Adam(1e-2),
    "AdamW": lambda: keras.optimizers.AdamW(1e-2),
    "SGD+momentum": lambda: keras.optimizers.SGD(1e-2, momentum=0.9),
    "RMSprop": lambda: keras.optimizers.RMSprop(1e-3),
    "Adam+ExponentialDecay": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)),
}


def model(optimizer: keras.optimizers.Optimizer) -> keras.Model:
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.BatchNormalization(),
                          keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    m.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    return m


def main() -> None:
    for name, make in OPTIMIZERS.items():
        try:
            report = check_resume_training(model(make()), formats=["keras", "h5", "weights", "checkpoint"], seed=0)
        except RoundTripError as error:
            report = error.report
        for result in report.results:
            verdict = "exact" if result.status == "passed" else result.first_divergence.splitlines()[0][:110]
            print(f"{name:<22} {result.format:<11} {verdict}")


if __name__ == "__main__":
    main()
