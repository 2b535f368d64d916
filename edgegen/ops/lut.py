"""Elementwise int8 -> int8 ops computed as a 256-entry table at build time: LOGISTIC, TANH,
standalone RELU / RELU6 / RELU_N1_TO_1, LEAKY_RELU (and int8 QUANTIZE, see
:mod:`edgegen.ops.quantize`). Lowering runs TFLM's exact algorithm over all 256 inputs; the C is one
``edgegen_lut_s8`` call.
"""

from __future__ import annotations

from collections.abc import Callable
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
class Logistic(ir.Op):
    KIND: ClassVar[str] = "LOGISTIC"


@dataclass(frozen=True)
class Tanh(ir.Op):
    KIND: ClassVar[str] = "TANH"


@dataclass(frozen=True)
class Relu(ir.Op):
    """Standalone RELU, RELU6 or RELU_N1_TO_1 (``kind`` says which)."""

    KIND: ClassVar[str] = "RELU"
    kind: ir.Activation = ir.Activation.RELU

    def describe(self) -> str:
        return f"op {self.index} ({self.kind.name})"


@dataclass(frozen=True)
class LeakyRelu(ir.Op):
    KIND: ClassVar[str] = "LEAKY_RELU"
    alpha: float = 0.2


# -- reading -------------------------------------------------------------------------------------


def _unary(build_op: Callable[[OpContext], ir.Op]) -> Callable[[OpContext], ir.Op]:
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(1)
        c.int8_activation(c.t(0), "input")
        c.int8_activation(c.out(), "output")
        if c.t(0).shape != c.out().shape:
            raise c.fail("input and output shapes differ")
        return build_op(c)

    return build


def read_relu(kind: ir.Activation) -> Callable[[OpContext], ir.Op]:
    return _unary(lambda c: Relu(index=c.index, inputs=c.inputs, outputs=c.outputs, kind=kind))


def read_logistic(c: OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if q.zero_point != -128 or abs(q.scale - 1 / 256) > 1e-9:
        raise c.fail("int8 LOGISTIC output must have scale 1/256 and zero point -128")
    return Logistic(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_tanh(c: OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if q.zero_point != 0 or abs(q.scale - 1 / 128) > 1e-9:
        raise c.fail("int8 TANH output must have scale 1/128 and zero point 0")
    return Tanh(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_leaky_relu(c: OpContext) -> ir.Op:
    return LeakyRelu(index=c.index, inputs=c.inputs, outputs=c.outputs, alpha=c.finite("alpha"))


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LutCall(Call):
    """Any int8 -> int8 elementwise op, as a 256-entry table computed at build time."""

    KIND: ClassVar[str] = "lut"
    lut: str
    lut_values: np.ndarray
    size: int


def lower_lut(lw: Lowering, op: ir.Op) -> None:
    qi, qo = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    table: np.ndarray
    if isinstance(op, Logistic):
        table = fx.logistic_lut(qi.scale, qi.zero_point)
    elif isinstance(op, Tanh):
        table = fx.tanh_lut(qi.scale, qi.zero_point)
    elif isinstance(op, LeakyRelu):
        table = fx.leaky_relu_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point, op.alpha)
    elif isinstance(op, Relu):
        table = fx.relu_lut(op.kind.value, qi.scale, qi.zero_point, qo.scale, qo.zero_point)
    else:
        assert isinstance(op, ir.Op) and op.KIND == "QUANTIZE"
        table = fx.requantize_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
    table = np.asarray(table, dtype=np.int8)
    x = lw.g.tensor(op.inputs[0])
    b = lw.base(op, "edgegen_lut_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op, op.inputs[0]), 0, 0)
    lw.calls.append(LutCall(**b, lut=lw.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                              size=x.size))


# -- simulation ----------------------------------------------------------------------------------


def run_lut(m: Machine, c: Call) -> None:
    assert isinstance(c, LutCall)
    x = m.read(c.inputs[0]).astype(np.int64)
    m.write(c.output, c.lut_values[x + 128])


FAMILY = OpFamily(
    builders={"LOGISTIC": _unary(read_logistic), "TANH": _unary(read_tanh), "RELU": read_relu(ir.Activation.RELU),
              "RELU6": read_relu(ir.Activation.RELU6), "RELU_N1_TO_1": read_relu(ir.Activation.RELU_N1_TO_1),
              "LEAKY_RELU": _unary(read_leaky_relu)},
    lowerers={Logistic: lower_lut, Tanh: lower_lut, Relu: lower_lut, LeakyRelu: lower_lut},
    kernels={LutCall: run_lut},
    options={"LEAKY_RELU": fb.BuiltinOptions.LeakyReluOptions},
)
