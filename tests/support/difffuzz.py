"""Differential fuzzing: every mutant edgegen accepts must compute exactly what TFLM computes.

The mutants are those of :mod:`tests.support.fuzz` (the shared models and the synthetic all-ops
model, mutated 1 to 4 times). For each case a worker process

1. compiles it as `edgegen build` would (:func:`edgegen.build.compile_tflite`); a refusal
   (an :class:`~edgegen.errors.EdgegenError`) ends the case, and is counted by message category;
2. runs edgegen's simulator on :data:`SAMPLES` seeded random inputs, with every call's output;
3. loads the same bytes into TFLM (the ``tflite-micro`` package, reference kernels), runs the
   same inputs and reads back every tensor an op wrote (``kPreserveAllTensors``);
4. compares every traced tensor and every model output for exact equality.

The case fails (a *finding*) when edgegen raised anything but an EdgegenError, reached the
reader's safety net, crashed or hung, or when it accepted the model and TFLM then refused it,
crashed on it, hung on it, or computed something else. TFLM trusts the file (no flatbuffer
verifier) and aborts or segfaults on some hostile models, so each worker is a separate process:
a worker that dies or exceeds the time limit is replaced, and the stage it was in (edgegen or
TFLM) says whose crash or hang it was. Case ``i`` of run seed ``S`` depends on nothing else:
``run_case(diff_fuzzer(shared, S), i)`` replays it in the current process.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import resource
import signal
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from edgegen.build import compile_tflite
from edgegen.errors import EdgegenError
from edgegen.ir import Activation, Graph
from edgegen.ops.lut import Relu
from edgegen.program import Program
from edgegen.sim import simulate
from edgegen.verify import random_inputs

from .fuzz import Fuzzer, Seed, all_ops_model, category, load_seeds, make_seed

#: random input sets per accepted model
SAMPLES = 2
#: a case taking longer than this (edgegen and TFLM together) is a hang
TIME_LIMIT = 30.0

SAME = "same as TFLM"
#: TFLM registers no RELU_N1_TO_1 kernel; edgegen's follows TFLite's (tests/test_fixedpoint.py)
NO_TFLM_KERNEL = "no TFLM kernel (RELU_N1_TO_1)"
#: outcome prefixes that are findings (everything else is a refusal or SAME)
FINDING_PREFIXES = ("BUG", "DIFF", "TFLM refused", "TFLM crash", "TFLM hang", "edgegen crash", "edgegen hang")


def is_finding(outcome: str) -> bool:
    return outcome.startswith(FINDING_PREFIXES) or "UNCHECKED" in outcome


@dataclass(frozen=True)
class Result:
    index: int
    outcome: str
    seconds: float
    #: for findings: what happened (the first difference, TFLM's message, a traceback)
    detail: str = ""
    #: the case's description (seed model and mutations), for findings
    case: str = ""


def diff_seeds(shared: Path) -> list[Seed]:
    """The reader fuzzer's seeds, with the synthetic model's RELU_N1_TO_1 left out: TFLM has no
    kernel for it (edgegen's follows TFLite's, tests/test_fixedpoint.py), so TFLM would refuse
    every mutant of the seed."""
    return [make_seed(s.name, all_ops_model(relu_n1_to_1=False), s.weight) if s.name == "tiny_all_ops" else s
            for s in load_seeds(shared)]


def diff_fuzzer(shared: Path, run_seed: int) -> Fuzzer:
    """The differential fuzzer's cases: case ``i`` is ``diff_fuzzer(shared, S).case(i)``."""
    return Fuzzer(diff_seeds(shared), run_seed)


# ------------------------------------------------------------------------------------------
# TFLM, in the worker process
# ------------------------------------------------------------------------------------------


class TflmFailure(Exception):
    """TFLM refused the model (Init/Prepare) or failed to invoke it."""


