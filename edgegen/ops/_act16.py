"""LOGISTIC and TANH with int16 activations (TFLite's 16x8 scheme): lowering to edgegen's
``edgegen_sigmoid_tanh_s16`` and the simulator's kernel. Part of the table family
(:mod:`edgegen.ops.lut`), whose int8 path is a 256-entry table.

TFLM (logistic_common.cc / tanh.cc Prepare, reference_integer_ops::Logistic / Tanh for int16)
rescales the input by ``input_multiplier`` and ``input_left_shift`` (the power-of-two case:
``3 << shift``, shift 0) and interpolates its 256-entry ``sigmoid_table_uint16``. Arm's
``arm_nn_activation_s16`` implements only the power-of-two case (its multiplier is always
``3 << left_shift``), while the converter's 16x8 models have arbitrary input scales, so edgegen
calls its own kernel with TFLM's multiplier and shift (:mod:`edgegen.int16math`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..int16math import SIGMOID_TABLE_U16, SigmoidTanh16, sigmoid_tanh16, sigmoid_tanh16_params
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call


@dataclass(frozen=True)
class SigmoidTanhS16Call(Call):
    """``edgegen_sigmoid_tanh_s16``: TFLM's int16 LOGISTIC (``is_tanh`` False) or TANH."""

    KIND: ClassVar[str] = "sigmoid_tanh_s16"
    is_tanh: bool
    multiplier: int
    left_shift: int
    #: the uint16_t sigmoid table constant (TFLM's sigmoid_table_uint16, 256 entries)
    table: str
    size: int


def lower_sigmoid_tanh_s16(lw: Lowering, op: ir.Op, is_tanh: bool) -> None:
    p = sigmoid_tanh16_params(float(lw.qp(op.inputs[0]).scale), is_tanh)
    x = lw.g.tensor(op.inputs[0])
    # one table for every int16 LOGISTIC and TANH of the model
    earlier = next((c for c in lw.calls if isinstance(c, SigmoidTanhS16Call)), None)
    table = earlier.table if earlier is not None else lw.const(
        "sigmoid_table", "uint16_t", np.array(SIGMOID_TABLE_U16, dtype=np.uint16), op)
    # elementwise, each input read before its output is written: the output may overwrite the input
    b = lw.base(op, "edgegen_sigmoid_tanh_s16", (lw.ref(op.inputs[0]),), lw.out_ref(op, op.inputs[0]), 0, 0)
    lw.calls.append(SigmoidTanhS16Call(
        **b, is_tanh=is_tanh, multiplier=p.multiplier, left_shift=p.left_shift,  # type: ignore[arg-type]
        table=table, size=x.size,
    ))


def run_sigmoid_tanh_s16(m: Machine, c: Call) -> None:
    assert isinstance(c, SigmoidTanhS16Call)
    p = SigmoidTanh16(multiplier=c.multiplier, left_shift=c.left_shift)
    m.write(c.output, sigmoid_tanh16(m.read(c.inputs[0]), p, c.is_tanh))
