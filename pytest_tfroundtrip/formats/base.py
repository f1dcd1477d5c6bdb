"""The interface every format adapter implements, and what they share.

An adapter saves the model under test into a directory, reloads the artifact
the way a user would, and returns a :data:`ReloadedCall`: a function from input
arrays (keyed by input name) to outputs in the model's own output structure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE, ModelSignature
from pytest_tfroundtrip.structure import flatten_with_paths, map_leaves, pack_like

ReloadedCall = Callable[[Mapping[str, np.ndarray]], Any]


@dataclass(frozen=True)
class Preserves:
    """What a format keeps, for the formats table (docs/formats.md) and for other checks."""

    architecture: bool
    weights: bool
    optimizer_state: bool
    needs_python_classes: bool
    resumes_training: bool


@dataclass(frozen=True)
class Subject:
    """The model under test with its input signature and output names.

    ``output_template`` is the model's output structure with output names at
    the leaves (from one call made when the check starts).
    """

    model: Any
    signature: ModelSignature
    output_template: Any
    user_input_signature: Any = None
    rebuild: Any = None  # the user's rebuild= function (here), or where a worker finds it (RebuildReference)

    @property
    def output_names(self) -> list[str]:
        return [name for _path, name in flatten_with_paths(self.output_template)]

    def input_tensors(self, arrays_by_name: Mapping[str, np.ndarray]) -> Any:
        """Inputs in the model's structure, as tensors of the signature's dtypes (of the backend Keras runs on)."""
        keras = _lazy.keras()
        if keras.backend.backend() != "tensorflow" and not _lazy.is_keras2_model(self.model):  # JAX or PyTorch Keras
            ops = keras.ops
            return self.signature.pack({spec.name: ops.convert_to_tensor(arrays_by_name[spec.name], dtype=spec.dtype)
                                        for spec in self.signature.specs})
        tf = _lazy.tensorflow()
        tensors = {
            spec.name: tf.constant(arrays_by_name[spec.name], dtype=tf.string if spec.dtype == STRING_DTYPE else spec.dtype)
            for spec in self.signature.specs
        }
        return self.signature.pack(tensors)

    def tensor_specs(self, keep_names: bool = True) -> list[Any]:
        """One ``tf.TensorSpec`` per input, in flat order."""
        tf = _lazy.tensorflow()
        return [
            tf.TensorSpec(spec.shape, tf.string if spec.dtype == STRING_DTYPE else spec.dtype, name=spec.name if keep_names else None)
            for spec in self.signature.specs
        ]

    def flat_outputs(self, outputs: Any) -> dict[str, np.ndarray]:
        """Outputs in the model's structure -> ``{output name: array}``."""
        leaves = [to_numpy(leaf) for _path, leaf in flatten_with_paths(outputs)]
        names = self.output_names
        if len(leaves) != len(names):
            return {f"output_{i}": leaf for i, leaf in enumerate(leaves)}
        return dict(zip(names, leaves))


def to_numpy(value: Any) -> np.ndarray:
    """A tensor (or array) as a NumPy array; strings become Python ``str``."""
    if type(value).__module__.startswith("torch"):  # a tensor that may require grad: .numpy() refuses it
        value = value.detach().cpu()
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype == object or array.dtype.kind == "S":
        array = np.vectorize(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v, otypes=[object])(array)
    return array


def call_keras_model(model: Any, subject: Subject, arrays_by_name: Mapping[str, np.ndarray]) -> Any:
    """Call a Keras model in inference mode; outputs as NumPy, same structure."""
    outputs = model(subject.input_tensors(arrays_by_name), training=False)
    return map_leaves(to_numpy, outputs)


def output_template_of(model: Any, outputs: Any) -> Any:
    """Name every output leaf: dict keys (paths), else ``model.output_names``.

    Example:
        >>> output_template_of(object(), {"b": 1, "a": 2})
        {'a': 'a', 'b': 'b'}
        >>> output_template_of(object(), [1, 2])
        ['output_0', 'output_1']
    """
    paths = [path for path, _leaf in flatten_with_paths(outputs)]
    if isinstance(outputs, Mapping):
        return pack_like(outputs, paths)
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(paths) or len(set(names)) != len(names):
        names = ["output"] if paths == [""] else [f"output_{path.replace('/', '_')}" for path in paths]
    return pack_like(outputs, names)


