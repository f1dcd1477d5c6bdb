"""Build the model a spec names, and prepare it as the spec says (compile, a few training steps).

Example:
    >>> built = build_from_spec("keras_hub:BertTextClassifier", fit_steps=2)
    >>> int(built.model.optimizer.iterations)
    2
"""

from __future__ import annotations

from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.targets import load_target
from pytest_tfroundtrip.zoo.named import build_zoo_model
from pytest_tfroundtrip.zoo.specs import ZOOS, BuiltModel, parse_model_spec

FIT_BATCH = 4


def build_from_spec(text: str, *, pretrained: bool = False, fit_steps: int = 0, imports: tuple[str, ...] = ()) -> BuiltModel:
    """The model ``text`` names; with ``fit_steps``, a compiled model is first trained that many steps.

    keras-hub tasks come compiled with their defaults (keras-hub compiles them in their constructor).
    Training data is drawn from the model's inputs and its loss, the way
    :func:`~pytest_tfroundtrip.check_resume_training` draws it.
    """
    spec = parse_model_spec(text)
    if spec.kind in ZOOS:
        built = build_zoo_model(spec, pretrained)
    else:
        target = load_target(spec.text, imports)
        built = BuiltModel(target.model, target.description, rebuild=target.rebuild)
    if fit_steps:
        fit_a_few_steps(built.model, fit_steps)
    return built


def fit_a_few_steps(model: Any, steps: int, seed: int = 0) -> None:
    """Train a compiled ``model`` ``steps`` batches on drawn data, so that its optimizer has state."""
    from pytest_tfroundtrip import _lazy
    from pytest_tfroundtrip.checks.subject import prepare_subject
    from pytest_tfroundtrip.checks.training import generated_data, make_batches

    if getattr(model, "optimizer", None) is None:
        raise RoundTripUsageError(f"--tf-roundtrip-model-fit needs a compiled model; {getattr(model, 'name', model)!r} "
                                  "is not compiled (keras-hub tasks are; backbones and applications are not)")
    subject = prepare_subject(model, None).subject
    x, y = generated_data(subject, FIT_BATCH * steps, seed)
    _lazy.keras().utils.set_random_seed(seed)
    for batch_x, batch_y in make_batches(x, y, FIT_BATCH, steps):
        model.train_on_batch(batch_x, batch_y)
