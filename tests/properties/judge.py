"""Judge the checker against the oracle, format by format, on one generated model.

The oracle (:mod:`tests.oracle`) does each format's plain save and fresh reload
on fixed inputs; the checker (:func:`check_roundtrip`) does its own search.
Agreement rules, per format:

- oracle ``pass``: the checker must pass (a failure is a **false alarm**; a
  skip is a **needless skip** unless the checker said why before trying).
- oracle ``limit`` (the plain calls raise): the checker must fail or call the
  format not applicable, with the same exception (a pass is a **miss**: the
  checker reloads in-process, the oracle in a fresh interpreter).
- oracle ``differs``: the checker must fail (a pass is a **miss**).
- anything escaping the checker but a finding is a **crash**.

On a mutated model, a failing format must also name the cause (the defective
layer or one of the mutation's words).
"""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.oracle import OracleVerdict

FALSE_ALARM, CRASH, MISS, WRONG_CAUSE, NEEDLESS_SKIP = "false alarm", "crash", "miss", "wrong cause", "needless skip"


@dataclass(frozen=True)
class CheckerVerdict:
    """The checker's outcome for one format: passed / failed / skipped, with its text."""

    format: str
    status: str
    text: str = ""
    input_file: str | None = None  # the failing input the checker saved (.npz by input name)
    from_twin: bool = False  # converted in a worker from the model's twin (logged as "passed (twin)")


@dataclass(frozen=True)
class Disagreement:
    """One format where the checker and the oracle disagree, and how."""

    format: str
    kind: str  # FALSE_ALARM | CRASH | MISS | WRONG_CAUSE | NEEDLESS_SKIP
    oracle: str
    checker: str


@dataclass(frozen=True)
class Judgement:
    """Everything one property run found, for the assertion and the log."""

    label: str
    recipe_json: str
    disagreements: tuple[Disagreement, ...]
    oracle: dict[str, str] = field(default_factory=dict)
    checker: dict[str, str] = field(default_factory=dict)
    crash: str | None = None
    confirmed: tuple[str, ...] = ()  # checker findings the oracle missed on its inputs and confirmed on the checker's

    @property
    def kinds(self) -> set[str]:
        return {d.kind for d in self.disagreements} | ({CRASH} if self.crash else set())


NOT_DETERMINISTIC = "(the model)"  # the format name under which "not deterministic at inference" is recorded


def checker_verdicts(run: Any) -> tuple[dict[str, CheckerVerdict], str | None]:
    """Run ``run()`` (a round trip or resume check) and read its per-format verdicts; a crash is its traceback.

    A usage error on a generated model is a crash too: every generated model is
    valid and says what it takes.  "Not deterministic at inference" is a verdict
    on the whole model, kept under :data:`NOT_DETERMINISTIC`.
    """
    from pytest_tfroundtrip import RoundTripError

    try:
        report = run()
    except RoundTripError as error:
        report = error.report
        if getattr(report, "nondeterminism", None):
            return {NOT_DETERMINISTIC: CheckerVerdict(NOT_DETERMINISTIC, "failed", str(error)[:800])}, None
    except Exception:  # noqa: BLE001 - anything else is the checker's crash
        return {}, traceback.format_exc(limit=8)
    from pytest_tfroundtrip.results.failure_text import format_failure_lines

    verdicts = {}
    for result in report.results:
        if not hasattr(result, "failure"):  # a resumed run: its divergences are what the user reads
            text = "\n".join([d.message for d in result.divergences] + list(result.notes)) or (result.skip_reason or "")
            verdicts[result.format] = CheckerVerdict(result.format, result.status, text)
            continue
        # What the user reads for this format: the message with its diagnosis (first differing layer, weights).
        text = (result.failure.message + "\n" + "\n".join(format_failure_lines(result)) if result.failure is not None
                else (result.skip_reason or ""))  # the whole message too: displayed lines are cut
        input_file = getattr(result.failure, "input_file", None)
        verdicts[result.format] = CheckerVerdict(result.format, result.status, text, str(input_file) if input_file else None,
                                                 bool(getattr(result, "saved_from_twin", False)))
    return verdicts, None


