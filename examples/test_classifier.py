"""The simplest use: a Sequential classifier checked in every format."""

import numpy as np


def test_survives_every_format(tf_roundtrip, model):
    tf_roundtrip.check(model)


def test_reloaded_matches(reloaded_model, model):
    # One test per format; `reloaded_model` takes the same inputs as `model`.
    x = np.random.default_rng(0).standard_normal((5, 784)).astype("float32")
    np.testing.assert_allclose(reloaded_model(x), np.asarray(model(x)), rtol=1e-4, atol=1e-6)
