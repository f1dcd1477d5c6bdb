"""The checker against a hand-written floor: time and peak memory, per workload.

The floor is what a careful engineer would write by hand to do the same work:
for each format the checker ran, save once, load once, call the reloaded model
on the same inputs the checker used (the original's outputs computed once),
``numpy.allclose``, then drop the reloaded model and its files before the next
format.  It imports nothing from pytest_tfroundtrip.

Each workload runs in three fresh processes: the checker alone and the floor
alone (peak RSS, each side in its own process), then both in one process on
the same inputs (time), after an untimed floor run that warms up what either
side would otherwise pay for first (TensorFlow's savers, the TFLite converter).
The formats loaded under JAX (``keras@jax``, ``weights@jax``) are saved here and loaded, both, in one
interpreter started with ``KERAS_BACKEND=jax``, as anyone must load under another backend (before
issue 29's second stop the floor skipped them while the checker paid for them).
The ratios printed are checker / floor.  Never asserts.

``--fresh`` compares instead the checker's two reload paths on all ten
formats: ``reload_in="process"`` (every format reloaded in this process, one
after another) against the default ``reload_in="fresh"`` (reloaded in worker
interpreters, several at once), each in its own process after an untimed
warm-up run (which also starts the worker pool: the times are a warm pool's).
Peak memory is the largest sum over the main process and its workers,
sampled every 250 ms, of PSS (each shared page counted once: the memory they
take together) and of RSS (TensorFlow's libraries counted once per process).  Each path also prints
each format's save (or conversion) and load seconds, which came from the model's twin, and how many of
the machine's cores the timed check kept busy on average (from /proc/stat: the machine must be otherwise
quiet), which says how far from the cores' limit a path is.  Targets (issue 29): fresh time at most 0.6x
in-process for mobilenet, 0.7x for bert_base, no more for the MLP; peak memory of
all processes at most 1.5x.  ``benchmarks/first_check.py`` measures the first
check of a pytest session, cold, against the floor.

    python benchmarks/floor.py [--workloads mlp,mobilenet,dict_string,mlp_100m,bert_base] [--examples 50] [--fresh] [--workers N]

``mlp_100m`` and ``bert_base`` take several minutes each and ~10 GB of RAM.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

WORKLOADS = ("mlp", "mobilenet", "dict_string", "mlp_100m", "bert_base")
# The two large workloads use 10 examples, as in the measurements.
EXAMPLES = {"mlp_100m": 10, "bert_base": 10}


# ----------------------------------------------------------------- models
def build(workload: str) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    layers = keras.layers
    if workload == "mlp":
        return keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    if workload == "mobilenet":
        return keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), weights=None)
    if workload == "dict_string":
        words = keras.Input((4,), dtype="string", name="words")
        features = keras.Input((16,), name="features")
        ids = layers.StringLookup(vocabulary=["cat", "dog", "bird", "fish"])(words)
        pooled = layers.GlobalAveragePooling1D()(layers.Embedding(6, 8)(ids))
        hidden = layers.Dense(32, activation="relu")(layers.Concatenate()([pooled, features]))
        return keras.Model({"words": words, "features": features},
                           {"label": layers.Dense(3, name="label")(hidden), "score": layers.Dense(1, name="score")(hidden)})
    if workload == "mlp_100m":
        return keras.Sequential([keras.Input((1024,)), layers.Dense(10000, activation="relu"),
                                 layers.Dense(8192, activation="relu"), layers.Dense(1024)])
    if workload == "bert_base":
        import keras_hub

        return keras_hub.models.BertBackbone(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
                                             intermediate_dim=3072, max_sequence_length=512)
    raise SystemExit(f"unknown workload {workload!r}; choose from {WORKLOADS}")


def weight_bytes(model: Any) -> int:
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class FormatPeaks:
    """Peak RSS while each format is checked, sampled every 5 ms (benchmark-only instrumentation)."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            if self.current is not None:
                self.peaks[self.current] = max(self.peaks.get(self.current, 0), current_rss_bytes())

    def __enter__(self) -> FormatPeaks:
        from pytest_tfroundtrip.checks import one_format, roundtrip

        original = one_format.check_one_format

        def marked(fmt: Any, run: Any) -> Any:
            self.current = fmt.name
            try:
                return original(fmt, run)
            finally:
                self.current = None

        self._restore = lambda: setattr(roundtrip, "check_one_format", original)
        roundtrip.check_one_format = marked
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._restore()


