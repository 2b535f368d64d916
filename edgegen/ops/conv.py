"""CONV_2D and DEPTHWISE_CONV_2D: reading, lowering to ``arm_convolve_wrapper_s8`` /
``arm_depthwise_conv_wrapper_s8`` (TFLM's Prepare: per-channel multipliers, padding, clamps),
CMSIS-NN's scratch sizes for its DSP and Helium builds (mirroring its
``*_get_buffer_size_dsp/_mve``), and the simulator's kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from .. import tflite_checks as checks
from ..kernels import conv as convk
from ..kernels import conv16, matmul, mve_conv, mve_dw, mve_mm, sparse
from ..kernels import depthwise as dw3
from ..lowering import Lowering, activation_range, out_size, same_padding
from ..machine import Machine, requant
from ..program import Call, Dims
from ..tflite_context import OpContext, accumulator_bound, quantized_bias_type, stride_dilation
from ._family import OpFamily


@dataclass(frozen=True)
class Conv2D(ir.Op):
    KIND: ClassVar[str] = "CONV_2D"
    stride: tuple[int, int] = (1, 1)  # (h, w)
    dilation: tuple[int, int] = (1, 1)
    padding: ir.Padding = ir.Padding.VALID
    activation: ir.Activation = ir.Activation.NONE
    #: int16 only: TFLM accumulates in int32 (an int32 bias, or none with quantized bias type INT32)
    int32_acc: bool = False


@dataclass(frozen=True)
class DepthwiseConv2D(ir.Op):
    KIND: ClassVar[str] = "DEPTHWISE_CONV_2D"
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: ir.Padding = ir.Padding.VALID
    activation: ir.Activation = ir.Activation.NONE
    depth_multiplier: int = 1


# -- reading --------------------------------------------------------------------------------


def _conv_common(c: OpContext, depthwise: bool) -> bool:
    """The checks both ops share; True when the layer accumulates in int32 (int8, or int16 with an
    int32 bias or quantized bias type), False for TFLM's int64 accumulator (int16 otherwise)."""
    c.n_inputs(2, 3)
    x, w, y = c.t(0), c.const(1, "filter", ("int8",)), c.out()
    dtype = c.quant_activation(x, "input", ("int8", "int16"))
    if c.quant_activation(y, "output", ("int8", "int16")) != dtype:
        raise c.fail(f"input {x.describe()} and output {y.describe()} differ in type; TFLM requires them equal")
    c.rank(x, (4,), "input")
    c.rank(w, (4,), "filter")
    c.rank(y, (4,), "output")
    if depthwise and w.shape[0] != 1:
        raise c.fail(f"filter {w.describe()} must have shape [1, height, width, channels]")
    if w.quant is None:
        raise c.fail(f"filter {w.describe()} is not quantized")
    if any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"filter {w.describe()} has non-zero zero points; int8 weights must be symmetric")
    oc_axis = 3 if depthwise else 0
    if w.quant.per_channel and w.quant.axis != oc_axis:
        raise c.fail(f"filter {w.describe()} is quantized along axis {w.quant.axis}, expected {oc_axis}")
    bias = None
    if depthwise and len(c.inputs) == 3 and c.inputs[2] < 0:
        # TFLM's depthwise Prepare takes three inputs as "has a bias" and then frees the
        # missing bias tensor: it crashes (SIGSEGV) on such a model
        raise c.fail("its bias is left out (-1) as a third input, which crashes TFLM; list only the input and "
                     "the filter")
    # TFLM's int16 depthwise reads its bias as int64 whatever its type; its conv takes int32 or int64
    bias_types = ("int32",) if dtype == "int8" else ("int64",) if depthwise else ("int64", "int32")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", bias_types)
        if b.size != w.shape[oc_axis]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[oc_axis]} output channels")
        bias = b
    if x.shape[0] != 1 and depthwise:
        raise c.fail("batch sizes other than 1 are not supported for DEPTHWISE_CONV_2D")
    bias_type = fb.TensorType.FLOAT32 if depthwise else quantized_bias_type(c, dtype)
    if dtype == "int8":
        accumulator_bound(c, w, bias, oc_axis)
        return True
    int32_acc = (bias.dtype == "int32") if bias is not None else bias_type == fb.TensorType.INT32
    # TFLM's int16 kernels: an int32 accumulator (int32 bias) must not overflow; the int64 one
    # must stay within the 64-bit MultiplyByQuantizedMultiplier's |x| < 2^47
    if int32_acc:
        accumulator_bound(c, w, bias, oc_axis, input_max=32768)
    else:
        conv16.int64_bound(c, w, bias, oc_axis)
    return int32_acc


