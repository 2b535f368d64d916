"""TFLite Micro as the bit-exact oracle: run a .tflite through the ``tflite-micro`` package.

* :func:`run_tflm` runs one input set and returns the outputs and (by default) every tensor an op
  wrote, read back through ``kPreserveAllTensors`` so no tensor's bytes are reused. Interpreters
  are cached per model, so calling it once per sample is cheap after the first call;
  :func:`run_tflm_many` and :class:`TflmRunner` make the reuse explicit.
* :func:`tflm_arena_bytes` finds the smallest arena the package's interpreter accepts for a model.

The package's C++ writes its diagnostics straight to file descriptors 1 and 2. Everything here runs
it with both descriptors redirected to a temporary file: a successful run prints nothing, and a
failure raises :class:`TflmError` carrying what TFLM printed.

Hazards found while measuring (tflite-micro 0.dev20261023): ``GetTensor`` with an out-of-range
tensor index, and constructing an interpreter whose arena cannot even hold the allocator, both
crash the process (SIGSEGV) instead of raising. So tensor indices are taken from the model's own
flatbuffer, run arenas are generous, and arena-size probing happens in child processes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

__all__ = [
    "TflmArenaRecord",
    "TflmError",
    "TflmResult",
    "TflmRunner",
    "run_tflm",
    "run_tflm_many",
    "tflm_arena_bytes",
    "tflm_arena_record",
]


class TflmError(RuntimeError):
    """TFLM refused the model or failed to run it; the message includes what TFLM printed."""


@dataclass(frozen=True)
class TflmResult:
    #: the subgraph's outputs, in the model's output order
    outputs: list[np.ndarray]
    #: tensor index -> value, for every non-constant tensor of subgraph 0 that is a model input or
    #: an op's output (empty when run without intermediates)
    tensors: dict[int, np.ndarray]


# ------------------------------------------------------------------------------------------
# quiet C++ output
# ------------------------------------------------------------------------------------------


@contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Redirect fds 1 and 2 to a log file; the yielded list receives the text at exit.

    A TFLITE_CHECK failure inside TFLM calls abort(), which no Python code survives; the log file
    is then left behind (``edgegen-tflm-<pid>.log`` in the temp directory) with TFLM's last words.
    ``EDGEGEN_TFLM_VERBOSE=1`` turns the redirection off altogether.
    """
    box: list[str] = []
    if os.environ.get("EDGEGEN_TFLM_VERBOSE", "") not in ("", "0"):
        yield box
        box.append("")
        return
    sys.stdout.flush()
    sys.stderr.flush()
    path = os.path.join(tempfile.gettempdir(), f"edgegen-tflm-{os.getpid()}.log")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield box
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        os.close(fd)
        os.unlink(path)
        box.append(b"".join(chunks).decode("utf-8", "replace"))


# ------------------------------------------------------------------------------------------
# model facts from the flatbuffer
# ------------------------------------------------------------------------------------------

_ITEMSIZE = {
    fb.TensorType.FLOAT32: 4, fb.TensorType.INT32: 4, fb.TensorType.UINT32: 4, fb.TensorType.INT8: 1,
    fb.TensorType.UINT8: 1, fb.TensorType.INT16: 2, fb.TensorType.UINT16: 2, fb.TensorType.INT64: 8,
    fb.TensorType.BOOL: 1, fb.TensorType.FLOAT16: 2, fb.TensorType.FLOAT64: 8,
}


@dataclass(frozen=True)
class _ModelFacts:
    num_tensors: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    #: model inputs then op outputs (first writer order), non-constant, subgraph 0
    traced: tuple[int, ...]
    activation_bytes: int
    num_ops: int


def _model_facts(model: bytes) -> _ModelFacts:
    try:
        m = fb.Model.GetRootAs(model, 0)
        if m.SubgraphsLength() < 1:
            raise TflmError("the model has no subgraph")
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
        act = 0
        for t in range(n):
            if is_const(t):
                continue
            tensor = sg.Tensors(t)
            count = int(np.prod(tensor.ShapeAsNumpy(), dtype=np.int64)) if tensor.ShapeLength() else 1
            act += (max(count, 1) * _ITEMSIZE.get(tensor.Type(), 8) + 15) // 16 * 16
        return _ModelFacts(n, inputs, outputs, tuple(traced), act, sg.OperatorsLength())
    except TflmError:
        raise
    except Exception as e:  # a malformed flatbuffer raises whatever the generated code hits
        raise TflmError(f"cannot read the model's flatbuffer: {e}") from None


def _run_arena_size(model: bytes, facts: _ModelFacts) -> int:
    # kPreserveAllTensors gives every tensor its own bytes; add generous room for TFLM's own
    # structures (per tensor, per op, per-channel quantization data that scales with the model).
    return 2 * facts.activation_bytes + 512 * facts.num_tensors + 2048 * facts.num_ops + len(model) + (256 << 10)


