"""SOFTMAX with int16 input and output (TFLite's 16x8 scheme): lowering to edgegen's
``edgegen_softmax_s16`` and the simulator's kernel. Part of the SOFTMAX family
(:mod:`edgegen.ops.softmax`).

TFLM's Prepare (softmax_common.cc) builds two 513-entry int16 tables in float32 (exp on [-10, 0]
and 1/(1+x) on [0, 1]; they do not depend on the tensors' scales) and the input-difference
multiplier ``QuantizeMultiplier(input_scale * beta / (10 / 65535))``; reference_ops::SoftmaxInt16
then interpolates both tables. edgegen computes the same tables at lowering
(:func:`edgegen.int16math.softmax16_params`) and passes them as constants. Arm's
``arm_softmax_s16`` is not called: it lets the reciprocal's table input wrap where TFLM
saturates it (sums whose normalized top 18 bits are all ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..int16math import Softmax16, softmax16, softmax16_params
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call


@dataclass(frozen=True)
class SoftmaxS16Call(Call):
    KIND: ClassVar[str] = "softmax_s16"
    num_rows: int
    row_size: int
    mult: int
    shift: int
    #: int16_t[513] constants: exp on [-10, 0] and 1 / (1 + x) on [0, 1], TFLM's LUTPopulate<int16_t>
    exp_lut: str
    one_over_one_plus_x_lut: str
    exp_values: np.ndarray
    one_over_one_plus_x_values: np.ndarray


def lower_softmax_s16(lw: Lowering, op: ir.Op, beta: float) -> None:
    x = lw.g.tensor(op.inputs[0])
    p = softmax16_params(float(lw.qp(op.inputs[0]).scale), beta)
    row = x.shape[-1]
    # the tables do not depend on the tensors: every int16 SOFTMAX of the model shares one pair
    earlier = next((c for c in lw.calls if isinstance(c, SoftmaxS16Call)), None)
    if earlier is not None:
        exp_name, rec_name = earlier.exp_lut, earlier.one_over_one_plus_x_lut
    else:
        exp_name = lw.const("exp_lut", "int16_t", p.exp_lut, op)
        rec_name = lw.const("one_over_one_plus_x_lut", "int16_t", p.one_over_one_plus_x_lut, op)
    b = lw.base(op, "edgegen_softmax_s16", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
    lw.calls.append(SoftmaxS16Call(
        **b, num_rows=x.size // row, row_size=row, mult=p.mult, shift=p.shift,  # type: ignore[arg-type]
        exp_lut=exp_name, one_over_one_plus_x_lut=rec_name, exp_values=p.exp_lut,
        one_over_one_plus_x_values=p.one_over_one_plus_x_lut,
    ))


def run_softmax_s16(m: Machine, c: Call) -> None:
    assert isinstance(c, SoftmaxS16Call)
    x = m.read(c.inputs[0]).astype(np.int64).reshape(c.num_rows, c.row_size)
    p = Softmax16(mult=c.mult, shift=c.shift, exp_lut=c.exp_values,
                  one_over_one_plus_x_lut=c.one_over_one_plus_x_values)
    m.write(c.output, softmax16(x, p).astype(np.int16))
