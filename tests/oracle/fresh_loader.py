"""The oracle's fresh interpreter: load each saved format the plain way, call it on the inputs, write the outputs.

Run as a script by tests/oracle/plain.py:  python fresh_loader.py JOB.json
This process did not save the model, and runs with another PYTHONHASHSEED. The job names the
artifacts, the inputs (.npz), the modules to import first and the rebuild code. Per format it
writes <outdir>/<format>.npz (outputs out_0, out_1, ... in the model's flat output order) or
<outdir>/<format>.error.json ({"error": "Type: first line"}), each as soon as that format is done
(formats reloaded as a Keras model also write their weights: <format>.weights.npz and .json),
so a crash later still leaves the earlier formats reported. Each format has its own try/except.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any


class OracleMappingError(Exception):
    """A signature's input or output names could not be matched to the model's (an oracle limit, not a format's)."""


def main(job_path: str) -> None:
    """Import the user's modules, then load, call and report each format."""
    with open(job_path) as f:
        job = json.load(f)
    for entry in reversed(job.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    for module in job["modules_to_import"]:  # classes the model uses register at import
        importlib.import_module(module)
    import numpy as np

    with np.load(job["inputs_npz"]) as saved:
        flat = [saved[f"in_{i}"] for i in range(len(saved.files))]
    for i, dtype in enumerate(job.get("input_dtypes", [])):
        if dtype == "bfloat16":  # stored as float32 (.npz has no bfloat16)
            import tensorflow as tf

            flat[i] = flat[i].astype(tf.bfloat16.as_numpy_dtype)
    if job["input_kind"] == "dict":
        inputs: Any = dict(zip(job["input_keys"], flat))
    else:
        inputs = flat if job["input_kind"] == "list" else flat[0]
    for fmt, path in job["artifacts"].items():
        try:
            base = fmt.split("@")[0]  # "keras@tensorflow": the keras loader, in this process started with that backend
            if base in MODEL_LOADERS:  # a Keras model: its weights are reported beside its outputs
                model = MODEL_LOADERS[base](path, inputs, job)
                outputs = [np.asarray(o) for o in _flatten(model(inputs, training=False))]
                _write_weights(job["outdir"], fmt, effective_weights(model))
            else:
                outputs = [np.asarray(o) for o in LOADERS[base](path, inputs, flat, job)]
            # .npz has no bfloat16 (it would come back as raw bytes): compared as floats anyway.
            outputs = [o.astype(np.float32) if o.dtype.name == "bfloat16" else o for o in outputs]
            tmp = os.path.join(job["outdir"], f"{fmt}.npz.tmp")
            with open(tmp, "wb") as f:
                np.savez(f, **{f"out_{i}": o for i, o in enumerate(outputs)})
            os.replace(tmp, os.path.join(job["outdir"], f"{fmt}.npz"))  # whole files only, even after a crash
        except Exception as error:  # noqa: BLE001 - the error is this format's report
            _write(job["outdir"], f"{fmt}.error.json", json.dumps({"error": _error_text(error)}).encode())


def _error_text(error: BaseException) -> str:
    """Exception type and the first line of its message (a heading such as TensorFlow's "Graph execution
    error:" gets the first later "SomethingError: ..." line appended). Same rule as plain.py."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    cause = [line for line in lines[1:] if re.match(r"\w+(Error|Exception): ", line)][:1]
    return " ".join([f"{type(error).__name__}: {lines[0]}"] + (cause if lines[0].endswith(":") else []))


LORA_FACTORS = ("lora_kernel_a", "lora_kernel_b", "lora_embeddings_a", "lora_embeddings_b")


def effective_weights(model: Any) -> list[tuple[str, Any]]:
    """(path, value) of every model weight in the form Keras saves it; random-number states left out.

    A LoRA-enabled layer (``layer.enable_lora``) is saved with the LoRA product merged into its kernel
    (or embeddings) and reloaded with zeroed factors (Keras 3.15 ``Dense.save_own_variables`` /
    ``load_own_variables``; tests/test_oracle.py shows it with plain calls): its effective ``layer.kernel``
    is what a save carries, so it replaces the raw kernel and the factors are dropped.  The state of a
    ``SeedGenerator`` (dropout, augmentation) is where a random stream is, not a learned weight.
    Shared by plain.py (the original model) and this loader (the reloaded one).
    """
    import numpy as np

    merged: dict[int, Any] = {}
    factors: set[int] = set()
    for layer in model._flatten_layers():
        if not getattr(layer, "lora_enabled", False):
            continue
        for name in ("kernel", "embeddings"):
            raw = getattr(layer, "_" + name, None)
            if raw is not None:
                merged[id(raw)] = np.asarray(getattr(layer, name))
        factors.update(id(getattr(layer, name)) for name in LORA_FACTORS if getattr(layer, name, None) is not None)
    found = []
    for variable in model.weights:
        if id(variable) in factors or "seed_generator" in variable.path:
            continue
        value = merged.get(id(variable), np.asarray(variable))
        found.append((variable.path, value.astype(np.float32) if value.dtype.name == "bfloat16" else value))
    return found


def _write_weights(outdir: str, fmt: str, weights: list[tuple[str, Any]]) -> None:
    """<fmt>.weights.npz: w_0, w_1, ... in model.weights order, and the paths in <fmt>.weights.json."""
    import numpy as np

    tmp = os.path.join(outdir, f"{fmt}.weights.npz.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **{f"w_{i}": value for i, (_path, value) in enumerate(weights)})
    os.replace(tmp, os.path.join(outdir, f"{fmt}.weights.npz"))
    _write(outdir, f"{fmt}.weights.json", json.dumps([path for path, _value in weights]).encode())


def _write(outdir: str, name: str, data: bytes) -> None:
    """Write a report file atomically (a crash never leaves half a file)."""
    with open(os.path.join(outdir, name + ".tmp"), "wb") as f:
        f.write(data)
    os.replace(os.path.join(outdir, name + ".tmp"), os.path.join(outdir, name))


def _flatten(outputs: Any) -> list:
    import keras

    return keras.tree.flatten(outputs)  # lists in order, dicts in sorted-key order


def load_keras_file(path: str, inputs: Any, job: dict) -> Any:
    """keras and h5: keras.models.load_model."""
    import keras

    return keras.models.load_model(path)


def load_savedmodel(path: str, inputs: Any, flat: list, job: dict) -> list:
    """tf.saved_model.load(path).signatures["serving_default"](**kwargs); the dict output in the model's order."""
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # kept referenced while its signature runs
    signature = loaded.signatures["serving_default"]
    specs = signature.structured_input_signature[1]
    feed = match_inputs(list(specs), flat, job)
    # Fed in the signature's declared dtypes, as its caller must (a concrete function does not cast).
    result = signature(**{name: tf.constant(array, dtype=specs[name].dtype) for name, array in feed.items()})
    return order_outputs(result, job)


def load_export(path: str, inputs: Any, flat: list, job: dict) -> list:
    """tf.saved_model.load(path).serve(inputs): takes and returns the model's own structure."""
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    return _flatten(loaded.serve(inputs))


def _rebuilt(inputs: Any, job: dict) -> Any:
    """The caller's build() run here, then called once on the inputs.

    The call creates the variables of subclassed models (Keras 3 builds functional models at construction,
    subclassed ones at their first call), as a user must before restoring into them; for a functional
    model it changes nothing (training=False, and restoring happens after it). Measured without it on a
    subclassed model: load_weights raises "not yet been built", Checkpoint.read silently restores nothing.
    """
    namespace: dict = {}
    exec(job["rebuild"], namespace)  # noqa: S102 - the caller's own rebuild code
    model = namespace["build"]()
    model(inputs, training=False)
    return model


def load_weights(path: str, inputs: Any, job: dict) -> Any:
    """build(), load_weights(path)."""
    model = _rebuilt(inputs, job)
    model.load_weights(path)
    return model


def load_checkpoint(path: str, inputs: Any, job: dict) -> Any:
    """build(), Checkpoint(model=...).read(latest_checkpoint(dir)).expect_partial()."""
    import tensorflow as tf

    model = _rebuilt(inputs, job)
    tf.train.Checkpoint(model=model).read(tf.train.latest_checkpoint(path)).expect_partial()
    return model


def load_tflite(path: str, inputs: Any, flat: list, job: dict) -> list:
    """tf.lite.Interpreter, resized to the inputs' shapes before allocating, called through its signature runner."""
    import tensorflow as tf

    with open(path, "rb") as f:
        interpreter = tf.lite.Interpreter(model_content=f.read())
    # Names, tensor indices, dtypes; the runner is not kept: while one is held the interpreter refuses to resize.
    details = interpreter.get_signature_runner().get_input_details()
    matched = match_inputs(list(details), flat, job)
    feed = {name: array.astype(details[name]["dtype"]) for name, array in matched.items()}  # declared dtypes
    for name, array in feed.items():
        interpreter.resize_tensor_input(details[name]["index"], array.shape)
    interpreter.allocate_tensors()
    return order_outputs(interpreter.get_signature_runner()(**feed), job)


# Formats reloaded as a Keras model (called, and its weights reported), and formats reloaded as outputs only.
MODEL_LOADERS: dict[str, Callable[[str, Any, dict], Any]] = {
    "keras": load_keras_file, "h5": load_keras_file, "weights": load_weights, "checkpoint": load_checkpoint,
}
LOADERS: dict[str, Callable[[str, Any, list, dict], list]] = {
    "savedmodel": load_savedmodel, "export": load_export, "tflite": load_tflite,
}


INPUT_NAMINGS = (r"inputs(?:_(\d+))?", r"args_0(?:_(\d+))?")  # `inputs`, `inputs_1`, ...; `args_0`, `args_0_1`, ...
OUTPUT_NAMINGS = (r"output_(\d+)",)  # `output_0`, `output_1`, ...


def _generated_order(names: list[str], namings: tuple[str, ...]) -> list[str] | None:
    """Names TensorFlow generated after one of `namings`, in numeric order; None if they follow none."""
    for pattern in namings:
        if all(re.fullmatch(pattern, name) for name in names):
            return sorted(names, key=lambda name: int(re.fullmatch(pattern, name).group(1) or 0))
    return None


def match_inputs(names: list[str], flat: list, job: dict) -> dict[str, Any]:
    """Signature input name -> array, by the naming measured on TF 2.21 / Keras 3.15.

    savedmodel: `inputs`, `inputs_1`, ... in the model's flat input order (dicts: sorted keys).
    export and tflite: the model's Input names (functional), the names of the specs the caller exported with,
    or `args_0`, `args_0_1`, ... (subclassed).
    """
    if len(names) != len(flat):
        raise OracleMappingError(f"signature inputs {sorted(names)}, but {len(flat)} model inputs")
    if len(names) == 1:
        return {names[0]: flat[0]}
    model_names = job["model_input_names"]
    if len(set(model_names)) == len(flat) and set(names) == set(model_names):
        return dict(zip(model_names, flat))
    given = job.get("signature_names") or []
    if len(set(given)) == len(flat) and set(names) == set(given):  # exported with the caller's named specs
        return dict(zip(given, flat))
    ordered = _generated_order(names, INPUT_NAMINGS)
    if ordered is None:
        raise OracleMappingError(f"signature inputs {sorted(names)} match neither the model's inputs "
                                 f"{model_names} nor a generated naming")
    return dict(zip(ordered, flat))


def order_outputs(result: dict, job: dict) -> list:
    """A signature's dict of outputs, in the model's flat output order.

    Names measured: `output_0`, `output_1`, ... for a tensor or list output; the dict's keys for a dict output.
    """
    names = list(result)
    if len(names) == 1:
        return [result[names[0]]]
    ordered = job["output_keys"] if set(names) == set(job["output_keys"] or ()) else None
    if ordered is None:
        ordered = _generated_order(names, OUTPUT_NAMINGS)
    if ordered is None:
        raise OracleMappingError(f"signature outputs {sorted(names)} cannot be matched to the model's outputs")
    return [result[name] for name in ordered]


def serve() -> None:
    """Serve jobs read from stdin, one path a line, answering "done" for each: TensorFlow is imported once.

    The process still never saved anything it loads, and runs with its own hash seed.  Between jobs, Keras's
    global state (names, the session) is cleared.
    """
    for line in sys.stdin:
        main(line.strip())
        import keras

        keras.backend.clear_session()
        print("done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve()
    else:
        main(sys.argv[1])