@dataclass(frozen=True)
class KerasReload:
    """A reload into a Keras model: called like any :data:`ReloadedCall`, and open to inspection.

    ``initial_digests`` fingerprint the values a freshly built model had
    before ``restored_by`` filled it (formats that keep no architecture), so
    that a weight still at its initial value can be named as not restored
    without keeping a second copy of the model's weights.
    """

    model: Any
    subject: Subject
    restored_by: str
    initial_digests: tuple[str, ...] | None = None

    def __call__(self, arrays_by_name: Mapping[str, np.ndarray]) -> Any:
        return call_keras_model(self.model, self.subject, arrays_by_name)


@dataclass(frozen=True)
class WarnedCall:
    """A reloaded call that works, with warnings about the artifact (deployment risks) for the report."""

    call: ReloadedCall
    warnings: tuple[str, ...]

    def __call__(self, arrays_by_name: Mapping[str, np.ndarray]) -> Any:
        return self.call(arrays_by_name)


def named_values(variables: Any) -> list[tuple[str, np.ndarray]]:
    """``(path, copy of the value)`` for each Keras variable, in order (paths may repeat)."""
    return [(variable_path(v), np.array(VariableValue(v), copy=True)) for v in variables]


def variable_path(variable: Any) -> str:
    """A variable's path in its model: Keras 3's ``path``, else (``tf_keras``, plain TensorFlow) its name."""
    return getattr(variable, "path", None) or variable.name


