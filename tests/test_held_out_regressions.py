"""Regression tests for the bugs found on held-out models nobody here wrote a test for (issue 17).

Each test names the bug; each expected failure is reproduced with plain Keras calls.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import (
    RoundTripError,
    RoundTripInternalError,
    check_custom_objects,
    check_roundtrip,
)

PACKAGE = "tfroundtrip_held_out"


def uint8_convnet() -> keras.Model:
    keras.utils.set_random_seed(0)
    images = keras.Input((8, 8, 3), dtype="uint8")
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(images))
    return keras.Model(images, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(hidden)))


def test_uint8_images_pass_every_format_with_values_the_dtype_holds():
    report = check_roundtrip(uint8_convnet(), formats=["keras", "export", "weights", "tflite"], max_examples=5, seed=0)
    assert report.formats_passed == ("keras", "export", "weights", "tflite")


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int16"])
def test_small_integer_inputs_into_a_large_embedding_stay_inside_the_dtype(dtype):
    keras.utils.set_random_seed(0)
    ids = keras.Input((4,), dtype=dtype)
    model = keras.Model(ids, keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Embedding(70000, 3)(ids))))
    report = check_roundtrip(model, formats=["keras"], max_examples=5, seed=0)
    assert report.formats_passed == ("keras",)


def test_a_crash_inside_the_checker_is_an_internal_error_never_a_finding(monkeypatch):
    from pytest_tfroundtrip.checks import roundtrip

    def crash(*args, **kwargs):
        raise OverflowError("Python integer 1000 out of bounds for uint8")

    monkeypatch.setattr(roundtrip, "prepare_subject", crash)
    with pytest.raises(RoundTripInternalError, match="not a finding about your model") as caught:
        check_roundtrip(uint8_convnet(), formats=["keras"])
    assert not isinstance(caught.value, AssertionError)
    assert isinstance(caught.value.__cause__, OverflowError)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BiasedByInitializer(keras.layers.Layer):
    """A config holding a Keras object (an initializer), as Keras's own layers' configs do."""

    def __init__(self, units=3, bias_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.bias_initializer = keras.initializers.get(bias_initializer or keras.initializers.Constant(0.5))

    def build(self, shape):
        self.kernel = self.add_weight((shape[-1], self.units))
        self.bias = self.add_weight((self.units,), initializer=self.bias_initializer)

    def call(self, x):
        return x @ self.kernel + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units, "bias_initializer": self.bias_initializer}


def test_a_config_holding_a_keras_object_is_no_finding_and_plain_keras_reloads_it_exactly(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, BiasedByInitializer()(inputs))
    report = check_custom_objects(model, formats=["keras"], max_examples=2, seed=0)
    assert report.passed and not report.findings
    model.save(tmp_path / "m.keras")
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras")(x), model(x))


def test_configs_with_different_keras_objects_still_differ():
    from pytest_tfroundtrip.checks.config_audit import _equal

    assert _equal(keras.initializers.Constant(0.5), keras.initializers.Constant(0.5))
    assert not _equal(keras.initializers.Constant(0.5), keras.initializers.Constant(0.1))


@keras.saving.register_keras_serializable(package=PACKAGE)
class ScaledWithoutSuper(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}  # the defect: no super().get_config(), so no dtype policy


def test_a_dtype_policy_lost_by_get_config_is_named_as_such_and_plain_keras_computes_in_float32(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, ScaledWithoutSuper(dtype="mixed_float16")(keras.layers.Dense(4)(inputs)))
    with pytest.raises(RoundTripError) as caught:
        check_custom_objects(model, formats=["keras"], max_examples=2, seed=0)
    findings = caught.value.report.findings
    assert any("dtype policy 'mixed_float16' is lost" in f.message and "super().get_config()" in f.message for f in findings)
    assert not any("max abs error 0 " in f.message for f in findings)
    model.save(tmp_path / "m.keras")
    x = np.ones((1, 4), "float32")
    assert model(x).dtype == "float16" and keras.models.load_model(tmp_path / "m.keras")(x).dtype == "float32"


@keras.saving.register_keras_serializable(package=PACKAGE)
class CountingAtInference(keras.layers.Layer):
    """State that changes at inference: a non-trainable counter incremented by every call."""

    def build(self, shape):
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x):
        self.count.assign_add(1.0)
        return x + self.count


@pytest.mark.parametrize("fmt", ["keras", "weights", "checkpoint", "export"])
def test_state_changing_at_inference_is_reported_whatever_single_format_is_checked(fmt):
    # A reloaded copy that restored the counter advances with the original, call for call, and agrees:
    # checking determinism only after a format disagreed passed this model.
    inputs = keras.Input((3,))
    model = keras.Model(inputs, CountingAtInference()(keras.layers.Dense(3)(inputs)))
    with pytest.raises(RoundTripError, match="not deterministic at inference"):
        check_roundtrip(model, formats=[fmt], max_examples=3, seed=0)
    x = np.ones((1, 3), "float32")
    assert not np.array_equal(model(x), model(x))  # plain calls: two calls, two answers


@pytest.mark.parametrize("first_batch", [None, 2])
def test_a_one_element_signature_list_reads_as_tensorflow_reads_it_and_gives_the_bare_specs_verdict(first_batch):
    import tensorflow as tf

    from tests import models

    def verdict(signature):
        with pytest.warns() if first_batch else _no_warning_context():
            report = check_roundtrip(models.subclassed(first_batch), formats=["keras", "savedmodel", "export"],
                                     input_signature=signature, max_examples=3, seed=0)
        return report.formats_passed, report.warnings

    bare = tf.TensorSpec((None, 12), tf.float32)
    assert verdict([bare]) == verdict(bare)
    # As TensorFlow reads it: one positional argument, the spec itself.
    argument = tf.function(lambda x: x * 2, input_signature=[bare]).get_concrete_function().structured_input_signature[0][0]
    assert (argument.shape, argument.dtype) == (bare.shape, bare.dtype)


def test_a_model_built_on_a_list_of_one_keeps_the_list():
    import tensorflow as tf

    from pytest_tfroundtrip.inputs.specs import as_model_input

    inputs = keras.Input((5,))
    model = keras.Model([inputs], keras.layers.Dense(2)(inputs))
    spec = tf.TensorSpec((None, 5))
    assert as_model_input(model, [spec]) == [spec]
    assert check_roundtrip(model, formats=["keras"], input_signature=[spec], max_examples=2, seed=0).passed


def _no_warning_context():
    import contextlib

    return contextlib.nullcontext()


def test_a_minimum_sequence_length_is_found_by_calling_the_model():
    keras.utils.set_random_seed(0)
    audio = keras.Input((None, 2))
    model = keras.Model(audio, keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 40, strides=4)(audio)))
    with pytest.raises(Exception):  # plain Keras: shorter than the kernel is rejected
        model(np.zeros((1, 39, 2), "float32"))
    report = check_roundtrip(model, formats=["keras", "export"], max_examples=4, seed=0)
    assert report.formats_passed == ("keras", "export")
    assert "axis 1 at least 40" in report.input_description


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnslicedPositions(keras.layers.Layer):
    """A position table added without slicing: only its exact length works, while the signature says None."""

    def __init__(self, length=12, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, shape):
        self.table = self.add_weight((self.length, shape[-1]), name="table")

    def call(self, x):
        return x + self.table

    def get_config(self):
        return {**super().get_config(), "length": self.length}


def test_an_exact_sequence_length_is_found_by_calling_the_model():
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None, 3))
    model = keras.Model(tokens, keras.layers.Dense(2)(UnslicedPositions(12)(tokens)))
    with pytest.raises(Exception):  # plain Keras: another length is rejected
        model(np.zeros((1, 4, 3), "float32"))
    report = check_roundtrip(model, formats=["keras", "export"], max_examples=4, seed=0)
    assert report.formats_passed == ("keras", "export")
    assert "axis 1 exactly 12" in report.input_description


ADAPTIVE_POOLING_ON_ONE_PIXEL = (
    "import keras, numpy as np; keras.layers.AdaptiveMaxPooling2D(2)(np.zeros((1, 1, 1, 3), 'float32'))")


@pytest.mark.slow  # CI budget
def test_adaptive_max_pooling_on_unknown_spatial_sizes_never_probes_size_one(tmp_path):
    # On some CPUs TensorFlow 2.21 dies with SIGFPE on AdaptiveMaxPooling2D over a 1x1 input (measured on one
    # machine; an AMD EPYC without AVX-512 returns normally); the checker's first probe used size 1 for unknown
    # dimensions, which killed the whole pytest process there.  What holds on every CPU: the checker never calls
    # such a model on a size-1 spatial input, which the layer's call, recording its inputs' shapes, shows.
    import ast
    import subprocess
    import sys

    checked = (
        "import keras\n"
        "from pytest_tfroundtrip import check_roundtrip\n"
        "seen, pool = set(), keras.layers.AdaptiveMaxPooling2D.call\n"
        "def recording(self, x):  # every spatial size the layer is called on, in this process\n"
        "    seen.add(tuple(x.shape[1:3]))\n"
        "    return pool(self, x)\n"
        "keras.layers.AdaptiveMaxPooling2D.call = recording\n"
        "images = keras.Input((None, None, 3))\n"
        "pooled = keras.layers.Flatten()(keras.layers.AdaptiveMaxPooling2D(2)(images))\n"
        "report = check_roundtrip(keras.Model(images, keras.layers.Dense(2)(pooled)), formats=['keras'], max_examples=3, seed=0)\n"
        "print('passed', report.formats_passed)\n"
        "print('sizes', repr(sorted(seen, key=str)))\n"
    )
    done = subprocess.run([sys.executable, "-c", checked], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "passed ('keras',)" in done.stdout, done.stderr[-2000:]
    seen = ast.literal_eval(done.stdout.split("sizes", 1)[1].strip())
    called_on = [size for size in seen if None not in size]
    assert called_on and all(min(size) > 1 for size in called_on), seen  # called, never on a size-1 side


@pytest.mark.slow  # CI budget
def test_plain_adaptive_max_pooling_over_one_pixel_kills_the_interpreter_on_some_cpus():
    # The reason for the probe sizes above, as plain Keras shows it: a condition of the machine, not of the product.
    import signal
    import subprocess
    import sys

    plain = subprocess.run([sys.executable, "-c", ADAPTIVE_POOLING_ON_ONE_PIXEL], capture_output=True, text=True)
    if plain.returncode == 0:
        pytest.skip("this CPU runs AdaptiveMaxPooling2D over a 1x1 input without crashing (measured: AMD EPYC "
                    "without AVX-512); the SIGFPE it reproduces was measured on another machine")
    assert plain.returncode == -signal.SIGFPE, plain.stderr[-2000:]


def test_normalization_statistics_restored_by_a_checkpoint_are_not_used_and_the_checker_says_so(tmp_path):
    # Found by the mutation properties: tf.train.Checkpoint restores an adapted Normalization's mean and variance,
    # but the layer keeps computing from values cached when it was built, until finalize_state().
    import tensorflow as tf

    def model_with(normalization):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6,))
        return keras.Model(inputs, keras.layers.Dense(3)(normalization(keras.layers.Dense(6)(inputs))))

    adapted = keras.layers.Normalization(axis=None)
    adapted.adapt(np.linspace(-2.0, 8.0, 50, dtype="float32"))
    model = model_with(adapted)
    tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt" / "model"))
    rebuilt = keras.Model.from_config(model.get_config())
    tf.train.Checkpoint(model=rebuilt).read(tf.train.latest_checkpoint(str(tmp_path / "ckpt"))).expect_partial()
    x = np.random.default_rng(0).standard_normal((2, 6)).astype("float32")
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.variables, rebuilt.variables))
    assert np.abs(np.asarray(rebuilt(x)) - np.asarray(model(x))).max() > 0.1  # every variable equal, outputs not
    with pytest.raises(RoundTripError) as caught:
        check_roundtrip(model, formats=["checkpoint", "weights", "keras"], max_examples=3, seed=0)
    report = caught.value.report
    assert [r.format for r in report.failed] == ["checkpoint"]
    assert report.result_for("checkpoint").failure.first_differing_layer == adapted.name


@keras.saving.register_keras_serializable(package=PACKAGE)
class ListOfOneOutput(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3)

    def call(self, x):
        return [self.dense(x)]


def test_a_subclassed_model_returning_a_list_of_one_output_passes_the_graph_formats():
    # Found by the sound-model property: the exported [tensor] was read as one array with an extra axis.
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = ListOfOneOutput()
    model(np.zeros((2, 4), "float32"))
    report = check_roundtrip(model, formats=["export", "savedmodel", "keras"], input_signature=tf.TensorSpec((None, 4)),
                             max_examples=3, seed=0)
    assert report.formats_passed == ("keras", "savedmodel", "export")


def test_a_low_precision_output_gets_a_tolerance_of_a_few_of_its_epsilons_not_a_thousand(tmp_path):
    # Found by the mutation properties: the graph tolerance was 1024 epsilons of the output dtype, 8.0 for a
    # bfloat16 output, so an exported endpoint off by the whole output passed. Here the defect is Keras's own: the
    # exported endpoint of a random augmentation layer applies the augmentation at inference (plain calls below).
    import tensorflow as tf

    from pytest_tfroundtrip.results.tolerances import default_tolerance

    keras.utils.set_random_seed(0)
    images = keras.Input((4, 4, 3))
    model = keras.Model(images, keras.layers.RandomBrightness(0.5, value_range=(0.0, 1.0), dtype="mixed_bfloat16")(images))
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    model.export(str(tmp_path / "export"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "export"))
    error = np.abs(np.asarray(served.serve(x), "float32") - np.asarray(model(x, training=False), "float32")).max()
    assert error > 0.1
    with pytest.raises(RoundTripError, match=r"\[export\] outputs differ"):
        check_roundtrip(model, formats=["export"], max_examples=3, seed=0)
    assert default_tolerance("graph", "bfloat16").rtol == 8 * 2.0**-7


@keras.saving.register_keras_serializable(package=PACKAGE)
class Float64Subclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_a_serving_signature_declaring_another_dtype_is_fed_that_dtype_and_warned_about(tmp_path):
    # Found by the sound-model property: tf.saved_model.save traces a subclassed model's signature from its build
    # shapes, which carry no dtype, so a float64 input is declared float32 (plain TensorFlow below); the check fed
    # float64 and failed a sound model.
    import tensorflow as tf

    from pytest_tfroundtrip import RoundTripWarning

    keras.utils.set_random_seed(0)
    model = Float64Subclassed()
    model(np.zeros((2, 3), "float64"))
    tf.saved_model.save(model, str(tmp_path / "plain"))
    declared = tf.saved_model.load(str(tmp_path / "plain")).signatures["serving_default"].structured_input_signature[1]
    assert next(iter(declared.values())).dtype == tf.float32
    with pytest.warns(RoundTripWarning, match="declares input .* as float32, but the model takes float64"):
        report = check_roundtrip(model, formats=["savedmodel"], input_signature=tf.TensorSpec((None, 3), tf.float64),
                                 max_examples=3, seed=0)
    assert report.formats_passed == ("savedmodel",)


@pytest.mark.slow  # CI budget
def test_a_float32_output_of_a_mixed_bfloat16_model_is_judged_at_bfloat16_in_graph_formats():
    # Sound generated model 126 (recipe.to_code() of the failing property): a graph rounds each bfloat16 step
    # its own way, 3e-3 off a float32 output whose tolerance was float32's 1.2e-4: a false alarm.
    from pytest_tfroundtrip.strategies import (  # noqa: F401 - the names recipe.to_code() uses
        CompileRecipe,
        InputRecipe,
        LayerRecipe,
        ModelRecipe,
        NodeRecipe,
        build_model,
    )

    recipe = ModelRecipe(kind='sequential', inputs=(InputRecipe(name='in_0', shape=(3,), dtype='string', sparse=False, low=None, high=None, vocabulary=('blue cat', 'bird', 'the dog', 'red fish', 'cat')),), nodes=(NodeRecipe(layer=LayerRecipe(class_name='Hashing', kwargs=(('num_bins', 5),), frozen=False), inputs=(0,), call='single'), NodeRecipe(layer=LayerRecipe(class_name='Embedding', kwargs=(('output_dim', 1), ('input_dim', 5)), frozen=False), inputs=(1,), call='single'), NodeRecipe(layer=LayerRecipe(class_name='GeneratedBlock', kwargs=(('layers', ({'class_name': 'UnitNormalization', 'kwargs': {}, 'frozen': True}, {'class_name': 'Conv1D', 'kwargs': {'dilation_rate': 1, 'padding': 'same', 'strides': 2, 'filters': 2, 'kernel_size': 2, 'activation': 'hard_sigmoid'}, 'frozen': False}, {'class_name': 'UnitNormalization', 'kwargs': {}, 'frozen': False})),), frozen=False), inputs=(2,), call='single'), NodeRecipe(layer=LayerRecipe(class_name='AdaptiveMaxPooling1D', kwargs=(('output_size', (2,)),), frozen=False), inputs=(3,), call='single'), NodeRecipe(layer=LayerRecipe(class_name='Bidirectional', kwargs=(('merge_mode', 'concat'), ('layer', {'__layer__': {'class_name': 'SimpleRNN', 'kwargs': {'units': 1, 'return_sequences': True}, 'frozen': False}})), frozen=False), inputs=(4,), call='single'), NodeRecipe(layer=LayerRecipe(class_name='Dense', kwargs=(('units', 3), ('activation', 'tanh'), ('dtype', 'float32')), frozen=False), inputs=(5,), call='single')), outputs=(6,), output_structure='single', input_structure='single', dtype_policy='mixed_bfloat16', compile=CompileRecipe(optimizer='Muon', optimizer_kwargs=(('learning_rate', 0.001),), losses=('hinge',), targets=('sign',), metrics=(('mae',),), loss_scale=False, custom_train_step=False), train_steps=2, seed=0, notes=())
    report = check_roundtrip(build_model(recipe), formats=["savedmodel", "export"], max_examples=3, seed=0)
    assert report.formats_passed == ("savedmodel", "export")
