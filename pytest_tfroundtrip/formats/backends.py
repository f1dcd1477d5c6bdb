"""What the formats that reload under another Keras backend share (``keras@jax``, ``weights@torch``, ...).

Keras 3 writes one ``.keras`` file for every backend: teams train under
TensorFlow and serve under JAX or PyTorch, or the other way round.  These formats
save here, in the process under test (whatever its backend), and load and call the artifact in a worker
interpreter started with ``KERAS_BACKEND`` set, after importing the user's
modules there as the user's loading code would.  Keras fixes its backend when
it is imported, so they never load in the checking process itself: when
called here (``reload_model``, baselines) they lend a worker of that backend.

A layer that calls TensorFlow (or JAX, or PyTorch) instead of ``keras.ops`` is
the usual failure: :func:`framework_call_in` reads the traceback (in the worker,
where the frames are) for the layer and the line, so the failure says which one.
"""

from __future__ import annotations

import linecache
import sys
import sysconfig
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripInternalError
from pytest_tfroundtrip.formats.base import (
    KerasReload,
    Preserves,
    ReloadedCall,
    RoundTripFormat,
    Subject,
    fresh_model_like,
    rebuild_not_judged,
    weight_digests,
)
from pytest_tfroundtrip.formats.reproduction_code import structure_code
from pytest_tfroundtrip.inputs.specs import STRING_DTYPE
from pytest_tfroundtrip.results.tolerances import BACKEND


@dataclass(frozen=True)
class Backend:
    """A Keras backend: its ``KERAS_BACKEND`` name, the package it needs, how to install it.

    Example:
        >>> JAX.install
        "pip install 'pytest-tfroundtrip[jax]'"
    """

    name: str
    package: str
    install_note: str = ""
    # Measured (jax 0.10.2): a float64 model loads, but JAX computes float32 unless 64-bit mode is switched on.
    computes_float64: bool = True

    @property
    def install(self) -> str:
        return f"pip install 'pytest-tfroundtrip[{self.name}]'{self.install_note}"


TENSORFLOW = Backend("tensorflow", "tensorflow")
JAX = Backend("jax", "jax", computes_float64=False)
TORCH = Backend("torch", "torch", " (PyPI's default torch wheel is a CUDA build of several GB; "
                                  "a CPU-only machine can take the CPU build from https://download.pytorch.org/whl/cpu)")


class NotPortable(Exception):
    """The model does not load or run under the other backend: the error, and the TensorFlow call it met where found."""


def _uses_float64(subject: Subject) -> bool:
    layers = subject.model._flatten_layers(include_self=True, recursive=True)
    return (any(spec.dtype == "float64" for spec in subject.signature.specs)
            or any(layer.compute_dtype == "float64" for layer in layers)
            or any(str(variable.dtype) == "float64" for variable in subject.model.weights))


class OnBackend(RoundTripFormat):
    """A format whose artifact is saved here and loaded under :attr:`backend` in a worker interpreter."""

    backend: ClassVar[Backend]
    tolerance_family = BACKEND
    why_no_resume = "training is resumed under the backend that saved the model"

    @property
    def keras_backend(self) -> str:
        return self.backend.name

    def unavailable_reason(self) -> str | None:
        reason = super().unavailable_reason()
        if reason is None and not _lazy.is_installed(self.backend.package):
            reason = f"{self.backend.package} is not installed: {self.backend.install}"
        return reason

    def backend_reason(self, backend: str) -> str | None:
        if backend != self.backend.name:
            return None
        plain = self.name.split("@")[0]
        return f"the process under test runs {backend}: the {plain!r} format reloads under {backend} already"

    def listed_under(self, backend: str) -> bool:
        return backend != self.backend.name

    def not_applicable_reason(self, subject: Subject) -> str | None:
        if _lazy.is_keras2_model(subject.model):
            return f"a tf_keras (Keras 2) model runs only on TensorFlow {self.try_anyway}"
        strings = [spec.name for spec in subject.signature.specs if spec.dtype == STRING_DTYPE]
        if strings and self.backend.name != TENSORFLOW.name:
            return (f"{self.backend.name} has no string tensors, so a model taking strings ({', '.join(strings)}) "
                    f"runs only on TensorFlow {self.try_anyway}")
        if not self.backend.computes_float64 and _uses_float64(subject):
            return (f"{self.backend.name} computes float64 as float32 unless its 64-bit mode is on "
                    f"(JAX_ENABLE_X64=1 where the model is served), so a float64 model does not compute the same there "
                    f"{self.try_anyway}")
        return None

    def load(self, subject: Subject, artifact: Path) -> ReloadedCall:
        here = _lazy.keras().backend.backend()
        if here != self.backend.name:  # a worker of that backend loads it: isolation.backend_reload.load_in_its_backend
            raise RoundTripInternalError(f"{self.name} loads under {self.backend.name}, not in this {here} process")
        return self.load_here(subject, artifact)

    def load_here(self, subject: Subject, artifact: Path) -> ReloadedCall:
        """Load ``artifact`` in this interpreter, which runs :attr:`backend` (a worker)."""
        raise NotImplementedError

    def reproduction_preamble(self) -> list[str]:
        return [f"import os; os.environ['KERAS_BACKEND'] = {self.backend.name!r}  # before anything imports Keras"]

    def reproduction_call_lines(self, subject: Subject, artifact: Path) -> list[str] | None:
        return backend_call_lines(subject.signature.template)