class VariableValue:
    """A Keras variable's value, read only when NumPy asks for it (``numpy.asarray``)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.shape = tuple(variable.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        try:
            # A read-only view of the variable's buffer: no copy (keras.ops.convert_to_numpy
            # makes two, 1.7 s per comparison of a 400 MB model).  Never written to.
            raw = self.variable.value
            raw = raw() if callable(raw) else raw  # tf.Variable (tf_keras weights): a method
            if not _is_tensorflow_value(raw):  # another Keras backend's array (in its worker)
                raise TypeError("not a TensorFlow value")
            value = np.asarray(_lazy.tensorflow().convert_to_tensor(raw)).view()
            value.flags.writeable = False
        except (TypeError, ValueError):
            value = np.asarray(_lazy.keras().ops.convert_to_numpy(self.variable))
        if dtype is not None:
            return value.astype(dtype)
        return value.copy() if copy else value  # numpy.array(...) asks for a copy it may write to


def _is_tensorflow_value(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in ("tensorflow", "tf_keras", "keras")


def named_variables(variables: Any) -> list[tuple[str, VariableValue]]:
    """``(path, value read on demand)`` for each Keras variable, in order: no copy is made here."""
    return [(variable_path(v), VariableValue(v)) for v in variables]


def saved_form(model: Any) -> list[tuple[str, Any]]:
    """``(path, value read on demand)`` for each weight of ``model`` as Keras writes it to a file.

    Keras merges a LoRA layer's factors into its kernel when it saves (``enable_lora``), and a reload holds the
    merged kernel with its factors at zero: compared in that form, a LoRA model's reload is the model it saved.
    Every other weight is as it is.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> model.layers[0].enable_lora(1)
        >>> _ = model.layers[0].lora_kernel_b.assign(np.ones((1, 2)))
        >>> [path.split("/")[-1] for path, _value in saved_form(model)]
        ['kernel', 'bias', 'lora_kernel_a', 'lora_kernel_b']
        >>> float(np.abs(np.asarray(saved_form(model)[3][1])).max())
        0.0
    """
    substitutes = _lora_substitutes(model)
    return [(variable_path(v), substitutes[id(v)] if id(v) in substitutes else VariableValue(v)) for v in model.weights]


def _lora_substitutes(model: Any) -> dict[int, np.ndarray]:
    """For each LoRA layer (float, not quantized): its raw kernel -> the merged kernel, its factors -> zeros."""
    substitutes: dict[int, np.ndarray] = {}
    flatten = getattr(model, "_flatten_layers", None)
    for layer in flatten(include_self=False, recursive=True) if flatten is not None else ():
        if not getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
            continue
        for raw_name, merged_name in (("_kernel", "kernel"), ("_embeddings", "embeddings")):
            raw = getattr(layer, raw_name, None)
            if raw is None or not hasattr(raw, "path"):
                continue
            substitutes[id(raw)] = np.asarray(_lazy.keras().ops.convert_to_numpy(getattr(layer, merged_name)))
            for factor_name in ("lora_kernel_a", "lora_kernel_b", "lora_embeddings_a", "lora_embeddings_b"):
                factor = getattr(layer, factor_name, None)
                if factor is not None:
                    substitutes[id(factor)] = np.zeros(tuple(factor.shape), dtype=str(factor.dtype))
            break
    return substitutes


def weight_digests(model: Any) -> tuple[str, ...]:
    """A digest of every weight of ``model``, in ``model.weights`` order (read one at a time)."""
    from pytest_tfroundtrip.results.weights import value_digest

    return tuple(value_digest(VariableValue(v)) for v in model.weights)


def weight_bytes(model: Any) -> int:
    """Bytes of the model's weights (variables of a dtype NumPy does not know count 4 bytes an element).

    Example:
        >>> import keras
        >>> weight_bytes(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
        32
    """
    total = 0
    for variable in model.weights:
        try:
            itemsize = np.dtype(str(variable.dtype)).itemsize
        except TypeError:
            itemsize = 4
        total += int(np.prod(variable.shape, dtype=np.int64)) * itemsize
    return total


UNFAITHFUL_REBUILD = "the architecture cannot be rebuilt from get_config()"
USERS_REBUILD_FAILED = "RebuildFailed: "


def rebuild_not_judged(name: str, message: str) -> str | None:
    """"Not judged" with the reason, when a weights-only format's load failed with :class:`UnfaithfulRebuild`,
    or the user's own ``rebuild=`` raised (:class:`~pytest_tfroundtrip.formats.user_rebuild.RebuildFailed`).

    Example:
        >>> rebuild_not_judged("weights", "UnfaithfulRebuild: the architecture cannot be rebuilt from get_config(): ...")[:40]
        'not judged: the architecture cannot be r'
        >>> rebuild_not_judged("weights", "RebuildFailed: rebuild= (make_model) raised OSError: no data")
        'not judged: rebuild= (make_model) raised OSError: no data: no file was loaded'
    """
    failed = next((line.strip() for line in message.splitlines() if USERS_REBUILD_FAILED in line), None)
    if failed is not None:
        return f"not judged: {failed[failed.index(USERS_REBUILD_FAILED) + len(USERS_REBUILD_FAILED):][:400]}: no file was loaded"
    line = next((line.strip() for line in message.splitlines() if UNFAITHFUL_REBUILD in line), None)
    if line is None:
        return None
    line = line[line.index(UNFAITHFUL_REBUILD):]
    return f"not judged: {line[:400]} (name {name!r} in formats= to see it fail, or pass rebuild= to judge it)"


class UnfaithfulRebuild(RuntimeError):
    """The model rebuilt from its config is not the model, whatever weights it gets: a weights-only format cannot be judged."""


def fresh_model_like(subject: Subject, check_faithful: bool = True) -> Any:
    """A new model of the same architecture with freshly initialised weights.

    This is what a user's code does before ``load_weights`` or a checkpoint
    restore: build the model again, with the user's own ``rebuild=`` function
    when the check was given one (then nothing else is asked of it), else from
    its config; then build it on a minimal input.  With ``check_faithful``, every layer of the rebuild
    must hold the model's constructor arguments and dtype policy: if the
    config loses one (or the class), the defect is the config's (the ``keras``
    format shows it), not the weights file's, and :class:`UnfaithfulRebuild`
    says so.  Those are set at construction, so the rebuild itself is compared,
    before any weight is loaded into it.
    """
    if users_rebuild_of(subject) is not None:
        return _users_rebuild(subject)
    fresh = _rebuilt(subject)
    if check_faithful:
        _require_faithful(subject, fresh)
    return fresh


def users_rebuild_of(subject: Subject) -> Any:
    """The user's ``rebuild=`` for this subject: the function here, where a worker finds it there, or None.

    Example:
        >>> users_rebuild_of(Subject(object(), None, None)) is None
        True
    """
    if subject.rebuild is not None:
        return subject.rebuild
    return subject.model.rebuild if isinstance(subject.model, ModelBlueprint) else None


def _users_rebuild(subject: Subject) -> Any:
    """The model built by the user's ``rebuild=`` (found by name in a worker), built on a minimal input if it is not."""
    from pytest_tfroundtrip.formats.user_rebuild import users_model

    original = None if isinstance(subject.model, ModelBlueprint) else subject.model
    fresh = users_model(users_rebuild_of(subject), original)
    if subject.output_template is None:  # a model that only trains itself (a GAN) is never called: nor is its rebuild
        return fresh
    return _built_by_a_call(fresh, subject)


