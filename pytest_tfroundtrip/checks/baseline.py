"""Golden baselines: artifacts saved once, committed, and checked on every later run and version.

The first run stores, under ``directory/name/``, each chosen format's artifact,
a fixed set of drawn inputs, the original model's outputs on them, and a
manifest (versions that wrote it, tolerances, a SHA-256 of every file and of
the manifest itself).  Later runs, perhaps under other TensorFlow/Keras
versions, verify the checksums, load each stored artifact the way its format
loads with the Keras of today's model (``tf_keras`` or Keras 3), and compare
it with the stored outputs and with today's model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip import _lazy
from pytest_tfroundtrip.checks.search import draw_examples
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError, describe_exception
from pytest_tfroundtrip.formats import get_format, parse_format_names
from pytest_tfroundtrip.formats.base import RoundTripFormat, Subject, call_keras_model
from pytest_tfroundtrip.inputs.arrays import savable
from pytest_tfroundtrip.inputs.strategies import example_strategy
from pytest_tfroundtrip.isolation.backend_reload import load_in_its_backend
from pytest_tfroundtrip.isolation.check_scope import public_check
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.padding import padded_positions
from pytest_tfroundtrip.results.records import versions
from pytest_tfroundtrip.results.tolerances import EXACT, GRAPH, resolve_tolerance, tolerance_function

MANIFEST = "manifest.json"
BASELINE_SCHEMA = 2
DEFAULT_FORMATS = ("keras", "h5", "savedmodel", "weights")
DEFAULT_EXAMPLES = 8
DRAWING_SEED = 0
NOT_STORED = "not stored in the baseline: "
DETAIL_CHARACTERS = 300  # a load error can quote the whole model config; the report keeps all of it
CREATED, WRITTEN, PASSED, FAILED, SKIPPED = "created", "written", "passed", "failed", "skipped"
LOAD_FAILED, FORMAT_CHANGED, MODEL_CHANGED = "artifact failed to load", "format changed", "model changed"
# The versions whose change may change the last bits a format computes.
_COMPUTE_VERSIONS = ("tensorflow", "keras", "tf-keras", "ai-edge-litert", "onnxruntime", "openvino")


@dataclass(frozen=True)
class BaselineResult:
    """One stored format checked against the stored outputs and today's model."""

    format: str
    status: str  # passed | skipped | artifact failed to load | format changed | model changed | created | written
    detail: str = ""


@dataclass(frozen=True)
class BaselineReport:
    """What :func:`check_baseline` found: created or written, or each stored format's result."""

    directory: Path
    status: str  # created | written | passed | failed
    results: tuple[BaselineResult, ...] = ()
    written_by: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.status in (CREATED, WRITTEN, PASSED)


@public_check
def check_baseline(model: Any, directory: str | Path, name: str, *, formats: list[str] | str | None = None,
                   input_signature: Any = None, examples: int = DEFAULT_EXAMPLES, update: bool = False) -> BaselineReport:
    """Store a baseline of ``model`` in ``directory/name`` on the first run; check every later run against it.

    A baseline created because none existed raises :class:`RoundTripError`
    (commit it, then rerun: a baseline nobody committed proves nothing);
    ``update=True`` rewrites it on purpose and passes.  Later runs raise when
    a stored artifact no longer loads or agrees, and when the baseline was
    changed by hand (checksums).  ``input_signature`` is for subclassed
    models, as in :func:`check_roundtrip`; the ``examples`` stored inputs are
    drawn once, with a fixed seed.

    Example:
        >>> import keras, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> where = tempfile.mkdtemp()
        >>> check_baseline(model, where, "dense", formats=["keras"], update=True).status
        'written'
        >>> check_baseline(model, where, "dense").status
        'passed'
    """
    __tracebackhide__ = True
    target = _baseline_directory(directory, name)
    named = parse_format_names(formats)
    subject = prepare_subject(model, input_signature).subject
    if update or not (target / MANIFEST).exists():
        report = _create(subject, target, named, examples, WRITTEN if update else CREATED)
        if update:
            return report
        raise RoundTripError(f"baseline {name!r} created in {target} ({_size(target) / 1024:.0f} KB){_not_stored_text(report)}: "
                             "commit it; later runs compare against it", report)
    manifest = _verified_manifest(target)
    report = _compare(subject, target, manifest, named)
    if not report.passed:
        raise RoundTripError(_failure_text(report, manifest), report)
    return report


def _baseline_directory(directory: str | Path, name: str) -> Path:
    __tracebackhide__ = True
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise RoundTripUsageError(f"a baseline name is one directory name (letters, digits, _ . -), got {name!r}")
    return Path(directory) / name


