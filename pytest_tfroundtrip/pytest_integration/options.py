"""The plugin's command-line options and ini settings."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_tfroundtrip.arguments import DEFAULT_MAX_EXAMPLES
from pytest_tfroundtrip.formats import all_formats
from pytest_tfroundtrip.pytest_integration.settings import DEFAULT_BASELINE_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tf-roundtrip", "pytest-tfroundtrip: save/reload checks of Keras models")
    names = ", ".join(f.name for f in all_formats())
    group.addoption(
        "--tf-roundtrip-formats", default=None, metavar="NAMES",
        help=f"comma-separated formats to check, from: {names}. "
             "Default: every format available here (ini: tf_roundtrip_formats).",
    )
    group.addoption(
        "--tf-roundtrip-max-examples", type=int, default=None, metavar="N",
        help=f"hypothesis examples per check. Default: {DEFAULT_MAX_EXAMPLES} (ini: tf_roundtrip_max_examples).",
    )
    group.addoption(
        "--tf-roundtrip-keep-artifacts", action="store_true", default=None,
        help="keep saved artifacts after passing checks too (they are always kept on failure, "
             "under pytest's temporary directory). Default: off (ini: tf_roundtrip_keep_artifacts).",
    )
    group.addoption(
        "--tf-roundtrip-show-internal-warnings", action="store_true", default=False,
        help="show every warning raised inside TensorFlow, Keras and the runtimes during the checks. "
             "Default: off (they are counted, and the first one shown, at the end of the run).",
    )
    group.addoption(
        "--tf-roundtrip-no-matrix", action="store_true", default=None,
        help="do not print the model-by-format table at the end of the run. Default: printed when a check ran "
             "(ini: tf_roundtrip_matrix = false turns it off too).",
    )
    group.addoption(
        "--tf-roundtrip-json", default=None, metavar="PATH",
        help="write every check (verdicts, errors, timings, artifact and failing-input paths, versions) as JSON "
             "to PATH, in the schema pytest_tfroundtrip/results/schema.json. Default: not written.",
    )
    group.addoption(
        "--tf-roundtrip-html", default=None, metavar="FILE",
        help="write one self-contained HTML report of every check to FILE: the model-by-format matrix coloured by "
             "verdict, each cell's cause, failing input and reproduction script on click, versions, time per format and "
             "pictures; it opens offline. Default: not written (ini: tf_roundtrip_html).",
    )
    group.addoption(
        "--tf-roundtrip-update-baselines", action="store_true", default=False,
        help="rewrite the golden baselines that tf_roundtrip.check_baseline() reads, from the models as they are now; "
             "those tests pass and the summary lists what was written. Default: off (a missing baseline is created "
             "and its test fails until it is committed; an existing one is compared).",
    )
    group.addoption(
        "--tf-roundtrip-baseline-dir", default=None, metavar="DIR",
        help=f"where baselines live, relative to the rootdir. Default: {DEFAULT_BASELINE_DIR} "
             "(ini: tf_roundtrip_baseline_dir).",
    )
    group.addoption(
        "--tf-roundtrip-reload-in", choices=("fresh", "process"), default=None,
        help="where check() reloads each artifact: 'fresh' worker interpreters that did not save it (another hash seed, "
             "the model's modules imported), or 'process', this one. Default: fresh (ini: tf_roundtrip_reload_in).",
    )
    group.addoption(
        "--tf-roundtrip-workers", type=int, default=None, metavar="N",
        help="worker interpreters that reload formats at once, per pytest-xdist worker. Default: the cores (shared "
             "among xdist workers) and the memory the model needs (ini: tf_roundtrip_workers).",
    )
    group.addoption(
        "--tf-roundtrip-no-twin", action="store_true", default=False,
        help="convert export, TFLite, LiteRT, ONNX and OpenVINO from the original model in this process, never in a worker "
             "from the .keras reload proved identical to it (ini: tf_roundtrip_convert_from_twin = false).",
    )
    add_model_options(group)
    parser.addini("tf_roundtrip_html", "write the HTML report to this file, relative to the rootdir. Default: not written.",
                  default="")
    parser.addini("tf_roundtrip_reload_in", "fresh (default) or process: where check() reloads artifacts.", default="")
    parser.addini("tf_roundtrip_convert_from_twin", "true (default) or false: whether check() may convert the live model's "
                  "formats in workers from a twin the keras round trip proved identical.", default="")
    parser.addini("tf_roundtrip_workers", "worker interpreters per pytest-xdist worker. Default: from cores and memory.", default="")
    parser.addini("tf_roundtrip_baseline_dir", f"where baselines live, relative to the rootdir. Default: {DEFAULT_BASELINE_DIR}.",
                  default="")
    parser.addini("tf_roundtrip_matrix", "print the model-by-format table at the end of the run. Default: true.",
                  type="bool", default=True)
    parser.addini("tf_roundtrip_formats", f"formats to check (comma-separated, from: {names}). Default: all available.", default="")
    parser.addini("tf_roundtrip_max_examples", f"hypothesis examples per check. Default: {DEFAULT_MAX_EXAMPLES}.", default="")
    parser.addini("tf_roundtrip_keep_artifacts", "keep artifacts of passing checks. Default: false.", type="bool", default=False)


def add_model_options(group: Any) -> None:
    """The ``--tf-roundtrip-model*`` options, in the plugin's option group."""
    group.addoption(
        "--tf-roundtrip-model", action="append", default=[], metavar="SPEC",
        help="check the model SPEC names, with no test file: keras_hub:ClassName (a tiny configuration, random weights; "
             "@preset with --tf-roundtrip-pretrained), keras_applications:Name[@size], package.module:factory, "
             "path/to/file.py:factory, a .keras/.h5 file or a SavedModel directory. Repeatable; one test per spec and "
             "check. Default: none.",
    )
    group.addoption(
        "--tf-roundtrip-model-formats", default=None, metavar="NAMES",
        help="formats the --tf-roundtrip-model checks choose among, as by default: one that cannot take the model is "
             "'not applicable' with the reason (--tf-roundtrip-formats names formats that must work). Applies to the round "
             "trip; the other checks keep their own defaults. Default: all available.",
    )
    group.addoption(
        "--tf-roundtrip-model-checks", default=None, metavar="NAMES",
        help="which checks --tf-roundtrip-model runs, from: roundtrip, custom_objects, resume_training "
             "(skipped for an uncompiled model). Default: all three.",
    )
    group.addoption(
        "--tf-roundtrip-model-inputs", default=None, metavar="JSON|TOML|PATH",
        help="describe inputs of the --tf-roundtrip-model model that inference cannot size: input name -> shape "
             "(batch first), dtype, fill (ones/zeros) or range [low, high]; inline JSON/TOML or a .json/.toml file. "
             "Default: inferred (keras-hub models that need it carry their own).",
    )
    group.addoption(
        "--tf-roundtrip-pretrained", action="store_true", default=False,
        help="allow keras_hub:Class@preset specs to load (download) preset weights. Default: off.",
    )
    group.addoption(
        "--tf-roundtrip-model-fit", type=int, nargs="?", const=4, default=0, metavar="STEPS",
        help="train a compiled --tf-roundtrip-model model STEPS batches (4 if no number) before checking it, so its "
             "optimizer has state. Default: 0, not trained.",
    )
