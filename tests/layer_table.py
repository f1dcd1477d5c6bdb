"""Layer coverage: every public ``keras.layers`` class, alone in a small host model, put through the oracle.

Run:  python -m tests.layer_table --write docs/layer-coverage.md [--only Dense,Conv2D] [--workdir DIR]

``run`` builds one host per class and writes ``docs/layer-coverage.json`` (next to the Markdown file);
``render`` turns that JSON into the Markdown table, and nothing else: tests/test_layer_table.py checks
that the Markdown file is exactly ``render(json)``, that the versions are the installed ones and that the
classes are the installed ``keras.layers`` classes. ``--only`` re-runs some classes and keeps the others'
rows from the existing JSON.

How a host is made (the choice, and why): not drawn from ``model_recipes`` (a random graph may never
place a given class, and other layers in the host would blur which class a verdict is about), but a
``ModelRecipe`` constructed directly from the class's catalogue entry
(pytest_tfroundtrip/generators/layer_catalogue.py): the first input shape of a short fixed list that the
entry accepts (float ``(4,)``, ``(4, 3)``, ``(4, 4, 3)``, ...; int ids in ``[0, 5)``; strings from a
small vocabulary), the entry's kwargs strategy shrunk by hypothesis to its simplest value
(``hypothesis.find``: deterministic), and a functional model ``input(s) -> layer -> output``, untrained
and uncompiled. Attention layers attend to their one input (``layer(x, x)``, self-attention as it is
usually written); merge layers take two inputs of the same shape. If Keras refuses that host (or it gives
a non-finite output), the next accepted shape is tried. A recipe rebuilds in the oracle's fresh
interpreter, so weights and checkpoint are tested like the other formats (rebuild: the same recipe,
another seed, as in tests/test_properties.py). Cells (``LSTMCell``, ...) and ``StackedRNNCells`` are
placed inside ``RNN``, as the catalogue builds them. Aliases (``Convolution2D``, ...) are the same class
object as their target and are listed, not run. The simplest kwargs are sometimes trivial (pool size 1,
zero cropping, ``Reshape`` to the same shape): the table says whether the class saves and reloads, not
whether every setting does.

Unlike plain.py and fresh_loader.py, this script imports the plugin's generators (only to build hosts);
the verdicts themselves are the oracle's.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMMAND = "python -m tests.layer_table --write docs/layer-coverage.md"
MARKDOWN = Path(__file__).resolve().parents[1] / "docs" / "layer-coverage.md"
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
ERROR_WIDTH = 160
WORDS = ("cat", "dog", "bird", "red fish", "blue cat", "the dog")
FLOAT_SHAPES = {2: [(4,), (16,)], 3: [(4, 3), (16, 1)], 4: [(4, 4, 3), (4, 4, 1)], 5: [(3, 3, 3, 2)],
                6: [(2, 3, 3, 3, 1)]}
INT_SHAPES = {2: [(3,)], 3: [(2, 2)]}
STRING_SHAPES = {2: [(1,), (2,)], 3: [(2, 2)]}


def json_path(markdown: str | Path) -> Path:
    """The JSON file kept next to the Markdown one."""
    return Path(markdown).with_suffix(".json")


def versions() -> dict[str, str]:
    """Python, TensorFlow and Keras versions installed."""
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__}


def public_layer_classes() -> dict[str, type]:
    """Every public name of ``keras.layers`` that is a Layer class (aliases included)."""
    import keras

    public = {n: getattr(keras.layers, n) for n in dir(keras.layers) if not n.startswith("_")}
    return {n: c for n, c in public.items() if inspect.isclass(c) and issubclass(c, keras.layers.Layer)}


def layer_names() -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(catalogue classes to run, {alias: target}, {excluded: reason}), from the installed Keras."""
    from pytest_tfroundtrip.generators.layer_catalogue import CATALOGUE, EXCLUDED

    classes = public_layer_classes()
    covered = sorted(n for n in CATALOGUE if n in classes)
    by_id = {id(classes[n]): n for n in covered}
    aliases = {n: by_id[id(c)] for n, c in classes.items() if n not in CATALOGUE and n not in EXCLUDED and id(c) in by_id}
    excluded = {n: EXCLUDED[n] for n in sorted(EXCLUDED) if n in classes}
    return covered, dict(sorted(aliases.items())), excluded


