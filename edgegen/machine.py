"""The simulator's machine: a numpy byte arena laid out by the memory plan, and the requantization
step most kernels end with. The op families' kernels (``edgegen.ops``) run on it."""

from __future__ import annotations

import numpy as np

from . import fixedpoint as fx
from .program import Program, TensorRef

#: numpy type of each C element type a tensor reference can have (state tensors: int16/int32 too)
CTYPES: dict[str, type[np.generic]] = {"float": np.float32, "int8_t": np.int8, "int16_t": np.int16,
                                       "int32_t": np.int32}


class Machine:
    """The arena and the program's constants, as the op kernels (``edgegen.ops``) see them."""

    def __init__(self, program: Program) -> None:
        self.p = program
        self.arena = np.zeros(max(program.plan.arena_bytes, 1), dtype=np.uint8)
        self.reset()

    def reset(self) -> None:
        """``<p>_reset()``: every state buffer to its reset byte (TFLM's ResetVariableTensors)."""
        for b in self.p.state_buffers:
            off = self.p.plan.offsets[b.id]
            self.arena[off : off + b.nbytes] = b.reset_byte

    def view(self, ref: TensorRef) -> np.ndarray:
        off = self.p.plan.offsets[ref.buffer]
        dtype = CTYPES[ref.ctype]
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
