"""Parity: the simulator against TFLM on every intermediate tensor, and the host C against the
simulator on every kernel call's output. Exact equality; a mismatch names the first divergent
op, the element and both values.

TFLM runs in a worker process (:mod:`edgegen.oracle`), so a model it refuses or crashes on ends
in an :class:`~edgegen.errors.OracleError` that says what TFLM did and what that leaves proven.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .builddir import MODEL_FILE, load_build
from .errors import EdgegenError, OracleError
from .program import Program
from .samples import as_model_inputs, random_inputs
from .sim import simulate

__all__ = ["Mismatch", "ParityReport", "compare_c_sim", "compare_sim_tflm", "random_inputs", "verify_directory"]


@dataclass(frozen=True)
class Mismatch:
    sample: int
    call: int
    op_index: int
    op_name: str
    tensor: str
    element: tuple[int, ...]
    expected: float
    got: float
    what: str  # "sim vs TFLM" or "C vs sim"

    def message(self) -> str:
        return (
            f"{self.what}: first difference at sample {self.sample}, call {self.call} "
            f"(op {self.op_index} {self.op_name}, tensor '{self.tensor}'), element {list(self.element)}: "
            f"expected {self.expected}, got {self.got}"
        )


@dataclass
class ParityReport:
    samples: int = 0
    tensors_compared: int = 0
    sim_vs_tflm: bool | None = None
    c_vs_sim: bool | None = None
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _first_diff(a: np.ndarray, b: np.ndarray) -> tuple[tuple[int, ...], float, float] | None:
    if a.shape != b.shape:
        a = a.reshape(b.shape) if a.size == b.size else a
    if a.shape != b.shape:
        return ((), float("nan"), float("nan"))
    eq = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b
    if bool(np.all(eq)):
        return None
    idx = tuple(int(i) for i in np.argwhere(~eq)[0])
    return idx, float(a[idx]), float(b[idx])


#: progress callback: (step description, done, total)
Progress = Callable[[str, int, int], None]


def compare_sim_tflm(program: Program, tflite: bytes, samples: Sequence[Sequence[np.ndarray]],
                     report: ParityReport, progress: Progress | None = None, *, source: str | None = None) -> None:
    """Simulator == TFLM on every call's output tensor, sample by sample, up to the first mismatch.

    All samples go to TFLM in one request (one worker round trip). Raises
    :class:`~edgegen.oracle.TflmError` (naming the model as ``source``) when TFLM cannot run it.
    """
    from .oracle import run_tflm_many

    tick = None if progress is None else (lambda done, total: progress("running TFLM", done, total))
    refs = run_tflm_many(tflite, [list(s) for s in samples], intermediates=True, progress=tick, name=source)
    for s, (sample, ref) in enumerate(zip(samples, refs, strict=True)):
        if progress:
            progress("simulator vs TFLM", s, len(samples))
        sim = simulate(program, sample, trace=True)
        for call, got in zip(program.calls, sim.trace, strict=True):
            expected = ref.tensors.get(call.output.tensor)
            if expected is None:
                continue
            report.tensors_compared += 1
            d = _first_diff(got, expected)
            if d is not None:
                report.mismatches.append(Mismatch(s, call.index, call.op_index, call.op_name, call.output.name,
                                                  d[0], d[2], d[1], "sim vs TFLM"))
                report.sim_vs_tflm = False
                return
        for i, (got, expected) in enumerate(zip(sim.outputs, ref.outputs, strict=True)):
            d = _first_diff(got, expected)
            if d is not None:
                r = program.outputs[i]
                report.mismatches.append(Mismatch(s, -1, -1, "output", r.name, d[0], d[2], d[1], "sim vs TFLM"))
                report.sim_vs_tflm = False
                return
    report.sim_vs_tflm = True


def compare_c_sim(program: Program, host_traces: Sequence[Sequence[np.ndarray]],
                  host_outputs: Sequence[Sequence[np.ndarray]], samples: Sequence[Sequence[np.ndarray]],
                  report: ParityReport, progress: Progress | None = None) -> None:
    for s, sample in enumerate(samples):
        if progress:
            progress("host C vs simulator", s, len(samples))
        sim = simulate(program, sample, trace=True)
        for call, expected, got in zip(program.calls, sim.trace, host_traces[s], strict=True):
            d = _first_diff(got, expected)
            if d is not None:
                report.mismatches.append(Mismatch(s, call.index, call.op_index, call.op_name, call.output.name,
                                                  d[0], d[2], d[1], "C vs sim"))
                report.c_vs_sim = False
                return
        for i, (expected, got) in enumerate(zip(sim.outputs, host_outputs[s], strict=True)):
            d = _first_diff(got, expected)
            if d is not None:
                r = program.outputs[i]
                report.mismatches.append(Mismatch(s, -1, -1, "output", r.name, d[0], d[2], d[1], "C vs sim"))
                report.c_vs_sim = False
                return
    report.c_vs_sim = True


def verify_directory(directory: Path, samples: Sequence[Sequence[np.ndarray]] | None = None, *, count: int = 20,
                     seed: int = 0, asan: bool = False, progress: Progress | None = None,
                     samples_source: str = "an input sample") -> tuple[ParityReport, Program]:
    """Run the full parity chain on a build directory: TFLM, simulator, host C.

    When TFLM cannot run the model, the host C is still compared with the simulator, and an
    :class:`~edgegen.errors.OracleError` says what TFLM did and whether the C matched.
    """
    from .oracle import TflmError, start_worker

    start_worker()  # TFLM's process starts while the model is read and lowered
    tflite, _graph, program, _meta = load_build(directory)
    given = [as_model_inputs(program, s, source=f"{samples_source} sample {i}") for i, s in enumerate(samples or [])]
    all_samples = given + random_inputs(program, max(count - len(given), 0), seed=seed)
    report = ParityReport(samples=len(all_samples))
    try:
        compare_sim_tflm(program, tflite, all_samples, report, progress, source=str(directory / MODEL_FILE))
    except TflmError as e:
        report.sim_vs_tflm = None
        raise OracleError(_without_tflm(str(e), directory, report, _host_c(directory, program, all_samples, report,
                                                                            asan, progress))) from None
    failure = _host_c(directory, program, all_samples, report, asan, progress)
    if failure is not None:
        raise failure
    return report, program


def _host_c(directory: Path, program: Program, samples: Sequence[Sequence[np.ndarray]], report: ParityReport,
            asan: bool, progress: Progress | None) -> EdgegenError | None:
    """Build and run the host C and compare it with the simulator; the error that stopped it."""
    from .hostrun import build_host, run_host

    try:
        if progress:
            progress("compiling the host C" + (" with ASan+UBSan" if asan else ""), 0, 1)
        exe = build_host(directory, sanitize=asan)
        if progress:
            progress("running the host C", 0, 1)
        run = run_host(exe, program, samples)
        compare_c_sim(program, run.traces, run.outputs, samples, report, progress)
    except EdgegenError as e:
        return e
    return None


def _without_tflm(tflm: str, directory: Path, report: ParityReport, c_failure: EdgegenError | None) -> str:
    """What a TFLM failure leaves proven, in one line: the host C check still ran."""
    if c_failure is not None:
        c = f"the host C could not be checked either ({str(c_failure).splitlines()[0]})"
    elif report.c_vs_sim:
        c = (f"the generated C matches edgegen's simulator on all {report.samples} inputs (the firmware computes "
             "what the simulator computes), but nothing checks that against TFLM")
    else:
        c = f"and the host C differs from the simulator too ({report.mismatches[-1].message()})"
    return f"{tflm.rstrip('.')}. Without TFLM's results edgegen cannot prove parity for {directory}: {c}"
