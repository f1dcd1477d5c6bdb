"""Formats that reload under another Keras backend: ``keras@jax``, ``weights@jax`` (and ``@torch`` where installed).

Every failure asserted here is reproduced with plain Keras calls in a new
interpreter started with ``KERAS_BACKEND`` set, as a team serving under JAX
would load the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from pytest_tfroundtrip import RoundTripError, _lazy, available_formats, check_roundtrip
from pytest_tfroundtrip.formats import AmongFormats, get_format
from pytest_tfroundtrip.reload import reload_model
from tests import backend_layers

REPO = Path(__file__).resolve().parents[1]
BACKENDS = [name for name in ("jax", "torch") if _lazy.is_installed(name)]
pytestmark = pytest.mark.skipif(not BACKENDS, reason="neither JAX nor PyTorch is installed (the test extra installs JAX)")


def plain_under(backend: str, code: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter on ``backend``, from the repository (so ``tests.backend_layers`` imports)."""
    script = directory / f"plain_{backend}.py"
    script.write_text(f"import sys; sys.path.insert(0, {str(REPO)!r})\nimport numpy as np, keras\nimport tests.backend_layers\n"
                      f"{code}\n")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"))


def plain_max_difference(model: keras.Model, backend: str, x: np.ndarray, directory: Path) -> float:
    """Save ``model`` as .keras here; load it on ``backend`` with plain calls; the largest difference on ``x``."""
    model.save(directory / "plain.keras")
    np.save(directory / "x.npy", x)
    np.save(directory / "want.npy", keras.ops.convert_to_numpy(model(x)))
    run = plain_under(backend, f"""
model = keras.models.load_model({str(directory / 'plain.keras')!r})
got = keras.ops.convert_to_numpy(model(np.load({str(directory / 'x.npy')!r})))
print("DIFF", float(np.max(np.abs(got - np.load({str(directory / 'want.npy')!r})))))""", directory)
    assert run.returncode == 0, run.stderr[-2000:]
    return float(run.stdout.split("DIFF")[-1])


def test_installed_backends_are_in_the_default_set() -> None:
    for backend in BACKENDS:
        assert {f"keras@{backend}", f"weights@{backend}"} <= set(available_formats())


@pytest.mark.parametrize("backend", BACKENDS)
# CI budget: every default check in CI (examples, properties) runs keras@jax and weights@jax on sound models
@pytest.mark.parametrize("build", [pytest.param(backend_layers.mlp, marks=pytest.mark.slow),
                                   pytest.param(backend_layers.conv_net, marks=pytest.mark.slow)],
                         ids=["mlp", "conv_net"])
def test_a_sound_model_passes_on_the_other_backend(backend: str, build, tmp_path: Path) -> None:
    model = build()
    report = check_roundtrip(model, formats=[f"keras@{backend}", f"weights@{backend}"], max_examples=10, seed=0)
    assert [(r.format, r.status, r.reloaded_in) for r in report.results] == [
        (f"keras@{backend}", "passed", "fresh"), (f"weights@{backend}", "passed", "fresh")]
    # Plain Keras agrees: the same file computes the same numbers there, to float32 rounding.
    x = np.random.default_rng(0).normal(size=(4, *model.input_shape[1:])).astype("float32")
    assert plain_max_difference(model, backend, x, tmp_path) < 1e-4


@pytest.mark.slow  # CI budget; tests/test_padding.py keeps the padding judgement in CI
def test_a_keras_hub_backbone_passes_on_jax(tmp_path: Path) -> None:
    keras_hub = pytest.importorskip("keras_hub")
    if "jax" not in BACKENDS:
        pytest.skip("JAX is not installed")
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=16)
    report = check_roundtrip(backbone, formats=["keras@jax"], max_examples=5, seed=0)
    assert report.results[0].status == "passed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_layer_calling_tensorflow_fails_with_the_layer_and_the_call_named(backend: str, tmp_path: Path) -> None:
    model = backend_layers.with_layer(backend_layers.TensorFlowSoftplus(name="tf_softplus"))
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(model, formats=["keras", f"keras@{backend}"], max_examples=5, seed=0)
    message = str(raised.value)
    results = {r.format: r for r in raised.value.report.results}
    assert results["keras"].status == "passed"  # on TensorFlow the file is sound
    assert results[f"keras@{backend}"].status == "failed"
    assert "layer 'tf_softplus' (TensorFlowSoftplus) calls TensorFlow directly: `return tf.math.softplus(x)`" in message
    assert "backend_layers.py" in message and "use keras.ops" in message
    # Plain Keras: loading the same file on that backend and calling it fails (JAX fails at load, PyTorch at the call).
    model.save(tmp_path / "plain.keras")
    run = plain_under(backend, f"keras.models.load_model({str(tmp_path / 'plain.keras')!r})(np.ones((2, 6), 'float32'))",
                      tmp_path)
    assert run.returncode != 0 and "TensorFlowSoftplus" in run.stderr


