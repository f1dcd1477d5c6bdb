"""Models by name: specs, tiny keras-hub configurations, --tf-roundtrip-model, ``tf-roundtrip check SPEC`` and the zoo.

Each kind of finding the zoo publishes is reproduced here with plain TensorFlow/Keras calls
(``test_findings_*``), beside the check that reports it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError
from pytest_tfroundtrip.zoo.model_inputs import parse_model_inputs
from pytest_tfroundtrip.zoo.specs import FACTORY, FILE_FACTORY, KERAS_APPLICATIONS, KERAS_HUB, SAVED, parse_model_spec

keras_hub = pytest.importorskip("keras_hub")

FACTORIES = textwrap.dedent("""
    import os, signal
    import keras

    def mlp():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])

    def compiled_mlp():
        model = mlp()
        model.compile(optimizer="adam", loss="mse")
        return model

    def named_mlp():
        keras.utils.set_random_seed(0)
        features = keras.Input((8,), name="features")
        return keras.Model(features, keras.layers.Dense(2)(features))

    class TargetsOfItsOwn(keras.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return keras.ops.mean((y_pred - y["target"]) ** 2)

    def needs_its_own_targets():
        inputs = keras.Input((4,))
        model = TargetsOfItsOwn(inputs, keras.layers.Dense(2)(inputs))
        model.compile(optimizer="adam")
        return model

    def raises():
        raise ValueError("this factory cannot build its model")

    def crashes():
        os.kill(os.getpid(), signal.SIGSEGV)
""")


# --- specs and input descriptions (no TensorFlow) ---------------------------------------------------------------

@pytest.mark.parametrize("text, kind, name, preset", [
    ("keras_hub:BertBackbone", KERAS_HUB, "BertBackbone", None),
    ("keras_hub:GemmaBackbone@gemma_2b_en", KERAS_HUB, "GemmaBackbone", "gemma_2b_en"),
    ("keras_applications:ResNet50@96", KERAS_APPLICATIONS, "ResNet50", "96"),
    ("my_project.models:build", FACTORY, "build", None),
    ("models/zoo.py:build", FILE_FACTORY, "build", None),
    ("saved/model.keras", SAVED, "saved/model.keras", None),
])
def test_every_spec_form_parses(text, kind, name, preset):
    spec = parse_model_spec(text)
    assert (spec.kind, spec.name, spec.preset, spec.text) == (kind, name, preset, text)


@pytest.mark.parametrize("text, expected", [
    ("keras_hub:", "names no class"),
    ("keras_applications:Res Net", "malformed name"),
    ("", "is empty"),
])
def test_malformed_specs_are_refused_with_the_forms(text, expected):
    with pytest.raises(RoundTripUsageError, match=expected):
        parse_model_spec(text)


def test_model_inputs_from_json_toml_and_files(tmp_path):
    from hypothesis import strategies as st

    parsed = parse_model_inputs('{"ids": {"shape": [2, 8], "dtype": "int32", "range": [1, 20]}, '
                                '"mask": {"shape": [2, 8], "dtype": "bool", "fill": "ones"}}')
    assert isinstance(parsed["ids"], st.SearchStrategy)
    drawn = parsed["ids"].example()
    assert drawn.shape == (2, 8) and drawn.min() >= 1 and drawn.max() <= 20
    assert parsed["mask"].all() and parsed["mask"].dtype == bool
    toml_file = tmp_path / "inputs.toml"
    toml_file.write_text('[x]\nshape = [2, 3]\nfill = "zeros"\n')
    assert parse_model_inputs(str(toml_file))["x"].shape == (2, 3)


@pytest.mark.parametrize("text, expected", [
    ('{"x": {"shape": [2, 3], "fill": "twos"}}', "fill 'twos'"),
    ('{"x": {"shape": [2, 3], "size": 3}}', "unknown keys \\['size'\\]"),
    ('{"x": {"shape": [2, 3], "fill": "ones", "range": [0, 1]}}', "both fill and range"),
    ('{"x": {"shape": [2, 3], "range": [5, 1]}}', "low <= high"),
    ("missing.json", "does not exist"),
    ("not json = [", "neither JSON"),
])
def test_bad_model_inputs_say_what_was_received(text, expected):
    with pytest.raises(RoundTripUsageError, match=expected):
        parse_model_inputs(text)


# --- the tiny configurations against the installed keras-hub ------------------------------------------------------

def test_every_keras_hub_class_has_a_tiny_configuration():
    """Fails after a keras-hub upgrade that adds a class: the message says what to add where."""
    from pytest_tfroundtrip.zoo.keras_hub_models import missing_tiny_configs

    missing = missing_tiny_configs()
    assert not missing, (f"keras-hub {keras_hub.__version__} has classes without a tiny configuration: "
                         f"{[(c.name, c.kind) for c in missing]}; add them to pytest_tfroundtrip/zoo/keras_hub_tiny.py "
                         "(BACKBONES or TASKS), or to NOT_CALLABLE with why")


def test_every_tiny_configuration_names_a_class_keras_hub_exports():
    from pytest_tfroundtrip.zoo import keras_hub_tiny as tiny
    from pytest_tfroundtrip.zoo.keras_hub_models import keras_hub_classes

    exported = {c.name for c in keras_hub_classes()}
    stale = sorted((set(tiny.BACKBONES) | set(tiny.TASKS) | set(tiny.NOT_CALLABLE)) - exported)
    assert not stale, f"tiny configurations for classes keras-hub {keras_hub.__version__} does not export: {stale}"
    assert {backbone for backbone, _ in tiny.TASKS.values()} <= set(tiny.BACKBONES)


def test_a_class_without_a_tiny_configuration_is_a_clear_error(monkeypatch):
    from pytest_tfroundtrip.zoo import keras_hub_tiny as tiny
    from pytest_tfroundtrip.zoo.building import build_from_spec

    monkeypatch.delitem(tiny.BACKBONES, "BertBackbone")
    with pytest.raises(RoundTripUsageError, match="keras_hub:BertBackbone has no tiny configuration .* factory"):
        build_from_spec("keras_hub:BertBackbone")


@pytest.mark.parametrize("text, expected", [
    ("keras_hub:BertBackbon", "keras_hub has no model class 'BertBackbon'.*BertBackbone"),
    ("keras_hub:GemmaBackbone@gemma_2b_en", "downloads its weights: pass --tf-roundtrip-pretrained"),
    ("keras_hub:Gemma4AssistantCausalLM", "cannot be checked on its own"),
    ("keras_applications:ResNet5", "no architecture 'ResNet5'.*ResNet50"),
    ("keras_applications:Xception@32", "at least 71"),
])
def test_names_the_zoo_cannot_build_are_usage_errors(text, expected):
    from pytest_tfroundtrip.zoo.building import build_from_spec

    with pytest.raises(RoundTripUsageError, match=expected):
        build_from_spec(text)


@pytest.mark.parametrize("name", ["BertBackbone", "GemmaBackbone", "ViTBackbone", "BertTextClassifier", "SAMBackbone"])
def test_tiny_models_are_tiny_and_take_their_inputs(name):
    from pytest_tfroundtrip.checks.subject import prepare_subject
    from pytest_tfroundtrip.zoo.building import build_from_spec

    built = build_from_spec(f"keras_hub:{name}")
    assert built.model.count_params() < 100_000
    prepare_subject(built.model, None, parse_model_inputs(built.model_inputs))  # inputs inferred or described


@pytest.mark.slow
def test_every_tiny_configuration_builds_and_runs_on_drawn_inputs():
    from pytest_tfroundtrip.checks.subject import prepare_subject
    from pytest_tfroundtrip.zoo.building import build_from_spec
    from pytest_tfroundtrip.zoo.running import zoo_specs

    for spec in zoo_specs("keras_hub"):
        built = build_from_spec(spec)
        prepare_subject(built.model, None, parse_model_inputs(built.model_inputs))


def test_keras_applications_are_small_with_random_weights():
    from pytest_tfroundtrip.zoo.building import build_from_spec

    built = build_from_spec("keras_applications:MobileNetV3Small")
    assert built.model.input_shape == (None, 32, 32, 3) and built.model.output_shape == (None, 10)
    assert build_from_spec("keras_applications:Xception").model.input_shape == (None, 71, 71, 3)


@pytest.mark.slow  # trains a keras-hub task for two steps: minutes on 2 cores
def test_fit_trains_a_compiled_task_so_its_optimizer_has_state():
    from pytest_tfroundtrip.zoo.building import build_from_spec

    model = build_from_spec("keras_hub:BertTextClassifier", fit_steps=2).model
    assert int(model.optimizer.iterations) == 2
    with pytest.raises(RoundTripUsageError, match="needs a compiled model"):
        build_from_spec("keras_hub:BertBackbone", fit_steps=2)


# --- pytest --tf-roundtrip-model ----------------------------------------------------------------------------------

@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_model_specs_run_with_no_test_file_and_print_the_matrix(pytester):
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-model=keras_hub:BertBackbone",
                                "--tf-roundtrip-model=keras_applications:MobileNetV3Small",
                                "--tf-roundtrip-formats=keras,savedmodel", "--tf-roundtrip-max-examples=3")
    result.assert_outcomes(passed=4, skipped=2)  # roundtrip and custom_objects each; resume: neither is compiled
    result.stdout.fnmatch_lines(["collected 6 items", "*tf-roundtrip summary*", "model*check*keras*saved*", "roundtrip?keras_applications:MobileNetV3Small?*ok*",
                                 "roundtrip?keras_hub:BertBackbone?*ok*", "4 checks: 4 passed"])


@pytest.mark.slow  # CI budget; the zoo's command line and chunks stay in CI
def test_a_model_drawn_data_cannot_train_skips_its_resume_test_with_the_reason(pytester):
    pytester.makepyfile(factories=FACTORIES)
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-model=factories.py:needs_its_own_targets",
                                "--tf-roundtrip-model-checks=resume_training", "-rs")
    result.assert_outcomes(skipped=1)  # not a failure (nothing was saved), not an error of ours
    result.stdout.fnmatch_lines(["*before any save*needs x= and y=*"])


@pytest.mark.slow
def test_the_issue_command_with_every_format(pytester):
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-model=keras_hub:BertBackbone",
                                "--tf-roundtrip-model=keras_applications:MobileNetV3Small")
    result.assert_outcomes(passed=4, skipped=2)


@pytest.mark.slow  # CI budget; the zoo's command line and chunks stay in CI
def test_model_specs_leave_the_projects_tests_alone_and_build_errors_are_errors(pytester):
    pytester.makepyfile(test_project="def test_the_project():\n    assert False\n")
    pytester.makepyfile(factories=FACTORIES)
    result = pytester.runpytest("-p", "no:cacheprovider", "--tf-roundtrip-model=factories.py:raises",
                                "--tf-roundtrip-model=factories:compiled_mlp", "--tf-roundtrip-formats=keras",
                                "--tf-roundtrip-max-examples=3", "-rE")
    # the project's failing test is not collected; the factory that raises is an error in setup, not a finding
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines(["*this factory cannot build its model*"])
    assert "test_the_project" not in result.stdout.str()


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_model_formats_are_chosen_among_so_a_format_that_cannot_take_the_model_is_not_applicable(pytester):
    common = ("-p", "no:cacheprovider", "--tf-roundtrip-model=keras_hub:BertBackbone", "--tf-roundtrip-model-checks=roundtrip",
              "--tf-roundtrip-max-examples=2")
    among = pytester.runpytest(*common, "--tf-roundtrip-model-formats=keras,h5")
    among.assert_outcomes(passed=1)
    among.stdout.fnmatch_lines(["(1) h5: *cannot rebuild this model*"])
    named = pytester.runpytest(*common, "--tf-roundtrip-formats=keras,h5")  # named: h5 must work, and plain Keras says it cannot
    named.assert_outcomes(failed=1)
    named.stdout.fnmatch_lines(["*Unknown layer*BertBackbone*"])
    import keras  # plain calls: the legacy .h5 loader cannot rebuild the keras-hub class

    path = pytester.path / "bert.h5"
    _tiny("BertBackbone").save(path)
    with pytest.raises(ValueError, match="Unknown layer: 'BertBackbone'"):
        keras.models.load_model(path)


@pytest.mark.slow  # CI budget; the zoo's command line and chunks stay in CI
def test_model_inputs_option_reaches_the_check(pytester):
    pytester.makepyfile(factories=FACTORIES)
    common = ("-p", "no:cacheprovider", "--tf-roundtrip-model=factories:named_mlp", "--tf-roundtrip-formats=keras",
              "--tf-roundtrip-model-checks=roundtrip", "--tf-roundtrip-max-examples=2")
    pytester.runpytest(*common, '--tf-roundtrip-model-inputs={"features": {"shape": [3, 8], "fill": "ones"}}').assert_outcomes(passed=1)
    result = pytester.runpytest(*common, '--tf-roundtrip-model-inputs={"feature": {"shape": [3, 8], "fill": "ones"}}')
    result.assert_outcomes(failed=1)  # a usage error: named, with the model's real inputs
    result.stdout.fnmatch_lines(["*inputs= names unknown inputs*feature*the model's inputs are*features*"])


# --- tf-roundtrip check SPEC ----------------------------------------------------------------------------------------

def test_cli_checks_a_keras_hub_model_by_name():
    from pytest_tfroundtrip.cli import PASSED, main

    out = io.StringIO()
    status = main(["check", "keras_hub:GemmaBackbone", "--formats", "keras,weights", "--max-examples", "3",
                   "--no-progress"], stdout=out)
    assert status == PASSED, out.getvalue()
    assert "keras_hub:GemmaBackbone (tiny, random weights)" in out.getvalue()


def test_cli_checks_a_file_factory(tmp_path, monkeypatch):
    from pytest_tfroundtrip.cli import PASSED, USAGE_ERROR, main

    (tmp_path / "zoo_factories_for_cli.py").write_text(FACTORIES)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["check", "zoo_factories_for_cli.py:mlp", "--formats", "keras", "--max-examples", "2", "--no-progress"],
                stdout=out) == PASSED, out.getvalue()
    assert main(["check", "nowhere.py:mlp"], stdout=out) == USAGE_ERROR
    assert "file 'nowhere.py' does not exist" in out.getvalue()


def test_a_factory_spec_is_the_rebuild_of_weights_only_formats(tmp_path, monkeypatch):
    """The factory that built the model is the user's rebuild: weights reload into the model it builds, and the
    reproduction script calls it (an adapted vocabulary, which the config rebuild cannot carry, is judged)."""
    from pytest_tfroundtrip.cli import PASSED, main
    from pytest_tfroundtrip.targets import load_target

    (tmp_path / "lookup_factory_for_cli.py").write_text(textwrap.dedent("""
        import numpy as np, keras

        def vocabulary_model():
            words = keras.Input((1,), dtype="string", name="words")
            lookup = keras.layers.StringLookup(output_mode="one_hot", name="words_lookup")
            lookup.adapt(np.array([["a"], ["b"], ["c"]], dtype=object))
            return keras.Model(words, keras.layers.Dense(2)(lookup(words)))
    """))
    monkeypatch.chdir(tmp_path)
    target = load_target("lookup_factory_for_cli.py:vocabulary_model")
    assert target.rebuild is not None and target.rebuild.__name__ == "vocabulary_model"
    out = io.StringIO()
    status = main(["check", "lookup_factory_for_cli.py:vocabulary_model", "--formats", "weights", "--max-examples", "2",
                   "--no-progress"], stdout=out)
    assert status == PASSED, out.getvalue()


# --- the zoo command -----------------------------------------------------------------------------------------------

def test_zoo_shards_cover_every_spec_once():
    from pytest_tfroundtrip.zoo.running import shard_specs, zoo_specs

    specs = zoo_specs("keras_hub")
    parts = [shard_specs(specs, (index, 3)) for index in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(specs) and all(parts)
    assert "keras_hub:Gemma4AssistantCausalLM" not in specs


@pytest.mark.slow  # CI budget; test_cli_checks_a_keras_hub_model_by_name keeps the zoo's command line in CI
def test_zoo_writes_matrix_json_and_markdown_with_causes(tmp_path):
    from pytest_tfroundtrip.cli import FINDING, main

    out = io.StringIO()
    arguments = ["zoo", "keras_hub", "--only", "BertBackbone,ViTBackbone", "--formats", "keras,checkpoint",
                 "--max-examples", "3", "--jobs", "1", "--chunk-size", "1", "--workdir", str(tmp_path / "work"),
                 "--json", str(tmp_path / "zoo.json"), "--markdown", str(tmp_path / "zoo.md")]
    status = main(arguments, stdout=out)
    assert status == FINDING, out.getvalue()
    logs = sorted((tmp_path / "work").glob("chunk-*/pytest.log"))
    stamps = [log.stat().st_mtime for log in logs]
    first_json = (tmp_path / "zoo.json").read_text()
    # the same --workdir reuses finished chunks: nothing runs again, and the results are the same
    assert main(arguments + ["--max-minutes", "0"], stdout=out) == FINDING
    assert [log.stat().st_mtime for log in logs] == stamps and len(logs) == 2
    assert json.loads((tmp_path / "zoo.json").read_text())["checks"] == json.loads(first_json)["checks"]
    document = json.loads((tmp_path / "zoo.json").read_text())
    failing = sorted((c["test"], e["label"]) for c in document["checks"] for e in c["formats"] if e["verdict"] == "failed")
    assert failing == [("roundtrip[keras_hub:ViTBackbone]", "checkpoint")]
    page = (tmp_path / "zoo.md").read_text()
    assert "| ViTBackbone | ok | **FAIL** |" in page
    assert "weights were not restored by tf.train.Checkpoint" in page
    assert "Gemma4AssistantCausalLM" not in page  # not checkable, but not asked for either
    assert "Cells: `ok` passed" in page and "## Not applicable or skipped, and why" in page


def test_a_time_budget_lists_the_models_it_did_not_run(tmp_path):
    from pytest_tfroundtrip.zoo.markdown import zoo_markdown
    from pytest_tfroundtrip.zoo.running import ZooSettings, run_zoo

    run = run_zoo("keras_hub", ZooSettings(only=("BertBackbone", "ViTBackbone"), max_minutes=0, workdir=tmp_path))
    assert run.not_run == ("keras_hub:BertBackbone", "keras_hub:ViTBackbone") and not run.outcomes
    assert "Not run yet: 2 of the zoo's models" in zoo_markdown(run, "tf-roundtrip zoo keras_hub")
    whole = run_zoo("keras_hub", ZooSettings(max_minutes=0, workdir=tmp_path / "whole"))
    assert "- Gemma4AssistantCausalLM: a draft model" in zoo_markdown(whole, "tf-roundtrip zoo keras_hub")


def test_a_chunk_that_crashes_or_cannot_build_is_never_a_finding(tmp_path, monkeypatch):
    from pytest_tfroundtrip.zoo.running import ZooSettings, run_chunk

    (tmp_path / "zoo_factories_for_chunk.py").write_text(FACTORIES)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    settings = ZooSettings(checks="roundtrip", formats="keras", max_examples=2)
    built_error, _log, _json = run_chunk(0, ["zoo_factories_for_chunk:raises"], settings, Path(tempfile.mkdtemp(dir=tmp_path)))
    assert [o.outcome for o in built_error] == ["error"]
    assert "this factory cannot build its model" in built_error[0].message
    crashed, _log, _json = run_chunk(1, ["zoo_factories_for_chunk:crashes"], settings, Path(tempfile.mkdtemp(dir=tmp_path)))
    assert [o.outcome for o in crashed] == ["crashed"]


# --- each finding the zoo publishes, reproduced with plain calls --------------------------------------------------

def _tiny(name):
    from pytest_tfroundtrip.zoo.building import build_from_spec

    return build_from_spec(f"keras_hub:{name}").model


def test_findings_checkpoint_leaves_vit_transformer_blocks_at_their_initial_values(tmp_path):
    import keras
    import tensorflow as tf

    from pytest_tfroundtrip import check_roundtrip

    keras.utils.set_random_seed(0)
    model = _tiny("ViTBackbone")
    with pytest.raises(RoundTripError, match="weights were not restored by tf.train.Checkpoint"):
        check_roundtrip(model, formats=["checkpoint"], max_examples=3, seed=0)
    # plain calls: write a checkpoint, rebuild from the config, restore, compare
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    rebuilt = type(model).from_config(model.get_config())
    tf.train.Checkpoint(model=rebuilt).read(path)
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    assert np.max(np.abs(np.asarray(model(images)) - np.asarray(rebuilt(images)))) > 0.1
    unrestored = [w.path for w, r in zip(model.weights, rebuilt.weights) if not np.array_equal(np.asarray(w), np.asarray(r))]
    assert unrestored and all("transformer_block" in path for path in unrestored)


def test_findings_efficientnet_config_forgets_num_features_so_keras_cannot_reload_it(tmp_path):
    import keras

    from pytest_tfroundtrip import check_roundtrip

    model = _tiny("EfficientNetBackbone")
    with pytest.raises(RoundTripError, match=r"\[keras\]"):
        check_roundtrip(model, formats=["keras"], max_examples=3, seed=0)
    assert "num_features" not in model.get_config()  # the tiny configuration sets num_features=32; the default is 1280
    model.save(tmp_path / "model.keras")
    with pytest.raises(Exception):  # plain load_model rebuilds with 1280 features and cannot take the saved weights
        keras.models.load_model(tmp_path / "model.keras")


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_findings_bert_classifier_reloads_with_a_fresh_optimizer_at_keras_hubs_default_rate(tmp_path):
    import keras

    from pytest_tfroundtrip import check_resume_training

    model = _tiny("BertTextClassifier")
    with pytest.raises(RoundTripError, match="optimizer.iterations is 0 after reload"):
        check_resume_training(model, formats=["keras"], seed=0)
    # plain calls: compile with our own rate, train two steps, save, reload
    model = _tiny("BertTextClassifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = {"token_ids": rng.integers(1, 100, (8, 16)).astype("int32"), "segment_ids": np.zeros((8, 16), "int32"),
         "padding_mask": np.ones((8, 16), "int32")}
    model.fit(x, rng.integers(0, 3, (8,)), batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert int(model.optimizer.iterations) == 2 and int(reloaded.optimizer.iterations) == 0
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(5e-5)  # keras-hub's default, not the 1e-3 trained with


def test_a_preset_loads_with_pretrained_from_a_local_preset_directory(tmp_path):
    """No network here: a preset directory written by save_to_preset takes the same from_preset path."""
    from pytest_tfroundtrip.zoo.building import build_from_spec

    original = _tiny("BertBackbone")
    original.save_to_preset(str(tmp_path / "tiny_bert"))
    loaded = build_from_spec(f"keras_hub:BertBackbone@{tmp_path / 'tiny_bert'}", pretrained=True)
    assert "preset weights" in loaded.description
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(original.weights, loaded.model.weights))
    with pytest.raises(RoundTripUsageError, match="could not be loaded"):
        build_from_spec(f"keras_hub:BertBackbone@{tmp_path / 'missing'}", pretrained=True)


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_findings_segformer_export_runs_batch_normalization_on_batch_statistics(tmp_path):
    import keras
    import tensorflow as tf

    from pytest_tfroundtrip import check_roundtrip

    keras.utils.set_random_seed(0)
    model = _tiny("SegFormerImageSegmenter")
    with pytest.raises(RoundTripError, match=r"\[export\] outputs differ"):
        check_roundtrip(model, formats=["export"], max_examples=3, seed=0)
    # plain calls: the exported serving function computes what model(x) computes without training=, which is
    # neither inference (predict, training=False) nor independent of the rest of the batch
    images = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    model.export(str(tmp_path / "exported"), verbose=False)
    exported = tf.saved_model.load(str(tmp_path / "exported"))
    served = np.asarray(exported.serve(tf.constant(images)))
    inference = np.asarray(model.predict(images, verbose=0))
    assert np.max(np.abs(served - inference)) > 0.1
    assert np.max(np.abs(np.asarray(model(images, training=False)) - inference)) < 1e-4
    alone = np.asarray(exported.serve(tf.constant(images[:1])))
    assert np.max(np.abs(alone - served[:1])) > 0.1  # one image's segmentation depends on the images beside it


def test_findings_blip2_causal_lm_cannot_be_saved_as_h5(tmp_path):
    from pytest_tfroundtrip import check_roundtrip

    model = _tiny("BLIP2CausalLM")
    with pytest.raises(RoundTripError, match=r"\[h5\] saving failed"):
        check_roundtrip(model, formats=["h5"], max_examples=2, seed=0)
    with pytest.raises(ValueError, match="name already exists"):  # plain calls: the legacy writer meets a duplicate name
        model.save(tmp_path / "model.h5")


def test_findings_rwkv7_cannot_be_saved_as_a_savedmodel_or_exported(tmp_path):
    from pytest_tfroundtrip import check_roundtrip

    model = _tiny("RWKV7Backbone")
    with pytest.raises(RoundTripError, match=r"(?s)\[savedmodel\] saving failed.*TypeError.*\[export\] saving failed"):
        check_roundtrip(model, formats=["savedmodel", "export"], max_examples=2, seed=0)
    import tensorflow as tf

    # plain calls: tracing the serving function raises inside RWKV7TimeMix.call
    with pytest.raises(TypeError, match="RWKV7TimeMix"):
        tf.saved_model.save(model, str(tmp_path / "savedmodel"))
    with pytest.raises(TypeError, match="RWKV7TimeMix"):
        model.export(str(tmp_path / "export"))


@pytest.mark.slow  # CI keeps a representative part; the whole suite runs with -m slow
def test_a_weight_another_backend_recomputes_within_its_tolerance_is_not_a_finding():
    """DepthAnything rebuilds DINOV2's interpolated position embeddings when built: under JAX they differ by 4e-9."""
    from pytest_tfroundtrip.results.weights import compare_weights

    want = [("embeddings/interpolated_position_embeddings", np.full(4, 0.1, "float32"))]
    got = [("embeddings/interpolated_position_embeddings", np.full(4, 0.1, "float32") + np.float32(4e-9))]
    assert not compare_weights(want, got, "load_model").ok  # exact by default: TensorFlow reloads restore bit for bit
    assert compare_weights(want, got, "load_model", close=lambda a, b: np.allclose(a, b, atol=1e-6)).ok
    pytest.importorskip("jax")
    from pytest_tfroundtrip import check_roundtrip

    check_roundtrip(_tiny("DepthAnythingBackbone"), formats=["keras@jax"], max_examples=2, seed=0)


def test_findings_gemma3n_causal_lm_reloads_with_equal_weights_but_computes_something_else(tmp_path):
    import keras

    from pytest_tfroundtrip import check_roundtrip

    keras.utils.set_random_seed(0)
    model = _tiny("Gemma3nCausalLM")
    with pytest.raises(RoundTripError, match=r"\[keras\] outputs differ"):
        check_roundtrip(model, formats=["keras"], max_examples=3, seed=0)
    rng = np.random.default_rng(0)  # plain calls: save, load_model, same weights, other outputs
    x = {"token_ids": rng.integers(1, 100, (2, 8)).astype("int32"), "padding_mask": np.ones((2, 8), "int32")}
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(model.weights, reloaded.weights))
    assert np.max(np.abs(np.asarray(reloaded(x, training=False)) - np.asarray(model(x, training=False)))) > 0.1