@dataclass(frozen=True)
class ModelBlueprint:
    """The model under test as another interpreter sees it: what rebuilding it there, as user code would, takes.

    It stands for ``Subject.model`` in a worker interpreter, which never
    holds the original.  ``architecture`` is ``keras.saving.serialize_keras_object(model)``
    (None when that failed, with ``why_not``); ``construction`` is the original's
    :func:`~pytest_tfroundtrip.formats.construction.construction_record`.
    """

    architecture: Any
    construction: tuple[Any, ...]
    has_weights: bool
    why_not: str | None = None
    rebuild: Any = None  # where the worker finds the user's rebuild= (a RebuildReference), if given and importable


def blueprint_of(model: Any, rebuild: Any = None) -> ModelBlueprint:
    """The :class:`ModelBlueprint` of a Keras 3 model.

    Example:
        >>> import keras
        >>> blueprint = blueprint_of(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
        >>> blueprint.architecture["class_name"], blueprint.has_weights
        ('Sequential', True)
    """
    from pytest_tfroundtrip.formats.construction import construction_record

    try:
        architecture, why_not = _lazy.keras().saving.serialize_keras_object(model), None
    except Exception as error:
        architecture, why_not = None, f"keras.saving.serialize_keras_object(model) failed: {type(error).__name__}: {error}"
    if isinstance(architecture, dict):
        # As in this process (type(model).from_config(model.get_config())): the architecture alone, uncompiled and
        # built by a call, not by Keras's build_config (a compiled rebuild holds optimizer variables no checkpoint has).
        architecture = {key: value for key, value in architecture.items() if key not in ("compile_config", "build_config")}
    return ModelBlueprint(architecture, construction_record(model), bool(model.weights), why_not, rebuild)


def _rebuilt(subject: Subject) -> Any:
    model = subject.model
    if isinstance(model, ModelBlueprint):
        return _rebuilt_from_blueprint(subject, model)
    try:
        # What user code does: construct from the architecture, uncompiled.
        # (keras.models.clone_model would also compile the copy with a fresh optimizer.)
        fresh = type(model).from_config(model.get_config())
    except Exception as error:
        raise UnfaithfulRebuild(
            f"{UNFAITHFUL_REBUILD}: {type(model).__name__}.from_config(model.get_config()) failed: "
            f"{type(error).__name__}: {error}. Weights-only formats load into a model your code builds; "
            "the check builds it from the config."
        ) from error
    return _built_by_a_call(fresh, subject)


def _rebuilt_from_blueprint(subject: Subject, blueprint: ModelBlueprint) -> Any:
    """In a worker interpreter: the model built from its serialized config, its classes found by import."""
    if blueprint.architecture is None:
        raise UnfaithfulRebuild(f"{UNFAITHFUL_REBUILD}: {blueprint.why_not}")
    try:
        fresh = _lazy.keras().saving.deserialize_keras_object(blueprint.architecture)
    except Exception as error:
        raise UnfaithfulRebuild(
            f"{UNFAITHFUL_REBUILD}: keras.saving.deserialize_keras_object(config) failed in a new interpreter: "
            f"{type(error).__name__}: {error}. Weights-only formats load into a model your code builds; "
            "the check builds it from the config."
        ) from error
    return _built_by_a_call(fresh, subject)


