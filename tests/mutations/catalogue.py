"""The defect catalogue (``docs/defect-catalogue.md``: sources, mechanisms, measured plain calls) as mutations.

A :class:`Mutation` is either a layer factory (placed into generated host models
with ``model_recipes(containing=mutation.factory)``) or a model-level builder
(``model_level(seed) -> MutatedModel``) for defects that live in the optimizer,
the compile config, a serving signature or a subclassed model.  ``check`` names
the check that must catch it; ``cause_words`` are words at least one of which
the failure text must contain; ``shows_in`` is what plain calls showed in the
catalogue (format names as the checker spells them, ``[fresh]``/``[resumed]`` as
measured there).  Calibration of the checker on each: ``tests/mutations/MEASURED.md``.

Example:
    >>> mutation("get_config_missing_arg").check
    'roundtrip'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.mutations import defect_layers as d
from tests.mutations.defect_layers import MutatedModel

__all__ = ["MEASURED_ONLY", "MUTATIONS", "MutatedModel", "Mutation", "NOT_MODEL_DEFECTS", "NOT_REPRODUCED", "mutation"]

CHECKS = ("roundtrip", "custom_objects", "resume")


@dataclass(frozen=True)
class Mutation:
    """One catalogue defect class as a change that makes a sound model defective."""

    id: str
    title: str
    sources: tuple[str, ...]
    check: str  # "roundtrip" | "custom_objects" | "resume"
    factory: Callable[[], Any] | None
    model_level: Callable[..., Any] | None = None
    cause_words: tuple[str, ...] = ()
    shows_in: tuple[str, ...] = ()
    fresh_only: bool = False
    note: str = ""

    def formats(self) -> tuple[str, ...]:
        """The formats named in ``shows_in`` (without ``[fresh]``/``[resumed]``), plus ``keras``, in order."""
        names = ["keras"] + [name.split("[")[0] for name in self.shows_in]
        return tuple(dict.fromkeys(names))


_NOT_FOUND = "the catalogue found no specific thread; measured here only"

MUTATIONS: tuple[Mutation, ...] = (
    # --- layer-level -------------------------------------------------------------------------------------------------
    Mutation(
        "get_config_missing_arg", "Custom layer's get_config omits a constructor argument",
        ("https://github.com/tensorflow/tensorflow/issues/39793", "https://github.com/keras-team/keras/issues/7000"),
        "roundtrip", d.forgets_scale, cause_words=("forgetful_scale",),
        shows_in=("keras", "h5", "keras[fresh]"),
        note="weights and checkpoint fail too in the checker: it rebuilds them with from_config(get_config())"),
    Mutation(
        "numpy_state_attr", "Layer keeps fitted state in a plain Python/NumPy attribute",
        ("https://github.com/tensorflow/tensorflow/issues/39583",),
        "roundtrip", d.fitted_numpy_offset, cause_words=("fitted_offset",),
        shows_in=("keras", "h5", "weights", "checkpoint")),
    Mutation(
        "raw_tf_variable", "Raw tf.Variable attribute in a Keras 3 layer (not add_weight)",
        ("https://github.com/keras-team/keras-hub/pull/2709", "https://github.com/keras-team/keras/issues/16797"),
        "roundtrip", d.raw_variable_gain, cause_words=("raw_variable_gain",),
        shows_in=("keras", "h5", "weights")),
    Mutation(
        "hashseed_weight_order", "Weights created in set-iteration order (depends on PYTHONHASHSEED)",
        ("https://github.com/keras-team/keras/issues/4875", "https://github.com/google-research/flood-forecasting/issues/305"),
        "custom_objects", d.set_ordered_terms, cause_words=("clean process", "set_ordered_terms"),
        shows_in=("keras[fresh]", "h5[fresh]", "weights[fresh]"), fresh_only=True,
        note="shows only in an interpreter with another hash seed; check_custom_objects' clean process gets a random "
             "one, so it shows there with high (not certain) probability"),
    Mutation(
        "container_vars_checkpoint", "Weights kept in a Python list/dict attribute are invisible to tf.train.Checkpoint",
        ("https://github.com/keras-team/keras/issues/19425", "https://github.com/tensorflow/tensorflow/issues/19250"),
        "roundtrip", d.listed_gains, cause_words=("not restored", "listed_gains"),
        shows_in=("checkpoint",)),
    Mutation(
        "python_random_init", "Layer output depends on an unseeded Python/NumPy RNG draw made in __init__",
        ("https://github.com/YannDubs/Hash-Embeddings/issues/1",),
        "roundtrip", d.init_drawn_projection, cause_words=("init_drawn_projection",),
        shows_in=("keras", "h5", "weights", "checkpoint", "keras[fresh]")),
    Mutation(
        "unregistered_class", "Custom layer class not registered (no register_keras_serializable / custom_objects)",
        ("https://github.com/googlecolab/colabtools/issues/4753", "https://github.com/keras-team/keras/issues/21046"),
        "roundtrip", d.unregistered_doubler, cause_words=("Could not locate class", "Unknown layer", "could not be deserialized"),
        shows_in=("keras", "h5", "keras[fresh]", "h5[fresh]")),
    Mutation(
        "lambda_global", "Lambda layer whose function reads a module-level global",
        ("https://github.com/keras-team/keras/issues/9431", "https://github.com/keras-team/keras/issues/15759"),
        "roundtrip", d.lambda_reading_global, cause_words=("Lambda", "safe_mode", "NameError"),
        shows_in=("keras", "h5", "keras[fresh]", "h5[fresh]"),
        note="the checker loads with safe_mode=True, so the load is refused before the global is looked up"),
    Mutation(
        "numpy_function", "Layer calls tf.numpy_function / tf.py_function (works only in the saving process)",
        ("https://github.com/tensorflow/tensorflow/issues/51623", "https://github.com/tensorflow/tensorflow/issues/35412"),
        "roundtrip", d.numpy_function_clip, cause_words=("PyFunc", "numpy_function", "callback"),
        shows_in=("litert", "onnx", "savedmodel[fresh]", "export[fresh]"),
        note="in this process only the converters (litert, onnx) fail; SavedModels fail in a new interpreter "
             "(check_custom_objects' clean process catches savedmodel and export)"),
    Mutation(
        "dtype_policy_no_super", "get_config does not call super(): dtype policy (and name/trainable) lost",
        ("https://github.com/keras-team/keras-hub/pull/385", "https://github.com/keras-team/keras-hub/pull/391"),
        "roundtrip", d.drops_dtype_policy, cause_words=("outputs differ",),
        shows_in=("keras", "h5"),
        note="mixed_float16 here (the catalogue used mixed_bfloat16, which legacy .h5 cannot load at all); the failure "
             "names no layer: the rebuilt layer has another name, and the checker does not pair it"),
    Mutation(
        "initializer_object_in_config", "Initializer/regularizer object put raw into get_config",
        (), "roundtrip", d.raw_initializer_in_config, cause_words=("Unknown config_item", "Orthogonal"),
        shows_in=("h5",), note=_NOT_FOUND + "; closest: https://github.com/keras-team/keras/issues/4596"),
    Mutation(
        "training_default_true", "call(..., training=True) default: graph exports run the training branch",
        ("https://github.com/tensorflow/tensorflow/issues/60855", "https://github.com/tensorflow/tensorflow/issues/60640"),
        "roundtrip", d.training_by_default, cause_words=("outputs differ",),
        shows_in=("savedmodel", "export", "onnx", "openvino")),
    Mutation(
        "stateful_rnn_state", "Stateful RNN hidden state not part of the saved model",
        ("https://github.com/keras-team/keras/issues/4379", "https://github.com/keras-team/keras/pull/4410"),
        "roundtrip", d.carried_state, cause_words=("not deterministic at inference",),
        shows_in=("keras", "h5", "savedmodel", "export", "weights", "checkpoint", "litert"),
        note="layer-level form: state carried between calls in an untracked variable, as RNN(stateful=True) does"),
    Mutation(
        "trainable_set_after_init", "Sublayer frozen after construction (sub.trainable=False) outside the config",
        ("https://github.com/tensorflow/tensorflow/issues/37541",),
        "roundtrip", d.frozen_after_init, cause_words=("two_step_block", "first", "second"),
        shows_in=("h5", "keras[resumed]", "h5[resumed]"),
        note="both sublayers have the same shapes, so legacy .h5's trainable-first order swaps their weights silently"),
    Mutation(
        "counter_updated_in_call", "Non-trainable variable mutated inside call() at inference (a call counter)",
        ("https://github.com/tensorflow/tensorflow/issues/39583",),
        "roundtrip", d.call_counter, cause_words=("not deterministic at inference",),
        shows_in=("keras", "h5", "savedmodel", "export", "weights", "checkpoint", "litert")),
    Mutation(
        "dropout_seed_state", "Seeded Dropout's SeedGenerator state not saved by any format",
        ("https://github.com/keras-team/keras/issues/19796",),
        "resume", d.seeded_dropout, cause_words=("dropout", "seed generator"),
        shows_in=("keras[resumed]", "h5[resumed]", "weights[resumed]", "checkpoint[resumed]"),
        note="check_resume_training aligns seed-generator state after reload and passes keras, weights and checkpoint "
             "with a note (a checker miss, see MEASURED.md); only h5 fails, as legacy_h5_resume"),
    Mutation(
        "custom_regularizer_get_config", "Custom regularizer whose get_config omits its strength",
        (), "resume", d.regularizer_forgets_strength, cause_words=("loss",),
        shows_in=("keras[resumed]", "h5[resumed]", "keras[fresh,resumed]"),
        note=_NOT_FOUND + "; same family as get_config_missing_arg"),
    Mutation(
        "normalization_adapt_onnx", "Normalization adapt() statistics: ONNX graph inputs, unused after a checkpoint",
        ("https://github.com/keras-team/keras/pull/20163", "https://github.com/keras-team/keras/issues/20147"),
        "roundtrip", d.adapted_normalization, cause_words=("graph inputs", "without a value", "normalization"),
        shows_in=("onnx", "checkpoint"), note="the sources report the mechanism (the layer computes from values only "
        "finalize_state() refreshes, which a legacy load skipped); for ONNX the closest is "
        "https://github.com/onnx/tensorflow-onnx/issues/760. The property tests found checkpoint too: tf.train.Checkpoint restores mean and variance, but the layer keeps "
        "computing from values cached at build (finalize_state() is not called); tests/test_held_out_regressions.py"),
    Mutation(
        "ops_layer_legacy_h5", "keras.ops applied to KerasTensors (auto op-layers) cannot be reloaded from legacy .h5",
        ("https://github.com/keras-team/keras/issues/19151",),
        "roundtrip", d.ops_node_submodel, cause_words=("Unknown layer",),
        shows_in=("h5", "h5[fresh]"),
        note="layer-level form: a nested functional model (rank-2 input only) with keras.ops nodes"),
    # --- model-level -------------------------------------------------------------------------------------------------
    Mutation(
        "functional_subclass_kwargs", "Functional-style keras.Model subclass with custom __init__ kwargs and no get_config",
        ("https://github.com/keras-team/keras/issues/21546",),
        "roundtrip", None, d.functional_subclass_kwargs, cause_words=("could not be loaded", "Unknown layer", "KwargsHead"),
        shows_in=("keras", "h5", "keras[fresh]")),
    Mutation(
        "unbuilt_on_load", "Subclassed model whose build cannot be replayed on load",
        ("https://github.com/keras-team/keras/issues/18875", "https://github.com/NatLabRockies/polyID/issues/6"),
        "roundtrip", None, d.unbuilt_on_load, cause_words=("weights differ",),
        shows_in=("keras", "weights"),
        note="call() needs concrete values (the catalogue's call(a, b) cannot be called with one input structure); "
             "load_model warns 'cannot be built automatically in build_from_config' and the children get fresh weights"),
    Mutation(
        "build_skips_children", "Custom build() does not build child layers (subclassed model)",
        ("https://github.com/NatLabRockies/polyID/issues/6", "https://github.com/keras-team/keras/issues/18823"),
        "roundtrip", None, d.build_skips_children, cause_words=("weights differ",),
        shows_in=(),
        note="the catalogue's functional host does not show it; in a subclassed model it does (measured here with plain "
             "calls: load_model differs by 1.78, ChildrenUnbuilt().build((None, 6)) + load_weights by 0.93)"),
    Mutation(
        "optimizer_state_weights_only", "Optimizer state (Adam moments, iterations) lost when resuming from weights only",
        ("https://github.com/tensorflow/tensorflow/issues/27049", "https://github.com/tensorflow/tensorflow/issues/57917"),
        "resume", None, d.optimizer_state_weights_only, cause_words=("optimizer",),
        shows_in=("h5[resumed]", "weights[resumed]")),
    Mutation(
        "lr_schedule_get_config", "Custom LearningRateSchedule whose get_config omits an argument",
        ("https://github.com/tensorflow/tensorflow/issues/49208",),
        "resume", None, d.lr_schedule_get_config, cause_words=("learning rate",),
        shows_in=("keras[resumed]", "h5[resumed]", "keras[fresh,resumed]")),
    Mutation(
        "ema_optimizer", "use_ema optimizer: EMA copies lost with weights-only saving",
        ("https://github.com/Megvii-BaseDetection/YOLOX/issues/1318", "https://github.com/ultralytics/yolov5/issues/310"),
        "resume", None, d.ema_optimizer, cause_words=("optimizer",),
        shows_in=("h5[resumed]", "weights[resumed]")),
    Mutation(
        "grad_accumulation", "gradient_accumulation_steps: partial accumulators lost mid-cycle",
        ("https://github.com/NVIDIA/TorchFort/pull/46",),
        "resume", None, d.grad_accumulation, cause_words=("optimizer",),
        shows_in=("h5[resumed]", "weights[resumed]")),
    Mutation(
        "loss_scale_optimizer", "LossScaleOptimizer dynamic loss scale lost",
        ("https://github.com/huggingface/transformers/issues/34053", "https://github.com/facebookresearch/co-tracker/pull/101"),
        "resume", None, d.loss_scale_optimizer, cause_words=("optimizer",),
        shows_in=("h5[resumed]", "weights[resumed]")),
    Mutation(
        "legacy_h5_resume", "Legacy .h5: a reloaded compiled model cannot continue training",
        ("https://github.com/entbappy/End-to-End-Chest-Cancer-Classification-using-MLflow-DVC/issues/2",
         "https://github.com/mrosol/Nonlincausality/pull/12"),
        "resume", None, d.legacy_h5_resume, cause_words=("Unknown variable", "originally built with"),
        shows_in=("h5[resumed]",)),
    Mutation(
        "custom_loss_unregistered", "compile() with an unregistered custom loss function",
        ("https://github.com/tensorflow/tensorflow/issues/32612", "https://github.com/keras-team/keras/issues/19151"),
        "resume", None, d.custom_loss_unregistered, cause_words=("Could not locate function", "doubled_mse"),
        shows_in=("keras[resumed]", "h5[resumed]", "keras[fresh,resumed]")),
    Mutation(
        "legacy_h5_loss_string", "Legacy .h5 with compile(loss='mse') string alias fails to load",
        ("https://github.com/keras-team/keras/issues/19330",),
        "roundtrip", None, d.legacy_h5_loss_string, cause_words=("keras.metrics.mse", "KerasSaveable"),
        shows_in=("h5", "h5[fresh]")),
    Mutation(
        "quantized_int8", "model.quantize('int8') then LiteRT export fails",
        ("https://github.com/tensorflow/tensorflow/issues/43985",),
        "roundtrip", None, d.quantized_int8, cause_words=("BatchMatMul", "litert"),
        shows_in=("litert",)),
    Mutation(
        "stringlookup_vocab", "StringLookup vocabulary (adapt) lost in legacy .h5 / weights-only / ONNX",
        ("https://github.com/tensorflow/tensorflow/issues/61369", "https://github.com/keras-team/keras/pull/21751"),
        "roundtrip", None, d.stringlookup_vocab, cause_words=("lookup", "FailedPrecondition", "table"),
        shows_in=("h5", "weights", "onnx")),
)

# Classes of the catalogue with no source thread: measured here only (their notes give the closest thread).
MEASURED_ONLY: frozenset[str] = frozenset({"initializer_object_in_config", "custom_regularizer_get_config"})

# build_skips_children, which the catalogue did not reproduce in a functional host, does reproduce in a subclassed
# model: it is a mutation above.
NOT_REPRODUCED: dict[str, str] = {
    "tied_weights_shared_layer": "Keras 3.15 shares deserialized objects within one config, so the tie survives",
    "integer_variable": "int32 variables are stored and restored like float ones by every format",
    "litert_input_order": "Keras 3.15 export keeps the order of model.inputs in LiteRT, ONNX and SavedModel",
    "h5_weight_name_collision": "model.save('.h5') / load_model round-trips two same-type sublayers correctly",
}

# Reproduced classes that are no defect of the model: the user's loading code or runtime settings cause them, and
# the checker loads correctly on purpose, so no mutation of a model can make it fail.
NOT_MODEL_DEFECTS: dict[str, str] = {
    "fixed_batch_signature": "the fixed batch comes from the user's export call (input_signature=x.shape); measured: "
                             "model.export of a model built or declared with batch 5 serves batch 3, and a call "
                             "traced with a fixed signature rejects batch 3 in the original model too",
    "litert_static_batch": "the interpreter must be resized before feeding another batch; the checker resizes",
    "openvino_bf16_default": "OpenVINO's CPU plugin defaults to bf16 on AMX CPUs; the checker compiles with "
                             "INFERENCE_PRECISION_HINT=f32",
}

_BY_ID = {m.id: m for m in MUTATIONS}


def mutation(id: str) -> Mutation:  # noqa: A002 - the catalogue's word
    """The mutation with catalogue id ``id``."""
    try:
        return _BY_ID[id]
    except KeyError:
        raise KeyError(f"no mutation {id!r}; known: {', '.join(sorted(_BY_ID))}") from None
