"""Execute a :class:`Program` with numpy integer arithmetic, bit-exact with TFLM and the C.

The simulator runs in a real byte arena laid out by the program's memory plan, so a planning
mistake (two live tensors sharing bytes) shows up as a wrong answer here too, not only on the
device. Each kernel reads its integers from the call object; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import fixedpoint as fx
from .program import (
    AddCall,
    Call,
    ConcatCall,
    ConvCall,
    DepthwiseCall,
    DequantizeCall,
    FullyConnectedCall,
    LutCall,
    MeanCall,
    MulCall,
    PadCall,
    PoolCall,
    Program,
    QuantizeCall,
    SoftmaxCall,
    TensorRef,
)


@dataclass(frozen=True)
class SimResult:
    outputs: tuple[np.ndarray, ...]
    #: with tracing: each call's output, by call index
    trace: tuple[np.ndarray, ...]


class _Machine:
    def __init__(self, program: Program) -> None:
        self.p = program
        self.arena = np.zeros(max(program.plan.arena_bytes, 1), dtype=np.uint8)

    def view(self, ref: TensorRef) -> np.ndarray:
        off = self.p.plan.offsets[ref.buffer]
        dtype = np.float32 if ref.ctype == "float" else np.int8
        n = ref.size * np.dtype(dtype).itemsize
        return self.arena[off : off + n].view(dtype).reshape(ref.shape)

    def read(self, ref: TensorRef) -> np.ndarray:
        return self.view(ref).copy()

    def write(self, ref: TensorRef, value: np.ndarray) -> None:
        v = self.view(ref)
        v[...] = value.reshape(v.shape).astype(v.dtype)

    def const(self, name: str | None) -> np.ndarray | None:
        return None if name is None else self.p.constant(name).data


def _requant(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int, offset: int, lo: int,
             hi: int) -> np.ndarray:
    out = fx.multiply_by_quantized_multiplier(acc.astype(np.int64), mult, shift) + offset
    return np.clip(out, lo, hi).astype(np.int8)


def _conv(m: _Machine, c: Call) -> None:
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
    m.write(c.output, _requant(acc, mults.astype(np.int64), shifts.astype(np.int64), c.output_offset, c.act_min,
                               c.act_max))


def _fully_connected(m: _Machine, c: Call) -> None:
    assert isinstance(c, FullyConnectedCall)
    depth, units = c.filter_dims.n, c.filter_dims.c
    x = m.read(c.inputs[0]).reshape(-1, depth).astype(np.int64) + c.input_offset
    w = m.const(c.weights)
    assert w is not None
    acc = x @ w.reshape(units, depth).astype(np.int64).T
    b = m.const(c.bias)
    if b is not None:
        acc = acc + b.astype(np.int64)
    if c.per_channel:
        mults, shifts = m.const(c.multipliers), m.const(c.shifts)
        assert mults is not None and shifts is not None
        out = _requant(acc, mults.astype(np.int64), shifts.astype(np.int64), c.output_offset, c.act_min, c.act_max)
    else:
        out = _requant(acc, c.multiplier, c.shift, c.output_offset, c.act_min, c.act_max)
    m.write(c.output, out)


def _pool(m: _Machine, c: Call) -> None:
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
    m.write(c.output, np.clip(out, c.act_min, c.act_max).astype(np.int8))


def _broadcast_pair(m: _Machine, c: AddCall | MulCall) -> tuple[np.ndarray, np.ndarray]:
    a, b = m.read(c.inputs[0]).astype(np.int64), m.read(c.inputs[1]).astype(np.int64)
    shape = c.output.shape
    if c.broadcast_spec is None:
        return a.reshape(-1), b.reshape(-1)

    def expand(v: np.ndarray) -> np.ndarray:
        s = (1,) * (len(shape) - v.ndim) + v.shape
        return np.broadcast_to(v.reshape(s), shape).reshape(-1)

    return expand(a), expand(b)


def _add(m: _Machine, c: Call) -> None:
    assert isinstance(c, AddCall)
    a, b = _broadcast_pair(m, c)
    mbqm = fx.multiply_by_quantized_multiplier
    s1 = mbqm((a + c.input_1_offset) * (1 << c.left_shift), c.input_1_mult, c.input_1_shift)
    s2 = mbqm((b + c.input_2_offset) * (1 << c.left_shift), c.input_2_mult, c.input_2_shift)
    raw = s1 - s2 if c.subtract else s1 + s2
    m.write(c.output, _requant(raw, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max))


def _mul(m: _Machine, c: Call) -> None:
    assert isinstance(c, MulCall)
    a, b = _broadcast_pair(m, c)
    prod = (a + c.input_1_offset) * (b + c.input_2_offset)
    m.write(c.output, _requant(prod, c.out_mult, c.out_shift, c.out_offset, c.act_min, c.act_max))


def _softmax(m: _Machine, c: Call) -> None:
    assert isinstance(c, SoftmaxCall)
    x = m.read(c.inputs[0]).reshape(c.num_rows, c.row_size)
    p = fx.SoftmaxParams(input_multiplier=c.mult, input_left_shift=c.shift, diff_min=c.diff_min)
    m.write(c.output, fx.softmax_s8(x, p))


def _lut(m: _Machine, c: Call) -> None:
    assert isinstance(c, LutCall)
    x = m.read(c.inputs[0]).astype(np.int64)
    m.write(c.output, c.lut_values[x + 128])


def _mean(m: _Machine, c: Call) -> None:
    assert isinstance(c, MeanCall)
    x = m.read(c.inputs[0]).reshape(c.outer, c.reduce, c.inner)
    p = fx.MeanParams(sum_offset=c.sum_offset, multiplier=c.multiplier, shift=c.shift, output_offset=c.output_offset)
    m.write(c.output, fx.mean_s8(x, p))


def _pad(m: _Machine, c: Call) -> None:
    assert isinstance(c, PadCall)
    s = c.input_size
    x = m.read(c.inputs[0]).reshape(s.n, s.h, s.w, s.c)
    pre, post = c.pre_pad, c.post_pad
    pads = ((pre.n, post.n), (pre.h, post.h), (pre.w, post.w), (pre.c, post.c))
    m.write(c.output, np.pad(x, pads, constant_values=c.pad_value))


def _concat(m: _Machine, c: Call) -> None:
    assert isinstance(c, ConcatCall)
    axis = "wzyx".index(c.parts[0].axis_name)  # position in the (w, z, y, x) view
    views = [m.read(r).reshape(p.input_w, p.input_z, p.input_y, p.input_x)
             for r, p in zip(c.inputs, c.parts, strict=True)]
    m.write(c.output, np.concatenate(views, axis=axis))


def _quantize(m: _Machine, c: Call) -> None:
    assert isinstance(c, QuantizeCall)
    m.write(c.output, fx.quantize_f32_s8(m.read(c.inputs[0]), c.scale, c.zero_point))


def _dequantize(m: _Machine, c: Call) -> None:
    assert isinstance(c, DequantizeCall)
    m.write(c.output, fx.dequantize_s8_f32(m.read(c.inputs[0]), c.scale, c.zero_point))


_KERNELS: dict[str, Callable[[_Machine, Call], None]] = {
    "conv": _conv,
    "depthwise": _conv,
    "fully_connected": _fully_connected,
    "pool": _pool,
    "add": _add,
    "mul": _mul,
    "softmax": _softmax,
    "lut": _lut,
    "mean": _mean,
    "pad": _pad,
    "concat": _concat,
    "quantize": _quantize,
    "dequantize": _dequantize,
}


def simulate(program: Program, inputs: Sequence[np.ndarray], *, trace: bool = False) -> SimResult:
    """Run one inference. ``inputs`` are in model input order, with the inputs' dtypes."""
    if len(inputs) != len(program.inputs):
        raise ValueError(f"the model has {len(program.inputs)} inputs, got {len(inputs)}")
    m = _Machine(program)
    for ref, value in zip(program.inputs, inputs, strict=True):
        arr = np.asarray(value)
        if arr.size != ref.size:
            raise ValueError(f"input '{ref.name}' needs {ref.size} values, got {arr.size}")
        m.write(ref, arr)
    traced: list[np.ndarray] = []
    for call in program.calls:
        _KERNELS[call.KIND](m, call)
        if trace:
            traced.append(m.read(call.output))
    outputs = tuple(m.read(r) for r in program.outputs)
    return SimResult(outputs=outputs, trace=tuple(traced))
