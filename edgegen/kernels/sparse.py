"""Compressed weights for CONV_2D and FULLY_CONNECTED (issue 17): block-sparse and shared (4-bit
codebook) storage chosen per layer from the int8 weights, their proofs, call and simulator kernel
(the C is ``firmware/edgegen/edgegen_sp.h``; the design docs/kernel-design.md, "Compressed weights").

A block is BLOCK (4) consecutive int8 weights of one output channel along the flattened reduction
axis K (CONV_2D OHWI: the (kh, kw, cin) order; FULLY_CONNECTED: ``in``); a partial last block is
zero-padded. Formats (the .tflite keeps the dense int8 values: TFLM stays the oracle):

* ``block8``: per channel the count of stored blocks (``nb``, uint16), per stored block a uint8
  delta (block index minus the previous stored block's index, the first from 0; a gap above 255 is
  bridged by an all-zero filler block) and its 4 int8 weights. The kernel runs only stored blocks.
* ``shared4``: every block stored, each weight a 4-bit index into its channel's 16-entry int8
  codebook (``book``, [OC, 16]); the nibbles of a block are ``(k0 | k2 << 4, k1 | k3 << 4)``, the
  pairs SXTB16 gives from 4 input bytes.
* ``block4``: both (the stored blocks' weights as 4-bit indices).

The products and int32 sums are the dense kernel's (same int8 values, zero blocks contribute 0), so
exactness is by construction; the bounds are matmul's (edgegen/kernels/matmul.py): per channel
``s * (|bias'| + 128 * sum|w|) < 2**31`` bounds every partial sum of ``acc`` (times s) and
``acc2 = bias2 + (acc << sl)`` (``s = 2**sl = 2 * 2**left_shift``), so the requantization is
matmul's ``{m, c, e}`` records (here ``{m, c, e, sl}``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import compression
from ..machine import Machine
from ..program import Call, TensorRef
from . import entropy, matmul
from .admit import admit_tables, cmsis_nn_bytes
from .window import Geometry, gather

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

BLOCK = 4
MODES = ("auto", "on", "off")
#: a test hook (not a CLI choice): each layer gets FORMATS[op index % 3] (with HELIUM, % 4, on Helium CPUs)
#: where it applies, block8 elsewhere,
#: whatever the bytes and the estimate, so one model exercises every format
CYCLE = "cycle"
DEFAULT_MODE = "auto"
FORMATS = ("block8", "shared4", "block4")
#: Helium CPUs' block-sparse 8-bit format (``edgegen_spv_s8``): per channel its non-zero blocks padded with
#: all-zero blocks at index 0 to a multiple of 4, each block's absolute index as uint16 (gathered 4 at a time)
HELIUM = "block8v"
#: instructions of edgegen_spv_s8 per row on qemu-m55 (fitted to the Fashion-MNIST block80 model's four
#: layers): per 4 stored blocks of a channel (4 rows at a time / one), per channel (the loop and the
#: vector requantization) and per block of K (gathering or copying the row)
PER_QUAD_V = {True: 3.0, False: 5.0}
PER_CHANNEL_V = 11.6
COPY_V = 5.5
#: ``auto``'s margin for HELIUM: the dense Helium CONV_2D runs 17-20 % below its DENSE estimate (the
#: block80 convs 3x3: 808 and 1,409 instructions a row against 1,011 and 1,702 estimated)
MARGIN_V = 0.8
#: the widened input rows (2 words per block, 4 rows interleaved) live on the layer function's stack:
#: at most this many bytes (K <= 512, or 2048 for a single row; boards have 8 KiB of stack)
MAX_XW = 4096
#: instruction estimates of one row (pixel), from qemu-m4 runs of bench/compression_core.py
#: (docs/kernel-design.md, "Compressed weights"): the dense DSP kernel per (block, channel) and per
#: channel; the Helium one (16-byte chunks, 2 rows x 4 channels per VMLADAVA block); the compressed
#: kernel per stored block (8-bit or 4-bit weights; 4 rows share a block's decoding, a single row does
#: not) and per channel (the requantization), and widening the row per block of K
DENSE = {"dsp": (3.7, 12.0), "none": (3.7, 12.0), "mve": (0.6, 10.0)}
PER_BLOCK = {(8, True): 4.6, (4, True): 6.75, (8, False): 9.6, (4, False): 16.8}
PER_CHANNEL = 12.0
WIDEN = 5.0
#: ``auto`` takes a compressed format only when its estimate is this much below the dense one: the
#: estimates are within a few percent of the measurements (a 4-bit FULLY_CONNECTED 64 layer at 80 %
#: sparsity, estimated 0.01 % faster than dense, measured 0.9 % slower)
MARGIN = 0.97


@dataclass(frozen=True)
class SparseCall(Call):
    """``edgegen_sp_s8`` (or ``_portable``): rows (or gathered windows) x compressed weights."""

    KIND: ClassVar[str] = "sparse"
    HEADER: ClassVar[str | None] = "edgegen_sp.h"
    fmt: str
    vals: str  # int8 weights (bits 8) or uint8 nibble pairs (bits 4) of the stored blocks
    deltas: str  # uint8 block deltas ("NULL" for shared4)
    nb: str  # uint16 stored blocks per channel ("NULL" for shared4)
    book: str  # int8 [OC, 16] codebooks ("NULL" for block8)
    bias2: str
    rq: str  # per channel {m, c, e, sl}
    bits: int
    idx: int
    k: int
    oc: int
    npix: int  # rows (gather 0) or output pixels (gather 1)
    act_min: int
    act_max: int
    e_pos: int
    gather: int  # 1: CONV_2D windows gathered (the geometry below), 0: NPIX rows of K bytes
    ih: int = 1
    iw: int = 1
    c: int = 1
    kh: int = 1
    kw: int = 1
    oh: int = 1
    ow: int = 1
    sh: int = 1
    sw: int = 1
    pad_t: int = 0
    pad_l: int = 0
    zp: int = 0
    zo: int = 0  # the output zero point added after the shift (0: folded into the rounding constants)
    #: --entropy-code: the values / deltas kept Huffman-coded in flash and decoded into the call's
    #: scratch before the kernel runs (vals / deltas are then "NULL"); the decoder's table at table_at
    ev: entropy.Stream | None = None
    ed: entropy.Stream | None = None
    table_at: int = 0

    @property
    def xw_words(self) -> int:
        return xw_words(self.k, self.npix)


def xw_words(k: int, npix: int) -> int:
    """The widened rows' words: 2 per block of K per row, 4 rows interleaved unless there is one."""
    return (8 if npix > 1 else 2) * -(-k // BLOCK)


@dataclass(frozen=True)
class SparsePrep:
    fmt: str
    vals: np.ndarray
    deltas: np.ndarray
    nb: np.ndarray
    book: np.ndarray
    bias2: np.ndarray
    rq: np.ndarray
    e_pos: int
    zo: int = 0

    @property
    def weight_bytes(self) -> int:
        """What the weights take in flash: values or indices, block deltas, counts and codebooks."""
        return int(self.vals.nbytes + self.deltas.nbytes + self.nb.nbytes + self.book.nbytes)

    @property
    def nbytes(self) -> int:
        return int(self.weight_bytes + self.bias2.nbytes + self.rq.nbytes)


@dataclass(frozen=True)
class Choice:
    """A layer's storage: the format (``dense`` or one of FORMATS), its weight bytes, the dense int8
    bytes, the estimated instructions per row of both, and the Huffman-coded bytes of its symbols."""

    fmt: str
    bytes: int
    dense_bytes: int
    estimate: float
    dense_estimate: float
    huffman_bytes: int


def blocks(w: np.ndarray) -> np.ndarray:
    """``w`` [OC, K] as [OC, K4, 4] int64, the last block zero-padded."""
    oc, k = w.shape
    k4 = -(-k // BLOCK)
    out = np.zeros((oc, k4 * BLOCK), dtype=np.int64)
    out[:, :k] = w
    return out.reshape(oc, k4, BLOCK)


def stored(nz: np.ndarray) -> list[list[int]]:
    """Per channel the stored block indices: the non-zero blocks plus the fillers that keep every
    delta within a byte."""
    rows = []
    for row in nz:
        idx: list[int] = []
        prev = 0
        for q in np.flatnonzero(row).tolist():
            while q - prev > 255:
                prev += 255
                idx.append(prev)
            idx.append(q)
            prev = q
        rows.append(idx)
    return rows


def codebooks(w: np.ndarray) -> np.ndarray | None:
    """[OC, 16] int8 codebooks (each channel's distinct values, ascending, the last repeated), or None when
    a channel has more than 16 distinct values."""
    books = np.zeros((w.shape[0], 16), dtype=np.int64)
    for j, row in enumerate(w):
        u = np.unique(row)
        if u.size > 16:
            return None
        books[j, : u.size] = u
        books[j, u.size :] = u[-1] if u.size else 0  # ascending throughout, for searchsorted
    return books


def huffman_bits(symbols: np.ndarray) -> int:
    """Bits of ``symbols`` Huffman-coded with their own code (the code table not counted)."""
    _, counts = np.unique(symbols, return_counts=True)
    return compression.huffman_bits(counts)


def encode(w: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(vals, deltas, nb, book)`` of ``w`` [OC, K] int8 in ``fmt`` (empty arrays where the format has
    none; ``book`` needs <= 16 distinct values per channel; HELIUM: ``deltas`` are the uint16 indices)."""
    bl = blocks(w)
    oc, k4, _ = bl.shape
    if fmt == HELIUM:
        rows = [np.flatnonzero(r).tolist() for r in np.any(bl != 0, axis=2)]
        pads = [-len(r) % 4 for r in rows]
        sel = [np.concatenate([bl[j, r].reshape(-1, BLOCK), np.zeros((p, BLOCK), np.int64)]) for j, (r, p)
               in enumerate(zip(rows, pads, strict=True))]
        return (np.concatenate(sel).astype(np.int8).reshape(-1),
                np.asarray([q for r, p in zip(rows, pads, strict=True) for q in [*r, *([0] * p)]], dtype=np.uint16),
                np.asarray([len(r) + p for r, p in zip(rows, pads, strict=True)], dtype=np.uint16),
                np.zeros(0, dtype=np.int8))
    idx = fmt != "shared4"
    bits = 8 if fmt == "block8" else 4
    rows = stored(np.any(bl != 0, axis=2)) if idx else [list(range(k4))] * oc
    sel = [bl[j, r] for j, r in enumerate(rows)]
    flat = np.concatenate(sel) if any(len(r) for r in rows) else np.zeros((0, BLOCK), dtype=np.int64)
    deltas = np.concatenate([np.diff(np.asarray([0, *r])) for r in rows]).astype(np.uint8) if idx \
        else np.zeros(0, dtype=np.uint8)
    nb = np.asarray([len(r) for r in rows], dtype=np.uint16) if idx else np.zeros(0, dtype=np.uint16)
    if bits == 8:
        return flat.astype(np.int8).reshape(-1), deltas, nb, np.zeros(0, dtype=np.int8)
    books = codebooks(w)
    assert books is not None
    owner = np.concatenate([np.full(len(r), j) for j, r in enumerate(rows)]).astype(np.int64) if len(flat) \
        else np.zeros(0, dtype=np.int64)
    code = np.zeros(flat.shape, dtype=np.int64)
    for j in range(oc):
        sel_j = owner == j
        code[sel_j] = np.searchsorted(books[j], flat[sel_j])
    pairs = np.stack([code[:, 0] | code[:, 2] << 4, code[:, 1] | code[:, 3] << 4], axis=1)
    return pairs.astype(np.uint8).reshape(-1), deltas, nb, books.astype(np.int8).reshape(-1)


def decode(vals: np.ndarray, deltas: np.ndarray, nb: np.ndarray, book: np.ndarray, fmt: str, k: int,
           oc: int) -> np.ndarray:
    """The inverse of :func:`encode`, reading the packed arrays as the C does: [OC, K4*4] int64."""
    k4 = -(-k // BLOCK)
    out = np.zeros((oc, k4, BLOCK), dtype=np.int64)
    idx = fmt != "shared4"
    counts = nb.astype(np.int64) if idx else np.full(oc, k4, dtype=np.int64)
    total = int(counts.sum())  # an empty layer's arrays hold one unused element (C has no empty arrays)
    if fmt in ("block8", HELIUM):
        v = vals[: BLOCK * total].astype(np.int64).reshape(-1, BLOCK)
    else:
        u = vals[: 2 * total].astype(np.int64).reshape(-1, 2)
        v = np.stack([u[:, 0] & 15, u[:, 1] & 15, u[:, 0] >> 4, u[:, 1] >> 4], axis=1)  # k0, k1, k2, k3
    bk = book.astype(np.int64).reshape(oc, 16) if fmt in ("shared4", "block4") else None
    pos = 0
    for j in range(oc):
        n = int(counts[j])
        d = deltas[pos : pos + n].astype(np.int64)
        q = d if fmt == HELIUM else np.cumsum(d) if idx else np.arange(n)
        rows = v[pos : pos + n]
        # summed: HELIUM's padding blocks (all zero) repeat index 0; other formats' indices are distinct
        np.add.at(out[j], q, bk[j][rows] if bk is not None else rows)
        pos += n
    return out.reshape(oc, k4 * BLOCK)


def estimate(nblk: int, oc: int, k4: int, bits: int, npix: int) -> float:
    """Instructions of the compressed kernel per row: ``nblk`` stored blocks over ``oc`` channels."""
    return PER_BLOCK[(bits, npix >= 4)] * nblk + PER_CHANNEL * oc + WIDEN * k4


def choose(w: np.ndarray, cpu: str, mode: str, npix: int = 1) -> Choice:
    """The format of one layer's weights ``w`` [OC, K] int8 run on ``npix`` rows: the smallest of the
    formats that apply; under ``auto`` only where it is also estimated faster than the dense kernel on
    ``cpu`` (by MARGIN)."""
    oc, k = w.shape
    k4 = -(-k // BLOCK)
    per_block, per_channel = DENSE.get(cpu, DENSE["dsp"])
    dense_est = per_block * oc * k4 + per_channel * oc
    bl = blocks(w)
    nblk = sum(len(r) for r in stored(np.any(bl != 0, axis=2)))
    shared = codebooks(w) is not None
    cands = [("block8", 5 * nblk + 2 * oc, estimate(nblk, oc, k4, 8, npix))]
    if cpu == "mve" and k4 < 1 << 16:
        quads = int(sum(-(-int(n) // 4) for n in np.any(bl != 0, axis=2).sum(axis=1)))
        cands.append((HELIUM, 24 * quads + 2 * oc, PER_QUAD_V[npix >= 4] * quads + PER_CHANNEL_V * oc + COPY_V * k4))
    if shared:
        cands += [("shared4", 2 * oc * k4 + 16 * oc, estimate(oc * k4, oc, k4, 4, npix)),
                  ("block4", 3 * nblk + 2 * oc + 16 * oc, estimate(nblk, oc, k4, 4, npix))]
    best = ("dense", oc * k, dense_est)
    if mode != "off":
        for c in cands:
            if c[1] < best[1] and (mode == "on" or c[2] <= (MARGIN_V if c[0] == HELIUM else MARGIN) * dense_est):
                best = c
    fmt, size, est = best
    if fmt == "dense":
        huff = huffman_bits(w.reshape(-1))
    else:
        vals, deltas, _, _ = encode(w, fmt)
        sym = vals if fmt in ("block8", HELIUM) else np.concatenate([vals & 15, vals >> 4])
        deltas = deltas.view(np.uint8)
        huff = huffman_bits(sym) + (huffman_bits(deltas) if deltas.size else 0) + 8 * (size - vals.nbytes
                                                                                       - deltas.nbytes)
    return Choice(fmt=fmt, bytes=size, dense_bytes=oc * k, estimate=est, dense_estimate=dense_est,
                  huffman_bytes=-(-huff // 8))


def prepare(w: np.ndarray, fmt: str, bias: np.ndarray | None, input_offset: int, mults: np.ndarray,
            shifts: np.ndarray, out_zp: int) -> SparsePrep | str:
    """The compressed constants of one layer, or why they cannot be proven exact (matmul's proofs)."""
    w64 = np.asarray(w, dtype=np.int64)
    oc, _k = w64.shape
    sc = matmul.scales(mults, shifts, oc)
    if isinstance(sc, str):
        return sc
    m, e, s = sc
    b = np.zeros(oc, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b + np.int64(input_offset) * w64.sum(axis=1)
    bound = s * (np.abs(folded) + 128 * np.abs(w64).sum(axis=1))
    rq = records(m, e, out_zp, bound)
    if isinstance(rq, str):
        return rq
    sl = np.log2(s).astype(np.int64)
    rq4 = np.concatenate([rq[0].reshape(oc, 3), sl[:, None]], axis=1).reshape(-1).astype(np.int32)
    vals, deltas, nb, book = encode(w64, fmt)
    return SparsePrep(fmt=fmt, vals=vals, deltas=deltas, nb=nb, book=book, bias2=(s * folded).astype(np.int32),
                      rq=rq4, e_pos=rq[1], zo=rq[2])


def records(m: np.ndarray, e: np.ndarray, out_zp: int, bound: np.ndarray) -> tuple[np.ndarray, int, int] | str:
    """matmul's ``{m, c, e}`` records, e_pos and ``zo``: the output zero point folded into ``c`` (``zo`` 0);
    where that would overflow int32 (large shifts ``e`` with a zero point far from 0, e.g. a
    FULLY_CONNECTED over a long row), ``c`` keeps the rounding constant alone and the kernel adds
    ``zo = out_zp`` after the shift: ``((h + rnd + fix) >> e) + zp == (h + rnd + zp * 2**e + fix) >> e``
    exactly (``zp * 2**e`` is a multiple of ``2**e``). Proof, per channel: ``|h| + |rnd| + 1 + 128 < 2**31``
    bounds both the sum before the shift and the shifted value plus the zero point."""
    folded = matmul.requant_records(m, e, out_zp, bound)
    if not isinstance(folded, str):
        return folded[0], folded[1], 0
    if out_zp == 0 or np.any(bound >= matmul.INT32_LIMIT):
        return folded
    rnd = np.where(e > 0, np.int64(1) << np.maximum(e - 1, 0), 0)
    h_bound = ((bound // 2) * m >> 31) + 1
    if np.any(h_bound + rnd + 1 + 128 >= matmul.INT32_LIMIT):
        return "the requantized sum plus the output zero point would overflow int32"
    plain = matmul.requant_records(m, e, 0, bound)
    assert not isinstance(plain, str)
    return plain[0], plain[1], int(out_zp)


def _const(lw: Lowering, op: ir.Op, role: str, ctype: str, data: np.ndarray, used: bool) -> str:
    """A constant of the format, or NULL where the format has none; an empty array gets one zero
    element (C has no empty arrays)."""
    if not used:
        return "NULL"
    return lw.const(role, ctype, data if data.size else np.zeros(1, dtype=data.dtype), op)


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef,
              input_offset: int, mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int],
              npix: int = 1, geo: Geometry | None = None) -> bool:
    """Lower ``op`` (``w`` [OC, K] int8; ``geo`` for a general CONV_2D, else NPIX rows) to the
    compressed kernel when ``--compress`` picks a format for it and matmul's proofs hold; else False
    (the dense kernels or the CMSIS-NN call take it). Records the layer's choice for the report."""
    oc, k = w.shape
    pixels = npix if geo is None else geo.oh * geo.ow
    # --kernels cmsis-nn: the CMSIS-NN calls read dense int8 weights
    choice = choose(w, lw.kernels.cpu, "off" if lw.kernels.mode == "cmsis-nn" else lw.kernels.compress, pixels)
    if lw.kernels.compress == CYCLE and lw.kernels.mode != "cmsis-nn":
        cycle = (*FORMATS, HELIUM) if lw.kernels.cpu == "mve" else FORMATS
        fmt = cycle[op.index % len(cycle)]
        fmt = "block8" if fmt in ("shared4", "block4") and codebooks(w) is None else fmt
        vals, deltas, nb, book = encode(w, fmt)
        choice = replace(choice, fmt=fmt, bytes=int(vals.nbytes + deltas.nbytes + nb.nbytes + book.nbytes))
    if xw_words(k, pixels) * 4 > MAX_XW and choice.fmt != "dense":
        choice = choose(w, lw.kernels.cpu, "off", pixels)
    lw.weight_choices[op.index] = choice
    if choice.fmt == "dense":
        return False
    got = admit_tables(lw, op, matmul.KERNEL, "edgegen_spv_s8" if choice.fmt == HELIUM else "edgegen_sp_s8",
                       lambda: prepare(w, choice.fmt, bias, input_offset, mults, shifts, out_zp),
                       cmsis_nn_bytes(k * oc, oc, bias=bias is not None, per_channel=np.size(mults) > 1),
                       wider="compressed weights")
    if got is None:
        lw.weight_choices[op.index] = choose(w, lw.kernels.cpu, "off", pixels)
        return False
    prep, function = got
    idx, bits = int(choice.fmt != "shared4"), 8 if choice.fmt in ("block8", HELIUM) else 4
    helium = choice.fmt == HELIUM
    # HELIUM's uint16 indices stay plain (the template's decoded deltas are bytes)
    streams = (("sp_vals", prep.vals), ("sp_deltas", prep.deltas if not helium else np.zeros(0, np.uint8)))
    (ev, ed), table_at, scratch = entropy.plan(lw, op, streams, lw.kernels.entropy) \
        if lw.kernels.entropy != "off" else ((None, None), 0, 0)
    names = dict(vals=_const(lw, op, "sp_vals", "int8_t" if bits == 8 else "uint8_t", prep.vals, ev is None),
                 deltas=_const(lw, op, "sp_deltas", "uint16_t" if helium else "uint8_t", prep.deltas,
                               bool(idx) and ed is None),
                 nb=_const(lw, op, "sp_nb", "uint16_t", prep.nb, bool(idx)),
                 book=_const(lw, op, "sp_book", "int8_t", prep.book, bits == 4),
                 bias2=lw.const("bias2", "int32_t", prep.bias2, op), rq=lw.const("rq", "int32_t", prep.rq, op))
    base = lw.base(op, function, (x,), lw.out_ref(op), scratch, pixels * oc * k)
    where: dict[str, int] = {} if geo is None else dict(
        ih=geo.ih, iw=geo.iw, c=geo.c, kh=geo.kh, kw=geo.kw, oh=geo.oh, ow=geo.ow, sh=geo.sh, sw=geo.sw,
        pad_t=geo.pad_t, pad_l=geo.pad_l, zp=-input_offset)
    lw.calls.append(SparseCall(**base, **names, fmt=choice.fmt, bits=bits, idx=idx, k=k, oc=oc,  # type: ignore[arg-type]
                               npix=pixels, act_min=act[0], act_max=act[1], e_pos=prep.e_pos,
                               gather=int(geo is not None), zo=prep.zo, ev=ev, ed=ed, table_at=table_at,
                               **where))  # type: ignore[arg-type]
    return True


def run_sparse(mach: Machine, call: Call) -> None:
    """The kernel from its packed arrays, in int64 (exact), as the C computes it."""
    assert isinstance(call, SparseCall)

    def get(name: str, dtype: type, coded: entropy.Stream | None = None) -> np.ndarray:
        if coded is not None:  # decoded as the C decodes it into the scratch
            return entropy.decode(get(coded.code, np.uint8), get(coded.counts, np.uint16), get(coded.syms, np.uint8),
                                  coded.l, coded.n).view(dtype)
        got = mach.const(None if name == "NULL" else name)
        return np.zeros(0, dtype=dtype) if got is None else got
    ws = decode(get(call.vals, np.int8 if call.bits == 8 else np.uint8, call.ev),
                get(call.deltas, np.uint16 if call.fmt == HELIUM else np.uint8, call.ed),
                get(call.nb, np.uint16),
                get(call.book, np.int8), call.fmt, call.k, call.oc)[:, : call.k]
    bias2, rq = get(call.bias2, np.int32).astype(np.int64), get(call.rq, np.int32).astype(np.int64).reshape(-1, 4)
    x = mach.read(call.inputs[0])
    if call.gather:
        cols = gather(x, Geometry(ih=call.ih, iw=call.iw, c=call.c, kh=call.kh, kw=call.kw, oh=call.oh, ow=call.ow,
                                  sh=call.sh, sw=call.sw, pad_t=call.pad_t, pad_l=call.pad_l), call.zp)
    else:
        cols = x.reshape(call.npix, call.k).astype(np.int64)
    acc = cols @ ws.T
    assert np.all(np.abs(acc << rq[:, 3]) < matmul.INT32_LIMIT), "the accumulator bound proof failed"
    acc2 = bias2 + (acc << rq[:, 3])
    assert np.all(np.abs(acc2) < matmul.INT32_LIMIT), "the accumulator bound proof failed"
    mach.write(call.output, matmul.requant2(acc2, rq[:, :3].reshape(-1), call.e_pos, call.act_min, call.act_max,
                                            call.zo))
