"""The ``orbax`` format: Keras 3's Orbax checkpoint (``keras.callbacks.OrbaxCheckpoint``), reloaded with ``load_model``."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, _lazy, check_resume_training, check_roundtrip
from pytest_tfroundtrip.formats import AmongFormats, get_format
from pytest_tfroundtrip.formats.orbax import layer_names_as_in_a_new_interpreter, write_checkpoint
from tests import models

pytestmark = pytest.mark.skipif(get_format("orbax").unavailable_reason() is not None, reason="orbax-checkpoint is not installed")

X = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
Y = np.random.default_rng(1).standard_normal((32, 3)).astype("float32")


def compiled_mlp() -> keras.Model:
    """A functional MLP, compiled (the callback runs in fit, so the models it saves are compiled)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def fit_with_callback(model: keras.Model, directory: Path) -> None:
    """The user's way: one epoch of fit with the callback, which saves at the epoch's end."""
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[keras.callbacks.OrbaxCheckpoint(directory=str(directory))])


def stored(directory: Path) -> tuple[dict[str, np.ndarray], str]:
    """The checkpoint's arrays by path and its model config, read with Orbax itself."""
    import orbax.checkpoint as orbax_checkpoint

    loaded = orbax_checkpoint.v1.load_checkpointables(str(directory / "0"))
    arrays = {keras.tree.flatten_with_path(loaded["pytree"])[i][0].__repr__(): np.asarray(leaf)
              for i, leaf in enumerate(keras.tree.flatten(loaded["pytree"]))}
    return arrays, loaded["model_config"]["config"]


def test_a_sound_compiled_mlp_round_trips_and_resumes_exactly_and_is_left_untouched():
    model = compiled_mlp()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)  # real optimizer state
    before = models.fingerprint(model)
    report = check_roundtrip(model, formats=["orbax"], max_examples=5, seed=0)
    assert report.formats_passed == ("orbax",)
    resumed = check_resume_training(model, formats=["orbax"], seed=0).result_for("orbax")
    assert resumed.status == "passed"
    assert resumed.max_weight_error == 0.0 and resumed.max_optimizer_error == 0.0
    assert resumed.reference_losses == resumed.resumed_losses
    models.assert_same_fingerprint(before, models.fingerprint(model))


def test_saving_without_training_writes_what_the_callback_writes_during_fit(tmp_path):
    model = compiled_mlp()
    fit_with_callback(model, tmp_path / "fit")  # saved at the end of epoch 0, after the last step
    before = models.fingerprint(model)
    write_checkpoint(model, tmp_path / "hooks")
    models.assert_same_fingerprint(before, models.fingerprint(model))
    (by_fit, config_by_fit), (by_hooks, config_by_hooks) = stored(tmp_path / "fit"), stored(tmp_path / "hooks")
    assert config_by_hooks == config_by_fit
    assert by_hooks.keys() == by_fit.keys() and len(by_fit) > 10  # weights, Adam's slots, iterations, loss metric
    for path, value in by_fit.items():
        np.testing.assert_array_equal(by_hooks[path], value, err_msg=path)


def test_an_uncompiled_model_is_not_applicable_by_default_and_fails_with_the_reason_when_named():
    model = models.with_layer(models.Scale(2.0))
    result = check_roundtrip(model, formats=AmongFormats(("keras", "orbax")), max_examples=2, seed=0).result_for("orbax")
    assert result.not_applicable and "needs a compiled model" in result.skip_reason
    with pytest.raises(RoundTripError, match="OrbaxCheckpoint saves a model during fit, which needs a compiled model"):
        check_roundtrip(model, formats=["orbax"], max_examples=2, seed=0)
    # Plain calls: the callback itself cannot save an uncompiled model.
    callback = keras.callbacks.OrbaxCheckpoint(directory="/nonexistent-never-written")
    callback.set_model(model)
    with pytest.raises(AttributeError, match="no attribute 'optimizer'"):
        callback.on_epoch_end(0, logs={})


