"""edgegen's 1x1 CONV_2D (stride 1) / FULLY_CONNECTED kernel: the build-time preparation, its
proofs, its call and its simulator kernel (the C is ``firmware/edgegen/edgegen_mm.h``).

Preparation (docs/kernel-design.md, "1x1 CONV_2D and FULLY_CONNECTED"):

* weights in the W16x2 layout: per block of up to OCB (6) output channels, per quad of K (zero-padded),
  per channel, the int16 pairs ``(s*w[4q], s*w[4q+2])`` and ``(s*w[4q+1], s*w[4q+3])`` with
  ``s = 2 * 2**left_shift`` per channel, so the accumulator is ``s * acc`` and SMMULR gives TFLM's
  SaturatingRoundingDoublingHighMul of ``acc * 2**left_shift`` in one instruction;
* ``bias2 = s * (bias + input_offset * sum_k w)``: the input offset never appears at run time;
* per channel ``{m, c, e}``: ``e = max(-shift, 0)``, ``c = (2**(e-1) if e else 0) + zp * 2**e``.

Proofs, per channel, or the layer keeps its CMSIS-NN call: ``|s*w| <= 32767`` (int16 pairs),
``s*(|bias'| + 128*sum|w|) < 2**31`` (no partial sum of the accumulator overflows int32, so
SMMULR's input is exactly ``s*acc`` and TFLM's ``acc << left_shift`` does not wrap either), and
``|h| + |c| + 1 < 2**31`` (the zero point folded into the rounding constant does not overflow).
``e_pos`` (every channel has e >= 1) selects the cheaper rounding fix-up ``h >> 31``; otherwise
``(h & -e) >> 31``, which vanishes for e = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from . import mve_mm
from .admit import admit, cmsis_nn_bytes

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "matmul"
#: output channels per block: 6 accumulators fit the DSP path's registers (0.93 MAC/instruction
#: measured against 0.89 with 4, docs/kernel-design.md); a last block holds the rest
OCB = 6
INT32_LIMIT = 1 << 31


@dataclass(frozen=True)
class MatmulCall(Call):
    """``edgegen_mm_s8`` (or ``edgegen_mm_s8_portable``) on NPIX rows of K bytes."""

    KIND: ClassVar[str] = "matmul"
    HEADER: ClassVar[str | None] = "edgegen_mm.h"
    weights: str  # W16x2 words
    bias2: str
    rq: str  # {m, c, e} per channel
    k: int
    oc: int
    npix: int
    ocb: int
    act_min: int
    act_max: int
    e_pos: int


@dataclass(frozen=True)
class MatmulPrep:
    words: np.ndarray  # int32, the W16x2 layout
    bias2: np.ndarray  # int32 [OC]
    rq: np.ndarray  # int32 [OC * 3]
    e_pos: int

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.bias2.nbytes + self.rq.nbytes)


def _pack(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    u = (lo.astype(np.int64) & 0xFFFF) | ((hi.astype(np.int64) & 0xFFFF) << 16)
    return u.astype(np.uint32).view(np.int32)


def pack_w16x2(ws: np.ndarray, ocb: int = OCB) -> np.ndarray:
    """``ws`` [OC, K] (already scaled, int16 range) in the W16x2 layout, K zero-padded to a quad."""
    oc, k = ws.shape
    kp = -(-k // 4) * 4
    padded = np.zeros((oc, kp), dtype=np.int64)
    padded[:, :k] = ws
    parts = []
    for b0 in range(0, oc, ocb):
        blk = padded[b0 : b0 + ocb].reshape(-1, kp // 4, 4).transpose(1, 0, 2)  # [q][j][4]
        pairs = np.stack([_pack(blk[..., 0], blk[..., 2]), _pack(blk[..., 1], blk[..., 3])], axis=-1)
        parts.append(pairs.reshape(-1))
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, dtype=np.int32)


def unpack_w16x2(words: np.ndarray, k: int, oc: int, ocb: int = OCB) -> np.ndarray:
    """The inverse of :func:`pack_w16x2`: [OC, K padded to a quad] int64."""
    kp = -(-k // 4) * 4
    u = words.astype(np.int32).view(np.uint32).astype(np.int64)
    lo = ((u & 0xFFFF) ^ 0x8000) - 0x8000
    hi = (((u >> 16) & 0xFFFF) ^ 0x8000) - 0x8000
    out = np.zeros((oc, kp), dtype=np.int64)
    pos = 0
    for b0 in range(0, oc, ocb):
        n = min(ocb, oc - b0)
        cnt = (kp // 4) * n * 2
        lb = lo[pos : pos + cnt].reshape(kp // 4, n, 2)
        hb = hi[pos : pos + cnt].reshape(kp // 4, n, 2)
        quad = np.stack([lb[..., 0], lb[..., 1], hb[..., 0], hb[..., 1]], axis=-1)  # k0, k1, k2, k3
        out[b0 : b0 + n] = quad.transpose(1, 0, 2).reshape(n, kp)
        pos += cnt
    return out


def scales(mults: np.ndarray, shifts: np.ndarray, oc: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | str:
    """Per channel ``(m, e, s)``: the multiplier, the right shift and the weight scale
    ``s = 2 * 2**left_shift``, or why the layer cannot use them."""
    m = np.asarray(mults, dtype=np.int64).reshape(-1)
    sh = np.asarray(shifts, dtype=np.int64).reshape(-1)
    if m.size == 1:
        m, sh = np.repeat(m, oc), np.repeat(sh, oc)
    if np.any(m < 0) or np.any(sh < -31):
        return "a negative multiplier or a shift below -31"
    left = np.maximum(sh, 0)
    if np.any(left > 7):
        return "a left shift above 7 (scaled weights would not fit int16)"
    return m, np.maximum(-sh, 0), np.int64(2) << left


def requant_records(m: np.ndarray, e: np.ndarray, out_zp: int, bound: np.ndarray) -> tuple[np.ndarray, int] | str:
    """The ``{m, c, e}`` records and e_pos, given ``bound`` (per channel, above every ``|s*acc|``),
    or why they cannot be proven exact."""
    if np.any(bound >= INT32_LIMIT):
        return "the accumulator bound is not below 2^31 (SMMULR on the doubled accumulator would overflow)"
    rnd = np.where(e > 0, np.int64(1) << np.maximum(e - 1, 0), 0)
    c = rnd + np.int64(out_zp) * (np.int64(1) << e)
    h_bound = ((bound // 2) * m >> 31) + 1
    if np.any(h_bound + np.abs(c) + 1 >= INT32_LIMIT):
        return "the zero point folded into the rounding constant would overflow int32"
    return np.stack([m, c, e], axis=1).reshape(-1).astype(np.int32), int(bool(np.all(e >= 1)))


def prepare(w: np.ndarray, bias: np.ndarray | None, input_offset: int, mults: np.ndarray, shifts: np.ndarray,
            out_zp: int) -> MatmulPrep | str:
    """The folded constants of one layer (``w`` [OC, K] int8), or why they cannot be proven exact."""
    w64 = np.asarray(w, dtype=np.int64)
    oc, _k = w64.shape
    sc = scales(mults, shifts, oc)
    if isinstance(sc, str):
        return sc
    m, e, s = sc
    ws = w64 * s[:, None]
    if ws.size and (ws.max() > 32767 or ws.min() < -32768):
        return "scaled weights outside int16"
    b = np.zeros(oc, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b + np.int64(input_offset) * w64.sum(axis=1)
    bound = s * (np.abs(folded) + 128 * np.abs(w64).sum(axis=1))
    rq = requant_records(m, e, out_zp, bound)
    if isinstance(rq, str):
        return rq
    return MatmulPrep(words=pack_w16x2(ws), bias2=(s * folded).astype(np.int32), rq=rq[0], e_pos=rq[1])


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef,
              input_offset: int, mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int],
              npix: int) -> bool:
    """Lower ``op`` to edgegen's kernel when the mode, the CPU, the proofs and the flash allow it;
    else record why (for the report) and return False (the caller emits the CMSIS-NN call)."""
    if lw.kernels.cpu == "mve":
        # Helium CPUs: int8 weights streamed for VMLADAVA (edgegen/kernels/mve_mm.py)
        return mve_mm.try_lower(lw, op, w=w, bias=bias, x=x, input_offset=input_offset, mults=mults, shifts=shifts,
                                out_zp=out_zp, act=act, npix=npix)
    oc, k = w.shape
    got = admit(lw, op, KERNEL, "edgegen_mm_s8", lambda: prepare(w, bias, input_offset, mults, shifts, out_zp),
                cmsis_nn_bytes(k * oc, oc, bias=bias is not None, per_channel=np.size(mults) > 1))
    if got is None:
        return False
    prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, npix * oc * k)
    lw.calls.append(MatmulCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq, k=k, oc=oc,  # type: ignore[arg-type]
                               npix=npix, ocb=OCB, act_min=act[0], act_max=act[1], e_pos=prep.e_pos))
    return True


def run_matmul(mach: Machine, call: Call) -> None:
    """The kernel from its folded constants, in int64 (exact), as the C computes it."""
    assert isinstance(call, MatmulCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    ws = unpack_w16x2(words, call.k, call.oc, call.ocb)
    x = np.zeros((call.npix, ws.shape[1]), dtype=np.int64)
    x[:, : call.k] = mach.read(call.inputs[0]).reshape(call.npix, call.k)
    acc2 = bias2.astype(np.int64) + x @ ws.T
    assert np.all(np.abs(acc2) < INT32_LIMIT), "the accumulator bound proof failed"
    mach.write(call.output, requant2(acc2, rq, call.e_pos, call.act_min, call.act_max))


def requant2(acc2: np.ndarray, rq: np.ndarray, e_pos: int, act_min: int, act_max: int, zo: int = 0) -> np.ndarray:
    """``edgegen_mm_rq`` on doubled accumulators [..., OC] with the ``{m, c, e}`` records (``zo``: the
    output zero point added after the shift, edgegen_sp.h's ``edgegen_sp_rq``; 0 where ``c`` holds it)."""
    r = rq.astype(np.int64).reshape(-1, 3)
    m, c, e = r[:, 0], r[:, 1], r[:, 2]
    h = (acc2 * m + (np.int64(1) << 31)) >> 32
    fix = h >> 31 if e_pos else (h & -e) >> 31
    v = np.clip(((h + c + fix) >> e) + zo, -128, 127)
    out: np.ndarray = np.clip(v, act_min, act_max).astype(np.int8)
    return out