def _arena_bytes(graph: Graph, model: bytes) -> int:
    # kPreserveAllTensors gives every tensor its own bytes; generous room for TFLM's own
    # structures (per tensor, per op, per-channel quantization arrays)
    act = sum((t.nbytes + 15) // 16 * 16 for t in graph.tensors if not t.is_const)
    return 2 * act + 1024 * len(graph.tensors) + 4096 * len(graph.ops) + len(model) + (256 << 10)


class _Log:
    """fds 1 and 2 of the worker go to this file: TFLM prints its complaints there."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="edgegen-difffuzz-", suffix=".log")
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)

    def clear(self) -> None:
        os.ftruncate(1, 0)
        os.lseek(1, 0, os.SEEK_SET)
        os.lseek(2, 0, os.SEEK_SET)

    def text(self) -> str:
        with open(self.path, "rb") as f:
            return f.read()[-2000:].decode("utf-8", "replace").strip()


def _tflm_interpreter(model: bytes, arena: int) -> Any:
    from tflite_micro.python.tflite_micro import runtime as rt

    # the wrapper directly: Interpreter.from_bytes first unpacks the whole model with the
    # flatbuffer object API in Python (to count resource variables, which edgegen refuses)
    preserve = rt._runtime.PythonInterpreterConfig.kPreserveAllTensors
    return rt._runtime.InterpreterWrapper(model, [], arena, 0, preserve, 0)


def run_tflm(model: bytes, graph: Graph, program: Program, samples: Sequence[Sequence[np.ndarray]],
             log: _Log | None) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """Per sample: the model outputs and each call's output tensor, as TFLM computes them."""
    arena = _arena_bytes(graph, model)
    for _attempt in range(3):
        if log:
            log.clear()
        try:
            interp = _tflm_interpreter(model, arena)
            break
        except RuntimeError as e:
            said = log.text() if log else ""
            # only a short arena is worth a retry (without the log, retry on any failure)
            if log and not any(k in said for k in ("missing:", "too small", "Failed to allocate memory")):
                raise TflmFailure(f"TFLM could not load the model: {e}: {said}") from None
            arena *= 4
    else:
        raise TflmFailure(f"TFLM could not allocate the model with {arena // 4} bytes of arena")
    out = []
    for k, sample in enumerate(samples):
        for i, (ref, value) in enumerate(zip(program.inputs, sample, strict=True)):
            dtype = np.float32 if ref.ctype == "float" else np.int8
            interp.SetInputTensor(np.ascontiguousarray(np.asarray(value, dtype=dtype).reshape(ref.shape)), i)
        if log:
            log.clear()
        try:
            if k:
                interp.Reset()
            interp.Invoke()
        except RuntimeError as e:
            raise TflmFailure(f"TFLM invoke failed: {e}: {log.text() if log else ''}") from None
        outputs = [np.array(interp.GetOutputTensor(i), copy=True) for i in range(len(program.outputs))]
        traced = [np.array(interp.GetTensor(c.output.tensor, 0)["tensor_data"], copy=True) for c in program.calls]
        out.append((outputs, traced))
    return out


def _first_difference(got: np.ndarray, expected: np.ndarray) -> str | None:
    a, b = np.asarray(got).reshape(-1), np.asarray(expected).reshape(-1)
    if a.size != b.size:
        return f"{a.size} values from edgegen, {b.size} from TFLM"
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        eq = (a == b) | (np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64)))
    else:
        eq = a.astype(np.int64) == b.astype(np.int64)
    if bool(np.all(eq)):
        return None
    i = int(np.argmin(eq))
    return f"element {i}: edgegen {a[i]}, TFLM {b[i]} ({int(np.size(eq) - np.count_nonzero(eq))} differ)"


def compare(program: Program, sims: Sequence[Any], tflm: Sequence[tuple[list[np.ndarray], list[np.ndarray]]]
            ) -> str | None:
    """The first difference between edgegen's simulator and TFLM, or None."""
    for s, (sim, (outputs, traced)) in enumerate(zip(sims, tflm, strict=True)):
        for call, got, expected in zip(program.calls, sim.trace, traced, strict=True):
            d = _first_difference(got, expected)
            if d is not None:
                return (f"sample {s}, call {call.index} (op {call.op_index} {call.op_name}, tensor "
                        f"{call.output.tensor} '{call.output.name}'): {d}")
        for ref, got, expected in zip(program.outputs, sim.outputs, outputs, strict=True):
            d = _first_difference(got, expected)
            if d is not None:
                return f"sample {s}, model output tensor {ref.tensor} '{ref.name}': {d}"
    return None


# ------------------------------------------------------------------------------------------
# one case
# ------------------------------------------------------------------------------------------

Stage = Callable[[str], None]


