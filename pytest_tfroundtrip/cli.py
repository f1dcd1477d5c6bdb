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
from pathlib import Path
from typing import Any, TextIO

from pytest_tfroundtrip.command_line.arguments import build_parser
from pytest_tfroundtrip.command_line.printing import print_matrix, print_rows, write_html
from pytest_tfroundtrip.command_line.progress import ProgressDisplay
from pytest_tfroundtrip.errors import RoundTripError, RoundTripInternalError, RoundTripUsageError

PASSED, FINDING, USAGE_ERROR, INTERNAL_ERROR = 0, 1, 2, 3

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
                            reload_in=args.reload_in, workers=args.workers, rebuild=target.rebuild,
                            convert_from_twin=not args.no_twin)
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
    print_matrix(checks, args.target, out, colour=not args.no_color and out.isatty())
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
        write_html(args.html, document, out)
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
        print_rows(matrix_rows([(check["test"], check) for check in checks]), out, colour=not args.no_color and out.isatty())
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
    write_html(args.html, run.document, out)
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
        print_rows(matrix_rows([(row_key(check), check) for check in checks]), out, colour=not args.no_color and out.isatty())
    if args.json:
        path = write_json_document(Path(args.json), document)
        print(f"checks written as JSON to {path}", file=out)
    write_html(args.html, document, out)
    if args.junit:
        path = Path(args.junit)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(junit_xml(checks) + "\n", encoding="utf-8")
        print(f"JUnit XML written to {path}", file=out)
    return PASSED if all(check["passed"] for check in checks) else FINDING


def main_exit() -> None:
    """The ``tf-roundtrip`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    main_exit()
