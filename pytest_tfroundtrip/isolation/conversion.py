"""Conversions run in a worker: from the model's twin, or TFLite from the export's directory; sent without waiting,
answered with the artifact or why not.

The worker reloads the ``.keras`` file the check's own round trip saved, takes
its fingerprint and converts only when it is the original's (see
:mod:`~pytest_tfroundtrip.formats.twin`); the main process then loads the
artifact in a worker as it loads any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.formats.twin import Fingerprint
from pytest_tfroundtrip.isolation.pool import Worker, WorkerCrashed
from pytest_tfroundtrip.isolation.remote import Lease


@dataclass(frozen=True)
class TwinSource:
    """The twin every conversion of one check starts from: the ``.keras`` file, what it must match, its handle."""

    keras_artifact: Path
    expected: Fingerprint
    handle: int


@dataclass(frozen=True)
class ConversionRequest:
    """Convert ``format`` from the twin into ``directory``; the subject's parts a format's save reads."""

    format: str
    directory: Path
    twin: TwinSource
    signature: Any
    output_template: Any
    user_input_signature: Any = None

    def message(self) -> dict[str, Any]:
        return {"op": "convert", "format": self.format, "directory": str(self.directory),
                "keras_artifact": str(self.twin.keras_artifact), "expected": self.twin.expected, "twin_handle": self.twin.handle,
                "signature": self.signature, "output_template": self.output_template,
                "user_input_signature": self.user_input_signature}


@dataclass(frozen=True)
class ExportConversionRequest:
    """Convert the ``export`` format's artifact ``source`` to ``format`` (TFLite) into ``directory``, file to file."""

    format: str
    directory: Path
    source: Path

    def message(self) -> dict[str, Any]:
        return {"op": "convert_export", "format": self.format, "directory": str(self.directory), "source": str(self.source)}


@dataclass(frozen=True)
class StartedConversion:
    """A conversion sent to a worker, not yet answered."""

    lease: Lease
    worker: Worker
    request: ConversionRequest | ExportConversionRequest
    token: int

    @property
    def answered(self) -> bool:
        return self.worker.answered(self.token)


@dataclass(frozen=True)
class Converted:
    """The artifact the worker wrote, and the seconds its conversion took."""

    artifact: Path
    seconds: float


@dataclass(frozen=True)
class NotConverted:
    """Why the worker did not convert: ``not_twin`` when the reload is not the original's twin (no conversion of
    this check should use it), else the conversion raised or the worker crashed (the original is converted instead)."""

    reason: str
    not_twin: bool = False


def start_conversion(lease: Lease, request: ConversionRequest | ExportConversionRequest) -> StartedConversion:
    """Send ``request`` to the lease's worker without waiting (raises :class:`WorkerCrashed` if it is gone)."""
    worker = lease.worker
    return StartedConversion(lease, worker, request, worker.send(request.message()))


def finish_conversion(started: StartedConversion) -> Converted | NotConverted:
    """The conversion's answer; a crash is no verdict (the worker is replaced, the original converted here)."""
    try:
        reply = started.worker.receive(started.token, f"converting {started.request.format} in a worker")
    except WorkerCrashed as error:
        started.lease.replace(started.worker)
        return NotConverted(f"the worker converting it crashed ({str(error).splitlines()[0]})")
    if reply["ok"]:
        return Converted(Path(reply["artifact"]), reply["seconds"])
    if reply.get("tainted"):  # it holds callbacks a later load could find under their keys: never lent again
        started.lease.replace(started.worker)
    if "not_twin" in reply:
        return NotConverted(reply["not_twin"], not_twin=True)
    return NotConverted(f"converting it there raised {reply['error'].splitlines()[0][:300]}")


def release_twin(lease: Lease, twin: TwinSource) -> None:
    """Let the lease's worker drop the twin (and free its reference cycles); a worker already gone holds nothing."""
    if not lease.worker.alive:
        return
    try:
        lease.worker.request({"op": "release", "handle": twin.handle, "collect": True}, "releasing the model's twin")
    except WorkerCrashed:
        pass