# ----------------------------------------------------------------- the checker side
def run_checker(model: Any, examples: int, inputs_file: Path) -> dict[str, Any]:
    """One default check_roundtrip; records the inputs the original model was called on."""
    from pytest_tfroundtrip import RoundTripError, check_roundtrip
    from pytest_tfroundtrip.checks import roundtrip

    recorded: list[dict[str, np.ndarray]] = []
    original_call = roundtrip.call_keras_model

    def recording_call(target: Any, subject: Any, arrays: Any) -> Any:
        if target is model:
            recorded.append(dict(arrays))
        return original_call(target, subject, arrays)

    roundtrip.call_keras_model = recording_call
    started = time.perf_counter()
    try:
        report = check_roundtrip(model, max_examples=examples, seed=0)
    except RoundTripError as error:
        report = error.report
    finally:
        roundtrip.call_keras_model = original_call
    seconds = time.perf_counter() - started
    np.savez(inputs_file, **{f"{i}/{k}": v.astype(str) if v.dtype == object else v for i, arrays in enumerate(recorded) for k, v in arrays.items()},
             __count__=np.array(len(recorded)))
    ran = [r.format for r in report.results if r.status != "skipped"]
    return {"seconds": seconds, "formats": ran, "failed": [r.format for r in report.failed], "inputs": len(recorded)}


def load_inputs(inputs_file: Path) -> list[dict[str, np.ndarray]]:
    with np.load(inputs_file, allow_pickle=False) as data:
        count = int(data["__count__"])
        inputs: list[dict[str, np.ndarray]] = [{} for _ in range(count)]
        for key in data.files:
            if key != "__count__":
                index, name = key.split("/", 1)
                inputs[int(index)][name] = data[key]
    return inputs


# ----------------------------------------------------------------- the floor side
def _as_model_input(model: Any, arrays: dict[str, np.ndarray]) -> Any:
    import tensorflow as tf

    tensors = {k: tf.constant(v.astype(object) if v.dtype.kind == "U" else v) for k, v in arrays.items()}
    if len(tensors) == 1:
        return next(iter(tensors.values()))
    return tensors


def _leaves(outputs: Any) -> list[np.ndarray]:
    import tensorflow as tf

    if isinstance(outputs, dict):
        outputs = [outputs[k] for k in sorted(outputs)]
    return [np.asarray(v) for v in tf.nest.flatten(outputs)]


