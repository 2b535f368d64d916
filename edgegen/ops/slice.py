"""SLICE, STRIDED_SLICE, TRANSPOSE, SPLIT and SPLIT_V (int8): reading with TFLM's checks, lowering to
``edgegen_gather4d_s8`` (a strided copy whose offset, shape and element strides are computed
here) and the simulator's kernel.

Pure data movement: int8 in == int8 out with the same quantization, no arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily

#: TFLM's SLICE handles up to 5 dimensions; edgegen's copy kernel takes 4
_MAX_RANK = 4


@dataclass(frozen=True)
class Slice(ir.Op):
    KIND: ClassVar[str] = "SLICE"
    begin: tuple[int, ...] = ()
    size: tuple[int, ...] = ()


# -- reading -------------------------------------------------------------------------------------


def read_slice(c: OpContext) -> ir.Op:
    c.n_inputs(3)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    # TFLM reads begin and size as int32 or int64 (both the same type), 1-D, one per input axis
    b = c.const(1, "begin", ("int32", "int64"))
    s = c.const(2, "size", ("int32", "int64"))
    assert b.data is not None and s.data is not None
    if b.dtype != s.dtype:
        raise c.fail(f"begin {b.describe()} and size {s.describe()} have different types (TFLM requires one)")
    rank = len(x.shape)
    for role, t in (("begin", b), ("size", s)):
        if len(t.shape) != 1 or t.size != rank:
            raise c.fail(f"{role} {t.describe()} must be 1-D with one value per input axis ({rank})")
    if rank > _MAX_RANK:
        raise c.fail(f"SLICE of tensors with more than {_MAX_RANK} dimensions is not supported")
    begin = tuple(int(v) for v in b.data.reshape(-1))
    size = tuple(x.shape[d] - begin[d] if int(v) == -1 else int(v) for d, v in enumerate(s.data.reshape(-1)))
    for d in range(rank):
        if not (0 <= begin[d] <= x.shape[d] and 0 <= size[d] and begin[d] + size[d] <= x.shape[d]):
            raise c.fail(f"begin {list(begin)} size {list(s.data.reshape(-1))} out of bounds for input {list(x.shape)}")
    if size != tuple(y.shape):
        raise c.fail(f"output shape {list(y.shape)} does not match the slice's {list(size)}")
    return Slice(index=c.index, inputs=c.inputs[:1], outputs=c.outputs, begin=begin, size=size)


@dataclass(frozen=True)
class StridedSlice(ir.Op):
    """Per input axis: the first index, the element count and the step TFLM's Eval walks."""

    KIND: ClassVar[str] = "STRIDED_SLICE"
    start: tuple[int, ...] = ()
    count: tuple[int, ...] = ()
    step: tuple[int, ...] = ()


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def _check_start_stop(begin: int, end: int, stride: int, size: int, bmask: bool, emask: bool,
                      shrink: bool) -> tuple[int, int]:
    """TFLM's Prepare (``StartForAxis``/``StopForAxis``, the output-shape check)."""
    if size == 0:
        return 0, 0
    start = (-(2**31) if stride > 0 else 2**31 - 1) if bmask else begin
    start = start + size if start < 0 else start
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if shrink:
        return start, start + 1
    stop = (2**31 - 1 if stride > 0 else -(2**31)) if emask else end
    stop = stop + size if stop < 0 else stop
    stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    return start, stop


def _eval_start_stop(begin: int, end: int, stride: int, size: int, bmask: bool, emask: bool,
                     shrink: bool) -> tuple[int, int]:
    """TFLM's Eval (``StridedSliceStartForAxis``/``StridedSliceEndForAxis``)."""
    start = begin + size if begin < 0 else begin
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if bmask:
        start = 0 if stride > 0 else size - 1
    if shrink:
        return start, (start if start >= size else start + 1)
    stop = end + size if end < 0 else end
    stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
    if emask:
        stop = size if stride > 0 else -1
    return start, stop


