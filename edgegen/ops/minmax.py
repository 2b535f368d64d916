"""MAXIMUM and MINIMUM (int8, TFLite's broadcasting, either operand may be a constant): reading,
lowering to CMSIS-NN's ``arm_maximum_s8`` / ``arm_minimum_s8`` and the simulator's kernel.

TFLM has no Prepare for them and compares the raw int8 values (``MaximumMinimumBroadcastSlow``),
whatever the tensors' quantization: the converter gives inputs and output one scale and zero
point, and where a file does not, TFLM still outputs the raw maximum, so edgegen does the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..lowering import Lowering, dims4
from ..machine import Machine
from ..program import Call, Dims
from ..tflite_context import OpContext
from ._family import OpFamily
from .elementwise import ConstOperand, _binary_inputs, _check_broadcast


@dataclass(frozen=True)
class Maximum(ir.Op):
    KIND: ClassVar[str] = "MAXIMUM"


@dataclass(frozen=True)
class Minimum(ir.Op):
    KIND: ClassVar[str] = "MINIMUM"


# -- reading -------------------------------------------------------------------------------------


def read_minmax(cls: type[Maximum] | type[Minimum]) -> Callable[[OpContext], ir.Op]:
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(2)
        a, b, y = c.t(0), c.t(1), c.out()
        for role, t in (("first input", a), ("second input", b)):
            if t.is_const:
                # raw values are compared, so only the type matters (a per-channel constant too)
                if t.dtype != "int8":
                    raise c.fail(f"constant {role} {t.describe()} must be int8")
            else:
                c.int8_activation(t, role)
        c.int8_activation(y, "output")
        if len(a.shape) > 4 or len(b.shape) > 4:
            raise c.fail("broadcasting beyond 4 dimensions is not supported")
        _check_broadcast(c, a.shape, b.shape, y.shape)
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs)

    return build


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinMaxCall(ConstOperand, Call):
    """``arm_maximum_s8`` / ``arm_minimum_s8``: each operand's 4-D shape (1 on broadcast axes)."""

    KIND: ClassVar[str] = "minmax"
    maximum: bool
    input_1_dims: Dims
    input_2_dims: Dims
    output_dims: Dims


def lower_minmax(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, (Maximum, Minimum))
    a, b, y = (lw.g.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    refs, constant, _inplace = _binary_inputs(lw, op)
    maximum = isinstance(op, Maximum)
    # not in place: CMSIS-NN's kernels do not promise it
    base = lw.base(op, "arm_maximum_s8" if maximum else "arm_minimum_s8", refs, lw.out_ref(op), 0, y.size)
    lw.calls.append(MinMaxCall(
        **base,  # type: ignore[arg-type]
        **constant,  # type: ignore[arg-type]
        maximum=maximum, input_1_dims=dims4(a.shape), input_2_dims=dims4(b.shape), output_dims=dims4(y.shape),
    ))


# -- simulation ----------------------------------------------------------------------------------


def run_minmax(m: Machine, c: Call) -> None:
    assert isinstance(c, MinMaxCall)
    operands = [m.read(r) for r in c.inputs]
    data = m.const(c.constant)
    if data is not None:
        operands.insert(c.constant_position, data.reshape(c.constant_shape))
    d1, d2 = c.input_1_dims, c.input_2_dims
    x1 = operands[0].reshape(d1.n, d1.h, d1.w, d1.c)
    x2 = operands[1].reshape(d2.n, d2.h, d2.w, d2.c)
    m.write(c.output, (np.maximum if c.maximum else np.minimum)(x1, x2))


FAMILY = OpFamily(
    builders={"MAXIMUM": read_minmax(Maximum), "MINIMUM": read_minmax(Minimum)},
    lowerers={Maximum: lower_minmax, Minimum: lower_minmax},
    kernels={MinMaxCall: run_minmax},
    options={"MAXIMUM": fb.BuiltinOptions.MaximumMinimumOptions, "MINIMUM": fb.BuiltinOptions.MaximumMinimumOptions},
)
