"""Real architectures nobody here wrote, checked with zero configuration.

Every model is checked with ``check_roundtrip(model)`` and
``check_custom_objects(model)``, no arguments.  The formats expected to fail
are listed per model, and each expected failure is reproduced in the test
with plain TensorFlow/Keras calls, so a failure the checker reports is shown
to be genuine (and a format that stops failing shows up too).

Models marked ``slow`` run with ``pytest tests -n 2 -m slow``; ViTBackbone (a
real model with an expected failure, ``checkpoint``) is the representative
part that runs with the main test command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from pytest_tfroundtrip import RoundTripError, check_custom_objects, check_roundtrip

keras_hub = pytest.importorskip("keras_hub")
hub = keras_hub.models
apps = keras.applications
SMALL_IMAGE = (32, 32, 3)

Reproduce = Callable[[keras.Model, Any, Path], None]  # (model, the checker's FormatResult, a directory)


def h5_cannot_reload(message: str) -> Reproduce:
    """Plain Keras: model.save("*.h5") works, keras.models.load_model of it raises ``message``.
    By default the checker calls h5 not applicable, with that error."""

    def reproduce(model: keras.Model, result: Any, directory: Path) -> None:
        model.save(directory / "plain.h5")
        with pytest.raises(ValueError, match=message):
            keras.models.load_model(directory / "plain.h5")
        # A limit of the deprecated legacy loader: not applicable by default, with the loader's own words.
        assert result.status == "skipped" and message.replace("\\", "") in result.skip_reason

    return reproduce


def tflite_cannot_convert(model: keras.Model, result: Any, directory: Path) -> None:
    """Plain TensorFlow: the exported SavedModel does not convert with TFLite's built-in ops.
    By default the checker calls tflite not applicable, with the converter's reason."""
    model.export(str(directory / "export"), verbose=False)
    with pytest.raises(Exception, match="Some ops are not supported by the native TFLite runtime|neither a custom op nor a flex op"):
        tf.lite.TFLiteConverter.from_saved_model(str(directory / "export")).convert()
    assert result.status == "skipped" and result.skip_reason.startswith("TFLite's built-in ops cannot run this model: ConverterError")


def checkpoint_leaves_weights_unrestored(model: keras.Model, result: Any, directory: Path) -> None:
    """Plain TensorFlow: a checkpoint read into a model rebuilt from its config passes
    assert_existing_objects_matched() yet leaves weights at their initial values."""
    tf.train.Checkpoint(model=model).save(str(directory / "ckpt" / "model"))
    rebuilt = type(model).from_config(model.get_config())
    status = tf.train.Checkpoint(model=rebuilt).read(tf.train.latest_checkpoint(str(directory / "ckpt")))
    status.assert_existing_objects_matched()
    images = np.random.default_rng(0).standard_normal((2,) + tuple(model.input.shape[1:])).astype("float32")
    assert np.abs(np.asarray(model(images)) - np.asarray(rebuilt(images))).max() > 0.1
    unrestored = [w.path for w, v in zip(rebuilt.weights, model.weights) if not np.array_equal(w.numpy(), v.numpy())]
    assert result.failure.weights is not None and set(result.failure.weights.not_restored) <= set(unrestored)
    assert result.failure.weights.not_restored  # the checker names them


def onnx_runtime_refuses(message: str) -> Reproduce:
    """Plain Keras + ONNX Runtime: model.export(format="onnx") writes a file that onnxruntime cannot run on the
    model's own inputs (an op it does not know, a call left unconverted, or tensors left as unfed graph inputs).
    By default the checker calls onnx not applicable, with the runtime's reason."""

    def reproduce(model: keras.Model, result: Any, directory: Path) -> None:
        import onnxruntime

        model(_inputs_like(model))  # Keras's ONNX export refuses a model never called
        model.export(str(directory / "plain.onnx"), format="onnx", verbose=False)
        with pytest.raises(Exception, match=message):
            session = onnxruntime.InferenceSession(str(directory / "plain.onnx"), providers=["CPUExecutionProvider"])
            session.run(None, {session.get_inputs()[0].name: _inputs_like(model)})
        assert result.status == "skipped" and result.skip_reason.startswith("ONNX Runtime cannot run this model")

    return reproduce


