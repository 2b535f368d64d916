"""The TFLM oracle's worker process: the only place the ``tflite-micro`` interpreter runs.

:mod:`edgegen.oracle` starts this module in a child process (``python -c``, so no user code is
re-imported) and talks to it over two pipes with pickled tuples. TFLM can abort or crash the
process that runs it (a failed ``TFLITE_CHECK`` calls ``abort()``, an out-of-range tensor index
segfaults), so it must never run in edgegen's own process: here a crash only ends this worker,
and the parent turns the exit status into one error line and starts a new worker for the next call.

Protocol (every request gets exactly one final reply; ``run`` streams one result per input set
before it)::

    ("load", key, model | None, intermediates)           -> ("ok", None)
    ("run", key, model | None, intermediates, [inputs])  -> ("loaded",), ("result", outputs, tensors)*,
                                                            ("ok", None)
    ("record", model)                                    -> ("ok", print_allocations text)
    any request                                          -> ("miss",) | ("error", kind, message)

``("loaded",)`` tells the parent that a crash from then on happened while running, not loading.
``model`` is None when the parent hopes the worker still holds the interpreter for ``key``;
``("miss",)`` asks for the request again with the model. Error kinds: ``input`` (the caller's
input arrays are wrong), ``unreadable`` (the flatbuffer cannot be read), ``load`` / ``invoke``
(TFLM refused), ``python`` (any other exception, named by its type).

File descriptors 1 and 2 are the parent's log file: whatever TFLM prints, including its last
words before an abort, stays there for the parent to read. The worker ignores SIGINT (the parent
decides what an interruption means and stops the worker), dies with its parent (Linux
``PR_SET_PDEATHSIG``), and exits when its request pipe closes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

# ------------------------------------------------------------------------------------------
# model facts from the flatbuffer (also used by the parent, which never runs TFLM itself)
# ------------------------------------------------------------------------------------------

_ITEMSIZE = {
    fb.TensorType.FLOAT32: 4, fb.TensorType.INT32: 4, fb.TensorType.UINT32: 4, fb.TensorType.INT8: 1,
    fb.TensorType.UINT8: 1, fb.TensorType.INT16: 2, fb.TensorType.UINT16: 2, fb.TensorType.INT64: 8,
    fb.TensorType.BOOL: 1, fb.TensorType.FLOAT16: 2, fb.TensorType.FLOAT64: 8,
}


class ModelUnreadable(Exception):
    """The flatbuffer cannot be read far enough to run it."""


@dataclass(frozen=True)
class ModelFacts:
    num_tensors: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    #: model inputs then op outputs (first writer order), non-constant, then the variable
    #: (state) tensors, subgraph 0
    traced: tuple[int, ...]
    activation_bytes: int
    num_ops: int


def model_facts(model: bytes) -> ModelFacts:
    """Tensor indices and sizes from the model's own flatbuffer (``GetTensor`` with an index TFLM
    does not know crashes the process, so only these are asked for)."""
    try:
        m = fb.Model.GetRootAs(model, 0)
        if m.SubgraphsLength() < 1:
            raise ModelUnreadable("the model has no subgraph")
        sg = m.Subgraphs(0)
        n = sg.TensorsLength()

        def is_const(t: int) -> bool:
            b = sg.Tensors(t).Buffer()
            if b <= 0 or b >= m.BuffersLength():
                return False
            buf = m.Buffers(b)
            return bool(buf.DataLength() > 0 or buf.Offset() > 1)

        inputs = tuple(int(i) for i in (sg.InputsAsNumpy() if sg.InputsLength() else ()))
        outputs = tuple(int(i) for i in (sg.OutputsAsNumpy() if sg.OutputsLength() else ()))
        traced: list[int] = []
        seen: set[int] = set()
        for t in inputs:
            if 0 <= t < n and t not in seen and not is_const(t):
                seen.add(t)
                traced.append(t)
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            for t in (op.OutputsAsNumpy() if op.OutputsLength() else ()):
                t = int(t)
                if 0 <= t < n and t not in seen and not is_const(t):
                    seen.add(t)
                    traced.append(t)
        # the variable (state) tensors, as the invoke left them (TFLM ignores their buffers)
        for t in range(n):
            if t not in seen and sg.Tensors(t).IsVariable():
                seen.add(t)
                traced.append(t)
        act = 0
        for t in range(n):
            if is_const(t):
                continue
            tensor = sg.Tensors(t)
            count = int(np.prod(tensor.ShapeAsNumpy(), dtype=np.int64)) if tensor.ShapeLength() else 1
            act += (max(count, 1) * _ITEMSIZE.get(tensor.Type(), 8) + 15) // 16 * 16
        return ModelFacts(n, inputs, outputs, tuple(traced), act, sg.OperatorsLength())
    except ModelUnreadable:
        raise
    except Exception as e:  # a malformed flatbuffer raises whatever the generated code hits
        raise ModelUnreadable(f"not a readable flatbuffer ({_exception_name(e)}: {e})") from None


def _exception_name(e: BaseException) -> str:
    """``struct.error``, ``ValueError``: the type as a user would look it up."""
    name, module = type(e).__qualname__, type(e).__module__
    return name if module == "builtins" else f"{module}.{name}"


def run_arena_size(model: bytes, facts: ModelFacts) -> int:
    # kPreserveAllTensors gives every tensor its own bytes; add generous room for TFLM's own
    # structures (per tensor, per op, per-channel quantization data that scales with the model).
    # Too small an arena for the allocator itself crashes TFLM, hence the generosity.
    return 2 * facts.activation_bytes + 512 * facts.num_tensors + 2048 * facts.num_ops + len(model) + (256 << 10)


# ------------------------------------------------------------------------------------------
# the interpreter (worker side only)
# ------------------------------------------------------------------------------------------


class WorkerError(Exception):
    """A failure the worker reports and survives; ``kind`` tells the parent which one."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _runtime() -> Any:
    from tflite_micro.python.tflite_micro import runtime

    return runtime