def run_case(fuzzer: Fuzzer, index: int, stage: Stage = lambda s: None, log: _Log | None = None) -> Result:
    """Case ``index``, in this process (a TFLM crash ends the process: use :class:`DiffRunner`)."""
    case = fuzzer.case(index)
    t0 = time.perf_counter()

    def result(outcome: str, detail: str = "") -> Result:
        return Result(index, outcome, time.perf_counter() - t0, detail, case.describe() if detail else "")

    stage("edgegen")
    try:
        graph, program = compile_tflite(case.data, name="fuzz", source="fuzz.tflite")
    except EdgegenError as e:
        cat = category(e)
        return result(cat, str(e) if is_finding(cat) else "")
    except Exception as e:  # any other exception is the bug being looked for
        return result(f"BUG {type(e).__name__} (compile)", traceback.format_exc(limit=8))
    samples = random_inputs(program, SAMPLES, seed=index)
    try:
        sims = [simulate(program, s, trace=True) for s in samples]
    except Exception as e:
        return result(f"BUG {type(e).__name__} (simulator)", traceback.format_exc(limit=8))
    stage("tflm")
    try:
        tflm = run_tflm(case.data, graph, program, samples, log)
    except TflmFailure as e:
        if "Didn't find op for builtin opcode 'RELU_N1_TO_1'" in str(e) and any(
                isinstance(op, Relu) and op.kind == Activation.RELU_N1_TO_1 for op in graph.ops):
            return result(NO_TFLM_KERNEL)
        return result("TFLM refused", str(e))
    diff = compare(program, sims, tflm)
    return result(SAME) if diff is None else result("DIFF", diff)


# ------------------------------------------------------------------------------------------
# worker processes
# ------------------------------------------------------------------------------------------


#: what a worker runs per case: (case index, stage callback, TFLM log) -> result
CaseFn = Callable[[int, Stage, _Log | None], Result]


def fuzz_case_fn(shared: Path, run_seed: int) -> tuple[CaseFn, Callable[[int], str]]:
    """The differential fuzzer's case function and case description, for :class:`DiffRunner`."""
    fuzzer = diff_fuzzer(shared, run_seed)
    return (lambda index, stage, log: run_case(fuzzer, index, stage, log)), (lambda i: fuzzer.case(i).describe())


