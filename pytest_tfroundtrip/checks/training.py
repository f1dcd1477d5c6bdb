"""Deterministic training helpers for the resume check: copies, data, steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.config_audit import attribute_state, tracked_variable_ids
from pytest_tfroundtrip.checks.object_copy import structural_copy
from pytest_tfroundtrip.errors import RoundTripUsageError, error_head
from pytest_tfroundtrip.formats.base import (
    Subject,
    call_keras_model,
    fresh_model_like,
    named_values,
    users_rebuild_of,
)
from pytest_tfroundtrip.inputs.probing import probe_arrays, varied_arrays
from pytest_tfroundtrip.structure import flatten_with_paths, map_leaves


@dataclass(frozen=True)
class TrainingState:
    """What a training run leaves behind, by variable path."""

    weights: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    iterations: int


def require_compiled(model: Any) -> None:
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise RoundTripUsageError(
            f"model {getattr(model, 'name', type(model).__name__)!r} is not compiled, so there is no training to resume. "
            "Call model.compile(optimizer=..., loss=...) first."
        )


def rebuild_compiled(subject: Subject, check_faithful: bool = True, compile_config: Any = None) -> Any:
    """A fresh model of the same architecture, compiled like the model (fresh optimizer).

    With the user's ``rebuild=``, the model it builds; compiled like the model only if it comes back uncompiled.

    ``compile_config``: the model's ``get_compile_config()``, where the model is not here (a worker interpreter).
    """
    fresh = fresh_model_like(subject, check_faithful)
    if users_rebuild_of(subject) is not None and getattr(fresh, "compiled", False):
        return fresh  # the user's rebuild= compiled it as the user's training code does
    # As user code does: compile() leaves the optimizer unbuilt (compile_from_config would build it).
    keras = _lazy.keras()
    config = subject.model.get_compile_config() if compile_config is None else compile_config
    fresh.compile(**keras.saving.deserialize_keras_object(config))
    return fresh


@dataclass(frozen=True)
class TrainingCopy:
    """A compiled copy of the user's model with its weights and optimizer state, and how it was made."""

    model: Any
    note: str | None = None  # set when the copy had to go through get_config()


def independent_copy(subject: Subject) -> TrainingCopy:
    """A structural copy of the model and its optimizer: new variables, nothing through serialization.

    The resume check's reference must not pass through the mechanism under
    test: a copy rebuilt from ``get_config()`` would lose on both sides what
    the config loses (a schedule's argument, an optimizer option).  Models that
    cannot be copied so (or whose copy would share a variable with the
    original, or compute differently) fall back to that rebuild, with a note
    saying what it cannot see.
    """
    model = subject.model
    try:
        duplicate = structural_copy(model)
        shared = _variable_ids(model) & _variable_ids(duplicate)
        if shared:
            raise ValueError(f"{len(shared)} variables would be shared with the original")
        if subject.output_template is not None:  # a model that only trains itself (a GAN) is never called
            probe = probe_arrays(subject.signature)
            if not _same_outputs(call_keras_model(model, subject, probe), call_keras_model(duplicate, subject, probe)):
                raise ValueError("the copy computes different outputs")
    except Exception as error:
        return TrainingCopy(copy_with_state(subject), note=(
            f"the model could not be copied without serialization ({type(error).__name__}: {error_head(error, limit=200)}), "
            "so the uninterrupted reference was rebuilt from get_config(): an argument the config loses would not "
            "show as a divergence"))
    return TrainingCopy(duplicate)


def _same_outputs(expected: Any, actual: Any) -> bool:
    pairs = zip(flatten_with_paths(expected), flatten_with_paths(actual))
    return all(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True) for (_p, a), (_q, b) in pairs)


def _variable_ids(model: Any) -> set[int]:
    variables = list(model.variables) + list(getattr(getattr(model, "optimizer", None), "variables", []))
    return {id(getattr(v, "value", v)) for v in variables}


