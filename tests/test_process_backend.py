"""The process under test on another Keras backend (``KERAS_BACKEND=jax`` set by the user before importing Keras).

Keras fixes its backend when imported, so the JAX checks run in a pytest
subprocess (pytester) started with ``KERAS_BACKEND=jax``, as a user's project
would run.  What is said there about the formats is reproduced with plain
calls under JAX in :func:`test_plain_calls_under_jax_show_what_the_check_says`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.formats import get_format
from tests.forgetful import forgetful_layer_source

# -m slow (CI budget): CI runs the examples suite with KERAS_BACKEND=jax, the same path from its own command line.
pytestmark = [pytest.mark.skipif(not _lazy.is_installed("jax"), reason="JAX is not installed (the test extra installs it)"),
              pytest.mark.slow]

# Trained under JAX as a new user would: a plain MLP, one epoch of fit on random data.
JAX_PROJECT = """
import jax, keras, numpy as np, pytest
from pytest_tfroundtrip import RoundTripError


""" + forgetful_layer_source("jax_process_defect") + """


@keras.saving.register_keras_serializable(package="jax_process_defect")
class JaxSoftplus(keras.layers.Layer):
    def call(self, x):
        return jax.nn.softplus(x)


@keras.saving.register_keras_serializable(package="jax_process_defect")
class ScaledSGD(keras.optimizers.SGD):
    # SGD on scaled gradients; get_config (SGD's) forgets scale: a reload trains with scale 1.

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient * self.scale, variable, learning_rate)


