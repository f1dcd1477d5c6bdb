"""``check_custom_objects``: find custom-layer defects and prove artifacts load in a clean process."""

from __future__ import annotations

import gc
import inspect
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import seed as hypothesis_seed

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.arguments import (
    existing_dir,
    validate_max_examples,
    validate_seed,
)
from pytest_tfroundtrip.checks.config_audit import (
    Finding,
    attribute_state,
    audit_config,
    json_round_trip,
    lambda_layers_in,
    registration_finding,
    untracked_variables,
)
from pytest_tfroundtrip.checks.reproduction import load_failure_script
from pytest_tfroundtrip.checks.search import SearchPlan, is_ill_conditioned, search
from pytest_tfroundtrip.checks.subject import prepare_subject, require_keras3
from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError, error_head
from pytest_tfroundtrip.formats import all_formats, get_format, parse_format_names
from pytest_tfroundtrip.formats.base import Subject, call_keras_model
from pytest_tfroundtrip.formats.construction import custom_objects_in
from pytest_tfroundtrip.inputs.arrays import model_strings, savable
from pytest_tfroundtrip.inputs.probing import probe_arrays
from pytest_tfroundtrip.inputs.specs import signature_from_structure
from pytest_tfroundtrip.inputs.strategies import Example, example_strategy
from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend
from pytest_tfroundtrip.isolation.check_scope import public_check
from pytest_tfroundtrip.isolation.clean_process import DEFAULT_TIMEOUT, shared_worker
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.padding import padded_positions
from pytest_tfroundtrip.results.report import result_named
from pytest_tfroundtrip.results.tolerances import Tolerance, conditioning_step, tolerance_function
from pytest_tfroundtrip.structure import flatten_with_paths

CLEAN_EXAMPLES = 4
MATCHES, NEEDS_CLASSES, FAILS = "loads and matches on its own", "needs classes", "fails"


@dataclass(frozen=True)
class CleanResult:
    """How one format's artifact did in the clean process."""

    format: str
    verdict: str  # MATCHES | NEEDS_CLASSES | FAILS
    classes_needed: tuple[str, ...] = ()
    error: str | None = None
    max_abs_error: float = 0.0
    tolerance_used: float = 0.0  # the largest error over what its tolerance allowed
    reproduction: Path | None = None  # a script loading the artifact with plain calls, for a load failure


@dataclass(frozen=True)
class CustomObjectsReport:
    """Findings on custom objects, and per-format clean-process results."""

    custom_classes: tuple[str, ...]
    findings: tuple[Finding, ...]
    clean: tuple[CleanResult, ...]
    classes_needed: dict[str, tuple[str, ...]]
    lambda_layers: tuple[str, ...]
    problems: tuple[str, ...]
    clean_start_seconds: float = 0.0
    clean_seconds: float = 0.0
    artifacts_dir: Path | None = None
    in_process: tuple[CleanResult, ...] = ()
    not_applicable: dict[str, str] = field(default_factory=dict)  # format -> why (chosen by default, cannot take the model)

    @property
    def passed(self) -> bool:
        return not self.findings and not self.problems

    def clean_result(self, name: str) -> CleanResult:
        return result_named(self.clean, name)