def _built_by_a_call(fresh: Any, subject: Subject) -> Any:
    """``fresh``, called once on a probe input if it is unbuilt or lacks the weights the model has (as user code
    builds a model before restoring into it)."""
    model = subject.model
    has_weights = model.has_weights if isinstance(model, ModelBlueprint) else bool(model.weights)
    if not fresh.built or not fresh.weights and has_weights:
        from pytest_tfroundtrip.inputs.probing import probe_arrays  # imports hypothesis: not at plugin load

        call_keras_model(fresh, subject, probe_arrays(subject.signature))
    return fresh


def _require_faithful(subject: Subject, twin: Any) -> None:
    """Raise :class:`UnfaithfulRebuild` if the config loses a constructor argument or a dtype policy.

    Paired by position, every layer of the rebuilt model must hold the
    model's constructor arguments and dtype policy.  State kept outside the
    weights (a NumPy attribute, an untracked variable, a value drawn at
    construction) is no config loss: no weights file holds it, and the format
    fails on its own.
    """
    from pytest_tfroundtrip.formats.construction import construction_lost, construction_record

    original = subject.model.construction if isinstance(subject.model, ModelBlueprint) else construction_record(subject.model)
    lost = construction_lost(original, construction_record(twin))
    if lost is not None:
        raise UnfaithfulRebuild(
            f"{UNFAITHFUL_REBUILD} faithfully: {lost}. The config loses it (see the keras format and "
            "check_custom_objects); a model your code builds takes the weights file, which is not judged here")


def elided(text: str, limit: int = 300) -> str:
    """``text`` cut to about ``limit`` characters in the middle: runtimes put the op they lack last.

    Example:
        >>> elided("INVALID_GRAPH : In Node (" + "x" * 400 + ") Error No Op registered for LookupTableFindV2", limit=100)
        'INVALID_GRAPH : In Node (xxxxxxxxxxxxxxxxxxxx ... xxxx) Error No Op registered for LookupTableFindV2'
    """
    if len(text) <= limit:
        return text
    tail = limit // 2
    return f"{text[:limit - tail - 5]} ... {text[-tail:]}"


def trains_itself(model: Any) -> bool:
    """Whether the model's class overrides ``train_step`` (a GAN or any custom training loop in ``fit``).

    Example:
        >>> import keras
        >>> trains_itself(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        False
    """
    return type(model).train_step is not _lazy.keras_of(model).Model.train_step


class CannotResumeTraining(Exception):
    """The format reloads as an inference artifact: training cannot continue."""


