"""Runs inside a worker interpreter: load the artifacts the main process saved, call them, answer about them.

Started by :mod:`~pytest_tfroundtrip.isolation.pool` with a hash seed other
than the main process's, so it never holds anything the saving process
made.  Requests and replies are pickled dicts on two pipes; the worker's own
output goes to a log file the main process reads when it crashes.  Loaded
artifacts are kept by handle until released.  An error of the artifact (its
load or call raising) is an answer; an error of this module is answered as
``internal``: the main process reports it as ours, never as a finding.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], dict[int, Any]], dict[str, Any]]


def serve(requests_fd: int, replies_fd: int, parent_pid: int) -> None:
    """Answer requests until the main process says ``exit``, closes the pipe, or is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops us
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    requests, replies = Connection(requests_fd, writable=False), Connection(replies_fd, readable=False)
    import keras  # on the backend KERAS_BACKEND names: TensorFlow, or another only the formats reloaded under it use

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow  # noqa: F401 - imported while starting, not on the first load
    replies.send({"ok": True, "pid": os.getpid(), "backend": backend, "keras": keras.__version__,
                  "hash_seed": os.environ.get("PYTHONHASHSEED")})
    loaded: dict[int, Any] = {}
    waiting: queue.Queue[dict[str, Any] | None] = queue.Queue()
    # Requests are read as they come, whatever this loop is doing: else a large answer blocked on a full pipe
    # while the main process is blocked sending the next request would wait for each other for ever.
    threading.Thread(target=_read_requests, args=(requests, waiting), daemon=True).start()
    while True:
        request = waiting.get()
        if request is None or request.get("op") == "exit":
            return
        _send(replies, _answer(request, loaded))
        if request.get("collect"):  # after answering: the main process goes on while reference cycles are freed
            gc.collect()


def _read_requests(requests: Connection, waiting: queue.Queue[dict[str, Any] | None]) -> None:
    while True:
        try:
            waiting.put(requests.recv())
        except (EOFError, OSError):
            waiting.put(None)
            return


