"""What the int8 weights of a model hold for compression, read from the graph alone (no Keras).

Per layer with an int8 weight tensor (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ...): zeros,
all-zero blocks of :data:`BLOCK` weights along each output channel's reduction axis (the layout
contract with the sparse formats: TFLite's OHWI / [out, in] rows), the largest number of distinct
int8 values in one output channel (weight sharing leaves at most 2**bits), and what Huffman coding
of the weights' indices would take (Deep Compression's third stage), as an estimate to put next
to the stored formats the core chooses.

Huffman figure: one code per layer over the whole dense stream of weights (zeros included: a
sparse layer's zero gets the shortest code), plus one byte per symbol used for the code lengths
that rebuild the canonical code (and a 32-byte bitmap of the int8 values used); the symbols are
the int8 values, or, when every channel holds at most :data:`SHARED_MAX` distinct values (weight
sharing), the channel-local codebook indices with the codebooks (one int8 value per index per
channel) added, whichever is smaller.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .ir import Graph

#: weights per block, as in edgegen.keras.prune_block
BLOCK = 4
#: at most this many distinct values per channel count as weight sharing (4-bit indices)
SHARED_MAX = 16


@dataclass(frozen=True)
class LayerWeights:
    op: int
    kind: str
    tensor: str
    channels: int
    weights: int
    dense_bytes: int
    zeros: int
    blocks: int
    zero_blocks: int
    #: the largest number of distinct int8 values in one output channel, and the index bits it needs
    distinct: int
    index_bits: int
    #: Huffman-coded indices (or int8 values) with their code table and codebooks, in bytes
    huffman_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def huffman_bits(counts: np.ndarray) -> int:
    """Total length in bits of an optimal prefix code for symbols occurring ``counts`` times (a
    single symbol still takes one bit a use)."""
    c = [int(v) for v in counts if v > 0]
    if len(c) <= 1:
        return sum(c)
    heapq.heapify(c)
    total = 0
    while len(c) > 1:
        a, b = heapq.heappop(c), heapq.heappop(c)
        total += a + b  # every symbol under the merged node gets one more bit
        heapq.heappush(c, a + b)
    return total


def channel_rows(data: np.ndarray, axis: int) -> np.ndarray:
    """``[channels, weights]`` with each output channel's weights in their stored (C) order: for
    OHWI / [out, in] (axis 0) exactly TFLite's rows; DEPTHWISE_CONV_2D's [1, kh, kw, C] (axis 3)
    gives each channel its kh*kw weights."""
    return np.ascontiguousarray(np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1))


def layer_weights(graph: Graph) -> list[LayerWeights]:
    """One entry per op reading a per-channel quantized int8 constant of two or more dimensions."""
    out = []
    for op in graph.ops:
        for i in op.inputs:
            if i < 0:
                continue
            t = graph.tensor(i)
            if t.data is None or t.dtype != "int8" or t.quant is None or len(t.shape) < 2:
                continue
            r = channel_rows(np.asarray(t.data), t.quant.axis if len(t.quant.scales) > 1 else 0)
            out.append(_layer(op.index, op.KIND, t.name, r))
    return out


def _layer(op: int, kind: str, name: str, r: np.ndarray) -> LayerWeights:
    c, n = r.shape
    nb = -(-n // BLOCK)
    padded = np.zeros((c, nb * BLOCK), np.int8)
    padded[:, :n] = r
    zero_blocks = int(np.all(padded.reshape(c, nb, BLOCK) == 0, axis=-1).sum())
    uniques = [np.unique(row, return_inverse=True) for row in r]
    distinct = max(len(u) for u, _ in uniques)
    # the int8 values themselves, with a 32-byte bitmap of the values used and their code lengths
    counts = np.bincount(r.astype(np.int64).ravel() + 128, minlength=256)
    raw = -(-huffman_bits(counts) // 8) + 32 + int(np.count_nonzero(counts))
    huffman = raw
    if distinct <= SHARED_MAX:
        # channel-local indices, with the codebooks (one int8 per index per channel) and their code lengths
        symbols = np.concatenate([inv.ravel() for _, inv in uniques])
        tables = sum(len(u) for u, _ in uniques)
        huffman = min(raw, -(-huffman_bits(np.bincount(symbols, minlength=distinct)) // 8) + tables + distinct)
    return LayerWeights(op=op, kind=kind, tensor=name, channels=c, weights=c * n, dense_bytes=c * n,
                        zeros=int(np.count_nonzero(r == 0)), blocks=c * nb, zero_blocks=zero_blocks,
                        distinct=distinct, index_bits=max(1, int(np.ceil(np.log2(max(distinct, 2))))),
                        huffman_bytes=huffman)
