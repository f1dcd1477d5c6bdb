"""The control for weights-only formats: the model rebuilt from its config, given the original's weights in memory.

A weights file or a checkpoint reloads into a model that the user's code
builds. Without ``rebuild=``, the check stands in for that code with
``from_config(get_config())``. Before a file is blamed, the control asks
whether that stand-in can be the model at all: rebuilt from the config and
given the original's weights directly (``set_weights``, no file involved), does
it compute the original's outputs? When it raises or differs, the stand-in is
at fault (an adapted vocabulary is an asset, in neither the config nor the
weights; a model without ``get_config``; state drawn at construction), so the
weights-only formats are not judged, with what the config loses and how to
judge them (``rebuild=``). Only a failure that the control does not show is a
finding.
"""

from __future__ import annotations

import gc
import re
from typing import Any

from pytest_tfroundtrip.checks.one_format import FormatRun
from pytest_tfroundtrip.errors import error_head
from pytest_tfroundtrip.formats.base import (
    UNFAITHFUL_REBUILD,
    RoundTripFormat,
    Subject,
    UnfaithfulRebuild,
    call_keras_model,
    fresh_model_like,
    users_rebuild_of,
)
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.padding import padded_positions
from pytest_tfroundtrip.results.report import FAILED, LOAD, FormatFailure, FormatResult
from pytest_tfroundtrip.results.tolerances import EXACT, tolerance_function

CONTROL_EXAMPLES = 3
PASS_REBUILD = ("Weights-only formats load into the model your code builds: pass rebuild= (the function that "
                "builds it) to judge this format")


def needs_a_rebuild(fmt: RoundTripFormat) -> bool:
    """Whether ``fmt`` reloads into a model built by code (it keeps no architecture): ``weights``, ``checkpoint``.

    Example:
        >>> from pytest_tfroundtrip.formats import get_format
        >>> needs_a_rebuild(get_format("weights")), needs_a_rebuild(get_format("keras"))
        (True, False)
    """
    return not fmt.preserves.architecture


def control_results(run: FormatRun, chosen: list[RoundTripFormat]) -> dict[str, FormatResult]:
    """A failed result (stage ``load``, the control's reason) for each weights-only format in ``chosen``, when the
    model rebuilt from its config cannot stand in for the user's; empty when it can, or when ``rebuild=`` was given.

    The failure's message names :data:`UNFAITHFUL_REBUILD`, so a format chosen by default reads it as
    "not judged" (:meth:`~pytest_tfroundtrip.formats.base.RoundTripFormat.cannot_take`); a format named in
    ``formats=`` shows it as a failure that says the rebuild, not the file, is at fault.
    """
    rebuilt_by_config = [fmt for fmt in chosen if needs_a_rebuild(fmt)]
    if run.subject.rebuild is not None or not rebuilt_by_config:
        return {}
    reason = config_rebuild_fails(run)
    if reason is None:
        return {}
    return {fmt.name: FormatResult(fmt.name, FAILED, failure=FormatFailure(LOAD, reason)) for fmt in rebuilt_by_config}


def config_rebuild_fails(run: FormatRun) -> str | None:
    """Why the model rebuilt from its config, given the model's weights in memory, is not the model (None: it is)."""
    subject = run.subject
    try:
        control = fresh_model_like(subject)
    except UnfaithfulRebuild as error:
        return f"UnfaithfulRebuild: {error}. {PASS_REBUILD}"
    except Exception as error:  # building it (a call on a probe input) raised
        return _unfaithful(f"building it raised {type(error).__name__}: {error_head(error, limit=200)}", subject.model)
    try:
        try:
            given_weights(control, subject.model)
        except Exception as error:
            return _unfaithful(f"it cannot take the model's weights in memory, no file involved (set_weights raised "
                               f"{type(error).__name__}: {error_head(error, limit=200)})", subject.model)
        tolerance = tolerance_function(EXACT, run.search.rtol, run.search.atol)
        examples = [example for example, _pin in run.search.targeted] + list(run.search.examples)
        for example in examples[:CONTROL_EXAMPLES]:  # the original's outputs come from the shared cache: no extra call
            expected = run.search.cache.get_or_compute(example.cache_key(), lambda: run.search.reference(example.arrays))  # noqa: B023 - called at once
            try:
                got = subject.flat_outputs(call_keras_model(control, subject, example.arrays))
            except Exception as error:
                return _unfaithful(f"given the model's weights in memory (no file involved), calling it raised "
                                   f"{type(error).__name__}: {_said(error)}", subject.model)
            left_out = padded_positions(example.arrays, subject.signature.padding_masks, expected)
            comparison = compare_outputs(expected, got, tolerance, left_out)
            if not comparison.ok and not compare_outputs(expected, run.search.flatten(
                    call_keras_model(subject.model, subject, example.arrays)), tolerance, left_out).ok:
                return None  # the model itself answers otherwise each call: the search says so, for every format
            if not comparison.ok:
                return _unfaithful(f"given the model's weights in memory (no file involved), it computes other outputs "
                                   f"(max abs error {comparison.max_abs_error:.3g} on {example.summary()[:120]})",
                                   subject.model)
        return None
    finally:
        del control
        gc.collect()


