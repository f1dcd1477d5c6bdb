"""``tf-roundtrip merge``: the JSON files of one suite's shards, or of several checks, joined into one document.

A suite sharded over CI jobs writes one file per job (``pytest --tf-roundtrip-json=PATH``);
a team checking saved models in parallel jobs writes one per model (``tf-roundtrip check
TARGET --json PATH``).  :func:`merge_files` reads them, refuses what would make the joined
verdict wrong, and returns one document of the same schema
(:data:`~pytest_tfroundtrip.results.records.SCHEMA_VERSION`).  A check's *key*, its row in
the matrix, is its test id, or for a check file its target (:func:`row_key`):

- ``checks``: every file's checks sorted by key (a test's checks keep the order they
  ran in), so the document does not depend on the order the files are named in; a check
  file's checks carry their ``target``;
- ``summary``: recomputed from those checks;
- ``versions``: the first file's, files ordered by their first key (the order of
  their rows in the matrix);
- ``merged_from``: per file, its name, when it was written, its versions, summary and keys
  (and a check file's ``target``);
- ``warnings``: what a reader must know, e.g. which packages differed between files.

Refused, with what was received and how to fix it: a missing file, a file that is not
JSON or not one of these documents, one of another ``schema_version``, a file named
twice, and a key in two files.  A test (or target) in two files is refused rather than
de-duplicated: the shards overlap (that test ran twice, and another may have run
nowhere), and its two verdicts may differ (a flaky test), so keeping either one would
hide something.

This module imports nothing heavy (no TensorFlow, Keras or NumPy).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.results.json_report import SCHEMA_PATH, json_document
from pytest_tfroundtrip.results.records import SCHEMA_VERSION, installed_version

_PRODUCER = "pytest --tf-roundtrip-json=PATH or tf-roundtrip check TARGET --json PATH"
_SHOWN_DUPLICATES = 5
_SHAPES = {"created": str, "versions": dict, "summary": dict, "checks": list, "formats": list, "tests": list,
           "file": str}  # what merge reads


@dataclass(frozen=True)
class Shard:
    """One shard's JSON file: its name as given and its document (one of ours, of this schema version).

    Example:
        >>> shard = Shard("shard-1.json", json_document([_example_check("t.py::test_b"), _example_check("t.py::test_a")]))
        >>> shard.keys
        ('t.py::test_a', 't.py::test_b')
    """

    file: str
    document: dict[str, Any]

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of its checks (test ids; a check file's target), sorted, each once."""
        return tuple(sorted({row_key(check) for check in self.document["checks"]}))

    def parts(self) -> list[dict[str, Any]]:
        """Its ``merged_from`` entries: one for a shard, those it already lists for a merged file.

        Example:
            >>> [part["tests"] for part in Shard("a.json", json_document([_example_check("t.py::test_a")])).parts()]
            [['t.py::test_a']]
        """
        if "merged_from" in self.document:
            return list(self.document["merged_from"])
        part = {"file": self.file, "created": self.document["created"], "versions": self.document["versions"],
                "summary": self.document["summary"], "tests": list(self.keys)}
        return [dict(part, target=self.document["target"])] if "target" in self.document else [part]


