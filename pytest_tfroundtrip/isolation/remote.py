"""Reloads held by worker interpreters, seen from the main process like reloads made here.

A :class:`RemoteReload` is a :data:`~pytest_tfroundtrip.formats.base.ReloadedCall`:
calling it sends the inputs to its worker and returns the outputs.
:meth:`RemoteReload.submit` sends without waiting, so one input runs in
every worker at once.  An error the reloaded artifact raises comes back as
an exception of the same type name and message as it would be here.  A
worker that crashes while calling is a failure of that call, with the
worker's output; the pool replaces it, and the next call reloads the
artifact there (at most :data:`RELOADS_AFTER_CRASH` times), so the search
can still shrink an input that crashes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.isolation.pool import Worker, WorkerCrashed, WorkerPool
from pytest_tfroundtrip.isolation.user_modules import UserModule, UserModules

RELOADS_AFTER_CRASH = 2
_HANDLES = itertools.count(1)


class CallFailed(Exception):
    """The reloaded artifact raised in its worker; subclasses carry the original exception's type name."""


def remote_error(type_name: str, message: str) -> CallFailed:
    """An exception whose type name and message are those raised in the worker.

    Example:
        >>> error = remote_error("InvalidArgumentError", "bad shape")
        >>> f"{type(error).__name__}: {error}"
        'InvalidArgumentError: bad shape'
    """
    return type(type_name, (CallFailed,), {})(message)


@dataclass(frozen=True)
class LoadRequest:
    """What a worker needs to load one format's artifact as a user would (see :mod:`~pytest_tfroundtrip.isolation.fresh_worker`)."""

    format: str
    artifact: Path
    blueprint: Any
    signature: Any
    output_template: Any

    def message(self, handle: int) -> dict[str, Any]:
        return {"op": "load", "handle": handle, "format": self.format, "artifact": str(self.artifact),
                "blueprint": self.blueprint, "signature": self.signature, "output_template": self.output_template}


class Lease:
    """One worker lent to a check, with the user's modules imported; replaced in place if it crashes."""

    def __init__(self, pool: WorkerPool, worker: Worker, modules: tuple[UserModule, ...]) -> None:
        self.pool, self.worker, self.modules = pool, worker, modules

    def import_modules(self) -> str | None:
        """Import the user's modules in the worker (one new worker if one of them is stale there); None, or why it failed.

        A module stale in the new worker too is said, not tried again: the replacement does not import through
        this method (it did, and a module that resolved to another file in every new interpreter started
        worker after worker without end).
        """
        for attempt in range(2):
            reply = self.worker.request({"op": "import", "modules": self.modules}, "importing the model's modules")
            if reply.get("ok"):
                return None
            if reply.get("stale") is None:
                return reply["error"]
            if attempt == 0:
                self.worker = self.pool.replacement(self.worker)
        return f"module {reply['stale']!r} was imported from another file in a new interpreter too"

    def replace(self, crashed: Worker) -> None:
        """A new worker in place of ``crashed`` (unless that was done already, for another reload it held)."""
        if self.worker is not crashed:
            return
        self.worker = self.pool.replacement(self.worker)
        if self.modules:
            reason = self.import_modules()
            if reason is not None:
                raise WorkerCrashed(f"the replacement worker could not import the model's modules: {reason}")


@dataclass(frozen=True)
class Workers:
    """The workers lent to one check, ready (the user's modules imported), or why they cannot take its classes."""

    leases: tuple[Lease, ...]
    classes_not_importable: str | None = None
    import_error: str | None = None  # when a module's import failed there: the error it raised

    @property
    def backend(self) -> str:
        return self.leases[0].worker.backend

    def joined(self, other: Workers) -> Workers:
        """Both sets of leases (say, TensorFlow workers and a JAX worker), given back together."""
        return Workers(self.leases + other.leases, self.classes_not_importable or other.classes_not_importable,
                       self.import_error or other.import_error)

    def give_back(self) -> None:
        for lease in self.leases:  # leases of several pools when formats reload under several backends
            lease.pool.give_back([lease.worker])


def lend_workers(pool: WorkerPool, count: int, modules: UserModules) -> Workers:
    """``count`` workers with the model's modules imported (if they can be: else said, and none imported).

    Example:
        >>> from pytest_tfroundtrip.isolation.pool import session_pool, close_pool
        >>> workers = lend_workers(session_pool(1), 1, UserModules(()))
        >>> len(workers.leases), workers.classes_not_importable
        (1, None)
        >>> workers.give_back(); close_pool()
    """
    leases = tuple(Lease(pool, worker, modules.modules) for worker in pool.take(count))
    why_not, import_error = modules.why_not, None
    if why_not is None and modules.modules:
        for lease in leases:
            failed = lease.import_modules()
            if failed is not None:
                names = ", ".join(module.name for module in modules.modules)
                why_not = f"importing {names} in a new interpreter failed: {failed.splitlines()[0][:300]}"
                import_error = f"importing {names} with Keras on {pool.backend} failed: {failed}"
                break
    return Workers(leases, why_not, import_error)


