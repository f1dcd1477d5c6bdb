"""What a model takes is read once, into one immutable description (issue 31).

``describe_inputs`` reads the model in one walk (``inputs/reading.py``); specs,
domains and shape hints are then computed from that reading, and the probing
calls go through a callable.  These tests follow the ``model`` object through
preparing a check and count the ``inputs/`` files it enters.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import keras
import numpy as np
import pytest

from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.inputs.description import ModelInputs, describe_inputs

INPUTS_PACKAGE = Path(__file__).resolve().parents[1] / "pytest_tfroundtrip" / "inputs"


def text_classifier() -> keras.Model:
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    hidden = keras.layers.Embedding(30, 4)(ids)
    hidden = hidden * keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    return keras.Model({"token_ids": ids, "padding_mask": mask}, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(hidden)))


def with_a_backbone() -> keras.Model:
    """A task model over a functional backbone that takes all its inputs (keras-hub's shape)."""
    backbone = text_classifier()
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    return keras.Model({"token_ids": ids, "padding_mask": mask}, keras.layers.Dense(3)(backbone({"token_ids": ids, "padding_mask": mask})))


def files_entered_with(model: Any, action: Any) -> Counter[str]:
    """For each ``inputs/`` file: how often a call from another file entered it with ``model`` as an argument."""
    entered: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call":
            return
        path = Path(frame.f_code.co_filename)
        if path.parent != INPUTS_PACKAGE or frame.f_back is None or frame.f_back.f_code.co_filename == frame.f_code.co_filename:
            return
        arguments = frame.f_code.co_varnames[: frame.f_code.co_argcount + frame.f_code.co_kwonlyargcount]
        if any(frame.f_locals.get(name) is model for name in arguments):
            entered[path.name] += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return entered


@pytest.mark.parametrize("build", [text_classifier, with_a_backbone])
def test_preparing_a_check_reads_the_model_once(build: Any) -> None:
    model = build()
    entered = files_entered_with(model, lambda: prepare_subject(model))
    assert entered == Counter({"description.py": 1, "reading.py": 1}), entered


def test_the_description_holds_what_the_model_takes() -> None:
    described = prepare_subject(with_a_backbone()).inputs
    specs = {spec.name: spec for spec in described.signature.specs}
    assert specs["token_ids"].int_range == (0, 29)  # found inside the backbone, through its own input
    assert specs["padding_mask"].role == "mask"
    assert isinstance(described, ModelInputs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        described.signature = None  # type: ignore[misc]


def test_the_users_inputs_are_part_of_the_description() -> None:
    ids = np.array([[3, 4, 5]], dtype="int32")
    described = describe_inputs(text_classifier(), inputs={"token_ids": ids})
    assert set(described.overrides) == {"token_ids"}
    np.testing.assert_array_equal(described.given["token_ids"], ids)


def test_without_a_call_the_model_is_not_called() -> None:
    calls = []

    class Counting(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            calls.append(1)
            return x

    inputs = keras.Input((2,))
    model = keras.Model(inputs, Counting()(inputs))
    calls.clear()
    describe_inputs(model)
    assert calls == []
    describe_inputs(model, lambda signature, arrays: model(signature.pack(arrays)))
    assert calls


def test_below_the_checks_only_the_reading_walks_the_model() -> None:
    walkers = [path.name for path in INPUTS_PACKAGE.glob("*.py")
               if path.name != "reading.py" and any(word in path.read_text() for word in ("_flatten_layers", "_inbound_nodes"))]
    assert walkers == []
