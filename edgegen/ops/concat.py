"""CONCATENATION: reading, lowering to one ``arm_concatenation_s8_<axis>`` copy per input and the
simulator's kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..errors import ModelFormatError
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call, TensorRef
from ..tflite_context import OpContext
from ._family import OpFamily


@dataclass(frozen=True)
class Concatenation(ir.Op):
    KIND: ClassVar[str] = "CONCATENATION"
    axis: int = -1
    activation: ir.Activation = ir.Activation.NONE


# -- reading -------------------------------------------------------------------------------------


#: TFLM's CONCATENATION kernel (kMaxInputNum)
_MAX_CONCAT_INPUTS = 10


def read_concat(c: OpContext) -> ir.Op:
    if len(c.inputs) < 1:
        raise ModelFormatError(f"op {c.index} (CONCATENATION) has no inputs")
    if len(c.inputs) > _MAX_CONCAT_INPUTS:
        raise c.fail(f"{len(c.inputs)} inputs; TFLM concatenates at most {_MAX_CONCAT_INPUTS}")
    c.one_output()
    y = c.out()
    dtype = c.quant_activation(y, "output", ("int8", "int16"))
    rank = len(y.shape)
    axis = int(c.opt("axis"))
    if not -rank <= axis < rank:
        raise c.fail(f"axis {axis} out of range for rank {rank}")
    axis %= rank
    total = 0
    for i in range(len(c.inputs)):
        t = c.t(i)
        if c.quant_activation(t, f"input {i}", ("int8", "int16")) != dtype:
            raise c.fail(f"input {t.describe()} and output {y.describe()} differ in type")
        if t.quant != y.quant:
            raise c.fail(
                f"input {t.describe()} is quantized differently from the output; edgegen requires "
                f"equal quantization for {dtype} CONCATENATION (a copy)"
            )
        if len(t.shape) != rank or any(t.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise c.fail(f"input {t.describe()} does not fit output {list(y.shape)} along axis {axis}")
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise c.fail(f"inputs add up to {total} along axis {axis}, output has {y.shape[axis]}")
    act = c.activation()
    if act != ir.Activation.NONE:
        raise c.fail("fused activations on CONCATENATION are not supported")
    return Concatenation(index=c.index, inputs=c.inputs, outputs=c.outputs, axis=axis, activation=act)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcatPart:
    """One input's copy into the concatenated output (``arm_concatenation_s8_<axis>``)."""

    axis_name: str  # x, y, z or w (x innermost)
    input_x: int
    input_y: int
    input_z: int
    input_w: int
    output_axis: int  # the output's size along the concatenation axis
    offset: int


@dataclass(frozen=True)
class ConcatCall(Call):
    KIND: ClassVar[str] = "concat"
    parts: tuple[ConcatPart, ...]
    output_dims: tuple[int, int, int, int]  # (x, y, z, w)
    #: int16 tensors (16x8): x, and along x the sizes and offsets, count bytes; the int8 copies move
    #: two bytes per element and the call casts the int16_t buffers to int8_t
    byte_view: bool = False


def lower_concat(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Concatenation)
    y = lw.g.tensor(op.outputs[0])
    rank = len(y.shape)
    if rank > 4:
        raise lw.fail(op, "CONCATENATION of tensors with more than 4 dimensions is not supported")
    # CMSIS-NN names axes x (innermost) .. w (outermost)
    names = "xyzw"
    axis_name = names[rank - 1 - op.axis]

    # an int16 tensor is an int8 one with twice the innermost extent (a copy moves bytes)
    width = 2 if y.dtype == "int16" else 1

    def xyzw(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        s = tuple(reversed(shape)) + (1,) * (4 - len(shape))
        return (s[0] * width, s[1], s[2], s[3])

    along = width if axis_name == "x" else 1

    parts = []
    offset = 0
    refs = []
    for t in op.inputs:
        tensor = lw.g.tensor(t)
        d = xyzw(tensor.shape)
        if max(d) > 0xFFFF:
            raise lw.fail(op, "CONCATENATION inputs with a dimension above 65535 are not supported")
        parts.append(ConcatPart(axis_name=axis_name, input_x=d[0], input_y=d[1], input_z=d[2], input_w=d[3],
                                output_axis=y.shape[op.axis] * along, offset=offset))
        offset += tensor.shape[op.axis] * along
        refs.append(lw.ref(t))
    b = lw.base(op, f"arm_concatenation_s8_{axis_name}", tuple(refs), lw.out_ref(op), 0, 0)
    lw.calls.append(ConcatCall(**b, parts=tuple(parts), output_dims=xyzw(y.shape),  # type: ignore[arg-type]
                               byte_view=width == 2))


# -- simulation ----------------------------------------------------------------------------------


def run_concat(m: Machine, c: Call) -> None:
    assert isinstance(c, ConcatCall)
    axis = "wzyx".index(c.parts[0].axis_name)  # position in the (w, z, y, x) view
    def data(r: TensorRef) -> np.ndarray:
        # int16: the values' bytes (little-endian), which the C copies
        return m.read(r).astype("<i2").view(np.int8) if c.byte_view else m.read(r)

    views = [data(r).reshape(p.input_w, p.input_z, p.input_y, p.input_x)
             for r, p in zip(c.inputs, c.parts, strict=True)]
    out = np.concatenate(views, axis=axis)
    m.write(c.output, np.ascontiguousarray(out).view("<i2") if c.byte_view else out)


FAMILY = OpFamily(
    builders={"CONCATENATION": read_concat},
    lowerers={Concatenation: lower_concat},
    kernels={ConcatCall: run_concat},
    options={"CONCATENATION": fb.BuiltinOptions.ConcatenationOptions},
)
