"""Runs inside the clean process: load artifacts and call them, one request a line.

Started by :mod:`pytest_tfroundtrip.isolation.clean_process` with ``python -I`` from an
empty directory, with the test session's project directories removed from
``sys.path``.  It answers JSON lines on stdout; outputs travel as ``.npz`` files.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

_MISSING_CLASS = re.compile(r"(?:Could not locate class|Unknown layer:?|Unknown object:?|locate function) '?([\w.>]+)'?")


def missing_classes(text: str) -> list[str]:
    """Class names a load error says it could not find.

    Example:
        >>> missing_classes("TypeError: Could not locate class 'Scale'. Make sure ...")
        ['Scale']
        >>> missing_classes("ValueError: Unknown layer: 'my_package>Scale'.")
        ['Scale']
    """
    return sorted({name.split(">")[-1] for name in _MISSING_CLASS.findall(text)})  # "package>Class"


def _subject(request: dict[str, Any]) -> Any:
    from pytest_tfroundtrip.formats.base import Subject
    from pytest_tfroundtrip.inputs.specs import InputSpec, ModelSignature

    specs = tuple(InputSpec.from_dict(s) for s in request["specs"])
    model = None
    if request.get("model_config") is not None:
        import keras

        model = keras.saving.deserialize_keras_object(request["model_config"])  # needs the classes
    return Subject(model, ModelSignature(request["template"], specs), request["output_template"])


def _load_and_call(request: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from pytest_tfroundtrip.formats import get_format
    from pytest_tfroundtrip.inputs.arrays import model_strings, savable
    from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend

    stage = "load"
    try:
        subject = _subject(request)
        call = load_in_its_backend(get_format(request["format"]), subject, Path(request["artifact"]))
        stage = "call"
        with np.load(request["inputs"], allow_pickle=False) as data:
            count = int(data["__count__"])
            outputs = {}
            for index in range(count):
                arrays = {spec.name: model_strings(data[f"{index}/{spec.name}"]) for spec in subject.signature.specs}
                for name, value in subject.flat_outputs(call(arrays)).items():
                    outputs[f"{index}/{name}"] = savable(value)
        np.savez(request["outputs"], **outputs)
        return {"ok": True}
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        return {"ok": False, "stage": stage, "error": text, "missing_classes": missing_classes(text),
                "traceback": traceback.format_exc()[-2000:]}


def allowed_sys_path(entries: list[str], forbidden: list[str], installed: list[str], cwd: str) -> list[str]:
    """Drop entries inside the session's directories, unless inside an installed root.

    Example:
        >>> allowed_sys_path(["/p", "/p/venv/site-packages", "/p/src", "/usr/lib"], ["/p"], ["/p/venv/site-packages"], "/tmp")
        ['/p/venv/site-packages', '/usr/lib']
    """
    import os

    def under(path: str, roots: list[str]) -> bool:
        return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)

    kept = []
    for entry in entries:
        real = os.path.realpath(entry or cwd)
        if entry and (under(real, installed) or not under(real, forbidden)):
            kept.append(entry)
    return kept


def installed_roots() -> list[str]:
    """This interpreter's site-packages and standard library directories."""
    import os
    import site
    import sysconfig

    roots = site.getsitepackages() + [site.getusersitepackages()]
    roots += [sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    return sorted({os.path.realpath(root) for root in roots if root})


def start(init: dict[str, Any]) -> None:
    """Set up sys.path (own package, importable=, installed roots), then serve."""
    import os

    forbidden = [os.path.realpath(path) for path in init["forbidden"]]
    rest = allowed_sys_path(sys.path[1:], forbidden, installed_roots(), os.getcwd())
    sys.path[:] = list(init["paths"]) + [entry for entry in rest if entry not in init["paths"]]
    serve(init)


def serve(init: dict[str, Any]) -> None:
    """Import what the user allowed, then answer requests until stdin closes."""
    import importlib

    for module in init.get("imports", []):
        importlib.import_module(module)
    import keras
    import tensorflow as tf

    _reply({"ok": True, "tensorflow": tf.__version__, "keras": keras.__version__, "sys_path": sys.path})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "probe_import":  # for tests: is a module invisible here?
            _reply({"ok": _invisible(request["module"])})
            continue
        _reply(_load_and_call(request))
        gc.collect()  # the artifact's model is released before the next request loads another


def _invisible(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:  # its parent package is not visible either
        return True


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
