"""edgegen's pooling kernel: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over adjacent axes (viewed as a
1 x reduce average window), specialized per layer: the build-time preparation, its proofs, its call
and its simulator kernel (the C is ``firmware/edgegen/edgegen_pool.h``; design in
docs/kernel-design.md, "Pooling and MEAN").

Preparation: the output rows fall into runs whose windows, clipped to the input, keep the same
filter rows ``[ky0, ky1)``; the columns likewise ``[kx0, kx1)``; each (row run, column run) is a
region with a constant window and tap count, so the C has no bounds checks, never reads padding,
and divides by a literal count (TFLM's average: the sum over the valid taps, rounded half away from
zero, divided by their count). MEAN sums ``reduce`` values and requantizes with TFLM's
``QuantizedMeanOrSum`` integers (edgegen.ops.reduce.mean_params).

Proofs or the layer keeps its CMSIS-NN call (or edgegen's generic MEAN): at most 256 taps per
window, so the DSP and Helium paths' int16 lane sums cannot overflow (|sum| <= 128 * 256); for MEAN
the offset sum and its left shift stay inside int32 as TFLM computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import fixedpoint as fx
from ..machine import Machine
from ..program import Call, TensorRef
from .admit import admit_tables

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "pool"
#: taps per window the int16 lane sums hold exactly (|sum| <= 128 * 256 = 32768)
MAX_TAPS = 256
AVG, MAX, MEAN = 0, 1, 2
#: (y0, y1, x0, x1, ky0, ky1, kx0, kx1): output rows [y0, y1) x columns [x0, x1) read filter rows
#: [ky0, ky1) x columns [kx0, kx1) of their windows
Region = tuple[int, int, int, int, int, int, int, int]


@dataclass(frozen=True)
class PoolGeometry:
    ih: int
    iw: int
    c: int
    oh: int
    ow: int
    fh: int
    fw: int
    sh: int
    sw: int
    pad_t: int
    pad_l: int

    def runs(self, n_out: int, n_in: int, k: int, s: int, pad: int) -> list[tuple[int, int, int, int]]:
        """Runs ``(o0, o1, k0, k1)`` of outputs whose clipped windows keep filter offsets [k0, k1)."""
        out: list[tuple[int, int, int, int]] = []
        for o in range(n_out):
            k0, k1 = max(0, pad - o * s), min(k, n_in + pad - o * s)
            if out and out[-1][2:] == (k0, k1):
                out[-1] = (out[-1][0], o + 1, k0, k1)
            else:
                out.append((o, o + 1, k0, k1))
        return out

    def regions(self) -> tuple[Region, ...]:
        rows = self.runs(self.oh, self.ih, self.fh, self.sh, self.pad_t)
        cols = self.runs(self.ow, self.iw, self.fw, self.sw, self.pad_l)
        return tuple((y0, y1, x0, x1, ky0, ky1, kx0, kx1) for y0, y1, ky0, ky1 in rows for x0, x1, kx0, kx1 in cols)


@dataclass(frozen=True)
class PoolKernelCall(Call):
    """``edgegen_pool_s8`` (or ``_portable``), one call per region."""

    KIND: ClassVar[str] = "poolk"
    HEADER: ClassVar[str | None] = "edgegen_pool.h"
    mode: int  # AVG, MAX or MEAN
    ih: int
    iw: int
    c: int
    oh: int
    ow: int
    sh: int
    sw: int
    pad_t: int
    pad_l: int
    act_min: int
    act_max: int
    #: MEAN: TFLM's sum offset, multiplier, shift and output zero point (0 otherwise)
    sum_offset: int
    mult: int
    shift: int
    out_offset: int
    regions: tuple[Region, ...]

    @property
    def mode_name(self) -> str:
        return ("average", "max", "mean")[self.mode]


@dataclass(frozen=True)
class PoolPrep:
    regions: tuple[Region, ...]

    @property
    def nbytes(self) -> int:
        return 0  # every number is a literal of the generated call


def prepare(geo: PoolGeometry, mode: int, sum_offset: int = 0, mult: int = 0, shift: int = 0) -> PoolPrep | str:
    regions = geo.regions()
    taps = max((ky1 - ky0) * (kx1 - kx0) for _y0, _y1, _x0, _x1, ky0, ky1, kx0, kx1 in regions)
    if taps > MAX_TAPS:
        return f"{taps} taps per window (the int16 lane sums hold {MAX_TAPS})"
    if min((ky1 - ky0) * (kx1 - kx0) for _y0, _y1, _x0, _x1, ky0, ky1, kx0, kx1 in regions) <= 0:
        return "a window without valid taps"
    if mode == MEAN:
        total = 128 * taps + abs(sum_offset)
        if mult < 0 or shift < -31 or (total << max(shift, 0)) >= 1 << 31:
            return "the offset sum or its left shift would leave int32"
    return PoolPrep(regions=regions)


def try_lower(lw: Lowering, op: ir.Op, x: TensorRef, out: TensorRef, geo: PoolGeometry, mode: int,
              act: tuple[int, int], mean: tuple[int, int, int, int] = (0, 0, 0, 0)) -> bool:
    """Lower ``op`` to edgegen's kernel when the mode and the proofs allow it; else record why and
    return False (the caller emits its call). ``mean``: (sum offset, multiplier, shift, zero point)."""
    got = admit_tables(lw, op, KERNEL, "edgegen_pool_s8", lambda: prepare(geo, mode, mean[0], mean[1], mean[2]))
    if got is None:
        return False
    prep, fn = got
    base = lw.base(op, fn, (x,), out, 0, 0)
    lw.calls.append(PoolKernelCall(**base, mode=mode, ih=geo.ih, iw=geo.iw, c=geo.c,  # type: ignore[arg-type]
                                   oh=geo.oh, ow=geo.ow, sh=geo.sh, sw=geo.sw, pad_t=geo.pad_t, pad_l=geo.pad_l,
                                   act_min=act[0], act_max=act[1], sum_offset=mean[0], mult=mean[1], shift=mean[2],
                                   out_offset=mean[3], regions=prep.regions))
    return True


def finish(call: PoolKernelCall, acc: np.ndarray, count: int) -> np.ndarray:
    """The C's per-channel finish of a window's sum (AVG, MEAN) or maximum (MAX)."""
    if call.mode == MAX:
        v = acc
    elif call.mode == AVG:
        num = np.where(acc > 0, acc + count // 2, acc - count // 2)
        v = np.sign(num) * (np.abs(num) // count)  # C division truncates toward zero
    else:
        v = fx.multiply_by_quantized_multiplier(acc + call.sum_offset, call.mult, call.shift) + call.out_offset
        v = np.clip(v, -128, 127)
    out: np.ndarray = np.clip(v, call.act_min, call.act_max)
    return out


def run_poolk(mach: Machine, call: Call) -> None:
    """The kernel region by region, in int64 (exact), as the C computes it."""
    assert isinstance(call, PoolKernelCall)
    x = mach.read(call.inputs[0]).reshape(call.ih, call.iw, call.c).astype(np.int64)
    out = np.zeros((call.oh, call.ow, call.c), dtype=np.int64)
    for y0, y1, x0, x1, ky0, ky1, kx0, kx1 in call.regions:
        count = (ky1 - ky0) * (kx1 - kx0)
        for y in range(y0, y1):
            r0 = y * call.sh - call.pad_t
            for xo in range(x0, x1):
                c0 = xo * call.sw - call.pad_l
                win = x[r0 + ky0 : r0 + ky1, c0 + kx0 : c0 + kx1]
                acc = win.max(axis=(0, 1)) if call.mode == MAX else win.sum(axis=(0, 1))
                out[y, xo] = finish(call, acc, count)
    mach.write(call.output, out.astype(np.int8))