# --- hosts ----------------------------------------------------------------------------------------------------------
def _input_specs(entry: Any) -> list[tuple[Any, Any]]:
    """(InputRecipe, Slot) candidates the entry accepts, simplest first."""
    from pytest_tfroundtrip.generators.layer_catalogue import Slot
    from pytest_tfroundtrip.generators.recipes import InputRecipe

    found = []
    for rank in sorted(entry.ranks):
        if entry.takes == "float":
            specs = [InputRecipe("x", s, "float32") for s in FLOAT_SHAPES.get(rank, [])]
        elif entry.takes == "string":
            specs = [InputRecipe("x", s, "string", vocabulary=WORDS) for s in STRING_SHAPES.get(rank, [])]
        else:  # int or categorical: ids first, then strings for categorical
            specs = [InputRecipe("x", s, "int32", low=0, high=5) for s in INT_SHAPES.get(rank, [])]
            if entry.takes == "categorical":
                specs += [InputRecipe("x", s, "string", vocabulary=WORDS) for s in STRING_SHAPES.get(rank, [])]
        for spec in specs:
            family = "float" if "float" in spec.dtype else spec.dtype if spec.dtype == "string" else "int"
            slot = Slot((None, *spec.shape), family, None if spec.high is None else int(spec.high), spec.vocabulary,
                        spec.dtype)
            if entry.accepts(slot):
                found.append((spec, slot))
    return found


def simplest_kwargs(entry: Any, slot: Any) -> dict[str, Any]:
    """The entry's kwargs strategy on ``slot``, shrunk by hypothesis to its simplest value."""
    from hypothesis import HealthCheck, find, settings

    return find(entry.kwargs(slot), lambda _: True,
                settings=settings(database=None, derandomize=True, max_examples=20,
                                  suppress_health_check=list(HealthCheck)))


def host_recipe(name: str) -> Any:
    """A functional ``ModelRecipe``: input(s) -> the class ``name`` -> output; raises if none works."""
    import keras
    import numpy as np

    from pytest_tfroundtrip.generators.building import untrained_model
    from pytest_tfroundtrip.generators.data import sample_inputs
    from pytest_tfroundtrip.generators.layer_catalogue import CATALOGUE
    from pytest_tfroundtrip.generators.recipes import InputRecipe, LayerRecipe, ModelRecipe, NodeRecipe

    entry = CATALOGUE[name]
    candidates = _input_specs(entry)
    if not candidates:
        raise ValueError(f"no input shape among the script's candidates fits the catalogue entry of {name}")
    last: Exception | None = None
    for spec, slot in candidates:
        try:
            kwargs = simplest_kwargs(entry, slot)
            layer = LayerRecipe(entry.build_as or entry.name, tuple(kwargs.items()))
            if entry.arity == 2 and "Attention" in entry.name:  # self-attention, the common use: layer(x, x)
                recipe = ModelRecipe("functional", (spec,), (NodeRecipe(layer, (0, 0), entry.call),), (1,))
            elif entry.arity == 2:
                inputs = (spec, InputRecipe("y", spec.shape, spec.dtype, spec.sparse, spec.low, spec.high,
                                            spec.vocabulary))
                recipe = ModelRecipe("functional", inputs, (NodeRecipe(layer, (0, 1), entry.call),), (2,),
                                     input_structure="list")
            else:
                recipe = ModelRecipe("functional", (spec,), (NodeRecipe(layer, (0,)),), (1,))
            model = untrained_model(recipe)
            outputs = keras.tree.flatten(model(sample_inputs(recipe, batch=3, seed=1), training=False))
            for out in outputs:
                array = np.asarray(out)
                if array.dtype.kind == "f" and not np.isfinite(array).all():
                    raise ValueError("the host's output is not finite")
            keras.backend.clear_session()
            return recipe
        except Exception as error:  # noqa: BLE001 - try the next shape; the last error is reported
            last = error
            keras.backend.clear_session()
    raise last  # type: ignore[misc]


def rebuild_code(recipe: Any) -> str:
    """Fresh-interpreter code building the same architecture, untrained, from another seed."""
    other = dataclasses.replace(recipe, seed=recipe.seed + 1)
    return ("from pytest_tfroundtrip.generators.building import untrained_model\n"
            "from pytest_tfroundtrip.strategies import ModelRecipe\n"
            f"def build():\n    return untrained_model(ModelRecipe.from_json({other.to_json()!r}))\n")


