"""The fields edgegen uses of a .tflite file, as plain records: what :mod:`edgegen.tflite_decode`
produces and :mod:`edgegen.tflite_checks` checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FlatQuant:
    scales: tuple[float, ...]
    #: None when the file has no zero point vector (then every zero point is 0)
    zero_points: tuple[int, ...] | None
    axis: int
    #: QuantizationDetails union type; anything but NONE changes what the scales mean
    details_type: int


@dataclass(frozen=True)
class FlatTensor:
    index: int
    name: str
    type: int
    shape: tuple[int, ...]
    signature: tuple[int, ...] | None
    buffer: int
    quant: FlatQuant | None
    sparse: bool
    external_buffer: int
    #: a variable (stateful) tensor: TFLM gives it its own arena bytes and zeroes it on reset
    variable: bool = False


@dataclass(frozen=True)
class FlatOpCode:
    builtin: int
    deprecated_builtin: int
    custom: str | None


@dataclass(frozen=True)
class FlatOp:
    index: int
    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int
    #: the builtin options table as the generated object API's ``...OptionsT``, or None
    options: Any
    #: the op carries a custom options vector (TFLM refuses that on a builtin op)
    custom_options: bool = False
    #: tensors the converter lists as the op's intermediates (LSTM's gate scales); TFLM's kernels
    #: do not read them
    intermediates: tuple[int, ...] = ()


@dataclass(frozen=True)
class FlatBuffer:
    #: inline data, a read-only view into the file
    data: np.ndarray | None
    offset: int
    size: int


@dataclass(frozen=True)
class FlatModel:
    version: int
    #: the operator codes the ops name, by index (only those are decoded)
    opcodes: dict[int, FlatOpCode]
    #: how many operator codes the model declares
    n_opcodes: int
    tensors: tuple[FlatTensor, ...]
    ops: tuple[FlatOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    #: how many buffers the model declares; only the ones tensors use are decoded
    n_buffers: int
    buffers: dict[int, FlatBuffer]
    #: the names of the model's metadata entries (TFLM acts on two of them)
    metadata: tuple[str, ...] = ()