@pytest.mark.slow  # CI budget (60 s): test_a_layer_calling_tensorflow_fails_with_the_layer_and_the_call_named runs a backend finding in CI
def test_a_backend_difference_fails_with_its_layer_and_a_script_that_reproduces_it(tmp_path: Path) -> None:
    backend = BACKENDS[0]
    model = backend_layers.with_layer(backend_layers.BackendBranch(name="branch"))
    with pytest.raises(RoundTripError) as raised:
        check_roundtrip(model, formats=[f"keras@{backend}", f"weights@{backend}"], max_examples=5, seed=0,
                        artifacts_dir=tmp_path)
    for result in raised.value.report.results:
        assert result.status == "failed" and result.failure.stage == "mismatch", result
        assert result.failure.first_differing_layer is not None and "branch" in result.failure.first_differing_layer
        script = result.failure.reproduction
        assert script is not None and f"os.environ['KERAS_BACKEND'] = {backend!r}" in script.read_text()
        run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3"))
        assert run.returncode == 0, run.stderr[-2000:]
        max_error = float(run.stdout.split("max abs error ")[1].split()[0])
        assert max_error > 0.1, run.stdout
    # Plain Keras: the same file, loaded on that backend, computes something else.
    x = np.ones((2, 6), "float32")
    assert plain_max_difference(model, backend, x, tmp_path) > 0.1


def test_a_backend_that_is_not_installed_is_unavailable_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = _lazy.is_installed
    monkeypatch.setattr(_lazy, "is_installed", lambda name: name != "torch" and installed(name))
    report = check_roundtrip(backend_layers.mlp(), formats=["keras", "keras@torch", "weights@torch"], max_examples=3, seed=0)
    skipped = {r.format: r.skip_reason for r in report.results if r.status == "skipped"}
    assert set(skipped) == {"keras@torch", "weights@torch"}
    assert all("torch is not installed: pip install 'pytest-tfroundtrip[torch]'" in reason for reason in skipped.values())
    assert "keras@torch" not in available_formats()


def test_a_model_taking_strings_is_not_applicable_on_jax() -> None:
    if "jax" not in BACKENDS:
        pytest.skip("JAX is not installed")
    inputs = keras.Input((1,), dtype="string")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"])(inputs)
    model = keras.Model(inputs, keras.layers.Embedding(3, 2)(lookup))
    report = check_roundtrip(model, formats=AmongFormats(("keras", "keras@jax", "weights@jax")), max_examples=3, seed=0)
    results = {r.format: r for r in report.results}
    assert results["keras@jax"].not_applicable and "jax has no string tensors" in results["keras@jax"].skip_reason


