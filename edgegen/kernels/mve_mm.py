"""edgegen's matmul kernel (1x1 CONV_2D stride 1, FULLY_CONNECTED) on Helium (MVE) CPUs: its int8
layout, proofs, requantization records, call and simulator kernel (the C is
``firmware/edgegen/edgegen_mm8.h``; the general conv kernel's Helium variant, edgegen/kernels/mve_conv.py,
uses the same constants).

Preparation (docs/kernel-design.md, "Helium: matmul and general conv"):

* int8 weights in the order the inner loop streams them (every VLDRB post-increments): per block of 4
  output channels (OC zero-padded to a multiple of 4), per 16-byte chunk of K (zero-padded to a
  multiple of 16), the 16 bytes of each of the 4 channels;
* ``bias = bias + input_offset * sum_k w`` per channel (OC padded), so the inputs are raw int8;
* per block of 4 channels the records ``{m[4], -e[4], zp[4]}`` (and ``{left_shift[4]}`` when a
  channel of the layer shifts left), read by VLDRW for the vector requantization:
  ``h = VQRDMULH(acc << ls, m)`` (TFLM's SaturatingRoundingDoublingHighMul for m >= 0, double
  rounding), ``v = VRSHL(h + fix, -e) + zp`` with ``fix = -1`` when ``h < 0`` and ``e > 0``
  (RoundingDivideByPOT rounds half away from zero, VRSHL half up), then the activation clamp. The
  zero point is added after the shift (as TFLM does; the DSP path folds it into the rounding
  constant, which overflows for large e), so it costs no proof and no instruction more.

Proofs, per channel, or the layer keeps its CMSIS-NN call: ``(|bias'| + 128 * sum|w|) << ls < 2**31``
(no partial sum of a VMLADAVA accumulator, nor TFLM's ``acc << ls``, wraps; the inputs are int8, the
zero-padded taps contribute 0) and ``|h| + 1 + |zp| < 2**31`` (neither the fix-up nor the zero point
overflows; ``h`` is below ``bound * m / 2**31 + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from .admit import admit, cmsis_nn_bytes

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "matmul"
#: output channels per block (the 2-pixel x 4-channel register block: 8 VMLADAVA accumulators)
OCB = 4
#: bytes per chunk of K (one VLDRB.8)
KC = 16
INT32_LIMIT = 1 << 31


@dataclass(frozen=True)
class MatmulMveCall(Call):
    """``edgegen_mm8_s8`` (or ``edgegen_mm8_s8_portable``) on NPIX rows of K bytes."""

    KIND: ClassVar[str] = "mm8"
    HEADER: ClassVar[str | None] = "edgegen_mm8.h"
    weights: str  # int8, the streamed layout
    bias2: str  # the folded bias per channel (OC padded to 4)
    rq: str  # per block of 4 channels {m, -e, zp[, ls]}
    k: int
    oc: int
    npix: int
    act_min: int
    act_max: int
    e_pos: int
    ls: int  # 1 when the records carry left shifts


@dataclass(frozen=True)
class Mm8Prep:
    words: np.ndarray  # int8, the streamed layout
    bias2: np.ndarray  # int32 [OC padded to 4]
    rq: np.ndarray  # int32 [OC4 / 4 * (12 or 16)]
    e_pos: int
    ls: int

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.bias2.nbytes + self.rq.nbytes)


def padded(n: int, to: int) -> int:
    return -(-n // to) * to


def pack_w8(w: np.ndarray) -> np.ndarray:
    """``w`` [OC, K] int8 in the streamed layout: [OC4/4][K16/16][4][16], zero-padded."""
    oc, k = w.shape
    oc4, k16 = padded(oc, OCB), padded(k, KC)
    full = np.zeros((oc4, k16), dtype=np.int8)
    full[:oc, :k] = w
    return full.reshape(oc4 // OCB, OCB, k16 // KC, KC).transpose(0, 2, 1, 3).reshape(-1).copy()


def unpack_w8(words: np.ndarray, k: int, oc: int) -> np.ndarray:
    """The inverse of :func:`pack_w8`: [OC padded to 4, K padded to 16] int64."""
    oc4, k16 = padded(oc, OCB), padded(k, KC)
    blocks = words.astype(np.int64).reshape(oc4 // OCB, k16 // KC, OCB, KC)
    out: np.ndarray = blocks.transpose(0, 2, 1, 3).reshape(oc4, k16)
    return out


def records(m: np.ndarray, e: np.ndarray, ls: np.ndarray, out_zp: int, with_ls: bool) -> np.ndarray:
    """The per-block records ``{m[4], -e[4], zp[4][, ls[4]]}``, channels padded with zeros."""
    oc = m.size
    oc4 = padded(oc, OCB)
    rows = [m, -e, np.full(oc, out_zp, dtype=np.int64)] + ([ls] if with_ls else [])
    table = np.zeros((len(rows), oc4), dtype=np.int64)
    for i, row in enumerate(rows):
        table[i, :oc] = row
    return table.reshape(len(rows), oc4 // OCB, OCB).transpose(1, 0, 2).reshape(-1).astype(np.int32)


def prepare(w: np.ndarray, bias: np.ndarray | None, input_offset: int, mults: np.ndarray, shifts: np.ndarray,
            out_zp: int) -> Mm8Prep | str:
    """The folded constants of one layer (``w`` [OC, K] int8), or why they cannot be proven exact."""
    w64 = np.asarray(w, dtype=np.int64)
    oc, _k = w64.shape
    m = np.asarray(mults, dtype=np.int64).reshape(-1)
    sh = np.asarray(shifts, dtype=np.int64).reshape(-1)
    if m.size == 1:
        m, sh = np.repeat(m, oc), np.repeat(sh, oc)
    if np.any(m < 0) or np.any(sh < -31) or np.any(sh > 30):
        return "a negative multiplier or a shift outside [-31, 30]"
    ls, e = np.maximum(sh, 0), np.maximum(-sh, 0)
    b = np.zeros(oc, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b + np.int64(input_offset) * w64.sum(axis=1)
    bound = (np.abs(folded) + 128 * np.abs(w64).sum(axis=1)) << ls
    if np.any(bound >= INT32_LIMIT):
        return "the accumulator bound (shifted left) is not below 2^31"
    h_bound = ((bound * m) >> 31) + 1
    if np.any(h_bound + 1 + abs(out_zp) >= INT32_LIMIT):
        return "the rounding fix-up or the zero point would overflow int32"
    bias4 = np.zeros(padded(oc, OCB), dtype=np.int32)
    bias4[:oc] = folded
    with_ls = bool(np.any(ls > 0))
    return Mm8Prep(words=pack_w8(w64.astype(np.int8)), bias2=bias4, rq=records(m, e, ls, out_zp, with_ls),
                   e_pos=int(bool(np.all(e >= 1))), ls=int(with_ls))


def requant(acc: np.ndarray, rq: np.ndarray, with_ls: int, e_pos: int, act_min: int, act_max: int) -> np.ndarray:
    """``edgegen_mm8_rqv`` on accumulators [..., OC4] (bias included) with the block records."""
    r = rq.astype(np.int64).reshape(-1, 4 if with_ls else 3, OCB).transpose(1, 0, 2).reshape(4 if with_ls else 3, -1)
    m, ne, zp = r[0], r[1], r[2]
    a = acc.astype(np.int64) << (r[3] if with_ls else 0)
    assert np.all(np.abs(a) < INT32_LIMIT), "the shifted accumulator bound proof failed"
    h = (2 * a * m + (np.int64(1) << 31)) >> 32  # VQRDMULH, m >= 0
    h = h + (h >> 31 if e_pos else (h & ne) >> 31)
    e = -ne
    v = np.where(e > 0, (h + (np.int64(1) << np.maximum(e - 1, 0))) >> e, h) + zp  # VRSHL by -e
    assert np.all(np.abs(v) < INT32_LIMIT), "the zero point proof failed"
    out: np.ndarray = np.clip(v, act_min, act_max).astype(np.int8)
    return out


def matmul8(x: np.ndarray, words: np.ndarray, bias2: np.ndarray, rq: np.ndarray, k: int, oc: int, with_ls: int,
            e_pos: int, act: tuple[int, int]) -> np.ndarray:
    """Rows ``x`` [N, K] through the kernel's arithmetic: [N, OC] int8."""
    ws = unpack_w8(words, k, oc)
    acc = bias2.astype(np.int64) + x.astype(np.int64) @ ws[:, :k].T
    assert np.all(np.abs(acc) < INT32_LIMIT), "the accumulator bound proof failed"
    return requant(acc, rq, with_ls, e_pos, act[0], act[1])[:, :oc]


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef,
              input_offset: int, mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int],
              npix: int) -> bool:
    """Lower ``op`` to the Helium matmul kernel when the mode, the proofs and the flash allow it;
    else record why and return False (the caller emits the CMSIS-NN call)."""
    oc, k = w.shape
    got = admit(lw, op, KERNEL, "edgegen_mm8_s8", lambda: prepare(w, bias, input_offset, mults, shifts, out_zp),
                cmsis_nn_bytes(k * oc, oc, bias=bias is not None, per_channel=np.size(mults) > 1),
                wider="int8 weights padded to 16-byte chunks", weights_role="w8", weights_ctype="int8_t")
    if got is None:
        return False
    prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, npix * oc * k)
    lw.calls.append(MatmulMveCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq, k=k, oc=oc,  # type: ignore[arg-type]
                                  npix=npix, act_min=act[0], act_max=act[1], e_pos=prep.e_pos, ls=prep.ls))
    return True


def run_mm8(mach: Machine, call: Call) -> None:
    """The kernel from its folded constants, in int64 (exact), as the C computes it."""
    assert isinstance(call, MatmulMveCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    x = mach.read(call.inputs[0]).reshape(call.npix, call.k)
    mach.write(call.output, matmul8(x, words, bias2, rq, call.k, call.oc, call.ls, call.e_pos,
                                    (call.act_min, call.act_max)))