def copy_with_state(subject: Subject, check_faithful: bool = False) -> Any:
    """A compiled copy with the model's weights and optimizer state; the model is only read."""
    model = subject.model
    copy = rebuild_compiled(subject, check_faithful)  # the reference: a fallback that says what it cannot see
    copy.set_weights(model.get_weights())
    source = model.optimizer
    if getattr(source, "built", False):
        copy.optimizer.build(copy.trainable_variables)
    if len(source.variables) != len(copy.optimizer.variables):
        raise RoundTripUsageError(
            f"cannot copy the optimizer state of {type(source).__name__}: it has {len(source.variables)} variables, "
            f"a rebuilt one has {len(copy.optimizer.variables)}"
        )
    for target, value in zip(copy.optimizer.variables, source.variables):
        target.assign(np.array(_lazy.keras().ops.convert_to_numpy(value)))  # a copy: under JAX, assigning the variable would share its buffer, which training deletes
    return copy


def align_random_state(source: Any, target: Any) -> bool:
    """Give ``target``'s layer RNGs (dropout seed generators) ``source``'s state.

    Keras 3 keeps seed-generator state in ``model.variables`` but not in
    ``model.weights``, and no format saves it: without this, dropout masks after
    a reload differ from the uninterrupted run whatever the format.  Returns
    whether the states differed (the format did not keep them).
    """
    return align_seed_states(seed_states(source), target)


def seed_states(model: Any) -> list[np.ndarray]:
    """The state of each layer RNG (dropout seed generator) of ``model``, in order."""
    keras = _lazy.keras()
    return [keras.ops.convert_to_numpy(v) for v in model.variables if "seed_generator" in v.path]


def align_seed_states(states: list[np.ndarray], target: Any) -> bool:
    """Assign ``states`` (from :func:`seed_states`) to ``target``'s layer RNGs; whether they differed."""
    keras = _lazy.keras()
    targets = [v for v in target.variables if "seed_generator" in v.path]
    if len(states) != len(targets):
        return False
    differed = False
    for value, dst in zip(states, targets):
        differed |= not np.array_equal(value, keras.ops.convert_to_numpy(dst))
        dst.assign(value)
    return differed


def state_of(model: Any) -> TrainingState:
    keras = _lazy.keras()
    optimizers = optimizers_of(model)
    return TrainingState(
        weights=dict(named_values(model.weights)),
        optimizer=dict(named_values([v for optimizer in optimizers for v in optimizer.variables])),
        iterations=max(int(keras.ops.convert_to_numpy(optimizer.iterations)) for optimizer in optimizers),
    )


def optimizers_of(model: Any) -> list[Any]:
    """``model.optimizer`` and every other optimizer the model holds as an attribute (a GAN's own ``compile``
    keeps one per network), each once.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("adam", "mse")
        >>> [type(o).__name__ for o in optimizers_of(model)]
        ['Adam']
    """
    keras = _lazy.keras()
    found = [model.optimizer] if getattr(model, "optimizer", None) is not None else []
    for value in vars(model).values():
        if isinstance(value, keras.optimizers.Optimizer) and all(value is not known for known in found):
            found.append(value)
    return found


def aligned_to(reference: TrainingState, state: TrainingState) -> TrainingState:
    """``state`` keyed by ``reference``'s paths.

    A reloaded or rebuilt model may name its variables differently (another
    name scope at build time), which is no defect; matching by path would then
    compare nothing.  Variables are matched by position when the path sets
    differ but count and shapes agree; otherwise ``state`` is returned as is
    (and the missing paths show as divergences).

    Example:
        >>> import numpy as np
        >>> a = TrainingState({"m/dense/kernel": np.ones(2)}, {}, 0)
        >>> b = TrainingState({"dense/kernel": np.zeros(2)}, {}, 0)
        >>> list(aligned_to(a, b).weights)
        ['m/dense/kernel']
    """
    return TrainingState(_aligned(reference.weights, state.weights), _aligned(reference.optimizer, state.optimizer),
                         state.iterations)