def _finite(value: float) -> float | str | None:
    """JSON-safe max abs: nan -> None, inf -> "inf"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return "inf" if math.isinf(value) else float(value)


def run_class(name: str, workdir: Path) -> dict[str, Any]:
    """One class's record: {"host": recipe JSON, "verdicts": {format: {status, error, max_abs}}} or {"host_error"}."""
    import keras

    from pytest_tfroundtrip.generators.data import sample_inputs
    from pytest_tfroundtrip.strategies import build_model
    from tests.oracle.plain import FORMATS, _error_text, oracle_verdicts

    try:
        recipe = host_recipe(name)
    except Exception as error:  # noqa: BLE001 - reported in the table's last section
        return {"host_error": _error_text(error)}
    record: dict[str, Any] = {"host": json.loads(recipe.to_json())}
    directory = workdir / name
    try:
        model = build_model(recipe)
        verdicts = oracle_verdicts(model, sample_inputs(recipe, batch=3, seed=1), formats=FORMATS, workdir=directory,
                                   rebuild=rebuild_code(recipe))
        record["verdicts"] = {fmt: {"status": v.status, "error": _clean(v.error, directory), "max_abs": _finite(v.max_abs)}
                              for fmt, v in verdicts.items()}
    except Exception as error:  # noqa: BLE001 - an oracle call that raises: every format a limit of the call
        text = f"oracle call raised {_error_text(error)}"
        record["verdicts"] = {fmt: {"status": "limit", "error": _clean(text, directory), "max_abs": None}
                              for fmt in FORMATS}
    finally:
        keras.backend.clear_session()
        shutil.rmtree(directory, ignore_errors=True)
    return record


def _clean(error: str | None, directory: Path) -> str | None:
    """The error without what differs from run to run or class to class (the run's directory, object
    addresses, the converter's MLIR locations), so the same error reads the same."""
    if error is None:
        return None
    error = error.replace(str(directory.resolve()), "<workdir>").replace(str(directory), "<workdir>")
    error = re.sub(r" at 0x[0-9a-fA-F]+>", ">", error)  # "<function dot at 0x7f...>": an address differs per run
    # The TFLite converter's MLIR location names the layer and a per-process function id: keep its message only.
    located = re.match(r"(.*?)\s*<unknown>:0: error: loc\(.*\)\s*:\s*(.*)$", error, re.DOTALL)
    return f"{located.group(1)} {located.group(2)}".strip() if located else error


def run(markdown: str | Path, only: list[str] | None = None, workdir: str | Path | None = None,
        log: Any = sys.stderr) -> dict[str, Any]:
    """Run the oracle on every class's host (or ``only`` these), write the JSON after each class and return it."""
    from tests.oracle.plain import FORMATS

    covered, aliases, excluded = layer_names()
    target = json_path(markdown)
    previous = json.loads(target.read_text()) if only and target.exists() else {}
    unknown = sorted(set(only or ()) - set(covered))
    if unknown:
        raise SystemExit(f"not a covered keras.layers class: {unknown} (aliases run as their target)")
    data: dict[str, Any] = {
        "command": COMMAND, "versions": versions(), "formats": list(FORMATS), "aliases": aliases, "excluded": excluded,
        "classes": {n: r for n, r in previous.get("classes", {}).items() if n in covered},
        "seconds": previous.get("seconds", {}),
    }
    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="layer_table_"))
    started = time.monotonic()
    todo = only or covered
    for i, name in enumerate(todo, 1):
        begin = time.monotonic()
        data["classes"][name] = run_class(name, base)
        data["seconds"][name] = round(time.monotonic() - begin, 1)
        record = data["classes"][name]
        summary = record.get("host_error") or " ".join(f"{f}:{v['status']}" for f, v in record["verdicts"].items())
        print(f"[{i}/{len(todo)}] {name} ({data['seconds'][name]} s): {summary}", file=log, flush=True)
        data["classes"] = dict(sorted(data["classes"].items()))
        data["seconds"] = dict(sorted(data["seconds"].items()))
        write_json(target, data)
    print(f"done in {time.monotonic() - started:.0f} s", file=log, flush=True)
    if not workdir:
        shutil.rmtree(base, ignore_errors=True)
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


