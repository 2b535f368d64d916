"""edgegen's Helium (MVE) DEPTHWISE_CONV_2D 3x3 kernel for CPUs of class ``mve`` (Cortex-M55):
the build-time layout, its proofs, its call and its simulator kernel (the C is
``firmware/edgegen/edgegen_dw8.h``; design in docs/kernel-design.md, "Depthwise 3x3 on Helium").

The same regions and per-region folded biases as the DSP kernel (:mod:`edgegen.kernels.depthwise`),
but lanes are channels, 8 per group in int16 lanes (VLDRB.S16 + VMULLB/VMULLT into two int32x4
accumulators, even and odd channels), so:

* weights stay int8 (the widening load does what the DSP layout's int16 pairs did), per group of 8
  channels (zero-padded) in 9 slots in the kernel's load order (per filter row: columns 0, 2, 1);
* the accumulator is the raw int32 one (no doubling, no scaling): VQRDMULH is TFLM's
  SaturatingRoundingDoublingHighMul, VRSHL by ``-e`` its RoundingDivideByPOT after the nudge
  ``(h & -e) >> 31``; the zero point is added after a saturating narrowing to int16 (exact: a value
  that saturates there is outside int8 on the same side with or without the zero point);
* biases and records per group in even/odd channel order: ``bias2`` [regions][groups][8], ``rq``
  [groups]{m[8], -e[8]}.

Proofs, per channel, or the layer falls back to the DSP kernel (to Arm's CMSIS-NN call when the build
links Arm's library, whose Helium kernel beats the DSP one): multiplier >= 0, shift in
[-31, 0] (TFLM's left shift would scale the accumulator first), and
``max over regions |bias_r| + 128 * sum |w| < 2**31`` (no partial sum overflows int32).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from . import depthwise as dw3
from .admit import admit, cmsis_nn_bytes

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

#: channels per group (int16 lanes of one Q register)
LANES = 8
#: filter tap (3*ky + kx) of each weight slot: per row, columns 0, 2, 1 (the load order)
SLOT_TAPS = tuple(3 * ky + kx for ky in range(3) for kx in (0, 2, 1))
#: position of channel j of a group in bias2 / rq: even channels, then odd ones
LANE_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
INT32_LIMIT = 1 << 31


@dataclass(frozen=True)
class DwMveCall(Call):
    """``edgegen_dw8_s8`` (or ``edgegen_dw8_s8_portable``) over the regions of one layer."""

    KIND: ClassVar[str] = "dw8"
    HEADER: ClassVar[str | None] = "edgegen_dw8.h"
    weights: str  # int8 [groups][9 slots][8]
    bias2: str  # int32 [regions][groups][8], even/odd order
    rq: str  # int32 [groups]{m[8], -e[8]}, even/odd order
    ih: int
    iw: int
    c: int
    oh: int
    ow: int
    stride: int
    pad_t: int
    pad_l: int
    out_zp: int
    act_min: int
    act_max: int
    e_pos: int
    segments: tuple[dw3.Segment, ...]

    @property
    def regions(self) -> list[tuple[int, int, int, int, int, int]]:
        """Per segment ``(y0, y1, x0, x1, tap mask, offset of its biases)`` for the generated code."""
        g = groups(self.c)
        return [(y0, y1, x0, x1, dw3.tap_mask(rm, cm), r * g * LANES) for y0, y1, rm, x0, x1, cm, r in self.segments]


@dataclass(frozen=True)
class DwMvePrep:
    words: np.ndarray  # int8
    bias2: np.ndarray  # int32
    rq: np.ndarray  # int32
    e_pos: int
    segments: tuple[dw3.Segment, ...]

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.bias2.nbytes + self.rq.nbytes)


def groups(c: int) -> int:
    return -(-c // LANES)


def _lanes(v: np.ndarray) -> np.ndarray:
    """``v`` [..., C] zero-padded to whole groups, each group in even/odd order: [..., groups, 8]."""
    c = v.shape[-1]
    padded = np.zeros((*v.shape[:-1], groups(c) * LANES), dtype=np.int64)
    padded[..., :c] = v
    return padded.reshape(*v.shape[:-1], groups(c), LANES)[..., list(LANE_ORDER)]


def _unlanes(v: np.ndarray, c: int) -> np.ndarray:
    """The inverse of :func:`_lanes`: [..., C]."""
    out = np.zeros_like(v)
    out[..., list(LANE_ORDER)] = v
    return out.reshape(*v.shape[:-2], -1)[..., :c]


def pack_w(w: np.ndarray) -> np.ndarray:
    """``w`` [9, C] (taps row-major) as int8 [groups][9 slots][8], zero-padded."""
    taps, c = w.shape
    padded = np.zeros((taps, groups(c) * LANES), dtype=np.int64)
    padded[:, :c] = w
    slots = padded[list(SLOT_TAPS)]  # [slot][Cp]
    return slots.reshape(9, groups(c), LANES).transpose(1, 0, 2).reshape(-1).astype(np.int8)


def unpack_w(words: np.ndarray, c: int) -> np.ndarray:
    """The inverse of :func:`pack_w`: [9, C] int64, taps row-major."""
    g = groups(c)
    slots = words.astype(np.int64).reshape(g, 9, LANES).transpose(1, 0, 2).reshape(9, g * LANES)
    out = np.zeros_like(slots)
    out[list(SLOT_TAPS)] = slots
    return out[:, :c]


def pack_rq(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per group ``{m[8], -e[8]}`` in even/odd order, int32."""
    return np.concatenate([_lanes(m), _lanes(-e)], axis=-1).reshape(-1).astype(np.int32)


