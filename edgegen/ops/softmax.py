"""SOFTMAX: reading, lowering to ``arm_softmax_s8`` (TFLM's Prepare: the input multiplier and
diff_min) and the simulator's kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily


@dataclass(frozen=True)
class Softmax(ir.Op):
    KIND: ClassVar[str] = "SOFTMAX"
    beta: float = 1.0


# -- reading -------------------------------------------------------------------------------------


def read_softmax(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if not x.shape or x.shape != y.shape:
        raise c.fail(f"input {x.describe()} and output {y.describe()} must have the same shape, of rank 1 or more")
    assert y.quant is not None
    # TFLM compares the float32 scale with 1/256 exactly
    if y.quant.zero_point != -128 or np.float32(y.quant.scale) != np.float32(1 / 256):
        raise c.fail("int8 SOFTMAX output must have scale 1/256 and zero point -128 (as TFLM requires)")
    return Softmax(index=c.index, inputs=c.inputs, outputs=c.outputs, beta=c.finite("beta"))


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxCall(Call):
    KIND: ClassVar[str] = "softmax"
    num_rows: int
    row_size: int
    mult: int
    shift: int
    diff_min: int


def lower_softmax(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Softmax)
    x = lw.g.tensor(op.inputs[0])
    scale = float(lw.qp(op.inputs[0]).scale)
    # TFLM scales the input differences by beta * scale * 2^26 and aborts when that is not
    # above 1 (QuantizeMultiplierGreaterThanOne). It happens when the logits are almost
    # constant, which an untrained model gives; the generic message would only say "recalibrate".
    if float(np.float32(op.beta)) * float(np.float32(scale)) * (1 << 26) <= 1.0:
        span = 255 * scale
        raise lw.fail(op, f"its input {x.describe()} has quantization scale {scale:.3g}, so its logits span "
                            f"only {span:.3g}: TFLM cannot implement a SOFTMAX whose beta * input scale is "
                            "below 2^-26 (it aborts). Nearly constant logits come from an untrained model or "
                            "calibration data that does not reach this layer: train the model, calibrate "
                            "with representative data, or end the model before the softmax")
    p = fx.softmax_params(scale, op.beta)
    row = x.shape[-1]
    b = lw.base(op, "arm_softmax_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
    lw.calls.append(SoftmaxCall(**b, num_rows=x.size // row, row_size=row,  # type: ignore[arg-type]
                                  mult=p.input_multiplier, shift=p.input_left_shift, diff_min=p.diff_min))


# -- simulation ----------------------------------------------------------------------------------


def run_softmax(m: Machine, c: Call) -> None:
    assert isinstance(c, SoftmaxCall)
    x = m.read(c.inputs[0]).reshape(c.num_rows, c.row_size)
    p = fx.SoftmaxParams(input_multiplier=c.mult, input_left_shift=c.shift, diff_min=c.diff_min)
    m.write(c.output, fx.softmax_s8(x, p))


FAMILY = OpFamily(
    builders={"SOFTMAX": read_softmax},
    lowerers={Softmax: lower_softmax},
    kernels={SoftmaxCall: run_softmax},
    options={"SOFTMAX": fb.BuiltinOptions.SoftmaxOptions},
    required_options={"SOFTMAX": "beta 0, which TFLM cannot implement (it aborts)"},
)
