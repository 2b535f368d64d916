"""Per-layer efficiency of a run: MACs per instruction and the share of the CPU's MAC bound.

The bound is the most int8 multiply-accumulates one instruction of the CPU can do: Cortex-M4 and
Cortex-M7 SMLAD (two 16-bit products added to a 32-bit accumulator: 2 MACs), Cortex-M55
VMLADAVA on Helium's 16 int8 lanes (16 MACs), a CPU without either MLA (1). Instruction counts
come from qemu (``-icount shift=0``, exact), so MACs / instructions is exact too; on a real board
the harness reports cycles, which this module does not turn into a share (cycles per instruction
differ by CPU and memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .boards import Board
    from .program import Call, Program


@dataclass(frozen=True)
class MacBound:
    macs_per_instruction: int
    instruction: str  # the instruction that reaches it

    def describe(self) -> str:
        return f"{self.instruction}: {self.macs_per_instruction} MAC/instruction"


def mac_bound(board: Board) -> MacBound:
    if board.mve:
        return MacBound(16, "VMLADAVA")
    if board.dsp:
        return MacBound(2, "SMLAD")
    return MacBound(1, "MLA")


@dataclass(frozen=True)
class LayerPerf:
    call: int
    op: str
    function: str  # the C kernel the call runs: edgegen_* (edgegen's kernel) or arm_* (CMSIS-NN API)
    macs: int
    instructions: int
    macs_per_instruction: float
    #: macs_per_instruction / the CPU's bound (0..1 for a kernel that cannot beat the bound)
    bound_share: float
    #: why the layer keeps its CMSIS-NN call though edgegen has a kernel for its kind, if it does
    note: str | None


def efficiency(macs: int, instructions: int, bound: MacBound) -> tuple[float, float]:
    """(MACs per instruction, share of the bound); 0 for a call that took no instructions."""
    per = macs / instructions if instructions > 0 else 0.0
    return per, per / bound.macs_per_instruction


def call_notes(program: Program) -> dict[int, str]:
    """Call index -> the kernel-choice note the lowering recorded for its op (program.kernel_notes)."""
    by_op: dict[int, list[str]] = {}
    for op_index, why in program.kernel_notes:
        by_op.setdefault(op_index, []).append(why)
    return {c.index: "; ".join(by_op[c.op_index]) for c in program.calls if c.op_index in by_op}


def layer_perf(program: Program, per_call: Sequence[int], bound: MacBound) -> list[LayerPerf]:
    """One row per call that has a count (the harness counts every call)."""
    notes = call_notes(program)
    rows = []
    for c, count in zip(program.calls, per_call, strict=False):
        per, share = efficiency(c.macs, count, bound)
        rows.append(LayerPerf(call=c.index, op=c.op_name, function=c.function, macs=c.macs, instructions=count,
                              macs_per_instruction=per, bound_share=share, note=notes.get(c.index)))
    return rows


def run_record(macs: Sequence[int], per_call: Sequence[int], bound: MacBound) -> dict[str, object]:
    """What report.json keeps beside a run's per-call instruction counts: the bound it is measured
    against and, per call, MACs per instruction and the share of the bound."""
    pairs = [efficiency(m, n, bound) for m, n in zip(macs, per_call, strict=False)]
    return {"mac_bound": {"macs_per_instruction": bound.macs_per_instruction, "instruction": bound.instruction},
            "macs_per_instruction": [round(p, 4) for p, _ in pairs],
            "bound_share": [round(s, 4) for _, s in pairs]}


def arm_kernel(call: Call, mve: bool) -> str | None:
    """The function Arm's CMSIS-NN v7 wrapper picks inside ``arm_convolve_wrapper_s8`` /
    ``arm_depthwise_conv_wrapper_s8`` for this call (its dispatch on the call's literal shapes,
    padding, stride and dilation; ``mve``: the library is built for Helium), None for other calls.
    Only meaningful for builds against Arm's library (``--cmsis-nn``)."""
    if call.function not in ("arm_convolve_wrapper_s8", "arm_depthwise_conv_wrapper_s8"):
        return None  # pools, fully connected, ...: no wrapper, or edgegen's own kernel
    i, f, o = (getattr(call, a) for a in ("input_dims", "filter_dims", "output_dims"))
    pad, stride, dil = (getattr(call, a) for a in ("padding", "stride", "dilation"))  # each (h, w)
    if call.function == "arm_convolve_wrapper_s8":
        if pad == (0, 0) and f.w == 1 and f.h == 1 and dil == (1, 1) and i.c == f.c:
            return "arm_convolve_1x1_s8_fast" if stride == (1, 1) else "arm_convolve_1x1_s8"
        if i.h == 1 and dil[1] == 1 and f.h == 1 and (stride[1] * i.c) % 4 == 0 and i.c == f.c:
            return "arm_convolve_1_x_n_s8"
        return "arm_convolve_s8"
    if call.function == "arm_depthwise_conv_wrapper_s8":
        # CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD is 1 with GCC
        if mve and i.c == 1 and o.c > 1:
            return "arm_depthwise_conv_to_conv_s8"
        if getattr(call, "ch_mult", 1) == 1 and i.n == 1 and dil == (1, 1):
            if not mve and f.w == 3 and f.h == 3 and pad[0] <= 1 and pad[1] <= 1:
                return "arm_depthwise_conv_3x3_s8"
            return "arm_depthwise_conv_s8_opt"
        return "arm_depthwise_conv_s8"
    return None
