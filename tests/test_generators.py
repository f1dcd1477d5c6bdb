"""The model generator: recipes build sound models, round-trip as JSON and code, cover keras.layers."""

from __future__ import annotations

import inspect
import subprocess
import sys

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from pytest_tfroundtrip.generators import usecase_models as use_cases
from pytest_tfroundtrip.generators.building import training_data
from pytest_tfroundtrip.generators.data import input_signature, sample_inputs
from pytest_tfroundtrip.generators.layer_catalogue import CATALOGUE, EXCLUDED
from pytest_tfroundtrip.strategies import ModelRecipe, build_model, keras_models, model_recipes

FAST = settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _arrays(outputs):
    if isinstance(outputs, dict):
        return [np.asarray(outputs[k]) for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o) for o in outputs]
    return [np.asarray(outputs)]


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def _assert_same(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        np.testing.assert_array_equal(a, b)


def _assert_sound(recipe, model):
    x = sample_inputs(recipe, batch=3, seed=7)
    first, second = _arrays(model(x, training=False)), _arrays(model(x, training=False))
    assert len(first) == len(recipe.outputs)
    for out in first:
        assert np.isfinite(out.astype("float64")).all(), recipe
    _assert_same(first, second)  # deterministic at inference


@FAST
@given(model_recipes(max_layers=4, compiled=False))
def test_generated_models_build_and_give_finite_deterministic_outputs(recipe):
    _assert_sound(recipe, build_model(recipe))


@pytest.mark.slow  # CI budget
@FAST
@given(model_recipes(max_layers=4))
def test_json_round_trip_rebuilds_identical_weights_and_outputs(recipe):
    text = recipe.to_json()
    again = ModelRecipe.from_json(text)
    assert again == recipe and again.to_json() == text
    first, second = build_model(recipe), build_model(again)
    _assert_same(_weights(first), _weights(second))
    x = sample_inputs(recipe, batch=2, seed=3)
    _assert_same(_arrays(first(x, training=False)), _arrays(second(x, training=False)))


@settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(model_recipes(max_layers=3))
def test_to_code_executes_and_rebuilds_the_same_model(recipe):
    namespace: dict = {}
    exec(compile(recipe.to_code(), "<generated>", "exec"), namespace)
    assert namespace["recipe"] == recipe
    _assert_same(_weights(namespace["model"]), _weights(build_model(recipe)))


@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_each_kind_is_generated_and_builds_its_kind(kind):
    @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(model_recipes(kinds=(kind,), max_layers=3, compiled=False))
    def check(recipe):
        model = build_model(recipe)
        assert recipe.kind == kind
        if kind == "sequential":
            assert isinstance(model, keras.Sequential)
        elif kind == "subclassed":
            assert type(model).__name__ in ("GeneratedModel", "GeneratedTrainStepModel")
            assert keras.saving.get_registered_name(type(model)).startswith("tfroundtrip_generated>")
        _assert_sound(recipe, model)

    check()


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "string", "float16", "sparse"])
def test_non_float_inputs_get_valid_sample_inputs(dtype):
    @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(model_recipes(kinds=("functional",), max_layers=2, input_dtypes=(dtype,), compiled=False))
    def check(recipe):
        assert all(i.dtype == dtype or (dtype == "sparse" and i.sparse) for i in recipe.inputs)
        _assert_sound(recipe, build_model(recipe))

    check()


@settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(model_recipes(kinds=("functional", "subclassed"), max_layers=2, compiled=True, trained=True))
def test_trained_models_have_optimizer_state(recipe):
    model = build_model(recipe)
    assert recipe.compile is not None and recipe.train_steps >= 1
    # the optimizer state exists and moved (with gradient accumulation, iterations may still be 0); SGD without
    # momentum under a learning-rate schedule keeps no state but its iteration count
    state = [v for v in model.optimizer.variables if "iteration" not in v.path]
    assert any(np.any(np.asarray(v) != 0) for v in state) or not state and model.optimizer.iterations.numpy() > 0
    _assert_sound(recipe, model)
    x, y = training_data(recipe, samples=4, seed=recipe.seed)
    assert np.isfinite(np.asarray(model.evaluate(x, y, verbose=0), dtype="float64")).all()


