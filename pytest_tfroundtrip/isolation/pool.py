"""The worker pool: interpreters that reload what the main process saved, started once per session.

Each worker is a new Python interpreter (:mod:`~pytest_tfroundtrip.isolation.fresh_worker`)
started with a hash seed other than this process's, in its own session so
that Ctrl-C reaches only the main process, which stops them.  The pool is
one per process (one per pytest-xdist worker), started on first use and
reused by every check; :func:`close_pool` stops it, and so do the end of the
session, the interpreter's exit and a signal.  A worker that crashes or
does not answer in time is stopped and replaced; the error says what it
printed.  A worker also exits on its own once this process is gone.
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from pytest_tfroundtrip._lazy import TENSORFLOW, process_backend
from pytest_tfroundtrip.errors import RoundTripInternalError

START_TIMEOUT = 120.0
REQUEST_TIMEOUT = float(os.environ.get("TFROUNDTRIP_WORKER_TIMEOUT", "900"))
WORKER_MARKER = "tf-roundtrip-worker"  # in every worker's command line: tests find leftover processes by it
_OUTPUT_SHOWN = 4000

_BOOTSTRAP = """
import sys
requests_fd, replies_fd, parent_pid, package_parent = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if package_parent not in sys.path:
    sys.path.append(package_parent)
