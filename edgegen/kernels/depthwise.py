"""edgegen's DEPTHWISE_CONV_2D 3x3 kernel (filters up to 3x3, stride 1 or 2, dilation 1, depth
multiplier 1, SAME or VALID): the build-time preparation, its proofs, its call and its simulator kernel (the C is
``firmware/edgegen/edgegen_dw.h``; design in docs/kernel-design.md, "Depthwise 3x3").

Preparation:

* regions: the output rows fall into runs with the same set of valid filter rows (``rmask``, bit
  ``ky``), the output columns into runs with the same set of valid filter columns (``cmask``); each
  (row run, column run) is a region whose taps are known at build time, so the C has no bounds
  checks and never reads padding;
* per region the folded bias ``bias + input_offset * sum of the taps valid in the region``: exact
  because TFLM's padded taps contribute ``(pad - zp) * w = 0`` (it pads with the zero point), so the
  input offset never appears at run time;
* weights scaled per channel by ``s = 2 * 2**left_shift`` as in the matmul kernel (its
  :func:`~edgegen.kernels.matmul.scales`, :func:`~edgegen.kernels.matmul.requant_records` and its
  ``{m, c, e}`` requantization with SMMULR), laid out per quad of channels (zero-padded) per tap as the
  int16 pairs ``(w[c0], w[c2])`` and ``(w[c1], w[c3])``: the order SXTB16 and SXTB16 ROR #8 give the
  four channel bytes of one input word, multiplied by SMLABB / SMLATT.

Proofs, per channel, or the layer keeps its CMSIS-NN call: ``|s*w| <= 32767`` and
``s * (max over regions |bias_r| + 128 * sum |w|) < 2**31`` (no partial sum overflows int32), and
the matmul kernel's rounding-constant bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from . import matmul
from .admit import admit, cmsis_nn_bytes

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "depthwise3x3"

#: (y0, y1, rmask, x0, x1, cmask, region): output rows [y0, y1) x columns [x0, x1)
Segment = tuple[int, int, int, int, int, int, int]


@dataclass(frozen=True)
class Geometry:
    ih: int
    iw: int
    c: int
    oh: int
    ow: int
    stride: int
    pad_t: int
    pad_l: int
    #: the filter's height and width (at most 3): a smaller filter is the 3x3 one whose taps beyond
    #: it are never read (they are left out of every region's tap mask)
    kh: int = 3
    kw: int = 3

    def runs(self, n_out: int, n_in: int, pad: int, k_taps: int = 3) -> list[tuple[int, int, int]]:
        """Runs ``(o0, o1, mask)`` of outputs whose valid filter offsets (bit k) are the same."""
        out: list[tuple[int, int, int]] = []
        for o in range(n_out):
            mask = sum(1 << k for k in range(k_taps) if 0 <= o * self.stride - pad + k < n_in)
            if out and out[-1][2] == mask:
                out[-1] = (out[-1][0], o + 1, mask)
            else:
                out.append((o, o + 1, mask))
        return out

    def segments(self) -> list[Segment]:
        rows = self.runs(self.oh, self.ih, self.pad_t, self.kh)
        cols = self.runs(self.ow, self.iw, self.pad_l, self.kw)
        return [(y0, y1, rm, x0, x1, cm, ri * len(cols) + ci)
                for ri, (y0, y1, rm) in enumerate(rows) for ci, (x0, x1, cm) in enumerate(cols)]


def embed(w: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """A KH x KW filter (``w`` [kh*kw, C], taps row-major, KH, KW <= 3) as the 3x3 one [9, C] with zero
    taps beyond it (which :meth:`Geometry.segments` never lets the kernels read)."""
    out = np.zeros((3, 3, w.shape[-1]), dtype=w.dtype)
    out[:kh, :kw] = w.reshape(kh, kw, -1)
    return out.reshape(9, -1)


def tap_mask(rmask: int, cmask: int) -> int:
    """Bit ``3*ky + kx`` set when filter tap (ky, kx) reads the input."""
    return sum(1 << (3 * ky + kx) for ky in range(3) for kx in range(3) if (rmask >> ky) & 1 and (cmask >> kx) & 1)


@dataclass(frozen=True)
class DepthwiseKernelCall(Call):
    """``edgegen_dw3_s8`` (or ``edgegen_dw3_s8_portable``) over the regions of one layer."""

    KIND: ClassVar[str] = "dw3x3"
    HEADER: ClassVar[str | None] = "edgegen_dw.h"
    weights: str  # [quads][9]{(w0, w2), (w1, w3)} int16 pairs
    bias2: str  # [regions][C]
    rq: str  # {m, c, e} per channel
    ih: int
    iw: int
    c: int
    oh: int
    ow: int
    stride: int
    pad_t: int
    pad_l: int
    act_min: int
    act_max: int
    e_pos: int
    segments: tuple[Segment, ...]

    @property
    def regions(self) -> list[tuple[int, int, int, int, int, int]]:
        """Per segment ``(y0, y1, x0, x1, tap mask, offset of its biases)`` for the generated code."""
        return [(y0, y1, x0, x1, tap_mask(rm, cm), r * self.c) for y0, y1, rm, x0, x1, cm, r in self.segments]


@dataclass(frozen=True)
class DepthwisePrep:
    words: np.ndarray  # int32
    bias2: np.ndarray  # int32 [regions * C]
    rq: np.ndarray  # int32 [C * 3]
    e_pos: int
    segments: tuple[Segment, ...]

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.bias2.nbytes + self.rq.nbytes)


def pack_dw(ws: np.ndarray) -> np.ndarray:
    """``ws`` [9, C] (scaled, int16 range) as [quads][9]{pair(c0, c2), pair(c1, c3)}, C zero-padded."""
    taps, c = ws.shape
    cp = -(-c // 4) * 4
    padded = np.zeros((taps, cp), dtype=np.int64)
    padded[:, :c] = ws
    q = padded.reshape(taps, cp // 4, 4).transpose(1, 0, 2)  # [quad][tap][4]
    pairs = np.stack([matmul._pack(q[..., 0], q[..., 2]), matmul._pack(q[..., 1], q[..., 3])], axis=-1)
    return pairs.reshape(-1).astype(np.int32)


def unpack_dw(words: np.ndarray, c: int) -> np.ndarray:
    """The inverse of :func:`pack_dw`: [9, C] int64."""
    u = words.astype(np.int32).view(np.uint32).astype(np.int64).reshape(-1, 9, 2)
    lo = ((u & 0xFFFF) ^ 0x8000) - 0x8000
    hi = (((u >> 16) & 0xFFFF) ^ 0x8000) - 0x8000
    quad = np.stack([lo[..., 0], lo[..., 1], hi[..., 0], hi[..., 1]], axis=-1)  # [quad][tap][c0..c3]
    return quad.transpose(1, 0, 2).reshape(9, -1)[:, :c]


def region_sums(w: np.ndarray, segments: tuple[Segment, ...] | list[Segment]) -> np.ndarray:
    """Per region, per channel, the sum of the weights of the taps valid there: [regions, C]."""
    nreg = 1 + max(s[6] for s in segments)
    out = np.zeros((nreg, w.shape[1]), dtype=np.int64)
    for _y0, _y1, rm, _x0, _x1, cm, r in segments:
        mask = tap_mask(rm, cm)
        out[r] = sum((w[t] for t in range(9) if (mask >> t) & 1), np.zeros(w.shape[1], dtype=np.int64))
    return out


def prepare(w: np.ndarray, bias: np.ndarray | None, input_offset: int, mults: np.ndarray, shifts: np.ndarray,
            out_zp: int, geo: Geometry) -> DepthwisePrep | str:
    """The folded constants of one layer (``w`` [9, C] int8, taps row-major), or why they cannot be
    proven exact."""
    w64 = np.asarray(w, dtype=np.int64).reshape(9, -1)
    c = w64.shape[1]
    sc = matmul.scales(mults, shifts, c)
    if isinstance(sc, str):
        return sc
    m, e, s = sc
    ws = w64 * s[None, :]
    if ws.size and (ws.max() > 32767 or ws.min() < -32768):
        return "scaled weights outside int16"
    segments = tuple(geo.segments())
    b = np.zeros(c, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b[None, :] + np.int64(input_offset) * region_sums(w64, segments)
    bound = s * (np.abs(folded).max(axis=0) + 128 * np.abs(w64).sum(axis=0))
    rq = matmul.requant_records(m, e, out_zp, bound)
    if isinstance(rq, str):
        return rq
    return DepthwisePrep(words=pack_dw(ws), bias2=(s[None, :] * folded).astype(np.int32).reshape(-1), rq=rq[0],
                         e_pos=rq[1], segments=segments)


def applies(kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int], mult: int, batch: int) -> str | None:
    """None when the layer's shape fits the kernel (and its Helium twin, :mod:`edgegen.kernels.mve_dw`),
    else what it does not take, for the kernel notes: filters up to 3x3 run as the 3x3 one with the
    taps beyond them left out of the masks; larger ones would need their own tap unrolling (5x5: 25
    taps, 5 input row pointers, more than the Helium path's 8 low registers leave), a depth
    multiplier above 1 repeats each input channel across output lanes (a gather or a re-packed input
    on Helium, a different SXTB16 pairing on DSP), dilation moves the taps apart."""
    if kh > 3 or kw > 3:
        return f"a {kh}x{kw} filter (at most 3x3)"
    if stride[0] != stride[1] or stride[0] not in (1, 2):
        return f"stride {stride} (1 or 2 in both directions only)"
    if dilation != (1, 1):
        return f"dilation {dilation} (1 only)"
    if mult != 1:
        return f"depth multiplier {mult} (1 only)"
    if batch != 1:
        return f"batch {batch} (1 only)"
    return None


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef, input_offset: int,
              mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int], geo: Geometry) -> bool:
    """Lower ``op`` to edgegen's kernel when the mode, the CPU, the proofs and the flash allow it;
    else record why and return False (the caller emits the CMSIS-NN call)."""
    got = admit(lw, op, KERNEL, "edgegen_dw3_s8",
                lambda: prepare(w, bias, input_offset, mults, shifts, out_zp, geo),
                cmsis_nn_bytes(9 * geo.c, geo.c, bias=bias is not None, per_channel=np.size(mults) > 1),
                wider="16-bit weights and region biases", weights_role="dw16")
    if got is None:
        return False
    prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, geo.oh * geo.ow * geo.c * geo.kh * geo.kw)
    lw.calls.append(DepthwiseKernelCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq,  # type: ignore[arg-type]
                                        ih=geo.ih, iw=geo.iw, c=geo.c, oh=geo.oh, ow=geo.ow, stride=geo.stride,
                                        pad_t=geo.pad_t, pad_l=geo.pad_l, act_min=act[0], act_max=act[1],
                                        e_pos=prep.e_pos, segments=prep.segments))
    return True


def run_dw3(mach: Machine, call: Call) -> None:
    """The kernel from its folded constants, in int64 (exact), as the C computes it: per region, the
    region's bias plus the valid taps on the raw int8 input."""
    assert isinstance(call, DepthwiseKernelCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    ws = unpack_dw(words, call.c)
    b2 = bias2.astype(np.int64).reshape(-1, call.c)
    x = mach.read(call.inputs[0]).reshape(call.ih, call.iw, call.c).astype(np.int64)
    acc2 = np.zeros((call.oh, call.ow, call.c), dtype=np.int64)
    s = call.stride
    for y0, y1, rm, x0, x1, cm, r in call.segments:
        ys, xs = np.arange(y0, y1) * s - call.pad_t, np.arange(x0, x1) * s - call.pad_l
        acc = np.broadcast_to(b2[r], (y1 - y0, x1 - x0, call.c)).copy()
        mask = tap_mask(rm, cm)
        for t in range(9):
            if (mask >> t) & 1:
                acc += x[np.ix_(ys + t // 3, xs + t % 3)] * ws[t]
        acc2[y0:y1, x0:x1] = acc
    assert np.all(np.abs(acc2) < matmul.INT32_LIMIT), "the accumulator bound proof failed"
    mach.write(call.output, matmul.requant2(acc2, rq, call.e_pos, call.act_min, call.act_max))
