"""Turn results into text: the failure message and the one-line summaries."""

from __future__ import annotations

from pytest_tfroundtrip.results.compare import OutputComparison
from pytest_tfroundtrip.results.report import FAILED, SKIPPED, FormatResult, RoundTripReport

MAX_ERROR_LINES = 12
MAX_LINE = 400


def failure_message(report: RoundTripReport) -> str:
    """The ``RoundTripError`` text: every failing format, then the others.

    Example:
        >>> from pytest_tfroundtrip.results.report import FormatFailure, FormatResult
        >>> bad = FormatResult("h5", "failed", failure=FormatFailure("load", "ValueError: Unknown layer"))
        >>> print(failure_message(RoundTripReport((bad,), examples=0)).splitlines()[0])
        Round trip failed for 1 of 1 format: h5
    """
    if report.nondeterminism is not None:
        return (
            "The model is not deterministic at inference: calling it twice on the same input gave different outputs, "
            "so no format can be judged.\n" + report.nondeterminism + _where(report)
        )
    failed = report.failed
    lines = [f"Round trip failed for {len(failed)} of {len(report.results)} format{'s' if len(report.results) != 1 else ''}: "
             + ", ".join(r.label for r in failed)]
    for result in failed:
        lines.append("")
        lines.extend(format_failure_lines(result))
    others = [r for r in report.results if r.status != FAILED]
    if others:
        lines.append("")
        lines.append("Other formats: " + "; ".join(summary_line(r) for r in others))
    lines.extend(_warning_lines(report))
    lines.extend(f"Note: {note}" for note in report.notes)
    lines.append(_where(report).lstrip("\n"))
    lines.extend(_reproduction_lines(failed))
    return "\n".join(line for line in lines if line is not None)


def _reproduction_lines(failed: tuple[FormatResult, ...]) -> list[str]:
    """The first failing format's reproduction script in full, and where the others' are."""
    scripts = [r for r in failed if r.failure is not None and r.failure.reproduction_code]
    if not scripts:
        return []
    first = scripts[0]
    assert first.failure is not None and first.failure.reproduction_code is not None
    lines = ["", f"Reproduce [{first.label}] with plain calls (python {first.failure.reproduction}):", ""]
    lines.extend("    " + line for line in first.failure.reproduction_code.rstrip().splitlines())
    if len(scripts) > 1:
        lines.append("")
        lines.append("The other failing formats' scripts: " + "; ".join(
            f"[{r.label}] {r.failure.reproduction}" for r in scripts[1:] if r.failure is not None))
    return lines


def _warning_lines(report: RoundTripReport) -> list[str]:
    return ["", "Warnings (formats that survived, with a deployment risk):"] + [f"  {w}" for w in report.warnings] if report.warnings else []


def _where(report: RoundTripReport) -> str:
    return f"\nArtifacts kept in {report.artifacts_dir}" if report.artifacts_dir else ""


def format_failure_lines(result: FormatResult) -> list[str]:
    """The lines a failure message shows for one failing format (message, diagnosis, input, artifact)."""
    failure = result.failure
    assert failure is not None
    where = " (in a new interpreter, as users reload it)" if result.reloaded_in == "fresh" else ""
    lines = [f"[{result.label}] {_stage_title(failure.stage)}{where}"]
    if failure.comparison is None:
        message_lines = failure.message.splitlines()
        lines.extend("    " + line[:MAX_LINE] for line in message_lines[:MAX_ERROR_LINES])
        if len(message_lines) > MAX_ERROR_LINES:
            lines.append(f"    ... ({len(message_lines) - MAX_ERROR_LINES} more lines; report.result_for({result.format!r}).failure.message has them all)")
    else:
        for output in failure.comparison.failures:
            lines.extend(_output_lines(output))
    if failure.weights is not None:
        lines.extend("  " + line for line in failure.weights.describe())
    if failure.first_differing_layer:
        lines.append(f"  first layer whose output differs on that input: {failure.first_differing_layer!r}")
    if failure.input_summary:
        lines.append(f"    on input (shrunk): {failure.input_summary}")
    if failure.input_file:
        lines.append(f"    input saved as {failure.input_file}")
    if result.artifact:
        lines.append(f"    artifact: {result.artifact}")
    return lines


def _stage_title(stage: str) -> str:
    return {
        "save": "saving failed",
        "load": "reloading failed",
        "call": "calling the reloaded artifact failed",
        "mismatch": "outputs differ from the original model",
        "weights": "weights differ from the original model (outputs agreed on the inputs tried)",
        "quantized": "the quantized model lost more than the thresholds allow",
    }.get(stage, stage)


def _output_lines(output: OutputComparison) -> list[str]:
    lines = [f"  output {output.output!r}: {output.problem} mismatch: {output.detail}"]
    if output.problem != "values":
        return lines
    lines.append(
        f"    {output.mismatched} of {output.elements} elements differ; "
        f"max abs error {output.max_abs_error:.6g}, max rel error {output.max_rel_error:.6g}"
        + (f" (tolerance {output.tolerance.describe()})" if output.tolerance else "")
    )
    if output.worst is not None:
        worst = output.worst
        lines.append(f"    worst at index {worst.index}: expected {_short(worst.expected)}, got {_short(worst.actual)}")
    if len(output.table) > 1:
        lines.append(f"    {'index':>16}  {'expected':>16}  {'actual':>16}  {'abs diff':>12}")
        for row in output.table:
            lines.append(f"    {str(row.index):>16}  {_short(row.expected):>16}  {_short(row.actual):>16}  {row.abs_error:>12.4g}")
        if output.mismatched > len(output.table):
            lines.append(f"    ... and {output.mismatched - len(output.table)} more")
    return lines


def _short(value: object) -> str:
    return f"{value:.8g}" if isinstance(value, float) else repr(value)


def summary_line(result: FormatResult) -> str:
    """One line per format for reports and the terminal summary.

    Example:
        >>> summary_line(FormatResult("keras", "passed", examples=4))
        'keras passed (4 examples, max abs error 0, max rel error 0)'
    """
    if result.status == SKIPPED:
        return f"{result.label} skipped ({result.skip_reason})"
    if result.status == FAILED and result.failure is not None:
        return f"{result.label} failed at {result.failure.stage}"
    if result.quantized:
        return f"{result.label} {result.status} ({result.examples} examples; " + "; ".join(
            figure.describe() for figure in result.quantized) + ")"
    skipped = f", {result.ill_conditioned} ill-conditioned inputs not judged" if result.ill_conditioned else ""
    if result.nonfinite_not_judged:
        skipped += f", {result.nonfinite_not_judged} inputs with only non-finite samples not judged"
    if result.padding_not_judged:
        skipped += f", {result.padding_not_judged} output values at padded positions not judged"
    return (f"{result.format} {result.status} ({result.examples} examples, "
            f"max abs error {result.max_abs_error:.3g}, max rel error {result.max_rel_error:.3g}{skipped})")


def report_text(report: RoundTripReport) -> str:
    """A multi-line text of a report, with timings, for logs and printing."""
    lines = [f"Round trip of {report.examples} examples in {report.seconds:.2f} s ({report.input_description})"]
    for result in report.results:
        timing = ""
        if result.status != SKIPPED:
            timing = f"  [save {result.save_seconds:.3f} s, load {result.load_seconds:.3f} s, compare {result.compare_seconds:.3f} s]"
        lines.append("  " + summary_line(result) + timing)
    lines.extend(_warning_lines(report))
    return "\n".join(lines)
