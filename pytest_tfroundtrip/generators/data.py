"""Data for generated models: input signatures, valid sample inputs, training targets.

Example:
    >>> from pytest_tfroundtrip.generators.recipes import InputRecipe, ModelRecipe, structure_inputs, structure_outputs
    >>> recipe = ModelRecipe("functional", (InputRecipe("ids", (None,), "int32", low=1, high=4),), (), (0,))
    >>> ids = sample_inputs(recipe, batch=2, seed=0)
    >>> ids.shape, ids.dtype.name, bool(((ids >= 1) & (ids < 4)).all())
    ((2, 3), 'int32', True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_tfroundtrip.generators.recipes import InputRecipe, ModelRecipe, structure_inputs, structure_outputs

FREE_DIM = 3  # the size sample inputs give an axis declared None


def _numpy_dtype(name: str) -> Any:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def sample_input(spec: InputRecipe, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Values valid for one input: in its integer range, from its vocabulary, or in [-1, 1]."""
    shape = (batch, *(FREE_DIM if d is None else d for d in spec.shape))
    if spec.dtype == "string":
        if not spec.vocabulary:
            raise ValueError(f"string input {spec.name!r} has no vocabulary to draw from")
        return np.asarray(spec.vocabulary)[rng.integers(0, len(spec.vocabulary), shape)]
    if spec.dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if spec.dtype.startswith(("int", "uint")):
        info = np.iinfo(spec.dtype)
        low = int(spec.low) if spec.low is not None else max(0, int(info.min))
        high = int(spec.high) if spec.high is not None else min(int(info.max) + 1, 10)
        return rng.integers(low, high, shape).astype(spec.dtype)
    float_low = -1.0 if spec.low is None else spec.low
    float_high = 1.0 if spec.high is None else spec.high
    values = rng.uniform(float_low, float_high, shape)
    if spec.sparse:
        values = values * (rng.uniform(size=shape) < 0.5)
    return values.astype(_numpy_dtype(spec.dtype))


def sample_inputs(recipe: ModelRecipe, batch: int = 2, seed: int = 0) -> Any:
    """Numpy inputs for the model, in its input structure (one array, a list, or a dict by name)."""
    rng = np.random.default_rng(seed)
    arrays = [sample_input(spec, batch, rng) for spec in recipe.inputs]  # a sparse input takes dense arrays too
    return structure_inputs(recipe, arrays)


def input_signature(recipe: ModelRecipe) -> Any:
    """``tf.TensorSpec``/``tf.SparseTensorSpec`` per input, in the model's input structure."""
    import tensorflow as tf

    specs = [tf.SparseTensorSpec(shape=(None, *i.shape), dtype=i.dtype) if i.sparse
             else tf.TensorSpec(shape=(None, *i.shape), dtype=i.dtype, name=i.name) for i in recipe.inputs]
    return structure_inputs(recipe, specs)


def _target(kind: str, prediction: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shape = prediction.shape
    if kind == "sparse":
        return rng.integers(0, shape[-1], shape[:-1]).astype("int32")
    if kind == "categorical":
        return np.eye(shape[-1], dtype="float32")[rng.integers(0, shape[-1], shape[:-1])]
    if kind == "binary":
        return rng.integers(0, 2, shape).astype("float32")
    if kind == "sign":
        return (2 * rng.integers(0, 2, shape) - 1).astype("float32")
    if kind == "positive":
        return rng.uniform(0.0, 1.0, shape).astype("float32")
    if kind == "distribution":
        raw = rng.uniform(0.1, 1.0, shape)
        return (raw / raw.sum(axis=-1, keepdims=True)).astype("float32")
    if kind == "regression":
        return rng.uniform(-1.0, 1.0, shape).astype("float32")
    raise ValueError(f"unknown target kind {kind!r}")


def training_targets(recipe: ModelRecipe, model: Any, x: Any, seed: int) -> Any:
    """Targets for ``x`` fitting each output's loss, in the model's output structure."""
    if recipe.compile is None:
        raise ValueError("this recipe is not compiled, so it has no loss to draw targets for")
    outputs = model(x, training=False)
    if recipe.output_structure == "dict":
        outputs = [outputs[name] for name in recipe.output_names()]
    elif recipe.output_structure == "single":
        outputs = [outputs]
    rng = np.random.default_rng(seed)
    targets = [_target(kind, np.asarray(out), rng) for kind, out in zip(recipe.compile.targets, outputs)]
    return structure_outputs(recipe, targets)
