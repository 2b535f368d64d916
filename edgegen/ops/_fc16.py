"""FULLY_CONNECTED with int16 activations (TFLite's 16x8 scheme): lowering to Arm's
``arm_fully_connected_s16`` where it computes what TFLM's reference computes, else to edgegen's
``edgegen_fully_connected_s16`` (per-channel weights, an int32 accumulator), and the simulator's
kernel. Part of the FULLY_CONNECTED family (:mod:`edgegen.ops.fully_connected`).

TFLM (fully_connected.cc, reference_integer_ops::FullyConnected[PerChannel]) accumulates
``weight * (input + input_offset)`` in the bias's type: int64 (an int64 bias, or no bias and a
quantized_bias_type other than INT32), then the 64-bit ``MultiplyByQuantizedMultiplier`` with the
multiplier reduced to 16 bits; or int32 (an int32 bias, or no bias and quantized_bias_type INT32),
then the ordinary 32-bit double-rounding ``MultiplyByQuantizedMultiplier``. The output offset is 0
(symmetric int16), the clamp is the fused activation's int16 range.

Arm's ``arm_fully_connected_s16`` takes per-tensor multipliers and an int64 bias only, and its DSP
and Helium paths add the first 512 products of a row in int32 and round in two steps through an
int32 (``arm_nn_requantize_s64``); it equals TFLM when no weight is -128 (then 512 products stay
below 2^31) and the scaled accumulator stays below 2^30 in magnitude, which lowering proves from
the weights, the bias and the multiplier. Other layers call ``edgegen_fully_connected_s16``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import fixedpoint as fx
from .. import ir
from ..lowering import Lowering, activation_range
from ..machine import Machine
from ..program import Call, Dims

#: Arm's DSP/Helium s16 kernels sum this many columns in int32 before widening (MAX_COL_COUNT)
ARM_INT32_COLUMNS = 512


@dataclass(frozen=True)
class FullyConnectedS16Call(Call):
    """``arm_fully_connected_s16`` (per-tensor, int64 bias) or ``edgegen_fully_connected_s16``."""

    KIND: ClassVar[str] = "fully_connected_s16"
    weights: str
    #: int64_t array (int64 accumulator) or int32_t array (int32 accumulator), or None
    bias: str | None
    #: True: TFLM accumulates in int32 and requantizes with the 32-bit MultiplyByQuantizedMultiplier
    int32_accumulator: bool
    per_channel: bool
    #: per-tensor: the scalar multiplier/shift; edgegen's kernel reads the arrays (one entry per unit,
    #: or one entry for a per-tensor layer)
    multiplier: int
    shift: int
    multipliers: str
    shifts: str
    input_dims: Dims
    filter_dims: Dims  # n: accumulation depth, c: output depth
    bias_dims: Dims
    output_dims: Dims  # n: batches, c: output depth
    act_min: int
    act_max: int


def _arm_equal(w: np.ndarray, bias: np.ndarray | None, mults: np.ndarray, shifts: np.ndarray) -> bool:
    """True when Arm's arm_fully_connected_s16 gives TFLM's results on every input (see the module
    docstring): no -128 weight, and |acc| x reduced multiplier < 2^(44 - shift) on every unit, so
    Arm's intermediate (acc x m) >> (14 - shift) fits int32 and TFLM's result no wrap."""
    if (w == -128).any():
        return False
    acc = 32768 * np.abs(w.astype(np.int64)).sum(axis=1)
    if bias is not None:
        acc = acc + np.abs(bias.astype(np.int64).reshape(-1))
    m = mults.astype(np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    limit = [1 << (44 - int(s)) for s in shifts]
    return all(int(a) * int(r) < lim for a, r, lim in zip(acc, reduced, limit, strict=True))


def lower_fully_connected_s16(lw: Lowering, op: ir.Op, activation: ir.Activation, int32_accumulator: bool) -> None:
    x, w, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.inputs[1]), lw.g.tensor(op.outputs[0])
    assert w.data is not None and w.quant is not None
    units, depth = w.shape
    batches = x.size // depth
    if y.size != batches * units:
        raise lw.fail(op, f"output {y.describe()} does not hold {batches} x {units} values")
    yq = lw.qp(op.outputs[0])
    act_min, act_max = activation_range(activation, yq, "int16")
    mults, shifts = lw.per_channel_multipliers(op, 1, units)
    per_channel = w.quant.per_channel
    if not per_channel:
        mults, shifts = mults[:1], shifts[:1]
    # TFLM's 64-bit MultiplyByQuantizedMultiplier asserts shift < 8 (a larger one shifts by a negative
    # count, undefined in C++); the 32-bit one shifts the int32 accumulator left by it
    top = 31 if int32_accumulator else 7
    if int(shifts.max()) > top:
        raise lw.fail(op, f"its output scale {yq.scale:.3g} makes the requantization shift {int(shifts.max())}; "
                      f"TFLM's int16 FULLY_CONNECTED takes at most {top} (so small an output scale means the "
                      "layer's output was constant during calibration)")
    has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
    bias_values = lw.g.tensor(op.inputs[2]).data if has_bias else None
    wd = w.data.reshape(units, depth)
    arm = (not per_channel and not int32_accumulator
           and _arm_equal(wd, bias_values, np.repeat(mults, units), np.repeat(shifts, units)))
    bias = None
    if bias_values is not None:
        ctype, dt = ("int32_t", np.int32) if int32_accumulator else ("int64_t", np.int64)
        bias = lw.const("bias", ctype, bias_values.astype(dt).reshape(-1), op)
    b = lw.base(op, "arm_fully_connected_s16" if arm else "edgegen_fully_connected_s16", (lw.ref(op.inputs[0]),),
                lw.out_ref(op), 0, batches * units * depth)
    lw.calls.append(FullyConnectedS16Call(
        **b,  # type: ignore[arg-type]
        weights=lw.const("weights", "int8_t", w.data.astype(np.int8), op),
        bias=bias,
        int32_accumulator=int32_accumulator,
        per_channel=per_channel,
        multiplier=int(mults[0]), shift=int(shifts[0]),
        multipliers=lw.const("multipliers", "int32_t", mults, op),
        shifts=lw.const("shifts", "int32_t", shifts, op),
        input_dims=Dims(batches, 1, 1, depth), filter_dims=Dims(depth, 1, 1, units), bias_dims=Dims(1, 1, 1, units),
        output_dims=Dims(batches, 1, 1, units), act_min=act_min, act_max=act_max,
    ))


def run_fully_connected_s16(m: Machine, c: Call) -> None:
    """TFLM's reference FullyConnected[PerChannel]<int16_t, int8_t, int16_t, int64_t / int32_t>."""
    assert isinstance(c, FullyConnectedS16Call)
    depth, units = c.filter_dims.n, c.filter_dims.c
    x = m.read(c.inputs[0]).reshape(-1, depth).astype(np.int64)
    w = m.const(c.weights)
    mults, shifts = m.const(c.multipliers), m.const(c.shifts)
    assert w is not None and mults is not None and shifts is not None
    acc = x @ w.reshape(units, depth).astype(np.int64).T
    b = m.const(c.bias)
    if b is not None:
        acc = acc + b.astype(np.int64)
    mult, shift = mults.astype(np.int64), shifts.astype(np.int64)
    if c.int32_accumulator:
        # int32 sums wrap in practice (the reader refuses layers that could overflow)
        out = fx.multiply_by_quantized_multiplier(fx.wrap_int32(acc), mult, shift)
    else:
        out = fx.multiply_by_quantized_multiplier_int64(acc, mult, shift)
    m.write(c.output, np.clip(out, c.act_min, c.act_max).astype(np.int16))
