"""PRELU, int8 (Keras PReLU; alpha a constant or a tensor, broadcast as TFLite defines it):
reading, lowering (TFLM's ``CalculatePreluParams``: an identity multiplier for inputs at or above
the zero point, an alpha one below) to ``edgegen_prelu_s8`` and the simulator's kernel
(``reference_ops::BroadcastPrelu4DSlow``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import numpy as np

from .. import fixedpoint as fx
from .. import ir
from ..kernels import clut
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily
from .elementwise import BroadcastSpec, ConstOperand, _binary_inputs, _broadcast, _check_broadcast


@dataclass(frozen=True)
class Prelu(ir.Op):
    KIND: ClassVar[str] = "PRELU"


# -- reading -------------------------------------------------------------------------------------


def read_prelu(c: OpContext) -> ir.Op:
    c.n_inputs(2)
    x, alpha, y = c.t(0), c.t(1), c.out()
    c.int8_activation(x, "input")
    if alpha.is_const:
        # TFLM reads alpha's one scale and zero point (params), so per-channel alphas would compute
        # something else than their quantization says
        if alpha.dtype != "int8" or alpha.quant is None or alpha.quant.per_channel:
            raise c.fail(f"alpha {alpha.describe()} must be per-tensor int8")
    else:
        c.int8_activation(alpha, "alpha")
    c.int8_activation(y, "output")
    if len(x.shape) > 4 or len(alpha.shape) > 4:
        raise c.fail("broadcasting beyond 4 dimensions is not supported")
    _check_broadcast(c, x.shape, alpha.shape, y.shape)
    return Prelu(index=c.index, inputs=c.inputs, outputs=c.outputs)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreluCall(ConstOperand, Call):
    """``edgegen_prelu_s8``: input and alpha over a 4-D broadcast, TFLM's two multipliers."""

    KIND: ClassVar[str] = "prelu"
    input_offset: int
    alpha_offset: int
    output_offset: int
    mult_1: int
    shift_1: int
    mult_2: int
    shift_2: int
    broadcast: str
    broadcast_spec: BroadcastSpec


def lower_prelu(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Prelu)
    qi, qa, qo = lw.qp(op.inputs[0]), lw.qp(op.inputs[1]), lw.qp(op.outputs[0])
    # CalculatePreluParams: the float32 scales widened to double, then divided / multiplied
    in_s, a_s, out_s = float(np.float32(qi.scale)), float(np.float32(qa.scale)), float(np.float32(qo.scale))
    m1, s1 = fx.quantize_multiplier(in_s / out_s)
    m2, s2 = fx.quantize_multiplier(in_s * a_s / out_s)
    arith = SimpleNamespace(input_offset=-qi.zero_point, alpha_offset=-qa.zero_point, output_offset=qo.zero_point,
                            mult_1=m1, shift_1=s1, mult_2=m2, shift_2=s2)
    if clut.try_lower(lw, op, lambda x, alpha: _prelu_values(arith, x, alpha)):
        return
    bname, spec = _broadcast(lw, op, force=True)
    assert bname is not None and spec is not None
    refs, constant, _inplace = _binary_inputs(lw, op)
    x, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.outputs[0])
    # in place when the input has the output's shape: each element is read before it is written
    out = lw.out_ref(op, op.inputs[0] if x.size == y.size else None)
    b = lw.base(op, "edgegen_prelu_s8", refs, out, 0, y.size)
    lw.calls.append(PreluCall(
        **b,  # type: ignore[arg-type]
        **constant,  # type: ignore[arg-type]
        input_offset=-qi.zero_point, alpha_offset=-qa.zero_point, output_offset=qo.zero_point,
        mult_1=m1, shift_1=s1, mult_2=m2, shift_2=s2, broadcast=bname, broadcast_spec=spec,
    ))


# -- simulation ----------------------------------------------------------------------------------


def run_prelu(m: Machine, c: Call) -> None:
    assert isinstance(c, PreluCall)
    operands = [m.read(r).astype(np.int64) for r in c.inputs]
    data = m.const(c.constant)
    if data is not None:
        operands.insert(c.constant_position, data.astype(np.int64).reshape(c.constant_shape))
    shape = c.output.shape

    def expand(v: np.ndarray) -> np.ndarray:
        return np.broadcast_to(v.reshape((1,) * (len(shape) - v.ndim) + v.shape), shape)

    m.write(c.output, _prelu_values(c, expand(operands[0]), expand(operands[1])))


def _prelu_values(c: PreluCall | SimpleNamespace, x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``BroadcastPrelu4DSlow`` on int64 arrays (also the tables of :mod:`edgegen.kernels.clut`)."""
    x = x + c.input_offset
    pos = fx.multiply_by_quantized_multiplier(x, c.mult_1, c.shift_1)
    neg = fx.multiply_by_quantized_multiplier(x * (alpha + c.alpha_offset), c.mult_2, c.shift_2)
    out: np.ndarray = np.clip(np.where(x >= 0, pos, neg) + c.output_offset, fx.INT8_MIN, fx.INT8_MAX)
    return out.astype(np.int8)


FAMILY = OpFamily(builders={"PRELU": read_prelu}, lowerers={Prelu: lower_prelu}, kernels={PreluCall: run_prelu})