def _aligned(reference: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if set(reference) == set(values) or len(reference) != len(values):
        return values
    if any(a.shape != b.shape for a, b in zip(reference.values(), values.values())):
        return values
    return dict(zip(reference, values.values()))


def current_learning_rate(model: Any) -> float:
    return float(_lazy.keras().ops.convert_to_numpy(model.optimizer.learning_rate))


def train_steps(model: Any, batches: list[tuple[Any, Any]],
                on_step_error: Callable[[Exception], Exception] | None = None) -> tuple[list[float], list[float]]:
    """Train one step per batch; return the loss and the learning rate of each step.

    ``on_step_error`` turns an exception raised by the model's own ``train_on_batch`` (not by this
    function's bookkeeping) into the one to raise.
    """
    losses, rates = [], []
    for x, y in batches:
        rates.append(current_learning_rate(model))
        try:
            result = model.train_on_batch(x, y, return_dict=True)
        except Exception as error:
            if on_step_error is None:
                raise
            raise on_step_error(error) from error
        losses.append(float(result["loss"]) if "loss" in result else _summed_losses(result))
    return losses, rates


def _summed_losses(result: dict[str, Any]) -> float:
    """A custom ``train_step``'s losses (``d_loss``, ``g_loss``...) as one number per step, for comparing runs."""
    values = [float(np.asarray(value)) for key, value in sorted(result.items()) if key.endswith("loss")]
    return float(sum(values)) if values else float("nan")


def make_batches(x: Any, y: Any, batch_size: int, steps: int) -> list[tuple[Any, Any]]:
    """Consecutive, unshuffled batches; a clear error when the data is too short."""
    samples = {len(np.asarray(leaf)) for _path, leaf in flatten_with_paths(x) + (flatten_with_paths(y) if y is not None else [])}
    if len(samples) != 1:
        raise RoundTripUsageError(f"x and y must hold the same number of samples in every array, got sizes {sorted(samples)}")
    available = samples.pop()
    if available < batch_size * steps:
        raise RoundTripUsageError(
            f"x/y hold {available} samples but {steps} steps of batch_size {batch_size} need {batch_size * steps}; "
            "pass more data or fewer steps"
        )
    return [
        (map_leaves(lambda a, i=i: np.asarray(a)[i * batch_size:(i + 1) * batch_size], x),
         map_leaves(lambda a, i=i: np.asarray(a)[i * batch_size:(i + 1) * batch_size], y) if y is not None else None)
        for i in range(steps)
    ]


def generated_data(subject: Subject, samples: int, seed: int) -> tuple[Any, Any]:
    """Inputs from the signature's domains; targets shaped like the outputs, fitting the loss."""
    rng = np.random.default_rng(seed)
    arrays = varied_arrays(subject.signature, samples, rng)
    outputs = call_keras_model(subject.model, subject, arrays)
    loss_name = repr(subject.model.get_compile_config().get("loss", "")).lower()
    y = map_leaves(lambda out: _target_like(np.asarray(out), loss_name, rng), outputs)
    return subject.signature.pack(arrays), y


def _target_like(output: np.ndarray, loss_name: str, rng: np.random.Generator) -> np.ndarray:
    if "sparse" in loss_name:
        return rng.integers(0, output.shape[-1], size=output.shape[:-1])
    if "categorical" in loss_name:
        return np.eye(output.shape[-1], dtype="float32")[rng.integers(0, output.shape[-1], size=output.shape[:-1])]
    if "binary" in loss_name or "hinge" in loss_name:
        return (rng.random(output.shape) < 0.5).astype("float32")
    return rng.standard_normal(output.shape).astype(output.dtype if output.dtype.kind == "f" else "float32")


def python_state(model: Any) -> dict[str, dict[str, Any]]:
    """Per layer (every layer, in the model's layer order), state kept outside Keras's variables.

    Numbers, arrays and raw tf.Variables.  Layers without such state map to
    ``{}`` so that :func:`aligned_python_state` can pair layers by position.
    """
    tracked = tracked_variable_ids(model)
    return {layer.name: attribute_state(layer, tracked) for layer in model._flatten_layers(include_self=False, recursive=True)}


def aligned_python_state(saved: dict[str, dict[str, Any]], reloaded: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``reloaded`` keyed by ``saved``'s layer names, pairing layers by position when the names differ.

    A model rebuilt from its config names the sublayers a custom layer creates
    in ``__init__`` anew (``dense_15`` becomes ``dense_17``): pairing by name
    would compare nothing and call every constructor argument lost.

    Example:
        >>> aligned_python_state({"dense_1": {"units": 3}}, {"dense_7": {"units": 3}})
        {'dense_1': {'units': 3}}
    """
    if set(saved) == set(reloaded) or len(saved) != len(reloaded):
        return reloaded
    return dict(zip(saved, reloaded.values()))
