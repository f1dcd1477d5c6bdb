"""Golden baselines: artifacts saved once, committed, and checked on every later run and version.

The first run stores, under ``directory/name/``, each chosen format's artifact,
a fixed set of drawn inputs, the original model's outputs on them, and a
manifest (versions that wrote it, tolerances, a SHA-256 of every file).  Later
runs, perhaps under other TensorFlow/Keras versions, verify the checksums,
load each stored artifact the way its format loads, and compare it with the
stored outputs and with the current model.  Work in progress (issue 9).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.checks.search import draw_examples
from pytest_tfroundtrip.checks.subject import prepare_subject
from pytest_tfroundtrip.errors import RoundTripError, RoundTripUsageError, describe_exception
from pytest_tfroundtrip.formats import get_format, parse_format_names
from pytest_tfroundtrip.formats.base import RoundTripFormat, Subject, call_keras_model
from pytest_tfroundtrip.isolation.check_scope import public_check
from pytest_tfroundtrip.inputs.arrays import savable
from pytest_tfroundtrip.inputs.strategies import example_strategy
from pytest_tfroundtrip.results.compare import compare_outputs
from pytest_tfroundtrip.results.records import versions
from pytest_tfroundtrip.results.tolerances import tolerance_function

MANIFEST = "manifest.json"
BASELINE_SCHEMA = 1
DEFAULT_FORMATS = ("keras", "export", "weights")
DEFAULT_EXAMPLES = 8
CREATED, PASSED = "created", "passed"
LOAD_FAILED, FORMAT_CHANGED, MODEL_CHANGED = "artifact failed to load", "format changed", "model changed"


@dataclass(frozen=True)
class BaselineResult:
    """One stored format checked against the stored outputs and today's model."""

    format: str
    status: str  # passed | artifact failed to load | format changed | model changed
    detail: str = ""


@dataclass(frozen=True)
class BaselineReport:
    """What :func:`check_baseline` found: created, or each format's result."""

    directory: Path
    status: str  # created | passed | failed
    results: tuple[BaselineResult, ...] = ()
    written_by: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.status in (CREATED, PASSED)


@public_check
def check_baseline(model: Any, directory: str | Path, name: str, *, formats: list[str] | str | None = None,
                   examples: int = DEFAULT_EXAMPLES, seed: int = 0, update: bool = False) -> BaselineReport:
    """Store a baseline of ``model`` on the first run; check every later run against it.

    Raises :class:`RoundTripError` when the baseline is created (commit it, then
    rerun), when a stored artifact no longer loads or agrees, and when the
    baseline directory was changed by hand (checksums).
    """
    __tracebackhide__ = True
    target = Path(directory) / name
    subject = prepare_subject(model).subject
    if update or not (target / MANIFEST).exists():
        report = _create(subject, target, parse_format_names(formats) or list(DEFAULT_FORMATS), examples, seed)
        raise RoundTripError(
            f"baseline {name!r} created in {target} ({_size(target) / 1024:.0f} KB): commit it; later runs compare against it",
            report)
    manifest = _verified_manifest(target)
    report = _compare(subject, target, manifest, parse_format_names(formats))
    if not report.passed:
        raise RoundTripError(_failure_text(report, manifest), report)
    return report