@public_check
def check_custom_objects(
    model: Any,
    *,
    formats: list[str] | str | None = None,
    input_signature: Any = None,
    importable: list[str] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clean_python: str | None = None,
    artifacts_dir: str | Path | None = None,
    keep_artifacts: bool = False,
) -> CustomObjectsReport:
    """Audit custom layers' configs, registration and state; load every artifact in a clean process.

    ``importable``: modules (or directories) the clean process may import, as
    your serving process would (e.g. ``["myproject.layers"]``).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> check_custom_objects(model, formats=["keras"], max_examples=2).passed
        True
    """
    __tracebackhide__ = True
    requested = parse_format_names(formats)
    backend = _lazy.process_backend()
    elsewhere = [name for name in requested or () if get_format(name).keras_backend != backend]
    if elsewhere:
        raise RoundTripUsageError(f"check_custom_objects loads artifacts with this process's Keras ({backend}); {', '.join(elsewhere)} "
                                  "load under another backend: check them with check_roundtrip(model, formats=...)")
    examples = validate_max_examples(max_examples)
    validate_seed(seed)
    require_keras3(model, "check_custom_objects")
    subject = prepare_subject(model, input_signature).subject
    custom = custom_objects_in(model)
    findings: list[Finding] = []
    for obj in custom:
        findings.extend(audit_config(obj))
        findings.extend(json_round_trip(obj))
        findings.extend(untracked_variables(obj))
        registration = registration_finding(obj)
        if registration is not None:
            findings.append(registration)
        if obj is not model:
            explained = any(f.name == obj.name and f.check in ("parameter", "attribute", "config") for f in findings)
            findings.extend(_rebuilt_layer_findings(obj, examples, seed, explained))
    class_names = tuple(sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in custom}))
    chosen = [f for f in all_formats() if (requested is None or f.name in requested) and f.unavailable_reason() is None
              and f.backend_reason(backend) is None and (requested is not None or f.not_applicable_reason(subject) is None)
              and f.keras_backend == backend]
    needed = {f.name: (class_names if f.preserves.needs_python_classes else ()) for f in chosen}
    lambdas = tuple(layer.name for layer in lambda_layers_in(model))

    workdir = Path(tempfile.mkdtemp(prefix="tf-roundtrip-custom-", dir=existing_dir(artifacts_dir)))
    started = time.perf_counter()
    clean, here, start_seconds = _clean_process_results(
        subject, chosen, _Isolation(importable, clean_python, timeout), seed, workdir, keep_artifacts)
    not_applicable: dict[str, str] = {}
    if requested is None:  # as check_roundtrip: a default runtime that cannot take the model is not applicable
        for fmt, result in zip(chosen, here):
            reason = fmt.cannot_take(result.error or "") if result.verdict == FAILS else None
            if reason is not None:
                not_applicable[fmt.name] = reason
                shutil.rmtree(workdir / fmt.name, ignore_errors=True)
        clean = [r for r in clean if r.format not in not_applicable]
        here = [r for r in here if r.format not in not_applicable]
        needed = {name: classes for name, classes in needed.items() if name not in not_applicable}
    problems = tuple(_problems(clean, here, lambdas))
    report = CustomObjectsReport(class_names, tuple(findings), tuple(clean), needed, lambdas, problems,
                                 start_seconds, time.perf_counter() - started, workdir, tuple(here), not_applicable)
    if not report.passed:
        raise RoundTripError(custom_failure_message(report), report)
    if not keep_artifacts:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _layer_subject(layer: Any) -> Subject | None:
    """Inputs of one layer, from its functional node or its build shapes."""
    structure = None
    try:
        structure = layer.input
    except (AttributeError, ValueError):
        shapes = getattr(layer, "_build_shapes_dict", None) or {}
        if len(shapes) == 1:
            tf = _lazy.tensorflow()
            structure = tf.TensorSpec([None, *list(next(iter(shapes.values())))[1:]], layer.compute_dtype)
    if structure is None:
        return None
    return Subject(layer, signature_from_structure(structure, source=f"inputs of layer {layer.name!r}"), None)


