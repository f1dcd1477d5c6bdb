"""The oracle compares weights as well as outputs, in the form Keras saves them, and knows what a config can carry.

Module-level classes: the oracle's fresh interpreter imports them as `tests.test_oracle_weights`.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from pytest_tfroundtrip.generators.usecase_models import build_use_case, sample_inputs
from pytest_tfroundtrip.generators.usecases import UseCaseRecipe
from tests.oracle import config_rebuild_verdict, oracle_verdicts
from tests.oracle.fresh_loader import effective_weights
from tests.oracle.plain import OracleVerdict, compare_weights

X = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")


@keras.saving.register_keras_serializable(package="oracle_weights_test")
class HeadWithAuxiliary(keras.Model):
    """Serves ``head``; an auxiliary head (used in training only) sits in a Python list.

    ``tf.train.Checkpoint`` does not track layers held in a list of a Keras 3 model (property seed 191), so a
    checkpoint restores ``head`` and leaves the auxiliary head at its initial values: outputs cannot see it.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = keras.layers.Dense(3)
        self.auxiliary = [keras.layers.Dense(2)]

    def build(self, input_shape):
        self.head.build(input_shape)
        self.auxiliary[0].build(input_shape)
        self.built = True

    def call(self, x):
        return self.head(x)


def make_head_with_auxiliary() -> keras.Model:
    model = HeadWithAuxiliary()
    model.build((None, 4))
    return model


def test_keras_merges_lora_into_the_kernel_at_save_and_reloads_zeroed_factors(tmp_path):
    """Plain calls: what the oracle's effective weights assume about LoRA (Keras 3.15)."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(inputs))
    dense.enable_lora(2)
    dense.lora_kernel_b.assign(np.full(dense.lora_kernel_b.shape, 0.5, "float32"))  # as after fine-tuning
    merged, raw = np.asarray(dense.kernel), np.asarray(dense._kernel)
    assert not np.allclose(merged, raw)
    model.save(tmp_path / "lora.keras")
    loaded = keras.models.load_model(tmp_path / "lora.keras")
    reloaded = loaded.layers[-1]
    np.testing.assert_allclose(np.asarray(reloaded._kernel), merged, rtol=1e-6)  # the merged kernel is what is stored
    assert not np.asarray(reloaded.lora_kernel_b).any()  # factors restart at zero
    np.testing.assert_allclose(loaded(X), model(X), rtol=1e-5, atol=1e-6)
    ours = dict(effective_weights(model))
    assert not any("lora" in path for path in ours)
    np.testing.assert_allclose(ours[dense._kernel.path], merged)
    theirs = dict(effective_weights(loaded))
    assert compare_weights(OracleVerdict("keras", "pass", None, 0.0), list(ours.items()), list(theirs.items())).status == "pass"


def test_the_oracle_passes_a_lora_fine_tune_whose_file_holds_the_merged_kernel(tmp_path):
    recipe = UseCaseRecipe("lora", seed=3, width=4, lora_rank=2, train_steps=2)
    model = build_use_case(recipe)
    verdicts = oracle_verdicts(model, sample_inputs(recipe, 3, 1), formats=("keras", "weights"), workdir=tmp_path,
                               rebuild=recipe.rebuild_code())
    assert {v.status for v in verdicts.values()} == {"pass"}, verdicts


def test_the_oracle_sees_unrestored_weights_that_outputs_ignore(tmp_path):
    model = make_head_with_auxiliary()
    for variable in model.weights:
        variable.assign(variable + 0.37)  # off the initial values a restore that restores nothing would meet
    rebuild = "from tests.test_oracle_weights import make_head_with_auxiliary as build\n"
    verdicts = oracle_verdicts(model, X, formats=("weights", "checkpoint"), workdir=tmp_path, rebuild=rebuild)
    assert verdicts["weights"].status == "pass", verdicts
    assert verdicts["checkpoint"].status == "differs" and "weights differ" in verdicts["checkpoint"].error, verdicts
    assert verdicts["checkpoint"].max_abs == 0.0  # the outputs alone pass


def test_compare_weights_pairs_by_path_then_by_position():
    passing = OracleVerdict("weights", "pass", None, 0.0)
    a, b = np.ones(2, "float32"), np.zeros(2, "float32")
    assert compare_weights(passing, [("x/k", a), ("y/k", b)], [("y/k", b), ("x/k", a)]).status == "pass"
    assert compare_weights(passing, [("x/k", a), ("y/k", b)], [("x_1/k", a), ("y_1/k", b)]).status == "pass"
    swapped = compare_weights(passing, [("x/k", a), ("y/k", b)], [("x_1/k", b), ("y_1/k", a)])
    assert swapped.status == "differs" and "2 of 2" in swapped.error
    assert "1 weights, expected 2" in compare_weights(passing, [("x/k", a), ("y/k", b)], [("x/k", a)]).error


@pytest.mark.parametrize(("kind", "status", "words"), [
    ("lookup", "limit", "FailedPreconditionError"),  # "Table not initialized" on a later line
    ("python_loss", "limit", "Could not locate function"),
    ("two_optimizers", "limit", ""),
    ("lora", "pass", ""),
    ("quantized", "pass", ""),
])
def test_the_config_rebuild_control_with_plain_calls(kind, status, words):
    recipe = UseCaseRecipe(kind, seed=1, lora_rank=2 if kind == "lora" else 0,
                           variant="string" if kind == "lookup" else "")
    verdict = config_rebuild_verdict(build_use_case(recipe), sample_inputs(recipe, 3, 1))
    assert verdict.status == status and words in (verdict.error or ""), verdict