def _create(subject: Subject, target: Path, named: list[str] | None, examples: int, status: str) -> BaselineReport:
    __tracebackhide__ = True
    if not isinstance(examples, int) or isinstance(examples, bool) or examples < 1:
        raise RoundTripUsageError(f"examples must be a whole number of at least 1, got {examples!r}")
    if target.exists():
        if not (target / MANIFEST).is_file() and any(target.iterdir()):
            raise RoundTripUsageError(f"{target} exists and is not a baseline (no {MANIFEST}); refusing to replace what is "
                                      "there: choose another name or directory")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    drawn = draw_examples(example_strategy(subject.signature), examples, DRAWING_SEED)
    outputs = [subject.flat_outputs(call_keras_model(subject.model, subject, e.arrays)) for e in drawn]
    np.savez_compressed(target / "inputs.npz", **{f"{i}/{k}": savable(v) for i, e in enumerate(drawn) for k, v in e.arrays.items()})
    np.savez_compressed(target / "outputs.npz", **{f"{i}/{k}": v for i, flat in enumerate(outputs) for k, v in flat.items()})
    stored, not_stored = {}, {}
    for fmt in [get_format(n) for n in (named or DEFAULT_FORMATS)]:
        about_the_process = fmt.backend_reason(_lazy.process_backend())  # not a format of this process's models at all
        if about_the_process is not None:
            not_stored[fmt.name] = f"not applicable: {about_the_process}"
            continue
        reason = fmt.unavailable_reason() or fmt.not_applicable_reason(subject)
        if reason is not None and named is None:
            not_stored[fmt.name] = reason
            continue
        (target / fmt.name).mkdir()
        try:
            artifact = fmt.save(subject, target / fmt.name)
        except Exception as error:
            if named is not None:
                raise
            shutil.rmtree(target / fmt.name)  # a default format the model cannot be saved in: said, not stored
            not_stored[fmt.name] = f"saving failed: {describe_exception(error)[:300]}"
            continue
        stored[fmt.name] = {"artifact": artifact.relative_to(target).as_posix(), "tolerance_family": fmt.tolerance_family,
                            "tolerance": {o: str(resolve_tolerance(fmt.tolerance_family, "float32", o, None, None))
                                          for o in subject.output_names}}
    if not stored:
        shutil.rmtree(target)
        raise RoundTripUsageError(f"none of the formats could store this model: {not_stored}; choose formats= it can be saved in")
    manifest = {"schema": BASELINE_SCHEMA, "examples": len(drawn), "seed": DRAWING_SEED, "inputs": subject.signature.names,
                "outputs": subject.output_names, "formats": stored, "not_stored": not_stored,
                "written_by": {**versions(), "model_keras": _model_keras(subject.model)}, "files": _checksums(target)}
    manifest["manifest_sha256"] = _digest_of(manifest)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    results = [BaselineResult(n, status) for n in stored] + _not_stored_results(not_stored)
    return BaselineReport(target, status, tuple(results), manifest["written_by"])


def _not_stored_results(not_stored: dict[str, str]) -> list[BaselineResult]:
    return [BaselineResult(name, SKIPPED, NOT_STORED + reason) for name, reason in not_stored.items()]


def _model_keras(model: Any) -> str:
    keras = _lazy.keras_of(model)
    return f"{keras.__name__} {keras.__version__}"


