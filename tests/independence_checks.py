"""One model and the three checks' verdicts, for tests/test_independence.py (also run in subprocesses)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from pytest_tfroundtrip import RoundTripError, check_custom_objects, check_resume_training, check_roundtrip  # noqa: E402

CHECKS = ("roundtrip", "custom_objects", "resume")


def build() -> keras.Model:
    """The measured case: Dense, BatchNormalization, Dropout, Dense; Adam; one epoch of fit."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.BatchNormalization(),
                              keras.layers.Dropout(0.2), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    return model


# The formats that save the live model through Keras's and TensorFlow's own savers (the runtimes convert what
# `export` writes): CI's share; -m slow runs every format.
SAVER_FORMATS = ("keras", "h5", "savedmodel", "export", "weights", "checkpoint")


def verdict(check: str, model: keras.Model, formats: tuple[str, ...] | None = None) -> dict[str, str]:
    """Per format, what the check concluded (a usage error is a verdict too)."""
    run = {"roundtrip": lambda: check_roundtrip(model, formats=list(formats) if formats else None, max_examples=3, seed=0),
           "custom_objects": lambda: check_custom_objects(model, max_examples=2, seed=0),
           "resume": lambda: check_resume_training(model, seed=0)}[check]
    try:
        report = run()
    except RoundTripError as error:
        report = error.report
    except Exception as error:  # noqa: BLE001 - the verdict records it
        return {"error": f"{type(error).__name__}: {error}"}
    if check == "custom_objects":
        return {r.format: r.verdict for r in report.clean}
    return {r.format: r.status for r in report.results}