# ------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------


def _runtime() -> Any:
    from tflite_micro.python.tflite_micro import runtime

    return runtime


class TflmRunner:
    """One TFLM interpreter for one model, reused across input sets.

    ``reset()`` is called between runs so variable tensors (stateful models) start from their
    initial values every time, exactly as a freshly built interpreter would; for stateless models
    it changes nothing (measured: results are identical with or without it).
    """

    def __init__(self, model: bytes, *, intermediates: bool = True) -> None:
        self.model = bytes(model)
        self.intermediates = intermediates
        self.facts = _model_facts(self.model)
        rt = _runtime()
        cfg = rt.InterpreterConfig
        config = cfg.kPreserveAllTensors if intermediates else cfg.kAllocationRecording
        arena = _run_arena_size(self.model, self.facts)
        for _attempt in range(4):
            try:
                with _captured_fds() as out:
                    self._interp = rt.Interpreter.from_bytes(self.model, arena_size=arena, intrepreter_config=config)
                break
            except RuntimeError as e:
                said = "".join(out).strip()
                # only a short arena is worth a retry; anything else (an op TFLM lacks, a bad
                # model) fails the same way at any size
                if not any(k in said for k in ("missing:", "too small", "Failed to allocate memory")):
                    raise TflmError(f"TFLM could not load the model: {e}: {said}") from None
                arena *= 4
        else:
            raise TflmError(f"TFLM could not allocate the model even with {arena // 4} bytes of arena")
        self._input_details = [self._interp.get_input_details(i) for i in range(len(self.facts.inputs))]
        self._runs = 0

    def _set_inputs(self, inputs: Sequence[np.ndarray]) -> None:
        if len(inputs) != len(self._input_details):
            raise ValueError(f"the model has {len(self._input_details)} inputs, got {len(inputs)}")
        for i, (value, d) in enumerate(zip(inputs, self._input_details, strict=True)):
            arr = np.asarray(value)
            shape = tuple(int(s) for s in d["shape"])
            dtype = np.dtype(d["dtype"])
            if arr.size != int(np.prod(shape, dtype=np.int64)):
                raise ValueError(f"input {i} needs shape {shape} ({int(np.prod(shape))} values), got {arr.shape}")
            if arr.dtype != dtype:
                cast = arr.astype(dtype)
                if not np.array_equal(cast, arr):
                    raise ValueError(f"input {i} must be {dtype}; its values do not fit")
                arr = cast
            self._interp.set_input(np.ascontiguousarray(arr.reshape(shape)), i)

    def run(self, inputs: Sequence[np.ndarray]) -> TflmResult:
        """Invoke once on ``inputs`` (model input order, any array-likes of the right size)."""
        self._set_inputs(inputs)
        with _captured_fds() as out:
            try:
                if self._runs:
                    self._interp.reset()
                self._interp.invoke()
                ok = ""
            except RuntimeError as e:
                ok = str(e)
        if ok:
            raise TflmError(f"TFLM invoke failed: {ok}: {''.join(out).strip()}")
        self._runs += 1
        outputs = [np.array(self._interp.get_output(i), copy=True) for i in range(len(self.facts.outputs))]
        tensors: dict[int, np.ndarray] = {}
        if self.intermediates:
            for t in self.facts.traced:
                tensors[t] = np.array(self._interp.GetTensor(t, 0)["tensor_data"], copy=True)
        return TflmResult(outputs=outputs, tensors=tensors)


_CACHE: OrderedDict[tuple[bytes, bool], TflmRunner] = OrderedDict()
_CACHE_SIZE = 4


def _runner(model: bytes, intermediates: bool) -> TflmRunner:
    key = (hashlib.sha256(model).digest(), intermediates)
    r = _CACHE.get(key)
    if r is None:
        r = TflmRunner(model, intermediates=intermediates)
        _CACHE[key] = r
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return r


def run_tflm(model: bytes, inputs: Sequence[np.ndarray], *, intermediates: bool = True) -> TflmResult:
    """Run ``model`` once in TFLM on ``inputs`` (in the model's input order).

    With ``intermediates`` the result's ``tensors`` holds every non-constant tensor of subgraph 0
    that is a model input or an op's output, by tensor index.
    """
    return _runner(bytes(model), intermediates).run(inputs)


