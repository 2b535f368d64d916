"""Execute a :class:`Program` with numpy integer arithmetic, bit-exact with TFLM and the C.

The simulator runs in a real byte arena laid out by the program's memory plan
(:class:`~edgegen.machine.Machine`), so a planning mistake (two live tensors sharing bytes) shows
up as a wrong answer here too, not only on the device. Each call runs its op family's kernel
(``edgegen.ops``), which reads its integers from the call object; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .machine import Machine
from .ops import kernel_for
from .program import Program


@dataclass(frozen=True)
class SimResult:
    outputs: tuple[np.ndarray, ...]
    #: with tracing: each call's output, by call index
    trace: tuple[np.ndarray, ...]


def simulate(program: Program, inputs: Sequence[np.ndarray], *, trace: bool = False,
             machine: Machine | None = None) -> SimResult:
    """Run one inference. ``inputs`` are in model input order, with the inputs' dtypes.

    Without ``machine`` the run starts from a fresh arena, state reset (as the oracle runs TFLM:
    reset before every sample); with one, its arena and so its state carry over from the last run."""
    if len(inputs) != len(program.inputs):
        raise ValueError(f"the model has {len(program.inputs)} inputs, got {len(inputs)}")
    m = machine if machine is not None else Machine(program)
    for ref, value in zip(program.inputs, inputs, strict=True):
        arr = np.asarray(value)
        if arr.size != ref.size:
            raise ValueError(f"input '{ref.name}' needs {ref.size} values, got {arr.size}")
        m.write(ref, arr)
    traced: list[np.ndarray] = []
    for call in program.calls:
        kernel_for(type(call))(m, call)
        if trace:
            traced.append(m.read(call.output))
    outputs = tuple(m.read(r) for r in program.outputs)
    return SimResult(outputs=outputs, trace=tuple(traced))


def simulate_sequence(program: Program, samples: Sequence[Sequence[np.ndarray]], *,
                      trace: bool = False) -> list[SimResult]:
    """Invoke once per sample on one arena, reset once at the start: the state of a stateful
    model carries from invoke to invoke, as ``<p>_reset()`` then ``<p>_invoke()`` repeatedly does
    in C (and TFLM without Reset() between invokes)."""
    m = Machine(program)
    return [simulate(program, sample, trace=trace, machine=m) for sample in samples]
