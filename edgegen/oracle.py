"""TFLite Micro as the bit-exact oracle: run a .tflite through the ``tflite-micro`` package.

* :func:`run_tflm` runs one input set and returns the outputs and (by default) every tensor an op
  wrote, read back through ``kPreserveAllTensors`` so no tensor's bytes are reused.
  :func:`run_tflm_many` and :class:`TflmRunner` run many input sets in one request.
* :func:`tflm_arena_record` is TFLM's own account of its arena for a model (the smallest arena
  the interpreter accepts is :func:`edgegen.tflm_arena.tflm_arena_bytes`).

TFLM never runs in this process. A failed ``TFLITE_CHECK`` inside TFLM calls ``abort()`` and an
out-of-range tensor index segfaults (both found on hostile models), and no Python code survives
either. So every interpreter lives in one persistent worker process (:mod:`edgegen.tflm_worker`),
started on first use and reused, with its interpreters cached per model, so many samples pay the
process start-up (0.1-0.2 s) once. A refusal, an exception in the worker, a crash, an abort, a
non-zero exit or a stalled reply all become :class:`TflmError` (an :class:`EdgegenError`) with one
line naming TFLM, the model and the reason, taken from what TFLM printed (the worker's output goes
to a log file read here, so a successful run prints nothing). A worker that died is replaced on the
next call.

The worker never outlives this process: it exits when its request pipe closes, it is killed when
this process dies (Linux ``PR_SET_PDEATHSIG``), at interpreter exit (``atexit``), and whenever an
exception (a Ctrl-C, a SIGTERM turned into an exception) interrupts a request, since its state is
then unknown. It ignores SIGINT itself: a Ctrl-C at the terminal is this process's to handle.
(``PR_SET_PDEATHSIG`` fires when the *thread* that started the worker ends; a worker found dead
between requests is simply replaced.) Requests from several threads are serialized.
``EDGEGEN_TFLM_VERBOSE=1`` sends the worker's output to this process's stderr instead of the log.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OracleError

__all__ = [
    "TflmArenaRecord",
    "TflmError",
    "TflmResult",
    "TflmRunner",
    "run_tflm",
    "run_tflm_many",
    "start_worker",
    "stop_worker",
    "tflm_arena_record",
    "worker_pid",
]

#: seconds without a reply (one input set's result, or a load) before the worker is declared
#: stuck, killed, and the call fails; a load or an invoke of the largest models takes about 1 s
REPLY_TIMEOUT_S = 300.0
#: the log is emptied between requests once it is this large (successful runs print nothing)
_LOG_LIMIT = 1 << 20
#: how much of TFLM's output goes into an error message
_REASON_CHARS = 400


class TflmError(OracleError):
    """TFLM refused the model, failed to run it, or died trying; the message is one line naming
    TFLM, the model and what TFLM printed."""


@dataclass(frozen=True)
class TflmResult:
    #: the subgraph's outputs, in the model's output order
    outputs: list[np.ndarray]
    #: tensor index -> value, for every non-constant tensor of subgraph 0 that is a model input or
    #: an op's output, and every variable (state) tensor as the invoke left it (empty when run
    #: without intermediates)
    tensors: dict[int, np.ndarray]


def one_line(text: str) -> str:
    """TFLM's output as one line: its lines joined, the tail kept (its last words come last)."""
    line = " ".join(s.strip() for s in text.splitlines() if s.strip())
    return line if len(line) <= _REASON_CHARS else "..." + line[-_REASON_CHARS:]