def _signature_feed(model: Any, signature: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    import tensorflow as tf

    declared = sorted(signature.structured_input_signature[1])
    names = list(arrays)
    if len(declared) == 1 == len(names):
        mapping = {names[0]: declared[0]}
    elif set(declared) != set(names):
        names_in_order = [t.name.split(":")[0] for t in model.inputs]
        mapping = dict(zip(names_in_order, sorted(declared, key=lambda n: (n.rstrip("0123456789_"), len(n), n))))
    else:
        mapping = {n: n for n in names}
    return {mapping[k]: tf.constant(v.astype(object) if v.dtype.kind == "U" else v) for k, v in arrays.items()}


def _floor_keras(model: Any, directory: Path, suffix: str) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import keras

    path = directory / f"model{suffix}"
    model.save(path)
    reloaded = keras.models.load_model(path)
    return lambda arrays: _leaves(reloaded(_as_model_input(reloaded, arrays), training=False))


def _floor_savedmodel(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import tensorflow as tf

    tf.saved_model.save(model, str(directory / "sm"))
    loaded = tf.saved_model.load(str(directory / "sm"))
    signature = loaded.signatures["serving_default"]
    return lambda arrays: _leaves(signature(**_signature_feed(model, signature, arrays)))


def _floor_export(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import tensorflow as tf

    model.export(str(directory / "export"), verbose=False)
    loaded = tf.saved_model.load(str(directory / "export"))
    return lambda arrays: _leaves(loaded.serve(_as_model_input(model, arrays)))


def _fresh(model: Any) -> Any:
    fresh = type(model).from_config(model.get_config())
    return fresh


def _floor_weights(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    model.save_weights(directory / "model.weights.h5")
    fresh = _fresh(model)
    fresh.load_weights(directory / "model.weights.h5")
    return lambda arrays: _leaves(fresh(_as_model_input(fresh, arrays), training=False))


def _floor_checkpoint(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import tensorflow as tf

    prefix = tf.train.Checkpoint(model=model).save(str(directory / "ckpt" / "model"))
    fresh = _fresh(model)
    tf.train.Checkpoint(model=fresh).read(prefix).expect_partial()
    return lambda arrays: _leaves(fresh(_as_model_input(fresh, arrays), training=False))


def _floor_tflite(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    model.export(str(directory / "export"), verbose=False)
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(directory / "export")).convert()
    (directory / "model.tflite").write_bytes(flatbuffer)
    del flatbuffer
    shutil.rmtree(directory / "export")
    current: dict[str, Any] = {}

    def call(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        shapes = tuple((k, v.shape) for k, v in sorted(arrays.items()))
        if current.get("shapes") != shapes:  # one interpreter at a time, made for the shape at hand
            current.clear()
            runner = Interpreter(model_path=str(directory / "model.tflite")).get_signature_runner()
            current.update(shapes=shapes, runner=runner)
        runner = current["runner"]
        feed = dict(zip(sorted(runner.get_input_details()), [arrays[k] for k in sorted(arrays)]))
        return _leaves(runner(**feed))

    return call


def _floor_litert(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter

    model.export(str(directory / "model.tflite"), format="litert", verbose=False)
    current: dict[str, Any] = {}

    def call(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        shapes = tuple((k, v.shape) for k, v in sorted(arrays.items()))
        if current.get("shapes") != shapes:
            current.clear()
            current.update(shapes=shapes, runner=Interpreter(model_path=str(directory / "model.tflite")).get_signature_runner())
        runner = current["runner"]
        feed = dict(zip(sorted(runner.get_input_details()), [arrays[k] for k in sorted(arrays)]))
        return _leaves(runner(**feed))

    return call


def _floor_onnx(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import onnxruntime

    model.export(str(directory / "model.onnx"), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(directory / "model.onnx"), providers=["CPUExecutionProvider"])
    declared = sorted(node.name for node in session.get_inputs())
    return lambda arrays: [np.asarray(v) for v in session.run(None, dict(zip(declared, [arrays[k] for k in sorted(arrays)])))]


def _floor_openvino(model: Any, directory: Path) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    import openvino

    model.export(str(directory / "model.xml"), format="openvino", verbose=False)
    compiled = openvino.Core().compile_model(str(directory / "model.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    declared = sorted(port.get_any_name() for port in compiled.inputs)
    return lambda arrays: [np.asarray(v) for v in compiled(dict(zip(declared, [arrays[k] for k in sorted(arrays)]))).values()]


FLOOR_FORMATS: dict[str, Callable[[Any, Path], Callable[[dict[str, np.ndarray]], list[np.ndarray]]]] = {
    "keras": lambda m, d: _floor_keras(m, d, ".keras"),
    "h5": lambda m, d: _floor_keras(m, d, ".h5"),
    "savedmodel": _floor_savedmodel,
    "export": _floor_export,
    "weights": _floor_weights,
    "checkpoint": _floor_checkpoint,
    "tflite": _floor_tflite,
    "litert": _floor_litert,
    "onnx": _floor_onnx,
    "openvino": _floor_openvino,
}


def _one_floor_format(model: Any, name: str, inputs: list[dict[str, np.ndarray]], expected: list[list[np.ndarray]]) -> bool:
    directory = Path(tempfile.mkdtemp(prefix=f"floor-{name}-"))
    try:
        call = FLOOR_FORMATS[name](model, directory)
        agreed = [  # a list, not all(): every input is called, as the checker does on a passing format
            all(np.allclose(w, g, rtol=1e-3, atol=1e-3, equal_nan=True) for w, g in zip(want, call(arrays)) if w.dtype.kind == "f")
            for arrays, want in zip(inputs, expected)
        ]
        return all(agreed)
    except Exception:  # the checker reports it; the floor only pays for the attempt
        return False
    finally:
        shutil.rmtree(directory, ignore_errors=True)


_JAX_LOADER = """
import json, sys
import numpy as np, keras
directory = sys.argv[1]
inputs = np.load(directory + "/inputs.npz")
outputs = {}
for name in json.loads(open(directory + "/formats.json").read()):
    if name == "keras@jax":
        model = keras.models.load_model(directory + "/model.keras")
    else:
        model = keras.models.model_from_json(open(directory + "/model.json").read())
        model.load_weights(directory + "/model.weights.h5")
    for index in range(int(inputs["__count__"])):
        for leaf, value in enumerate(keras.tree.flatten(model(inputs[f"{index}"], training=False))):
            outputs[f"{name}/{index}/{leaf}"] = np.asarray(value)
np.savez(directory + "/outputs.npz", **outputs)
"""


def _floor_on_jax(model: Any, names: list[str], inputs: list[dict[str, np.ndarray]], expected: list[list[np.ndarray]]) -> dict[str, bool]:
    """The formats loaded under JAX (``keras@jax``, ``weights@jax``): saved here, loaded and called in one
    interpreter with ``KERAS_BACKEND=jax`` (the only way to load under another backend), compared here.
    Single-input models only (the workloads that run these formats)."""
    directory = Path(tempfile.mkdtemp(prefix="floor-jax-"))
    try:
        model.save(directory / "model.keras")
        model.save_weights(directory / "model.weights.h5")
        (directory / "model.json").write_text(model.to_json())
        (directory / "formats.json").write_text(json.dumps(names))
        np.savez(directory / "inputs.npz", __count__=np.array(len(inputs)),
                 **{str(i): next(iter(arrays.values())) for i, arrays in enumerate(inputs)})
        subprocess.run([sys.executable, "-c", _JAX_LOADER, str(directory)], check=True,
                       env={**os.environ, "KERAS_BACKEND": "jax"})
        with np.load(directory / "outputs.npz") as got:
            return {name: all(np.allclose(w, got[f"{name}/{i}/{leaf}"], rtol=1e-3, atol=1e-3)
                              for i, want in enumerate(expected) for leaf, w in enumerate(want) if w.dtype.kind == "f")
                    for name in names}
    except Exception:  # the checker reports it; the floor only pays for the attempt
        return dict.fromkeys(names, False)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_floor(model: Any, formats: list[str], inputs: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    started = time.perf_counter()
    expected = [_leaves(model(_as_model_input(model, arrays), training=False)) for arrays in inputs]
    agreed = {}
    for name in formats:
        if name.endswith("@jax"):
            continue
        agreed[name] = _one_floor_format(model, name, inputs, expected)
        gc.collect()
    on_jax = [name for name in formats if name.endswith("@jax")]
    if on_jax:
        agreed.update(_floor_on_jax(model, on_jax, inputs, expected))
    return {"seconds": time.perf_counter() - started, "agreed": agreed}


# ----------------------------------------------------------------- fresh against in-process
def _memory_of(pid: str) -> tuple[int, int]:
    """(RSS, PSS) of a process in bytes: PSS shares each shared page among the processes mapping it."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class TotalMemory:
    """The largest sums, over this process and its worker interpreters, of RSS and of PSS (sampled every 250 ms).

    Summed RSS counts TensorFlow's shared libraries once per process; summed
    PSS counts each page once in all: the memory the processes take together.
    Reading PSS walks each process's page tables in the kernel: sampled more
    often, it slowed the processes measured (measured: a MobileNet check took
    over twice as long at 20 ms).
    """

    def __init__(self) -> None:
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        from pytest_tfroundtrip.isolation import pool

        while not self._stop.wait(0.25):
            current = pool._POOL.get(os.getpid())
            pids = ["self"] + [str(pid) for pid in (current.processes() if current is not None else [])]
            sizes = [_memory_of(pid) for pid in pids]
            self.peak_rss = max(self.peak_rss, sum(rss for rss, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(pss for _, pss in sizes))

    def __enter__(self) -> TotalMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat: the share of its cores the check kept
    busy, its workers included (the machine is otherwise quiet when benchmarking)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def reload_path_child(mode: str, workload: str, examples: int, workers: int | None, scratch: Path) -> None:
    """One reload path, in this process: an untimed warm-up check, then the timed one."""
    from pytest_tfroundtrip import RoundTripError, check_roundtrip

    model = build(workload)
    options = {"reload_in": mode, "max_examples": examples, "seed": 0}
    if mode == "fresh" and workers:
        options["workers"] = workers
    result: dict[str, Any] = {"weight_bytes": weight_bytes(model)}
    with TotalMemory() as total:
        for attempt in ("warm-up", "timed"):
            started, cpu_before = time.perf_counter(), _machine_cpu()
            try:
                report = check_roundtrip(model, **options)
            except RoundTripError as error:
                report = error.report
            result[attempt] = time.perf_counter() - started
            busy, elapsed = (after - before for after, before in zip(_machine_cpu(), cpu_before))
            result[f"{attempt}_cores_busy"] = busy / elapsed * (os.cpu_count() or 1)
    result.update(formats=[r.format for r in report.results if r.status != "skipped"],
                  failed=[r.format for r in report.failed], peak_rss=total.peak_rss, peak_pss=total.peak_pss,
                  stages={r.format: [round(r.save_seconds, 1), round(r.load_seconds, 1), r.saved_from_twin]
                          for r in report.results if r.status != "skipped"})
    (scratch / f"{mode}.json").write_text(json.dumps(result))


def compare_reload_paths(workload: str, examples: int, workers: int | None) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix=f"fresh-bench-{workload}-"))
    try:
        rows = {}
        for mode in ("process", "fresh"):
            subprocess.run([sys.executable, __file__, "--child", f"path-{mode}", "--workloads", workload,
                            "--examples", str(examples), "--scratch", str(scratch)]
                           + (["--workers", str(workers)] if workers else []), check=True)
            rows[mode] = json.loads((scratch / f"{mode}.json").read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def print_reload_paths(workloads: list[str], examples: int, workers: int | None) -> None:
    print(f"{'workload':<12} {'formats':>7} {'weights':>9} | {'time':>6} {'process s':>9} {'fresh s':>8} {'difference':>10} | "
          f"{'PSS':>5} {'process':>8} {'fresh':>8} | {'RSS sum':>7} {'process':>8} {'fresh':>8} | failed")
    for workload in workloads:
        rows = compare_reload_paths(workload, EXAMPLES.get(workload, examples), workers)
        process, fresh = rows["process"], rows["fresh"]
        print(f"{workload:<12} {len(fresh['formats']):>7} {fresh['weight_bytes'] / 2**20:>7.1f}MB | "
              f"{fresh['timed'] / process['timed']:>6.2f} {process['timed']:>9.1f} {fresh['timed']:>8.1f} "
              f"{fresh['timed'] - process['timed']:>+9.1f}s | "
              f"{fresh['peak_pss'] / process['peak_pss']:>5.2f} {process['peak_pss'] / 2**30:>6.2f}GB {fresh['peak_pss'] / 2**30:>6.2f}GB | "
              f"{fresh['peak_rss'] / process['peak_rss']:>7.2f} {process['peak_rss'] / 2**30:>6.2f}GB {fresh['peak_rss'] / 2**30:>6.2f}GB | "
              f"{','.join(sorted(set(fresh['failed']) | set(process['failed']))) or '-'}", flush=True)
        for mode, row in (("process", process), ("fresh", fresh)):  # per format: save (or conversion) and load seconds
            stages = ", ".join(f"{name} {save}+{load}{' (twin)' if twin else ''}" for name, (save, load, twin) in row["stages"].items())
            print(f"    {mode}: cores busy {row['timed_cores_busy']:.2f} of {os.cpu_count()}; {stages}", flush=True)


# ----------------------------------------------------------------- processes
def child(role: str, workload: str, examples: int, scratch: Path) -> None:
    model = build(workload)
    inputs_file = scratch / "inputs.npz"
    result: dict[str, Any] = {"weight_bytes": weight_bytes(model)}
    result["built_rss"] = current_rss_bytes()
    if role == "checker":
        with FormatPeaks() as peaks:
            result.update(run_checker(model, examples, inputs_file))
        result["format_peaks"] = peaks.peaks
    elif role == "floor":
        formats = json.loads((scratch / "formats.json").read_text())
        result.update(run_floor(model, formats, load_inputs(inputs_file)))
    else:  # both, for time: a first floor run warms up what either side uses first (converter, savers), untimed
        formats = json.loads((scratch / "formats.json").read_text())
        run_floor(model, formats, load_inputs(inputs_file))
        checker = run_checker(model, examples, scratch / "inputs-both.npz")
        floor = run_floor(model, checker["formats"], load_inputs(scratch / "inputs-both.npz"))
        result.update(checker_seconds=checker["seconds"], floor_seconds=floor["seconds"])
    result["peak_rss"] = peak_rss_bytes()
    (scratch / f"{role}.json").write_text(json.dumps(result))


def _spawn(role: str, workload: str, examples: int, scratch: Path) -> dict[str, Any]:
    subprocess.run([sys.executable, __file__, "--child", role, "--workloads", workload, "--examples", str(examples),
                    "--scratch", str(scratch)], check=True)
    return json.loads((scratch / f"{role}.json").read_text())


def measure(workload: str, examples: int) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix=f"floor-bench-{workload}-"))
    try:
        checker = _spawn("checker", workload, examples, scratch)
        (scratch / "formats.json").write_text(json.dumps(checker["formats"]))
        floor = _spawn("floor", workload, examples, scratch)
        both = _spawn("both", workload, examples, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"workload": workload, "checker": checker, "floor": floor, "both": both}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma list (default: all: %(default)s)")
    parser.add_argument("--examples", type=int, default=50, help="max_examples for the small workloads (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="compare reload_in='fresh' (workers) with reload_in='process'")
    parser.add_argument("--workers", type=int, default=None, help="workers for the fresh path (default: the checker's)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.child.startswith("path-"):
        reload_path_child(args.child[len("path-"):], args.workloads, args.examples, args.workers, Path(args.scratch))
        return
    if args.child:
        child(args.child, args.workloads, args.examples, Path(args.scratch))
        return
    if args.fresh:
        print_reload_paths(args.workloads.split(","), args.examples, args.workers)
        return
    print(f"{'workload':<12} {'formats':>7} {'inputs':>6} {'weights':>9} | {'time':>6} {'checker s':>9} {'floor s':>8} | "
          f"{'RSS':>5} {'checker':>9} {'floor':>9} | failed")
    rows = []
    for workload in args.workloads.split(","):
        row = measure(workload, EXAMPLES.get(workload, args.examples))
        rows.append(row)
        checker, floor, both = row["checker"], row["floor"], row["both"]
        print(f"{workload:<12} {len(checker['formats']):>7} {checker['inputs']:>6} {checker['weight_bytes'] / 2**20:>7.1f}MB | "
              f"{both['checker_seconds'] / both['floor_seconds']:>6.2f} {both['checker_seconds']:>9.1f} {both['floor_seconds']:>8.1f} | "
              f"{checker['peak_rss'] / floor['peak_rss']:>5.2f} {checker['peak_rss'] / 2**30:>7.2f}GB {floor['peak_rss'] / 2**30:>7.2f}GB | "
              f"{','.join(checker['failed']) or '-'}", flush=True)
    print("\nChecker memory per format: peak RSS while checking it, minus RSS once the model was built,"
          " in multiples of the model's weight bytes")
    for row in rows:
        checker = row["checker"]
        if checker["weight_bytes"] < 8 * 2**20:  # too small for a multiple to mean anything
            continue
        weights = checker["weight_bytes"]
        parts = [f"{name} {(peak - checker['built_rss']) / weights:.1f}x" for name, peak in checker["format_peaks"].items()]
        print(f"{row['workload']:<12} built {checker['built_rss'] / 2**30:.2f}GB; " + ", ".join(parts))


if __name__ == "__main__":
    main()
