"""The mutation catalogue is well formed: sources, importable factories, registered layers, shape-keeping layers."""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from pytest_tfroundtrip.generators.factories import factory_reference, resolve_factory
from tests.mutations import defect_layers
from tests.mutations.catalogue import (
    CHECKS,
    MEASURED_ONLY,
    MUTATIONS,
    NOT_MODEL_DEFECTS,
    NOT_REPRODUCED,
    MutatedModel,
    Mutation,
    mutation,
)

LAYER_LEVEL = [m for m in MUTATIONS if m.factory is not None]
MODEL_LEVEL = [m for m in MUTATIONS if m.model_level is not None]
# Factories returning Keras's own classes (the defect is in how they are used, not in a class of ours).
KERAS_OWN = {"lambda_global", "dropout_seed_state", "normalization_adapt_onnx", "ops_layer_legacy_h5"}
FORMAT_NAMES = {"keras", "h5", "savedmodel", "export", "weights", "checkpoint", "tflite", "litert", "onnx", "openvino"}


def test_ids_are_unique_and_cover_at_least_30_reproduced_classes():
    ids = [m.id for m in MUTATIONS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30
    assert sum(1 for m in MUTATIONS if m.sources) >= 30  # each taken from a public report, cited
    assert not set(ids) & set(NOT_REPRODUCED) and not set(ids) & set(NOT_MODEL_DEFECTS)
    assert len(NOT_REPRODUCED) + len(NOT_MODEL_DEFECTS) + len(ids) == 39  # every class of CATALOGUE.md, once


@pytest.mark.parametrize("m", MUTATIONS, ids=lambda m: m.id)
def test_mutation_is_well_formed(m: Mutation):
    assert m.check in CHECKS
    assert (m.factory is None) != (m.model_level is None), "exactly one of factory and model_level"
    assert m.cause_words and all(w.strip() for w in m.cause_words)
    assert all(name.split("[")[0] in FORMAT_NAMES for name in m.shows_in), m.shows_in
    if m.sources:
        assert all(url.startswith("https://github.com/") for url in m.sources)
        assert m.id not in MEASURED_ONLY
    else:
        assert m.id in MEASURED_ONLY, "a mutation without a source thread must be listed as measured-only"
    assert mutation(m.id) is m


def test_unknown_id_names_the_known_ones():
    with pytest.raises(KeyError, match="get_config_missing_arg"):
        mutation("no_such_defect")


@pytest.mark.parametrize("m", LAYER_LEVEL, ids=lambda m: m.id)
def test_factory_is_importable_and_its_layer_keeps_the_shape(m: Mutation):
    reference = factory_reference(m.factory)
    assert reference.startswith("tests.mutations.defect_layers:"), reference
    assert resolve_factory(reference) is m.factory
    layer = m.factory()
    assert isinstance(layer, keras.layers.Layer)
    cls = type(layer)
    if m.id in KERAS_OWN:
        assert cls.__module__.startswith("keras."), cls
    elif m.id == "unregistered_class":  # the defect: importable, but not registered
        assert keras.saving.get_registered_name(cls) == cls.__name__
        assert getattr(importlib.import_module(cls.__module__), cls.__name__) is cls
    else:
        name = keras.saving.get_registered_name(cls)
        assert name == f"{defect_layers.PACKAGE}>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls
    x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape((2, 6))
    out = layer(x)
    assert tuple(out.shape) == (2, 6)
    assert "float" in str(out.dtype)


@pytest.mark.parametrize("twin", sorted(defect_layers.SOUND_TWINS.items()), ids=lambda t: t[0])
def test_sound_twin_is_registered_and_keeps_the_shape(twin):
    defect_id, factory = twin
    assert mutation(defect_id).factory is not factory
    layer = factory()
    cls = type(layer)
    assert keras.saving.get_registered_object(f"{defect_layers.PACKAGE}>{cls.__name__}") is cls
    assert tuple(layer(np.ones((2, 6), "float32")).shape) == (2, 6)


@pytest.mark.parametrize("m", MODEL_LEVEL, ids=lambda m: m.id)
def test_model_level_builds_a_small_model_with_batch_3_inputs(m: Mutation):
    assert m.model_level is defect_layers.MODEL_LEVEL[m.id]
    built = m.model_level(0)
    assert isinstance(built, MutatedModel)
    assert isinstance(built.model, keras.Model)
    assert all(np.asarray(a).shape[0] == 3 for a in keras.tree.flatten(built.inputs))
    assert built.model.count_params() < 1000
    if m.check == "resume":
        assert built.model.optimizer is not None and built.x is not None and built.y is not None
    assert built.formats is None or set(built.formats) <= FORMAT_NAMES
    keras.backend.clear_session()