def _rebuilt_layer_findings(layer: Any, max_examples: int, seed: int | None, explained: bool) -> list[Finding]:
    """Rebuild from config, give the same weights, compare outputs and plain state.

    ``explained``: a config finding on this layer already accounts for differing outputs.
    """
    cls, name = type(layer).__name__, layer.name
    subject = _layer_subject(layer)
    if subject is None or not layer.built:
        return []
    try:
        rebuilt = type(layer).from_config(layer.get_config())
        rebuilt.build_from_config(layer.get_build_config())
        if len(rebuilt.weights) != len(layer.weights):
            # Sublayers made in __init__ build at the first call, as in a reloaded functional model
            # (Keras calls each layer on symbolic inputs); build_from_config alone leaves them unbuilt.
            rebuilt(subject.input_tensors(probe_arrays(subject.signature)))
        rebuilt.set_weights(layer.get_weights())
    except Exception as error:
        return [Finding("state", cls, name, f"a copy rebuilt from get_config() cannot take the layer's weights ({type(error).__name__}: {error})",
                        f"make {cls}.get_config() describe the layer fully, so that its weights have the same shapes")]
    original_state, rebuilt_state = attribute_state(layer), attribute_state(rebuilt)
    parameters = set(inspect.signature(type(layer).__init__).parameters)
    differing = [k for k in original_state if k not in parameters
                 and (k not in rebuilt_state or not np.array_equal(original_state[k], rebuilt_state[k]))]

    def outputs_of(target: Any):  # type: ignore[no-untyped-def]
        return lambda arrays: {p or "output": np.asarray(v) for p, v in flatten_with_paths(target(subject.input_tensors(arrays)))}

    outcome = search(SearchPlan(outputs_of(layer), {"rebuilt": outputs_of(rebuilt)}, lambda outputs: outputs,
                                {"rebuilt": lambda output, dtype: Tolerance(0.0, 0.0)}, example_strategy(subject.signature),
                                max_examples=max_examples, seed=seed))
    finding = outcome.findings.get("rebuilt")
    if (finding is None or explained) and not differing:
        return []
    which = (f"attribute{'s' if len(differing) > 1 else ''} {', '.join(repr(k) for k in differing)} "
             f"(set outside the constructor: not in the config, not a weight)") if differing else "state neither its config nor its weights capture"
    if finding is None:
        return [Finding("state", cls, name, f"holds {which}; a reloaded copy differs there", "create it in build() with self.add_weight(trainable=False), or put it in get_config()")]
    dtypes = [o.detail or o.problem for o in (finding.comparison.outputs if finding.comparison is not None else ())
              if o.problem and "dtype" in o.problem]
    difference = (f"dtype: {dtypes[0]}" if dtypes else
                  f"max abs error {finding.comparison.max_abs_error:.3g}" if finding.comparison is not None else "max abs error nan")
    return [Finding("state", cls, name,
                    f"a copy rebuilt from its config with the same weights gives different outputs ({difference} on {finding.example.summary()}): it holds {which}",
                    "store that state with self.add_weight(trainable=False) in build(), or derive it from config arguments")]


def _draw_examples(subject: Subject, count: int, seed: int | None) -> list[Example]:
    drawn: list[Example] = []

    @settings(max_examples=count, database=None, phases=(Phase.generate,), deadline=None)
    @given(example_strategy(subject.signature))
    def collect(example: Example) -> None:
        drawn.append(example)

    run = hypothesis_seed(seed if seed is not None else 0)(collect)
    run()
    return drawn[:count]


@dataclass(frozen=True)
class _Isolation:
    """How to start the clean process: what it may import, which Python, how long to wait."""

    importable: list[str] | None
    python: str | None
    timeout: float


def _clean_process_results(subject: Subject, chosen: list[Any], isolation: _Isolation, seed: int | None, workdir: Path,
                           keep_artifacts: bool) -> tuple[list[CleanResult], list[CleanResult], float]:
    """Save each format in turn; load its artifact in the clean process and in this one (classes available).

    One format's files and reloaded copy are gone before the next is saved,
    unless they show a problem or ``keep_artifacts``.
    """
    keras = _lazy.keras()
    worker, fresh = shared_worker(isolation.importable, isolation.python, isolation.timeout)
    examples = _draw_examples(subject, CLEAN_EXAMPLES, seed)
    inputs_file = workdir / "clean-inputs.npz"
    payload = {"__count__": np.array(len(examples))}
    for index, example in enumerate(examples):
        for name, array in example.arrays.items():
            payload[f"{index}/{name}"] = savable(array)
    np.savez(inputs_file, **payload)
    expected = [subject.flat_outputs(call_keras_model(subject.model, subject, e.arrays)) for e in examples]
    specs = [s.as_dict() for s in subject.signature.specs]
    results, here = [], []
    for fmt in chosen:
        directory = workdir / fmt.name
        directory.mkdir(parents=True, exist_ok=True)
        try:
            artifact = fmt.save(subject, directory)
        except Exception as error:
            failed = CleanResult(fmt.name, FAILS, error=f"saving failed: {type(error).__name__}: {error}")
            results.append(failed)
            here.append(failed)
            continue
        excused = _ill_conditioned(fmt, subject, examples, expected)
        here.append(_with_script(_load_here(fmt, subject, artifact, examples, expected, excused), fmt, subject, artifact, False))
        outputs_file = directory / "clean-outputs.npz"
        answer = worker.request({
            "format": fmt.name, "artifact": str(artifact), "inputs": str(inputs_file), "outputs": str(outputs_file),
            "specs": specs, "template": subject.signature.template, "output_template": subject.output_template,
            # Formats that keep no architecture load into a model built in code: send its config.
            "model_config": None if fmt.preserves.architecture else keras.saving.serialize_keras_object(subject.model),
        }, what=f"loading the {fmt.name} artifact")
        left_outs = _padding_of(subject, examples, expected)
        results.append(_with_script(_judge(fmt.name, answer, expected, outputs_file, excused, left_outs),
                                    fmt, subject, artifact, True))
        gc.collect()
        if not keep_artifacts and not _problems([results[-1]], [here[-1]], ()):
            shutil.rmtree(directory, ignore_errors=True)
    return results, here, worker.started_seconds if fresh else 0.0