def read_strided_slice(c: OpContext) -> ir.Op:
    c.n_inputs(4)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    rank = len(x.shape)
    if rank > _MAX_RANK:
        raise c.fail(f"input rank {rank}; TFLM's STRIDED_SLICE takes at most {_MAX_RANK} dimensions")
    # TFLM reads begin, end and strides as int32 whatever their type: int64 ones would be misread
    vals = []
    for i, role in ((1, "begin"), (2, "end"), (3, "strides")):
        t = c.const(i, role, ("int32",))
        assert t.data is not None
        if len(t.shape) != 1 or t.size != rank:
            raise c.fail(f"{role} {t.describe()} must be 1-D with one value per input axis ({rank})")
        vals.append([int(v) for v in t.data.reshape(-1)])
    begin, end, strides = vals
    for name in ("ellipsisMask", "newAxisMask", "offset"):
        # TFLM zeroes these (its result would not be the model's), so edgegen refuses them
        if int(c.opt(name)):
            raise c.fail(f"{name} {int(c.opt(name))} is not supported (TFLM ignores it)")
    bm, em, sm = (int(c.opt(n)) for n in ("beginMask", "endMask", "shrinkAxisMask"))
    if any(s == 0 for s in strides):
        raise c.fail(f"strides {strides}: stride value has to be non-zero")
    out_shape, start, count = [], [], []
    for d in range(rank):
        args = (begin[d], end[d], strides[d], x.shape[d], bool(bm >> d & 1), bool(em >> d & 1), bool(sm >> d & 1))
        b0, e0 = _check_start_stop(*args)
        n = max(0, int(np.ceil(np.float32(e0 - b0) / np.float32(strides[d]))))
        if not sm >> d & 1:
            out_shape.append(n)
        b1, e1 = _eval_start_stop(*args)
        start.append(b1)
        count.append(len(range(b1, e1, strides[d])))
    if tuple(out_shape) != y.shape:
        raise c.fail(f"output shape {list(y.shape)} does not match the slice's {out_shape}")
    kept = [n for d, n in enumerate(count) if not sm >> d & 1]
    if kept != out_shape or any(count[d] != 1 for d in range(rank) if sm >> d & 1):
        # TFLM's Prepare and Eval disagree: it would write another number of elements than the output holds
        raise c.fail(f"TFLM's Eval would copy {count} elements per axis into output {list(y.shape)}")
    return StridedSlice(index=c.index, inputs=c.inputs[:1], outputs=c.outputs, start=tuple(start),
                        count=tuple(count), step=tuple(strides))


@dataclass(frozen=True)
class Transpose(ir.Op):
    KIND: ClassVar[str] = "TRANSPOSE"
    perm: tuple[int, ...] = ()


def read_transpose(c: OpContext) -> ir.Op:
    c.n_inputs(2)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    rank = len(x.shape)
    if rank > _MAX_RANK:
        raise c.fail(f"TRANSPOSE of tensors with more than {_MAX_RANK} dimensions is not supported")
    # TFLM reads the permutation as int32
    p = c.const(1, "perm", ("int32",))
    assert p.data is not None
    if len(p.shape) != 1 or p.size != rank:
        raise c.fail(f"perm {p.describe()} must be 1-D with one value per input axis ({rank})")
    perm = tuple(int(v) for v in p.data.reshape(-1))
    if sorted(perm) != list(range(rank)):
        raise c.fail(f"perm {list(perm)} is not a permutation of the input's {rank} axes")
    exp = tuple(x.shape[d] for d in perm)
    if exp != y.shape:
        raise c.fail(f"output shape {list(y.shape)} does not match the transposed shape {list(exp)}")
    return Transpose(index=c.index, inputs=c.inputs[:1], outputs=c.outputs, perm=perm)


@dataclass(frozen=True)
class Split(ir.Op):
    """SPLIT and SPLIT_V: the input cut along ``axis`` into the outputs, in order."""

    KIND: ClassVar[str] = "SPLIT"
    axis: int = 0


@dataclass(frozen=True)
class SplitV(Split):
    KIND: ClassVar[str] = "SPLIT_V"


def _read_split(c: OpContext, data: int, axis_input: int, sizes_input: int | None) -> ir.Op:
    n_in = 2 if sizes_input is None else 3
    if len(c.inputs) != n_in:
        raise c.fail(f"{len(c.inputs)} inputs, expected {n_in}")
    if len(c.outputs) < 1:
        raise c.fail("no outputs")
    x = c.t(data)
    c.int8_activation(x, "input")
    rank = len(x.shape)
    if rank > _MAX_RANK:
        raise c.fail(f"{c.name} of tensors with more than {_MAX_RANK} dimensions is not supported")
    # TFLM needs the axis constant and reads it as int32
    a = c.const(axis_input, "axis", ("int32",))
    assert a.data is not None
    if a.size != 1:
        raise c.fail(f"axis {a.describe()} must hold one value")
    axis = int(a.data.reshape(-1)[0])
    if not -rank <= axis < rank:
        raise c.fail(f"axis {axis} out of range for rank {rank}")
    axis %= rank
    outs = [c.out(i) for i in range(len(c.outputs))]
    for i, y in enumerate(outs):
        c.int8_activation(y, f"output {i}")
        if y.quant != x.quant:
            raise c.fail(f"output {y.describe()} is quantized differently from the input")
        if len(y.shape) != rank or any(y.shape[d] != x.shape[d] for d in range(rank) if d != axis):
            raise c.fail(f"output {y.describe()} does not fit input {list(x.shape)} along axis {axis}")
    sizes = [y.shape[axis] for y in outs]
    if sizes_input is None:
        if int(c.opt("numSplits")) != len(outs):
            raise c.fail(f"num_splits {int(c.opt('numSplits'))} but {len(outs)} outputs")
        if x.shape[axis] % len(outs):
            raise c.fail(f"axis {axis} of size {x.shape[axis]} does not split into {len(outs)} equal parts")
    else:
        if int(c.opt("numSplits")) not in (0, len(outs)):
            raise c.fail(f"num_splits {int(c.opt('numSplits'))} but {len(outs)} outputs")
        v = c.const(sizes_input, "size_splits", ("int32", "int64"))
        assert v.data is not None
        given = [int(k) for k in v.data.reshape(-1)]
        if len(given) != len(outs) or given.count(-1) > 1 or any(k < -1 for k in given):
            raise c.fail(f"size_splits {given} do not describe {len(outs)} outputs")
        if -1 in given:
            given[given.index(-1)] = x.shape[axis] - sum(k for k in given if k != -1)
        if given != sizes:
            raise c.fail(f"size_splits {given} do not match the outputs' sizes {sizes}")
    if sum(sizes) != x.shape[axis]:
        raise c.fail(f"outputs add up to {sum(sizes)} along axis {axis}, input has {x.shape[axis]}")
    cls = Split if sizes_input is None else SplitV
    return cls(index=c.index, inputs=(c.inputs[data],), outputs=c.outputs, axis=axis)