def given_weights(control: Any, model: Any) -> None:
    """``model``'s weights into ``control``, in memory, as a weights file's load leaves them: Keras's
    ``load_weights`` then lets each layer recompute what it caches from them (``finalize_state``: an adapted
    ``Normalization``'s mean and variance), which ``set_weights`` alone does not."""
    control.set_weights(model.get_weights())
    _finalized(control)


def _finalized(model: Any) -> None:
    """Each layer's ``finalize_state``, as Keras's load calls it; one that cannot (a lookup layer without the
    vocabulary its config does not hold) is left as it is: calling the model then says why."""
    for layer in _layers(model):
        finalize = getattr(layer, "finalize_state", None)
        if callable(finalize):
            try:
                finalize()
            except Exception:  # noqa: BLE001 - the call that follows raises what matters
                pass


def _said(error: BaseException) -> str:
    """The error's words on one line; past Keras's "Exception encountered when calling ..." to what was said."""
    text = re.sub(r"\x1b\[[0-9;]*m|\{\{function_node [^}]*\}\}", "", str(error)).split("Arguments received")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("Exception encountered when calling")]
    return " ".join(said or lines)[:240]


def _unfaithful(what: str, model: Any) -> str:
    causes = "; ".join(config_losses(model))
    return (f"UnfaithfulRebuild: {UNFAITHFUL_REBUILD} faithfully: the model rebuilt from its config: {what}"
            + (f"; {causes}" if causes else "; state the config and the weights do not hold") + f". {PASS_REBUILD}")


def config_losses(model: Any) -> list[str]:
    """What a model holds that neither ``get_config()`` nor its weights carry, as far as it can be named.

    Example:
        >>> import keras
        >>> lookup = keras.layers.StringLookup(name="city")
        >>> lookup.adapt(["a", "b"])
        >>> model = keras.Sequential([keras.Input((1,), dtype="string"), lookup])
        >>> config_losses(model)
        ["layer 'city' (StringLookup) was adapted: its vocabulary is an asset, in neither get_config() nor the weights"]
    """
    losses = []
    for layer in _layers(model):
        if _adapted_lookup(layer):
            losses.append(f"layer {layer.name!r} ({type(layer).__name__}) was adapted: its vocabulary is an asset, "
                          "in neither get_config() nor the weights")
    return losses


def _layers(model: Any) -> list[Any]:
    flatten = getattr(model, "_flatten_layers", None)
    return list(flatten(include_self=False, recursive=True)) if flatten is not None else []


def _adapted_lookup(layer: Any) -> bool:
    """A lookup layer (StringLookup, IntegerLookup, TextVectorization) holding a vocabulary its config does not."""
    vocabulary_size = getattr(layer, "vocabulary_size", None)
    if not callable(vocabulary_size) or not callable(getattr(layer, "get_vocabulary", None)):
        return False
    try:
        config = layer.get_config()
        held = int(vocabulary_size())
    except Exception:
        return False
    return not config.get("vocabulary") and held > int(config.get("num_oov_indices", 1) or 0) + (
        1 if config.get("mask_token") is not None else 0)


def config_rebuild_cannot_train(subject: Subject, batches: list[tuple[Any, Any]]) -> str | None:
    """The resume check's control: why the model rebuilt from its config and compiled from its compile config, given
    the model's weights and optimizer state in memory (no file involved), cannot continue its training (None: it can).

    Weights-only formats resume into the model the user's code builds and compiles; when this stand-in for that code
    cannot even take the state in memory (an unregistered loss function its compile config cannot name again, an
    adapted vocabulary), the file is not to blame.
    """
    if users_rebuild_of(subject) is not None:
        return None
    from pytest_tfroundtrip.checks.training import copy_with_state, train_steps
    from pytest_tfroundtrip.inputs.probing import probe_arrays

    try:
        control = copy_with_state(subject, check_faithful=True)
        _finalized(control)  # as a weights file's load leaves it (see given_weights)
    except UnfaithfulRebuild as error:
        return f"UnfaithfulRebuild: {error}. {PASS_REBUILD}"
    except Exception as error:
        return _unfaithful(f"rebuilding and compiling it as the model was compiled raised {type(error).__name__}: "
                           f"{_said(error)}", subject.model)
    try:
        probe = probe_arrays(subject.signature)
        try:
            called = subject.output_template is not None  # a model that only trains itself (a GAN) is never called
            expected = subject.flat_outputs(call_keras_model(subject.model, subject, probe)) if called else {}
            got = subject.flat_outputs(call_keras_model(control, subject, probe)) if called else {}
            train_steps(control, batches[:1])
        except Exception as error:
            return _unfaithful(f"given the model's weights and optimizer state in memory (no file involved), it raised "
                               f"{type(error).__name__}: {_said(error)}", subject.model)
        comparison = compare_outputs(expected, got, tolerance_function(EXACT, None, None),
                                     padded_positions(probe, subject.signature.padding_masks, expected))
        if not comparison.ok:
            return _unfaithful(f"given the model's weights in memory (no file involved), it computes other outputs "
                               f"(max abs error {comparison.max_abs_error:.3g})", subject.model)
        return None
    finally:
        del control
        gc.collect()