def litert_needs_tensorflow_ops(model: keras.Model, result: Any, directory: Path) -> None:
    """Plain Keras + LiteRT: model.export(format="litert") keeps TensorFlow ops the ai-edge-litert interpreter cannot run.
    By default the checker calls litert not applicable, with the interpreter's reason."""
    from ai_edge_litert.interpreter import Interpreter

    model.export(str(directory / "plain.tflite"), format="litert", verbose=False)
    runner = Interpreter(model_path=str(directory / "plain.tflite")).get_signature_runner()
    inputs = {name: np.ones((1, 4), "int32") for name in runner.get_input_details()}
    with pytest.raises(RuntimeError, match="Select TensorFlow op"):
        runner(**inputs)
    assert result.status == "skipped" and "Select TensorFlow op" in result.skip_reason


def _inputs_like(model: keras.Model) -> Any:
    """A batch of 2: ones for each input of a text model (token ids, mask), normal pixels for an image model."""
    if isinstance(model.input, dict):
        return {name: np.ones((2, 8), "int32") for name in model.input}
    return np.random.default_rng(0).standard_normal((2,) + tuple(model.input.shape[1:])).astype("float32")


@dataclass(frozen=True)
class RealModel:
    name: str
    build: Callable[[], keras.Model]
    expected_failures: dict[str, Reproduce] = field(default_factory=dict)
    # Deployment runtimes that cannot take the model: not applicable by default, each reproduced too.
    not_applicable: dict[str, Reproduce] = field(default_factory=dict)
    # Formats whose artifact fails in the clean process of check_custom_objects (each also fails above).
    clean_process_failures: frozenset[str] = frozenset()
    slow: bool = True


def _text(name: str, cls: Callable[..., keras.Model], **config: Any) -> RealModel:
    return RealModel(name, lambda: cls(**config), {}, {"h5": h5_cannot_reload(f"Unknown layer: '{cls.__name__}'")},
                     slow=True)