def unpack_rq(rq: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """``(m, e)`` per channel from :func:`pack_rq`."""
    r = rq.astype(np.int64).reshape(-1, 2, LANES)
    return _unlanes(r[:, 0], c), -_unlanes(r[:, 1], c)


def prepare(w: np.ndarray, bias: np.ndarray | None, input_offset: int, mults: np.ndarray, shifts: np.ndarray,
            geo: dw3.Geometry) -> DwMvePrep | str:
    """The folded constants of one layer (``w`` [9, C] int8, taps row-major), or why the Helium path
    cannot be proven exact for it."""
    w64 = np.asarray(w, dtype=np.int64).reshape(9, -1)
    c = w64.shape[1]
    m = np.asarray(mults, dtype=np.int64).reshape(-1)
    sh = np.asarray(shifts, dtype=np.int64).reshape(-1)
    if m.size == 1:
        m, sh = np.repeat(m, c), np.repeat(sh, c)
    if np.any(m < 0):
        return "a negative multiplier"
    if np.any(sh > 0):
        return "a left shift (the Helium path requantizes the unscaled accumulator)"
    if np.any(sh < -31):
        return "a shift below -31"
    segments = tuple(geo.segments())
    b = np.zeros(c, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b[None, :] + np.int64(input_offset) * dw3.region_sums(w64, segments)
    bound = np.abs(folded).max(axis=0) + 128 * np.abs(w64).sum(axis=0)
    if np.any(bound >= INT32_LIMIT):
        return "the accumulator bound is not below 2^31"
    e = -sh
    return DwMvePrep(words=pack_w(w64), bias2=_lanes(folded).reshape(-1).astype(np.int32), rq=pack_rq(m, e),
                     e_pos=int(bool(np.all(e >= 1))), segments=segments)


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef, input_offset: int,
              mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int], geo: dw3.Geometry) -> bool:
    """Lower ``op`` to the Helium kernel when the CPU has MVE and the proofs hold, else to the DSP
    kernel (:func:`edgegen.kernels.depthwise.try_lower`); False when the layer keeps its CMSIS-NN
    call (the mode, Arm's library or the flash; the reason is recorded)."""
    prep = prepare(w, bias, input_offset, mults, shifts, geo) if lw.kernels.cpu == "mve" else "no MVE"
    if isinstance(prep, str) and lw.kernels.cpu == "mve" and lw.kernels.library == "arm":
        # the DSP kernel is slower than Arm's Helium one (kws layer 200,406 against 168,718)
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, f"not proven exact on the Helium path: {prep}"))
        return False
    if isinstance(prep, str):
        return dw3.try_lower(lw, op, w=w, bias=bias, x=x, input_offset=input_offset, mults=mults, shifts=shifts,
                             out_zp=out_zp, act=act, geo=geo)
    got = admit(lw, op, dw3.KERNEL, "edgegen_dw8_s8", lambda: prep,
                cmsis_nn_bytes(9 * geo.c, geo.c, bias=bias is not None, per_channel=np.size(mults) > 1),
                wider="region biases", weights_role="dw8", weights_ctype="int8_t")
    if got is None:
        return False
    _prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, geo.oh * geo.ow * geo.c * geo.kh * geo.kw)
    lw.calls.append(DwMveCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq,  # type: ignore[arg-type]
                              ih=geo.ih, iw=geo.iw, c=geo.c, oh=geo.oh, ow=geo.ow, stride=geo.stride,
                              pad_t=geo.pad_t, pad_l=geo.pad_l, out_zp=int(out_zp), act_min=int(act[0]),
                              act_max=int(act[1]), e_pos=prep.e_pos, segments=prep.segments))
    return True


def requant(acc: np.ndarray, m: np.ndarray, e: np.ndarray, e_pos: int, zp: int, lo: int, hi: int) -> np.ndarray:
    """The Helium requantization on int32 accumulators [..., C], step by step (VQRDMULH, the nudge,
    VRSHL, VQMOVN to int16, VQADD of the zero point, saturation / clamp to int8)."""
    h = (acc * m + (np.int64(1) << 30)) >> 31
    fix = h >> 31 if e_pos else (h & -e) >> 31
    v = h + fix
    v = np.where(e > 0, (v + (np.int64(1) << np.maximum(e - 1, 0))) >> e, v)
    v = np.clip(np.clip(v, -32768, 32767) + zp, -32768, 32767)
    out: np.ndarray = np.clip(v, lo, hi).astype(np.int8)
    return out


def run_dw8(mach: Machine, call: Call) -> None:
    """The kernel from its constants, in int64 (exact), as the C computes it: per region, the
    region's bias plus the valid taps on the raw int8 input, then :func:`requant`."""
    assert isinstance(call, DwMveCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    ws = unpack_w(words, call.c)
    b = _unlanes(bias2.astype(np.int64).reshape(-1, groups(call.c), LANES), call.c)
    m, e = unpack_rq(rq, call.c)
    x = mach.read(call.inputs[0]).reshape(call.ih, call.iw, call.c).astype(np.int64)
    acc = np.zeros((call.oh, call.ow, call.c), dtype=np.int64)
    s = call.stride
    for y0, y1, rm, x0, x1, cm, r in call.segments:
        ys, xs = np.arange(y0, y1) * s - call.pad_t, np.arange(x0, x1) * s - call.pad_l
        a = np.broadcast_to(b[r], (y1 - y0, x1 - x0, call.c)).copy()
        mask = dw3.tap_mask(rm, cm)
        for t in range(9):
            if (mask >> t) & 1:
                a += x[np.ix_(ys + t // 3, xs + t % 3)] * ws[t]
        acc[y0:y1, x0:x1] = a
    assert np.all(np.abs(acc) < INT32_LIMIT), "the accumulator bound proof failed"
    mach.write(call.output, requant(acc, m, e, call.e_pos, call.out_zp, call.act_min, call.act_max))
