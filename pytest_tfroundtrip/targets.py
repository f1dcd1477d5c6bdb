"""What ``tf-roundtrip check TARGET`` checks: a saved file, a SavedModel directory, a factory's model, or a zoo name.

Zoo names (``keras_hub:BertBackbone``, ``keras_applications:ResNet50``) are
built by :mod:`pytest_tfroundtrip.zoo`; factories are ``package.module:factory``
or ``path/to/file.py:factory``.

For a saved file the original model is the file loaded the way its format
loads (Keras safe mode for ``.keras``); a SavedModel directory becomes a Keras
model calling its serving signature, checked in the formats that re-export it.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.errors import RoundTripUsageError

_FUNCTION_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_KINDS = ("a .keras or .h5 file, a SavedModel directory, package.module:function, path/to/file.py:function, "
          "keras_hub:ClassName or keras_applications:Name")


@dataclass(frozen=True)
class Target:
    """A model to check, how it was obtained, and the formats checked when none are named."""

    model: Any
    description: str
    default_formats: list[str] | None = None  # None: every available format
    model_inputs: dict[str, Any] | None = None  # a zoo model's input description (zoo.model_inputs); None: inferred
    rebuild: Any = None  # the factory that built it: what weights-only formats rebuild with (rebuild=)


def load_target(target: str, imports: list[str] | tuple[str, ...] = (), pretrained: bool = False) -> Target:
    """The model ``target`` names (after importing ``imports``, e.g. modules registering custom layers).

    ``pretrained`` allows ``keras_hub:Class@preset`` to download the preset.

    Example:
        >>> load_target("no_such_module_here:build")
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: TARGET 'no_such_module_here:build': cannot import module 'no_such_module_here' (ModuleNotFoundError: No module named 'no_such_module_here'); is its directory on sys.path? Run from the project root.
    """
    for module in imports:
        _import(module, f"--import {module}")
    from pytest_tfroundtrip.zoo.specs import FILE_FACTORY, ZOOS, parse_model_spec

    spec = parse_model_spec(target)
    if spec.kind in ZOOS:
        from pytest_tfroundtrip.zoo.named import build_zoo_model

        built = build_zoo_model(spec, pretrained)
        return Target(built.model, built.description, model_inputs=built.model_inputs)
    if spec.kind == FILE_FACTORY:
        return _file_function(target, spec.module, spec.name)
    path = Path(target)
    if path.is_dir():
        return _saved_model(path)
    if path.suffix in (".keras", ".h5", ".hdf5"):
        if not path.is_file():
            raise RoundTripUsageError(f"TARGET {target!r} does not exist (expected {_KINDS})")
        return _keras_file(path)
    if _FUNCTION_TARGET.match(target):
        return _function(target)
    if not path.exists():
        raise RoundTripUsageError(f"TARGET {target!r} does not exist (expected {_KINDS})")
    raise RoundTripUsageError(f"TARGET {target!r} is not {_KINDS}")


def _import(module: str, what: str) -> Any:
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: the project's own modules import
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise RoundTripUsageError(f"{what}: cannot import module {module!r} ({type(error).__name__}: {error}); "
                                  "is its directory on sys.path? Run from the project root.") from error


def _keras_file(path: Path) -> Target:
    keras = _lazy.keras()
    try:
        model = keras.models.load_model(path)
    except Exception as error:
        raise RoundTripUsageError(
            f"TARGET {str(path)!r} could not be loaded with keras.models.load_model: {type(error).__name__}: {error}. "
            "If it uses custom classes, pass --import with the module that registers them") from error
    return Target(model, f"{path} (loaded with keras.models.load_model)")


def _function(target: str) -> Target:
    module_name, function_name = target.split(":")
    module = _import(module_name, f"TARGET {target!r}")
    return _called(target, getattr(module, function_name, None), module_name, function_name)


def _called(target: str, function: Any, module_name: str, function_name: str) -> Target:
    if not callable(function):
        raise RoundTripUsageError(f"TARGET {target!r}: module {module_name!r} has no function {function_name!r}")
    model = function()
    if not hasattr(model, "get_config") or not hasattr(model, "save"):
        raise RoundTripUsageError(f"TARGET {target!r} returned {type(model).__name__}, not a Keras model")
    return Target(model, f"{target}() -> {getattr(model, 'name', type(model).__name__)}", rebuild=function)


def _file_function(target: str, file_name: str, function_name: str) -> Target:
    path = Path(file_name)
    if not path.is_file():
        raise RoundTripUsageError(f"TARGET {target!r}: file {file_name!r} does not exist (expected path/to/file.py:function)")
    module_name = path.stem
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # so a fresh worker can import the module by the same name, from the same place
    module = _import(module_name, f"TARGET {target!r}")
    if Path(getattr(module, "__file__", "") or "").resolve() != path.resolve():
        raise RoundTripUsageError(f"TARGET {target!r}: importing {module_name!r} found {module.__file__}, another module "
                                  f"of the same name; rename {file_name} or pass package.module:{function_name}")
    return _called(target, getattr(module, function_name, None), module_name, function_name)


def _saved_model(path: Path) -> Target:
    if not (path / "saved_model.pb").is_file():
        raise RoundTripUsageError(f"TARGET {str(path)!r} is a directory without saved_model.pb, so not a SavedModel")
    from pytest_tfroundtrip.formats import all_formats

    tf, keras = _lazy.tensorflow(), _lazy.keras()
    signatures = tf.saved_model.load(str(path)).signatures
    if "serving_default" not in signatures:
        raise RoundTripUsageError(f"TARGET {str(path)!r} has no 'serving_default' signature (it has {sorted(signatures)})")
    specs = signatures["serving_default"].structured_input_signature[1]
    inputs = {name: keras.Input(shape=spec.shape[1:], dtype=spec.dtype.name, name=name) for name, spec in sorted(specs.items())}
    layer = _signature_layer_class()(str(path), call_endpoint="serving_default")
    model = keras.Model(inputs, layer(inputs), name=path.name)
    # Keras-object formats would save a layer that points back at this directory: they prove nothing here.
    formats = [f.name for f in all_formats() if not f.preserves.needs_python_classes]
    return Target(model, f"{path} (SavedModel, its serving_default signature)", formats)


def _signature_layer_class() -> type:
    keras = _lazy.keras()

    class ServingSignature(keras.layers.TFSMLayer):
        """Calls a ``serving_default`` signature, which takes its inputs by keyword."""

        def call(self, inputs: Any, training: bool = False, **kwargs: Any) -> Any:
            return self.call_endpoint_fn(**inputs)

    return ServingSignature
