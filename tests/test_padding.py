"""Outputs at padded positions are not the model's answer: drawn masks are real padding, and padding is not judged.

Each expectation is reproduced with plain Keras calls: the reloaded model
differs from the original only where the mask removes the position (or, for
the defect, also where it keeps it).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import given, settings

from pytest_tfroundtrip import RoundTripError, check_roundtrip
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.inputs.strategies import example_strategy
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.failure_text import report_text
from pytest_tfroundtrip.results.padding import padded_positions
from pytest_tfroundtrip.results.tolerances import Tolerance


@keras.saving.register_keras_serializable("test_padding")
class FillsPadding(keras.layers.Layer):
    """Kept positions pass through; padded ones get a fill that is neither saved nor in the config.

    A rebuilt copy fills with 2 where the original filled with 1.  With
    ``everywhere=True`` the fill is added at kept positions too: a real defect.
    """

    def __init__(self, everywhere: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.everywhere = everywhere
        self.fill = 1.0

    @classmethod
    def from_config(cls, config):
        layer = cls(**config)
        layer.fill = 2.0
        return layer

    def call(self, sequence, mask):
        kept = keras.ops.expand_dims(keras.ops.cast(mask, sequence.dtype), -1)
        added = self.fill if self.everywhere else self.fill * (1 - kept)
        return sequence * kept + added

    def get_config(self):
        return {**super().get_config(), "everywhere": self.everywhere}


def model_with_padding(everywhere: bool = False) -> keras.Model:
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
    sequence = keras.layers.Embedding(20, 4)(token_ids)
    output = FillsPadding(everywhere)(sequence, padding_mask)
    pooled = keras.layers.GlobalAveragePooling1D()(sequence)
    return keras.Model({"token_ids": token_ids, "padding_mask": padding_mask}, {"sequence": output, "pooled": pooled})


def right_padded() -> dict[str, np.ndarray]:
    return {"token_ids": np.array([[3, 4, 5, 0], [6, 7, 0, 0]], "int32"),
            "padding_mask": np.array([[1, 1, 1, 0], [1, 1, 0, 0]], "int32")}


def plain_difference(model: keras.Model, directory: Path) -> tuple[float, float]:
    """Largest difference of .keras's reload, with plain calls: at kept positions, at padded ones."""
    model.save(directory / "model.keras")
    reloaded = keras.models.load_model(directory / "model.keras")
    x = right_padded()
    gap = np.abs(np.asarray(model(x)["sequence"]) - np.asarray(reloaded(x)["sequence"])).max(axis=-1)
    kept = x["padding_mask"].astype(bool)
    return float(gap[kept].max()), float(gap[~kept].max())


def test_outputs_at_padded_positions_are_not_judged_and_the_report_says_how_many(tmp_path: Path) -> None:
    model = model_with_padding()
    at_kept, at_padding = plain_difference(model, tmp_path)
    assert at_kept == 0 and at_padding > 0.5  # the reload differs only where the mask removes the position
    report = check_roundtrip(model, formats=["keras"], max_examples=8, seed=0)
    result = report.results[0]
    assert result.status == "passed", result
    assert result.padding_not_judged > 0
    assert "output values at padded positions not judged" in report_text(report)


def test_a_difference_at_kept_positions_is_still_found(tmp_path: Path) -> None:
    model = model_with_padding(everywhere=True)
    at_kept, _ = plain_difference(model, tmp_path)
    assert at_kept > 0.01
    with pytest.raises(RoundTripError, match=r"\[keras\]"):
        check_roundtrip(model, formats=["keras"], max_examples=8, seed=0)


def test_drawn_masks_are_right_padding_that_keeps_the_first_position() -> None:
    signature = prepare_subject(model_with_padding()).subject.signature
    assert signature.padding_masks == ("padding_mask",)

    @settings(max_examples=30, database=None, deadline=None)
    @given(example_strategy(signature))
    def right_padding(example):
        mask = example.arrays["padding_mask"]
        assert set(np.unique(mask)) <= {0, 1}
        assert (mask[:, 0] == 1).all() and (np.diff(mask, axis=1) <= 0).all()

    right_padding()


def test_the_mask_covers_outputs_by_their_first_two_axes_and_encoder_decoder_names() -> None:
    inputs = {"encoder_padding_mask": np.array([[1, 0]]), "decoder_padding_mask": np.array([[1, 1]])}
    outputs = {"encoder_sequence_output": np.zeros((1, 2, 3)), "decoder_sequence_output": np.zeros((1, 2, 3)),
               "logits": np.zeros((1, 2)), "pooled": np.zeros((1, 5))}
    left_out = padded_positions(inputs, ["encoder_padding_mask", "decoder_padding_mask"], outputs)
    assert sorted(left_out) == ["encoder_sequence_output", "logits"]  # the decoder's mask keeps everything
    assert left_out["encoder_sequence_output"][0, :, 0].tolist() == [False, True]
    judged = compare_outputs({"logits": np.array([[1.0, 5.0]])}, {"logits": np.array([[1.0, -5.0]])},
                             lambda name, dtype: Tolerance(0, 0), {"logits": left_out["logits"]})
    assert judged.ok and judged.left_out == 1
    assert not compare_outputs({"logits": np.array([[1.0, 5.0]])}, {"logits": np.array([[2.0, 5.0]])},
                               lambda name, dtype: Tolerance(0, 0), {"logits": left_out["logits"]}).ok


@pytest.mark.slow
def test_a_sliding_window_model_passes_on_jax_where_only_padded_positions_differ(tmp_path: Path) -> None:
    """The held-out false alarm: keras-hub's Mistral with a sliding window, TensorFlow against JAX."""
    keras_hub = pytest.importorskip("keras_hub")
    pytest.importorskip("jax")
    from tests.test_backends import plain_under

    keras.utils.set_random_seed(0)
    model = keras_hub.models.MistralBackbone(vocabulary_size=100, num_layers=2, num_query_heads=2,
                                              num_key_value_heads=1, hidden_dim=16, intermediate_dim=32,
                                              sliding_window=4)
    x = {"token_ids": np.arange(1, 25, dtype="int32").reshape(2, 12) % 100,
         "padding_mask": np.array([[1] * 8 + [0] * 4, [1] * 12], "int32")}
    model.save(tmp_path / "plain.keras")
    np.savez(tmp_path / "x.npz", **x)
    np.save(tmp_path / "want.npy", np.asarray(model(x)))
    run = plain_under("jax", f"""
x = dict(np.load({str(tmp_path / 'x.npz')!r}))
got = keras.ops.convert_to_numpy(keras.models.load_model({str(tmp_path / 'plain.keras')!r})(x))
gap = np.abs(got - np.load({str(tmp_path / 'want.npy')!r})).max(axis=-1)
kept = x["padding_mask"].astype(bool)
print("GAPS", float(gap[kept].max()), float(gap[~kept].max()))""", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    at_kept, at_padding = map(float, run.stdout.split("GAPS")[-1].split())
    assert at_kept < 1e-4 and at_padding > 0.1  # plain Keras: the backends differ only at padded positions
    report = check_roundtrip(model, formats=["keras@jax", "weights@jax"], max_examples=4, seed=1)
    assert [r.status for r in report.results] == ["passed", "passed"]
    assert all(r.padding_not_judged > 0 for r in report.results)