def _ill_conditioned(fmt: Any, subject: Subject, examples: list[Example],
                     expected: list[dict[str, np.ndarray]]) -> Callable[[int], bool] | None:
    """For graph and TFLite formats: is example ``i`` one where rounding alone moves the original beyond tolerance?

    The same rule as :func:`check_roundtrip`'s: such an input cannot judge a
    format that reassociates sums (measured: EfficientNetV2B0's softmax moves
    6e-4 on a large-magnitude input).  None for exact formats.
    """
    step = conditioning_step(fmt.tolerance_family)
    if step is None:
        return None
    tolerance_for = tolerance_function(fmt.tolerance_family, None, None)

    def reference(arrays: Any) -> dict[str, np.ndarray]:
        return subject.flat_outputs(call_keras_model(subject.model, subject, arrays))

    def excused(index: int) -> bool:
        return is_ill_conditioned(reference, examples[index], expected[index], step, tolerance_for)

    return excused


def _with_script(result: CleanResult, fmt: Any, subject: Subject, artifact: Path, clean: bool) -> CleanResult:
    """A load failure gets a script reproducing it (outputs that differ are described, not scripted)."""
    if result.verdict != FAILS or not (result.error or "").startswith("load failed"):
        return result
    return replace(result, reproduction=load_failure_script(fmt, subject, artifact, clean))


def _load_here(fmt: Any, subject: Subject, artifact: Path, examples: list[Example],
               expected: list[dict[str, np.ndarray]], excused: Callable[[int], bool] | None) -> CleanResult:
    try:
        call = load_in_its_backend(fmt, subject, artifact)
        got = [subject.flat_outputs(call(example.arrays)) for example in examples]
    except Exception as error:
        return CleanResult(fmt.name, FAILS, error=f"load failed: {type(error).__name__}: {error_head(error, lines=3)}")
    return _compared(fmt.name, expected, got, "in this process", excused, _padding_of(subject, examples, expected))


