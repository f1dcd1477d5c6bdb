"""The ``tf-roundtrip`` command line's arguments: ``check``, ``zoo`` and ``merge``, with their defaults stated."""

from __future__ import annotations

import argparse
import os

from pytest_tfroundtrip.arguments import DEFAULT_MAX_EXAMPLES
from pytest_tfroundtrip.formats import all_formats


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
    check.add_argument("--no-twin", action="store_true", default=False,
                       help="convert export, TFLite, LiteRT, ONNX and OpenVINO from the original here, not in workers from "
                            "the .keras reload proved identical to it. Default: off (from the twin once keras passed bit for bit)")
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