def read_shard(file: str) -> Shard:
    """Read and check one shard's file; a :class:`RoundTripUsageError` says what is wrong with it and what to do.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "shard.json"
        >>> _ = path.write_text("<testsuites/>")
        >>> read_shard(str(path))
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: .../shard.json is not JSON (Expecting value at line 1, column 1); received: '<testsuites/>'. ...
    """
    path = Path(file)
    if not path.exists():
        raise RoundTripUsageError(f"{file} does not exist (expected the JSON file a shard wrote with {_PRODUCER})")
    if path.is_dir():
        raise RoundTripUsageError(f"{file} is a directory, not a JSON file (expected the file a shard wrote with {_PRODUCER})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RoundTripUsageError(f"{file} cannot be read as UTF-8 text ({error}); expected the JSON file of {_PRODUCER}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        received = repr(text[:80]) + (" (its first 80 characters)" if len(text) > 80 else "") if text.strip() else "an empty file"
        raise RoundTripUsageError(f"{file} is not JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                                  f"received: {received}. Expected the file a shard wrote with {_PRODUCER}") from None
    check_document(file, document)
    if isinstance(document.get("target"), str):  # a check file: its checks are keyed by the target it checked
        document["checks"] = [dict(check, target=check.get("target") or document["target"]) for check in document["checks"]]
    return Shard(file, document)


def row_key(check: dict[str, Any]) -> str:
    """What names a check's row and must be unique across files: its test id, else (``tf-roundtrip check``) its target.

    Example:
        >>> row_key({"test": "t.py::test_a", "target": None}), row_key({"test": None, "target": "models/mlp.keras"})
        ('t.py::test_a', 'models/mlp.keras')
    """
    return check["test"] if isinstance(check.get("test"), str) else check["target"]


def check_document(file: str, document: Any) -> None:
    """Refuse ``document`` unless it is one of our JSON documents, of this schema version, from pytest.

    Example:
        >>> check_document("a.json", {"tool": "pytest-tfroundtrip", "schema_version": 99})
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: a.json has schema_version 99 (written by pytest-tfroundtrip unknown), ... merges schema_version 1: re-run that shard with this version of pytest-tfroundtrip, ...
    """
    if not isinstance(document, dict):
        raise RoundTripUsageError(f"{file} is not a pytest-tfroundtrip JSON report: received a JSON {_json_type(document)}, "
                                  f"expected the object {_PRODUCER} writes")
    if document.get("tool") != "pytest-tfroundtrip":
        tool = f"'tool': {document['tool']!r}" if "tool" in document else "no 'tool'"
        raise RoundTripUsageError(f"{file} is not a pytest-tfroundtrip JSON report: received an object with {tool} "
                                  f"(keys: {', '.join(sorted(map(str, document))[:8]) or 'none'}), expected the one {_PRODUCER} writes")
    if document.get("schema_version") != SCHEMA_VERSION:
        versions = document.get("versions")
        writer = versions.get("pytest-tfroundtrip") if isinstance(versions, dict) else None
        raise RoundTripUsageError(
            f"{file} has schema_version {document.get('schema_version')!r} (written by pytest-tfroundtrip {writer or 'unknown'}), "
            f"but this tf-roundtrip (pytest-tfroundtrip {installed_version(('pytest-tfroundtrip',)) or 'unknown'}) merges "
            f"schema_version {SCHEMA_VERSION}: re-run that shard with this version of pytest-tfroundtrip, "
            "or merge with the version that wrote it")
    document_fields, check_fields, part_fields = _required_fields()
    missing = _malformed(document, document_fields)
    parts = document.get("merged_from", [])  # a merged file's shards
    if not isinstance(parts, list) or not all(isinstance(part, dict) and not _malformed(part, part_fields) for part in parts):
        missing.append("a well-formed merged_from")
    if missing:
        raise RoundTripUsageError(f"{file} lacks {', '.join(missing)} as schema_version {SCHEMA_VERSION} requires them: "
                                  "a truncated or edited file? Re-run that shard")
    for index, check in enumerate(document["checks"]):
        missing = _malformed(check, check_fields) if isinstance(check, dict) else ["every field"]
        if missing:
            raise RoundTripUsageError(f"{file}: check {index} lacks {', '.join(missing)} as schema_version {SCHEMA_VERSION} "
                                      "requires them: a truncated or edited file? Re-run that shard")
        if not isinstance(check.get("test"), str) and not isinstance(check.get("target") or document.get("target"), str):
            raise RoundTripUsageError(f"{file}: check {index} has neither a test id nor a target, so it has no row "
                                      f"to go in: a truncated or edited file? Re-run the job that wrote it ({_PRODUCER})")


def merge_shards(shards: Sequence[Shard]) -> dict[str, Any]:
    """One document of every shard's checks, sorted by key (:func:`row_key`); a key in two shards is refused.

    Example:
        >>> a = Shard("a.json", json_document([_example_check("t.py::test_b", passed=False)]))
        >>> b = Shard("b.json", json_document([_example_check("t.py::test_a")]))
        >>> merged = merge_shards([a, b])
        >>> [check["test"] for check in merged["checks"]], merged["summary"], [p["file"] for p in merged["merged_from"]]
        (['t.py::test_a', 't.py::test_b'], {'checks': 2, 'passed': 1, 'failed': 1}, ['b.json', 'a.json'])
        >>> merge_shards([a, a])
        Traceback (most recent call last):
        ...
        pytest_tfroundtrip.errors.RoundTripUsageError: 1 test id is in more than one file, so the shards overlap: t.py::test_b (a.json, a.json). ...
    """
    _refuse_duplicates(shards)
    ordered = sorted(((row_key(check), position, check) for shard in shards
                      for position, check in enumerate(shard.document["checks"])), key=lambda item: item[:2])
    checks = [check for _test, _position, check in ordered]
    parts = sorted((part for shard in shards for part in shard.parts()),
                   key=lambda part: (part["tests"][:1] or ["\U0010ffff"], part["file"], part["created"]))
    document = json_document(checks)
    document["versions"] = dict(parts[0]["versions"]) if parts else document["versions"]
    # Like the versions, the environment is a shard's, not the merging machine's (the first that recorded one).
    recorded = [shard.document["environment"] for shard in sorted(shards, key=_first_row) if "environment" in shard.document]
    if recorded:
        document["environment"] = recorded[0]
    warning = version_warning(parts)
    # The schema's order, with what merge adds before the checks, so both read first.
    return {**{key: value for key, value in document.items() if key != "checks"}, "merged_from": parts,
            "warnings": [warning] if warning else [], "checks": checks}


def merge_files(files: Sequence[str]) -> dict[str, Any]:
    """Read each file (:func:`read_shard`) and join them (:func:`merge_shards`); a file named twice is refused.

    Example:
        >>> import tempfile
        >>> from pytest_tfroundtrip.results.json_report import write_json_report
        >>> folder = Path(tempfile.mkdtemp())
        >>> a = write_json_report(folder / "a.json", [_example_check("t.py::test_a")])
        >>> b = write_json_report(folder / "b.json", [_example_check("t.py::test_b")])
        >>> merge_files([str(b), str(a)])["summary"]
        {'checks': 2, 'passed': 2, 'failed': 0}
    """
    if not files:
        raise RoundTripUsageError(f"no files to merge: name the JSON files the shards wrote with {_PRODUCER}")
    seen: dict[Path, str] = {}
    for file in files:
        key = Path(file).resolve()
        if key in seen:
            raise RoundTripUsageError(f"{file} is named twice ({seen[key]} and {file}): each shard's file once")
        seen[key] = file
    return merge_shards([read_shard(file) for file in files])


def version_warning(parts: Sequence[dict[str, Any]]) -> str | None:
    """What differed between the shards' versions (None when nothing did), naming the shards.

    Example:
        >>> print(version_warning([{"file": "a.json", "versions": {"keras": "3.1", "numpy": "2.0"}},
        ...                        {"file": "b.json", "versions": {"keras": "3.2", "numpy": "2.0"}}]))
        shards ran with different versions: keras 3.1 (a.json), 3.2 (b.json); the document's versions are those of a.json, merged_from lists each shard's versions and tests
    """
    names = sorted({name for part in parts for name in part["versions"]})
    differing = []
    for name in names:
        files_per_version: dict[str, list[str]] = {}
        for part in parts:
            value = part["versions"].get(name, "not recorded")
            files_per_version.setdefault(value if value is not None else "not installed", []).append(part["file"])
        if len(files_per_version) > 1:
            differing.append(f"{name} " + ", ".join(f"{version} ({', '.join(files)})"
                                                   for version, files in files_per_version.items()))
    if not differing:
        return None
    return (f"shards ran with different versions: {'; '.join(differing)}; the document's versions are those of "
            f"{parts[0]['file']}, merged_from lists each shard's versions and tests")


def _refuse_duplicates(shards: Sequence[Shard]) -> None:
    owners: dict[str, list[str]] = {}
    targets: set[str] = set()
    for shard in shards:
        for key in shard.keys:
            owners.setdefault(key, []).append(shard.file)
        targets.update(row_key(check) for check in shard.document["checks"] if not isinstance(check.get("test"), str))
    duplicated = sorted(key for key, files in owners.items() if len(files) > 1)
    tests = [key for key in duplicated if key not in targets]
    if tests:
        raise RoundTripUsageError(
            f"{_count(tests, 'test id')} in more than one file, so the shards overlap: {_owned(tests, owners)}. Each test "
            "must run in exactly one shard (check the shards' -k expressions or file lists); if a shard was retried, "
            "name only the retry's file. Not de-duplicated: the verdicts may differ")
    if duplicated:
        raise RoundTripUsageError(
            f"{_count(duplicated, 'target')} checked in more than one file (tf-roundtrip check TARGET --json): "
            f"{_owned(duplicated, owners)}. A target is a check's row, so each once: if a job was retried, name only the "
            "retry's file; if they are different models saved under the same path, check them under paths that tell "
            "them apart. Not de-duplicated: the verdicts may differ")


def _count(keys: Sequence[str], noun: str) -> str:
    return f"{len(keys)} {noun}{' is' if len(keys) == 1 else 's are'}"


def _owned(keys: Sequence[str], owners: dict[str, list[str]]) -> str:
    shown = "; ".join(f"{key} ({', '.join(sorted(owners[key]))})" for key in keys[:_SHOWN_DUPLICATES])
    return shown + (f"; and {len(keys) - _SHOWN_DUPLICATES} more" if len(keys) > _SHOWN_DUPLICATES else "")


def _first_row(shard: Shard) -> str:
    """The first row a shard's checks take in the matrix (its test ids, or a check file's target)."""
    return min((check.get("test") or check.get("target") or shard.document.get("target") or "" for check in
                shard.document["checks"]), default="\U0010ffff")


def _malformed(fields: dict[str, Any], required: Sequence[str]) -> list[str]:
    """The ``required`` fields missing from ``fields``, or not of the type merge reads."""
    return [name for name in required if name not in fields or not isinstance(fields[name], _SHAPES.get(name, object))]


@cache
def _required_fields() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The fields schema.json requires of a document, a check and a merged_from entry (read from it: they agree)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return (tuple(schema["required"]), tuple(schema["$defs"]["check"]["required"]),
            tuple(schema["properties"]["merged_from"]["items"]["required"]))


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def _example_check(test: str, passed: bool = True) -> dict[str, Any]:
    """A minimal check record, for the examples above."""
    return {"test": test, "kind": "roundtrip", "passed": passed, "model": None, "seconds": 1.0, "artifacts_dir": None,
            "formats": [{"label": "keras", "format": "keras", "verdict": "passed" if passed else "failed"}]}
