"""ADD, SUB and MUL, with 4-D broadcasting: reading, lowering (TFLM's add/sub/mul Prepare:
input and output multipliers, clamps, in place when the first input dies here) and the
simulator's kernels. Either operand may be a constant (Keras Normalization, Rescaling with an
offset, a leading BatchNormalization, ``x * c``): the kernels read it from flash where they would
read the arena, with the arithmetic TFLM uses for two tensors.

int16 operands (TFLite's 16x8 scheme, zero points 0) take TFLM's int16 paths: ADD and SUB are the
int8 general path with a left shift of 15 instead of 20 (TFLM's micro ADD always passes
``pot_scale = false``, so its power-of-two path is never taken), MUL the int8 arithmetic on int16
values; the calls are ``arm_elementwise_add_s16`` / ``arm_elementwise_mul_s16`` or edgegen's
``*_s16`` kernels (SUB, broadcasts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..kernels import add as addk
from ..kernels import clut
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
        dtype = c.quant_activation(y, "output", ("int8", "int16"))
        for role, t in (("first input", a), ("second input", b)):
            if t.is_const:
                if t.dtype != dtype or t.quant is None or t.quant.per_channel:
                    raise c.fail(f"constant {role} {t.describe()} must be per-tensor {dtype}, as the output")
                if dtype == "int16" and t.quant.zero_point != 0:
                    raise c.fail(f"constant {role} {t.describe()} is int16 with a zero point; TFLM's int16 "
                                 "kernels take zero point 0")
            elif c.quant_activation(t, role, ("int8", "int16")) != dtype:
                raise c.fail(f"{role} {t.describe()} and output {y.describe()} differ in type; edgegen compiles "
                             f"{c.name} of int8 or of int16 operands and output")
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


@dataclass(frozen=True, kw_only=True)
class ConstOperand:
    """A binary op's constant operand: its int8 array in flash (``constant``), which operand it
    is (0: the first, 1: the second) and its tensor shape (for the simulator's broadcast). The
    calls carry these fields; ``inputs`` then holds only the other operand."""

    constant: str | None = None
    constant_position: int = 0
    constant_shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class AddCall(ConstOperand, Call):
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
    #: int16 operands and output (16x8): the simulator keeps the int16 result
    int16: bool = False


@dataclass(frozen=True)
class MulCall(ConstOperand, Call):
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
    int16: bool = False


def _broadcast(lw: Lowering, op: ir.Op, force: bool = False) -> tuple[str | None, BroadcastSpec | None]:
    """The op's ``edgegen_broadcast`` constant and spec; None for same-size operands unless ``force``
    (for kernels that always take one)."""
    a, b, y = (lw.g.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if not force and (a.shape == b.shape == y.shape or (a.size == b.size == y.size)):
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


def _binary_inputs(lw: Lowering, op: ir.Op) -> tuple[tuple[TensorRef, ...], dict[str, object], int | None]:
    """The arena operands, the constant one (at most one: the converter folds an op of two
    constants) and the operand the output may overwrite (same shape, dying here)."""
    refs: list[TensorRef] = []
    constant = None
    for position, t in enumerate(op.inputs[:2]):
        tensor = lw.g.tensor(t)
        if not tensor.is_const:
            refs.append(lw.ref(t))
            continue
        if constant is not None:
            raise lw.fail(op, "both operands are constants; fold the op during conversion")
        assert tensor.data is not None
        if tensor.dtype == "int16":
            name = lw.const(f"operand{position + 1}", "int16_t", tensor.data.astype(np.int16), op)
        else:
            name = lw.const(f"operand{position + 1}", "int8_t", tensor.data.astype(np.int8), op)
        constant = dict(constant=name, constant_position=position, constant_shape=tensor.shape)
    inplace = next(t for t in op.inputs[:2] if not lw.g.tensor(t).is_const) if refs else None
    return tuple(refs), constant or {}, inplace


def lower_add(lw: Lowering, op: ir.Op) -> None:
    """ADD, and SUB: TFLM prepares both alike (sub_common.cc mirrors add_common.cc)."""
    assert isinstance(op, (Add, Sub))
    sub = isinstance(op, Sub)
    q1, q2, qo = lw.qp(op.inputs[0]), lw.qp(op.inputs[1]), lw.qp(op.outputs[0])
    int16 = lw.g.tensor(op.outputs[0]).dtype == "int16"
    # TFLM's add_common.cc / sub_common.cc: 20 for int8, 15 for int16 (the 32-bit sums stay in range)
    left_shift = 15 if int16 else 20
    twice_max = 2.0 * max(float(q1.scale), float(q2.scale))
    m1, s1 = fx.quantize_multiplier_smaller_than_one_exp(float(q1.scale) / twice_max)
    m2, s2 = fx.quantize_multiplier_smaller_than_one_exp(float(q2.scale) / twice_max)
    mo, so = fx.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * float(qo.scale)))
    act_min, act_max = activation_range(op.activation, qo, "int16" if int16 else "int8")
    arith = dict(
        input_1_offset=-q1.zero_point, input_1_mult=m1, input_1_shift=s1,
        input_2_offset=-q2.zero_point, input_2_mult=m2, input_2_shift=s2, left_shift=left_shift,
        out_offset=qo.zero_point, out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max, subtract=sub,
    )
    if int16:
        _lower_add16(lw, op, arith)
        return
    if clut.try_lower(lw, op, lambda a, b: _add_values(SimpleNamespace(**arith), a, b)):
        return
    bname, spec = _broadcast(lw, op)
    refs, constant, inplace = _binary_inputs(lw, op)
    out = lw.out_ref(op, None if bname else inplace)
    y = lw.g.tensor(op.outputs[0])
    params = addk.AddParams(offsets=(-q1.zero_point, -q2.zero_point), mults=(m1, m2), shifts=(s1, s2),
                            left_shift=left_shift, out_offset=qo.zero_point, out_mult=mo, out_shift=so,
                            act_min=act_min, act_max=act_max, subtract=sub)
    if bname is not None:
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, "broadcasting: edgegen's kernel takes same-shape inputs only"))
    elif constant:
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, "a constant operand along more than the channels: edgegen's kernel "
                                              "takes two arena inputs"))
    elif addk.try_lower(lw, op, params, (refs[0], refs[1]), out, y.size):
        return
    if sub:  # CMSIS-NN has no subtraction kernel
        function = "edgegen_sub_broadcast_s8" if bname else "edgegen_sub_s8"
    else:
        function = "edgegen_add_broadcast_s8" if bname else "arm_elementwise_add_s8"
    b = lw.base(op, function, refs, out, 0, y.size)
    lw.calls.append(AddCall(
        **b, **arith,  # type: ignore[arg-type]
        size=y.size, broadcast=bname, broadcast_spec=spec, **constant,  # type: ignore[arg-type]
    ))


def lower_mul(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Mul)
    q1, q2, qo = lw.qp(op.inputs[0]), lw.qp(op.inputs[1]), lw.qp(op.outputs[0])
    mo, so = fx.quantize_multiplier(float(q1.scale) * float(q2.scale) / float(qo.scale))
    y = lw.g.tensor(op.outputs[0])
    int16 = y.dtype == "int16"
    act_min, act_max = activation_range(op.activation, qo, y.dtype)
    arith = dict(input_1_offset=-q1.zero_point, input_2_offset=-q2.zero_point, out_offset=qo.zero_point,
                 out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max)
    # the per-channel tables are int8 -> int8; int16 operands always take the elementwise kernels
    if not int16 and clut.try_lower(lw, op, lambda a, b: _mul_values(SimpleNamespace(**arith), a, b)):
        return
    bname, spec = _broadcast(lw, op)
    refs, constant, inplace = _binary_inputs(lw, op)
    out = lw.out_ref(op, None if bname else inplace)
    sfx = "s16" if int16 else "s8"
    b = lw.base(op, f"edgegen_mul_broadcast_{sfx}" if bname else f"arm_elementwise_mul_{sfx}", refs, out, 0, y.size)
    lw.calls.append(MulCall(
        **b,  # type: ignore[arg-type]
        input_1_offset=-q1.zero_point, input_2_offset=-q2.zero_point, out_offset=qo.zero_point,
        out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max, size=y.size,
        broadcast=bname, broadcast_spec=spec, int16=int16, **constant,  # type: ignore[arg-type]
    ))


def _lower_add16(lw: Lowering, op: ir.Op, arith: dict[str, int]) -> None:
    """int16 ADD / SUB: Arm's arm_elementwise_add_s16 (same arithmetic as TFLM's general int16 path,
    the zero offsets unused) for same-shape ADD, edgegen's *_s16 kernels for SUB and broadcasts;
    edgegen's int8 table and add kernels do not apply."""
    sub = bool(arith["subtract"])
    bname, spec = _broadcast(lw, op)
    refs, constant, inplace = _binary_inputs(lw, op)
    out = lw.out_ref(op, None if bname else inplace)
    y = lw.g.tensor(op.outputs[0])
    if sub:
        function = "edgegen_sub_broadcast_s16" if bname else "edgegen_sub_s16"
    else:
        function = "edgegen_add_broadcast_s16" if bname else "arm_elementwise_add_s16"
    b = lw.base(op, function, refs, out, 0, y.size)
    lw.calls.append(AddCall(
        **b, **arith,  # type: ignore[arg-type]
        size=y.size, broadcast=bname, broadcast_spec=spec, int16=True, **constant,  # type: ignore[arg-type]
    ))


