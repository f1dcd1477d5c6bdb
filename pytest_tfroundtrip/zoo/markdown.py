"""The zoo as a Markdown page: counts, a model-by-format table per check, and each failure's one-line cause.

Example:
    >>> one_line_cause("load failed: ValueError: bad\\n  Traceback ...")
    'load failed: ValueError: bad'
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

CELLS = {"passed": "ok", "failed": "**FAIL**", "error": "**error**", "skipped": "skip", "not_applicable": "n/a"}
CAUSE_LENGTH = 220


def one_line_cause(message: str | None) -> str:
    """The first meaningful line of a failure message, shortened, with Markdown's table characters escaped."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    text = re.sub(r"\s+", " ", text)
    if len(text) > CAUSE_LENGTH:
        text = text[:CAUSE_LENGTH - 3] + "..."
    return text.replace("|", "\\|")


DIAGNOSES = ("not restored", "not portable", "cannot be rebuilt", "constructor argument", "first divergence",
             "first layer whose output differs")


def failure_cause(block: str | None, message: str | None) -> str:
    r"""One line for a failing format: its most telling diagnosis line when the failure text has one, else its message.

    Example:
        >>> failure_cause("[ckpt] outputs differ\n  values mismatch\n  3 of 9 weights were not restored", "outputs differ")
        'outputs differ; 3 of 9 weights were not restored'
    """
    lines = [line.strip() for line in (block or "").splitlines() if line.strip()]
    head = one_line_cause(message)
    if head.endswith("in user code:"):  # a traced function's error: its own message comes last
        raised = [line.strip() for line in (message or "").splitlines() if re.match(r"^\s*\w+(Error|Exception):", line)]
        head = one_line_cause(raised[-1]) if len(raised) > 1 else head
    for keyword in DIAGNOSES:
        for line in lines[1:]:
            if keyword in line:
                return one_line_cause(f"{head}; {line}" if not line.startswith(head) else line)
    return head


LEGEND = ("Cells: `ok` passed; `**FAIL**` reloaded but computed something else; `**error**` saving, loading or "
          "calling raised (a finding too); `n/a` the format cannot take the model, or does not judge it (why: "
          "below); `skip` not run here.")
MANY = 3  # an n/a reason shared by more models than this is counted, not listed


def not_applicable_lines(checks: list[dict[str, Any]]) -> list[str]:
    """Why formats were n/a or skipped: a reason many models share once with a count, the others per model.

    Example:
        >>> checks = [{"test": f"roundtrip[keras_hub:M{i}]", "formats": [
        ...     {"label": "h5", "verdict": "not_applicable", "reason": f"Keras's loader cannot rebuild 'M{i}' (name 'h5' in formats= to see it fail)"}]}
        ...     for i in range(5)]
        >>> not_applicable_lines(checks)
        ["- roundtrip, `h5`, 5 models (M0, M1, M2, M3, M4): Keras's loader cannot rebuild 'M0'"]
    """
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for check in sorted(checks, key=lambda c: c.get("test") or ""):
        for entry in check.get("formats", []):
            if entry.get("verdict") in ("not_applicable", "skipped"):
                reason = one_line_cause(re.sub(r" \(name '[^']*' in formats= to see it fail\)", "", entry.get("reason") or ""))
                shape = re.sub(r"(?<!\w)'[^']*'|\d+", "_", reason)  # the same reason about another layer or model
                groups.setdefault((entry["label"], shape, _check_name(check)), []).append((_model_of(check), reason))
    lines = []
    for (label, _, check_name), members in sorted(groups.items(), key=lambda item: (item[0][2], -len(item[1]), item[0])):
        models = [model for model, _ in members]
        if len(members) > MANY:
            shown = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "")
            lines.append(f"- {check_name}, `{label}`, {len(members)} models ({shown}): {members[0][1]}")
        else:
            lines += [f"- {check_name}, `{label}`, {model}: {reason}" for model, reason in members]
    return lines or ["None."]


def zoo_counts(run: Any) -> dict[str, int]:
    """Models checked, and check outcomes by kind (passed, failed = a finding, error, crashed, skipped)."""
    counts = Counter(outcome.outcome for outcome in run.outcomes)
    return {"models": len({outcome.spec for outcome in run.outcomes}), "checks": len(run.outcomes), **counts}


def failure_kinds(run: Any) -> Counter[str]:
    """Genuine failures (findings) by check and stage, e.g. ``roundtrip mismatch``, ``resume_training resume``."""
    kinds: Counter[str] = Counter()
    for check in run.document.get("checks", []):
        for entry in check.get("formats", []):
            if entry.get("verdict") in ("failed", "error") and entry.get("stage"):
                kinds[f"{_check_name(check)} {entry['stage']}"] += 1
    return kinds


