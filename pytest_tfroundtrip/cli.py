"""``tf-roundtrip check TARGET``: the round-trip check from the command line.

A thin layer like the pytest plugin: it reads arguments, obtains the model
(:mod:`~pytest_tfroundtrip.targets`), runs :func:`check_roundtrip`, shows
progress per format, prints the same matrix, and writes the same JSON.

Exit status: 0 when every format passed, 1 on a finding, 2 on a usage error,
3 on an internal error of the checker (never a verdict on the model).

``tf-roundtrip zoo keras_hub|keras_applications`` checks every architecture of
a zoo at a small size (:mod:`~pytest_tfroundtrip.zoo.running`) and prints,
writes (JSON, Markdown) and exits the same way.

``tf-roundtrip merge FILE...`` joins the JSON files of a sharded suite
(:mod:`~pytest_tfroundtrip.results.merge`) and prints, writes and exits the same way,
without importing TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, TextIO

from pytest_tfroundtrip.arguments import DEFAULT_MAX_EXAMPLES
from pytest_tfroundtrip.errors import RoundTripError, RoundTripInternalError, RoundTripUsageError
from pytest_tfroundtrip.formats import all_formats

PASSED, FINDING, USAGE_ERROR, INTERNAL_ERROR = 0, 1, 2, 3

_COLOUR_CODES = {"green": "\033[32m", "red": "\033[31m", "yellow": "\033[33m"}


def build_parser() -> argparse.ArgumentParser:
    """The ``tf-roundtrip`` argument parser (``--help`` states every default).

    Example:
        >>> build_parser().parse_args(["check", "model.keras", "--formats", "keras,onnx"]).formats
        'keras,onnx'
    """
    parser = argparse.ArgumentParser(
        prog="tf-roundtrip",
        description="Prove a TensorFlow/Keras model survives being saved and reloaded, in every format.",
        epilog="Exit status: 0 every format passed; 1 a format failed (a finding); 2 usage error (bad target or option); "
               "3 internal error of the checker (not a verdict).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = ", ".join(f.name for f in all_formats())
    check = commands.add_parser(
        "check", help="save and reload TARGET in each format and compare outputs",
        description="Save and reload TARGET in each format; compare the reloaded outputs with TARGET's own on drawn inputs. "
                    "For a saved file, the original is that file loaded the way its format loads: see docs/cli.md "
                    "('What a saved file can and cannot prove') for what that can and cannot prove.",
        epilog="Exit status: 0 every format passed; 1 a format failed (a finding); 2 usage error; 3 internal error of the checker.",
    )
    check.add_argument("target", metavar="TARGET",
                       help="a .keras or .h5 file, a SavedModel directory, package.module:function or path/to/file.py:function "
                            "returning a model, keras_hub:ClassName[@preset] (a tiny configuration, random weights) or "
                            "keras_applications:Name[@size]")
    check.add_argument("--model-inputs", metavar="JSON|TOML|PATH", default=None,
                       help="describe inputs inference cannot size: input name -> shape (batch first), dtype, fill "
                            "(ones/zeros) or range [low, high]. Default: inferred")
    check.add_argument("--pretrained", action="store_true", default=False,
                       help="let keras_hub:Class@preset download the preset's weights. Default: off (a preset is refused)")
    check.add_argument("--fit", type=int, default=0, metavar="STEPS",
                       help="train a compiled model STEPS batches first, so its optimizer has state. Default: 0")
    check.add_argument("--formats", metavar="NAMES", default=None,
                       help=f"comma-separated formats, from: {names}. Default: every format available here "
                            "(for a SavedModel directory, those that do not rebuild Keras objects)")
    check.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, metavar="N",
                       help=f"random examples per format, after the targeted ones. Default: {DEFAULT_MAX_EXAMPLES}")
    check.add_argument("--seed", type=int, default=None, metavar="N",
                       help="seed of the random search, to repeat a run. Default: a new seed each run")
    check.add_argument("--reload-in", choices=("fresh", "process"), default="fresh",
                       help="fresh: reload each format in a worker interpreter that did not save it (another hash seed, "
                            "the model's modules imported), as users reload; process: in this one. Default: fresh")
    check.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker interpreters reloading formats at once. Default: from the cores and the memory the model needs")
    check.add_argument("--json", metavar="PATH", default=None,
                       help="also write the check as JSON to PATH (schema: pytest_tfroundtrip/results/schema.json). "
                            "Default: not written")
    check.add_argument("--html", metavar="FILE", default=None,
                       help="write one self-contained HTML report to FILE (matrix coloured by verdict, causes and reproduction scripts on click, pictures; opens offline). Default: not written")
    check.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                       help="import MODULE first, e.g. the one registering your custom layers (repeatable). Default: none")
    check.add_argument("--artifacts-dir", metavar="DIR", default=None,
                       help="where artifacts are written (kept on failure). Default: a new temporary directory")
    check.add_argument("--keep-artifacts", action="store_true", default=False,
                       help="keep artifacts of passing formats too. Default: off")
    check.add_argument("--no-progress", action="store_true", default=False,
                       help="do not show progress per format. Default: shown (a bar on a terminal, a line per format otherwise)")
    check.add_argument("--no-color", action="store_true", default=False,
                       help="no colours in the matrix. Default: coloured on a terminal")
    zoo = commands.add_parser(
        "zoo", help="check every architecture of keras_hub or keras_applications at a small size: matrix, JSON, Markdown",
        description="Check every keras-hub backbone and task class (tiny configurations, random weights) or every "
                    "keras.applications architecture (32x32 or its minimum, 10 classes, random weights). Each chunk of "
                    "models is one pytest --tf-roundtrip-model run in its own interpreter; a chunk that crashes loses "
                    "only its models. Split a zoo across machines with --shard K/N and join the JSON files with "
                    "tf-roundtrip merge.",
        epilog="Exit status: 0 every check passed; 1 a check failed (a finding); 2 usage error; 3 a model could not be "
               "checked (build error or crash) and nothing failed.",
    )
    zoo.add_argument("zoo", choices=("keras_hub", "keras_applications"), help="which zoo")
    zoo.add_argument("--checks", default="roundtrip,resume_training", metavar="NAMES",
                     help="from: roundtrip, custom_objects, resume_training. Default: roundtrip,resume_training")
    zoo.add_argument("--formats", metavar="NAMES", default=None,
                     help="comma-separated formats to choose among; one that cannot take a model is 'not applicable', "
                          "as by default. Default: every available format")
    zoo.add_argument("--max-examples", type=int, default=10, metavar="N", help="random examples per format. Default: 10")
    zoo.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1) // 2), metavar="N",
                     help="chunks run at once. Default: half the cores")
    zoo.add_argument("--chunk-size", type=int, default=4, metavar="N",
                     help="models per pytest run; a run that dies is retried a model at a time. Default: 4")
    zoo.add_argument("--shard", default="1/1", metavar="K/N", help="run every N-th model from the K-th. Default: 1/1")
    zoo.add_argument("--only", default=None, metavar="NAMES", help="comma-separated class names of the zoo. Default: all")
    zoo.add_argument("--workdir", metavar="DIR", default=None,
                     help="keep each chunk's results in DIR; run again with the same DIR (and settings) and finished "
                          "chunks are reused, so an interrupted zoo continues. Default: a new temporary directory")
    zoo.add_argument("--max-minutes", type=float, default=None, metavar="M",
                     help="start no chunk after M minutes; the models left are listed as not run. Default: no limit")
    zoo.add_argument("--json", metavar="PATH", default=None, help="write the merged checks as JSON. Default: not written")
    zoo.add_argument("--html", metavar="FILE", default=None,
                     help="write one self-contained HTML report to FILE (matrix coloured by verdict, causes and reproduction scripts on click, pictures; opens offline). Default: not written")
    zoo.add_argument("--markdown", metavar="PATH", default=None,
                     help="write the Markdown page (tables, counts, one-line causes). Default: not written")
    zoo.add_argument("--no-color", action="store_true", default=False, help="no colours in the matrix. Default: coloured on a terminal")
    merge = commands.add_parser(
        "merge", help="join the JSON files of a sharded test suite, or of tf-roundtrip check runs, into one: matrix, JSON, JUnit",
        description="Join the JSON files that the shards of one pytest suite wrote (pytest --tf-roundtrip-json=PATH, "
                    "one per CI job), or that tf-roundtrip check TARGET --json PATH wrote (one per model), into one "
                    "document of the same schema, print its matrix, and write it. A check's row is its test id, or "
                    "its target for a tf-roundtrip check file. Checks are sorted by row: the order of FILE does not "
                    "matter. Refused (exit 2), saying why and how to fix it: a missing file, a file that is not one of "
                    "these JSON files, a file of another schema_version, and a test id or target in two files "
                    "(overlapping shards: not de-duplicated, the verdicts may differ). Files written with different "
                    "versions are merged with a warning, kept in the document.",
        epilog="Exit status: 0 every merged check passed; 1 a check failed; 2 usage error (a file refused).",
    )
    merge.add_argument("files", nargs="+", metavar="FILE",
                       help="the JSON file of each shard or check run (a merged file counts as its files)")
    merge.add_argument("--json", metavar="PATH", default=None,
                       help="write the merged document to PATH (same schema, with merged_from and warnings). Default: not written")
    merge.add_argument("--html", metavar="FILE", default=None,
                       help="write one self-contained HTML report to FILE (matrix coloured by verdict, causes and reproduction scripts on click, pictures; opens offline). Default: not written")
    merge.add_argument("--junit", metavar="PATH", default=None,
                       help="write JUnit XML to PATH: one testcase per test (or checked target) that ran checks, with "
                            "the properties pytest --junitxml gives it, failed when one of its checks failed. Default: not written")
    merge.add_argument("--no-color", action="store_true", default=False,
                       help="no colours in the matrix. Default: coloured on a terminal")
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line; return its exit status.

    Example:
        >>> main(["check", "no/such/model.keras"], stdout=sys.stdout)
        tf-roundtrip: error: TARGET 'no/such/model.keras' does not exist (expected a .keras or .h5 file, a SavedModel directory, package.module:function, path/to/file.py:function, keras_hub:ClassName or keras_applications:Name)
        2
        >>> main(["merge", "no/such/shard.json"], stdout=sys.stdout)
        tf-roundtrip: error: no/such/shard.json does not exist (expected the JSON file a shard wrote with pytest --tf-roundtrip-json=PATH or tf-roundtrip check TARGET --json PATH)
        2
    """
    out = stdout or sys.stdout
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up lines are not findings
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse already printed what was wrong
        return PASSED if not exit_.code else USAGE_ERROR
    try:
        if args.command == "zoo":
            return _zoo(args, out)
        return _merge(args, out) if args.command == "merge" else _check(args, out)
    except RoundTripUsageError as error:
        print(f"tf-roundtrip: error: {error}", file=out)
        return USAGE_ERROR
    except Exception as error:  # a crash is ours: its own status, never the status of a finding
        import traceback

        cause = error.__cause__ if isinstance(error, RoundTripInternalError) and error.__cause__ else error
        traceback.print_exception(cause, file=out)
        internal = error if isinstance(error, RoundTripInternalError) else RoundTripInternalError.wrapping(error, f"tf-roundtrip {args.command}")
        print(f"tf-roundtrip: {internal}", file=out)
        return INTERNAL_ERROR


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from pytest_tfroundtrip.checks.progress import reporting_progress
    from pytest_tfroundtrip.checks.roundtrip import check_roundtrip
    from pytest_tfroundtrip.formats import AmongFormats, parse_format_names
    from pytest_tfroundtrip.isolation import internal_warnings
    from pytest_tfroundtrip.results import records
    from pytest_tfroundtrip.targets import load_target

    if args.max_examples < 1:
        raise RoundTripUsageError(f"--max-examples must be >= 1, got {args.max_examples}")
    requested = parse_format_names(args.formats) if args.formats else None
    target = load_target(args.target, args.imports, pretrained=args.pretrained)
    if args.fit:
        from pytest_tfroundtrip.zoo.building import fit_a_few_steps

        fit_a_few_steps(target.model, args.fit)
    from pytest_tfroundtrip.zoo.model_inputs import parse_model_inputs

    model_inputs = parse_model_inputs(args.model_inputs or target.model_inputs)
    formats: Any = requested
    if requested is None and target.default_formats is not None:  # limited, but chosen by default: n/a is not a failure
        formats = AmongFormats(tuple(target.default_formats))
    print(f"tf-roundtrip: checking {target.description}", file=out)
    records.COLLECTED.take()
    listener = ProgressDisplay(out, enabled=not args.no_progress)
    status = PASSED
    try:
        with reporting_progress(listener):
            check_roundtrip(target.model, formats=formats, max_examples=args.max_examples, seed=args.seed, inputs=model_inputs,
                            artifacts_dir=args.artifacts_dir, keep_artifacts=args.keep_artifacts,
                            reload_in=args.reload_in, workers=args.workers, rebuild=target.rebuild)
    except RoundTripError as error:
        print("", file=out)
        print(str(error), file=out)
        status = FINDING
    checks = records.COLLECTED.take()
    hidden, first = internal_warnings.COLLECTED.take()
    if hidden:
        text = f"{hidden} warning{'s' if hidden != 1 else ''} raised inside TensorFlow, Keras or a runtime were not shown; " \
               f"the first: {first}"
        print("\n".join(textwrap.wrap(text, shutil.get_terminal_size((100, 24)).columns - 1, subsequent_indent="    ")),
              file=out)
    _print_matrix(checks, args.target, out, colour=not args.no_color and out.isatty())
    if args.json:
        from pytest_tfroundtrip.formats.environment import format_environment
        from pytest_tfroundtrip.results.json_report import write_json_report

        path = write_json_report(Path(args.json), [dict(check, test=None, target=args.target) for check in checks],
                                 target=args.target, environment=format_environment())
        print(f"checks written as JSON to {path}", file=out)
    if args.html:
        from pytest_tfroundtrip.formats.environment import format_environment
        from pytest_tfroundtrip.results.json_report import json_document

        document = json_document([dict(check, test=None) for check in checks], args.target, format_environment())
        _write_html(args.html, document, out)
    return status


