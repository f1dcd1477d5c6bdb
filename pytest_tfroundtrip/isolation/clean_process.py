"""A fresh Python process that cannot see the test session's own code.

It can import installed distributions, but not the test modules, the current
directory, the rootdir or any other ``sys.path`` entry of this session outside
site-packages and the standard library (unless named in ``importable``).
TensorFlow takes seconds to start, so one process serves every artifact of a
check and is reused for the whole session (one per pytest-xdist worker).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from pytest_tfroundtrip.isolation.worker import installed_roots

DEFAULT_TIMEOUT = 180.0

# Only our own package's directory is on sys.path when this runs: the worker
# module then removes the session's directories from the rest before serving.
_BOOTSTRAP = """
import json, sys
init = json.loads(sys.stdin.readline())
sys.path.insert(0, init["paths"][0])
from pytest_tfroundtrip.isolation.worker import start
start(init)
"""


class CleanProcessError(RuntimeError):
    """The clean process could not start, crashed, or did not answer in time."""


def forbidden_paths(extra: list[str] | None = None) -> list[str]:
    """This session's own directories: cwd and sys.path entries outside installed roots."""
    roots = installed_roots()
    candidates = [os.getcwd()] + [p for p in sys.path if p] + list(extra or [])
    forbidden = []
    for entry in candidates:
        real = os.path.realpath(entry)
        inside_installed = any(real == r or real.startswith(r + os.sep) for r in roots)
        if not inside_installed and os.path.isdir(real) and real not in forbidden:
            forbidden.append(real)
    return forbidden


def importable_entries(importable: list[str] | None) -> tuple[list[str], list[str]]:
    """(extra sys.path entries, modules to import) for ``importable`` names or directories."""
    paths, modules = [], []
    for item in importable or []:
        if os.path.isdir(item):
            paths.append(os.path.realpath(item))
            continue
        spec = importlib.util.find_spec(item)
        if spec is None or spec.origin is None:
            raise ValueError(f"importable= names {item!r}, which is neither a directory nor an importable module here")
        # a/b/c.py for "a.b.c" sits 3 levels below the root; a/b/__init__.py for package "a.b" too.
        depth = len(item.split(".")) - (0 if spec.submodule_search_locations is not None else 1)
        paths.append(str(Path(spec.origin).resolve().parents[depth]))
        modules.append(item)
    return paths, modules


def _own_package_dir(holder: Path) -> str:
    """``holder`` exposing only this package (not the project it may sit in)."""
    package = Path(__file__).resolve().parents[1]  # pytest_tfroundtrip/, above isolation/
    (holder / package.name).symlink_to(package, target_is_directory=True)
    return str(holder)


class CleanWorker:
    """One clean process; :meth:`request` sends a JSON request, returns the answer."""

    def __init__(self, importable: list[str] | None = None, python: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 forbidden_extra: list[str] | None = None) -> None:
        paths, modules = importable_entries(importable)
        self.timeout = timeout
        self.started_seconds = 0.0
        self._stderr = tempfile.TemporaryFile()
        self._workdir = tempfile.mkdtemp(prefix="tf-roundtrip-clean-")  # removed by close()
        package_holder, empty_cwd = Path(self._workdir) / "package", Path(self._workdir) / "cwd"
        package_holder.mkdir()
        empty_cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        started = time.perf_counter()
        try:
            self._process = subprocess.Popen(
                [python or sys.executable, "-I", "-c", _BOOTSTRAP], cwd=empty_cwd, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            )
        except OSError as error:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise CleanProcessError(f"could not start the clean process ({python or sys.executable}): {error}") from error
        forbidden = [f for f in forbidden_paths(forbidden_extra) if f not in paths]
        self.info = self._exchange({"paths": [_own_package_dir(package_holder)] + paths, "forbidden": forbidden, "imports": modules},
                                   what="starting (importing TensorFlow)")
        self.started_seconds = time.perf_counter() - started

    def request(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        return self._exchange(message, what)

    def _exchange(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        process = self._process
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fail(f"the clean process exited before {what}")
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            answered = bool(selector.select(self.timeout))
        if not answered:
            self.close()
            raise CleanProcessError(f"the clean process did not answer within {self.timeout:.0f} s while {what}; it was stopped")
        line = process.stdout.readline()
        if not line:
            self._fail(f"the clean process exited while {what}")
        return json.loads(line)

    def _fail(self, message: str) -> NoReturn:
        try:  # it is exiting: wait for it, so the exit code and all its output are known
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0)
        output = self._stderr.read().decode("utf-8", "replace")[-4000:]
        self.close()
        raise CleanProcessError(f"{message} (exit code {code}). Its output:\n{output or '(none)'}")

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._stderr):
            if stream is None:
                continue
            try:  # unclosed, each is a ResourceWarning at exit
                stream.close()
            except BrokenPipeError:  # the process died with our request still buffered; the file is closed anyway
                pass
        shutil.rmtree(self._workdir, ignore_errors=True)


_WORKERS: dict[tuple[Any, ...], CleanWorker] = {}


def shared_worker(importable: list[str] | None, python: str | None, timeout: float) -> tuple[CleanWorker, bool]:
    """The session's clean process for these settings, started if needed; (worker, newly started)."""
    key = (tuple(importable or ()), python, tuple(forbidden_paths()))
    worker = _WORKERS.get(key)
    if worker is not None and worker.alive:
        worker.timeout = timeout
        return worker, False
    worker = CleanWorker(importable, python, timeout)
    _WORKERS[key] = worker
    return worker, True


@atexit.register
def _close_all() -> None:
    for worker in _WORKERS.values():
        worker.close()