def test_catalogue_covers_every_keras_layer_class_or_excludes_it_with_a_reason():
    public = {n: getattr(keras.layers, n) for n in dir(keras.layers) if not n.startswith("_")}
    classes = {n: c for n, c in public.items() if inspect.isclass(c) and issubclass(c, keras.layers.Layer)}
    covered = {id(getattr(keras.layers, n)) for n in CATALOGUE if hasattr(keras.layers, n)}
    missing = [n for n, c in classes.items() if n not in CATALOGUE and n not in EXCLUDED and id(c) not in covered]
    assert not missing, f"keras.layers classes neither in CATALOGUE nor EXCLUDED: {missing}"
    assert all(reason.strip() for reason in EXCLUDED.values())
    assert not set(CATALOGUE) & set(EXCLUDED)
    assert not [n for n in CATALOGUE if n not in classes], "catalogue entries for classes Keras no longer has"


def test_importing_the_strategies_does_not_import_keras_or_tensorflow():
    code = ("import sys, pytest_tfroundtrip, pytest_tfroundtrip.plugin, pytest_tfroundtrip.strategies; "
            "s = pytest_tfroundtrip.strategies.model_recipes(max_layers=2); "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    code = "import sys, pytest_tfroundtrip, pytest_tfroundtrip.plugin; print('hypothesis' in sys.modules)"
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert plain.stdout.strip() == "False"


class Doubler(keras.layers.Layer):
    """A user layer with no required arguments (importable: the class is module-level)."""

    def call(self, inputs):
        return inputs * 2.0


def _contains(model, cls):
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, cls):
            return True
        stack.extend(getattr(layer, "layers", []) or [])
    return False


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(model_recipes(max_layers=3, compiled=False, containing=Doubler))
def test_containing_puts_the_users_layer_into_every_model(recipe):
    assert "tfroundtrip.Factory" in recipe.layer_classes()
    model = build_model(recipe)
    assert _contains(model, Doubler) or any(isinstance(layer, Doubler) for layer in getattr(model, "graph_layers", []))
    _assert_sound(recipe, model)
    assert ModelRecipe.from_json(recipe.to_json()) == recipe  # an importable factory is portable


def test_containing_with_a_lambda_stays_in_process_and_says_why():
    strategy = model_recipes(kinds=("functional", "subclassed"), max_layers=2, compiled=False,
                             containing=lambda: keras.layers.Dense(3))

    @settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(recipe):
        assert recipe.kind == "functional"  # a subclassed host's config is its recipe: left out
        assert any(isinstance(layer, keras.layers.Dense) for layer in build_model(recipe).layers)
        with pytest.raises(ValueError, match="cannot be imported by name"):
            recipe.to_json()

    check()


def test_a_layer_instance_is_a_type_error_asking_for_a_factory():
    with pytest.raises(TypeError, match=r"lambda: Dense\(\.\.\.\)"):
        model_recipes(containing=keras.layers.Dense(3))


def test_keras_models_draws_built_models():
    @settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(keras_models(kinds=("sequential",), max_layers=2, compiled=False))
    def check(model):
        assert isinstance(model, keras.Sequential) and model.built

    check()


def test_input_signature_matches_the_inputs():
    @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(model_recipes(kinds=("subclassed",), max_layers=2, compiled=False))
    def check(recipe):
        signature = input_signature(recipe)
        specs = list(signature.values()) if isinstance(signature, dict) else (
            signature if isinstance(signature, list) else [signature])
        assert [tuple(s.shape)[1:] for s in specs] == [i.shape for i in recipe.inputs]

    check()


@pytest.mark.slow
def test_hundreds_of_generated_models_are_sound():
    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(model_recipes())
    def check(recipe):
        _assert_sound(recipe, build_model(recipe))

    check()