@dataclass(frozen=True)
class LoadFailed:
    """The artifact did not load in its worker: the error as the format raised it (or the crash)."""

    error: str


class RemoteReload:
    """An artifact loaded in a worker, called from here; Keras reloads also answer about their weights and layers."""

    def __init__(self, started: StartedLoad, reply: Mapping[str, Any]) -> None:
        self.lease, self.worker, self.request, self.handle = started.lease, started.worker, started.request, started.handle
        self.warnings: tuple[str, ...] = tuple(reply.get("warnings", ()))
        self.load_seconds: float = reply.get("seconds", 0.0)
        self.is_keras = "restored_by" in reply
        self.restored_by: str = reply.get("restored_by", "")
        self.initial_digests: tuple[str, ...] | None = reply.get("initial_digests")
        self._crash: str | None = None  # the first crash, said again once no reload is tried
        self._reloads = 0
        self._prefetch = Prefetch(self, started.inputs, started.calls_token) if started.calls_token is not None else None

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> Any:
        """The outputs for ``arrays``, waiting for them: a reload held elsewhere is called like one held here."""
        return self.submit(arrays).result()

    def submit(self, arrays: Mapping[str, np.ndarray]) -> PendingCall | Prefetched:
        """Send one call; its outputs are read with :meth:`PendingCall.result` (at once if prefetched)."""
        if self._prefetch is not None:
            prefetched = self._prefetch.take(arrays)
            if prefetched is not None:
                return prefetched
        self._present()
        return PendingCall(self, self.worker.send({"op": "call", "handle": self.handle, "arrays": dict(arrays)}))

    def receive(self, token: int, what: str) -> dict[str, Any]:
        """The answer to ``token``; a crash marks this reload for a reload in the replacement worker, and is raised."""
        try:
            return self.worker.receive(token, what)
        except WorkerCrashed as error:
            self.crashed(error)
            raise

    def _present(self) -> None:
        """After a crash: load the artifact again in the replacement worker, or say the crash again."""
        if self._crash is None:
            return
        if self._reloads >= RELOADS_AFTER_CRASH:  # the same failure again, without another crash
            raise WorkerCrashed(self._crash)
        self._reloads += 1
        self.worker = self.lease.worker
        reply = self.worker.request(self.request.message(self.handle), f"reloading {self.request.format} after a crash")
        if not reply.get("ok"):
            raise WorkerCrashed(f"{self._crash}\n(reloading it in a new worker then failed: {reply.get('error')})")
        self._crash = None

    def crashed(self, error: WorkerCrashed) -> None:
        self._crash = str(error)
        if self._prefetch is not None:
            self._prefetch.abandon()
        self.lease.replace(self.worker)

    def named_weights(self) -> list[tuple[str, RemoteWeight]]:
        """``(path, value read on demand)`` for each weight of the reloaded model, like :func:`~pytest_tfroundtrip.formats.base.named_variables`."""
        reply = self._request({"op": "weights", "handle": self.handle}, "reading the reloaded weights")
        return [(path, RemoteWeight(self, index, shape, digest)) for index, (path, shape, digest) in enumerate(reply["weights"])]

    def weight_value(self, index: int) -> np.ndarray:
        return self._request({"op": "weight_values", "handle": self.handle, "indices": [index]}, "reading a weight")["values"][0]

    def trace(self, arrays: Mapping[str, np.ndarray], recorded: bool) -> Any:
        """:func:`~pytest_tfroundtrip.formats.diagnosis.layer_trace` of the reloaded model, run in its worker."""
        message = {"op": "trace", "handle": self.handle, "arrays": dict(arrays), "recorded": recorded}
        return self._request(message, "reading the reloaded model's layer outputs")["trace"]

    def _request(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        if self._prefetch is not None:
            self._prefetch.settle()
        self._present()
        return self.receive(self.worker.send(message), what)

    def release(self, collect: bool = False) -> None:
        """Let the worker drop the reload; ``collect``: and free its reference cycles (worth it for large models)."""
        if self._prefetch is not None:
            try:
                self._prefetch.settle()
            except WorkerCrashed:
                return
        if self._crash is not None or not self.worker.alive:
            return
        try:
            self.receive(self.worker.send({"op": "release", "handle": self.handle, "collect": collect}), "releasing a reload")
        except WorkerCrashed:
            pass


class PendingCall:
    """A call sent to a worker, not yet answered."""

    def __init__(self, reload: RemoteReload, token: int) -> None:
        self.reload, self.token = reload, token

    def result(self) -> Any:
        """The outputs; raises what the artifact raised, or :class:`WorkerCrashed`."""
        reply = self.reload.receive(self.token, f"calling the reloaded {self.reload.request.format}")
        if not reply["ok"]:
            raise remote_error(reply["error_type"], reply["error"])
        return reply["outputs"]


class Prefetch:
    """Inputs sent to a worker in one request right after the load: their outputs come back in one answer.

    A search that then calls the reload on one of those very input objects
    gets its answer without another round trip.  Inputs are matched by
    identity: the search passes the same arrays it drew.
    """

    def __init__(self, reload: RemoteReload, inputs: tuple[Mapping[str, np.ndarray], ...], token: int) -> None:
        self.reload, self.inputs, self.token = reload, inputs, token
        self._by_identity = {id(arrays): index for index, arrays in enumerate(inputs)}
        self._results: list[dict[str, Any]] | None = None
        self._settled = False

    def take(self, arrays: Mapping[str, np.ndarray]) -> Prefetched | None:
        index = self._by_identity.get(id(arrays))
        if index is None or self.inputs[index] is not arrays:
            return None
        self.settle()
        if self._results is None:
            return None
        return Prefetched(self._results[index])

    def settle(self) -> None:
        """Read the answer, once (a crash while computing it is raised, and calls then go one by one)."""
        if self._settled:
            return
        self._settled = True
        reply = self.reload.receive(self.token, f"calling the reloaded {self.reload.request.format} on every input")
        self._results = reply.get("results") if reply["ok"] else None

    def abandon(self) -> None:
        self._settled, self._results = True, None


class Prefetched:
    """A call answered in advance: :meth:`result` as :meth:`PendingCall.result`."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply

    def result(self) -> Any:
        if not self.reply["ok"]:
            raise remote_error(self.reply["error_type"], self.reply["error"])
        return self.reply["outputs"]


class RemoteWeight:
    """A weight of a model held by a worker: its shape and digest here, its value fetched only when NumPy asks."""

    def __init__(self, reload: RemoteReload, index: int, shape: tuple[int, ...], digest: str) -> None:
        self.reload, self.index, self.shape, self.digest = reload, index, tuple(shape), digest

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self.reload.weight_value(self.index)
        return value.astype(dtype) if dtype is not None else value


@dataclass(frozen=True)
class StartedLoad:
    """A load sent to a worker (and the inputs sent after it to call it on), not yet answered."""

    lease: Lease
    worker: Worker
    request: LoadRequest
    handle: int
    load_token: int
    inputs: tuple[Mapping[str, np.ndarray], ...] = ()
    calls_token: int | None = None

    @property
    def answered(self) -> bool:
        return self.worker.answered(self.load_token)


def start_load(lease: Lease, request: LoadRequest, inputs: tuple[Mapping[str, np.ndarray], ...] = ()) -> StartedLoad:
    """Send ``request`` to the lease's worker without waiting, then ``inputs`` to call it on once it loaded."""
    handle, worker = next(_HANDLES), lease.worker
    load_token = worker.send(request.message(handle))
    calls_token = None
    if inputs:
        calls_token = worker.send({"op": "call_many", "handle": handle, "inputs": [dict(arrays) for arrays in inputs]})
    return StartedLoad(lease, worker, request, handle, load_token, inputs, calls_token)


def finish_load(started: StartedLoad) -> RemoteReload | LoadFailed:
    """The reload :func:`start_load` began, or why it failed (a crash is a failure too, and the worker is replaced).

    A load its worker never reached (it crashed on an earlier request) is sent again to the replacement.
    """
    for _attempt in range(2):
        try:
            reply = started.worker.receive(started.load_token, f"loading {started.request.format}")
            break
        except WorkerCrashed as error:
            started.lease.replace(started.worker)
            crashed_at = started.worker.crashed_at
            if crashed_at is None or crashed_at >= started.load_token:
                return LoadFailed(f"WorkerCrashed: {error}")
            started = start_load(started.lease, started.request, started.inputs)
    else:  # pragma: no cover - the replacement crashed on a request before this one too
        return LoadFailed("WorkerCrashed: the worker crashed twice before it reached this load")
    if not reply["ok"]:
        if started.calls_token is not None:
            try:
                started.worker.receive(started.calls_token, "skipping the calls of a load that failed")
            except WorkerCrashed:
                started.lease.replace(started.worker)
        return LoadFailed(reply["error"])
    return RemoteReload(started, reply)
