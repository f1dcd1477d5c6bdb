"""Compile recipes: optimizers, options, learning-rate schedules, losses and metrics.

A loss decides the head an output needs (``softmax`` for sparse categorical
cross-entropy, ``sigmoid`` for binary cross-entropy, ...) and the targets
training draws for it; :mod:`.composition` adds the head, then draws a
:class:`~.recipes.CompileRecipe` here.

Example:
    >>> from hypothesis import given, settings
    >>> LOSSES["sparse_categorical_crossentropy"].head, LOSSES["sparse_categorical_crossentropy"].target
    ('softmax', 'sparse')
    >>> @settings(max_examples=5, database=None)
    ... @given(compile_recipes([LOSSES["mse"]]))
    ... def check(recipe):
    ...     assert recipe.losses[0] in ("mse", {"class_name": "MeanSquaredError", "config": {}})
    >>> check()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from pytest_tfroundtrip.generators.recipes import CompileRecipe, ModelRecipe, thaw


@dataclass(frozen=True)
class LossEntry:
    """A loss: its string name, ``keras.losses`` class, head activation and target kind."""

    name: str
    class_name: str
    head: str
    target: str
    min_units: int = 1
    config: tuple[tuple[str, Any], ...] = ()
    metrics: tuple[str, ...] = ("mae",)


LOSSES: dict[str, LossEntry] = {e.name: e for e in (
    LossEntry("mse", "MeanSquaredError", "linear", "regression"),
    LossEntry("mae", "MeanAbsoluteError", "linear", "regression", metrics=("mse",)),
    LossEntry("huber", "Huber", "linear", "regression", config=(("delta", 0.5),)),
    LossEntry("log_cosh", "LogCosh", "tanh", "regression"),
    LossEntry("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", "sigmoid", "positive"),
    LossEntry("poisson", "Poisson", "softplus", "positive"),
    LossEntry("cosine_similarity", "CosineSimilarity", "linear", "regression", min_units=2),
    LossEntry("hinge", "Hinge", "tanh", "sign"),
    LossEntry("squared_hinge", "SquaredHinge", "tanh", "sign"),
    LossEntry("binary_crossentropy", "BinaryCrossentropy", "sigmoid", "binary", metrics=("accuracy",)),
    LossEntry("binary_focal_crossentropy", "BinaryFocalCrossentropy", "sigmoid", "binary", metrics=("auc",)),
    LossEntry("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "softmax", "sparse", 2,
              metrics=("accuracy", "sparse_top_k_categorical_accuracy")),
    LossEntry("categorical_crossentropy", "CategoricalCrossentropy", "softmax", "categorical", 2,
              config=(("label_smoothing", 0.1),), metrics=("accuracy",)),
    LossEntry("categorical_focal_crossentropy", "CategoricalFocalCrossentropy", "softmax", "categorical", 2,
              metrics=("categorical_accuracy",)),
    LossEntry("kl_divergence", "KLDivergence", "softmax", "distribution", 2),
)}

_LR = st.sampled_from([1e-3, 1e-2, 0.05])
SCHEDULES: dict[str, Any] = {
    "ExponentialDecay": st.fixed_dictionaries({"initial_learning_rate": _LR, "decay_steps": st.integers(1, 5),
                                                "decay_rate": st.sampled_from([0.5, 0.9]), "staircase": st.booleans()}),
    "PiecewiseConstantDecay": st.fixed_dictionaries({"boundaries": st.just([1, 3]), "values": st.just([0.01, 0.005, 0.001])}),
    "CosineDecay": st.fixed_dictionaries({"initial_learning_rate": _LR, "decay_steps": st.integers(1, 5),
                                           "alpha": st.sampled_from([0.0, 0.1]), "warmup_steps": st.integers(0, 2),
                                           "warmup_target": st.sampled_from([None, 0.02])}),
    "CosineDecayRestarts": st.fixed_dictionaries({"initial_learning_rate": _LR, "first_decay_steps": st.integers(1, 3)}),
    "InverseTimeDecay": st.fixed_dictionaries({"initial_learning_rate": _LR, "decay_steps": st.integers(1, 5),
                                                "decay_rate": st.sampled_from([0.5, 1.0])}),
    "PolynomialDecay": st.fixed_dictionaries({"initial_learning_rate": _LR, "decay_steps": st.integers(1, 5),
                                               "end_learning_rate": st.just(1e-4), "power": st.sampled_from([1.0, 2.0])}),
}

_NONE: dict[str, Any] = {}
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "SGD": {"momentum": st.sampled_from([0.0, 0.9]), "nesterov": st.booleans()},
    "Adam": {"amsgrad": st.booleans(), "beta_2": st.sampled_from([0.999, 0.99])},
    "AdamW": {"weight_decay": st.sampled_from([0.004, 0.01]), "amsgrad": st.booleans()},
    "Adamax": _NONE, "Adagrad": {"initial_accumulator_value": st.sampled_from([0.1, 0.01])},
    "Adadelta": {"rho": st.sampled_from([0.95, 0.9])},
    "Adafactor": {"beta_2_decay": st.sampled_from([-0.8, -0.5])},
    "Ftrl": {"l1_regularization_strength": st.sampled_from([0.0, 0.01]), "l2_regularization_strength": st.sampled_from([0.0, 0.01])},
    "Lion": {"beta_1": st.sampled_from([0.9, 0.95])}, "Lamb": _NONE, "Nadam": _NONE,
    "RMSprop": {"momentum": st.sampled_from([0.0, 0.9]), "centered": st.booleans()},
    "Muon": {"adam_lr_ratio": st.sampled_from([0.1, 1.0])},
    "ScheduleFreeAdamW": {"warmup_steps": st.integers(0, 2)},
}
# Options every keras.optimizers.Optimizer takes; at most one clipping option at a time.
OPTIONS: dict[str, Any] = {
    "clipnorm": st.sampled_from([0.5, 1.0]), "clipvalue": st.sampled_from([0.5, 1.0]),
    "global_clipnorm": st.sampled_from([0.5, 1.0]), "weight_decay": st.sampled_from([0.001, 0.01]),
    "use_ema": st.just(True), "gradient_accumulation_steps": st.integers(2, 3),
}
_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


@st.composite
def optimizer_kwargs(draw: st.DrawFn, name: str, loss_scale: bool = False) -> dict[str, Any]:
    """Kwargs for optimizer ``name``: its own options, shared ones, a learning rate or schedule."""
    kwargs = draw(st.fixed_dictionaries({}, optional=OPTIMIZERS[name]))
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=2, unique=True))
    if sum(option in _CLIPPING for option in chosen) > 1 or (loss_scale and "gradient_accumulation_steps" in chosen):
        chosen = [o for o in chosen if o not in _CLIPPING and o != "gradient_accumulation_steps"]
    if name in ("ScheduleFreeAdamW",):  # it keeps its own averaged iterate; no EMA on top
        chosen = [o for o in chosen if o != "use_ema"]
    for option in chosen:
        kwargs[option] = draw(OPTIONS[option])
    if "use_ema" in kwargs:
        kwargs["ema_momentum"] = draw(st.sampled_from([0.9, 0.99]))
        kwargs["ema_overwrite_frequency"] = draw(st.sampled_from([None, 2]))
    schedule = draw(st.sampled_from([None, *sorted(SCHEDULES)]))
    if schedule is None:
        kwargs["learning_rate"] = draw(st.sampled_from([1e-4, 1e-3, 1e-2]) if name in ("Lion", "Adafactor") else _LR)
    else:
        kwargs["learning_rate"] = {"__schedule__": {"class_name": schedule, "config": draw(SCHEDULES[schedule])}}
    return kwargs


@st.composite
def loss_entries(draw: st.DrawFn) -> LossEntry:
    """A loss (with the head and targets it needs)."""
    return draw(st.sampled_from(list(LOSSES.values())))


@st.composite
def compile_recipes(draw: st.DrawFn, losses: list[LossEntry], dtype_policy: str | None = None,
                    custom_train_step: bool = False) -> CompileRecipe:
    """A compile recipe for outputs whose losses are ``losses`` (heads already fitting them)."""
    loss_scale = dtype_policy == "mixed_float16" and draw(st.booleans())
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    kwargs = draw(optimizer_kwargs(name, loss_scale))
    as_objects = draw(st.booleans())
    recipe_losses = tuple({"class_name": e.class_name, "config": dict(e.config)} if as_objects else e.name for e in losses)
    metrics = tuple(tuple(draw(st.lists(st.sampled_from(e.metrics), max_size=1))) for e in losses)
    return CompileRecipe(name, tuple(kwargs.items()), recipe_losses, tuple(e.target for e in losses), metrics,
                         loss_scale, custom_train_step and draw(st.booleans()))


def _decode(value: Any) -> Any:
    import keras

    if isinstance(value, dict) and "__schedule__" in value:
        spec = value["__schedule__"]
        return getattr(keras.optimizers.schedules, spec["class_name"])(**spec["config"])
    return value


def _loss(value: Any) -> Any:
    import keras

    return value if isinstance(value, str) else getattr(keras.losses, value["class_name"])(**value["config"])


def compile_arguments(recipe: ModelRecipe) -> dict[str, Any]:
    """``model.compile`` keyword arguments for the recipe (fresh Keras objects)."""
    import keras

    spec = recipe.compile
    assert spec is not None
    optimizer = getattr(keras.optimizers, spec.optimizer)(**{k: _decode(thaw(v)) for k, v in spec.optimizer_kwargs})
    if spec.loss_scale:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    losses = [_loss(thaw(v)) for v in spec.losses]
    metrics = [list(m) for m in spec.metrics]
    if recipe.output_structure == "dict":
        names = recipe.output_names()
        return {"optimizer": optimizer, "loss": dict(zip(names, losses)), "metrics": dict(zip(names, metrics))}
    if recipe.output_structure == "list":
        return {"optimizer": optimizer, "loss": losses, "metrics": metrics}
    return {"optimizer": optimizer, "loss": losses[0], "metrics": metrics[0]}