def _create(subject: Subject, target: Path, names: list[str], examples: int, seed: int) -> BaselineReport:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    drawn = draw_examples(example_strategy(subject.signature), examples, seed)
    inputs = {f"{i}/{k}": savable(v) for i, e in enumerate(drawn) for k, v in e.arrays.items()}
    outputs = {f"{i}/{k}": v for i, e in enumerate(drawn)
               for k, v in subject.flat_outputs(call_keras_model(subject.model, subject, e.arrays)).items()}
    np.savez(target / "inputs.npz", **inputs)
    np.savez(target / "outputs.npz", **outputs)
    stored = {}
    for name in names:
        fmt = get_format(name)
        (target / name).mkdir()
        artifact = fmt.save(subject, target / name)
        stored[name] = {"artifact": artifact.relative_to(target).as_posix(), "tolerance_family": fmt.tolerance_family}
    manifest = {"schema": BASELINE_SCHEMA, "examples": len(drawn), "formats": stored, "written_by": versions(),
                "files": _checksums(target)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return BaselineReport(target, CREATED, tuple(BaselineResult(name, CREATED) for name in names), manifest["written_by"])


def _checksums(target: Path) -> dict[str, str]:
    return {p.relative_to(target).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(target.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _verified_manifest(target: Path) -> dict[str, Any]:
    __tracebackhide__ = True
    try:
        manifest = json.loads((target / MANIFEST).read_text())
        recorded = dict(manifest["files"])
    except (ValueError, KeyError, TypeError) as error:
        raise RoundTripUsageError(f"baseline manifest {target / MANIFEST} is not one this package wrote ({error}); "
                                  "regenerate it with --tf-roundtrip-update-baselines") from error
    found = _checksums(target)
    problems = [f"{path}: missing" for path in recorded if path not in found]
    problems += [f"{path}: changed (checksum differs)" for path in recorded if path in found and found[path] != recorded[path]]
    problems += [f"{path}: not in the manifest" for path in found if path not in recorded]
    if problems:
        raise RoundTripError(f"baseline {target} was modified since it was written, so it cannot be trusted:\n  "
                             + "\n  ".join(problems) + "\nRestore it from version control, or regenerate it on purpose "
                             "with --tf-roundtrip-update-baselines")
    return manifest


def _compare(subject: Subject, target: Path, manifest: dict[str, Any], requested: list[str] | None) -> BaselineReport:
    inputs = dict(np.load(target / "inputs.npz"))
    outputs = dict(np.load(target / "outputs.npz"))
    count = manifest["examples"]
    examples = [{k.split("/", 1)[1]: v for k, v in inputs.items() if k.startswith(f"{i}/")} for i in range(count)]
    stored = [{k.split("/", 1)[1]: v for k, v in outputs.items() if k.startswith(f"{i}/")} for i in range(count)]
    today = [subject.flat_outputs(call_keras_model(subject.model, subject, arrays)) for arrays in examples]
    results = []
    for name, entry in manifest["formats"].items():
        if requested is not None and name not in requested:
            continue
        results.append(_check_format(get_format(name), subject, target / entry["artifact"], examples, stored, today))
    status = PASSED if all(r.status == PASSED for r in results) else "failed"
    return BaselineReport(target, status, tuple(results), manifest.get("written_by"))


def _check_format(fmt: RoundTripFormat, subject: Subject, artifact: Path, examples: list[dict[str, Any]],
                  stored: list[dict[str, Any]], today: list[dict[str, Any]]) -> BaselineResult:
    try:
        call = fmt.load(subject, artifact)
        got = [subject.flat_outputs(call(arrays)) for arrays in examples]
    except Exception as error:
        return BaselineResult(fmt.name, LOAD_FAILED, describe_exception(error))
    tolerance_for = tolerance_function(fmt.tolerance_family, None, None)
    for reference, status in ((stored, FORMAT_CHANGED), (today, MODEL_CHANGED)):
        for index, (want, have) in enumerate(zip(reference, got)):
            comparison = compare_outputs(want, have, tolerance_for)
            if not comparison.ok:
                worst = comparison.failures[0]
                return BaselineResult(fmt.name, status, f"example {index}, output {worst.output!r}: {worst.problem} mismatch, "
                                                        f"max abs error {worst.max_abs_error:.3g}")
    return BaselineResult(fmt.name, PASSED)


def _failure_text(report: BaselineReport, manifest: dict[str, Any]) -> str:
    written, read = manifest.get("written_by") or {}, versions()
    lines = [f"baseline {report.directory} failed: written by TensorFlow {written.get('tensorflow')}, Keras {written.get('keras')}; "
             f"read by TensorFlow {read.get('tensorflow')}, Keras {read.get('keras')}"]
    explain = {LOAD_FAILED: "the stored artifact no longer loads",
               FORMAT_CHANGED: "it loads but disagrees with the outputs stored when it was written",
               MODEL_CHANGED: "it agrees with the stored outputs but not with today's model: the model changed, not the format"}
    for result in report.results:
        if result.status != PASSED:
            lines.append(f"  [{result.format}] {explain[result.status]}: {result.detail}")
    return "\n".join(lines)


def _size(target: Path) -> int:
    return sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
