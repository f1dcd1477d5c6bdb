"""The JSON file: every check of a run, with the versions that ran it.

Its shape is ``schema.json`` beside this module (JSON Schema draft 2020-12),
version :data:`~pytest_tfroundtrip.results.records.SCHEMA_VERSION`.  A field
is only ever added within a version; renaming or removing one bumps it.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.results.records import SCHEMA_VERSION, versions

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def json_document(checks: list[dict[str, Any]], target: str | None = None,
                  environment: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document: schema version, when, the versions installed here, the checks, and where they ran
    (``environment``: :func:`pytest_tfroundtrip.formats.environment.format_environment`, given by the caller).

    Example:
        >>> document = json_document([])
        >>> document["schema_version"], document["checks"], "tensorflow" in document["versions"]
        (1, [], True)
    """
    passed = sum(1 for check in checks if check["passed"])
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": "pytest-tfroundtrip",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "summary": {"checks": len(checks), "passed": passed, "failed": len(checks) - passed},
        "checks": checks,
    }
    if environment is not None:
        document["environment"] = environment
    if target is not None:
        document["target"] = target
    return document


def write_json_report(path: Path, checks: list[dict[str, Any]], target: str | None = None,
                      environment: dict[str, Any] | None = None) -> Path:
    """Write :func:`json_document` of ``checks`` to ``path`` (its directory is created).

    Example:
        >>> import tempfile
        >>> path = write_json_report(Path(tempfile.mkdtemp()) / "out" / "checks.json", [])
        >>> json.loads(path.read_text())["summary"]
        {'checks': 0, 'passed': 0, 'failed': 0}
    """
    return write_json_document(path, json_document(checks, target, environment))


def write_json_document(path: Path, document: dict[str, Any]) -> Path:
    """Write a whole document (e.g. one :mod:`~pytest_tfroundtrip.results.merge` joined) to ``path``.

    Example:
        >>> import tempfile
        >>> path = write_json_document(Path(tempfile.mkdtemp()) / "merged.json", json_document([]))
        >>> json.loads(path.read_text())["schema_version"]
        1
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