# --- rendering ------------------------------------------------------------------------------------------------------
def short(error: str | None) -> str:
    """First line, cut at about ERROR_WIDTH characters, safe inside a code span."""
    line = (error or "").strip().splitlines()[0] if (error or "").strip() else "(no message)"
    line = line.replace("`", "'")
    return line if len(line) <= ERROR_WIDTH else line[:ERROR_WIDTH - 1].rstrip() + "…"


def render(data: dict[str, Any]) -> str:
    """The Markdown table of a JSON written by :func:`run` (a pure function of it)."""
    formats = data["formats"]
    v = data["versions"]
    hosted = {n: r for n, r in data["classes"].items() if "verdicts" in r}
    unbuilt = {n: r["host_error"] for n, r in data["classes"].items() if "verdicts" not in r}
    notes: dict[str, int] = {}
    rows = []
    for name, record in hosted.items():
        cells = []
        for fmt in formats:
            verdict = record["verdicts"][fmt]
            if verdict["status"] == "pass":
                cells.append("pass")
                continue
            number = notes.setdefault(short(verdict["error"]), len(notes) + 1)
            cells.append(f"{verdict['status']}{str(number).translate(SUPERSCRIPT)}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    every = sum(all(r["verdicts"][f]["status"] == "pass" for f in formats) for r in hosted.values())
    counts = ", ".join(
        f"{fmt} {sum(r['verdicts'][fmt]['status'] == 'limit' for r in hosted.values())}/"
        f"{sum(r['verdicts'][fmt]['status'] == 'differs' for r in hosted.values())}" for fmt in formats)
    seconds = sum(data.get("seconds", {}).values())
    lines = [
        "# Layer coverage: every `keras.layers` class, saved and reloaded in every format",
        "",
        f"TensorFlow {v['tensorflow']}, Keras {v['keras']}, Python {v['python']}. Generated by "
        f"`tests/layer_table.py` from `{Path(data['command'].split('--write ')[-1]).with_suffix('.json')}`; "
        f"regenerate with `{data['command']}` (about {seconds / 60:.0f} min of oracle runs). Do not edit by hand: "
        "`tests/test_layer_table.py` checks that this file is the script's rendering of the JSON.",
        "",
        "Each class is placed alone in a small untrained functional host (input(s) -> layer -> output; the "
        "catalogue entry's simplest kwargs, see the script's docstring), saved here with the plain call of each "
        "format and reloaded and called on 3 samples in a fresh interpreter by the independent oracle "
        "(`tests/oracle/plain.py`). `pass`: same outputs within the oracle's tolerance; `limit`: the plain save, "
        "load or call raised (the note gives its first line); `differs`: the reloaded model ran but gave other "
        "outputs.",
        "",
        f"**Summary:** {len(data['classes'])} classes ({len(hosted)} with a host, {len(unbuilt)} without), "
        f"{len(data['aliases'])} aliases, {len(data['excluded'])} excluded; {every} of {len(hosted)} pass every "
        f"format. Limit/differs per format: {counts}.",
        "",
        "| class | " + " | ".join(formats) + " |",
        "|---|" + "---|" * len(formats),
        *rows,
        "",
    ]
    if notes:
        lines += ["## Notes", ""]
        lines += [f"{number}. `{text}`" for text, number in notes.items()]
        lines.append("")
    if data["aliases"]:
        lines += ["## Aliases (the same class object, not run again)", ""]
        lines += [", ".join(f"{alias} = {target}" for alias, target in data["aliases"].items()), ""]
    if data["excluded"]:
        lines += ["## Excluded classes", "", "| class | reason |", "|---|---|"]
        lines += [f"| {name} | {reason.replace('|', '/')} |" for name, reason in data["excluded"].items()]
        lines.append("")
    lines += ["## Classes without a host", ""]
    lines += [f"- {name}: `{short(error)}`" for name, error in unbuilt.items()] or ["None."]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", required=True, help="the Markdown file (the JSON goes next to it)")
    parser.add_argument("--only", help="comma-separated classes to re-run; the others keep their rows")
    parser.add_argument("--workdir", help="where the oracle saves (default: a temporary directory)")
    parser.add_argument("--render-only", action="store_true", help="re-render the Markdown from the JSON")
    args = parser.parse_args(argv)
    if args.render_only:
        data = json.loads(json_path(args.write).read_text())
    else:
        only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
        data = run(args.write, only, args.workdir)
    Path(args.write).write_text(render(data))
    print(f"wrote {args.write} and {json_path(args.write)}", file=sys.stderr)


if __name__ == "__main__":
    main()
