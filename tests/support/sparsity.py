"""Converter-made models (tests/support/opmodels.py) with their CONV_2D / FULLY_CONNECTED int8 weights
edited into the patterns edgegen's compressed formats take (issue 17): random zero blocks of 4 along
the reduction axis, unstructured zeros, empty output channels, an all-zero layer, at most 16 distinct
values per channel (shared weights), and combinations. The weights are written back into the
flatbuffer, so TFLM runs the edited model and stays the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from .fuzz import pack, unpack

PATTERNS = ("blocks", "unstructured", "empty_rows", "all_zero", "shared", "blocks_shared")
CODES = {schema.BuiltinOperator.CONV_2D, schema.BuiltinOperator.FULLY_CONNECTED}


def _edit(w: np.ndarray, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """``w`` [OC, K] int8 edited into ``pattern``."""
    oc, k = w.shape
    w = w.astype(np.int64).copy()
    k4 = -(-k // 4)
    if pattern in ("shared", "blocks_shared"):
        # at most 16 distinct values per channel: each value snapped to one of the channel's codebook
        for j in range(oc):
            book = np.unique(np.concatenate([[0], rng.integers(-127, 128, size=int(rng.integers(1, 16)))]))
            w[j] = book[np.abs(w[j][:, None] - book[None, :]).argmin(axis=1)]
    if pattern in ("blocks", "blocks_shared", "empty_rows"):
        keep = rng.random((oc, k4)) < float(rng.choice([0.05, 0.2, 0.5]))
        if pattern == "empty_rows" or oc > 2:
            keep[rng.random(oc) < 0.3] = False  # empty output channels
        mask = np.repeat(keep, 4, axis=1)[:, :k]
        w = w * mask
    if pattern == "unstructured":
        w = w * (rng.random(w.shape) < 0.15)
    if pattern == "all_zero":
        w[:] = 0
    return w.astype(np.int8)


def sparsified(tflite: bytes, pattern: str, seed: int) -> bytes:
    """``tflite`` with every CONV_2D / FULLY_CONNECTED layer's weights edited into ``pattern``."""
    rng = np.random.default_rng(seed)
    m: Any = unpack(tflite)
    done = set()
    for op in m.subgraphs[0].operators:
        oc_ = m.operatorCodes[op.opcodeIndex]
        if max(oc_.builtinCode, oc_.deprecatedBuiltinCode) not in CODES:
            continue
        t = m.subgraphs[0].tensors[op.inputs[1]]
        if t.buffer in done or t.type != schema.TensorType.INT8:
            continue
        done.add(t.buffer)
        raw = np.frombuffer(bytes(m.buffers[t.buffer].data), np.int8)
        w = raw.reshape(int(t.shape[0]), -1)
        m.buffers[t.buffer].data = np.frombuffer(_edit(w, pattern, rng).tobytes(), np.uint8)
    assert done, "no CONV_2D / FULLY_CONNECTED weights to edit"
    return bytes(pack(m))