#: fd 2 is the parent's log file (readable), not its stderr (EDGEGEN_TFLM_VERBOSE)
_LOGGING = False


def _log_size() -> int:
    """Bytes in the log file on fd 2 (0 when fd 2 is the parent's stderr)."""
    return os.fstat(2).st_size if _LOGGING else 0


def _log_since(offset: int) -> str:
    """What TFLM printed to the log since ``offset`` ("" when not logging)."""
    _flush_c_stdio()
    end = _log_size()
    if end <= offset:
        return ""
    try:
        return os.pread(2, min(end - offset, 1 << 16), offset).decode("utf-8", "replace")
    except OSError:
        return ""


def _flush_c_stdio() -> None:
    """C stdio buffers (TFLM's printf) reach the log before the parent reads it."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _captured_fd2() -> Iterator[list[str]]:
    """fds 1 and 2 into a temporary file for the block; the yielded list receives the text."""
    box: list[str] = []
    _flush_c_stdio()
    with tempfile.TemporaryFile() as f:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            yield box
        finally:
            _flush_c_stdio()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            f.seek(0)
            box.append(f.read().decode("utf-8", "replace"))


class Loaded:
    """One TFLM interpreter for one model, reused across input sets.

    ``reset()`` is called between runs so variable tensors (stateful models) start from their
    initial values every time, exactly as a freshly built interpreter would; for stateless models
    it changes nothing (measured: results are identical with or without it).
    """

    def __init__(self, model: bytes, intermediates: bool) -> None:
        try:
            self.facts = model_facts(model)
        except ModelUnreadable as e:
            raise WorkerError("unreadable", str(e)) from None
        self.intermediates = intermediates
        rt = _runtime()
        cfg = rt.InterpreterConfig
        config = cfg.kPreserveAllTensors if intermediates else cfg.kAllocationRecording
        arena = run_arena_size(model, self.facts)
        for _attempt in range(4):
            start = _log_size()
            try:
                self._interp = rt.Interpreter.from_bytes(model, arena_size=arena, intrepreter_config=config)
                break
            except RuntimeError as e:  # TFLM's own refusal
                said = _log_since(start)
                # only a short arena is worth a retry; anything else (an op TFLM lacks, a bad
                # model) fails the same way at any size
                if not any(k in said for k in ("missing:", "too small", "Failed to allocate memory")):
                    raise WorkerError("load", str(e)) from None
                arena *= 4
            except Exception as e:  # the package's Python side choked on the flatbuffer
                raise WorkerError("unreadable", f"tflite-micro's loader raised {_exception_name(e)}: {e}") from None
        else:
            raise WorkerError("load", f"could not allocate the model even with {arena // 4} bytes of arena")
        self._input_details = [self._interp.get_input_details(i) for i in range(len(self.facts.inputs))]
        self._runs = 0

    def _set_inputs(self, inputs: Sequence[np.ndarray]) -> None:
        if len(inputs) != len(self._input_details):
            raise WorkerError("input", f"the model has {len(self._input_details)} inputs, got {len(inputs)}")
        for i, (value, d) in enumerate(zip(inputs, self._input_details, strict=True)):
            arr = np.asarray(value)
            shape = tuple(int(s) for s in d["shape"])
            dtype = np.dtype(d["dtype"])
            if arr.size != int(np.prod(shape, dtype=np.int64)):
                raise WorkerError("input", f"input {i} needs shape {shape} ({int(np.prod(shape))} values), "
                                           f"got {arr.shape}")
            if arr.dtype != dtype:
                cast = arr.astype(dtype)
                if not np.array_equal(cast, arr):
                    raise WorkerError("input", f"input {i} must be {dtype}; its values do not fit")
                arr = cast
            self._interp.set_input(np.ascontiguousarray(arr.reshape(shape)), i)

    def run(self, inputs: Sequence[np.ndarray], reset: bool = True) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """One invoke; ``reset=False`` keeps the variable tensors as the last invoke left them
        (a stream of inputs to a stateful model)."""
        self._set_inputs(inputs)
        try:
            if self._runs and reset:
                self._interp.reset()
            self._interp.invoke()
        except RuntimeError as e:
            raise WorkerError("invoke", str(e)) from None
        self._runs += 1
        outputs = [np.array(self._interp.get_output(i), copy=True) for i in range(len(self.facts.outputs))]
        tensors: dict[int, np.ndarray] = {}
        if self.intermediates:
            for t in self.facts.traced:
                tensors[t] = np.array(self._interp.GetTensor(t, 0)["tensor_data"], copy=True)
        return outputs, tensors


def arena_record_text(model: bytes) -> str:
    """TFLM's ``print_allocations`` after one invoke on zeros (default configuration)."""
    try:
        facts = model_facts(model)
    except ModelUnreadable as e:
        raise WorkerError("unreadable", str(e)) from None
    rt = _runtime()
    try:
        interp = rt.Interpreter.from_bytes(model, arena_size=run_arena_size(model, facts))
    except RuntimeError as e:
        raise WorkerError("load", str(e)) from None
    for i in range(len(facts.inputs)):
        d = interp.get_input_details(i)
        interp.set_input(np.zeros([int(s) for s in d["shape"]], dtype=d["dtype"]), i)
    try:
        interp.invoke()
    except RuntimeError as e:
        raise WorkerError("invoke", str(e)) from None
    with _captured_fd2() as out:
        interp.print_allocations()
    return "".join(out)