def run_tflm_many(model: bytes, input_sets: Sequence[Sequence[np.ndarray]], *,
                  intermediates: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> list[TflmResult]:
    """:func:`run_tflm` over many input sets with one interpreter; ``progress(done, total)``
    before each."""
    r = _runner(bytes(model), intermediates)
    out = []
    for i, s in enumerate(input_sets):
        if progress is not None:
            progress(i, len(input_sets))
        out.append(r.run(s))
    return out


# ------------------------------------------------------------------------------------------
# arena size
# ------------------------------------------------------------------------------------------

# Runs in a fresh interpreter process (single-threaded, so fork() is safe): each probe forks a
# child that builds the interpreter with the given arena (and invokes it once on zeros); the exit
# status says whether it worked. A crash in a too-small arena only kills that child.
_PROBE_SCRIPT = r"""
import os, sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime as rt

model = sys.stdin.buffer.read()
preserve = sys.argv[1] == "1"
do_invoke = sys.argv[2] == "1"
start = int(sys.argv[3])
config = rt.InterpreterConfig.kPreserveAllTensors if preserve else rt.InterpreterConfig.kAllocationRecording

def probe(n):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            it = rt.Interpreter.from_bytes(model, arena_size=n, intrepreter_config=config)
            if do_invoke:
                i = 0
                while True:
                    try:
                        d = it.get_input_details(i)
                    except Exception:
                        break
                    it.set_input(np.zeros([int(s) for s in d["shape"]], dtype=d["dtype"]), i)
                    i += 1
                it.invoke()
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return status == 0

hi = max(start, 1024)
while not probe(hi):
    hi *= 2
    if hi > (1 << 31):
        print("FAIL")
        sys.exit(0)
lo = 0
while hi - lo > 1:
    mid = (lo + hi) // 2
    if probe(mid):
        hi = mid
    else:
        lo = mid
print(hi)
"""


def tflm_arena_bytes(model: bytes, *, preserve_all_tensors: bool = False, invoke: bool = True,
                     timeout: float = 300.0) -> int:
    """The smallest ``arena_size`` (bytes) for which the tflite-micro interpreter loads ``model``
    (and, with ``invoke``, runs it once on zero inputs).

    A bisection over the arena size, each probe in a forked child of a fresh Python process
    (too-small arenas can crash TFLM). The default configuration is the package's default
    (``kAllocationRecording``: TFLM's memory planner shares activation bytes, like a deployed
    ``MicroInterpreter``); ``preserve_all_tensors`` measures the no-reuse configuration instead.
    The figure includes everything TFLM places in the arena: the interpreter's allocator objects,
    tensor structs, node data, persistent op data and the planned activations and scratch.
    About 0.3-0.5 s per model (one process start plus ~20 forks).
    """
    data = bytes(model)
    facts = _model_facts(data)
    start = 2 * facts.activation_bytes + 64 * facts.num_tensors + 1024 * facts.num_ops + 4096
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE_SCRIPT, "1" if preserve_all_tensors else "0", "1" if invoke else "0",
             str(start)],
            input=data, capture_output=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise TflmError(f"measuring the TFLM arena took longer than {timeout} s") from None
    text = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not text or not text[-1].isdigit():
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise TflmError(f"TFLM could not allocate the model in any arena up to 2 GiB: {err or text}")
    return int(text[-1])


@dataclass(frozen=True)
class TflmArenaRecord:
    """What TFLM's ``RecordingMicroAllocator`` reports after one invoke (``print_allocations``)."""

    total: int
    head: int  # the non-persistent (planned activations + scratch) section
    tail: int  # the persistent section
    #: recorded allocation kind -> bytes used (with alignment overhead)
    by_kind: dict[str, int]


def tflm_arena_record(model: bytes) -> TflmArenaRecord:
    """TFLM's own account of its arena use for ``model`` (one invoke on zeros, default config).

    ``total`` excludes the interpreter's allocator objects that also live in the arena, so it is
    smaller than :func:`tflm_arena_bytes`.
    """
    data = bytes(model)
    facts = _model_facts(data)
    rt = _runtime()
    with _captured_fds():
        interp = rt.Interpreter.from_bytes(data, arena_size=_run_arena_size(data, facts))
    for i in range(len(facts.inputs)):
        d = interp.get_input_details(i)
        interp.set_input(np.zeros([int(s) for s in d["shape"]], dtype=d["dtype"]), i)
    with _captured_fds():
        interp.invoke()
    with _captured_fds() as out:
        interp.print_allocations()
    total = head = tail = -1
    kinds: dict[str, int] = {}
    for line in "".join(out).splitlines():
        words = line.split()
        if "Arena allocation total" in line:
            total = int(words[-2])
        elif "Arena allocation head" in line:
            head = int(words[-2])
        elif "Arena allocation tail" in line:
            tail = int(words[-2])
        elif "' used " in line:
            name = line.split("'")[1]
            kinds[name] = int(line.split("' used ")[1].split()[0])
    if min(total, head, tail) < 0:
        raise TflmError(f"unexpected print_allocations output: {''.join(out)!r}")
    return TflmArenaRecord(total=total, head=head, tail=tail, by_kind=kinds)
