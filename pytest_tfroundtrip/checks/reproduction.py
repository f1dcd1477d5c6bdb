"""A runnable script per failing format that reproduces the failure with plain calls.

It loads the failing input and the original model's outputs on it (saved as
``.npz``), reloads the kept artifact the way the format does
(:meth:`~pytest_tfroundtrip.formats.base.RoundTripFormat.reproduction_code`),
and prints the mismatch, or raises the error the format raised.  The failure
message ends with it; ``python reproduce.py`` runs it without this package.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pytest_tfroundtrip.formats.base import RoundTripFormat, Subject
from pytest_tfroundtrip.formats.construction import custom_objects_in
from pytest_tfroundtrip.formats.reproduction_code import for_models_keras
from pytest_tfroundtrip.results.report import CALL, LOAD, MISMATCH, FormatResult

SCRIPT_NAME = "reproduce.py"

_PRINT_MISMATCH = '''for (name, want), have in zip(expected.items(), got):
    have = np.asarray(have)
    if have.shape != want.shape:
        print(f"{name}: shape {have.shape}, the original model gave {want.shape}")
        continue
    error = np.abs(have.astype(np.float64) - want.astype(np.float64))
    error[np.isnan(have) & np.isnan(want)] = 0
    error[np.isnan(error)] = np.inf
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(error), error.shape)) if error.size else ()
    print(f"{name}: max abs error {error.max(initial=0):.6g} at index {worst}: "
          f"expected {want[worst] if error.size else None}, got {have[worst] if error.size else None}")'''


def with_reproduction(fmt: RoundTripFormat, subject: Subject, result: FormatResult, directory: Path,
                      expected: dict[str, np.ndarray] | None) -> FormatResult:
    """``result`` with a reproduction script written under ``directory``, when the format can write one.

    Wrong outputs and errors calling the artifact are reproduced on the failing
    input (``expected``: the original model's outputs on it); a load error by
    loading the kept artifact.  Save errors need the model itself, so the message's
    traceback is their reproduction.  A format that cannot write its lines leaves
    the result as it was: no snippet beats a wrong one.
    """
    failure = result.failure
    if failure is None or result.artifact is None:
        return result
    if failure.stage == LOAD:
        lines = _load_only_lines(fmt, subject, result.artifact)
    elif failure.stage in (MISMATCH, CALL) and failure.input_file is not None and expected is not None:
        lines = _call_lines(fmt, subject, result, directory, expected)
    else:
        return result
    if lines is None:
        return result
    code = "\n".join([f"# Reproduces the [{result.label}] failure found by pytest-tfroundtrip, with plain calls.",
                      *fmt.reproduction_preamble(), *_with_kept_directory(lines, directory.parent)]) + "\n"
    script = directory / SCRIPT_NAME
    script.write_text(code, encoding="utf-8")
    return replace(result, failure=replace(failure, reproduction=script, reproduction_code=code))


def _with_kept_directory(lines: list[str], kept: Path) -> list[str]:
    """The lines with the artifacts directory named once, as ``kept``, so each path reads short.

    Example:
        >>> _with_kept_directory(["m = load('/tmp/run/keras/model.keras')"], Path("/tmp/run"))
        ["kept = '/tmp/run'  # the artifacts this check kept", "m = load(f'{kept}/keras/model.keras')"]
    """
    prefix = repr(str(kept))[:-1] + "/"  # the path as a quoted literal, unterminated: '/tmp/run/
    if "{" in str(kept) or not any(prefix in line for line in lines):
        return lines
    shortened = [line.replace(prefix, "f" + prefix[0] + "{kept}/") for line in lines]
    return [f"kept = {str(kept)!r}  # the artifacts this check kept", *shortened]


def _load_only_lines(fmt: RoundTripFormat, subject: Subject, artifact: Path, clean: bool = False) -> list[str] | None:
    """Lines loading ``artifact`` as ``fmt`` does, then saying so if that did not raise.

    ``clean``: for a failure in the clean process, import none of the model's
    classes and say to run it in an isolated interpreter.
    """
    lines = fmt.reproduction_load_lines(artifact)
    if lines is None:
        return None
    lines = for_models_keras(lines, subject.model)
    if clean:
        setup = ["# Run it as a serving process would: python -I this-file.py, from outside your project."]
    else:
        setup = class_imports(subject.model) if fmt.preserves.needs_python_classes else []
    return [*setup, *lines, "print('loaded without an error: the failure did not reproduce here')"]


def _call_lines(fmt: RoundTripFormat, subject: Subject, result: FormatResult, directory: Path,
                expected: dict[str, np.ndarray]) -> list[str] | None:
    failure = result.failure
    assert failure is not None and result.artifact is not None
    try:
        format_lines = fmt.reproduction_code(subject, result.artifact)
    except Exception:  # the artifact cannot even be opened to read its names: the message says why already
        format_lines = None
    if format_lines is None:
        return None
    format_lines = for_models_keras(format_lines, subject.model)
    if fmt.preserves.needs_python_classes:
        format_lines = class_imports(subject.model) + format_lines
    expected_file = directory / "expected-outputs.npz"
    np.savez(expected_file, **expected)
    return [
        "import numpy as np",
        f"inputs = dict(np.load({str(failure.input_file)!r}))  # the failing input, by model input name",
        f"expected = dict(np.load({str(expected_file)!r}))  # the original model's outputs on it",
        *format_lines,
        _PRINT_MISMATCH if failure.stage == MISMATCH else "print('the call above should raise; it returned', len(got), 'outputs')",
    ]


def class_imports(model: Any) -> list[str]:
    """Lines importing the modules that define the model's custom classes, as loading them needs.

    Each module's import root goes on ``sys.path`` first, so the script runs from any directory.
    """
    by_module: dict[str, list[str]] = {}
    for obj in custom_objects_in(model):
        names = by_module.setdefault(type(obj).__module__, [])
        if type(obj).__name__ not in names:
            names.append(type(obj).__name__)
    lines = []
    for module, names in by_module.items():
        file = getattr(sys.modules.get(module), "__file__", None)
        if module == "__main__" or file is None:
            lines.append(f"# define or import {', '.join(names)} here (they were defined in {module})")
            continue
        depth = module.count(".") + (1 if Path(file).name == "__init__.py" else 0)
        root = Path(file).resolve().parents[depth]
        lines.append(f"import sys; sys.path.insert(0, {str(root)!r}); import {module}  # defines {', '.join(names)}")
    return lines


def load_failure_script(fmt: RoundTripFormat, subject: Subject, artifact: Path, clean: bool) -> Path | None:
    """For check_custom_objects: a script loading ``artifact`` as ``fmt`` does, written beside it.

    ``clean``: the failure was in the clean process (see :func:`_load_only_lines`).
    """
    lines = _load_only_lines(fmt, subject, artifact, clean)
    if lines is None:
        return None
    script = artifact.parent / f"reproduce-{'clean' if clean else 'here'}.py"
    header = f"# Reproduces the [{fmt.name}] load failure found by pytest-tfroundtrip, with plain calls."
    script.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return script