from pytest_tfroundtrip.isolation.fresh_worker import serve
serve(requests_fd, replies_fd, parent_pid)
"""


class WorkerCrashed(Exception):
    """A worker interpreter died or did not answer in time; the message holds its exit and its output."""


def worker_hash_seed(environ: dict[str, str] | None = None) -> str:
    """A ``PYTHONHASHSEED`` other than this process's: the next one if it is fixed, else a fixed one.

    Example:
        >>> worker_hash_seed({"PYTHONHASHSEED": "0"}), worker_hash_seed({})
        ('1', '1')
    """
    parent = (environ if environ is not None else os.environ).get("PYTHONHASHSEED", "")
    return str((int(parent) + 1) % 4294967296) if parent.isdigit() else "1"


_DOING = {
    "start": "while starting (importing Keras and its backend)", "import": "while importing the model's modules",
    "load": "while loading the artifact", "call": "while calling the reloaded artifact",
    "call_many": "while calling the reloaded artifact", "weights": "while reading the reloaded weights",
    "weight_values": "while reading the reloaded weights", "trace": "while reading the reloaded model's layer outputs",
    "resume": "while resuming training", "convert": "while converting the model's twin", "convert_export": "while converting the export to TFLite", "release": "while releasing a reload", "reset": "while releasing reloads",
}


class Worker:
    """One worker interpreter; requests go out as pickled dicts, answers come back the same way."""

    def __init__(self, log_dir: Path, index: int, backend: str = TENSORFLOW) -> None:
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        self.backend = backend
        self.log = log_dir / f"worker-{backend}-{index}.log"
        # Keras reads its backend once, when imported: set here, whatever this process's environment says.
        env = dict(os.environ, PYTHONHASHSEED=worker_hash_seed(), KERAS_BACKEND=backend)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        package_parent = str(Path(__file__).resolve().parents[2])
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(requests_read), str(replies_write), str(os.getpid()),
                 package_parent, WORKER_MARKER],
                pass_fds=(requests_read, replies_write), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )
        os.close(requests_read)
        os.close(replies_write)
        self._requests = Connection(requests_write, readable=False)
        self.replies = Connection(replies_read, writable=False)
        self.info: dict[str, Any] = {}
        # Answers come back in the order requests were sent: request k gets token k, and answers read
        # for a later token while waiting for an earlier one's are kept until asked for.
        self._sent = 1  # token 1: starting, answered by the worker's hello
        self._read = 0
        self._kept: dict[int, dict[str, Any]] = {}
        self._failure: WorkerCrashed | None = None
        self.crashed_at: int | None = None  # the first token the worker did not answer, once it crashed
        self._ops: dict[int, str] = {1: "start"}

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and self._failure is None

    def send(self, message: dict[str, Any]) -> int:
        """Send a request without waiting; the token to :meth:`receive` its answer with."""
        if self._failure is not None:
            raise WorkerCrashed(str(self._failure))
        try:
            self._requests.send(message)
        except (BrokenPipeError, OSError, EOFError):
            raise self._failed(self.crashed()) from None
        self._sent += 1
        self._ops[self._sent] = str(message.get("op"))
        return self._sent

    def settled(self) -> bool:
        """Whether every request sent was answered and read (nothing of a check is still on its way)."""
        return self._read == self._sent and not self._kept

    def answered(self, token: int) -> bool:
        """Whether ``token``'s answer (or the worker's end) can be read without waiting.

        Answers to earlier requests that arrived are read and kept first: one nobody reads yet must not hide
        ``token``'s behind it (a waiter polling for ``token`` would otherwise spin on it forever).
        """
        while self._failure is None and token not in self._kept and self._read < token - 1 and self.replies.poll(0):
            self._keep_next_answer("reading an earlier answer", None)
        return token in self._kept or self._failure is not None or self.replies.poll(0) and self._read + 1 == token

    def receive(self, token: int, what: str, timeout: float | None = None) -> dict[str, Any]:
        """The answer to request ``token``; :class:`WorkerCrashed` if the worker dies or takes longer than ``timeout`` s."""
        while token not in self._kept:
            if self._failure is not None:
                raise WorkerCrashed(str(self._failure))
            self._keep_next_answer(what, timeout)
        reply = self._kept.pop(token)
        if not reply.get("ok") and "internal" in reply:
            raise RoundTripInternalError(f"the worker interpreter failed while {what} (an error of pytest-tfroundtrip, "
                                         f"not a finding):\n{reply['internal']}")
        return reply

    def _keep_next_answer(self, what: str, timeout: float | None) -> None:
        """Read the oldest unread answer and keep it under its token."""
        self._kept[self._read + 1] = self._next_answer(what, timeout)
        self._read += 1
        self._ops.pop(self._read, None)

    def _next_answer(self, what: str, timeout: float | None) -> dict[str, Any]:
        timeout = REQUEST_TIMEOUT if timeout is None else timeout
        if not self.replies.poll(timeout):
            self.stop()
            raise self._failed(WorkerCrashed(
                f"the worker interpreter did not answer within {timeout:.0f} s while {what}; it was stopped "
                f"(TFROUNDTRIP_WORKER_TIMEOUT sets the limit). Its output:\n{self.output()}"))
        try:
            return pickle.loads(self.replies.recv_bytes())
        except (EOFError, OSError):
            raise self._failed(self.crashed()) from None

    def _failed(self, error: WorkerCrashed) -> WorkerCrashed:
        self._failure, self.crashed_at = error, self._read + 1
        return error

    def request(self, message: dict[str, Any], what: str, timeout: float | None = None) -> dict[str, Any]:
        return self.receive(self.send(message), what, timeout)

    def crashed(self) -> WorkerCrashed:
        """The crash, said with what the worker was doing (its oldest unanswered request), how it ended, its output."""
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.process.returncode
        doing = _DOING.get(self._ops.get(self._read + 1, ""), "between requests")
        return WorkerCrashed(f"the worker interpreter crashed {doing} ({exit_description(code)}). Its output:\n{self.output()}")

    def output(self) -> str:
        try:
            text = self.log.read_bytes().decode("utf-8", "replace")
        except OSError:
            return "(none)"
        text = text.strip()
        return ("..." + text[-_OUTPUT_SHOWN:]) if len(text) > _OUTPUT_SHOWN else (text or "(none)")

    def stop(self) -> None:
        if self._failure is None:
            self._failure, self.crashed_at = WorkerCrashed("the worker interpreter was stopped"), self._read + 1
        if self.process.poll() is None and self._read == self._sent:  # idle: it exits when asked
            try:
                self._requests.send({"op": "exit"})
                self.process.wait(timeout=2)
            except (OSError, EOFError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for connection in (self._requests, self.replies):
            connection.close()


def exit_description(code: int | None) -> str:
    """An exit code in words: the signal's name for a process killed by one.

    Example:
        >>> exit_description(-11), exit_description(1)
        ('killed by SIGSEGV', 'exit code 1')
    """
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class WorkerPool:
    """Up to ``size`` workers running Keras on ``backend``, started when first needed and reused;
    :meth:`take` lends, :meth:`give_back` returns."""

    def __init__(self, size: int, backend: str = TENSORFLOW) -> None:
        self.size, self.backend = size, backend
        self._idle: list[Worker] = []
        self._starting: list[Worker] = []  # started by prestart(), not yet asked for
        self._lent: list[Worker] = []
        self._started = 0
        self._log_dir = Path(tempfile.mkdtemp(prefix="tf-roundtrip-workers-"))

    def take(self, count: int) -> list[Worker]:
        """``count`` ready workers (at most the pool's size), started in parallel where needed."""
        count = max(1, min(count, self.size))
        self._idle = [worker for worker in self._idle if worker.alive]
        taken = self._idle[:count]
        del self._idle[:count]
        starting = self._starting[:count - len(taken)]
        del self._starting[:len(starting)]
        fresh = starting + [self._start() for _ in range(count - len(taken) - len(starting))]
        try:
            for worker in fresh:
                self._wait_ready(worker)
        except BaseException:
            for worker in fresh:
                worker.stop()
            self._idle.extend(taken)
            raise
        taken += fresh
        self._lent.extend(taken)
        return taken

    def prestart(self, count: int = 1) -> None:
        """Start workers now without waiting, so their start (importing Keras) overlaps the check's own work:
        up to ``count`` ready or starting workers in all; :meth:`take` waits for them when it needs them.

        Example:
            >>> pool = WorkerPool(1)
            >>> pool.prestart(); pool.prestart()  # the second call finds one starting already
            >>> len(pool.processes()), len(pool.take(1)), pool.started
            (1, 1, 1)
            >>> pool.close()
        """
        self._idle = [worker for worker in self._idle if worker.alive]
        missing = min(count, self.size) - len(self._idle) - len(self._starting)
        self._starting.extend(self._start() for _ in range(max(0, missing)))

    @property
    def started(self) -> int:
        """How many workers this pool has started so far."""
        return self._started

    def replacement(self, worker: Worker) -> Worker:
        """A new worker in place of ``worker`` (crashed, stopped, or holding a stale module), which is stopped."""
        worker.stop()
        if worker in self._lent:
            self._lent.remove(worker)
        return self.take(1)[0]

    def give_back(self, workers: list[Worker]) -> None:
        """Take workers back for the next check: only those idle, with nothing loaded (others are stopped)."""
        for worker in workers:
            if worker in self._lent:
                self._lent.remove(worker)
            if worker.alive and worker.settled() and self._reset(worker):
                self._idle.append(worker)
            else:
                worker.stop()

    @staticmethod
    def _reset(worker: Worker) -> bool:
        """Drop whatever a check left loaded (a check stopped by an error before it released)."""
        try:
            return bool(worker.request({"op": "reset"}, "dropping what a check left loaded", timeout=60).get("ok"))
        except WorkerCrashed:
            return False

    def _start(self) -> Worker:
        self._started += 1
        return Worker(self._log_dir, self._started, self.backend)

    def _wait_ready(self, worker: Worker) -> None:
        try:
            worker.info = worker.receive(1, f"starting (importing Keras on {self.backend})", START_TIMEOUT)
        except WorkerCrashed as error:
            raise RoundTripInternalError(f"a worker interpreter could not start: {error}") from error

    def close(self) -> None:
        for worker in self._idle + self._starting + self._lent:
            worker.stop()
        self._idle, self._starting, self._lent = [], [], []
        shutil.rmtree(self._log_dir, ignore_errors=True)

    def processes(self) -> list[int]:
        return [worker.process.pid for worker in self._idle + self._starting + self._lent if worker.alive]


def wait_for_any(workers: list[Worker], timeout: float | None = None) -> list[Worker]:
    """The workers among ``workers`` with an answer (or an exit) to read within ``timeout`` seconds
    (by default the request timeout, as for one worker's answer): none when none answered in time."""
    timeout = REQUEST_TIMEOUT if timeout is None else timeout
    ready = wait([worker.replies for worker in workers if worker._failure is None], timeout)
    return [worker for worker in workers if worker._failure is not None or worker.replies in ready]


# By process id (a forked child never reuses its parent's workers), then by Keras backend.
_POOL: dict[tuple[int, str], WorkerPool] = {}


def session_pool(size: int, backend: str | None = None) -> WorkerPool:
    """This process's pool of workers running Keras on ``backend`` (by default this process's own backend, the one
    its own formats reload under), grown to ``size`` workers if smaller.

    Example:
        >>> pool = session_pool(1)
        >>> pool.size >= 1, session_pool(1) is pool, pool.backend
        (True, True, 'tensorflow')
        >>> close_pool()
    """
    backend = backend or process_backend()
    key = (os.getpid(), backend)
    pool = _POOL.get(key)
    if pool is None:
        pool = _POOL[key] = WorkerPool(size, backend)
        _install_signal_handlers()
    pool.size = max(pool.size, size)
    return pool


def close_pool() -> None:
    """Stop every worker of this process's pools, every backend's (the next check starts new ones)."""
    for key in [key for key in _POOL if key[0] == os.getpid()]:
        _POOL.pop(key).close()


atexit.register(close_pool)

_HANDLED = (signal.SIGTERM, signal.SIGHUP)


def _install_signal_handlers() -> None:
    """On SIGTERM/SIGHUP, stop the workers, then end as the signal would have (Ctrl-C ends pytest normally)."""
    for signum in _HANDLED:
        previous = signal.getsignal(signum)
        if previous not in (signal.SIG_DFL, None):
            continue  # someone else handles it; the workers still exit when this process is gone

        def handler(number: int, frame: Any, previous: Any = previous) -> None:
            close_pool()
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)

        try:
            signal.signal(signum, handler)
        except ValueError:  # not the main thread
            return


