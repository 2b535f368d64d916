"""The simulator's machine: a numpy byte arena laid out by the memory plan, and the requantization
step most kernels end with. The op families' kernels (``edgegen.ops``) run on it."""

from __future__ import annotations

import numpy as np

from . import fixedpoint as fx
from .program import Program, TensorRef


class Machine:
    """The arena and the program's constants, as the op kernels (``edgegen.ops``) see them."""

    def __init__(self, program: Program) -> None:
        self.p = program
        self.arena = np.zeros(max(program.plan.arena_bytes, 1), dtype=np.uint8)

    def view(self, ref: TensorRef) -> np.ndarray:
        off = self.p.plan.offsets[ref.buffer]
        dtype = np.float32 if ref.ctype == "float" else np.int8
        n = ref.size * np.dtype(dtype).itemsize
        return self.arena[off : off + n].view(dtype).reshape(ref.shape)

    def read(self, ref: TensorRef) -> np.ndarray:
        return self.view(ref).copy()

    def write(self, ref: TensorRef, value: np.ndarray) -> None:
        v = self.view(ref)
        v[...] = value.reshape(v.shape).astype(v.dtype)

    def const(self, name: str | None) -> np.ndarray | None:
        return None if name is None else self.p.constant(name).data


def requant(acc: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int, offset: int, lo: int,
             hi: int) -> np.ndarray:
    out = fx.multiply_by_quantized_multiplier(acc.astype(np.int64), mult, shift) + offset
    return np.clip(out, lo, hi).astype(np.int8)
