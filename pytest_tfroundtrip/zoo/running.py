"""``tf-roundtrip zoo keras_hub|keras_applications``: check every architecture of a zoo, as pytest runs.

The zoo's specs are split into chunks; each chunk is one ``pytest
--tf-roundtrip-model=...`` run in its own interpreter and temporary
directory (``jobs`` at once), writing JSON and JUnit.  A chunk whose
interpreter dies loses only its own models, reported as crashed with its
output.  The chunks' JSON files are joined by the same merge as sharded
suites (:mod:`pytest_tfroundtrip.results.merge`); ``shard="K/N"`` takes every
N-th spec from the K-th, so machines can split a zoo and merge the results.

Example:
    >>> zoo_specs("keras_hub")[:2]
    ['keras_hub:AlbertBackbone', 'keras_hub:AlbertClassifier']
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tfroundtrip.errors import RoundTripUsageError
from pytest_tfroundtrip.zoo.specs import KERAS_APPLICATIONS, KERAS_HUB, ZOOS

DEFAULT_CHECKS = "roundtrip,resume_training"


@dataclass(frozen=True)
class ZooSettings:
    """How to run a zoo: which checks and formats, how many examples, how to split it."""

    checks: str = DEFAULT_CHECKS
    formats: str | None = None
    max_examples: int = 10
    jobs: int = 1
    chunk_size: int = 4
    shard: tuple[int, int] = (1, 1)
    only: tuple[str, ...] = ()
    workdir: Path | None = None  # chunk results kept here; a rerun with the same directory reuses finished chunks
    max_minutes: float | None = None  # start no chunk after this long; the models left are listed as not run

    def identity(self) -> dict[str, Any]:
        """What a finished chunk must have been run with to be reused."""
        return {"checks": self.checks, "formats": self.formats, "max_examples": self.max_examples}


@dataclass(frozen=True)
class ZooOutcome:
    """One pytest item of the zoo: its spec, check, outcome (passed/failed/error/skipped/crashed) and message."""

    spec: str
    check: str
    outcome: str
    message: str = ""
    format_reports: tuple[tuple[str, str], ...] = ()  # (format label, its block of the failure text)


@dataclass(frozen=True)
class ZooRun:
    """A finished zoo run: the merged JSON document, every item's outcome, what was not run and why, and timings."""

    zoo: str
    document: dict[str, Any]
    outcomes: tuple[ZooOutcome, ...]
    not_checked: tuple[tuple[str, str], ...]
    seconds: float
    chunk_logs: tuple[str, ...] = field(default=())
    not_run: tuple[str, ...] = ()  # left when --max-minutes ran out; the same --workdir continues them
    workdir: Path | None = None  # where the chunks' results, logs and kept artifacts are


def zoo_specs(zoo: str) -> list[str]:
    """Every spec of ``zoo`` that can be checked here (keras-hub classes keras-hub forbids calling alone are left out)."""
    if zoo not in ZOOS:
        raise RoundTripUsageError(f"unknown zoo {zoo!r}; the zoos are {', '.join(ZOOS)}")
    if zoo == KERAS_HUB:
        from pytest_tfroundtrip.zoo.keras_hub_models import keras_hub_classes
        from pytest_tfroundtrip.zoo.keras_hub_tiny import NOT_CALLABLE

        return [f"{KERAS_HUB}:{c.name}" for c in keras_hub_classes() if c.name not in NOT_CALLABLE]
    from pytest_tfroundtrip.zoo.applications import application_names

    return [f"{KERAS_APPLICATIONS}:{name}" for name in application_names()]


def not_checkable(zoo: str) -> list[tuple[str, str]]:
    """Specs of ``zoo`` that are not run, each with why."""
    if zoo != KERAS_HUB:
        return []
    from pytest_tfroundtrip.zoo.keras_hub_models import keras_hub_classes
    from pytest_tfroundtrip.zoo.keras_hub_tiny import NOT_CALLABLE

    return [(f"{KERAS_HUB}:{c.name}", NOT_CALLABLE[c.name]) for c in keras_hub_classes() if c.name in NOT_CALLABLE]


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)`` with 1 <= K <= N.

    Example:
        >>> parse_shard("2/3")
        (2, 3)
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index, count = 0, 0
    if not 1 <= index <= count:
        raise RoundTripUsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    return index, count