def _checksums(target: Path) -> dict[str, str]:
    files = (p for p in sorted(target.rglob("*")) if p.is_file() and p != target / MANIFEST)
    return {p.relative_to(target).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _digest_of(manifest: dict[str, Any]) -> str:
    rest = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _verified_manifest(target: Path) -> dict[str, Any]:
    __tracebackhide__ = True
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        recorded, schema, _formats = dict(manifest["files"]), manifest["schema"], dict(manifest["formats"])
    except (ValueError, KeyError, TypeError) as error:
        raise RoundTripUsageError(f"baseline manifest {target / MANIFEST} is not one this package wrote ({error}); "
                                  "regenerate it with --tf-roundtrip-update-baselines") from error
    if schema != BASELINE_SCHEMA:
        raise RoundTripUsageError(f"baseline {target} has manifest schema {schema!r}; this version of pytest-tfroundtrip "
                                  f"reads schema {BASELINE_SCHEMA}: regenerate it with --tf-roundtrip-update-baselines")
    found = _checksums(target)
    problems = [f"{path}: missing" for path in recorded if path not in found]
    problems += [f"{path}: changed (checksum differs)" for path in recorded if path in found and found[path] != recorded[path]]
    problems += [f"{path}: not in the manifest" for path in found if path not in recorded]
    if manifest.get("manifest_sha256") != _digest_of(manifest):
        problems.insert(0, f"{MANIFEST}: edited by hand (its own checksum differs)")
    if problems:
        raise RoundTripError(f"baseline {target} was modified since it was written, so it cannot be trusted:\n  "
                             + "\n  ".join(problems) + "\nRestore it from version control, or regenerate it on purpose "
                             "with --tf-roundtrip-update-baselines")
    return manifest


def _by_position(stored: list[str], today: list[str], what: str, target: Path) -> dict[str, str]:
    """Stored names -> today's names; by position when they differ (Keras 2 and 3 name inputs differently)."""
    __tracebackhide__ = True
    if len(stored) == len(today):
        return dict(zip(stored, today))
    raise RoundTripError(f"baseline {target} was written for a model with {what} {stored}; the model now has {today}. "
                         "If the change is intended, regenerate it with --tf-roundtrip-update-baselines")


def _examples(target: Path, file: str, count: int, rename: dict[str, str]) -> list[dict[str, Any]]:
    with np.load(target / file) as data:  # allow_pickle stays False: no code runs from the baseline
        stored = {key: data[key] for key in data.files}
    return [{rename[k.split("/", 1)[1]]: v for k, v in stored.items() if k.split("/", 1)[0] == str(i)} for i in range(count)]


def _compare(subject: Subject, target: Path, manifest: dict[str, Any], requested: list[str] | None) -> BaselineReport:
    __tracebackhide__ = True
    missing = [n for n in requested or [] if n not in manifest["formats"]]
    if missing:
        raise RoundTripUsageError(f"baseline {target} stores no {missing} (it stores {sorted(manifest['formats'])}); "
                                  "add them with --tf-roundtrip-update-baselines")
    count = manifest["examples"]
    inputs = _examples(target, "inputs.npz", count, _by_position(manifest["inputs"], subject.signature.names, "inputs", target))
    stored = _examples(target, "outputs.npz", count, _by_position(manifest["outputs"], subject.output_names, "outputs", target))
    today = [subject.flat_outputs(call_keras_model(subject.model, subject, arrays)) for arrays in inputs]
    reading = versions()
    same_versions = all(manifest["written_by"].get(k) == reading.get(k) for k in _COMPUTE_VERSIONS)
    results = []
    for name, entry in manifest["formats"].items():
        if requested is None or name in requested:
            fmt = get_format(name)
            stored_family = entry["tolerance_family"] if same_versions else _across_versions(entry["tolerance_family"])
            results.append(_check_format(fmt, subject, target / entry["artifact"], _Expected(inputs, stored, today, stored_family)))
    if requested is None:
        results += _not_stored_results(manifest.get("not_stored") or {})
    status = PASSED if all(r.status in (PASSED, SKIPPED) for r in results) else FAILED
    return BaselineReport(target, status, tuple(results), manifest.get("written_by"))


def _across_versions(family: str) -> str:
    """Another TensorFlow may compute the same graph in other kernels: exact formats get the graph family's allowance."""
    return GRAPH if family == EXACT else family


@dataclass(frozen=True)
class _Expected:
    inputs: list[dict[str, Any]]
    stored: list[dict[str, Any]]
    today: list[dict[str, Any]]
    stored_family: str


def _check_format(fmt: RoundTripFormat, subject: Subject, artifact: Path, expected: _Expected) -> BaselineResult:
    unavailable = fmt.unavailable_reason()
    if unavailable is not None:
        return BaselineResult(fmt.name, SKIPPED, unavailable)
    try:
        call = load_in_its_backend(fmt, subject, artifact)
        got = [subject.flat_outputs(call(arrays)) for arrays in expected.inputs]
    except Exception as error:
        return BaselineResult(fmt.name, LOAD_FAILED, describe_exception(error))
    checks = ((expected.stored, FORMAT_CHANGED, expected.stored_family), (expected.today, MODEL_CHANGED, fmt.tolerance_family))
    for reference, status, family in checks:
        for index, (want, have) in enumerate(zip(reference, got)):
            left_out = padded_positions(expected.inputs[index], subject.signature.padding_masks, want)
            comparison = compare_outputs(want, have, tolerance_function(family, None, None), left_out)
            if not comparison.ok:
                worst = comparison.failures[0]
                return BaselineResult(fmt.name, status, f"example {index}, output {worst.output!r}: {worst.problem} mismatch, "
                                                        f"max abs error {worst.max_abs_error:.3g}")
    return BaselineResult(fmt.name, PASSED)


def _failure_text(report: BaselineReport, manifest: dict[str, Any]) -> str:
    written, read = manifest.get("written_by") or {}, versions()
    lines = [f"baseline {report.directory} failed: written by TensorFlow {written.get('tensorflow')} with "
             f"{written.get('model_keras') or 'Keras ' + str(written.get('keras'))}; read by TensorFlow {read.get('tensorflow')}, "
             f"Keras {read.get('keras')}" + (f", tf-keras {read.get('tf-keras')}" if read.get("tf-keras") else "")]
    explain = {LOAD_FAILED: "the stored artifact no longer loads",
               FORMAT_CHANGED: "it loads but disagrees with the outputs stored when it was written",
               MODEL_CHANGED: "it agrees with the stored outputs but not with today's model: the model changed, not the format"}
    for result in report.results:
        if result.status in explain:
            detail = " ".join(result.detail.split())  # one line per format
            detail = detail if len(detail) <= DETAIL_CHARACTERS else detail[:DETAIL_CHARACTERS] + " ..."
            lines.append(f"  [{result.format}] {explain[result.status]}: {detail}")
    passed = [r.format for r in report.results if r.status == PASSED]
    if passed:
        lines.append(f"  passed: {', '.join(passed)}")
    return "\n".join(lines)


def _not_stored_text(report: BaselineReport) -> str:
    return "".join(f"; {r.format} not stored ({r.detail.removeprefix(NOT_STORED)})" for r in report.results if r.status == SKIPPED)


def _size(target: Path) -> int:
    return sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
