"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR, int8 (Keras UpSampling2D, Resizing,
``tf.image.resize``): reading (TFLM's Prepare checks), lowering to ``edgegen_resize_nearest_s8`` /
``edgegen_resize_bilinear_s8`` (``firmware/edgegen/edgegen_kernels.c``; with ``--kernels auto`` on a
Helium CPU bilinear runs ``edgegen_resize_bilinear8_s8``, ``firmware/edgegen/edgegen_resize8.h``) with
every source index and weight computed here, and the simulator's kernels.

TFLM computes the source coordinates per output row and column inside its loops
(``GetNearestNeighbor`` in float32; ``ComputeInterpolationValuesInteger`` with a 10-bit fixed-point
scale for int8 bilinear). Both depend on the output row (column) only, so edgegen evaluates them once
at build time into two small tables, per output row and per output column: the source offsets in
elements (and for bilinear the 10-bit weight of the second tap). The C loops then only add offsets
and, for bilinear, multiply and round as ``ResizeBilinearInteger`` does (double rounding: half away
from zero, TFLM's default build).
"""

from __future__ import annotations

import math
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

#: the bilinear weights' fixed-point unit (TFLM's ``1 << 10``)
_ONE = 1 << 10


@dataclass(frozen=True)
class Resize(ir.Op):
    KIND: ClassVar[str] = "RESIZE_NEAREST_NEIGHBOR"
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclass(frozen=True)
class ResizeBilinear(Resize):
    KIND: ClassVar[str] = "RESIZE_BILINEAR"


# -- reading -------------------------------------------------------------------------------------


def _read(c: OpContext, bilinear: bool) -> ir.Op:
    c.n_inputs(2)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    # TFLM copies or interpolates the int8 values as they are: with another output quantization the
    # result would mean something else than the model says
    if x.quant != y.quant:
        raise c.fail(f"input {x.describe()} and output {y.describe()} are quantized differently; "
                     "TFLite's resize keeps the input's scale and zero point")
    # TFLM's Prepare: a 4-D input, a constant 1-D int32 size (of two values: the reference kernels
    # read exactly two)
    c.rank(x, (4,), "input")
    c.rank(y, (4,), "output")
    s = c.const(1, "size", ("int32",))
    assert s.data is not None
    if len(s.shape) != 1 or s.size != 2:
        raise c.fail(f"size {s.describe()} must be 1-D with two values (height, width)")
    oh, ow = (int(v) for v in s.data.reshape(-1))
    if oh < 1 or ow < 1:
        raise c.fail(f"size [{oh}, {ow}] must be positive")
    if y.shape != (x.shape[0], oh, ow, x.shape[3]):
        raise c.fail(f"output shape {list(y.shape)} does not match the input's batches and channels "
                     f"{x.shape[0]}, {x.shape[3]} at size [{oh}, {ow}]")
    align, half = bool(c.opt("alignCorners")), bool(c.opt("halfPixelCenters"))
    if bilinear and align and half:
        raise c.fail("align_corners and half_pixel_centers are both set; TFLM refuses it "
                     "(if half_pixel_centers is True, align_corners must be False)")
    cls = ResizeBilinear if bilinear else Resize
    op = cls(index=c.index, inputs=c.inputs[:1], outputs=c.outputs, align_corners=align, half_pixel_centers=half)
    # the tables are built here too, so an input TFLM would read outside of is refused when read
    try:
        (_bilinear_axis if bilinear else _nearest_axis)(x.shape[1], oh, align, half)
        (_bilinear_axis if bilinear else _nearest_axis)(x.shape[2], ow, align, half)
    except ValueError as e:
        raise c.fail(str(e)) from None
    return op


def read_nearest(c: OpContext) -> ir.Op:
    return _read(c, bilinear=False)


def read_bilinear(c: OpContext) -> ir.Op:
    return _read(c, bilinear=True)


# -- TFLM's per-row / per-column source coordinates -------------------------------------------------


def _nearest_axis(in_size: int, out_size: int, align: bool, half: bool) -> np.ndarray:
    """``GetNearestNeighbor`` for every output index: float32 scale and products as TFLM computes them."""
    f32 = np.float32
    scale = (f32(in_size - 1) / f32(out_size - 1)) if align and out_size > 1 else f32(in_size) / f32(out_size)
    offset = f32(0.5) if half else f32(0.0)
    out = np.empty(out_size, dtype=np.int64)
    for i in range(out_size):
        v = (f32(i) + offset) * scale  # float32 throughout, as the C++ (int + float, then * float)
        # TfLiteRound is std::round, half away from zero (v >= 0 here); the float32 value plus one
        # half is exact in double
        src = math.floor(float(v) + 0.5) if align else math.floor(float(v))
        src = min(src, in_size - 1)
        if half:
            src = max(0, src)
        out[i] = src
    return out


def _trunc_div(a: int, b: int) -> int:
    """C's integer division (towards zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _bilinear_axis(in_size: int, out_size: int, align: bool, half: bool) -> np.ndarray:
    """``ComputeInterpolationValuesInteger`` for every output index: rows (lower, upper, weight of
    the upper tap in 1/1024), with TFLM's 10-bit scale."""
    scale = _trunc_div(_ONE * in_size + out_size // 2, out_size)
    if align and out_size > 1:
        scale = _trunc_div(_ONE * (in_size - 1) + (out_size - 1) // 2, out_size - 1)
    out = np.empty((out_size, 3), dtype=np.int64)
    for i in range(out_size):
        v = i * scale + scale // 2 - (1 << 9) if half else i * scale
        if not -(2**31) <= v < 2**31 - _ONE:
            raise ValueError(f"output size {out_size} overflows TFLM's 10-bit coordinates")
        lo = max(_trunc_div(v, _ONE), 0)
        hi = min(_trunc_div(v + _ONE - 1, _ONE), in_size - 1)
        if lo > in_size - 1:
            # TFLM's lower bound is not clamped: it would read past the input
            raise ValueError(f"resizing {in_size} to {out_size}: TFLM's integer coordinates reach source index "
                             f"{lo} of {in_size} (it would read outside the input)")
        out[i] = (lo, hi, v - _ONE * lo)
    return out


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResizeNearestCall(Call):
    """``edgegen_resize_nearest_s8``: output row y, column x copies the ``depth`` bytes at
    ``input + b * in_batch + y_table[y] + x_table[x]``."""

    KIND: ClassVar[str] = "resize_nearest"
    batches: int
    in_batch: int
    out_h: int
    out_w: int
    depth: int
    y_table: str
    x_table: str
    y_offsets: tuple[int, ...]
    x_offsets: tuple[int, ...]


@dataclass(frozen=True)
class ResizeBilinearCall(Call):
    """``edgegen_resize_bilinear_s8``: per output row (and column) the two source offsets and the
    second tap's weight, three int32 each."""

    KIND: ClassVar[str] = "resize_bilinear"
    batches: int
    in_batch: int
    out_h: int
    out_w: int
    depth: int
    y_table: str
    x_table: str
    y_taps: tuple[int, ...]
    x_taps: tuple[int, ...]


@dataclass(frozen=True)
class ResizeBilinear8Call(ResizeBilinearCall):
    """``edgegen_resize_bilinear8_s8``: the same tables, Helium lanes over the channels
    (``--kernels auto`` on Cortex-M55-class CPUs; its portable loop on other targets)."""

    KIND: ClassVar[str] = "resize_bilinear8"
    HEADER: ClassVar[str | None] = "edgegen_resize8.h"


def _lower(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Resize)
    x, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.outputs[0])
    n, ih, iw, ch = x.shape
    _, oh, ow, _ = y.shape
    row, col = iw * ch, ch
    # never in place: an output row is written while later rows still read the input
    common = dict(batches=n, in_batch=ih * iw * ch, out_h=oh, out_w=ow, depth=ch)
    if isinstance(op, ResizeBilinear):
        ty = _bilinear_axis(ih, oh, op.align_corners, op.half_pixel_centers) * np.array([row, row, 1])
        tx = _bilinear_axis(iw, ow, op.align_corners, op.half_pixel_centers) * np.array([col, col, 1])
        # Helium lanes where the CPU has them, unless --kernels asks for portable code or CMSIS-NN's calls
        mve = lw.kernels.mode == "auto" and lw.kernels.cpu == "mve"
        fn = "edgegen_resize_bilinear8_s8" if mve else "edgegen_resize_bilinear_s8"
        b = lw.base(op, fn, (lw.ref(op.inputs[0]),), lw.ref(op.outputs[0]), 0, 4 * y.size)
        lw.calls.append((ResizeBilinear8Call if mve else ResizeBilinearCall)(
            **b, **common,  # type: ignore[arg-type]
            y_table=lw.const("resize_y", "int32_t", ty.astype(np.int32), op),
            x_table=lw.const("resize_x", "int32_t", tx.astype(np.int32), op),
            y_taps=tuple(int(v) for v in ty.reshape(-1)), x_taps=tuple(int(v) for v in tx.reshape(-1))))
        return
    sy = _nearest_axis(ih, oh, op.align_corners, op.half_pixel_centers) * row
    sx = _nearest_axis(iw, ow, op.align_corners, op.half_pixel_centers) * col
    b = lw.base(op, "edgegen_resize_nearest_s8", (lw.ref(op.inputs[0]),), lw.ref(op.outputs[0]), 0, 0)
    lw.calls.append(ResizeNearestCall(
        **b, **common,  # type: ignore[arg-type]
        y_table=lw.const("resize_y", "int32_t", sy.astype(np.int32), op),
        x_table=lw.const("resize_x", "int32_t", sx.astype(np.int32), op),
        y_offsets=tuple(int(v) for v in sy), x_offsets=tuple(int(v) for v in sx)))


# -- simulation ----------------------------------------------------------------------------------


def run_nearest(m: Machine, c: Call) -> None:
    assert isinstance(c, ResizeNearestCall)
    x = m.read(c.inputs[0]).reshape(c.batches, -1)
    idx = (np.array(c.y_offsets, dtype=np.int64).reshape(-1, 1, 1) + np.array(c.x_offsets, dtype=np.int64)
           .reshape(1, -1, 1) + np.arange(c.depth, dtype=np.int64).reshape(1, 1, -1))
    m.write(c.output, x[:, idx.reshape(-1)])


def run_bilinear(m: Machine, c: Call) -> None:
    """``ResizeBilinearInteger``: four taps weighted in 1/2^20, rounded half away from zero."""
    assert isinstance(c, ResizeBilinearCall)  # and ResizeBilinear8Call, the same tables
    x = m.read(c.inputs[0]).astype(np.int64).reshape(c.batches, -1)
    ty = np.array(c.y_taps, dtype=np.int64).reshape(-1, 3)
    tx = np.array(c.x_taps, dtype=np.int64).reshape(-1, 3)
    ch = np.arange(c.depth, dtype=np.int64).reshape(1, 1, -1)
    dy = ty[:, 2].reshape(-1, 1, 1)
    dx = tx[:, 2].reshape(1, -1, 1)
    acc = np.zeros((c.batches, c.out_h, c.out_w, c.depth), dtype=np.int64)
    for ky, wy in ((0, _ONE - dy), (1, dy)):
        for kx, wx in ((0, _ONE - dx), (1, dx)):
            idx = ty[:, ky].reshape(-1, 1, 1) + tx[:, kx].reshape(1, -1, 1) + ch
            acc += x[:, idx] * (wy * wx)[None]
    rnd = np.where(acc > 0, 1 << 19, -(1 << 19))
    s = acc + rnd
    out = np.sign(s) * (np.abs(s) >> 20)  # C's division by 2^20, towards zero
    m.write(c.output, out.astype(np.int8))


FAMILY = OpFamily(
    builders={"RESIZE_NEAREST_NEIGHBOR": read_nearest, "RESIZE_BILINEAR": read_bilinear},
    lowerers={Resize: _lower, ResizeBilinear: _lower},
    kernels={ResizeNearestCall: run_nearest, ResizeBilinearCall: run_bilinear, ResizeBilinear8Call: run_bilinear},
    options={"RESIZE_NEAREST_NEIGHBOR": fb.BuiltinOptions.ResizeNearestNeighborOptions,
             "RESIZE_BILINEAR": fb.BuiltinOptions.ResizeBilinearOptions},
)
