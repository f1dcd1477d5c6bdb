"""Judge the model the way its user rebuilds it: ``rebuild=``, the control behind "not judged", LoRA and a GAN.

Every verdict is set beside what plain TensorFlow/Keras calls show for the same model.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, RoundTripUsageError, check_resume_training, check_roundtrip
from pytest_tfroundtrip.formats import AmongFormats
from tests import rebuild_models as built

WEIGHTS_ONLY = AmongFormats(("weights", "checkpoint"))


def _as_tensors(inputs: dict[str, np.ndarray]) -> dict[str, tf.Tensor]:
    return {name: tf.constant(array) for name, array in inputs.items()}


def _trained_structured_model() -> keras.Model:
    model = built.structured_data_model()
    labels = np.random.default_rng(1).integers(0, 2, (32, 1)).astype("float32")
    model.fit(_as_tensors(built.structured_inputs()), labels, epochs=1, verbose=0)
    return model


def test_adapted_vocabulary_is_not_judged_without_rebuild_and_passes_with_it(tmp_path):
    model = _trained_structured_model()
    inputs = _as_tensors(built.structured_inputs())
    # Plain calls: the model rebuilt from its config cannot run (the vocabulary is an asset, not config or weights)...
    from_config = keras.Model.from_config(model.get_config())
    from_config.set_weights(model.get_weights())
    with pytest.raises(tf.errors.FailedPreconditionError, match="Table not initialized"):
        from_config(inputs)
    # ... while the model the user's code builds takes the weights file and the checkpoint exactly.
    model.save_weights(tmp_path / "m.weights.h5")
    by_code = built.structured_data_model()
    by_code.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(by_code(inputs), model(inputs))
    tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt" / "m"))
    by_code = built.structured_data_model()
    tf.train.Checkpoint(model=by_code).read(tf.train.latest_checkpoint(str(tmp_path / "ckpt"))).expect_partial()
    np.testing.assert_array_equal(by_code(inputs), model(inputs))

    report = check_roundtrip(model, formats=WEIGHTS_ONLY, inputs=built.structured_inputs(), max_examples=3, seed=0)
    for name in ("weights", "checkpoint"):
        reason = report.result_for(name).skip_reason
        assert reason.startswith("not judged:"), reason
        assert "Table not initialized" in reason and "city_lookup" in reason and "vocabulary is an asset" in reason
        assert "pass rebuild= to judge it" in reason
    judged = check_roundtrip(model, formats=WEIGHTS_ONLY, inputs=built.structured_inputs(), max_examples=3, seed=0,
                             rebuild=built.structured_data_model)
    assert set(judged.formats_passed) == {"weights", "checkpoint"}
    assert all(result.reloaded_in == "fresh" for result in judged.results)  # rebuild= is importable: a worker calls it


def test_a_named_weights_only_format_shows_that_the_rebuild_is_at_fault():
    model = _trained_structured_model()
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["weights"], inputs=built.structured_inputs(), max_examples=2, seed=0)
    assert "the model rebuilt from its config" in str(caught.value)
    assert "no file involved" in str(caught.value)


def test_a_rebuild_that_is_a_lambda_runs_in_this_process_with_a_note():
    model = _trained_structured_model()
    report = check_roundtrip(model, formats=["weights"], inputs=built.structured_inputs(), max_examples=2, seed=0,
                             rebuild=lambda: built.structured_data_model())
    assert report.result_for("weights").passed
    assert report.result_for("weights").reloaded_in == "process"
    assert any("rebuild= is a lambda" in note for note in report.notes)


def test_rebuild_must_be_a_function():
    model = built.lora_classifier()
    with pytest.raises(RoundTripUsageError, match="rebuild= takes a function"):
        check_roundtrip(model, formats=["weights"], rebuild=model)
    report = check_roundtrip(model, formats=AmongFormats(("weights",)), reload_in="process", rebuild=lambda: model)
    reason = report.result_for("weights").skip_reason
    assert reason.startswith("not judged: rebuild= ") and "returned the model under test itself" in reason, reason


def test_plain_function_loss_resume_is_not_judged_from_config_and_resumes_with_rebuild(tmp_path):
    model = built.forecaster()
    model.fit(built.SERIES, built.FORECAST, epochs=1, verbose=0)
    # Plain calls: the compile config names a function Keras cannot find again, in the .keras file as in memory.
    with pytest.raises(TypeError, match="Could not locate function 'smape'"):
        keras.Sequential.from_config(model.get_config()).compile(
            **keras.saving.deserialize_keras_object(model.get_compile_config()))
    model.save(tmp_path / "m.keras")
    with pytest.raises(TypeError, match="Could not locate function 'smape'"):
        keras.models.load_model(tmp_path / "m.keras")

    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, built.SERIES, built.FORECAST)
    report = caught.value.report
    assert report.result_for("keras").status == "failed"  # genuine: load_model raises, as above
    assert "Could not locate function 'smape'" in report.result_for("keras").first_divergence
    for name in ("weights", "checkpoint"):
        reason = report.result_for(name).skip_reason
        assert reason.startswith("not judged:") and "Could not locate function 'smape'" in reason, reason
    resumed = check_resume_training(model, built.SERIES, built.FORECAST, formats=["checkpoint"], rebuild=built.forecaster)
    assert resumed.formats_passed == ("checkpoint",)


def test_lora_round_trip_compares_weights_as_keras_saves_them(tmp_path):
    model = built.lora_classifier()
    model.fit(built.FEATURES, built.CLASSES, epochs=2, verbose=0)
    # Plain calls: the stored variables differ (the LoRA product is merged into the kernel, the factors reset to zero)...
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert not np.array_equal(reloaded.layers[0]._kernel.numpy(), model.layers[0]._kernel.numpy())
    assert not np.any(reloaded.layers[0].lora_kernel_b.numpy())
    # ... while the model is the same: the merged kernel and the outputs are identical.
    np.testing.assert_allclose(reloaded.layers[0].kernel.numpy(), model.layers[0].kernel.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(reloaded(built.FEATURES), model(built.FEATURES), rtol=1e-6, atol=1e-7)

    report = check_roundtrip(model, formats=AmongFormats(("keras", "weights", "checkpoint")), max_examples=5, seed=0)
    assert set(report.formats_passed) == {"keras", "weights", "checkpoint"}


def test_lora_training_does_not_resume_from_keras_and_the_cause_says_why(tmp_path):
    model = built.lora_classifier()
    model.fit(built.FEATURES, built.CLASSES, epochs=1, verbose=0)
    # Plain calls: four more steps from the .keras file and from the live model end in different weights.
    model.save(tmp_path / "m.keras")
    resumed = keras.models.load_model(tmp_path / "m.keras")
    x, y = built.FEATURES[:32], built.CLASSES[:32]
    for i in range(4):
        model.train_on_batch(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
        resumed.train_on_batch(x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
    assert not np.allclose(resumed.layers[0].kernel.numpy(), model.layers[0].kernel.numpy(), atol=1e-6)

    model = built.lora_classifier()
    model.fit(built.FEATURES, built.CLASSES, epochs=1, verbose=0)
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(model, built.FEATURES, built.CLASSES, formats=["keras", "checkpoint"])
    report = caught.value.report
    assert report.result_for("checkpoint").status == "passed"
    cause = report.result_for("keras").first_divergence
    assert "LoRA factors of layer" in cause and "merges LoRA into the kernel when it saves" in cause, cause
    assert "holds state that the format does not save" not in cause


def test_a_gan_with_its_own_compile_gets_a_verdict_per_format_never_an_internal_error(tmp_path):
    gan = built.gan()
    gan.fit(built.IMAGES, epochs=1, batch_size=16, verbose=0)
    # Plain calls: neither .keras nor a weights file can be written; a checkpoint can.
    with pytest.raises(NotImplementedError):
        gan.save(tmp_path / "gan.keras")
    with pytest.raises(ValueError, match="not yet been built"):
        gan.save_weights(tmp_path / "gan.weights.h5")
    with pytest.raises(NotImplementedError):
        keras.models.clone_model(gan)

    with pytest.raises(RoundTripError) as caught:
        check_resume_training(gan, built.IMAGES, rebuild=built.gan)
    report = caught.value.report
    assert "Please implement `get_config()`" in report.result_for("keras").first_divergence
    assert "not yet been built" in report.result_for("weights").first_divergence
    assert report.result_for("checkpoint").status == "passed"  # tf.train.Checkpoint tracks both optimizers


def test_a_gan_checkpoint_without_rebuild_is_not_judged():
    gan = built.gan()
    gan.fit(built.IMAGES, epochs=1, batch_size=16, verbose=0)
    with pytest.raises(RoundTripError) as caught:
        check_resume_training(gan, built.IMAGES)
    reason = caught.value.report.result_for("checkpoint").skip_reason
    assert reason.startswith("not judged:") and "pass rebuild=" in reason, reason


def test_a_gan_checkpoint_resumes_exactly_with_plain_calls(tmp_path):
    gan = built.gan()
    gan.fit(built.IMAGES[:32], epochs=1, batch_size=16, verbose=0)
    tf.train.Checkpoint(model=gan).save(str(tmp_path / "ckpt" / "gan"))
    resumed = built.gan()
    tf.train.Checkpoint(model=resumed).read(tf.train.latest_checkpoint(str(tmp_path / "ckpt"))).expect_partial()
    # No format keeps a SeedGenerator's state (the check aligns it too, and says so): give the resumed one the same.
    resumed.seed_generator.state.assign(gan.seed_generator.state)
    batch = built.IMAGES[32:48]
    gan.train_on_batch(batch)
    resumed.train_on_batch(batch)
    assert int(resumed.d_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 3
    for a, b in zip(gan.weights, resumed.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