def _exit_with_parent(parent_pid: int) -> None:
    """Nothing is left running: once the main process is gone (killed, even), so is this one."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(0)


def _send(replies: Connection, reply: dict[str, Any]) -> None:
    try:
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        data = pickle.dumps({"ok": False, "internal": f"the worker could not send its answer:\n{traceback.format_exc()[-3000:]}"})
    replies.send_bytes(data)


def _answer(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    try:
        return _HANDLERS[request["op"]](request, loaded)
    except Exception:
        return {"ok": False, "internal": traceback.format_exc()[-4000:]}


def _import(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    from pytest_tfroundtrip.errors import describe_exception
    from pytest_tfroundtrip.isolation.user_modules import import_user_modules

    try:
        stale = import_user_modules(request["modules"])
    except BaseException as error:  # a module's import code may exit or raise anything: it is not ours
        return {"ok": False, "error": describe_exception(error) if isinstance(error, Exception) else repr(error)}
    return {"ok": False, "stale": stale} if stale is not None else {"ok": True}


def _load(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    from pytest_tfroundtrip.errors import describe_exception
    from pytest_tfroundtrip.formats import get_format
    from pytest_tfroundtrip.formats.base import KerasReload, Subject
    from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend

    subject = Subject(request["blueprint"], request["signature"], request["output_template"])
    started = time.perf_counter()
    try:
        call = load_in_its_backend(get_format(request["format"]), subject, Path(request["artifact"]))
    except Exception as error:
        return {"ok": False, "error": describe_exception(error)}
    loaded[request["handle"]] = call
    reply = {"ok": True, "seconds": time.perf_counter() - started, "warnings": tuple(getattr(call, "warnings", ()))}
    if isinstance(call, KerasReload):
        reply.update(restored_by=call.restored_by, initial_digests=call.initial_digests)
    return reply


def _convert(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    """Save a format from the twin: the ``.keras`` file reloaded here, used only if its fingerprint is the original's.

    The twin is kept by ``twin_handle`` for the next conversion of the same check, until released.
    """
    from dataclasses import replace

    from pytest_tfroundtrip.errors import describe_exception
    from pytest_tfroundtrip.formats import get_format
    from pytest_tfroundtrip.formats.base import Subject
    from pytest_tfroundtrip.formats.twin import fingerprint_of, twin_differences
    from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend

    subject = Subject(None, request["signature"], request["output_template"], request["user_input_signature"])
    twin = loaded.get(request["twin_handle"])
    if twin is None:
        try:
            reload = load_in_its_backend(get_format("keras"), subject, Path(request["keras_artifact"]))
            why_not = twin_differences(request["expected"], fingerprint_of(reload.model))
        except Exception as error:
            return {"ok": False, "not_twin": f"reading the .keras reload failed here: {describe_exception(error)}"}
        if why_not is not None:
            return {"ok": False, "not_twin": why_not}
        twin = loaded[request["twin_handle"]] = reload.model
    directory = Path(request["directory"])
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        artifact = get_format(request["format"]).save(replace(subject, model=twin), directory)
    except Exception as error:
        return {"ok": False, "error": describe_exception(error)}
    if _python_callbacks():  # a traced tf.py_function/numpy_function registered here: this interpreter is not fresh
        return {"ok": False, "tainted": True, "not_twin": "converting it traced Python callbacks (tf.py_function or "
                "tf.numpy_function), which only the interpreter that traced them can call"}
    return {"ok": True, "artifact": str(artifact), "seconds": time.perf_counter() - started}


def _python_callbacks() -> int:
    """How many Python callbacks traced graphs registered in this interpreter (0 without TensorFlow)."""
    try:
        from tensorflow.python.ops import script_ops
    except ImportError:
        return 0
    return int(script_ops._py_funcs.size())


def _convert_export(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    """Convert the ``export`` format's artifact to TFLite (the second half of the tflite format's save), file to file."""
    from pytest_tfroundtrip.errors import describe_exception
    from pytest_tfroundtrip.formats import get_format
    from pytest_tfroundtrip.formats.tflite import TFLiteFormat

    fmt = get_format(request["format"])
    if not isinstance(fmt, TFLiteFormat):
        raise TypeError(f"{request['format']} is no TFLite format: it does not convert an export")
    directory = Path(request["directory"])
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        artifact = fmt.convert_export(Path(request["source"]), directory)
    except Exception as error:
        return {"ok": False, "error": describe_exception(error)}
    return {"ok": True, "artifact": str(artifact), "seconds": time.perf_counter() - started}


def _call(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    return _called(loaded[request["handle"]], request["arrays"])


def _called(call: Any, arrays: Any) -> dict[str, Any]:
    from pytest_tfroundtrip.formats.base import to_numpy
    from pytest_tfroundtrip.structure import map_leaves

    try:  # as in the main process, reading the outputs is part of the call
        outputs = map_leaves(to_numpy, call(arrays))
    except Exception as error:
        return {"ok": False, "error_type": type(error).__name__, "error": str(error)}
    return {"ok": True, "outputs": outputs}


def _call_many(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    """Every input of a list, in order (sent right after a load, which may have failed: then none)."""
    call = loaded.get(request["handle"])
    if call is None:
        return {"ok": False, "not_loaded": True}
    return {"ok": True, "results": [_called(call, arrays) for arrays in request["inputs"]]}


def _weights(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    from pytest_tfroundtrip.formats.base import saved_form
    from pytest_tfroundtrip.results.weights import value_digest

    weights = saved_form(loaded[request["handle"]].model)
    return {"ok": True, "weights": [(path, tuple(value.shape), value_digest(value)) for path, value in weights]}


def _weight_values(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    import numpy as np

    from pytest_tfroundtrip.formats.base import saved_form

    weights = saved_form(loaded[request["handle"]].model)
    return {"ok": True, "values": [np.array(weights[index][1], copy=True) for index in request["indices"]]}


def _trace(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    from pytest_tfroundtrip.formats.diagnosis import layer_trace

    reload = loaded[request["handle"]]
    return {"ok": True, "trace": layer_trace(reload.model, reload.subject, request["arrays"], request["recorded"])}


def _resume(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    # The caller sends the function that continues training (pickled by its name, so this interpreter imports its
    # module): the checks above this floor stay out of the worker's own imports.
    reply: dict[str, Any] = request["continue_in_worker"](request)
    gc.collect()
    return reply


def _release(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    loaded.pop(request["handle"], None)  # with "collect" (large models), its reference cycles are freed after the answer
    return {"ok": True}


def _reset(request: dict[str, Any], loaded: dict[int, Any]) -> dict[str, Any]:
    dropped = len(loaded)
    loaded.clear()
    if dropped:
        gc.collect()
    return {"ok": True, "dropped": dropped}


_HANDLERS: dict[str, Handler] = {
    "import": _import, "load": _load, "convert": _convert, "convert_export": _convert_export, "call": _call, "call_many": _call_many, "weights": _weights, "weight_values": _weight_values,
    "trace": _trace, "resume": _resume, "release": _release, "reset": _reset,
}