def _zoo(args: argparse.Namespace, out: TextIO) -> int:
    from pytest_tfroundtrip.pytest_integration.settings import requested_checks
    from pytest_tfroundtrip.results.json_report import write_json_document
    from pytest_tfroundtrip.results.matrix import matrix_rows
    from pytest_tfroundtrip.zoo.markdown import zoo_counts, zoo_markdown
    from pytest_tfroundtrip.zoo.running import ZooSettings, parse_shard, run_zoo

    for name in ("max_examples", "jobs", "chunk_size"):
        if getattr(args, name) < 1:
            raise RoundTripUsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    requested_checks(args.checks)
    settings = ZooSettings(checks=args.checks, formats=args.formats, max_examples=args.max_examples, jobs=args.jobs,
                           chunk_size=args.chunk_size, shard=parse_shard(args.shard),
                           only=tuple(n.strip() for n in (args.only or "").split(",") if n.strip()),
                           workdir=Path(args.workdir) if args.workdir else None, max_minutes=args.max_minutes)

    def progress(number: int, specs: list[str], outcomes: list[Any]) -> None:
        tally = ", ".join(f"{sum(o.outcome == k for o in outcomes)} {k}" for k in ("passed", "failed", "error", "crashed", "skipped")
                          if any(o.outcome == k for o in outcomes))
        print(f"chunk {number + 1}: {', '.join(s.split(':', 1)[1] for s in specs)}: {tally}", file=out, flush=True)

    print(f"tf-roundtrip: checking the {args.zoo} zoo (shard {args.shard}, checks {args.checks})", file=out, flush=True)
    run = run_zoo(args.zoo, settings, progress)
    checks = run.document["checks"]
    if checks:
        _print_rows(matrix_rows([(check["test"], check) for check in checks]), out, colour=not args.no_color and out.isatty())
    counts = zoo_counts(run)
    print(f"tf-roundtrip zoo {args.zoo}: {counts['models']} models, {counts['checks']} checks in {run.seconds:.0f} s: "
          + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "crashed", "skipped")), file=out)
    for spec, why in run.not_checked:
        print(f"not checked: {spec}: {why}", file=out)
    if run.not_run:
        print(f"not run ({len(run.not_run)}, --max-minutes ran out; the same --workdir continues): "
              + ", ".join(spec.split(":", 1)[1] for spec in run.not_run), file=out)
    for outcome in run.outcomes:
        if outcome.outcome in ("error", "crashed"):
            print(f"could not check {outcome.spec} ({outcome.check}, {outcome.outcome}): {outcome.message.splitlines()[0][:300] if outcome.message else ''}",
                  file=out)
    print(f"chunk results, pytest logs and the artifacts of failures are kept in {run.workdir}"
          + ("" if args.workdir else " (delete it when done; --workdir chooses it and lets a later run continue)"), file=out)
    if args.json:
        print(f"checks written as JSON to {write_json_document(Path(args.json), run.document)}", file=out)
    _write_html(args.html, run.document, out)
    if args.markdown:
        command = _zoo_command(args)
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(zoo_markdown(run, command), encoding="utf-8")
        print(f"Markdown written to {path}", file=out)
    if counts.get("failed", 0):
        return FINDING
    return INTERNAL_ERROR if counts.get("error", 0) or counts.get("crashed", 0) else PASSED


