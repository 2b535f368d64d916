"""AVERAGE_POOL_2D and MAX_POOL_2D: reading, lowering to ``arm_avgpool_s8`` / ``arm_max_pool_s8``
(``arm_avgpool_s16`` / ``arm_max_pool_s16`` for int16 activations, TFLite's 16x8 scheme)
(also the kernel of REDUCE_MAX, see :mod:`edgegen.ops.reduce`), the average pool's scratch size,
and the simulator's kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from .. import tflite_checks as checks
from ..kernels import pool as poolk
from ..lowering import Lowering, activation_range, out_size, same_padding
from ..machine import Machine
from ..program import Call, Dims
from ..tflite_context import OpContext, stride_dilation
from ._family import OpFamily


@dataclass(frozen=True)
class Pool2D(ir.Op):
    KIND: ClassVar[str] = "POOL_2D"
    kind: str = "avg"  # "avg" or "max"
    filter: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: ir.Padding = ir.Padding.VALID
    activation: ir.Activation = ir.Activation.NONE

    def describe(self) -> str:
        name = "AVERAGE_POOL_2D" if self.kind == "avg" else "MAX_POOL_2D"
        return f"op {self.index} ({name})"


# -- reading -------------------------------------------------------------------------------------


def read_pool(kind: str) -> Callable[[OpContext], ir.Op]:
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(1)
        x, y = c.t(0), c.out()
        dtype = c.quant_activation(x, "input", ("int8", "int16"))
        if c.quant_activation(y, "output", ("int8", "int16")) != dtype:
            raise c.fail(f"input {x.describe()} and output {y.describe()} differ in type; TFLM pools keep the type")
        c.rank(x, (4,), "input")
        c.rank(y, (4,), "output")
        if (y.shape[0], y.shape[3]) != (x.shape[0], x.shape[3]):
            raise c.fail(f"output {y.describe()} does not keep the batch and channels of input {x.describe()}")
        if kind == "max" or kind == "avg":
            if x.quant != y.quant:
                raise c.fail("input and output quantization differ; TFLite requires them equal for pooling")
        fh, fw = stride_dilation(c, "filterHeight", "filterWidth")
        stride = stride_dilation(c, "strideH", "strideW")
        # a filter is only two numbers: bound it by the input before counting its work
        checks.check_padded_input(c.where, "filter", x.shape, (fh, fw), (1, 1), stride,
                                  c.padding() == ir.Padding.SAME)
        # windows are clipped to the input (TFLM and the simulator skip the padding)
        window = min(fh, x.shape[1]) * min(fw, x.shape[2])
        c.work.op(c.where, math.prod(y.shape) * window, positions=math.prod(y.shape[:3]))
        return Pool2D(
            index=c.index,
            inputs=c.inputs,
            outputs=c.outputs,
            kind=kind,
            filter=(fh, fw),
            stride=stride,
            padding=c.padding(),
            activation=c.activation(),
        )

    return build


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolCall(Call):
    KIND: ClassVar[str] = "pool"
    is_max: bool
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    stride: tuple[int, int]
    padding: tuple[int, int]
    act_min: int
    act_max: int

    @property
    def checks_scratch(self) -> bool:
        return not self.is_max


def lower_pool(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Pool2D)
    x, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.outputs[0])
    n, ih, iw, c = x.shape
    _, oh, ow, _ = y.shape
    fh, fw = op.filter
    for axis, insz, k, s, got in (("height", ih, fh, op.stride[0], oh), ("width", iw, fw, op.stride[1], ow)):
        exp = out_size(op.padding, s, 1, insz, k)
        if exp != got or exp <= 0:
            raise lw.fail(op, f"output {axis} {got} does not match the {op.padding.name} padding result {exp}")
    if n != 1:
        raise lw.fail(op, "batch sizes other than 1 are not supported for pooling")
    pad = (same_padding(op.padding, op.stride[0], 1, ih, fh, oh), same_padding(op.padding, op.stride[1], 1, iw, fw, ow))
    int16 = y.dtype == "int16"
    act_min, act_max = activation_range(op.activation, lw.qp(op.outputs[0]), y.dtype)
    is_max = op.kind == "max"
    geo = poolk.PoolGeometry(ih=ih, iw=iw, c=c, oh=oh, ow=ow, fh=fh, fw=fw, sh=op.stride[0], sw=op.stride[1],
                             pad_t=pad[0], pad_l=pad[1])
    # edgegen's generated pool kernels are int8 only; int16 (16x8) pools call Arm's *_s16 API
    kind = poolk.MAX if is_max else poolk.AVG
    if not int16 and poolk.try_lower(lw, op, lw.ref(op.inputs[0]), lw.out_ref(op), geo, kind, (act_min, act_max)):
        return
    sb = 0 if is_max else avgpool_scratch(lw.scratch_target, ow, c)
    suffix = "s16" if int16 else "s8"
    b = lw.base(op, f"arm_max_pool_{suffix}" if is_max else f"arm_avgpool_{suffix}", (lw.ref(op.inputs[0]),),
                  lw.out_ref(op), sb, n * oh * ow * c * fh * fw)
    lw.calls.append(PoolCall(
        **b, is_max=is_max, input_dims=Dims(n, ih, iw, c), filter_dims=Dims(1, fh, fw, 1),  # type: ignore[arg-type]
        output_dims=Dims(n, oh, ow, c), stride=op.stride, padding=pad, act_min=act_min, act_max=act_max,
    ))


def avgpool_scratch(target: str, out_w: int, ch: int) -> int:
    if target in ("dsp", "max"):
        # arm_avgpool_s8/_s16_get_buffer_size_dsp: one int32 accumulator per channel (MVE: none)
        return ch * 4
    return 0


# -- simulation ----------------------------------------------------------------------------------


def run_pool(m: Machine, c: Call) -> None:
    assert isinstance(c, PoolCall)
    i, f, o = c.input_dims, c.filter_dims, c.output_dims
    # REDUCE_MAX views its tensor of any rank as [1, outer, reduce, inner]
    x = m.read(c.inputs[0]).astype(np.int64).reshape(i.n, i.h, i.w, i.c)
    out = np.zeros((i.n, o.h, o.w, i.c), dtype=np.int64)
    for oy in range(o.h):
        y0 = oy * c.stride[0] - c.padding[0]
        ya, yb = max(y0, 0), min(y0 + f.h, i.h)
        for ox in range(o.w):
            x0 = ox * c.stride[1] - c.padding[1]
            xa, xb = max(x0, 0), min(x0 + f.w, i.w)
            win = x[:, ya:yb, xa:xb, :]
            if c.is_max:
                out[:, oy, ox, :] = win.max(axis=(1, 2))
            else:
                count = (yb - ya) * (xb - xa)
                s = win.sum(axis=(1, 2))
                # C integer division truncates toward zero; round half away from zero first
                num = np.where(s > 0, s + count // 2, s - count // 2)
                out[:, oy, ox, :] = np.sign(num) * (np.abs(num) // count)
    # the output ref's type (int8_t or int16_t) holds the clamped value
    m.write(c.output, np.clip(out, c.act_min, c.act_max))


FAMILY = OpFamily(
    builders={"AVERAGE_POOL_2D": read_pool("avg"), "MAX_POOL_2D": read_pool("max")},
    lowerers={Pool2D: lower_pool},
    kernels={PoolCall: run_pool, poolk.PoolKernelCall: poolk.run_poolk},
    options={"AVERAGE_POOL_2D": fb.BuiltinOptions.Pool2DOptions, "MAX_POOL_2D": fb.BuiltinOptions.Pool2DOptions},
    required_options={"AVERAGE_POOL_2D": "strides 0, an unknown padding and a 0 x 0 filter",
                      "MAX_POOL_2D": "strides 0, an unknown padding and a 0 x 0 filter"},
)
