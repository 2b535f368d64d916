"""Entropy-coded weight streams in flash (issue 17, item 4): a compressed layer's byte streams (the
stored values or 4-bit index pairs, and the block deltas) kept canonical-Huffman-coded in flash and
decoded into the layer's scratch buffer in the arena just before the layer runs (C:
``edgegen_sp_huff`` in firmware/edgegen/edgegen_sp.h; the choice and the call: edgegen/kernels/sparse.py).

The code: one canonical Huffman code per stream over its bytes (alphabet 0..255), lengths limited to
LMAX bits (the counts halved until the longest code fits; still a prefix code, a little less than
optimal), written MSB first with PAD zero bytes after the last code so that the decoder's 16-bit refills
never read past the array. Flash holds the bits, the number of codes of each length 1..L (uint16) and
the symbols in canonical order (by length, then value). The decoder builds a 2**L-entry table in the
scratch buffer (canonical codes are consecutive when left-justified to L bits, so the table is filled
in one pass: each symbol's entry ``sym | len << 8`` repeated ``2**(L - len)`` times), then per symbol
peeks L bits, looks the entry up and consumes its length. A single-symbol stream gets a 1-bit code.
Lossless: the decoded bytes are the plain stream's, so the kernel, TFLM parity and the simulator's
arithmetic are unchanged; :func:`decode` mirrors the C step by step.
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

#: longest code: the decoder's table is 2**LMAX uint16 entries at most (2 KiB of scratch)
LMAX = 10
#: zero bytes after the last code: the decoder refills 16 bits when it holds fewer than L <= 10, so its
#: reads end before the last code's end + L - 1 + 16 bits, within 3 bytes after the last code's byte
PAD = 3
#: ``--entropy-code`` choices: auto (only when the build would not fit the board's flash otherwise)
MODES = ("auto", "on", "off")
#: instructions of the C decoder on qemu-m4, fitted to the Fashion-MNIST block80 + 4-bit model's
#: layers (``--entropy-code on`` against ``off``: 3,600, 7,440 and 187,000 more): per decoded byte and
#: per table entry built
PER_SYMBOL = 11.9
PER_ENTRY = 4.3
#: the resolved choices (KernelConfig.entropy): "on" codes every stream that coding makes smaller; "cheap"
#: (``--entropy-code auto``'s first try) only streams it makes at least CHEAP times smaller, whose decode
#: buys the most flash per instruction (a Dense layer's deltas: 58 % saved; its 4-bit index pairs, 5 %)
CHEAP = 0.75


@dataclass(frozen=True)
class Coded:
    """One stream Huffman-coded: ``bits`` (with PAD), ``counts`` [L] (codes of length 1..L), ``syms``
    (canonical order), ``n`` symbols, ``l`` the table's index bits."""

    bits: np.ndarray
    counts: np.ndarray
    syms: np.ndarray
    n: int
    l: int  # noqa: E741 (the code's length bound, as in the C)

    @property
    def flash_bytes(self) -> int:
        return int(self.bits.nbytes + self.counts.nbytes + self.syms.nbytes)

def lengths(counts: np.ndarray, lmax: int = LMAX) -> np.ndarray:
    """Huffman code lengths of symbols occurring ``counts`` times (0: unused), none above ``lmax``: a
    single used symbol gets length 1; while the longest code is too long the counts are halved
    (rounding up, so no used symbol drops out)."""
    c = np.asarray(counts, dtype=np.int64).copy()
    used = np.flatnonzero(c > 0)
    out = np.zeros(c.size, dtype=np.int64)
    if used.size == 1:
        out[used] = 1
        return out
    while used.size:
        heap = [(int(c[s]), i, [int(s)]) for i, s in enumerate(used)]
        heapq.heapify(heap)
        out[:] = 0
        tie = len(heap)
        while len(heap) > 1:
            a, b = heapq.heappop(heap), heapq.heappop(heap)
            for s in a[2] + b[2]:
                out[s] += 1
            heapq.heappush(heap, (a[0] + b[0], tie, a[2] + b[2]))
            tie += 1
        if out.max() <= lmax:
            break
        c[used] = (c[used] + 1) >> 1
    return out


def _canonical(lens: np.ndarray) -> list[tuple[int, int, int]]:
    """(symbol, length, code) in canonical order."""
    order = sorted((int(lens[s]), int(s)) for s in np.flatnonzero(lens))
    out, code, prev = [], 0, order[0][0] if order else 0
    for length, s in order:
        code <<= length - prev
        out.append((s, length, code))
        code += 1
        prev = length
    return out