def run_zoo(zoo: str, settings: ZooSettings, progress: Any = None) -> ZooRun:
    """Check the zoo's specs (this shard of them) in chunks of pytest runs; merge what they wrote."""
    from pytest_tfroundtrip.results.merge import merge_shards, read_shard

    specs = zoo_specs(zoo)
    if settings.only:
        unknown = [name for name in settings.only if f"{zoo}:{name}" not in specs]
        if unknown:
            raise RoundTripUsageError(f"--only names {unknown}, not in the {zoo} zoo here")
        specs = [spec for spec in specs if spec.split(":", 1)[1] in settings.only]
    specs = shard_specs(specs, settings.shard)
    index = settings.shard[0]
    chunks = [specs[start:start + settings.chunk_size] for start in range(0, len(specs), settings.chunk_size)]
    started = time.perf_counter()
    workdir = settings.workdir or Path(tempfile.mkdtemp(prefix=f"tf-roundtrip-zoo-{zoo}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = None if settings.max_minutes is None else started + 60 * settings.max_minutes

    def one_chunk(number: int, chunk: list[str]) -> tuple[list[ZooOutcome], str, Path | None]:
        kept = finished_chunk(number, chunk, settings, workdir)
        if kept is not None:
            if progress is not None:
                progress(number, chunk, kept[0])
            return kept
        if deadline is not None and time.perf_counter() >= deadline:
            return [], "", None
        return run_chunk(number, chunk, settings, workdir, progress)

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        finished = list(pool.map(lambda pair: one_chunk(*pair), enumerate(chunks)))
    outcomes = tuple(outcome for chunk_outcomes, _log, _json in finished for outcome in chunk_outcomes)
    reached = {outcome.spec for outcome in outcomes}
    shards = [read_shard(str(path)) for _outcomes, _log, path in finished if path is not None]
    document = merge_shards(shards) if shards else {"checks": [], "summary": {"checks": 0, "passed": 0, "failed": 0},
                                                    "warnings": [], "versions": {}}
    unchecked = [(spec, why) for spec, why in not_checkable(zoo) if not settings.only or spec.split(":", 1)[1] in settings.only]
    return ZooRun(zoo, document, outcomes, tuple(unchecked if index == 1 else ()),
                  _chunk_seconds(workdir, started), tuple(log for _o, log, _j in finished if log),
                  tuple(spec for spec in specs if spec not in reached), workdir)


def _chunk_seconds(workdir: Path, started: float) -> float:
    """Wall time of the whole zoo: this run's, plus what reused chunks took when they ran (kept in the directory)."""
    import json

    marker = workdir / "seconds.json"
    earlier = json.loads(marker.read_text())["seconds"] if marker.is_file() else 0.0
    total = earlier + time.perf_counter() - started
    marker.write_text(json.dumps({"seconds": round(total, 1)}))
    return total


def finished_chunk(number: int, specs: Sequence[str], settings: ZooSettings,
                   workdir: Path) -> tuple[list[ZooOutcome], str, Path | None] | None:
    """The outcomes of chunk ``number`` if an earlier run in ``workdir`` finished it with these specs and settings."""
    import json

    directory = workdir / f"chunk-{number:03d}"
    done = directory / "done.json"
    if not done.is_file():
        return None
    record = json.loads(done.read_text(encoding="utf-8"))
    if record.get("specs") != list(specs) or record.get("settings") != settings.identity():
        return None
    outcomes = [ZooOutcome(o["spec"], o["check"], o["outcome"], o["message"], tuple(tuple(pair) for pair in o["format_reports"]))
                for o in record["outcomes"]]
    json_path = directory / record["json"] if record.get("json") else None
    return outcomes, str(directory / "pytest.log"), json_path


def shard_specs(specs: Sequence[str], shard: tuple[int, int]) -> list[str]:
    """The specs of shard ``(K, N)``: every N-th from the K-th, so shards are balanced across model families.

    Example:
        >>> shard_specs(["a", "b", "c", "d", "e"], (2, 2))
        ['b', 'd']
    """
    index, count = shard
    return list(specs[index - 1::count])


def run_chunk(number: int, specs: Sequence[str], settings: ZooSettings, workdir: Path,
              progress: Any = None) -> tuple[list[ZooOutcome], str, Path | None]:
    """Check ``specs`` in one pytest run in its own interpreter; every check of every spec gets an outcome."""
    import shutil

    directory = workdir / f"chunk-{number:03d}"
    shutil.rmtree(directory, ignore_errors=True)  # a chunk an earlier run left unfinished starts again
    directory.mkdir()
    json_path, junit_path, log_path = directory / "checks.json", directory / "junit.xml", directory / "pytest.log"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN", "--no-header",
               f"--tf-roundtrip-json={json_path}", f"--junitxml={junit_path}", "--tf-roundtrip-no-matrix",
               f"--tf-roundtrip-model-checks={settings.checks}", f"--tf-roundtrip-max-examples={settings.max_examples}",
               f"--basetemp={directory / 'tmp'}"]
    if settings.formats:
        command.append(f"--tf-roundtrip-model-formats={settings.formats}")  # chosen among: n/a stays n/a
    if settings.jobs > 1:
        command.append("--tf-roundtrip-workers=1")  # the chunks already share the cores
    command += [f"--tf-roundtrip-model={spec}" for spec in specs]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parents[2])] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    with open(log_path, "w", encoding="utf-8") as log:
        status = subprocess.run(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT, env=environment).returncode
    outcomes = _junit_outcomes(junit_path) if junit_path.is_file() else []
    recorded = _recorded_tests(json_path)
    # a test that failed without recording a check raised before judging (a usage or internal error): not a finding
    outcomes = [ZooOutcome(o.spec, o.check, "error", o.message, o.format_reports) if o.outcome == "failed" and f"{o.check}[{o.spec}]" not in recorded
                else o for o in outcomes]
    checks = settings.checks.split(",")
    reached = {o.spec for o in outcomes}
    unreported = [spec for spec in specs if spec not in reached]
    if unreported and len(specs) > 1:
        # the interpreter died: run each model of the chunk alone, so only the one that kills it is lost
        alone = [run_chunk(number * 1000 + index + 1, [spec], settings, workdir) for index, spec in enumerate(specs)]
        outcomes = [outcome for chunk_outcomes, _log, _json in alone for outcome in chunk_outcomes]
        if progress is not None:
            progress(number, specs, outcomes)
        shards = [path for _o, _log, path in alone if path is not None]
        return _finished(directory, specs, settings, outcomes, _joined(shards, directory))
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-600:]
    for spec in unreported:
        for check in checks:
            outcomes.append(ZooOutcome(spec, check, "crashed", f"{_exit_text(status)} before this check reported; "
                                                               f"its output ends: {tail}"))
    if progress is not None:
        progress(number, specs, outcomes)
    return _finished(directory, specs, settings, outcomes, json_path if json_path.is_file() else None)