class RoundTripFormat(ABC):
    """One way of saving and reloading a model.  Subclass and register.

    Class attributes describe the format for the README and for reports.
    """

    name: ClassVar[str]
    order: ClassVar[int]
    tolerance_family: ClassVar[str]
    preserves: ClassVar[Preserves]
    saved_with: ClassVar[str]
    reloaded_with: ClassVar[str]
    # Saved by converting the live model through model.export (export, TFLite, LiteRT, ONNX, OpenVINO): a twin the
    # .keras round trip proved identical (formats/twin.py) may be converted instead, in a worker.
    converts_live_model: ClassVar[bool] = False

    @property
    def keras_backend(self) -> str:
        """The Keras backend the artifact is loaded under: the process's own, as it was saved, unless the format says another."""
        return _lazy.process_backend()

    def backend_reason(self, backend: str) -> str | None:
        """Why this format is no format of a model in a process running the Keras backend ``backend``, or None.

        About the process, not the model (a TensorFlow-only API under JAX): not applicable even when named.

        Example:
            >>> from pytest_tfroundtrip.formats import get_format
            >>> get_format("keras").backend_reason("jax") is None, get_format("savedmodel").backend_reason("jax")[:33]
            (True, 'tf.saved_model.save takes only Te')
        """
        return None

    def listed_under(self, backend: str) -> bool:
        """Whether a check lists this format by default in a process running ``backend`` (``keras@jax`` is not, under JAX)."""
        return True

    def reproduction_preamble(self) -> list[str]:
        """Lines the reproduction script starts with, before it imports anything (say, choosing the Keras backend)."""
        backend = _lazy.process_backend()
        if backend == "tensorflow":
            return []
        return [f"import os; os.environ['KERAS_BACKEND'] = {backend!r}  # the backend of the process under test, before anything imports Keras"]

    def unavailable_reason(self) -> str | None:
        """Why this format cannot run in this environment (a missing package), or None.

        Must not import TensorFlow: it is called at plugin load.
        """
        return None if _lazy.is_installed("tensorflow") else "tensorflow is not installed"

    def not_applicable_reason(self, subject: Subject) -> str | None:
        """Why this format cannot apply to this model at all, or None."""
        return None

    # Measured error texts by which an exporter or runtime says it cannot express or run a model's ops.
    cannot_take_patterns: ClassVar[tuple[str, ...]] = ()

    def cannot_take(self, message: str) -> str | None:
        """"Not applicable" with the reason, when a save, load or call error ``message`` says this format's
        converter or runtime cannot take the model (an op it lacks); None for any other error, which is a failure.

        Example:
            >>> from pytest_tfroundtrip.formats import get_format
            >>> get_format("onnx").cannot_take("InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : ... Erfc")
            "ONNX Runtime cannot run this model: InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : ... Erfc (name 'onnx' in formats= to see it fail)"
            >>> get_format("keras").cannot_take("ValueError: Unknown layer") is None
            True
        """
        lines = [line.strip() for line in message.strip().splitlines()]
        said = next((line for line in lines if any(pattern in line for pattern in self.cannot_take_patterns)), None)
        if said is None:
            return None
        if said != lines[0]:  # the line that says why, after the error's type (converters start with a location)
            said = f"{lines[0].split(':')[0]}: {said}"
        return f"{self.runtime_name} cannot run this model: {elided(said)} (name {self.name!r} in formats= to see it fail)"

    runtime_name: ClassVar[str] = ""

    @property
    def try_anyway(self) -> str:
        """The hint ending every "not applicable" reason known before trying.

        Example:
            >>> from pytest_tfroundtrip.formats import get_format
            >>> get_format("onnx").try_anyway
            "(name 'onnx' in formats= to try anyway)"
        """
        return f"(name {self.name!r} in formats= to try anyway)"

    def save_for_training(self, model: Any, directory: Path) -> Path:
        """Save a compiled model to resume training later (formats that can)."""
        raise CannotResumeTraining(f"format {self.name!r} cannot resume training: {self.why_no_resume}")

    def load_for_training(self, artifact: Path, rebuild: Callable[[], Any]) -> Any:
        """Reload as a user resuming training would; ``rebuild()`` gives a fresh
        compiled model of the same architecture (weights-only formats need it)."""
        raise CannotResumeTraining(f"format {self.name!r} cannot resume training: {self.why_no_resume}")

    why_no_resume: ClassVar[str] = "it reloads as an inference artifact, not a Keras model with an optimizer"

    @abstractmethod
    def save(self, subject: Subject, directory: Path) -> Path:
        """Save ``subject.model`` under ``directory``; return the artifact path."""

    @abstractmethod
    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        """Reload ``artifact`` as a user would; return a function to call it."""

    def reproduction_code(self, subject: Subject, artifact: Path) -> list[str] | None:
        """Plain Python lines reloading ``artifact`` the way this format does, reading ``inputs`` and setting ``got``.

        ``inputs`` maps the model's input names to NumPy arrays; ``got`` must be the
        outputs in the model's flat order (:mod:`~pytest_tfroundtrip.formats.reproduction_code`).
        None: this format writes no reproduction snippet.  By default, the load lines then the call lines.
        """
        load = self.reproduction_load_lines(artifact)
        call = self.reproduction_call_lines(subject, artifact)
        return None if load is None or call is None else load + call

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        """Plain Python lines loading ``artifact`` as this format does (None: not without the user's own code)."""
        return None

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        """Plain Python lines calling what the load lines loaded on ``inputs``, setting ``got``; may read ``artifact``."""
        return None

    def __repr__(self) -> str:
        return f"<format {self.name}>"