def encode(stream: np.ndarray) -> Coded:
    """``stream`` (bytes, any 8-bit dtype) coded."""
    data = np.asarray(stream).view(np.uint8).reshape(-1)
    lens = lengths(np.bincount(data, minlength=256))
    canon = _canonical(lens)
    table = {s: (length, code) for s, length, code in canon}
    l_max = max((length for _, length, _ in canon), default=1)
    out = bytearray()
    acc, nbits = 0, 0
    for b in data.tolist():
        length, code = table[b]
        acc = (acc << length) | code
        nbits += length
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    out += bytes(PAD)
    counts = np.bincount(lens[lens > 0], minlength=l_max + 1)[1:].astype(np.uint16)
    return Coded(bits=np.frombuffer(bytes(out), np.uint8).copy(), counts=counts,
                 syms=np.asarray([s for s, _, _ in canon], dtype=np.uint8), n=int(data.size), l=l_max)


def build_table(counts: np.ndarray, syms: np.ndarray, l: int) -> np.ndarray:  # noqa: E741
    """The decoder's table as the C fills it (entries past the codes are never read: left 0)."""
    table = np.zeros(1 << l, dtype=np.int64)
    pos, s = 0, 0
    for length in range(1, l + 1):
        reps = 1 << (l - length)
        for _ in range(int(counts[length - 1])):
            table[pos : pos + reps] = int(syms[s]) | length << 8
            pos += reps
            s += 1
    return table


def decode(bits: np.ndarray, counts: np.ndarray, syms: np.ndarray, l: int, n: int) -> np.ndarray:  # noqa: E741
    """``n`` bytes decoded as ``edgegen_sp_huff`` does: refill 16 bits when fewer than L are held, peek,
    look up, consume. (Memoized on the arrays' bytes: the simulator decodes a layer's constants once per
    sample.)"""
    return np.frombuffer(_decode(np.asarray(bits, np.uint8).tobytes(), np.asarray(counts, np.uint16).tobytes(),
                                 np.asarray(syms, np.uint8).tobytes(), l, n), np.uint8).copy()


@functools.lru_cache(maxsize=64)
def _decode(bits_b: bytes, counts_b: bytes, syms_b: bytes, l: int, n: int) -> bytes:  # noqa: E741
    counts = np.frombuffer(counts_b, np.uint16)
    table = build_table(counts, np.frombuffer(syms_b, np.uint8), l).tolist()
    src = list(bits_b)
    out = np.zeros(n, dtype=np.uint8)
    acc, nbits, at, mask = 0, 0, 0, (1 << l) - 1
    for i in range(n):
        if nbits < l:
            acc = ((acc << 16) | src[at] << 8 | src[at + 1]) & 0xFFFFFFFF
            at += 2
            nbits += 16
        e = table[(acc >> (nbits - l)) & mask]
        out[i] = e & 0xFF
        nbits -= e >> 8
    return out.tobytes()


@dataclass(frozen=True)
class Stream:
    """A coded stream of a compressed call: its constants (bits, counts, syms), L, the byte count,
    where it decodes to in the call's scratch, and its plain and coded flash bytes."""

    code: str
    counts: str
    syms: str
    l: int  # noqa: E741
    n: int
    at: int
    plain: int
    flash: int

    @property
    def decode_instructions(self) -> int:
        return int(PER_SYMBOL * self.n + PER_ENTRY * (1 << self.l))


def plan(lw: Lowering, op: ir.Op, streams: tuple[tuple[str, np.ndarray], ...],
         mode: str) -> tuple[tuple[Stream | None, ...], int, int]:
    """The coded streams of a layer (None where coding would not make the stream's flash smaller, by
    CHEAP under ``mode`` "cheap", or it is empty), the table's offset in the scratch and the scratch
    bytes (decoded streams, 4-byte aligned, then the table; 0 when nothing is coded)."""
    out: list[Stream | None] = []
    at, l_max = 0, 0
    for role, data in streams:
        if data.size == 0:
            out.append(None)
            continue
        c = encode(data)
        if c.flash_bytes >= (CHEAP if mode == "cheap" else 1.0) * data.nbytes:
            out.append(None)
            continue
        out.append(Stream(code=lw.const(f"{role}_huff", "uint8_t", c.bits, op),
                          counts=lw.const(f"{role}_huff_counts", "uint16_t", c.counts, op),
                          syms=lw.const(f"{role}_huff_syms", "uint8_t", c.syms, op), l=c.l, n=c.n, at=at,
                          plain=int(data.nbytes), flash=c.flash_bytes))
        at += -(-c.n // 4) * 4
        l_max = max(l_max, c.l)
    if l_max == 0:
        return tuple(out), 0, 0
    return tuple(out), at, at + (2 << l_max)
