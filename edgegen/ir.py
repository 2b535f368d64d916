"""The typed graph that sits between a .tflite file and the lowered program.

Tensors carry shape, dtype, quantization (per-tensor or per-axis) and, for constants, their data.
Ops are frozen dataclasses, one class per op kind (defined by its op family in ``edgegen.ops``),
holding the options TFLite defines for them and the indices of the tensors they read and write.
``verify`` checks the invariants every pass relies on; it runs after reading and after every pass.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .errors import ModelFormatError


class Activation(enum.Enum):
    NONE = "none"
    RELU = "relu"
    RELU6 = "relu6"
    RELU_N1_TO_1 = "relu_n1_to_1"


class Padding(enum.Enum):
    SAME = "same"
    VALID = "valid"


#: numpy dtypes of the tensor element types edgegen handles
DTYPES: dict[str, type[np.generic]] = {
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
    "uint8": np.uint8,
    "bool": np.bool_,
}


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point), per tensor or along ``axis``."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        """The single scale of a per-tensor quantized tensor."""
        assert not self.per_channel, "per-channel tensor has no single scale"
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        assert not self.per_channel, "per-channel tensor has no single zero point"
        return self.zero_points[0]


@dataclass(frozen=True, eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    #: constant contents (weights, biases, axis lists); None for activations
    data: np.ndarray | None = None
    #: a variable (state) tensor: read (and updated in place) by a stateful op, kept in the arena
    #: across invokes, reset to :attr:`reset_value` by init/reset (TFLM's ResetVariableTensors)
    variable: bool = False

    @property
    def reset_value(self) -> int:
        """The value TFLM's Reset() gives every element of a variable tensor: memset with the zero
        point for int8 (the byte pattern of that value), 0 for any other type."""
        if self.dtype == "int8" and self.quant is not None:
            return self.quant.zero_points[0]
        return 0

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(DTYPES[self.dtype]).itemsize

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' {list(self.shape)} {self.dtype}"


@dataclass(frozen=True)
class Op:
    """Base of every op: which tensors it reads and writes, and where it came from."""

    #: TFLite builtin name, used in messages and reports
    KIND: ClassVar[str] = "?"
    #: the output only names the input's bytes (RESHAPE and its kin): no call, no new buffer
    ALIAS: ClassVar[bool] = False
    index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def describe(self) -> str:
        return f"op {self.index} ({self.KIND})"


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    #: SHA-256 of the source .tflite, carried into generated files' provenance headers
    source_sha256: str = ""
    description: str = field(default="")

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producers(self) -> dict[int, Op]:
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict[int, list[Op]]:
        out: dict[int, list[Op]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op)
        return out


def verify(graph: Graph) -> None:
    """Check the structural invariants: indices in range, single producer, topological order."""
    n = len(graph.tensors)
    for i, t in enumerate(graph.tensors):
        if t.index != i:
            raise ModelFormatError(f"{t.describe()} is stored at position {i}")
    available: set[int] = set(graph.inputs)
    available.update(t.index for t in graph.tensors if t.is_const or t.variable)
    produced: set[int] = set()
    for op in graph.ops:
        for ti in op.inputs:
            if ti < 0:
                continue  # optional input left out (e.g. no bias)
            if ti >= n:
                raise ModelFormatError(f"{op.describe()} reads tensor {ti}, but the model has {n}")
            if ti not in available:
                raise ModelFormatError(
                    f"{op.describe()} reads {graph.tensors[ti].describe()} before any op produces it "
                    "(the graph has a cycle or is not in execution order)"
                )
        for ti in op.outputs:
            if not 0 <= ti < n:
                raise ModelFormatError(f"{op.describe()} writes tensor {ti}, but the model has {n}")
            if ti in produced or ti in graph.inputs or graph.tensors[ti].is_const or graph.tensors[ti].variable:
                raise ModelFormatError(
                    f"{op.describe()} writes {graph.tensors[ti].describe()}, which is already "
                    "defined (a model input, a constant or another op's output)"
                )
            produced.add(ti)
            available.add(ti)
    for ti in graph.outputs:
        if not 0 <= ti < n or ti not in available:
            raise ModelFormatError(f"model output tensor {ti} is never produced")