WORKER_BASE_BYTES = 700 * 2**20  # measured: a worker with TensorFlow and Keras imported, before it loads anything
RELOAD_BYTES_PER_WEIGHT_BYTE = 3  # a reloaded copy, its traced functions and a runtime's buffers
# Below this, one worker: measured on the MLP 784-128-10 (0.4 MB of weights), a second worker cost 1.96x the
# memory of the in-process path and saved 0.2 s, since each of its reloads takes well under a second. Kept well
# below MobileNetV3Small (10 MB), whose reloads take seconds each and do gain from workers in parallel.
SMALL_MODEL_BYTES = 2**20


def default_worker_count(formats: int, weight_bytes: int, environ: dict[str, str] | None = None) -> int:
    """Workers for a check: the cores this process may use (shared among pytest-xdist workers), at most one per
    format, and no more than half the machine's memory holds at the model's size; one for a small model, whose
    reloads are too quick for a second worker to pay for its start and memory.

    Example:
        >>> default_worker_count(10, 0, {"PYTEST_XDIST_WORKER_COUNT": "64"})
        1
        >>> default_worker_count(1, 0, {})
        1
        >>> default_worker_count(10, 400_000, {})  # the MLP 784-128-10
        1
    """
    if weight_bytes < SMALL_MODEL_BYTES:
        return 1
    environ = environ if environ is not None else dict(os.environ)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    sharing = environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    cores //= max(1, int(sharing) if sharing.isdigit() else 1)
    count = max(1, min(cores, formats))
    try:
        memory = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return count
    per_worker = WORKER_BASE_BYTES + RELOAD_BYTES_PER_WEIGHT_BYTE * weight_bytes
    return max(1, min(count, int(memory / 2 // per_worker)))