# --- recipes Keras cannot train; everyday models with their user's rebuild (issue 27) ------------------------------
@pytest.mark.slow  # CI budget
def test_a_recipe_keras_cannot_train_under_its_policy_is_built_untrained():
    """Sound recipe 192 of the properties: RandomRotation under mixed_bfloat16, drawn with training.

    Plain calls: Keras cannot train it (the image transform has no bfloat16 gradient), so the generator
    keeps the recipe untrained instead of raising inside its own ``train_on_batch``.
    """
    from pytest_tfroundtrip.generators.composition import NO_BFLOAT16_TRAINING, trainable_under_policy
    from tests.test_properties import sound_recipe

    recipe = sound_recipe(192)
    assert recipe.dtype_policy == "mixed_bfloat16" and "RandomRotation" in recipe.layer_classes()
    assert recipe.compile is not None and recipe.train_steps == 0 and not trainable_under_policy(recipe)
    model = build_model(recipe)
    _assert_sound(recipe, model)
    from pytest_tfroundtrip.generators.data import training_targets

    x = sample_inputs(recipe, batch=4, seed=0)
    with pytest.raises(TypeError, match="Invalid dtype"):
        model.train_on_batch(x, training_targets(recipe, model, x, 1))
    assert {"RandomRotation", "RandomZoom"} <= NO_BFLOAT16_TRAINING


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(model_recipes(max_layers=4, trained=True))
def test_trained_recipes_are_ones_keras_can_train(recipe):
    from pytest_tfroundtrip.generators.composition import trainable_under_policy

    assert recipe.train_steps > 0 and trainable_under_policy(recipe)


USE_CASE_VARIANTS = [("lookup", "string"), ("lookup", "integer"), ("lookup", "both"), ("lora", "dense"),
                     ("lora", "einsum"), ("quantized", "dense"), ("quantized", "embedding"), ("python_loss", "lstm"),
                     ("python_loss", "gru"), ("python_loss", "dense"), ("two_optimizers", "dense")]


@pytest.mark.parametrize(("kind", "variant"), USE_CASE_VARIANTS)
def test_each_use_case_builds_trains_and_its_rebuild_takes_the_weights(kind, variant, tmp_path):
    """The user's rebuild is the same architecture, untrained; ``load_weights`` into it gives the model back."""
    from pytest_tfroundtrip.generators.usecases import UseCaseRecipe

    recipe = UseCaseRecipe(kind, seed=11, width=8, depth=2, variant=variant, lora_rank=2 if kind == "lora" else 0)
    assert UseCaseRecipe.from_json(recipe.to_json()) == recipe
    model, rebuilt = use_cases.build_use_case(recipe), use_cases.user_rebuild(recipe)()
    x = use_cases.sample_inputs(recipe, batch=3, seed=2)
    outputs = np.asarray(model(x, training=False))
    assert np.isfinite(outputs).all()
    np.testing.assert_array_equal(outputs, np.asarray(model(x, training=False)))
    assert not np.allclose(outputs, np.asarray(rebuilt(x, training=False)))  # another seed, untrained
    model.save_weights(tmp_path / "m.weights.h5")
    rebuilt.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(np.asarray(rebuilt(x, training=False)), outputs, rtol=1e-6, atol=1e-6)
    if kind == "lora":
        assert all(layer.lora_enabled for layer in model.layers if isinstance(layer, keras.layers.Dense))
    if kind == "quantized":
        assert any(layer.quantization_mode == "int8" for layer in model.layers if hasattr(layer, "quantization_mode"))
    if kind == "two_optimizers":
        assert model.d_optimizer.iterations.numpy() == recipe.train_steps == model.g_optimizer.iterations.numpy()


def test_a_rebuild_adapting_on_other_data_gives_other_outputs_from_the_same_weights(tmp_path):
    """The defective rebuild of the mutated properties, shown with plain calls."""
    from pytest_tfroundtrip.generators.usecases import UseCaseRecipe

    recipe = UseCaseRecipe("lookup", seed=4, variant="string", rebuild_defect="adapts_on_other_data")
    model, rebuilt = use_cases.build_use_case(recipe), use_cases.user_rebuild(recipe)()
    model.save_weights(tmp_path / "m.weights.h5")
    rebuilt.load_weights(tmp_path / "m.weights.h5")
    x = use_cases.sample_inputs(recipe, batch=8, seed=0)
    assert not np.allclose(np.asarray(rebuilt(x)), np.asarray(model(x)))
    with pytest.raises(ValueError, match="does not apply"):
        UseCaseRecipe("lora", rebuild_defect="adapts_on_other_data")