def _worker(conn: Connection, case_fn: CaseFn, max_memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and kills the workers
    faulthandler.disable()  # a crash is reported by the parent, with the case; no stack dump (pytest's)
    if max_memory_mb > 0:
        limit = max_memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    log = _Log()
    warnings.simplefilter("ignore", RuntimeWarning)
    np.seterr(all="ignore")
    try:
        while True:
            index = conn.recv()
            if index is None:
                break
            res = case_fn(index, lambda s: conn.send(("stage", s)), log)
            conn.send(("done", res))
    finally:
        os.unlink(log.path)


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    index: int = -1
    stage: str = ""
    started: float = 0.0


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


@dataclass
class DiffSummary:
    run_seed: int = 0
    cases: int = 0
    seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[Result] = field(default_factory=list)
    slowest: tuple[float, int] = (0.0, -1)
    #: seconds spent on accepted cases (compile, simulate, TFLM, compare)
    compared_seconds: float = 0.0
    #: every case's outcome, by case index
    outcomes: dict[int, str] = field(default_factory=dict)

    def add(self, r: Result, max_findings: int) -> None:
        self.cases += 1
        self.counts[r.outcome] += 1
        self.outcomes[r.index] = r.outcome
        self.slowest = max(self.slowest, (r.seconds, r.index))
        if r.outcome == SAME:
            self.compared_seconds += r.seconds
        if is_finding(r.outcome) and len(self.findings) < max_findings:
            self.findings.append(r)

    @property
    def compared(self) -> int:
        return self.counts[SAME] + sum(v for k, v in self.counts.items() if k.startswith(("DIFF", "TFLM")))

    def merge(self, other: DiffSummary) -> None:
        self.cases += other.cases
        self.counts.update(other.counts)
        self.outcomes.update(other.outcomes)
        self.findings.extend(other.findings)
        self.slowest = max(self.slowest, other.slowest)
        self.compared_seconds += other.compared_seconds

    def table(self) -> str:
        n = sum(v for k, v in self.counts.items() if is_finding(k))
        lines = [
            f"{self.cases} cases of run seed {self.run_seed} in {self.seconds:.1f} s "
            f"({self.cases / max(self.seconds, 1e-9):.0f} cases/s); {self.counts[SAME]} accepted and identical to "
            f"TFLM on every traced tensor ({SAMPLES} inputs each), {n} findings; slowest case "
            f"{self.slowest[0]:.2f} s (case {self.slowest[1]})",
        ]
        width = max((len(k) for k in self.counts), default=10)
        lines += [f"  {k:<{width}}  {v:>7}" for k, v in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return "\n".join(lines)

    def report(self) -> str:
        lines = [self.table()]
        for r in self.findings:
            lines.append(f"FINDING {r.outcome}: {r.case}\n    {r.detail.strip()}")
        return "\n".join(lines)


class DiffRunner:
    """``jobs`` worker processes (forked, so ``case_fn`` needs no pickling); each runs whole
    cases, TFLM included, and is replaced when it dies or overruns ``time_limit``. The stage a
    lost worker was in (``case_fn`` reports "edgegen", then "tflm") names the culprit."""

    def __init__(self, case_fn: CaseFn, describe: Callable[[int], str], *, run_seed: int = 0, jobs: int = 2,
                 time_limit: float = TIME_LIMIT, max_memory_mb: int = 4096, max_findings: int = 50) -> None:
        self.case_fn = case_fn
        self.describe = describe
        self.run_seed = run_seed
        self.jobs = max(1, jobs)
        self.time_limit = time_limit
        self.max_memory_mb = max_memory_mb
        self.max_findings = max_findings
        self.ctx = multiprocessing.get_context("fork")

    @classmethod
    def for_fuzzer(cls, shared: Path, run_seed: int, **kw: Any) -> DiffRunner:
        case_fn, describe = fuzz_case_fn(shared, run_seed)
        return cls(case_fn, describe, run_seed=run_seed, **kw)

    def _start(self) -> _Slot:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.case_fn, self.max_memory_mb), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _stop(self, slot: _Slot, kill: bool) -> None:
        if kill:
            slot.proc.kill()
        else:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        slot.proc.join(5)
        if slot.proc.is_alive():
            slot.proc.kill()
            slot.proc.join()
        slot.conn.close()

    def _lost(self, slot: _Slot, what: str) -> Result:
        index = slot.index
        assert index >= 0
        outcome = f"{'TFLM' if slot.stage == 'tflm' else 'edgegen'} {what}"
        return Result(index, outcome, time.perf_counter() - slot.started, outcome, self.describe(index))

    def run(self, indices: Sequence[int], progress: Callable[[DiffSummary], None] | None = None) -> DiffSummary:
        summary = DiffSummary(run_seed=self.run_seed)
        t0 = time.perf_counter()
        todo = list(reversed(indices))
        slots = [self._start() for _ in range(min(self.jobs, len(todo)))]

        def feed(slot: _Slot) -> None:
            slot.index = todo.pop()
            slot.stage, slot.started = "sent", time.perf_counter()
            slot.conn.send(slot.index)

        try:
            busy = []
            for slot in slots:
                if todo:
                    feed(slot)
                    busy.append(slot)
            while busy:
                now = time.perf_counter()
                timeout = max(0.0, min(s.started + self.time_limit for s in busy) - now) + 0.05
                ready = wait([s.conn for s in busy], timeout=timeout)
                for slot in list(busy):
                    result: Result | None = None
                    replace = False
                    if slot.conn in ready:
                        try:
                            kind, value = slot.conn.recv()
                        except (EOFError, OSError):
                            slot.proc.join(5)
                            result = self._lost(slot, f"crash ({_death(slot.proc.exitcode)})")
                            replace = True
                        else:
                            if kind == "stage":
                                slot.stage = value
                            else:
                                result = value
                    elif time.perf_counter() - slot.started > self.time_limit:
                        result = self._lost(slot, f"hang (over {self.time_limit:.0f} s)")
                        replace = True
                    if result is None:
                        continue
                    summary.add(result, self.max_findings)
                    if progress is not None:
                        progress(summary)
                    busy.remove(slot)
                    slot.index = -1
                    if replace:
                        self._stop(slot, kill=True)
                        slots[slots.index(slot)] = slot = self._start()
                    if todo:
                        feed(slot)
                        busy.append(slot)
        finally:
            for slot in slots:
                self._stop(slot, kill=slot.index >= 0)
        summary.seconds = time.perf_counter() - t0
        return summary