def _zoo_command(args: argparse.Namespace) -> str:
    """The command that regenerates this page: the zoo and every option that differs from its default."""
    defaults = build_parser().parse_args(["zoo", args.zoo])
    parts = ["tf-roundtrip", "zoo", args.zoo]
    for name in ("checks", "formats", "max_examples", "chunk_size", "shard", "only", "workdir", "json", "markdown", "html"):
        value = getattr(args, name)
        if value != getattr(defaults, name):
            parts += [f"--{name.replace('_', '-')}", str(value)]
    return " ".join(parts)


def _merge(args: argparse.Namespace, out: TextIO) -> int:
    from pytest_tfroundtrip.results.json_report import write_json_document
    from pytest_tfroundtrip.results.junit import junit_xml
    from pytest_tfroundtrip.results.matrix import matrix_rows
    from pytest_tfroundtrip.results.merge import merge_files, row_key

    document = merge_files(args.files)
    checks = document["checks"]
    print(f"tf-roundtrip: merged {len(args.files)} file{'s' if len(args.files) != 1 else ''}: "
          f"{len(checks)} check{'s' if len(checks) != 1 else ''}", file=out)
    for warning in document["warnings"]:
        print(f"tf-roundtrip: warning: {warning}", file=out)
    if checks:
        _print_rows(matrix_rows([(row_key(check), check) for check in checks]), out, colour=not args.no_color and out.isatty())
    if args.json:
        path = write_json_document(Path(args.json), document)
        print(f"checks written as JSON to {path}", file=out)
    _write_html(args.html, document, out)
    if args.junit:
        path = Path(args.junit)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(junit_xml(checks) + "\n", encoding="utf-8")
        print(f"JUnit XML written to {path}", file=out)
    return PASSED if all(check["passed"] for check in checks) else FINDING