TEXT = dict(vocabulary_size=100, num_layers=2, hidden_dim=16, intermediate_dim=32)
REAL_MODELS = [
    _text("BertBackbone", hub.BertBackbone, num_heads=2, max_sequence_length=32, **TEXT),
    _text("GPT2Backbone", hub.GPT2Backbone, num_heads=2, max_sequence_length=32, **TEXT),
    RealModel("DistilBertBackbone", lambda: hub.DistilBertBackbone(num_heads=2, max_sequence_length=32, **TEXT),
              {}, {"h5": h5_cannot_reload("Unknown layer: 'DistilBertBackbone'"), "onnx": onnx_runtime_refuses("Erfc")}),
    RealModel("LlamaBackbone", lambda: hub.LlamaBackbone(num_query_heads=2, num_key_value_heads=1, **TEXT),
              {}, {"h5": h5_cannot_reload("Unknown layer: 'LlamaBackbone'"), "tflite": tflite_cannot_convert,
                   "litert": litert_needs_tensorflow_ops}),
    RealModel("BertTextClassifier", lambda: hub.BertTextClassifier(
        hub.BertBackbone(vocabulary_size=100, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
                         max_sequence_length=16), num_classes=3, preprocessor=None),
              {}, {"h5": h5_cannot_reload("Unknown layer: 'BertTextClassifier'")}),
    RealModel("ViTBackbone", lambda: hub.ViTBackbone(image_shape=(16, 16, 3), patch_size=8, num_layers=2, num_heads=2,
                                                     hidden_dim=16, mlp_dim=32),
              {"checkpoint": checkpoint_leaves_weights_unrestored},
              {"h5": h5_cannot_reload("Unknown layer: 'ViTBackbone'"), "onnx": onnx_runtime_refuses("Erfc")},
              clean_process_failures=frozenset({"checkpoint"}), slow=False),
    RealModel("ResNetBackbone", lambda: hub.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 64], stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2], block_type="basic_block", image_shape=SMALL_IMAGE),
              {}, {"h5": h5_cannot_reload("Unknown layer: 'ResNetBackbone'")}),
] + [
    RealModel(name, (lambda cls=getattr(apps, name), shape=shape: cls(weights=None, input_shape=shape, classes=10)),
              expected, not_applicable, clean_process_failures=frozenset(clean), slow=True)
    for name, shape, expected, clean, not_applicable in [
        ("MobileNet", SMALL_IMAGE, {}, (), {}),
        ("MobileNetV2", SMALL_IMAGE, {}, (), {}),
        ("MobileNetV3Small", SMALL_IMAGE, {}, (), {"h5": h5_cannot_reload("Only input tensors may be passed as positional arguments")}),
        ("ResNet50", SMALL_IMAGE, {}, (), {}),
        ("DenseNet121", SMALL_IMAGE, {}, (), {}),
        ("EfficientNetB0", SMALL_IMAGE, {}, (), {"onnx": onnx_runtime_refuses("Required inputs")}),
        ("EfficientNetV2B0", SMALL_IMAGE, {}, (), {"onnx": onnx_runtime_refuses("Required inputs")}),
        # The clean process reports h5 as needing the LayerScale class (h5 needs Python classes): not a failure there.
        ("ConvNeXtTiny", SMALL_IMAGE, {"h5": h5_cannot_reload("Unknown layer: 'LayerScale'")}, (),
         {"onnx": onnx_runtime_refuses("StatefulPartitionedCall")}),
        ("VGG16", SMALL_IMAGE, {}, (), {}),
        ("Xception", (71, 71, 3), {}, (), {}),
    ]
]


def _cases(all_slow: bool = False) -> list[Any]:
    return [pytest.param(case, id=case.name, marks=[pytest.mark.real_models] + ([pytest.mark.slow] if case.slow or all_slow else []))
            for case in REAL_MODELS]


def _fresh(case: RealModel) -> keras.Model:
    keras.utils.set_random_seed(0)
    return case.build()


@pytest.mark.parametrize("case", _cases())
def test_zero_configuration_round_trip_fails_exactly_where_plain_keras_fails(case: RealModel, tmp_path: Path) -> None:
    try:
        report = check_roundtrip(_fresh(case))
    except RoundTripError as error:
        report = error.report
    failed = {result.format: result for result in report.failed}
    assert set(failed) == set(case.expected_failures), {n: r.failure.message[:300] for n, r in failed.items()}
    for name, reproduce in case.expected_failures.items():
        reproduce(_fresh(case), failed[name], tmp_path)
    for name, reproduce in case.not_applicable.items():
        reproduce(_fresh(case), report.result_for(name), tmp_path)
    assert report.nondeterminism is None
    assert all(r.examples > 0 for r in report.results if r.status == "passed")


@pytest.mark.parametrize("case", _cases(all_slow=True))  # CI budget: the round trip above keeps a real model in CI
def test_zero_configuration_custom_objects_check(case: RealModel) -> None:
    try:
        report = check_custom_objects(_fresh(case))
    except RoundTripError as error:
        report = error.report
    assert not report.findings, [f.describe() for f in report.findings]  # built-in classes: nothing to fix
    failing = {r.format for r in report.clean if r.verdict == "fails"}
    assert failing == set(case.clean_process_failures), [p[:300] for p in report.problems]
    # In this process (classes available) the same artifacts fail as in check_roundtrip, reproduced there.
    assert {r.format for r in report.in_process if r.verdict == "fails"} == set(case.expected_failures)
    assert set(report.not_applicable) == set(case.not_applicable)