def _finished(directory: Path, specs: Sequence[str], settings: ZooSettings, outcomes: list[ZooOutcome],
              json_path: Path | None) -> tuple[list[ZooOutcome], str, Path | None]:
    import dataclasses
    import json

    record = {"specs": list(specs), "settings": settings.identity(), "json": json_path.name if json_path else None,
              "outcomes": [dataclasses.asdict(outcome) for outcome in outcomes]}
    (directory / "done.json").write_text(json.dumps(record), encoding="utf-8")
    return outcomes, str(directory / "pytest.log"), json_path


def _exit_text(status: int) -> str:
    import signal

    if status < 0:
        name = signal.Signals(-status).name
        why = " (the kernel's out-of-memory killer sends it)" if name == "SIGKILL" else ""
        return f"pytest was killed by {name}{why}"
    return f"pytest exited with status {status}"


def _joined(paths: list[Path], directory: Path) -> Path | None:
    from pytest_tfroundtrip.results.json_report import write_json_document
    from pytest_tfroundtrip.results.merge import merge_shards, read_shard

    if not paths:
        return None
    return write_json_document(directory / "joined.json", merge_shards([read_shard(str(path)) for path in paths]))


def _recorded_tests(path: Path) -> set[str]:
    import json

    if not path.is_file():
        return set()
    return {check.get("test") or "" for check in json.loads(path.read_text(encoding="utf-8")).get("checks", [])}


def _junit_outcomes(path: Path) -> list[ZooOutcome]:
    outcomes = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        check, _, rest = name.partition("[")
        spec = rest[:-1] if rest.endswith("]") else rest
        outcome, message = "passed", ""
        blocks: tuple[tuple[str, str], ...] = ()
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = element.get("message") or (element.text or "")
                blocks = format_blocks(element.text or "")
                break
        outcomes.append(ZooOutcome(spec, check, outcome, message.strip(), blocks))
    return outcomes


def format_blocks(text: str) -> tuple[tuple[str, str], ...]:
    r"""Each format's block of a failure text: from its ``[label]`` line up to the next one or ``Other formats:``.

    Example:
        >>> format_blocks("Round trip failed\n\n[keras] outputs differ\n  detail\nOther formats: ...")
        (('keras', '[keras] outputs differ\n  detail'),)
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(("Other formats:", "Warnings (", "Artifacts kept", "Reproduce [")):
            break
        match = re.match(r"^\[([^\]\s]+)\] ", line)
        if match:
            blocks.append((match.group(1), [line]))
        elif blocks:
            blocks[-1][1].append(line)
    return tuple((label, "\n".join(lines).rstrip()) for label, lines in blocks)