def _padding_of(subject: Subject, examples: list[Example], expected: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Per example, the output positions its padding masks remove: not judged."""
    masks = subject.signature.padding_masks
    return [padded_positions(example.arrays, masks, want) for example, want in zip(examples, expected)]


def _judge(name: str, answer: dict[str, Any], expected: list[dict[str, np.ndarray]], outputs_file: Path,
           excused: Callable[[int], bool] | None, left_outs: list[dict[str, np.ndarray]]) -> CleanResult:
    if not answer["ok"]:
        if answer.get("missing_classes"):
            return CleanResult(name, NEEDS_CLASSES, tuple(answer["missing_classes"]), answer["error"])
        return CleanResult(name, FAILS, error=f"{answer['stage']} failed: {answer['error']}")
    with np.load(outputs_file, allow_pickle=False) as data:
        got = [{k: model_strings(data[f"{index}/{k}"]) for k in want} for index, want in enumerate(expected)]
    return _compared(name, expected, got, "in the clean process", excused, left_outs)


def _compared(name: str, expected: list[dict[str, np.ndarray]], got: list[dict[str, np.ndarray]], where: str,
              excused: Callable[[int], bool] | None = None, left_outs: list[dict[str, np.ndarray]] | None = None,
              ) -> CleanResult:
    tolerance_for = tolerance_function(get_format(name).tolerance_family, None, None)
    worst = used = 0.0
    for index, (want, have) in enumerate(zip(expected, got)):
        comparison = compare_outputs(want, have, tolerance_for, left_outs[index] if left_outs else None)
        if not comparison.ok and excused is not None and excused(index):
            continue
        if not comparison.ok:
            bad = comparison.failures[0]
            return CleanResult(name, FAILS, error=f"outputs differ from the original model {where} "
                                                  f"(output {bad.output!r}: {bad.problem} mismatch, max abs error {bad.max_abs_error:.3g})")
        worst = max(worst, comparison.max_abs_error)
        used = max(used, comparison.tolerance_used)
    return CleanResult(name, MATCHES, max_abs_error=worst, tolerance_used=used)


def _problems(clean: list[CleanResult], here: list[CleanResult], lambdas: tuple[str, ...]) -> list[str]:
    problems = []
    for result in here:
        refused_lambda = lambdas and result.error and ("safe_mode" in result.error or "Lambda" in result.error)
        if result.verdict == FAILS and not refused_lambda and not result.error.startswith("saving failed"):
            problems.append(f"[{result.format}] in this process (with your classes): {result.error}")
    for result in clean:
        if result.verdict == FAILS:
            problems.append(f"[{result.format}] in a clean process: {result.error}")
        elif result.verdict == NEEDS_CLASSES and not get_format(result.format).preserves.needs_python_classes:
            problems.append(f"[{result.format}] needs Python classes {list(result.classes_needed)} in a clean process, "
                            "but this format should load without them")
    if lambdas:
        refused = [r.format for r in clean if r.error and ("safe_mode" in r.error or "Lambda" in r.error)]
        if refused:
            problems.append(
                f"Lambda layers {list(lambdas)}: {', '.join(refused)} refuse them under Keras safe mode "
                f"(load_model(..., safe_mode=False) loads them if you trust the file); "
                f"{', '.join(r.format for r in clean if r.verdict == MATCHES) or 'no format'} reload them. "
                "Fix: replace each Lambda with a small registered keras.layers.Layer subclass"
            )
    return problems


def custom_failure_message(report: CustomObjectsReport) -> str:
    """Every finding with its fix, then the clean-process table."""
    lines = [f"Custom objects: {len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
             + (f" and {len(report.problems)} loading problem{'s' if len(report.problems) != 1 else ''}" if report.problems else "")]
    for finding in report.findings:
        lines.append(f"  - {finding.describe()}")
    for problem in report.problems:
        lines.append(f"  - {problem}")
    failing_here = [r for r in report.in_process if r.verdict == FAILS]
    if failing_here:
        lines.append("")
        lines.append("In this process (your classes available): " + "; ".join(f"{r.format} fails" for r in failing_here))
    lines.append("")
    lines.append("Clean process (installed packages and importable= only):")
    for result in report.clean:
        detail = f": {', '.join(result.classes_needed)}" if result.verdict == NEEDS_CLASSES else (f": {result.error}" if result.error else "")
        lines.append(f"  {result.format:<11} {result.verdict}{detail}")
    for name, reason in report.not_applicable.items():
        lines.append(f"  {name:<11} not applicable: {reason}")
    if report.artifacts_dir:
        lines.append(f"Artifacts kept in {report.artifacts_dir}")
    scripts = [r for r in (*report.clean, *report.in_process) if r.reproduction is not None]
    if scripts:
        first = scripts[0]
        assert first.reproduction is not None
        lines.extend(["", f"Reproduce the [{first.format}] load failure with plain calls (python {first.reproduction}):", ""])
        lines.extend("    " + line for line in first.reproduction.read_text().rstrip().splitlines())
    return "\n".join(lines)
