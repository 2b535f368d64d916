"""QUANTIZE and DEQUANTIZE: float32 model inputs and outputs (``edgegen_quantize_f32_s8``,
``edgegen_dequantize_s8_f32``); an int8 -> int8 QUANTIZE is a table (:mod:`edgegen.ops.lut`), and
so is a DEQUANTIZE -> float ELU -> QUANTIZE island (:mod:`edgegen.ops.elu`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import fixedpoint as fx
from .. import ir
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily
from .elu import island
from .lut import lower_lut


@dataclass(frozen=True)
class Quantize(ir.Op):
    """float32 -> int8 at a model input, or int8 -> int8 requantization."""

    KIND: ClassVar[str] = "QUANTIZE"


@dataclass(frozen=True)
class Dequantize(ir.Op):
    KIND: ClassVar[str] = "DEQUANTIZE"


# -- reading -------------------------------------------------------------------------------------


def read_quantize(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(y, "output")
    if x.dtype == "float32":
        if x.is_const:
            raise c.fail("quantizing a constant is not supported")
    else:
        c.int8_activation(x, "input")
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return Quantize(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_dequantize(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    if y.dtype != "float32":
        raise c.fail(f"output {y.describe()} must be float32")
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return Dequantize(index=c.index, inputs=c.inputs, outputs=c.outputs)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantizeCall(Call):
    """float32 -> int8 (model input)."""

    KIND: ClassVar[str] = "quantize"
    scale: float  # a float32 value
    zero_point: int
    size: int


@dataclass(frozen=True)
class DequantizeCall(Call):
    """int8 -> float32 (model output)."""

    KIND: ClassVar[str] = "dequantize"
    scale: float  # the float32 scale, used as a double as TFLM does
    zero_point: int
    size: int


def lower_quantize(lw: Lowering, op: ir.Op) -> None:
    if island(lw.g, op) is not None:
        return  # the ELU of a DEQUANTIZE -> ELU -> QUANTIZE island lowers all three to one table
    x = lw.g.tensor(op.inputs[0])
    if x.dtype != "float32":
        lower_lut(lw, op)
        return
    qo = lw.qp(op.outputs[0])
    b = lw.base(op, "edgegen_quantize_f32_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, 0)
    lw.calls.append(QuantizeCall(**b, scale=float(np.float32(qo.scale)), zero_point=qo.zero_point,  # type: ignore[arg-type]
                                   size=x.size))


def lower_dequantize(lw: Lowering, op: ir.Op) -> None:
    if island(lw.g, op) is not None:
        return  # lowered with the island's ELU
    qi = lw.qp(op.inputs[0])
    x = lw.g.tensor(op.inputs[0])
    b = lw.base(op, "edgegen_dequantize_s8_f32", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, 0)
    lw.calls.append(DequantizeCall(**b, scale=float(np.float32(qi.scale)), zero_point=qi.zero_point,  # type: ignore[arg-type]
                                     size=x.size))


# -- simulation ----------------------------------------------------------------------------------


def run_quantize(m: Machine, c: Call) -> None:
    assert isinstance(c, QuantizeCall)
    m.write(c.output, fx.quantize_f32_s8(m.read(c.inputs[0]), c.scale, c.zero_point))


def run_dequantize(m: Machine, c: Call) -> None:
    assert isinstance(c, DequantizeCall)
    m.write(c.output, fx.dequantize_s8_f32(m.read(c.inputs[0]), c.scale, c.zero_point))


FAMILY = OpFamily(
    builders={"QUANTIZE": read_quantize, "DEQUANTIZE": read_dequantize},
    lowerers={Quantize: lower_quantize, Dequantize: lower_dequantize},
    kernels={QuantizeCall: run_quantize, DequantizeCall: run_dequantize},
)