def test_a_config_that_forgets_an_argument_fails_orbax_with_outputs_that_differ(tmp_path):
    model = models.with_layer(models.ForgetfulScale(factor=3.0))
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["orbax"], max_examples=5, seed=0)
    failure = caught.value.report.result_for("orbax").failure
    assert failure.stage == "mismatch" and "[orbax] outputs differ from the original model" in str(caught.value)
    # Plain calls: the reloaded layer has the default factor, so its outputs differ (its weights are restored).
    fit_with_callback(model, tmp_path / "ckpt")
    reloaded = keras.models.load_model(tmp_path / "ckpt")
    layer, reloaded_layer = model.layers[1], reloaded.layers[1]  # the ForgetfulScale (its name counts per process)
    assert type(layer).__name__ == type(reloaded_layer).__name__ == "ForgetfulScale"
    assert reloaded_layer.factor == 1.0 and layer.factor == 3.0
    np.testing.assert_array_equal(reloaded_layer.gain, layer.gain)
    assert not np.allclose(reloaded(X), model(X))


def test_a_sequential_model_loses_every_weight_in_its_orbax_checkpoint(tmp_path):
    """Keras 3.15: a Sequential model's variables are saved under 'sequential/dense/kernel', the model
    load_model rebuilds has 'dense/kernel', and set_state_tree skips unmatched paths silently."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(3, name="out")], name="mlp")
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["orbax"], max_examples=2, seed=0)
    text = str(caught.value)
    assert "StateNotRestored" in text and "4 of 4 trainable_variables stored as 'mlp/hidden/bias'" in text
    assert "assert not lost" in caught.value.report.result_for("orbax").failure.reproduction_code
    # Chosen by default, Keras's measured limit is "not applicable", with the reason (named, the failure above).
    chosen = check_roundtrip(model, formats=AmongFormats(("keras", "orbax")), max_examples=2, seed=0).result_for("orbax")
    assert chosen.not_applicable and "(measured: every keras.Sequential model" in chosen.skip_reason \
        and "StateNotRestored" in chosen.skip_reason
    with pytest.raises(RoundTripError) as resumed:  # named (orbax is checked by default under JAX, named here)
        check_resume_training(model, formats=["orbax"], seed=0)
    assert "StateNotRestored" in resumed.value.report.result_for("orbax").first_divergence
    # Plain calls: the reloaded model's variable paths are not the stored ones, and no weight was restored.
    fit_with_callback(model, tmp_path / "ckpt")
    reloaded = keras.models.load_model(tmp_path / "ckpt")
    assert [v.path for v in model.weights] == ["mlp/hidden/kernel", "mlp/hidden/bias", "mlp/out/kernel", "mlp/out/bias"]
    assert [v.path for v in reloaded.weights] == ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    for original, restored in zip(model.weights, reloaded.weights):
        assert not np.array_equal(np.asarray(original), np.asarray(restored)), original.path


def test_missing_orbax_is_unavailable_with_the_install_command(monkeypatch: pytest.MonkeyPatch):
    installed = _lazy.is_installed
    monkeypatch.setattr(_lazy, "is_installed", lambda name: name != "orbax.checkpoint" and installed(name))
    assert get_format("orbax").unavailable_reason() == "orbax-checkpoint is not installed: pip install 'pytest-tfroundtrip[orbax]'"


def test_a_subclassed_model_loads_exactly_even_where_other_layers_were_made_first(tmp_path):
    """Its sublayers are named by Keras's counters (its config does not hold their names): in a process that made a
    Dense before, load_model names them one further and, assigning by path, gives them each other's values."""
    with layer_names_as_in_a_new_interpreter():  # built as a training script builds it: 'dense', 'dense_1'
        model = models.subclassed()
    model.compile(optimizer="adam", loss="mse")
    keras.layers.Dense(1)  # this process has made a Dense layer, whatever ran before
    report = check_roundtrip(model, formats=["orbax"], input_signature=models.SUBCLASSED_SIGNATURE, max_examples=3,
                             seed=0, reload_in="process")
    assert report.formats_passed == ("orbax",)
    x, y = np.zeros((8, 12), "float32"), np.zeros((8, 3), "float32")
    model.fit(x, y, batch_size=8, verbose=0, callbacks=[keras.callbacks.OrbaxCheckpoint(directory=str(tmp_path / "ckpt"))])
    with layer_names_as_in_a_new_interpreter():  # plain calls in a process that made one Dense layer first
        keras.layers.Dense(1)
        with pytest.raises(ValueError, match="shape of the target variable and the shape of the target value"):
            keras.models.load_model(tmp_path / "ckpt")


def test_orbax_is_checked_when_named():
    """orbax is checked when named, on every backend (its save imports JAX and needs a compiled model)."""
    from pytest_tfroundtrip.formats import get_format

    orbax = get_format("orbax")
    assert not orbax.listed_under("tensorflow") and not orbax.listed_under("jax")