def zoo_markdown(run: Any, command: str) -> str:
    """The page: what ran (versions, command, time, counts), then tables, then causes, then what was not checked."""
    versions = run.document.get("versions", {})
    counts = zoo_counts(run)
    lines = [f"# The {run.zoo} zoo: which architectures survive which format", "",
             "Generated by pytest-tfroundtrip with " + ", ".join(
                 f"{name} {versions.get(name)}" for name in ("keras-hub", "keras", "tensorflow", "jax") if versions.get(name))
             + f"; regenerate with `{command}` ({run.seconds / 60:.0f} min here, on 2 CPU cores).", "",
             (f"**Not run yet: {len(run.not_run)} of the zoo's models** (the run's time budget ran out; the same command "
              "with the same `--workdir` continues with them; they are listed at the end).\n\n" if run.not_run else "")
             + f"Models checked: {counts['models']}; checks: {counts['checks']} — "
             + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "crashed", "skipped")) + ".",
             "`failed` is a finding: the reloaded model computed something else, or saving/loading/calling raised. "
             "`error` and `crashed` are models the zoo could not check (building raised, or the checker stopped): "
             "they are listed separately, never as findings. Each kind of finding below is reproduced with plain "
             "TensorFlow/Keras calls in pytest-tfroundtrip's `tests/test_zoo.py` (the `test_findings_*` tests).", ""]
    kinds = failure_kinds(run)
    if kinds:
        lines += ["Failing formats by kind: " + ", ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items())) + ".", ""]
    by_check: dict[str, list[dict[str, Any]]] = {}
    for check in sorted(run.document.get("checks", []), key=lambda c: c.get("test") or ""):
        by_check.setdefault(_check_name(check), []).append(check)
    for name, checks in by_check.items():
        labels: list[str] = []
        for check in checks:
            labels.extend(e["label"] for e in check.get("formats", []) if e["label"] not in labels)
        rows = [(check, {e["label"]: CELLS.get(e["verdict"], e["verdict"]) for e in check.get("formats", [])})
                for check in checks]
        # a format no model of this check ran in (resume skips inference-only formats) is named once, not a column
        idle = [label for label in labels if all(cells.get(label, "-") == "skip" for _, cells in rows)]
        labels = [label for label in labels if label not in idle]
        lines += [f"## {name}", "", "| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        for check, cells in rows:
            lines.append(f"| {_model_of(check)} | " + " | ".join(cells.get(label, "-") for label in labels) + " |")
        if idle:
            lines += ["", f"Skipped for every model of this check (why: below): {', '.join(f'`{x}`' for x in idle)}."]
        lines.append("")
    lines += [LEGEND, ""]
    lines += ["## Failures, with their one-line cause", ""]
    failures = [(check, entry) for check in run.document.get("checks", []) for entry in check.get("formats", [])
                if entry.get("verdict") in ("failed", "error")]
    blocks = {(f"{o.check}[{o.spec}]", label): block for o in run.outcomes for label, block in o.format_reports}
    for check, entry in sorted(failures, key=lambda pair: (pair[0].get("test") or "", pair[1]["label"])):
        cause = failure_cause(blocks.get((check.get("test"), entry["label"])), entry.get("message"))
        lines.append(f"- {_model_of(check)}, {_check_name(check)}, `{entry['label']}`: {cause}")
    if not failures:
        lines.append("None.")
    lines += ["", "## Not applicable or skipped, and why", ""] + not_applicable_lines(run.document.get("checks", []))
    unchecked = [o for o in run.outcomes if o.outcome in ("error", "crashed")]
    lines += ["", "## Not checked, and why", ""]
    for spec, why in run.not_checked:
        lines.append(f"- {spec.split(':', 1)[1]}: {why}")
    for outcome in unchecked:
        lines.append(f"- {outcome.spec.split(':', 1)[1]} ({outcome.check}, {outcome.outcome}): {one_line_cause(outcome.message)}")
    skipped = [o for o in run.outcomes if o.outcome == "skipped"]
    if skipped:
        reasons = Counter(one_line_cause(o.message) for o in skipped)
        lines.append(f"- skipped checks ({len(skipped)}): " + "; ".join(f"{n} x {why}" for why, n in reasons.most_common(3)))
    if run.not_run:
        lines.append(f"- not run yet ({len(run.not_run)}): " + ", ".join(spec.split(":", 1)[1] for spec in run.not_run))
    if not run.not_checked and not unchecked and not skipped and not run.not_run:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _check_name(check: dict[str, Any]) -> str:
    return (check.get("test") or "").split("[", 1)[0] or check.get("kind", "")


def _model_of(check: dict[str, Any]) -> str:
    test = check.get("test") or ""
    return test.split("[", 1)[1].rstrip("]").split(":", 1)[-1] if "[" in test else test