def _conv_window(c: OpContext) -> tuple[tuple[int, int], tuple[int, int]]:
    """Strides and dilations of a convolution, the dilated kernel checked against the input
    (before its work is counted or anything is computed)."""
    x, w = c.t(0), c.t(1)
    stride = stride_dilation(c, "strideH", "strideW")
    dilation = stride_dilation(c, "dilationHFactor", "dilationWFactor")
    checks.check_padded_input(c.where, "kernel", x.shape, (w.shape[1], w.shape[2]), dilation, stride,
                              c.padding() == ir.Padding.SAME)
    return stride, dilation


def read_conv2d(c: OpContext) -> ir.Op:
    int32_acc = _conv_common(c, depthwise=False)
    x, w, y = c.t(0), c.t(1), c.out()
    if w.shape[3] != x.shape[3]:
        raise c.fail(
            f"filter input depth {w.shape[3]} differs from the input's {x.shape[3]}; grouped "
            "convolutions are not supported"
        )
    stride, dilation = _conv_window(c)
    c.work.op(c.where, math.prod(y.shape) * w.shape[1] * w.shape[2] * w.shape[3])
    return Conv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=stride,
        dilation=dilation,
        padding=c.padding(),
        activation=c.activation(),
        int32_acc=int32_acc and x.dtype == "int16",
    )


def read_depthwise(c: OpContext) -> ir.Op:
    _conv_common(c, depthwise=True)
    x, w, y = c.t(0), c.t(1), c.out()
    cin, cout = x.shape[3], w.shape[3]
    if cin == 0 or cout % cin != 0:
        raise c.fail(f"output depth {cout} is not a multiple of input depth {cin}")
    if y.shape[3] != cout:
        raise c.fail(f"output {y.describe()} does not have the filter's {cout} channels")
    # TFLM's kernel loops over the options' depth multiplier, not the shapes' (it does not check
    # that they agree): another value writes some output channels twice or not at all
    multiplier = int(c.opt("depthMultiplier"))
    if multiplier != cout // cin:
        raise c.fail(
            f"depth multiplier {multiplier} in its options does not match its shapes ({cout} output channels "
            f"from {cin} input channels: {cout // cin}); TFLM would compute with {multiplier}"
        )
    stride, dilation = _conv_window(c)
    c.work.op(c.where, math.prod(y.shape) * w.shape[1] * w.shape[2])
    return DepthwiseConv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=stride,
        dilation=dilation,
        padding=c.padding(),
        activation=c.activation(),
        depth_multiplier=multiplier,
    )


# -- lowering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvCall(Call):
    KIND: ClassVar[str] = "conv"
    weights: str
    bias: str | None
    multipliers: str
    shifts: str
    input_dims: Dims
    filter_dims: Dims
    bias_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (h, w): top and left
    dilation: tuple[int, int]
    act_min: int
    act_max: int

    @property
    def checks_scratch(self) -> bool:
        return True


@dataclass(frozen=True)
class DepthwiseCall(ConvCall):
    KIND: ClassVar[str] = "depthwise"
    ch_mult: int = 1