def trained(*layers, optimizer="adam"):
    # The issue's plain functional MLP, trained one epoch under JAX.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    hidden = inputs
    for layer in layers:
        hidden = layer(hidden)
    hidden = keras.layers.Dense(32, activation="relu")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
    model.compile(optimizer, "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8), dtype="float32"), rng.integers(0, 4, 64)
    model.fit(x, y, epochs=1, verbose=0)
    return model, x, y


def test_mlp(tf_roundtrip):
    assert keras.backend.backend() == "jax"  # here; a TensorFlow worker imports this module to reload keras@tensorflow
    report = tf_roundtrip.check(trained()[0], max_examples=5)
    results = {r.format: r for r in report.results}
    assert "keras@jax" not in results and "weights@jax" not in results  # the keras and weights formats, here
    for name in ("keras", "h5", "export", "weights", "tflite", "keras@tensorflow", "weights@tensorflow"):
        assert results[name].status == "passed", results[name]
    for name, said in {"savedmodel": "tf.saved_model.save takes only TensorFlow objects",
                       "checkpoint": "tf.train.Checkpoint tracks only TensorFlow objects",
                       "litert": '"LiteRT export requires TensorFlow or PyTorch backend."',
                       "openvino": "XlaCallModule"}.items():
        assert results[name].not_applicable and said in results[name].skip_reason, results[name]
    print("ONNX:", results["onnx"].status, results["onnx"].skip_reason)


def test_forgetful(tf_roundtrip):
    model = trained(Forgetful(3.0))[0]
    with pytest.raises(RoundTripError) as caught:
        tf_roundtrip.check(model, max_examples=5)
    report = caught.value.report
    results = {r.format: r for r in report.results}
    assert sorted(r.format for r in report.results if r.status == "failed") == ["h5", "keras", "keras@tensorflow"]
    assert str(caught.value).count("first layer whose output differs on that input: 'forgetful'") == 3
    for name in ("weights", "weights@tensorflow"):
        assert "layer 'forgetful' argument 'factor' is 3.0 in the model, 1.0 when rebuilt" in results[name].skip_reason
    assert results["export"].status == "passed"  # a traced graph keeps the factor: the defect is the config's
    reproduce = results["keras"].failure.reproduction
    print("REPRODUCE", reproduce)


def test_resume(tf_roundtrip):
    model, x, y = trained()
    report = tf_roundtrip.check_resume_training(model, x, y, seed=0)
    assert report.formats_passed == ("keras",), report.results
    assert "tf.train.Checkpoint tracks only TensorFlow objects" in report.result_for("checkpoint").skip_reason
    report = tf_roundtrip.check_resume_training(model, x, y, formats=["orbax"], seed=0)
    assert report.formats_passed == ("orbax",), report.results


def test_optimizer_defect(tf_roundtrip, tmp_path):
    model, x, y = trained(optimizer=ScaledSGD(scale=3.0, learning_rate=0.05))
    with pytest.raises(RoundTripError) as caught:
        tf_roundtrip.check_resume_training(model, x, y, formats=["keras", "orbax"], seed=0)
    report = caught.value.report
    assert [(r.format, r.status) for r in report.results] == [("keras", "failed"), ("orbax", "failed")]
    print("OPTIMIZER DEFECT", report.result_for("keras").first_divergence)
    # Plain calls under JAX: the reloaded optimizer has forgotten its scale.
    model.save(tmp_path / "model.keras")
    assert keras.models.load_model(tmp_path / "model.keras").optimizer.scale == 1.0 and model.optimizer.scale == 3.0


def test_jax_only_layer(tf_roundtrip, tmp_path):
    model = trained(JaxSoftplus(name="jax_softplus"))[0]
    with pytest.raises(RoundTripError) as caught:
        tf_roundtrip.check(model, formats=["keras", "export", "keras@tensorflow"], max_examples=5)
    results = {r.format: r for r in caught.value.report.results}
    assert results["keras"].status == "passed" and results["export"].status == "passed"
    assert results["keras@tensorflow"].status == "failed"
    assert "layer 'jax_softplus' (JaxSoftplus) calls JAX directly: `return jax.nn.softplus(x)`" in str(caught.value)
    model.save("jax_only_layer.keras")  # the outer test loads it under TensorFlow with plain calls


def test_custom_objects(tf_roundtrip):
    report = tf_roundtrip.check_custom_objects(trained()[0], formats=["keras", "export", "weights"], max_examples=3)
    assert report.passed and sorted(r.format for r in report.clean) == ["export", "keras", "weights"], report


def test_baseline(tmp_path):
    from pytest_tfroundtrip import check_baseline

    model = trained()[0]
    written = check_baseline(model, tmp_path, "mlp", update=True)
    skipped = {r.format: r.detail for r in written.results if r.status == "skipped"}
    assert sorted(skipped) == ["savedmodel"], written  # a TensorFlow-only format: said so, not a saving failure
    assert "not applicable: tf.saved_model.save takes only TensorFlow objects" in skipped["savedmodel"], skipped
    assert check_baseline(model, tmp_path, "mlp").status == "passed"


def test_command_line(tmp_path):
    import json, os, subprocess

    trained()[0].save(tmp_path / "mlp.keras")
    for target in (str(tmp_path / "mlp.keras"),):  # a factory target (file.py:mlp) takes the same path once loaded
        run = subprocess.run(["tf-roundtrip", "check", target, "--formats", "keras,export,keras@tensorflow", "--max-examples", "3",
                              "--json", str(tmp_path / "check.json"), "--no-progress"], capture_output=True, text=True,
                             timeout=900, env=dict(os.environ))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        verdicts = {e["label"]: e["verdict"] for e in json.loads((tmp_path / "check.json").read_text())["checks"][0]["formats"]}
        assert verdicts == {"keras": "passed", "export": "passed", "keras@tensorflow": "passed"}, verdicts
"""


def test_a_jax_process_checks_the_formats_of_its_backend(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_jax_project=JAX_PROJECT)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--tf-roundtrip-keep-artifacts",
                                           "--tf-roundtrip-json=out/checks.json")
    result.assert_outcomes(passed=8)
    output = result.stdout.str()
    assert ", Keras backend jax; formats available: keras, h5, export, weights, tflite, keras@tensorflow, weights@tensorflow" \
           "; not formats of a jax model: savedmodel, checkpoint, litert, openvino" in output
    if not _lazy.is_installed("jax2onnx"):
        assert "ONNX: skipped jax2onnx not installed" in output and "(pip install jax2onnx)" in output

    document = json.loads((pytester.path / "out" / "checks.json").read_text())
    mlp = next(check for check in document["checks"] if check["test"].endswith("::test_mlp"))
    entries = {entry["label"]: entry for entry in mlp["formats"]}
    assert entries["savedmodel"]["verdict"] == "not_applicable" and "KERAS_BACKEND=jax" in entries["savedmodel"]["reason"]
    assert entries["keras@tensorflow"]["verdict"] == "passed" and "keras@jax" not in entries
    matrix = output.split("tf-roundtrip summary")[1]
    assert "keras@tensorflow" in matrix and "n/a(" in matrix

    # The keras failure's reproduction script sets the process's backend and shows the defect with plain calls.
    script = Path(output.split("REPRODUCE ")[1].split()[0])
    assert "os.environ['KERAS_BACKEND'] = 'jax'" in script.read_text()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout.split("max abs error ")[1].split()[0]) > 0.01, run.stdout  # the forgotten factor

    # The optimizer whose config forgets an argument diverges on keras and orbax (plain calls in the project).
    assert "OPTIMIZER DEFECT loss differs from step" in output
    # The JAX-only layer: plain Keras on TensorFlow cannot load the file saved under JAX.
    load = subprocess.run([sys.executable, "-c", "import sys, keras; sys.path.insert(0, '.'); import test_jax_project; "
                           "keras.models.load_model('jax_only_layer.keras')"], capture_output=True, text=True,
                          timeout=300, cwd=pytester.path, env=dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3"))
    assert load.returncode != 0 and "JaxSoftplus" in load.stderr and "SymbolicTensor" in load.stderr, load.stderr[-2000:]


PLAIN_UNDER_JAX = """
import os, sys, tempfile
import numpy as np, keras, tensorflow as tf
assert keras.backend.backend() == "jax"
directory = tempfile.mkdtemp()
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(4, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(np.random.rand(64, 8).astype("float32"), np.random.randint(0, 4, 64), epochs=1, verbose=0)
for name, attempt in {"savedmodel": lambda: tf.saved_model.save(model, os.path.join(directory, "sm")),
                      "checkpoint": lambda: tf.train.Checkpoint(model=model).write(os.path.join(directory, "ckpt")),
                      "litert": lambda: model.export(os.path.join(directory, "m.tflite"), format="litert")}.items():
    try:
        attempt()
        print(name, "SAVED")
    except Exception as error:
        print(name, "REFUSED", type(error).__name__, str(error).splitlines()[0])
"""


def test_plain_calls_under_jax_show_what_the_check_says(tmp_path: Path) -> None:
    script = tmp_path / "plain_jax.py"
    script.write_text(PLAIN_UNDER_JAX)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "savedmodel REFUSED ValueError Expected an object of type `Trackable`" in run.stdout
    assert "checkpoint REFUSED ValueError `Checkpoint` was expecting model to be a trackable object" in run.stdout
    assert "litert REFUSED ValueError LiteRT export requires TensorFlow or PyTorch backend." in run.stdout
    # The not-applicable reasons quote the refusal a user meets (the properties' oracle compares errors by it).
    for name in ("savedmodel", "checkpoint"):
        kind, message = run.stdout.split(f"{name} REFUSED ")[1].split(" ", 1)
        quoted = f"{kind}: " + " ".join(message.split()[:6]).rstrip(",.")
        assert quoted in get_format(name).backend_reason("jax"), (quoted, get_format(name).backend_reason("jax"))


def test_under_tensorflow_the_tensorflow_formats_apply_and_keras_at_tensorflow_is_not_listed() -> None:
    import keras

    from pytest_tfroundtrip.checks.roundtrip import _choose_formats
    from pytest_tfroundtrip.checks.subject import prepare_subject

    assert _lazy.process_backend() == "tensorflow"
    subject = prepare_subject(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).subject
    chosen, skipped = _choose_formats(None, subject)
    names = {fmt.name for fmt in chosen} | set(skipped)
    assert {"savedmodel", "checkpoint", "litert", "keras@jax"} <= {fmt.name for fmt in chosen}
    assert "keras@tensorflow" not in names and "weights@tensorflow" not in names
    _chosen, named = _choose_formats(["keras@tensorflow"], subject)  # named: not applicable, with why
    assert named["keras@tensorflow"].not_applicable
    assert "the process under test runs tensorflow" in named["keras@tensorflow"].skip_reason
    assert get_format("savedmodel").backend_reason("tensorflow") is None
