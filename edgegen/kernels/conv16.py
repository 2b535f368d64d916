"""CONV_2D and DEPTHWISE_CONV_2D with int16 activations and int8 weights (TFLite's 16x8 scheme):
lowering to ``arm_convolve_wrapper_s16`` / ``arm_depthwise_conv_wrapper_s16`` as TFLM's Prepare
does for int16 (per-channel multipliers as for int8, zero points 0, the int16 activation range),
Arm's v7 scratch sizes for its DSP and Helium builds, and the simulator's kernel (TFLM's reference
``ConvPerChannel`` / ``DepthwiseConvPerChannel`` for int16).

TFLM accumulates in int64 when the bias is int64 (or absent with a quantized bias type other than
INT32) and requantizes with the 64-bit ``MultiplyByQuantizedMultiplier`` (multiplier reduced to 16
bits, one rounding shift); with an int32 bias (CONV_2D only) it accumulates in int32 and
requantizes with the 32-bit one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import fixedpoint as fx
from ..lowering import Lowering, activation_range
from ..machine import Machine
from ..program import Call, Dims

if TYPE_CHECKING:
    from .. import ir
    from ..tflite_context import OpContext

#: TFLM's 64-bit MultiplyByQuantizedMultiplier assumes |x| < 2^47
INT64_ACC_LIMIT = 1 << 47


@dataclass(frozen=True)
class Conv16Call(Call):
    KIND: ClassVar[str] = "conv16"
    weights: str
    bias: str | None
    #: TFLM's int32 ConvPerChannel: an int32 accumulator (and bias), the 32-bit requantization
    int32_acc: bool
    multipliers: str
    shifts: str
    input_dims: Dims
    filter_dims: Dims
    bias_dims: Dims
    output_dims: Dims
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (h, w): top and left
    dilation: tuple[int, int]
    act_min: int
    act_max: int

    @property
    def checks_scratch(self) -> bool:
        return True


@dataclass(frozen=True)
class Depthwise16Call(Conv16Call):
    KIND: ClassVar[str] = "depthwise16"
    ch_mult: int = 1


def int64_bound(c: OpContext, w: ir.Tensor, bias: ir.Tensor | None, oc_axis: int) -> None:
    """Refuse a layer whose int64 accumulator could reach TFLM's 2^47 (its 64-bit requantization's
    stated domain): per output channel 32768 x sum |weights| + |bias|."""
    assert w.data is not None
    bound = 32768 * np.abs(np.moveaxis(w.data.astype(np.int64), oc_axis, 0).reshape(w.shape[oc_axis], -1)).sum(axis=1)
    if bias is not None:
        assert bias.data is not None
        bound = bound + np.abs(bias.data.astype(np.int64).reshape(-1))
    worst = int(np.argmax(bound))
    if int(bound[worst]) >= INT64_ACC_LIMIT:
        raise c.fail(f"output channel {worst} could accumulate up to {int(bound[worst]):,} (32768 x the sum of its "
                     "|weights| plus |bias|), 2^47 or more, beyond TFLM's 64-bit requantization")


# -- Arm's v7 scratch sizes (arm_convolve_get_buffer_sizes_s16.c, arm_depthwise_conv_get_buffer_sizes_s16.c)


def conv16_scratch(target: str, i: Dims, f: Dims) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(conv16_scratch(t, i, f) for t in ("dsp", "mve"))
    cols = i.c * f.w * f.h
    if target == "mve":
        return 4 * ((cols + 7) // 8) * 8 * 2
    return 2 * cols * 2


def depthwise16_scratch(target: str, i: Dims, f: Dims, dilation: tuple[int, int], ch_mult: int) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(depthwise16_scratch(t, i, f, dilation, ch_mult) for t in ("dsp", "mve"))
    # USE_FAST_DW_CONV_S16_FUNCTION
    if not (ch_mult == 1 and dilation == (1, 1) and f.w * f.h < 512):
        return 0
    if target == "mve":
        return 4 * i.c * f.w * f.h * 2 + 8
    return i.c * f.w * f.h * 2


# -- lowering ------------------------------------------------------------------------------------


def lower_conv16(lw: Lowering, op: ir.Op, *, depthwise: bool, pad: tuple[int, int], int32_acc: bool,
                 ch_mult: int, stride: tuple[int, int], dilation: tuple[int, int],
                 activation: ir.Activation) -> None:
    """The Arm call of an int16 layer whose geometry :func:`edgegen.ops.conv.lower_conv` has checked."""
    x, w, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.inputs[1]), lw.g.tensor(op.outputs[0])
    assert w.data is not None
    n, ih, iw, ic = x.shape
    if depthwise:
        _, kh, kw, oc = w.shape
    else:
        oc, kh, kw, _ = w.shape
    _, oh, ow, _ = y.shape
    mults, shifts = lw.per_channel_multipliers(op, 1, oc)
    if shifts.size and int(shifts.max()) > 7:
        # TFLM's 64-bit MultiplyByQuantizedMultiplier takes shifts up to 7 (its total shift 15 - shift
        # must stay positive); the 32-bit one would overflow its left shift
        worst = int(np.argmax(shifts))
        raise lw.fail(op, f"output channel {worst}'s scale ratio input x filter / output is 2^{int(shifts[worst]) - 1} "
                      "or more (an output scale this small, e.g. a RELU of an all-negative range, leaves TFLM's "
                      "requantization undefined); recalibrate the model")
    act_min, act_max = activation_range(activation, lw.qp(op.outputs[0]), "int16")
    bias = None
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bdata = lw.g.tensor(op.inputs[2]).data
        assert bdata is not None
        bias = (lw.const("bias", "int32_t", bdata.astype(np.int32), op) if int32_acc else
                lw.const("bias", "int64_t", bdata.astype(np.int64), op))
    input_dims = Dims(n, ih, iw, ic)
    filter_dims = Dims(1, kh, kw, oc) if depthwise else Dims(oc, kh, kw, ic)
    common = dict(
        weights=lw.const("weights", "int8_t", w.data.astype(np.int8), op), bias=bias, int32_acc=int32_acc,
        multipliers=lw.const("multipliers", "int32_t", mults, op), shifts=lw.const("shifts", "int32_t", shifts, op),
        input_dims=input_dims, filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, oc), output_dims=Dims(n, oh, ow, oc),
        stride=stride, padding=pad, dilation=dilation, act_min=act_min, act_max=act_max,
    )
    if depthwise:
        sb = depthwise16_scratch(lw.scratch_target, input_dims, filter_dims, dilation, ch_mult)
        b = lw.base(op, "arm_depthwise_conv_wrapper_s16", (lw.ref(op.inputs[0]),), lw.out_ref(op), sb,
                    n * oh * ow * oc * kh * kw)
        lw.calls.append(Depthwise16Call(**b, **common, ch_mult=ch_mult))  # type: ignore[arg-type]
    else:
        sb = conv16_scratch(lw.scratch_target, input_dims, filter_dims)
        b = lw.base(op, "arm_convolve_wrapper_s16", (lw.ref(op.inputs[0]),), lw.out_ref(op), sb,
                    n * oh * ow * oc * kh * kw * ic)
        lw.calls.append(Conv16Call(**b, **common))  # type: ignore[arg-type]


# -- simulation ----------------------------------------------------------------------------------


def conv16_acc(x: np.ndarray, w: np.ndarray, i: Dims, f: Dims, o: Dims, stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int], ch_mult: int | None) -> np.ndarray:
    """TFLM's int16 sums of filter * input over the taps inside the input (zero points 0, so padding
    with zeros is skipping the taps), int64 [n, oh, ow, oc]; ``ch_mult`` None: a convolution."""
    sh, sw = stride
    dh, dw = dilation
    ph, pw = padding
    need_h = (o.h - 1) * sh + (f.h - 1) * dh + 1
    need_w = (o.w - 1) * sw + (f.w - 1) * dw + 1
    xp = np.pad(x.reshape(i.n, i.h, i.w, i.c).astype(np.int64),
                ((0, 0), (ph, max(need_h - ph - i.h, 0)), (pw, max(need_w - pw - i.w, 0)), (0, 0)))
    ys = (np.arange(o.h) * sh)[:, None] + (np.arange(f.h) * dh)[None, :]
    xs = (np.arange(o.w) * sw)[:, None] + (np.arange(f.w) * dw)[None, :]
    taps = xp[:, ys[:, None, :, None], xs[None, :, None, :], :]  # [n, oh, ow, kh, kw, c]
    if ch_mult is not None:
        taps = np.repeat(taps, ch_mult, axis=-1)  # channel ic feeds outputs ic*mult .. ic*mult+mult-1
        acc: np.ndarray = np.einsum("nyxhwc,hwc->nyxc", taps, w.reshape(f.h, f.w, o.c).astype(np.int64))
        return acc
    wf = w.reshape(o.c, f.h, f.w, i.c).astype(np.int64)
    return np.asarray(np.tensordot(taps, wf, axes=([3, 4, 5], [1, 2, 3])), dtype=np.int64)


def run_conv16(m: Machine, c: Call) -> None:
    assert isinstance(c, Conv16Call)
    w, mults, shifts = m.const(c.weights), m.const(c.multipliers), m.const(c.shifts)
    assert w is not None and mults is not None and shifts is not None
    ch_mult = c.ch_mult if isinstance(c, Depthwise16Call) else None
    acc = conv16_acc(m.read(c.inputs[0]), w, c.input_dims, c.filter_dims, c.output_dims, c.stride, c.padding,
                     c.dilation, ch_mult)
    b = m.const(c.bias)
    if b is not None:
        acc = acc + b.astype(np.int64)
    if c.int32_acc:
        out = fx.multiply_by_quantized_multiplier(fx.wrap_int32(acc), mults, shifts)
    else:
        out = fx.multiply_by_quantized_multiplier_int64(acc, mults, shifts)
    m.write(c.output, np.clip(out, c.act_min, c.act_max).astype(np.int16))
