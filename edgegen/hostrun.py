"""Build the generated C with the host compiler and run it on many inputs through files."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import procs
from .errors import ToolchainError
from .machine import CTYPES
from .program import Program, TensorRef


def _dtype(ref: TensorRef) -> type[np.generic]:
    return CTYPES[ref.ctype]


def build_host(directory: Path, *, sanitize: bool = False) -> Path:
    """``make host`` (or ``host-asan``) in a build directory; returns the executable."""
    for tool in ("make", "cc"):
        if shutil.which(tool) is None:
            raise ToolchainError(f"'{tool}' is not on PATH; install a C toolchain "
                                 "(Debian: apt-get install build-essential)")
    target = "host-asan" if sanitize else "host"
    proc = procs.run(["make", "-s", "-C", str(directory), target])
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ToolchainError(f"compiling {directory} for the host failed:\n{tail}")
    exes = list((directory / "build" / target).glob("*_host"))
    if len(exes) != 1:
        raise ToolchainError(f"make {target} in {directory} did not produce the host executable")
    return exes[0]


@dataclass(frozen=True)
class HostRun:
    outputs: list[tuple[np.ndarray, ...]]  # per sample
    traces: list[tuple[np.ndarray, ...]]  # per sample, per call


def run_host(exe: Path, program: Program, samples: Sequence[Sequence[np.ndarray]], *, timeout: float = 600) -> HostRun:
    with tempfile.TemporaryDirectory(prefix="edgegen-host-") as tmp:
        t = Path(tmp)
        with open(t / "in.bin", "wb") as f:
            for sample in samples:
                for ref, value in zip(program.inputs, sample, strict=True):
                    f.write(np.ascontiguousarray(np.asarray(value, dtype=_dtype(ref)).reshape(-1)).tobytes())
        try:
            proc = procs.run([str(exe), str(t / "in.bin"), str(t / "out.bin"), str(t / "trace.bin")],
                             timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"the host build {exe} did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            tail = proc.stderr.strip()[-3000:]
            raise ToolchainError(f"the host build {exe} failed (exit {proc.returncode}):\n{tail}")
        try:
            out_raw = (t / "out.bin").read_bytes()
            trace_raw = (t / "trace.bin").read_bytes()
        except OSError as e:
            raise ToolchainError(f"the host build {exe} exited without writing its results ({e.strerror}); "
                                 "rebuild the directory with `edgegen build --force`") from None
    # sizes first: a damaged harness must not make the parsing below fail with a numpy error
    want_out = len(samples) * sum(r.size * np.dtype(_dtype(r)).itemsize for r in program.outputs)
    want_trace = len(samples) * sum(c.output.size * np.dtype(_dtype(c.output)).itemsize for c in program.calls)
    if (len(out_raw), len(trace_raw)) != (want_out, want_trace):
        raise ToolchainError(f"the host build {exe} wrote {len(out_raw)} output and {len(trace_raw)} trace bytes, "
                             f"expected {want_out} and {want_trace}; rebuild the directory with "
                             "`edgegen build --force`")
    outputs: list[tuple[np.ndarray, ...]] = []
    traces: list[tuple[np.ndarray, ...]] = []
    pos = tpos = 0
    for _ in samples:
        outs = []
        for ref in program.outputs:
            dt = np.dtype(_dtype(ref))
            n = ref.size * dt.itemsize
            outs.append(np.frombuffer(out_raw[pos : pos + n], dtype=dt).reshape(ref.shape).copy())
            pos += n
        outputs.append(tuple(outs))
        tr = []
        for call in program.calls:
            ref = call.output
            dt = np.dtype(_dtype(ref))
            n = ref.size * dt.itemsize
            tr.append(np.frombuffer(trace_raw[tpos : tpos + n], dtype=dt).reshape(ref.shape).copy())
            tpos += n
        traces.append(tuple(tr))
    return HostRun(outputs=outputs, traces=traces)