def _death(returncode: int | None) -> str:
    """How the worker ended, in words."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"was killed by signal {-returncode}"
        return {
            signal.SIGABRT: "aborted (SIGABRT)",
            signal.SIGSEGV: "crashed (SIGSEGV)",
            signal.SIGBUS: "crashed (SIGBUS)",
            signal.SIGFPE: "crashed (SIGFPE)",
            signal.SIGILL: "crashed (SIGILL)",
            signal.SIGKILL: "was killed (SIGKILL; out of memory?)",
        }.get(sig, f"was killed by {sig.name}")
    return f"exited with status {returncode}"


# ------------------------------------------------------------------------------------------
# the worker process, seen from here
# ------------------------------------------------------------------------------------------

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from edgegen.tflm_worker import main; main(sys.argv[2:])"
#: the directory holding this edgegen package, so the worker runs the same code as its parent
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)

Reply = tuple[Any, ...]


class _Worker:
    """The worker process, its two pipes and its log; restarted after it dies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._log = -1

    # -- life cycle --------------------------------------------------------------------------

    def _start(self) -> None:
        verbose = os.environ.get("EDGEGEN_TFLM_VERBOSE", "") not in ("", "0")
        if self._log < 0 and not verbose:
            fd, path = tempfile.mkstemp(prefix="edgegen-tflm-", suffix=".log")
            os.unlink(path)  # nothing is left behind, whatever happens to either process
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
            self._log = fd
        out = 2 if verbose else self._log
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, _PACKAGE_ROOT, str(req_r), str(rep_w), str(os.getpid()),
                 "stderr" if verbose else "log"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, pass_fds=(req_r, rep_w), close_fds=True)
        except BaseException as e:
            for fd in (req_r, req_w, rep_r, rep_w):
                os.close(fd)
            if isinstance(e, OSError):
                raise TflmError(f"TFLM (the oracle): cannot start its worker process {sys.executable} ({e})") from None
            raise
        os.close(req_r)
        os.close(rep_w)
        self._requests = Connection(req_w, readable=False)
        self._replies = Connection(rep_r, writable=False)

    def ensure(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            self.stop()  # died while idle (its parent thread ended, someone killed it): just replace it
        if self.proc is None:
            self._start()

    def stop(self) -> int | None:
        """Kill the worker (if any) and reap it; its exit status."""
        for conn in (self._requests, self._replies):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self._requests = self._replies = None
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        return proc.wait()

    def close(self) -> None:
        """Stop the worker and close the log (at exit: the worker holds nothing worth waiting for)."""
        self.stop()
        if self._log >= 0:
            os.close(self._log)
            self._log = -1

    def forget(self) -> None:
        """In a forked child: the worker belongs to the parent; drop (never stop) it."""
        for conn in (self._requests, self._replies):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        if self._log >= 0:
            with contextlib.suppress(OSError):
                os.close(self._log)
        self.lock = threading.Lock()  # another thread of the parent may have held it
        self.proc, self._requests, self._replies, self._log = None, None, None, -1

    # -- requests ----------------------------------------------------------------------------

    def _log_end(self) -> int:
        if self._log < 0:
            return 0
        size = os.fstat(self._log).st_size
        if size > _LOG_LIMIT:
            os.ftruncate(self._log, 0)  # the worker appends (O_APPEND), so it writes at the new end
            size = 0
        return size

    def _said(self, start: int) -> str:
        """What the worker printed since ``start``, as one line."""
        if self._log < 0:
            return ""
        end = os.fstat(self._log).st_size
        begin = max(start, end - (1 << 16))
        return one_line(os.pread(self._log, end - begin, begin).decode("utf-8", "replace")) if end > begin else ""

    def call(self, request: Reply, name: str,
             on_result: Callable[[Reply], None] | None = None) -> tuple[Reply, str, str]:
        """Send ``request`` about the model called ``name``; ``on_result`` gets each streamed
        result. Returns the final reply, what TFLM printed meanwhile, and what the worker was
        doing ("running kws.tflite"), for error messages."""
        with self.lock:
            self.ensure()
            assert self._requests is not None and self._replies is not None
            start = self._log_end()
            doing = _Doing(request, name)
            try:
                with self._pipe_errors(doing, start):
                    self._requests.send(request)
                while True:
                    with self._pipe_errors(doing, start):
                        if not self._replies.poll(REPLY_TIMEOUT_S):
                            raise TimeoutError
                        reply: Reply = self._replies.recv()
                    if reply[0] not in ("loaded", "result"):
                        return reply, self._said(start), str(doing)
                    doing.saw(reply[0])
                    if reply[0] == "result" and on_result is not None:
                        on_result(reply)
            except BaseException:
                # a dead or stalled worker (already stopped), or an interruption (Ctrl-C,
                # SIGTERM, a failing callback) with replies pending: the worker's state is
                # unknown, so it goes
                self.stop()
                raise

    @contextlib.contextmanager
    def _pipe_errors(self, doing: _Doing, start: int) -> Iterator[None]:
        """A stall, or a broken pipe (the worker died), in the block becomes a TflmError."""
        try:
            yield
        except TimeoutError:
            self.stop()
            raise TflmError(f"TFLM (the oracle) gave no answer for {REPLY_TIMEOUT_S:g} s while {doing}; "
                            "it was stopped") from None
        except (EOFError, OSError):
            code = self.stop()
            said = self._said(start)
            raise TflmError(f"TFLM (the oracle) {_death(code)} while {doing}"
                            + (f": {said}" if said else ", without printing a reason")) from None


class _Doing:
    """What the worker is doing during one request, in words, from the replies streamed so far."""

    def __init__(self, request: Reply, name: str) -> None:
        self.op = request[0]
        self.name = name
        self.loaded = self.op != "run"
        self.results = 0
        self.total = len(request[4]) if self.op == "run" else 0

    def saw(self, what: str) -> None:
        if what == "loaded":
            self.loaded = True
        else:
            self.results += 1

    def __str__(self) -> str:
        if self.op == "record":
            return f"measuring the arena of {self.name}"
        if not self.loaded or self.op == "load":
            return f"loading {self.name}"
        where = f" on input set {self.results + 1} of {self.total}" if self.total > 1 else ""
        return f"running {self.name}{where}"


_WORKER = _Worker()


def _at_exit() -> None:
    _WORKER.close()


def _after_fork_in_child() -> None:
    _WORKER.forget()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)