# ------------------------------------------------------------------------------------------
# the request loop
# ------------------------------------------------------------------------------------------

#: interpreters kept alive (each holds its model's arena, up to a few MB with every tensor kept)
CACHE_SIZE = 4


class _Miss(Exception):
    pass


class Worker:
    """The request loop and the interpreters it keeps, least recently used evicted first."""

    def __init__(self, requests: Connection, replies: Connection) -> None:
        self.requests = requests
        self.replies = replies
        self.cache: OrderedDict[tuple[bytes, bool], Loaded] = OrderedDict()

    def loaded(self, key: bytes, model: bytes | None, intermediates: bool) -> Loaded:
        entry = self.cache.get((key, intermediates))
        if entry is not None:
            self.cache.move_to_end((key, intermediates))
            return entry
        if model is None:
            raise _Miss
        entry = Loaded(model, intermediates)
        self.cache[(key, intermediates)] = entry
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return entry

    def handle(self, request: tuple[Any, ...]) -> Any:
        op = request[0]
        if op == "load":
            _, key, model, intermediates = request
            self.loaded(key, model, intermediates)
            return None
        if op == "run":
            _, key, model, intermediates, input_sets, *rest = request
            # carry_state: reset before the first input set only, so state flows through the rest
            carry = bool(rest[0]) if rest else False
            entry = self.loaded(key, model, intermediates)
            self.replies.send(("loaded",))
            for k, inputs in enumerate(input_sets):
                outputs, tensors = entry.run(inputs, reset=not carry or k == 0)
                self.replies.send(("result", outputs, tensors))
            return None
        if op == "record":
            return arena_record_text(request[1])
        raise WorkerError("python", f"unknown request {op!r}")

    def serve(self) -> None:
        while True:
            try:
                request = self.requests.recv()
            except (EOFError, OSError):
                return  # the parent closed the pipe (or is gone): nothing more to do
            try:
                reply: tuple[Any, ...] = ("ok", self.handle(request))
            except _Miss:
                reply = ("miss",)
            except WorkerError as e:
                reply = ("error", e.kind, str(e))
            except Exception as e:
                reply = ("error", "python", f"{_exception_name(e)}: {e}")
            _flush_c_stdio()
            try:
                self.replies.send(reply)
            except OSError:
                return


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the parent dies, even in the middle of a TFLM call (Linux); a parent that is
    already gone means exit now."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def main(argv: Sequence[str]) -> None:
    """``argv``: request fd, reply fd, parent pid, "log" (fds 1 and 2 are the parent's log file)
    or "stderr" (they are the parent's stderr)."""
    global _LOGGING
    _LOGGING = argv[3] == "log"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(int(argv[2]))
    worker = Worker(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))
    worker.serve()