def lower_conv(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, (Conv2D, DepthwiseConv2D))
    depthwise = isinstance(op, DepthwiseConv2D)
    x, w, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.inputs[1]), lw.g.tensor(op.outputs[0])
    assert w.data is not None
    n, ih, iw, ic = x.shape
    if depthwise:
        _, kh, kw, oc = w.shape
    else:
        oc, kh, kw, _ = w.shape
    on, oh, ow, occ = y.shape
    for axis, insz, k, s, d, got in (("height", ih, kh, op.stride[0], op.dilation[0], oh),
                                       ("width", iw, kw, op.stride[1], op.dilation[1], ow)):
        exp = out_size(op.padding, s, d, insz, k)
        if exp != got or exp <= 0:
            raise lw.fail(op, f"output {axis} {got} does not match the {op.padding.name} padding result {exp}")
    if occ != oc or on != n:
        raise lw.fail(op, f"output shape {list(y.shape)} does not match filter {list(w.shape)}")
    pad = (same_padding(op.padding, op.stride[0], op.dilation[0], ih, kh, oh),
           same_padding(op.padding, op.stride[1], op.dilation[1], iw, kw, ow))
    if x.dtype == "int16":
        conv16.lower_conv16(lw, op, depthwise=depthwise, pad=pad, int32_acc=isinstance(op, Conv2D) and op.int32_acc,
                            ch_mult=op.depth_multiplier if isinstance(op, DepthwiseConv2D) else 1, stride=op.stride,
                            dilation=op.dilation, activation=op.activation)
        return
    mults, shifts = lw.per_channel_multipliers(op, 1, oc)
    xq, yq = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    act_min, act_max = activation_range(op.activation, yq)
    if not depthwise and kh == kw == 1 and op.stride == (1, 1) and pad == (0, 0):
        # a 1x1 filter with stride 1: a matrix product of n*h*w rows (dilation has no effect)
        bias_t = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        if sparse.try_lower(lw, op, w=w.data.reshape(oc, ic), bias=bias_t, x=lw.ref(op.inputs[0]),
                            input_offset=-xq.zero_point, mults=mults, shifts=shifts, out_zp=yq.zero_point,
                            act=(act_min, act_max), npix=n * ih * iw):
            return
        if matmul.try_lower(lw, op, w=w.data.reshape(oc, ic), bias=bias_t, x=lw.ref(op.inputs[0]),
                            input_offset=-xq.zero_point, mults=mults, shifts=shifts, out_zp=yq.zero_point,
                            act=(act_min, act_max), npix=n * ih * iw):
            return
    elif not depthwise and convk.applies(kh, kw, ic, op.dilation, n) is None:
        # any other filter and stride: each window gathered, then the 1x1 micro-kernel
        bias_t = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        cgeo = convk.Geometry(ih=ih, iw=iw, c=ic, kh=kh, kw=kw, oh=oh, ow=ow, sh=op.stride[0], sw=op.stride[1],
                             pad_t=pad[0], pad_l=pad[1])
        if sparse.try_lower(lw, op, w=w.data.reshape(oc, kh * kw * ic), bias=bias_t, x=lw.ref(op.inputs[0]),
                            input_offset=-xq.zero_point, mults=mults, shifts=shifts, out_zp=yq.zero_point,
                            act=(act_min, act_max), geo=cgeo):
            return
        if convk.try_lower(lw, op, w=w.data.reshape(oc, kh * kw * ic), bias=bias_t, x=lw.ref(op.inputs[0]),
                           input_offset=-xq.zero_point, mults=mults, shifts=shifts, out_zp=yq.zero_point,
                           act=(act_min, act_max), geo=cgeo):
            return
    elif depthwise and ic == 1 and convk.applies(kh, kw, ic, op.dilation, n) is None:
        # one input channel: the depth multiplier's oc outputs each see the same window, exactly a
        # CONV_2D with 1 input channel and filter [oc, KH*KW] (TFLM's depthwise sums the same taps with
        # the same per-channel requantization), so the general conv kernel takes it
        bias_t = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        cgeo = convk.Geometry(ih=ih, iw=iw, c=1, kh=kh, kw=kw, oh=oh, ow=ow, sh=op.stride[0], sw=op.stride[1],
                              pad_t=pad[0], pad_l=pad[1])
        if convk.try_lower(lw, op, w=np.ascontiguousarray(w.data.reshape(kh * kw, oc).T), bias=bias_t,
                           x=lw.ref(op.inputs[0]), input_offset=-xq.zero_point, mults=mults, shifts=shifts,
                           out_zp=yq.zero_point, act=(act_min, act_max), geo=cgeo):
            return
    elif depthwise and (oc != ic or kh > 3 or kw > 3) and convk.applies(kh, kw, 1, op.dilation, n) is None:
        # C > 1 input channels with multiplier M > 1 or a filter above 3x3 (which the depthwise
        # kernels do not take): the conv kernel with groups = C, each channel's window gathered with a
        # byte stride C and its M outputs (contiguous, c*M .. c*M+M-1) from filter rows [oc, KH*KW]
        bias_t = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        cgeo = convk.Geometry(ih=ih, iw=iw, c=ic, kh=kh, kw=kw, oh=oh, ow=ow, sh=op.stride[0], sw=op.stride[1],
                              pad_t=pad[0], pad_l=pad[1])
        if convk.try_lower(lw, op, w=np.ascontiguousarray(w.data.reshape(kh * kw, oc).T), bias=bias_t,
                           x=lw.ref(op.inputs[0]), input_offset=-xq.zero_point, mults=mults, shifts=shifts,
                           out_zp=yq.zero_point, act=(act_min, act_max), geo=cgeo, groups=ic):
            return
    if depthwise:
        assert isinstance(op, DepthwiseConv2D)
        why = dw3.applies(kh, kw, op.stride, op.dilation, op.depth_multiplier, n)
        bias_t = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        geo = dw3.Geometry(ih=ih, iw=iw, c=oc, oh=oh, ow=ow, stride=op.stride[0], pad_t=pad[0], pad_l=pad[1],
                           kh=kh, kw=kw)
        if why is not None and lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, f"edgegen's depthwise kernels do not take {why}"))
        if why is None and mve_dw.try_lower(lw, op, w=dw3.embed(w.data.reshape(kh * kw, oc), kh, kw), bias=bias_t,
                                            x=lw.ref(op.inputs[0]), input_offset=-xq.zero_point, mults=mults,
                                            shifts=shifts, out_zp=yq.zero_point, act=(act_min, act_max), geo=geo):
            return
    input_dims = Dims(n, ih, iw, ic)
    filter_dims = Dims(1, kh, kw, oc) if depthwise else Dims(oc, kh, kw, ic)
    output_dims = Dims(n, oh, ow, oc)
    common = dict(
        weights=lw.const("weights", "int8_t", w.data.astype(np.int8), op),
        bias=lw.bias(op, oc),
        multipliers=lw.const("multipliers", "int32_t", mults, op),
        shifts=lw.const("shifts", "int32_t", shifts, op),
        input_dims=input_dims, filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, oc), output_dims=output_dims,
        input_offset=-xq.zero_point, output_offset=yq.zero_point,
        stride=op.stride, padding=pad, dilation=op.dilation, act_min=act_min, act_max=act_max,
    )
    if depthwise:
        assert isinstance(op, DepthwiseConv2D)
        sb = depthwise_scratch(lw.scratch_target, input_dims, filter_dims, output_dims, pad, op.stride,
                               op.dilation, op.depth_multiplier)
        macs = n * oh * ow * oc * kh * kw
        b = lw.base(op, "arm_depthwise_conv_wrapper_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), sb, macs)
        lw.calls.append(DepthwiseCall(**b, **common, ch_mult=op.depth_multiplier))  # type: ignore[arg-type]
    else:
        sb = conv_scratch(lw.scratch_target, input_dims, filter_dims, output_dims, pad, op.stride, op.dilation)
        macs = n * oh * ow * oc * kh * kw * ic
        b = lw.base(op, "arm_convolve_wrapper_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), sb, macs)
        lw.calls.append(ConvCall(**b, **common))  # type: ignore[arg-type]


# -- scratch (CMSIS-NN's *_get_buffer_size_dsp / _mve) ----------------------------------------


#: CMSIS-NN's CH_IN_BLOCK_MVE (arm_nnsupportfunctions.h)
CH_IN_BLOCK_MVE = 124


#: CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD: 1 for GCC and clang, 8 for armclang.
#: 1 sizes for the depthwise-to-conv conversion whenever any compiler may take it (a superset).
DW_ONE_IN_CH_THRESHOLD = 1


def _is_1x1(pad: tuple[int, int], stride: tuple[int, int], dil: tuple[int, int], f: Dims) -> bool:
    # arm_nn_is_convolve_1x1: no padding, unit dilation, 1x1 filter
    return pad == (0, 0) and dil == (1, 1) and f.w == 1 and f.h == 1


def _is_1x1_fast(stride: tuple[int, int]) -> bool:
    return stride == (1, 1)


def _is_1_x_n(pad: tuple[int, int], dil: tuple[int, int], i: Dims, f: Dims, o: Dims) -> bool:
    # arm_nn_is_convolve_1_x_n: a single row, unit dilation, batch 1
    return i.n == 1 and i.h == 1 and f.h == 1 and o.h == 1 and dil == (1, 1) and pad[0] == 0


def _conv_s8_dsp(i: Dims, f: Dims) -> int:
    cols = f.w * f.h * i.c
    aligned = cols + (4 - cols % 4) % 4
    return 2 * aligned * 2


def _conv_s8_mve(i: Dims, f: Dims) -> int:
    return 4 * ((i.c * f.w * f.h + 15) // 16) * 16


def _conv_1_x_n_mve(i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int]) -> int:
    pad_x, sx = pad[1], stride[1]
    total = (o.w - 1) * sx + f.w - i.w
    asym = total % 2
    right = max(1, (pad_x + asym + sx - 1) // sx) if pad_x + asym != 0 else 0
    left = max(1, (pad_x + sx - 1) // sx) if pad_x != 0 else 0
    none = max(o.w - (right + left), 0)
    if right + none + left != o.w:
        return _conv_s8_mve(i, f)
    pl = pad_x * i.c
    pr = right * i.c if asym else pl
    el = f.w * i.c
    return max(el + pl, el - i.c + pr)


def conv_scratch(target: str, i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int],
         dil: tuple[int, int]) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(conv_scratch(t, i, f, o, pad, stride, dil) for t in ("dsp", "mve"))
    if _is_1x1(pad, stride, dil, f):
        return 0  # 1x1 fast needs 2*C*2 only with armclang; GCC builds need none
    if _is_1_x_n(pad, dil, i, f, o):
        return _conv_1_x_n_mve(i, f, o, pad, stride) if target == "mve" else _conv_s8_dsp(i, f)
    return _conv_s8_mve(i, f) if target == "mve" else _conv_s8_dsp(i, f)


def depthwise_scratch(target: str, i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int],
              dil: tuple[int, int], ch_mult: int) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(depthwise_scratch(t, i, f, o, pad, stride, dil, ch_mult) for t in ("dsp", "mve"))
    if target == "mve" and i.c == 1 and o.c > DW_ONE_IN_CH_THRESHOLD:
        conv_f = Dims(f.c, f.h, f.w, f.n)
        return conv_scratch("mve", i, conv_f, o, pad, stride, dil) + f.c * f.h * f.w * f.n
    if i.c == o.c and i.n == 1 and dil == (1, 1):
        if target == "dsp":
            if f.w == 3 and f.h == 3 and pad[0] <= 1 and pad[1] <= 1:
                return 0
            return i.c * f.w * f.h * 2
        return 4 * CH_IN_BLOCK_MVE * f.w * f.h
    return 0


# -- simulation --------------------------------------------------------------------------------


def run_conv(m: Machine, c: Call) -> None:
    assert isinstance(c, ConvCall)
    x = m.read(c.inputs[0]).astype(np.int64)
    w = m.const(c.weights)
    assert w is not None
    i, f, o = c.input_dims, c.filter_dims, c.output_dims
    depthwise = isinstance(c, DepthwiseCall)
    sh, sw = c.stride
    dh, dw = c.dilation
    ph, pw = c.padding
    kh, kw = f.h, f.w
    # Pad with the input zero point so padded taps contribute (zp + input_offset) * w = 0,
    # exactly like TFLM skipping out-of-bounds taps.
    zp = -c.input_offset
    need_h = (o.h - 1) * sh + (kh - 1) * dh + 1
    need_w = (o.w - 1) * sw + (kw - 1) * dw + 1
    pad_b = max(need_h - ph - i.h, 0)
    pad_r = max(need_w - pw - i.w, 0)
    xp = np.pad(x, ((0, 0), (ph, pad_b), (pw, pad_r), (0, 0)), constant_values=zp) + c.input_offset
    # gather taps: [n, oh, ow, kh, kw, c]
    ys = (np.arange(o.h) * sh)[:, None] + (np.arange(kh) * dh)[None, :]
    xs = (np.arange(o.w) * sw)[:, None] + (np.arange(kw) * dw)[None, :]
    taps = xp[:, ys[:, None, :, None], xs[None, :, None, :], :]
    mults = m.const(c.multipliers)
    shifts = m.const(c.shifts)
    assert mults is not None and shifts is not None
    if depthwise:
        assert isinstance(c, DepthwiseCall)
        taps = np.repeat(taps, c.ch_mult, axis=-1)  # channel ic feeds outputs ic*mult .. ic*mult+mult-1
        wk = w.reshape(kh, kw, o.c).astype(np.int64)
        acc = np.einsum("nyxhwc,hwc->nyxc", taps, wk)
    else:
        wf = w.reshape(o.c, kh, kw, i.c).astype(np.int64)
        acc = np.tensordot(taps, wf, axes=([3, 4, 5], [1, 2, 3]))
    b = m.const(c.bias)
    if b is not None:
        acc = acc + b.astype(np.int64)
    m.write(c.output, requant(acc, mults.astype(np.int64), shifts.astype(np.int64), c.output_offset, c.act_min,
                               c.act_max))


FAMILY = OpFamily(
    builders={"CONV_2D": read_conv2d, "DEPTHWISE_CONV_2D": read_depthwise},
    lowerers={Conv2D: lower_conv, DepthwiseConv2D: lower_conv},
    kernels={ConvCall: run_conv, DepthwiseCall: run_conv, matmul.MatmulCall: matmul.run_matmul,
             conv16.Conv16Call: conv16.run_conv16, conv16.Depthwise16Call: conv16.run_conv16,
             dw3.DepthwiseKernelCall: dw3.run_dw3, mve_dw.DwMveCall: mve_dw.run_dw8,
             convk.ConvKernelCall: convk.run_convk, sparse.SparseCall: sparse.run_sparse,
             mve_mm.MatmulMveCall: mve_mm.run_mm8, mve_conv.ConvMveCall: mve_conv.run_conv8},
    options={"CONV_2D": fb.BuiltinOptions.Conv2DOptions,
             "DEPTHWISE_CONV_2D": fb.BuiltinOptions.DepthwiseConv2DOptions},
    required_options={"CONV_2D": "strides 0, an unknown padding and dilation 0",
                      "DEPTHWISE_CONV_2D": "strides 0, an unknown padding, dilation 0 and depth multiplier 0"},
)