# -- simulation ----------------------------------------------------------------------------------


def _broadcast_pair(m: Machine, c: AddCall | MulCall) -> tuple[np.ndarray, np.ndarray]:
    ops = [m.read(r).astype(np.int64) for r in c.inputs]
    data = m.const(c.constant)
    if data is not None:
        ops.insert(c.constant_position, data.astype(np.int64).reshape(c.constant_shape))
    a, b = ops
    shape = c.output.shape
    if c.broadcast_spec is None:
        return a.reshape(-1), b.reshape(-1)

    def expand(v: np.ndarray) -> np.ndarray:
        s = (1,) * (len(shape) - v.ndim) + v.shape
        return np.broadcast_to(v.reshape(s), shape).reshape(-1)

    return expand(a), expand(b)


def _add_values(c: AddCall | SimpleNamespace, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TFLM's int8 ADD / SUB of int64 operand arrays (also the tables of :mod:`edgegen.kernels.clut`)."""
    mbqm = fx.multiply_by_quantized_multiplier
    s1 = mbqm((a + c.input_1_offset) * (1 << c.left_shift), c.input_1_mult, c.input_1_shift)
    s2 = mbqm((b + c.input_2_offset) * (1 << c.left_shift), c.input_2_mult, c.input_2_shift)
    raw = s1 - s2 if c.subtract else s1 + s2
    if getattr(c, "int16", False):
        return _requant16(raw, c.out_mult, c.out_shift, c.act_min, c.act_max)
    return requant(raw, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max)


def _mul_values(c: MulCall | SimpleNamespace, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    prod = (a + c.input_1_offset) * (b + c.input_2_offset)
    if getattr(c, "int16", False):
        return _requant16(prod, c.out_mult, c.out_shift, c.act_min, c.act_max)
    return requant(prod, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max)


def _requant16(acc: np.ndarray, mult: int, shift: int, lo: int, hi: int) -> np.ndarray:
    """The int16 kernels' 32-bit requantization (offset 0), clamped, as int16 values."""
    out = fx.multiply_by_quantized_multiplier(acc.astype(np.int64), mult, shift)
    return np.clip(out, lo, hi).astype(np.int16)


def run_add(m: Machine, c: Call) -> None:
    assert isinstance(c, AddCall)
    m.write(c.output, _add_values(c, *_broadcast_pair(m, c)))


def run_mul(m: Machine, c: Call) -> None:
    assert isinstance(c, MulCall)
    m.write(c.output, _mul_values(c, *_broadcast_pair(m, c)))


FAMILY = OpFamily(
    builders={"ADD": read_binary(Add), "SUB": read_binary(Sub), "MUL": read_binary(Mul)},
    lowerers={Add: lower_add, Sub: lower_add, Mul: lower_mul},
    kernels={AddCall: run_add, MulCall: run_mul, addk.AddKernelCall: addk.run_addk,
             clut.ChannelLutCall: clut.run_clut},
    options={"ADD": fb.BuiltinOptions.AddOptions, "SUB": fb.BuiltinOptions.SubOptions,
             "MUL": fb.BuiltinOptions.MulOptions},
)