class KerasOnBackend(OnBackend):
    """``model.save("model.keras")`` here; ``keras.models.load_model`` under the other backend."""

    preserves = Preserves(architecture=True, weights=True, optimizer_state=False, needs_python_classes=True,
                          resumes_training=False)
    saved_with = 'model.save("model.keras")  # under the backend of the process under test'

    @property
    def reloaded_with(self) -> str:  # type: ignore[override]
        return f'KERAS_BACKEND={self.backend.name}: keras.models.load_model("model.keras")'

    def save(self, subject: Subject, directory: Path) -> Path:
        path = directory / "model.keras"
        subject.model.save(path)
        return path

    def load_here(self, subject: Subject, artifact: Path) -> ReloadedCall:
        keras = _lazy.keras()
        try:
            model = keras.models.load_model(artifact, safe_mode=True)
        except Exception as error:
            portability = not_portable(error, self.backend.name)
            if portability is None:
                raise
            raise portability from error
        return BackendReload(model, subject, restored_by=f"keras.models.load_model({artifact.name!r})")

    def reproduction_load_lines(self, artifact: Path) -> list[str] | None:
        return ["import keras", f"model = keras.models.load_model({str(artifact)!r})"]


class WeightsOnBackend(OnBackend):
    """``model.save_weights("model.weights.h5")`` here; loaded into the model rebuilt under the other backend."""

    preserves = Preserves(architecture=False, weights=True, optimizer_state=False, needs_python_classes=True,
                          resumes_training=False)
    saved_with = 'model.save_weights("model.weights.h5")  # under the backend of the process under test'

    @property
    def reloaded_with(self) -> str:  # type: ignore[override]
        return f'KERAS_BACKEND={self.backend.name}: build the model in code, then model.load_weights("model.weights.h5")'

    def unavailable_reason(self) -> str | None:
        return super().unavailable_reason() or (None if _lazy.is_installed("h5py") else "h5py is not installed")

    def save(self, subject: Subject, directory: Path) -> Path:
        path = directory / "model.weights.h5"
        subject.model.save_weights(path)
        return path

    def cannot_take(self, message: str) -> str | None:
        return rebuild_not_judged(self.name, message)

    def load_here(self, subject: Subject, artifact: Path) -> ReloadedCall:
        try:
            fresh = fresh_model_like(subject)
            initial = weight_digests(fresh)
            fresh.load_weights(artifact)
        except Exception as error:
            # A rebuild that fails on a TensorFlow call is this backend's failure, not a config that loses something.
            rebuild_error = error.__cause__ if type(error).__name__ == "UnfaithfulRebuild" else None
            portability = not_portable(rebuild_error if isinstance(rebuild_error, Exception) else error, self.backend.name)
            if portability is None:
                raise
            raise portability from error
        return BackendReload(fresh, subject, restored_by="model.load_weights", initial_digests=initial)

    def reproduction_code(self, subject: Subject, artifact: Path) -> list[str] | None:
        architecture = artifact.parent / "model.json"
        architecture.write_text(subject.model.to_json())
        template = subject.signature.template
        return ["import keras",
                f"model = keras.models.model_from_json(open({str(architecture)!r}).read())  # your code builds the model here",
                "x = {name: keras.ops.convert_to_tensor(array) for name, array in inputs.items()}",
                f"model({structure_code(template)}, training=False)  # creates the variables to restore into",
                f"model.load_weights({str(artifact)!r})",
                f"got = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model({structure_code(template)}, training=False))]"]