def judge(label: str, recipe_json: str, oracle: dict[str, OracleVerdict], checker: dict[str, CheckerVerdict],
          crash: str | None, cause_words: tuple[str, ...] = (), known_defective: tuple[str, ...] = (),
          other_defects: tuple[str, ...] = (), not_judged_allowed: tuple[str, ...] = ()) -> Judgement:
    """Compare, format by format; ``cause_words`` (mutated models) must appear in a failing format's text.

    ``known_defective``: formats where the defect catalogue's plain calls showed the mutation (a second,
    independent oracle): a checker failure there is a finding even where this oracle's fixed inputs pass.
    ``other_defects``: formats where another layer of the model has a measured defect of its own (the layer
    table): a failure there is a finding, whose cause need not be the mutation.
    The cause is required where the mutation shows (``known_defective``, when the catalogue lists formats): in
    another format the oracle finds differing, the host itself is defective (hosts 5-7 of the slow run, whose
    ``tf.train.Checkpoint`` leaves a layer unrestored), and naming the host's cause is right.
    ``not_judged_allowed``: formats the checker may leave "not judged" (a skip saying so), because plain calls
    show the model rebuilt from its config cannot carry its state and the check was given no ``rebuild=``.
    """
    found: list[Disagreement] = []
    whole = checker.get(NOT_DETERMINISTIC)
    if whole is not None:  # no format was judged: right only for a defect that changes outputs call by call
        if not (cause_words and _mentions(whole.text, cause_words)):
            found.append(Disagreement(NOT_DETERMINISTIC, FALSE_ALARM, "the model gives one answer per input", whole.text[:600]))
        return Judgement(label, recipe_json, tuple(found), {k: _oracle_text(v) for k, v in oracle.items()},
                         {NOT_DETERMINISTIC: "failed"}, crash)
    for name, said in oracle.items():
        got = checker.get(name)
        if got is None:
            continue
        if got.status == "skipped" and name in not_judged_allowed and got.text.startswith("not judged"):
            continue
        if said.status == "pass" and got.status == "failed" and name not in known_defective + other_defects:
            found.append(Disagreement(name, FALSE_ALARM, _oracle_text(said), got.text[:600]))
        elif said.status == "pass" and got.status == "skipped" and not _said_before_trying(got.text) \
                and not _config_reported(got.text, checker):
            found.append(Disagreement(name, NEEDLESS_SKIP, _oracle_text(said), got.text[:300]))
        elif said.status in ("limit", "differs") and got.status == "passed":
            found.append(Disagreement(name, MISS, _oracle_text(said), "passed"))
        elif said.status == "limit" and got.status == "skipped" and _said_before_trying(got.text):
            continue  # a documented limit the checker knows before trying (float16 in TFLite, string inputs)
        elif said.status == "limit" and got.status != "passed" and name not in other_defects \
                and not _same_error(said.error or "", got.text):
            found.append(Disagreement(name, WRONG_CAUSE, _oracle_text(said), got.text[:600]))
        elif cause_words and said.status == "differs" and got.status == "failed" and name not in other_defects \
                and (not known_defective or name in known_defective) and not _mentions(got.text, cause_words):
            found.append(Disagreement(name, WRONG_CAUSE, _oracle_text(said), got.text[:600]))
    return Judgement(label, recipe_json, tuple(found), {k: _oracle_text(v) for k, v in oracle.items()},
                     {k: v.status + (" (twin)" if v.from_twin else "") for k, v in checker.items()}, crash)


def confirmed_on_the_checkers_input(judgement: Judgement, checker: dict[str, CheckerVerdict],
                                    oracle_on: Callable[[str, str], OracleVerdict]) -> Judgement:
    """Put each apparent false alarm to the oracle again, on the input the checker failed with.

    The oracle's fixed inputs can miss what a search finds (a zero vector that
    TFLite's L2 normalisation turns into NaN): a failure the oracle confirms on
    the checker's own counterexample is a finding, not a false alarm.
    ``oracle_on(format, input_file)`` runs the oracle for one format on that input.
    """
    kept, confirmed = [], list(judgement.confirmed)
    for disagreement in judgement.disagreements:
        verdict = checker.get(disagreement.format)
        if disagreement.kind == FALSE_ALARM and verdict is not None and verdict.input_file:
            again = oracle_on(disagreement.format, verdict.input_file)
            if again.status != "pass":
                confirmed.append(f"{disagreement.format}: {_oracle_text(again)} on the checker's input")
                continue
        kept.append(disagreement)
    return replace(judgement, disagreements=tuple(kept), confirmed=tuple(confirmed))


def _oracle_text(verdict: OracleVerdict) -> str:
    return f"{verdict.status}" + (f": {verdict.error}" if verdict.error else "") + (
        f" (max abs {verdict.max_abs:.3g})" if verdict.max_abs == verdict.max_abs else "")


def _config_reported(text: str, checker: dict[str, CheckerVerdict]) -> bool:
    """A weights-only format not judged because the config is lossy, while another format reports the defect."""
    return text.startswith("not judged: the architecture cannot be rebuilt") and any(
        v.status == "failed" for v in checker.values())


def _said_before_trying(text: str) -> bool:
    """A documented skip known before trying (a dtype TFLite built-ins cannot run, a missing runtime)."""
    return bool(re.search(r"float16|bfloat16|float64|string inputs|not installed|memory", text))


def _same_error(oracle_error: str, checker_text: str) -> bool:
    """The oracle's exception type (or its first words) appears in the checker's text."""
    kind = oracle_error.split(":")[0].strip()
    if kind == "loader process died":
        return True
    head = re.split(r"[.(]", oracle_error.split(":", 1)[-1].strip())[0][:40].strip()
    return kind in checker_text or (bool(head) and head in checker_text)


def _mentions(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(word.lower() in lowered for word in words)


def log(judgement: Judgement) -> None:
    """Append the judgement as one JSON line to ``$TFROUNDTRIP_PROPERTY_LOG`` (for the rates in a closing note)."""
    path = os.environ.get("TFROUNDTRIP_PROPERTY_LOG")
    if not path:
        return
    record = {**asdict(judgement), "kinds": sorted(judgement.kinds)}
    with Path(path).open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record, default=str) + "\n")


def explain(judgement: Judgement, code: str) -> str:
    """The assertion message: each disagreement, and the code that rebuilds the model for a regression test."""
    lines = [f"{judgement.label}: the checker disagrees with the oracle"]
    if judgement.crash:
        lines.append(f"  checker crashed:\n{judgement.crash}")
    for d in judgement.disagreements:
        lines.append(f"  [{d.format}] {d.kind}: oracle {d.oracle}; checker {d.checker}")
    lines.append("Rebuild it for a regression test:\n" + code)
    return "\n".join(lines)
