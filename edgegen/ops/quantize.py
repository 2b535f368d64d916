"""QUANTIZE and DEQUANTIZE: float32 model inputs and outputs (``edgegen_quantize_f32_s8``,
``edgegen_dequantize_s8_f32``, and their int16 twins ``edgegen_quantize_f32_s16``,
``edgegen_dequantize_s16_f32`` for 16x8 models); an int8 -> int8 QUANTIZE is a table
(:mod:`edgegen.ops.lut`), and so is a DEQUANTIZE -> float ELU -> QUANTIZE island
(:mod:`edgegen.ops.elu`); int8 -> int16, int16 -> int8 and int16 -> int16 QUANTIZE are TFLM's
Requantize (``edgegen_requantize_s8_s16`` and kin).
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

#: the quantized types QUANTIZE and DEQUANTIZE take (int16: 16x8 models, symmetric)
_QUANT_TYPES = ("int8", "int16")
#: the function-name suffix of each C element type
_SUFFIX = {"int8_t": "s8", "int16_t": "s16", "float": "f32"}


def read_quantize(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.quant_activation(y, "output", _QUANT_TYPES)
    if x.dtype == "float32":
        if x.is_const:
            raise c.fail("quantizing a constant is not supported")
    else:
        c.quant_activation(x, "input", _QUANT_TYPES)
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return Quantize(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_dequantize(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.quant_activation(x, "input", _QUANT_TYPES)
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
class RequantizeCall(Call):
    """TFLM's Requantize between int8 and int16 (either way) or int16 and int16: per element,
    MultiplyByQuantizedMultiplier(q - input_zero_point) + output_zero_point, clamped to the output type."""

    KIND: ClassVar[str] = "requantize"
    multiplier: int
    shift: int
    input_zero_point: int
    output_zero_point: int
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
    x, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.outputs[0])
    if x.dtype == "int8" and y.dtype == "int8":
        lower_lut(lw, op)
        return
    qo = lw.qp(op.outputs[0])
    src, dst = lw.ref(op.inputs[0]), lw.out_ref(op)
    name = f"_{_SUFFIX[src.ctype]}_{_SUFFIX[dst.ctype]}"
    if x.dtype != "float32":
        # TFLM's PrepareQuantizeReference: input scale / output scale, in double
        qi = lw.qp(op.inputs[0])
        m, s = fx.quantize_multiplier(float(np.float32(qi.scale)) / float(np.float32(qo.scale)))
        b = lw.base(op, "edgegen_requantize" + name, (src,), dst, 0, 0)
        lw.calls.append(RequantizeCall(**b, multiplier=m, shift=s,  # type: ignore[arg-type]
                                       input_zero_point=qi.zero_point, output_zero_point=qo.zero_point, size=x.size))
        return
    b = lw.base(op, "edgegen_quantize" + name, (src,), dst, 0, 0)
    lw.calls.append(QuantizeCall(**b, scale=float(np.float32(qo.scale)), zero_point=qo.zero_point,  # type: ignore[arg-type]
                                   size=x.size))


def lower_dequantize(lw: Lowering, op: ir.Op) -> None:
    if island(lw.g, op) is not None:
        return  # lowered with the island's ELU
    qi = lw.qp(op.inputs[0])
    x = lw.g.tensor(op.inputs[0])
    src = lw.ref(op.inputs[0])
    b = lw.base(op, f"edgegen_dequantize_{_SUFFIX[src.ctype]}_f32", (src,), lw.out_ref(op), 0, 0)
    lw.calls.append(DequantizeCall(**b, scale=float(np.float32(qi.scale)), zero_point=qi.zero_point,  # type: ignore[arg-type]
                                     size=x.size))


# -- simulation ----------------------------------------------------------------------------------


def run_quantize(m: Machine, c: Call) -> None:
    assert isinstance(c, QuantizeCall)
    dtype = "int16" if c.output.ctype == "int16_t" else "int8"
    m.write(c.output, fx.quantize_f32(m.read(c.inputs[0]), c.scale, c.zero_point, dtype))


def run_requantize(m: Machine, c: Call) -> None:
    assert isinstance(c, RequantizeCall)
    x = m.read(c.inputs[0]).astype(np.int64) - c.input_zero_point
    out = fx.wrap_int32(fx.multiply_by_quantized_multiplier(x, c.multiplier, c.shift) + c.output_zero_point)
    lo, hi = fx.QUANT_LIMITS["int16" if c.output.ctype == "int16_t" else "int8"]
    m.write(c.output, np.clip(out, lo, hi))


def run_dequantize(m: Machine, c: Call) -> None:
    assert isinstance(c, DequantizeCall)
    m.write(c.output, fx.dequantize_s8_f32(m.read(c.inputs[0]), c.scale, c.zero_point))


FAMILY = OpFamily(
    builders={"QUANTIZE": read_quantize, "DEQUANTIZE": read_dequantize},
    lowerers={Quantize: lower_quantize, Dequantize: lower_dequantize},
    kernels={QuantizeCall: run_quantize, DequantizeCall: run_dequantize, RequantizeCall: run_requantize},
)