def _write_html(file: str | None, document: dict[str, Any], out: TextIO) -> None:
    """``--html FILE``: the document as one self-contained HTML page."""
    if file:
        from pytest_tfroundtrip.results.html import write_html_report

        print(f"HTML report written to {write_html_report(Path(file), document)}", file=out)


def _print_matrix(checks: list[dict[str, Any]], target: str, out: TextIO, colour: bool) -> None:
    from pytest_tfroundtrip.results.matrix import MatrixRow

    _print_rows([MatrixRow(target, check) for check in checks], out, colour)


def _print_rows(rows: list[Any], out: TextIO, colour: bool) -> None:
    from pytest_tfroundtrip.results.matrix import matrix_lines

    width = shutil.get_terminal_size((100, 24)).columns
    print("", file=out)
    for line in matrix_lines(rows, [f.name for f in all_formats()], width):
        text = "".join(_COLOUR_CODES[c] + t + "\033[0m" if colour and c else t for t, c in line)
        print(text.rstrip(), file=out)


class ProgressDisplay:
    """Progress per format: a bar redrawn in place on a terminal, one line per format otherwise.

    Formats reloaded in workers overlap, so a line is written whole when its format finishes.

    Example:
        >>> import io
        >>> from pytest_tfroundtrip.results.report import FormatResult
        >>> out = io.StringIO()
        >>> display = ProgressDisplay(out)
        >>> display.format_started("keras", 1, 2); display.format_started("h5", 2, 2)
        >>> display.format_finished(FormatResult("h5", "passed")); display.format_finished(FormatResult("keras", "passed"))
        >>> [line.split(" (")[0] for line in out.getvalue().splitlines()]
        ['[2/2] h5 ... passed', '[1/2] keras ... passed']
    """

    def __init__(self, out: TextIO, enabled: bool = True) -> None:
        self.out = out
        self.enabled = enabled
        self.bar = enabled and out.isatty()
        self._started: dict[str, tuple[int, int, float]] = {}

    def format_started(self, name: str, index: int, total: int) -> None:
        self._started[name] = (index, total, time.perf_counter())
        if not self.enabled or not self.bar:
            return
        width = 20
        filled = width * (index - 1) // max(total, 1)
        self.out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {index}/{total} {name} ...".ljust(60))
        self.out.flush()

    def format_finished(self, result: Any) -> None:
        index, total, started = self._started.pop(result.format, (0, 0, time.perf_counter()))
        if not self.enabled:
            return
        verdict = "not applicable" if getattr(result, "not_applicable", False) else result.status
        seconds = time.perf_counter() - started
        if self.bar:
            self.out.write(f"\r{result.label}: {verdict} ({seconds:.1f} s)".ljust(60) + "\n")
        else:
            self.out.write(f"[{index}/{total}] {result.label} ... {verdict} ({seconds:.1f} s)\n")
        self.out.flush()


def main_exit() -> None:
    """The ``tf-roundtrip`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_exit()