@dataclass(frozen=True)
class BackendReload(KerasReload):
    """A Keras model reloaded under another backend (in its worker): a TensorFlow call it meets is named."""

    def __call__(self, arrays_by_name: Mapping[str, np.ndarray]) -> Any:
        try:
            return super().__call__(arrays_by_name)
        except Exception as error:
            portability = not_portable(error, _lazy.keras().backend.backend())
            if portability is None:
                raise
            raise portability from error


def backend_call_lines(template: Any) -> list[str]:
    """Lines calling a Keras ``model`` on ``inputs`` with ``keras.ops`` only (any backend).

    Example:
        >>> backend_call_lines(["a"])[-1]
        "got = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model([x['a']], training=False))]"
    """
    return ["x = {name: keras.ops.convert_to_tensor(array) for name, array in inputs.items()}",
            f"got = [keras.ops.convert_to_numpy(t) for t in keras.tree.flatten(model({structure_code(template)}, training=False))]"]


FRAMEWORKS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def not_portable(error: Exception, backend: str) -> NotPortable | None:
    """``error`` said again with the call of another framework it met, if one is in its traceback; else None."""
    found = framework_call_in(error, backend)
    if found is None:
        return None
    # Said first, then the error as the backend raised it; its traceback is kept, so "raised in" is where it was.
    return NotPortable(f"not portable to {backend}: {found}\n{type(error).__name__}: {error}").with_traceback(error.__traceback__)


def framework_call_in(error: BaseException, backend: str) -> str | None:
    """The layer and line where ``error`` (or an error it was raised from) met a direct call of a framework
    other than ``backend`` (TensorFlow, JAX or PyTorch), in words.

    Reads the traceback's frames: the innermost line of code outside the installed
    packages that names such a module, and the innermost Keras layer whose
    ``call`` or ``build`` it was in.  None when no such line is found.

    Example:
        >>> framework_call_in(ValueError("raised by no framework call"), "tensorflow") is None
        True
    """
    foreign = {module: name for module, name in FRAMEWORKS.items() if module != backend}
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _framework_line(current.__traceback__, foreign)
        if found is not None:
            line, where, layer, framework = found
            owner = f"layer {layer.name!r} ({type(layer).__name__}) " if layer is not None else ""
            return (f"{owner}{'calls' if owner else 'it calls'} {framework} directly: `{line}` ({where}). "
                    f"{framework} functions run only on the {framework} backend: use keras.ops (or keras.random, "
                    "keras.layers) so the model runs on every backend")
        current = current.__cause__ or current.__context__
    return None


def _framework_line(tb: types.TracebackType | None, foreign: Mapping[str, str]) -> tuple[str, str, Any, str] | None:
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    for index in range(len(frames) - 1, -1, -1):
        frame, lineno = frames[index]
        if _installed(frame.f_code.co_filename):
            continue
        line = linecache.getline(frame.f_code.co_filename, lineno).strip()
        framework = _names_framework(line, frame.f_globals, foreign)
        if framework is None:
            continue
        layer = next((f.f_locals.get("self") for f, _ in reversed(frames[:index + 1]) if _is_layer(f.f_locals.get("self"))), None)
        return line, f"{Path(frame.f_code.co_filename).name}:{lineno}, in {frame.f_code.co_name}", layer, framework
    return None


def _names_framework(line: str, names: Mapping[str, Any], foreign: Mapping[str, str]) -> str | None:
    for name, value in names.items():
        module = value.__name__ if isinstance(value, types.ModuleType) else None
        if module is None or f"{name}." not in line:
            continue
        root = module.split(".")[0]
        if root in foreign:
            return foreign[root]
    return None


_NOT_THE_USERS = tuple(sorted({*(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
                               str(Path(__file__).resolve().parents[1])}))


def _installed(filename: str) -> bool:
    """Whether ``filename`` belongs to an installed package, Python itself or this package (not the user's code)."""
    if filename.startswith("<"):
        return True
    parts = Path(filename).parts
    return "site-packages" in parts or "dist-packages" in parts or str(Path(filename).resolve()).startswith(_NOT_THE_USERS)


def _is_layer(candidate: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(candidate, keras.layers.Layer)