def start_worker() -> None:
    """Start the worker process now if none runs, without waiting for it: its start-up then
    overlaps whatever the caller does before its first TFLM call (``edgegen verify`` reads and
    lowers the model meanwhile)."""
    with _WORKER.lock:
        _WORKER.ensure()


def stop_worker() -> None:
    """Stop the worker process now (the next call starts a new one). Optional: it stops by itself
    when this process exits."""
    with _WORKER.lock:
        _WORKER.close()


def worker_pid() -> int | None:
    """The worker's process id, or None when none is running (for tests and diagnostics)."""
    proc = _WORKER.proc
    return proc.pid if proc is not None and proc.poll() is None else None


def _failure(reply: Reply, said: str, name: str, doing: str) -> Exception:
    """The exception for an ``("error", kind, message)`` reply."""
    _, kind, message = reply
    if kind == "input":
        return ValueError(message)
    detail = ": ".join(p for p in (one_line(message), said) if p)
    if kind == "unreadable":
        return TflmError(f"TFLM (the oracle) cannot read {name}: {detail}")
    if kind == "load":
        return TflmError(f"TFLM (the oracle) refused to load {name}: {detail}")
    if kind == "invoke":
        return TflmError(f"TFLM (the oracle) failed to run {name}: {detail}")
    return TflmError(f"TFLM (the oracle) failed while {doing}: {detail}")


# ------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """A model as the worker knows it: by the hash of its bytes."""

    data: bytes
    intermediates: bool
    #: how errors name the model (a file name)
    name: str

    @property
    def key(self) -> bytes:
        return hashlib.sha256(self.data).digest()

    def request(self, op: str, tail: tuple[Any, ...] = (), on_result: Callable[[Reply], None] | None = None) -> None:
        key = self.key
        # the model's bytes travel only when the worker does not hold its interpreter (a new
        # worker, or one that evicted it from its cache)
        reply, said, doing = _WORKER.call((op, key, None, self.intermediates, *tail), self.name, on_result)
        if reply[0] == "miss":
            reply, said, doing = _WORKER.call((op, key, self.data, self.intermediates, *tail), self.name, on_result)
        if reply[0] == "error":
            raise _failure(reply, said, self.name, doing)
        if reply[0] != "ok":
            raise TflmError(f"TFLM (the oracle) gave an unexpected answer while {doing}: {reply[0]!r}")

    def run_many(self, input_sets: Sequence[Sequence[np.ndarray]],
                 progress: Callable[[int, int], None] | None, carry_state: bool = False) -> list[TflmResult]:
        sets = [[np.asarray(a) for a in s] for s in input_sets]
        results: list[TflmResult] = []

        def take(reply: Reply) -> None:
            if progress is not None:
                progress(len(results), len(sets))
            results.append(TflmResult(outputs=list(reply[1]), tensors=dict(reply[2])))

        # "run" loads the model first when the worker does not hold it yet
        self.request("run", (sets, carry_state), take)
        return results


