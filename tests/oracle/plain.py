# Cost, measured: one call on a Dense(8)-Dense(3) MLP with all 7 formats, inputs (3, 4), took 7.4 s the first
# time in a process (saving 1.2 s, the fresh loader 6.2 s) and 4.0 to 5.7 s on repeats (loader 3.5 to 4.6 s,
# mostly importing TensorFlow); 2 CPU cores shared with other work (load average ~2.9), nice -n 10.
"""An independent oracle: the plain save and reload a user would do, per format, reloaded in a fresh interpreter.

It shares no code with the plugin under test (tests/test_oracle.py checks its imports), so that the
plugin's verdicts can be judged against it. Saving happens here, in the calling process, with the
plain calls of the "Formats" table (docs/formats.md); loading and calling happen in ONE new interpreter per
call (tests/oracle/fresh_loader.py), started with a different PYTHONHASHSEED.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .fresh_loader import effective_weights

FORMATS = ("keras", "h5", "savedmodel", "export", "weights", "checkpoint", "tflite")
# Saved here, reloaded in a fresh interpreter started with KERAS_BACKEND set to the name after "@".
CROSS_BACKEND_FORMATS = ("keras@tensorflow", "weights@tensorflow", "keras@jax", "weights@jax")
LOADER = Path(__file__).with_name("fresh_loader.py")

# The oracle's own tolerances, chosen here and not taken from the plugin: (atol, rtol, scale atol).
# Elementwise pass: |actual - expected| <= atol * scale + rtol * |expected|, where scale is
# max(1, max |expected| over the output's finite values) when "scale atol" is set, else 1.
# - keras, h5, weights, checkpoint restore the exact weights into the same Keras code: near bit-exact.
# - savedmodel, export run a traced graph (float reassociation, ~1e-7 measured): 10x looser.
# - tflite runs another runtime (XNNPACK kernels, ~2e-6 measured on a small conv net): 10x looser again.
# NaN in both places counts as equal; integer and bool outputs must match exactly; a differing
# dtype (float16 vs float32) is compared after casting both to float64.
TOLERANCES: dict[str, tuple[float, float, bool]] = {
    "keras": (1e-6, 1e-5, False), "h5": (1e-6, 1e-5, False),
    "weights": (1e-6, 1e-5, False), "checkpoint": (1e-6, 1e-5, False),
    "savedmodel": (1e-5, 1e-4, True), "export": (1e-5, 1e-4, True),
    "tflite": (1e-4, 1e-3, True),
    # Another backend runs other kernels on the same weights (XLA against TensorFlow's): as loose as a graph.
    **{name: (1e-5, 1e-4, True) for name in CROSS_BACKEND_FORMATS},
}


@dataclass(frozen=True)
class OracleVerdict:
    """What the plain save and fresh reload of one format gave."""

    format: str
    status: str  # "pass" | "limit" (the plain save, load or call raised) | "differs"
    error: str | None  # exception type and first line for "limit"; a short text for "differs"
    max_abs: float  # max abs output difference (inf if shapes differ; nan if not computed)


def oracle_verdicts(model: keras.Model, inputs: Any, *, formats: tuple[str, ...] | list[str], workdir: str | Path,
                    rebuild: str | None = None, timeout: float = 300,
                    imports: tuple[str, ...] | None = None, input_signature: Any = None) -> dict[str, OracleVerdict]:
    """Save `model` in each format here, reload and call it on `inputs` in a fresh interpreter, compare.

    `rebuild` is Python source defining `build()` (a fresh uncompiled model of the same architecture),
    needed by weights and checkpoint. `imports` are modules the fresh interpreter imports before
    loading; by default the modules of the model's non-Keras classes (see `default_imports`).
    `input_signature` (the model's input structure of tf.TensorSpec) is what a user who has one passes to
    `model.export(path, input_signature=[...])` (export, tflite); without it Keras infers the signature.
    """
    unknown = set(formats) - set(FORMATS + CROSS_BACKEND_FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; known: {FORMATS + CROSS_BACKEND_FORMATS}")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    kind, keys, arrays = _flat_inputs(inputs)
    raw = model(inputs, training=False)
    expected = [np.asarray(leaf) for leaf in keras.tree.flatten(raw)]
    expected_weights = effective_weights(model)  # before saving: the h5 save edits the model's compile config

    verdicts: dict[str, OracleVerdict] = {}
    artifacts: dict[str, str] = {}
    for fmt in sorted(formats, key=lambda f: f == "h5"):  # h5 last: its save edits the model (see _save)
        if fmt.split("@")[0] in ("weights", "checkpoint") and rebuild is None:
            verdicts[fmt] = OracleVerdict(fmt, "limit", "no rebuild code", float("nan"))
            continue
        try:
            artifacts[fmt] = _save(fmt, model, workdir, input_signature)
        except Exception as error:  # noqa: BLE001 - a save that raises is this format's verdict
            verdicts[fmt] = OracleVerdict(fmt, "limit", _error_text(error), float("nan"))
    if not artifacts:
        return {fmt: verdicts[fmt] for fmt in formats}

    outdir = workdir / "fresh_outputs"
    outdir.mkdir(exist_ok=True)
    # .npz has no bfloat16 (it comes back as raw bytes, dtype V2): stored as float32, cast back by the loader.
    np.savez(workdir / "inputs.npz", **{f"in_{i}": a.astype(np.float32) if a.dtype.name == "bfloat16" else a
                                        for i, a in enumerate(arrays)})
    job = {
        "inputs_npz": str(workdir / "inputs.npz"), "input_kind": kind, "input_keys": keys,
        "input_dtypes": [a.dtype.name for a in arrays],
        # The names of the given signature's specs, in flat order: an exported file names its inputs by them.
        "signature_names": [getattr(spec, "name", None) for spec in keras.tree.flatten(input_signature)]
        if input_signature is not None else [],
        "model_input_names": [getattr(t, "name", None) for t in (getattr(model, "inputs", None) or [])],
        "output_keys": sorted(raw) if isinstance(raw, dict) else None,
        "rebuild": rebuild, "outdir": str(outdir),
        "modules_to_import": list(default_imports(model) if imports is None else imports),
        # The caller's sys.path now (the loader lives on between calls; its PYTHONPATH is that of its start).
        "sys_path": [os.path.abspath(p or os.getcwd()) for p in sys.path],
    }
    deaths = _run_loaders(workdir, job, artifacts, timeout)

    for fmt in artifacts:
        error_file, output_file = outdir / f"{fmt}.error.json", outdir / f"{fmt}.npz"
        if error_file.exists():
            verdicts[fmt] = OracleVerdict(fmt, "limit", json.loads(error_file.read_text())["error"], float("nan"))
        elif output_file.exists():
            with np.load(output_file, allow_pickle=True) as saved:
                actual = [saved[f"out_{i}"] for i in range(len(saved.files))]
            verdicts[fmt] = compare(fmt, expected, actual, low_precision_epsilon(model))
            if verdicts[fmt].status == "pass" and (outdir / f"{fmt}.weights.npz").exists():
                verdicts[fmt] = compare_weights(verdicts[fmt], expected_weights, _read_weights(outdir, fmt))
        else:
            died = deaths.get(_backend_of(fmt)) or "exit code 0 without reporting this format"
            verdicts[fmt] = OracleVerdict(fmt, "limit", f"loader process died: {died}", float("nan"))
    return {fmt: verdicts[fmt] for fmt in formats}


def _read_weights(outdir: Path, fmt: str) -> list[tuple[str, np.ndarray]]:
    paths = json.loads((outdir / f"{fmt}.weights.json").read_text())
    with np.load(outdir / f"{fmt}.weights.npz", allow_pickle=False) as saved:
        return [(path, saved[f"w_{i}"]) for i, path in enumerate(paths)]


def compare_weights(verdict: OracleVerdict, expected: list[tuple[str, np.ndarray]],
                    actual: list[tuple[str, np.ndarray]]) -> OracleVerdict:
    """A passing verdict stays "pass" only if the reloaded model's weights are the original's.

    Outputs can ignore a weight (a GAN's discriminator when serving its generator; a layer not on the
    output's path), so a restore that leaves it at its initial value shows only here.  Weights are paired
    by path when both sides have the same paths (a file keeps the layer names), else by position in
    ``model.weights`` (a rebuild in another interpreter numbers its layers afresh); compared with the
    format's own tolerance, unscaled.
    """
    if len(expected) != len(actual):
        return OracleVerdict(verdict.format, "differs", f"weights differ: {len(actual)} weights, expected "
                             f"{len(expected)}", verdict.max_abs)
    by_path = dict(actual)
    by_name = _by_numberless_path(actual)
    wanted_names = [_numberless(path) for path, _ in expected]
    if len(by_path) == len(actual) and set(by_path) == {path for path, _ in expected}:
        pairs = [(path, want, by_path[path]) for path, want in expected]
    elif by_name is not None and len(set(wanted_names)) == len(wanted_names) and set(by_name) == set(wanted_names):
        # Another interpreter numbers layers afresh ("dense_3" -> "dense") and may create a layer's weights in
        # another order (a set of names iterated under another hash seed): pair by the path without counters.
        pairs = [(path, want, by_name[name]) for (path, want), name in zip(expected, wanted_names)]
    else:
        pairs = [(path, want, got) for (path, want), (_, got) in zip(expected, actual)]
    atol, rtol, _scaled = TOLERANCES[verdict.format]
    wrong = [path for path, want, got in pairs
             if want.shape != got.shape or not _close(want, got, atol, rtol, False)[0]]
    if wrong:
        return OracleVerdict(verdict.format, "differs", f"weights differ: {len(wrong)} of {len(pairs)} not restored "
                             f"(first: {wrong[0]})", verdict.max_abs)
    return verdict


def _numberless(path: str) -> str:
    """A weight's path without the model's own name and without Keras's layer counters (``_3``)."""
    parts = path.split("/")
    return "/".join(re.sub(r"_\d+$", "", part) for part in (parts[1:] if len(parts) > 2 else parts))


def _by_numberless_path(weights: list[tuple[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    named = {}
    for path, value in weights:
        name = _numberless(path)
        if name in named:
            return None  # two weights would share a name: pairing by it is ambiguous
        named[name] = value
    return named


def config_rebuild_verdict(model: keras.Model, inputs: Any) -> OracleVerdict:
    """Can ``get_config()`` carry this model without a file? Plain calls, in this process.

    ``type(model).from_config(model.get_config())``, given the original's weights in memory
    (``set_weights``) and, if compiled, ``compile_from_config(get_compile_config())``, then called on
    ``inputs``: "pass" if its outputs are the original's; "limit" if a call raises (an adapted vocabulary
    is in no config: "Table not initialized"; an unregistered loss: "Could not locate function"; no
    ``get_config``); "differs" otherwise.  Where this is not "pass", a checker that rebuilds from the
    config cannot judge weights files or checkpoints without the user's ``rebuild=``.
    """
    try:
        clone = type(model).from_config(model.get_config())
        clone.set_weights(model.get_weights())
        if getattr(model, "compiled", False) and model.get_compile_config():
            clone.compile_from_config(model.get_compile_config())
        got = [np.asarray(leaf) for leaf in keras.tree.flatten(clone(inputs, training=False))]
    except Exception as error:  # noqa: BLE001 - the raise is the verdict
        return OracleVerdict("config rebuild", "limit", _error_text(error), float("nan"))
    want = [np.asarray(leaf) for leaf in keras.tree.flatten(model(inputs, training=False))]
    verdict = compare("keras", want, got)
    return OracleVerdict("config rebuild", verdict.status, verdict.error, verdict.max_abs)


def default_imports(model: keras.Model) -> list[str]:
    """Modules of the model's class and of every layer class not from Keras itself (never __main__)."""
    modules = [type(layer).__module__ for layer in model._flatten_layers()] + [type(model).__module__]
    keep = [m for m in modules if m not in ("__main__", "builtins", "keras") and not m.startswith("keras.")]
    return list(dict.fromkeys(keep))


def _flat_inputs(inputs: Any) -> tuple[str, list[str] | None, list[np.ndarray]]:
    """("dict", sorted keys, arrays) | ("list", None, arrays) | ("array", None, [array]): keras.tree's flat order."""
    if isinstance(inputs, dict):
        keys = sorted(inputs)
        return "dict", keys, [np.asarray(inputs[k]) for k in keys]
    if isinstance(inputs, (list, tuple)):
        return "list", None, [np.asarray(x) for x in inputs]
    return "array", None, [np.asarray(inputs)]


def _save(fmt: str, model: keras.Model, workdir: Path, input_signature: Any = None) -> str:
    """The plain save call of `fmt`; returns the artifact's path."""
    if fmt == "keras":
        model.save(workdir / "model.keras")
        return str(workdir / "model.keras")
    if fmt == "h5":
        # Keras 3.15's legacy h5 save pops "optimizer" out of the model's compile config
        # (keras/src/legacy/saving/saving_utils.py): put it back so the caller's model is left as it was.
        config = getattr(getattr(model, "_compile_config", None), "config", None)
        before = dict(config) if isinstance(config, dict) else None
        try:
            model.save(workdir / "model.h5")
        finally:
            if before is not None:
                config.clear()
                config.update(before)
        return str(workdir / "model.h5")
    if fmt == "savedmodel":
        tf.saved_model.save(model, str(workdir / "savedmodel"))
        return str(workdir / "savedmodel")
    export_options: dict[str, Any] = {} if input_signature is None else {"input_signature": [input_signature]}
    if fmt == "export":
        model.export(str(workdir / "export"), verbose=False, **export_options)
        return str(workdir / "export")
    if fmt == "weights":
        model.save_weights(workdir / "model.weights.h5")
        return str(workdir / "model.weights.h5")
    if fmt in CROSS_BACKEND_FORMATS:  # the same plain save; only the reload differs (another backend)
        base, backend = fmt.split("@")
        if base == "keras":
            model.save(workdir / f"model_for_{backend}.keras")
            return str(workdir / f"model_for_{backend}.keras")
        model.save_weights(workdir / f"model_for_{backend}.weights.h5")
        return str(workdir / f"model_for_{backend}.weights.h5")
    if fmt == "checkpoint":
        tf.train.Checkpoint(model=model).save(str(workdir / "checkpoint" / "ckpt"))
        return str(workdir / "checkpoint")
    if fmt == "tflite":
        model.export(str(workdir / "tflite_export"), verbose=False, **export_options)
        content = tf.lite.TFLiteConverter.from_saved_model(str(workdir / "tflite_export")).convert()
        (workdir / "model.tflite").write_bytes(content)
        return str(workdir / "model.tflite")
    raise ValueError(fmt)


def child_env(backend: str | None = None) -> dict[str, str]:
    """The fresh interpreter's environment: another hash seed, quiet CPU TensorFlow, the caller's sys.path.

    ``backend``: the Keras backend it runs (``KERAS_BACKEND``); None keeps this process's environment.
    """
    env = dict(os.environ)
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    parent_seed = os.environ.get("PYTHONHASHSEED", "")
    env["PYTHONHASHSEED"] = str((int(parent_seed) + 1) % 4294967296) if parent_seed.isdigit() else "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["CUDA_VISIBLE_DEVICES"] = ""
    # Absolute paths: the loader's cwd is the workdir ("" in sys.path means the caller's cwd).
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(os.path.abspath(p or os.getcwd()) for p in sys.path))
    return env


class _Loader:
    """One long-lived fresh loader process (``fresh_loader.py --serve``), restarted after it dies.

    It never saves what it loads, runs with another hash seed than this process, and imports TensorFlow once
    for all jobs instead of once per model (about 3.5 s each, most of an oracle call).
    """

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path = Path()

    def run(self, job: Path, timeout: float) -> str | None:
        self.submit(job)
        return self.wait(timeout)

    def submit(self, job: Path) -> None:
        """Hand the loader a job; :meth:`wait` collects its answer (loaders of several backends work at once)."""
        if self.process is None or self.process.poll() is not None:
            # Made when a loader starts (inside a test session: under pytest's basetemp), not at import.
            self.stderr_path = Path(tempfile.mkdtemp(prefix="oracle-loader-")) / "stderr.txt"
            self.process = subprocess.Popen(
                [sys.executable, str(LOADER), "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self.stderr_path.open("w"), env=child_env(self.backend), text=True, cwd=job.parent)
        assert self.process.stdin is not None
        self.process.stdin.write(f"{job}\n")
        self.process.stdin.flush()

    def wait(self, timeout: float) -> str | None:
        """None once the loader answers "done"; else how it died, with its stderr's end."""
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return f"killed after the timeout of {timeout} s; stderr: {_tail(self.stderr_path.read_text())}"
        if self.process.stdout.readline().strip() == "done":
            return None
        code = self.process.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        self.process = None
        return f"{how}; stderr: {_tail(self.stderr_path.read_text())}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


_LOADERS: dict[str | None, _Loader] = {}  # by backend; None: this process's own


def _stop_loaders() -> None:
    for loader in _LOADERS.values():
        loader.stop()


atexit.register(_stop_loaders)  # no loader is left running after the tests


def _backend_of(fmt: str) -> str | None:
    """The backend a format reloads under: the name after "@", or None (this process's own)."""
    return fmt.split("@")[1] if "@" in fmt else None


def _run_loaders(workdir: Path, job: dict[str, Any], artifacts: dict[str, str], timeout: float) -> dict[str | None, str]:
    """Each backend's fresh loader reloads its formats of ``artifacts`` (all at once); how any loader died, by backend."""
    by_backend: dict[str | None, dict[str, str]] = {}
    for fmt, path in artifacts.items():
        by_backend.setdefault(_backend_of(fmt), {})[fmt] = path
    for backend, some in by_backend.items():
        job_file = workdir / ("job.json" if backend is None else f"job_{backend}.json")
        job_file.write_text(json.dumps({**job, "artifacts": some}, indent=1))
        _LOADERS.setdefault(backend, _Loader(backend)).submit(job_file)
    deaths = {backend: _LOADERS[backend].wait(timeout) for backend in by_backend}
    return {backend: death for backend, death in deaths.items() if death is not None}


def _tail(stderr: bytes | str | None, lines: int = 6) -> str:
    """The last non-empty lines of a process's stderr, on one line."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else (stderr or "")
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-1500:] or "(empty)"


def _error_text(error: BaseException) -> str:
    """Exception type and the first line of its message (a heading such as TensorFlow's "Graph execution
    error:" gets the first later "SomethingError: ..." line appended). Same rule as fresh_loader.py."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    cause = [line for line in lines[1:] if re.match(r"\w+(Error|Exception): ", line)][:1]
    return " ".join([f"{type(error).__name__}: {lines[0]}"] + (cause if lines[0].endswith(":") else []))


def low_precision_epsilon(model: keras.Model) -> float | None:
    """The machine epsilon of the lowest float precision any layer computes in, if below float32."""
    epsilons = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
    found = [epsilons[layer.compute_dtype] for layer in model._flatten_layers()
             if getattr(layer, "compute_dtype", None) in epsilons]
    return max(found, default=None)


def compare(fmt: str, expected: list[np.ndarray], actual: list[np.ndarray],
            low_precision: float | None = None) -> OracleVerdict:
    """Output by output, with `fmt`'s tolerance: "pass" or "differs" (count, shape or values).

    `low_precision`: the epsilon of float16/bfloat16 compute somewhere in the model. A graph or another
    runtime may round each low-precision step differently, so their tolerance becomes 8 epsilons (scaled);
    the exact formats run the same code and keep theirs.
    """
    if len(actual) != len(expected):
        return OracleVerdict(fmt, "differs", f"{len(actual)} outputs, expected {len(expected)}", float("inf"))
    atol, rtol, scaled = TOLERANCES[fmt]
    if low_precision is not None and scaled:
        atol, rtol = max(atol, 8 * low_precision), max(rtol, 8 * low_precision)
    worst, problems = 0.0, []
    for i, (want, got) in enumerate(zip(expected, actual)):
        if want.shape != got.shape:
            return OracleVerdict(fmt, "differs", f"output {i}: shape {got.shape}, expected {want.shape}", float("inf"))
        ok, max_abs = _close(want, got, atol, rtol, scaled)
        worst = max(worst, max_abs)
        if not ok:
            problems.append(f"output {i}: max abs diff {max_abs:.3g}")
    if problems:
        return OracleVerdict(fmt, "differs", "; ".join(problems), worst)
    return OracleVerdict(fmt, "pass", None, worst)


def _close(want: np.ndarray, got: np.ndarray, atol: float, rtol: float, scaled: bool) -> tuple[bool, float]:
    """(every element within tolerance, max abs difference) for one output."""
    want, got = (a.astype(np.float32) if a.dtype.name == "bfloat16" else a for a in (want, got))  # kind "V" otherwise
    if want.dtype.kind not in "biuf" or got.dtype.kind not in "biuf":  # strings, objects: exact
        same = bool(np.array_equal(want, got))
        return same, 0.0 if same else float("inf")
    w, g = want.astype(np.float64), got.astype(np.float64)
    equal = (w == g) | (np.isnan(w) & np.isnan(g))  # also equal infinities
    diff = np.where(equal, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)  # one side NaN, or inf against -inf
    max_abs = float(diff.max()) if diff.size else 0.0
    if want.dtype.kind in "biu" or got.dtype.kind in "biu":
        return bool(equal.all()), max_abs
    finite = np.abs(w[np.isfinite(w)])
    scale = max(1.0, float(finite.max())) if scaled and finite.size else 1.0
    within = np.isfinite(diff) & (diff <= atol * scale + rtol * np.abs(w))
    return bool((equal | within).all()), max_abs
