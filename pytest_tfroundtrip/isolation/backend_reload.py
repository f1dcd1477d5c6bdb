"""A format of another Keras backend reloaded from this process: in a worker of that backend, lent for the reload.

Checks place such formats in workers themselves (:mod:`~pytest_tfroundtrip.checks.placement`);
this is for the callers that reload one artifact at a time (``reload_model``,
baselines): :func:`load_in_its_backend` instead of ``fmt.load``.  (A format
never starts a worker itself: ``formats/`` is below ``isolation/``.)  The worker goes back to its pool when the reload is dropped.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.isolation.pool import session_pool
from pytest_tfroundtrip.isolation.remote import (
    LoadFailed,
    LoadRequest,
    RemoteReload,
    finish_load,
    lend_workers,
    start_load,
)
from pytest_tfroundtrip.isolation.user_modules import user_modules


class ReloadFailed(Exception):
    """The artifact did not load in the other backend's worker: the error as it was raised there."""


def load_in_its_backend(fmt: Any, subject: Any, artifact: Path) -> Any:
    """``fmt.load(subject, artifact)`` here, or in a worker when ``fmt`` loads under another Keras backend.

    Example:
        >>> import keras, pathlib, tempfile
        >>> from pytest_tfroundtrip.checks.subject import prepare_subject
        >>> from pytest_tfroundtrip.formats import get_format
        >>> subject = prepare_subject(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).subject
        >>> fmt = get_format("weights")
        >>> type(load_in_its_backend(fmt, subject, fmt.save(subject, pathlib.Path(tempfile.mkdtemp())))).__name__
        'KerasReload'
    """
    if fmt.keras_backend == _lazy.keras().backend.backend():
        return fmt.load(subject, artifact)
    return reload_in_backend(fmt, subject, artifact)


def reload_in_backend(fmt: Any, subject: Any, artifact: Path) -> RemoteReload:
    """``artifact`` loaded by ``fmt`` in a worker running ``fmt.keras_backend``; called from here like any reload.

    Example (with JAX installed):
        >>> import keras, numpy as np, pathlib, tempfile
        >>> from pytest_tfroundtrip.checks.subject import prepare_subject
        >>> from pytest_tfroundtrip.formats import get_format
        >>> subject = prepare_subject(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])).subject
        >>> fmt = get_format("keras@jax")
        >>> reload = reload_in_backend(fmt, subject, fmt.save(subject, pathlib.Path(tempfile.mkdtemp())))
        >>> reload({subject.signature.names[0]: np.ones((4, 3), "float32")}).shape
        (4, 2)
    """
    from pytest_tfroundtrip.formats.base import blueprint_of

    model = subject.model
    blueprint = blueprint_of(model)
    modules = user_modules(model, blueprint.architecture)
    if modules.why_not is not None:
        raise RoundTripUsageError(f"{fmt.name} loads the model in a new interpreter, which cannot import its classes: "
                                  f"{modules.why_not}. Define the class at the top level of a module")
    workers = lend_workers(session_pool(1, fmt.keras_backend), 1, modules)
    if workers.import_error is not None:
        workers.give_back()
        raise ReloadFailed(workers.import_error)
    request = LoadRequest(fmt.name, artifact, blueprint if not fmt.preserves.architecture else None,
                          subject.signature, subject.output_template)
    loaded = finish_load(start_load(workers.leases[0], request))
    if isinstance(loaded, LoadFailed):
        workers.give_back()
        raise ReloadFailed(loaded.error)
    weakref.finalize(loaded, workers.give_back)  # the pool resets the worker: what it loaded is dropped
    return loaded