def test_a_float64_model_is_not_applicable_on_jax_and_fails_there_when_named(tmp_path: Path) -> None:
    if "jax" not in BACKENDS:
        pytest.skip("JAX is not installed")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,), dtype="float64")
    model = keras.Model(inputs, keras.layers.Dense(3, dtype="float64")(inputs))
    report = check_roundtrip(model, formats=AmongFormats(("keras", "keras@jax")), max_examples=3, seed=0)
    assert "computes float64 as float32 unless its 64-bit mode is on" in report.result_for("keras@jax").skip_reason
    with pytest.raises(RoundTripError, match="dtype mismatch: expected dtype float64, got float32"):
        check_roundtrip(model, formats=["keras@jax"], max_examples=3, seed=0)
    # Plain calls: the file loads under JAX, the kernel says float64, the output is float32.
    model.save(tmp_path / "f64.keras")
    run = plain_under("jax", f"""
model = keras.models.load_model({str(tmp_path / 'f64.keras')!r})
print("DTYPE", keras.ops.convert_to_numpy(model(np.ones((2, 5)))).dtype)""", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("DTYPE")[-1].strip() == "float32"


def test_an_int64_weight_held_as_int32_by_jax_is_not_a_finding(tmp_path: Path) -> None:
    """JAX keeps int64 in 32 bits: the weight reloads as int32 with the same values (SigLIP's position ids)."""
    if "jax" not in BACKENDS:
        pytest.skip("JAX is not installed")
    model = backend_layers.with_layer(backend_layers.PositionOffsets())
    report = check_roundtrip(model, formats=["keras@jax", "weights@jax"], max_examples=5, seed=0)
    assert [r.status for r in report.results] == ["passed", "passed"]
    # Plain calls: under JAX the weight is int32, with the values the int64 original had.
    model.save(tmp_path / "positions.keras")
    run = plain_under("jax", f"""
model = keras.models.load_model({str(tmp_path / 'positions.keras')!r})
(weight,) = [w for w in model.weights if w.path.endswith("positions")]
value = keras.ops.convert_to_numpy(weight)
print("WEIGHT", value.dtype, value.tolist())""", tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("WEIGHT")[-1].split() == ["int32", "[0,", "1,", "2,", "3,", "4,", "5,", "6,", "7]"]


def test_a_wrong_value_in_an_int64_weight_still_fails_on_jax() -> None:
    """The 32-bit allowance compares values: a weight reloaded with other values is still named."""
    from pytest_tfroundtrip.checks.one_format import _backend_weight_closeness
    from pytest_tfroundtrip.results.tolerances import tolerance_function

    close = _backend_weight_closeness(tolerance_function(get_format("keras@jax").tolerance_family, None, None))
    wide = np.arange(8, dtype="int64")
    assert close(wide, wide.astype("int32"))
    assert not close(wide + 2**31, (wide + 2**31).astype("int32"))  # did not fit in 32 bits
    assert not close(wide, np.zeros(8, "int32"))
    # the other way: a JAX process's int32 weight (Normalization's count) reloaded under TensorFlow as int64
    narrow = np.arange(8, dtype="int32")
    assert close(narrow, narrow.astype("int64")) and not close(narrow, narrow.astype("int64") + 1)


def test_reload_model_runs_the_artifact_on_the_other_backend(tmp_path: Path) -> None:
    model = backend_layers.mlp()
    x = np.random.default_rng(1).normal(size=(3, 20)).astype("float32")
    for backend in BACKENDS:
        reloaded = reload_model(model, f"keras@{backend}", tmp_path)
        np.testing.assert_allclose(reloaded(x), keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6)
        assert get_format(f"keras@{backend}").keras_backend == backend


def test_a_baseline_stores_and_compares_a_backend_format(tmp_path: Path) -> None:
    from pytest_tfroundtrip import check_baseline

    backend = BACKENDS[0]
    model = backend_layers.mlp()
    formats = ["keras", f"keras@{backend}", f"weights@{backend}"]
    written = check_baseline(model, tmp_path, "mlp", formats=formats, update=True)
    assert [(r.format, r.status) for r in written.results] == [(name, "written") for name in formats]
    assert check_baseline(model, tmp_path, "mlp", formats=formats).status == "passed"


def test_the_command_line_checks_a_saved_file_on_the_other_backend(tmp_path: Path) -> None:
    import io

    from pytest_tfroundtrip.cli import main

    backend = BACKENDS[0]
    backend_layers.with_layer(backend_layers.BackendBranch(name="branch")).save(tmp_path / "branchy.keras")
    out = io.StringIO()
    status = main(["check", str(tmp_path / "branchy.keras"), "--import", "tests.backend_layers",
                   "--formats", f"keras,keras@{backend}", "--max-examples", "3", "--seed", "0"], stdout=out)
    assert status == 1, out.getvalue()
    assert f"[keras@{backend}] outputs differ" in out.getvalue() and "first layer whose output differs" in out.getvalue()