def read_split(c: OpContext) -> ir.Op:
    return _read_split(c, 1, 0, None)  # SPLIT: (axis, input)


def read_split_v(c: OpContext) -> ir.Op:
    return _read_split(c, 0, 2, 1)  # SPLIT_V: (input, size_splits, axis)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatherCall(Call):
    """``edgegen_gather4d_s8``: output[i0][i1][i2][i3] = input[offset + sum(i_k * strides[k])]."""

    KIND: ClassVar[str] = "gather4d"
    offset: int
    shape: tuple[int, int, int, int]
    strides: tuple[int, int, int, int]


def element_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major element strides of ``shape``."""
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def gather_call(lw: Lowering, op: ir.Op, offset: int, shape: tuple[int, ...], strides: tuple[int, ...],
                out: int = 0) -> None:
    """Append the copy into output ``out``: ``shape``/``strides`` of rank <= 4 are padded with
    leading 1s/0s."""
    k = 4 - len(shape)
    s4 = (1,) * k + tuple(shape)
    t4 = (0,) * k + tuple(strides)
    # never in place: a gathered element may be read after an earlier output byte overwrote it
    b = lw.base(op, "edgegen_gather4d_s8", (lw.ref(op.inputs[0]),), lw.ref(op.outputs[out]), 0, 0)
    lw.calls.append(GatherCall(**b, offset=offset, shape=(s4[0], s4[1], s4[2], s4[3]),  # type: ignore[arg-type]
                               strides=(t4[0], t4[1], t4[2], t4[3])))


def lower_slice(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Slice)
    x = lw.g.tensor(op.inputs[0])
    st = element_strides(x.shape)
    offset = sum(b * s for b, s in zip(op.begin, st, strict=True))
    gather_call(lw, op, offset, op.size, st)


def lower_strided_slice(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, StridedSlice)
    x = lw.g.tensor(op.inputs[0])
    st = element_strides(x.shape)
    offset = sum(b * s for b, s, n in zip(op.start, st, op.count, strict=True) if n > 0)
    gather_call(lw, op, offset, op.count, tuple(s * k for s, k in zip(st, op.step, strict=True)))


def lower_transpose(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Transpose)
    x = lw.g.tensor(op.inputs[0])
    st = element_strides(x.shape)
    gather_call(lw, op, 0, tuple(x.shape[d] for d in op.perm), tuple(st[d] for d in op.perm))


def lower_split(lw: Lowering, op: ir.Op) -> None:
    """One copy per output (a call has one output): a slice of the input along the axis."""
    assert isinstance(op, Split)
    x = lw.g.tensor(op.inputs[0])
    st = element_strides(x.shape)
    start = 0
    for i, t in enumerate(op.outputs):
        y = lw.g.tensor(t)
        gather_call(lw, op, start * st[op.axis], y.shape, st, out=i)
        start += y.shape[op.axis]


# -- simulation ----------------------------------------------------------------------------------


def run_gather(m: Machine, c: Call) -> None:
    assert isinstance(c, GatherCall)
    x = m.read(c.inputs[0]).reshape(-1)
    idx = np.full(c.shape, c.offset, dtype=np.int64)
    for k in range(4):
        view = [1, 1, 1, 1]
        view[k] = c.shape[k]
        idx = idx + (np.arange(c.shape[k], dtype=np.int64) * c.strides[k]).reshape(view)
    m.write(c.output, x[idx.reshape(-1)])


FAMILY = OpFamily(
    builders={"SLICE": read_slice, "STRIDED_SLICE": read_strided_slice, "TRANSPOSE": read_transpose,
              "SPLIT": read_split, "SPLIT_V": read_split_v},
    lowerers={Slice: lower_slice, StridedSlice: lower_strided_slice, Transpose: lower_transpose,
               Split: lower_split, SplitV: lower_split},
    kernels={GatherCall: run_gather},
    options={"STRIDED_SLICE": fb.BuiltinOptions.StridedSliceOptions, "SPLIT": fb.BuiltinOptions.SplitOptions,
             "SPLIT_V": fb.BuiltinOptions.SplitVOptions},
)
