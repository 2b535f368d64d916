"""PAD and PADV2 (with the zero point as the value): reading, lowering to ``arm_pad_s8`` and the
simulator's kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..lowering import Lowering, dims4
from ..machine import Machine
from ..program import Call, Dims
from ..tflite_context import OpContext
from ._family import OpFamily


@dataclass(frozen=True)
class Pad(ir.Op):
    KIND: ClassVar[str] = "PAD"
    paddings: tuple[tuple[int, int], ...] = ()


# -- reading -------------------------------------------------------------------------------------


def read_pad(c: OpContext) -> ir.Op:
    c.n_inputs(2, 3)
    x, y = c.t(0), c.out()
    dtype = c.quant_activation(x, "input", ("int8", "int16"))
    if c.quant_activation(y, "output", ("int8", "int16")) != dtype:
        raise c.fail(f"input {x.describe()} and output {y.describe()} differ in type")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        v = c.const(2, "constant value", (dtype,))
        assert v.data is not None and y.quant is not None
        if v.size != 1:
            raise c.fail(f"constant value {v.describe()} must hold one value")
        # TFLM pads with the value and requires it quantized as the output
        if v.quant is None or (v.quant.zero_point, np.float32(v.quant.scale)) != (
                y.quant.zero_point, np.float32(y.quant.scale)):
            raise c.fail(f"constant value {v.describe()} is not quantized as the output (TFLM requires it)")
        if int(v.data.reshape(-1)[0]) != y.quant.zero_point:
            raise c.fail("PADV2 with a value other than the zero point is not supported")
    # TFLM reads the paddings as int32 whatever their type: int64 ones would be misread
    p = c.const(1, "paddings", ("int32",))
    assert p.data is not None
    if p.data.shape != (len(x.shape), 2):
        raise c.fail(f"paddings {p.data.shape} do not match input rank {len(x.shape)}")
    if len(x.shape) > 4:
        raise c.fail("PAD of tensors with more than 4 dimensions is not supported")
    pads = tuple((int(a), int(b)) for a, b in p.data.tolist())
    if any(a < 0 or b < 0 for a, b in pads):
        raise c.fail(f"negative paddings {pads} are not supported")
    exp = tuple(d + a + b for d, (a, b) in zip(x.shape, pads, strict=False))
    if exp != y.shape:
        raise c.fail(f"output shape {list(y.shape)} does not match padded shape {list(exp)}")
    return Pad(index=c.index, inputs=c.inputs[:2], outputs=c.outputs, paddings=pads)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PadCall(Call):
    KIND: ClassVar[str] = "pad"
    pad_value: int
    input_size: Dims
    pre_pad: Dims
    post_pad: Dims
    #: int16 tensors (16x8, zero point 0): the dims count bytes, the int8 pad copies two bytes per
    #: element and fills the padding with zero bytes; the call casts the int16_t buffers to int8_t
    byte_view: bool = False


def lower_pad(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Pad)
    x = lw.g.tensor(op.inputs[0])
    k = 4 - len(x.shape)
    pads = ((0, 0),) * k + op.paddings
    # an int16 tensor is an int8 one with twice the channels; its zero point 0 is two zero bytes
    width = 2 if x.dtype == "int16" else 1
    shape = dims4(x.shape)
    pads = (*pads[:3], (pads[3][0] * width, pads[3][1] * width))
    b = lw.base(op, "arm_pad_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, 0)
    lw.calls.append(PadCall(
        **b, pad_value=lw.qp(op.outputs[0]).zero_point,  # type: ignore[arg-type]
        input_size=Dims(shape.n, shape.h, shape.w, shape.c * width),
        pre_pad=Dims(*(p[0] for p in pads)), post_pad=Dims(*(p[1] for p in pads)), byte_view=width == 2,
    ))


# -- simulation ----------------------------------------------------------------------------------


def run_pad(m: Machine, c: Call) -> None:
    assert isinstance(c, PadCall)
    s = c.input_size
    x = m.read(c.inputs[0])
    if c.byte_view:  # the bytes of the int16 values, as the C pads them (little-endian)
        x = x.astype("<i2").view(np.int8)
    x = x.reshape(s.n, s.h, s.w, s.c)
    pre, post = c.pre_pad, c.post_pad
    pads = ((pre.n, post.n), (pre.h, post.h), (pre.w, post.w), (pre.c, post.c))
    out = np.pad(x, pads, constant_values=c.pad_value)
    m.write(c.output, np.ascontiguousarray(out).view("<i2") if c.byte_view else out)


FAMILY = OpFamily(
    builders={"PAD": read_pad, "PADV2": read_pad},
    lowerers={Pad: lower_pad},
    kernels={PadCall: run_pad},
)
