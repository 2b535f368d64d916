"""ADD, SUB and MUL, with 4-D broadcasting: reading, lowering (TFLM's add/sub/mul Prepare:
input and output multipliers, clamps, in place when the first input dies here) and the
simulator's kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..kernels import add as addk
from ..lowering import Lowering, activation_range
from ..machine import Machine, requant
from ..program import Call, TensorRef
from ..tflite_context import OpContext
from ._family import OpFamily

#: a 4-D broadcast for ADD/MUL: (output shape, input 1 strides, input 2 strides), in elements
BroadcastSpec = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class Add(ir.Op):
    KIND: ClassVar[str] = "ADD"
    activation: ir.Activation = ir.Activation.NONE


@dataclass(frozen=True)
class Sub(ir.Op):
    """input 1 - input 2; TFLM quantizes it exactly as ADD and subtracts the rescaled inputs."""

    KIND: ClassVar[str] = "SUB"
    activation: ir.Activation = ir.Activation.NONE


@dataclass(frozen=True)
class Mul(ir.Op):
    KIND: ClassVar[str] = "MUL"
    activation: ir.Activation = ir.Activation.NONE


# -- reading -------------------------------------------------------------------------------------


def read_binary(cls: type[Add] | type[Sub] | type[Mul]) -> Callable[[OpContext], ir.Op]:
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(2)
        a, b, y = c.t(0), c.t(1), c.out()
        for role, t in (("first input", a), ("second input", b)):
            if t.is_const:
                if t.dtype != "int8" or t.quant is None or t.quant.per_channel:
                    raise c.fail(f"constant {role} {t.describe()} must be per-tensor int8")
            else:
                c.int8_activation(t, role)
        c.int8_activation(y, "output")
        if len(a.shape) > 4 or len(b.shape) > 4:
            raise c.fail("broadcasting beyond 4 dimensions is not supported")
        _check_broadcast(c, a.shape, b.shape, y.shape)
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs, activation=c.activation())

    return build


def _check_broadcast(c: OpContext, a: tuple[int, ...], b: tuple[int, ...], y: tuple[int, ...]) -> None:
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for da, db in zip(pa, pb, strict=True):
        if da != db and 1 not in (da, db):
            raise c.fail(f"shapes {list(a)} and {list(b)} do not broadcast")
        out.append(max(da, db))
    if tuple(out) != tuple(y):
        raise c.fail(f"output shape {list(y)} is not the broadcast shape {out}")


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddCall(Call):
    KIND: ClassVar[str] = "add"
    input_1_offset: int
    input_1_mult: int
    input_1_shift: int
    input_2_offset: int
    input_2_mult: int
    input_2_shift: int
    left_shift: int
    out_offset: int
    out_mult: int
    out_shift: int
    act_min: int
    act_max: int
    size: int
    #: name of the edgegen_broadcast constant for broadcasting adds, None for same shapes
    broadcast: str | None
    #: the broadcast as (shape, in1 strides, in2 strides), 4-D, for the simulator
    broadcast_spec: BroadcastSpec | None
    #: SUB: the rescaled second input is subtracted (edgegen_sub_s8 / edgegen_sub_broadcast_s8,
    #: which take the same arguments as the ADD kernels)
    subtract: bool = False


@dataclass(frozen=True)
class MulCall(Call):
    KIND: ClassVar[str] = "mul"
    input_1_offset: int
    input_2_offset: int
    out_offset: int
    out_mult: int
    out_shift: int
    act_min: int
    act_max: int
    size: int
    broadcast: str | None
    broadcast_spec: BroadcastSpec | None


def _broadcast(lw: Lowering, op: ir.Op) -> tuple[str | None, BroadcastSpec | None]:
    a, b, y = (lw.g.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if a.shape == b.shape == y.shape or (a.size == b.size == y.size):
        return None, None
    shape = (1,) * (4 - len(y.shape)) + y.shape

    def strides(s: tuple[int, ...]) -> tuple[int, ...]:
        p = (1,) * (4 - len(s)) + s
        st = [0, 0, 0, 0]
        acc = 1
        for d in range(3, -1, -1):
            st[d] = 0 if p[d] == 1 and shape[d] != 1 else acc
            acc *= p[d]
        return tuple(st)

    spec = (tuple(shape), strides(a.shape), strides(b.shape))
    data = np.array(spec[0] + spec[1] + spec[2], dtype=np.int32)
    name = lw.const("broadcast", "edgegen_broadcast", data, op)
    return name, spec


def _binary_inputs(lw: Lowering, op: ir.Op) -> tuple[TensorRef, TensorRef]:
    refs = []
    for t in op.inputs[:2]:
        tensor = lw.g.tensor(t)
        if tensor.is_const:
            raise lw.fail(op, f"constant operand {tensor.describe()} is not supported yet; "
                            "feed it as a model input or fold it during conversion")
        refs.append(lw.ref(t))
    return refs[0], refs[1]


def lower_add(lw: Lowering, op: ir.Op) -> None:
    """ADD, and SUB: TFLM prepares both alike (sub_common.cc mirrors add_common.cc)."""
    assert isinstance(op, (Add, Sub))
    sub = isinstance(op, Sub)
    q1, q2, qo = lw.qp(op.inputs[0]), lw.qp(op.inputs[1]), lw.qp(op.outputs[0])
    left_shift = 20
    twice_max = 2.0 * max(float(q1.scale), float(q2.scale))
    m1, s1 = fx.quantize_multiplier_smaller_than_one_exp(float(q1.scale) / twice_max)
    m2, s2 = fx.quantize_multiplier_smaller_than_one_exp(float(q2.scale) / twice_max)
    mo, so = fx.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * float(qo.scale)))
    act_min, act_max = activation_range(op.activation, qo)
    bname, spec = _broadcast(lw, op)
    r1, r2 = _binary_inputs(lw, op)
    out = lw.out_ref(op, None if bname else op.inputs[0])
    y = lw.g.tensor(op.outputs[0])
    params = addk.AddParams(offsets=(-q1.zero_point, -q2.zero_point), mults=(m1, m2), shifts=(s1, s2),
                            left_shift=left_shift, out_offset=qo.zero_point, out_mult=mo, out_shift=so,
                            act_min=act_min, act_max=act_max, subtract=sub)
    if bname is not None:
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, "broadcasting: edgegen's kernel takes same-shape inputs only"))
    elif addk.try_lower(lw, op, params, (r1, r2), out, y.size):
        return
    if sub:  # CMSIS-NN has no subtraction kernel
        function = "edgegen_sub_broadcast_s8" if bname else "edgegen_sub_s8"
    else:
        function = "edgegen_add_broadcast_s8" if bname else "arm_elementwise_add_s8"
    b = lw.base(op, function, (r1, r2), out, 0, y.size)
    lw.calls.append(AddCall(
        **b,  # type: ignore[arg-type]
        input_1_offset=-q1.zero_point, input_1_mult=m1, input_1_shift=s1,
        input_2_offset=-q2.zero_point, input_2_mult=m2, input_2_shift=s2, left_shift=left_shift,
        out_offset=qo.zero_point, out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max,
        size=y.size, broadcast=bname, broadcast_spec=spec, subtract=sub,
    ))


def lower_mul(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Mul)
    q1, q2, qo = lw.qp(op.inputs[0]), lw.qp(op.inputs[1]), lw.qp(op.outputs[0])
    mo, so = fx.quantize_multiplier(float(q1.scale) * float(q2.scale) / float(qo.scale))
    act_min, act_max = activation_range(op.activation, qo)
    bname, spec = _broadcast(lw, op)
    r1, r2 = _binary_inputs(lw, op)
    out = lw.out_ref(op, None if bname else op.inputs[0])
    y = lw.g.tensor(op.outputs[0])
    b = lw.base(op, "edgegen_mul_broadcast_s8" if bname else "arm_elementwise_mul_s8", (r1, r2), out, 0, y.size)
    lw.calls.append(MulCall(
        **b,  # type: ignore[arg-type]
        input_1_offset=-q1.zero_point, input_2_offset=-q2.zero_point, out_offset=qo.zero_point,
        out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max, size=y.size,
        broadcast=bname, broadcast_spec=spec,
    ))


# -- simulation ----------------------------------------------------------------------------------


def _broadcast_pair(m: Machine, c: AddCall | MulCall) -> tuple[np.ndarray, np.ndarray]:
    a, b = m.read(c.inputs[0]).astype(np.int64), m.read(c.inputs[1]).astype(np.int64)
    shape = c.output.shape
    if c.broadcast_spec is None:
        return a.reshape(-1), b.reshape(-1)

    def expand(v: np.ndarray) -> np.ndarray:
        s = (1,) * (len(shape) - v.ndim) + v.shape
        return np.broadcast_to(v.reshape(s), shape).reshape(-1)

    return expand(a), expand(b)


def run_add(m: Machine, c: Call) -> None:
    assert isinstance(c, AddCall)
    a, b = _broadcast_pair(m, c)
    mbqm = fx.multiply_by_quantized_multiplier
    s1 = mbqm((a + c.input_1_offset) * (1 << c.left_shift), c.input_1_mult, c.input_1_shift)
    s2 = mbqm((b + c.input_2_offset) * (1 << c.left_shift), c.input_2_mult, c.input_2_shift)
    raw = s1 - s2 if c.subtract else s1 + s2
    m.write(c.output, requant(raw, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max))


def run_mul(m: Machine, c: Call) -> None:
    assert isinstance(c, MulCall)
    a, b = _broadcast_pair(m, c)
    prod = (a + c.input_1_offset) * (b + c.input_2_offset)
    m.write(c.output, requant(prod, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max))


FAMILY = OpFamily(
    builders={"ADD": read_binary(Add), "SUB": read_binary(Sub), "MUL": read_binary(Mul)},
    lowerers={Add: lower_add, Sub: lower_add, Mul: lower_mul},
    kernels={AddCall: run_add, MulCall: run_mul, addk.AddKernelCall: addk.run_addk},
    options={"ADD": fb.BuiltinOptions.AddOptions, "SUB": fb.BuiltinOptions.SubOptions,
             "MUL": fb.BuiltinOptions.MulOptions},
)
