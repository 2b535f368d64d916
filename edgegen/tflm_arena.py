"""The smallest arena the ``tflite-micro`` package's interpreter accepts for a model, found by
bisection in forked children of a fresh process (a too-small arena can crash TFLM)."""

from __future__ import annotations

import subprocess
import sys

from .oracle import TflmError, one_line
from .tflm_worker import ModelUnreadable, model_facts

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
        try:  # a killed prober (an interrupted edgegen) takes its probe with it
            import ctypes, signal
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)
        except Exception:
            pass
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
    try:
        facts = model_facts(data)
    except ModelUnreadable as e:
        raise TflmError(f"TFLM (the oracle) cannot read the model: {e}") from None
    start = 2 * facts.activation_bytes + 64 * facts.num_tensors + 1024 * facts.num_ops + 4096
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE_SCRIPT, "1" if preserve_all_tensors else "0", "1" if invoke else "0",
             str(start)],
            input=data, capture_output=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise TflmError(f"TFLM (the oracle): measuring its arena took longer than {timeout} s") from None
    text = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not text or not text[-1].isdigit():
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise TflmError(f"TFLM (the oracle) could not allocate the model in any arena up to 2 GiB: "
                        f"{one_line(err) or text}")
    return int(text[-1])