class TflmRunner:
    """One model in TFLM, run on any number of input sets (the interpreter stays loaded in the
    worker). Constructing it loads the model, so a model TFLM refuses fails here.

    Between runs the interpreter is ``reset()``, so variable tensors (stateful models) start from
    their initial values every time, exactly as a freshly built interpreter would.
    """

    def __init__(self, model: bytes, *, intermediates: bool = True, name: str | None = None) -> None:
        self.model = bytes(model)
        self.intermediates = intermediates
        self._model = _Model(self.model, intermediates, name or "the model")
        self._model.request("load")

    def run(self, inputs: Sequence[np.ndarray]) -> TflmResult:
        """Invoke once on ``inputs`` (model input order, any array-likes of the right size)."""
        return self._model.run_many([inputs], None)[0]

    def run_many(self, input_sets: Sequence[Sequence[np.ndarray]],
                 progress: Callable[[int, int], None] | None = None, *,
                 carry_state: bool = False) -> list[TflmResult]:
        """Invoke once per input set, all in one request; ``progress(done, total)`` as each
        result arrives. With ``carry_state`` the interpreter is reset before the first set only,
        so a stateful model's variable tensors carry from one invoke to the next (a stream)."""
        return self._model.run_many(input_sets, progress, carry_state)


def run_tflm(model: bytes, inputs: Sequence[np.ndarray], *, intermediates: bool = True,
             name: str | None = None) -> TflmResult:
    """Run ``model`` once in TFLM on ``inputs`` (in the model's input order).

    With ``intermediates`` the result's ``tensors`` holds every non-constant tensor of subgraph 0
    that is a model input or an op's output, by tensor index. ``name`` (a file name) is how
    errors name the model.
    """
    return run_tflm_many(model, [inputs], intermediates=intermediates, name=name)[0]


def run_tflm_many(model: bytes, input_sets: Sequence[Sequence[np.ndarray]], *,
                  intermediates: bool = True,
                  progress: Callable[[int, int], None] | None = None,
                  name: str | None = None) -> list[TflmResult]:
    """:func:`run_tflm` over many input sets in one request to the worker;
    ``progress(done, total)`` as each result arrives."""
    return _Model(bytes(model), intermediates, name or "the model").run_many(input_sets, progress)


# ------------------------------------------------------------------------------------------
# arena record
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TflmArenaRecord:
    """What TFLM's ``RecordingMicroAllocator`` reports after one invoke (``print_allocations``)."""

    total: int
    head: int  # the non-persistent (planned activations + scratch) section
    tail: int  # the persistent section
    #: recorded allocation kind -> bytes used (with alignment overhead)
    by_kind: dict[str, int]


def tflm_arena_record(model: bytes, *, name: str | None = None) -> TflmArenaRecord:
    """TFLM's own account of its arena use for ``model`` (one invoke on zeros, default config).

    ``total`` excludes the interpreter's allocator objects that also live in the arena, so it is
    smaller than :func:`edgegen.tflm_arena.tflm_arena_bytes`.
    """
    label = name or "the model"
    reply, said, doing = _WORKER.call(("record", bytes(model)), label)
    if reply[0] == "error":
        raise _failure(reply, said, label, doing)
    text = str(reply[1])
    total = head = tail = -1
    kinds: dict[str, int] = {}
    for line in text.splitlines():
        words = line.split()
        if "Arena allocation total" in line:
            total = int(words[-2])
        elif "Arena allocation head" in line:
            head = int(words[-2])
        elif "Arena allocation tail" in line:
            tail = int(words[-2])
        elif "' used " in line:
            kinds[line.split("'")[1]] = int(line.split("' used ")[1].split()[0])
    if min(total, head, tail) < 0:
        raise TflmError(f"TFLM (the oracle) printed unexpected allocations for {label}: {one_line(text)!r}")
    return TflmArenaRecord(total=total, head=head, tail=tail, by_kind=kinds)
