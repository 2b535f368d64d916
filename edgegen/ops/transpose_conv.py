"""TRANSPOSE_CONV, int8 (Keras Conv2DTranspose and Conv1DTranspose): reading as TFLM's Prepare
does, lowering (per-channel multipliers, TFLM's ``ComputePaddingHeightWidth`` run on the output
size, the activation clamps) to CMSIS-NN's ``arm_transpose_conv_s8`` where Arm's kernel computes
what TFLM's reference computes, else to ``edgegen_transpose_conv_s8``, and the simulator's kernel
(``reference_integer_ops::TransposeConv``: int32 sums scattered into the output, then the bias and
the per-channel requantization).

Arm's v7 ``arm_transpose_conv_s8`` was compared with TFLM's reference over thousands of random
shapes: it matches whenever the top padding is 0 (VALID, and SAME whenever ``filter - stride``
is at most 1 in height) but not with a top padding (its rolling row buffer skips rows), so those
layers take edgegen's kernel. TFLM's CMSIS-NN build calls ``arm_transpose_conv_wrapper_s8`` and
drops the fused activation (it passes kTfLiteActNone); edgegen follows TFLM's reference kernel,
the oracle, which applies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..lowering import Lowering, activation_range
from ..machine import Machine, requant
from ..program import Call, Dims
from ..tflite_context import OpContext, accumulator_bound, quantized_bias_type, stride_dilation
from ._family import OpFamily

#: CMSIS-NN's REVERSE_TCOL_EFFICIENT_THRESHOLD (arm_nnsupportfunctions.h): above this many input
#: channels, with strides of at most 2, its buffer-size functions size a reversed convolution
REVERSE_TCOL_EFFICIENT_THRESHOLD = 16
#: TFLM's ConvParams keeps strides and paddings in int16_t fields
INT16_MAX = 32767


@dataclass(frozen=True)
class TransposeConv(ir.Op):
    """inputs: (input, filter [OC, KH, KW, IC], bias or nothing); the output-shape operand is
    dropped (TFLM ignores it too: the output tensor's shape rules)."""

    KIND: ClassVar[str] = "TRANSPOSE_CONV"
    stride: tuple[int, int] = (1, 1)  # (h, w)
    padding: ir.Padding = ir.Padding.VALID
    activation: ir.Activation = ir.Activation.NONE


# -- reading -------------------------------------------------------------------------------------


def read_transpose_conv(c: OpContext) -> ir.Op:
    c.n_inputs(3, 4)
    shape_t, w, x, y = c.t(0), c.const(1, "filter", ("int8",)), c.t(2), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    c.rank(x, (4,), "input")
    c.rank(w, (4,), "filter")
    c.rank(y, (4,), "output")
    if w.quant is None:
        raise c.fail(f"filter {w.describe()} is not quantized")
    if any(z != 0 for z in w.quant.zero_points):
        # TFLM's int8 kernel never subtracts a filter zero point
        raise c.fail(f"filter {w.describe()} has non-zero zero points; int8 weights must be symmetric")
    if w.quant.per_channel and (w.quant.axis != 0 or len(w.quant.scales) != w.shape[0]):
        raise c.fail(f"filter {w.describe()} must be quantized per tensor or per output channel (axis 0)")
    if x.shape[0] != y.shape[0]:
        raise c.fail(f"input {x.describe()} and output {y.describe()} differ in batch size")
    if w.shape[3] != x.shape[3]:
        raise c.fail(f"filter {w.describe()} has input depth {w.shape[3]}, the input {x.shape[3]} channels")
    if w.shape[0] != y.shape[3]:
        raise c.fail(f"filter {w.describe()} has {w.shape[0]} output channels, the output {y.shape[3]}")
    if shape_t.is_const:
        # TFLM reads the output tensor's shape; TFLite (and the converter) compute it from this operand
        assert shape_t.data is not None
        if shape_t.data.size != 4 or [int(v) for v in shape_t.data.reshape(-1)] != list(y.shape):
            raise c.fail(f"output shape operand {shape_t.describe()} holds {shape_t.data.reshape(-1).tolist()}, "
                         f"not the output's shape {list(y.shape)}")
    bias = None
    if len(c.inputs) == 4:
        if c.inputs[3] < 0:
            raise c.fail("its bias is left out (-1) as a fourth input; list only the output shape, the filter and "
                         "the input")
        bias = c.const(3, "bias", ("int32",))
        if bias.size != w.shape[0]:
            raise c.fail(f"bias {bias.describe()} has {bias.size} values for {w.shape[0]} output channels")
    quantized_bias_type(c)
    accumulator_bound(c, w, bias, 0)
    stride = stride_dilation(c, "strideH", "strideW")
    if max(stride) > INT16_MAX:
        # TFLM copies them into ConvParams' int16_t fields: a larger stride wraps (65535 acts as -1)
        raise c.fail(f"strides ({stride[0]}, {stride[1]}) above {INT16_MAX} are not supported (TFLM keeps them in "
                     "16 bits)")
    c.work.op(c.where, math.prod(x.shape) * w.shape[0] * w.shape[1] * w.shape[2])
    inputs = (c.inputs[2], c.inputs[1]) + ((c.inputs[3],) if bias is not None else ())
    return TransposeConv(index=c.index, inputs=inputs, outputs=c.outputs, stride=stride, padding=c.padding(),
                         activation=c.activation())


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransposeConvCall(Call):
    """``arm_transpose_conv_s8`` (or ``edgegen_transpose_conv_s8``, same arguments but the two
    buffers): TFLM's ConvParams for its reference kernel."""

    KIND: ClassVar[str] = "transpose_conv"
    weights: str
    bias: str | None
    multipliers: str
    shifts: str
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (h, w): top and left
    padding_offsets: tuple[int, int]  # TFLM's CMSIS-NN glue: padding + the odd pixel at the end
    act_min: int
    act_max: int

    @property
    def checks_scratch(self) -> bool:
        return self.function == "arm_transpose_conv_s8"


def compute_padding(stride: int, in_size: int, filt: int, padding: ir.Padding) -> tuple[int, int]:
    """TFLite ``ComputePaddingWithOffset`` (dilation 1) as TFLM's transpose conv calls it: with the
    transpose conv's *output* size as the image size. Returns (padding, offset)."""
    if padding == ir.Padding.SAME:
        out = (in_size + stride - 1) // stride
    else:
        out = int((in_size + stride - filt) / stride)  # C division truncates toward zero
    total = max((out - 1) * stride + filt - in_size, 0)
    return total // 2, total % 2


def _tf_output_size(padding: ir.Padding, stride: int, in_size: int, filt: int) -> int:
    """The size TensorFlow's Conv2DBackpropInput (and Keras) give the output."""
    return in_size * stride if padding == ir.Padding.SAME else (in_size - 1) * stride + max(filt, stride)


def arm_row_buffer_bytes(i: Dims, f: Dims, o: Dims, stride: tuple[int, int]) -> int:
    """The int32 rolling rows ``arm_transpose_conv_s8`` uses: (in_w - 1) * stride_w + max(kw, stride_w)
    columns of out_c sums, max(kh, stride_h) rows."""
    return ((i.w - 1) * stride[1] + max(f.w, stride[1])) * o.c * max(f.h, stride[0]) * 4


def arm_get_buffer_size(target: str, i: Dims, f: Dims, o: Dims, stride: tuple[int, int]) -> int:
    """CMSIS-NN v7 ``arm_transpose_conv_s8_get_buffer_size`` (dsp or mve build), which sizes the
    wrapper's reversed convolution for strides <= 2 and more than 16 input channels and otherwise
    the row buffer with ``max(kw, stride_h)`` columns (sic)."""
    if stride[0] <= 2 and stride[1] <= 2 and i.c > REVERSE_TCOL_EFFICIENT_THRESHOLD:
        cols = f.w * f.h * i.c  # arm_convolve_s8_get_buffer_size on the upscaled input
        if target == "mve":
            return 4 * ((cols + 15) // 16) * 16
        return 2 * (cols + (4 - cols % 4) % 4) * 2
    return ((i.w - 1) * stride[1] + max(f.w, stride[0])) * o.c * max(f.h, stride[0]) * 4


def transpose_conv_scratch(target: str, i: Dims, f: Dims, o: Dims, stride: tuple[int, int]) -> int:
    """Scratch for ``arm_transpose_conv_s8``: what Arm's kernel writes, and at least what its
    get_buffer_size asks (the generated check compares the two); edgegen's portable one needs none."""
    if target == "portable":
        return 0
    if target == "max":
        return max(transpose_conv_scratch(t, i, f, o, stride) for t in ("dsp", "mve"))
    return max(arm_row_buffer_bytes(i, f, o, stride), arm_get_buffer_size(target, i, f, o, stride))


def lower_transpose_conv(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, TransposeConv)
    x, w, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.inputs[1]), lw.g.tensor(op.outputs[0])
    assert w.data is not None
    n, ih, iw, ic = x.shape
    oc, kh, kw, _ = w.shape
    _, oh, ow, _ = y.shape
    pad_h, off_h = compute_padding(op.stride[0], oh, kh, op.padding)
    pad_w, off_w = compute_padding(op.stride[1], ow, kw, op.padding)
    if max(pad_h + off_h, pad_w + off_w) > INT16_MAX:
        raise lw.fail(op, f"padding ({pad_h}, {pad_w}) above {INT16_MAX} is not supported (TFLM keeps it in 16 bits)")
    mults, shifts = lw.per_channel_multipliers(op, 1, oc)
    xq, yq = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    act_min, act_max = activation_range(op.activation, yq)
    i, f, o = Dims(n, ih, iw, ic), Dims(oc, kh, kw, ic), Dims(n, oh, ow, oc)
    # Arm's kernel equals TFLM's reference with no top padding, on the output sizes TensorFlow
    # gives, one image at a time (what it was compared on); anything else takes edgegen's kernel
    arm = (pad_h == 0 and n == 1 and oh == _tf_output_size(op.padding, op.stride[0], ih, kh)
           and ow == _tf_output_size(op.padding, op.stride[1], iw, kw))
    function = "arm_transpose_conv_s8" if arm else "edgegen_transpose_conv_s8"
    scratch = transpose_conv_scratch(lw.scratch_target, i, f, o, op.stride) if arm else 0
    b = lw.base(op, function, (lw.ref(op.inputs[0]),), lw.out_ref(op), scratch, n * ih * iw * ic * oc * kh * kw)
    bias_data = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 else None
    bias = None if bias_data is None else lw.const("bias", "int32_t", bias_data.astype(np.int32), op)
    lw.calls.append(TransposeConvCall(
        **b,  # type: ignore[arg-type]
        weights=lw.const("weights", "int8_t", w.data.astype(np.int8), op), bias=bias,
        multipliers=lw.const("multipliers", "int32_t", mults, op), shifts=lw.const("shifts", "int32_t", shifts, op),
        input_dims=i, filter_dims=f, output_dims=o, input_offset=-xq.zero_point, output_offset=yq.zero_point,
        stride=op.stride, padding=(pad_h, pad_w), padding_offsets=(pad_h + off_h, pad_w + off_w),
        act_min=act_min, act_max=act_max,
    ))


# -- simulation ----------------------------------------------------------------------------------


def run_transpose_conv(m: Machine, c: Call) -> None:
    """``reference_integer_ops::TransposeConv``: every input pixel's products added into the
    output pixels its filter window covers (out of range ones dropped), then bias and requantize."""
    assert isinstance(c, TransposeConvCall)
    i, f, o = c.input_dims, c.filter_dims, c.output_dims
    x = m.read(c.inputs[0]).astype(np.int64).reshape(i.n, i.h, i.w, i.c) + c.input_offset
    w = m.const(c.weights)
    mults, shifts = m.const(c.multipliers), m.const(c.shifts)
    assert w is not None and mults is not None and shifts is not None
    wf = w.astype(np.int64).reshape(f.n, f.h, f.w, f.c)
    sh, sw = c.stride
    ph, pw = c.padding
    # a canvas wide enough for every scattered window, cropped to the output afterwards
    hh = max((i.h - 1) * sh + f.h, ph + o.h)
    ww = max((i.w - 1) * sw + f.w, pw + o.w)
    acc = np.zeros((i.n, hh, ww, o.c), dtype=np.int64)
    for fy in range(f.h):
        for fx in range(f.w):
            contrib = np.tensordot(x, wf[:, fy, fx, :], axes=([3], [1]))  # [n, ih, iw, oc]
            acc[:, fy:fy + (i.h - 1) * sh + 1:sh, fx:fx + (i.w - 1) * sw + 1:sw, :] += contrib
    out = acc[:, ph:ph + o.h, pw:pw + o.w, :]
    bias = m.const(c.bias)
    if bias is not None:
        out = out + bias.astype(np.int64)
    m.write(c.output, requant(out, mults.astype(np.int64), shifts.astype(np.int64), c.output_offset, c.act_min,
                              c.act_max))


FAMILY = OpFamily(
    builders={"TRANSPOSE_CONV": read_transpose_conv},
    lowerers={TransposeConv: lower_transpose_conv},
    kernels={TransposeConvCall: run_transpose_conv},
    options={"TRANSPOSE_CONV": fb.BuiltinOptions.TransposeConvOptions},
    required_options={"TRANSPOSE_CONV": "strides 0 and an unknown padding"},
)
