"""The lowered program: one kernel call per op, with every integer the generated C needs.

Lowering (``lower.py``) computes all multipliers, shifts, offsets, clamps, dims and scratch sizes
once. The simulator (``sim.py``) and the Jinja templates read these objects and never recompute
anything; that is what makes "the simulator agrees with the C" a statement about the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

#: a 4-D broadcast for ADD/MUL: (output shape, input 1 strides, input 2 strides), in elements
BroadcastSpec = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class Dims:
    """``cmsis_nn_dims``: n, h, w, c."""

    n: int = 1
    h: int = 1
    w: int = 1
    c: int = 1


@dataclass(frozen=True, eq=False)
class Constant:
    """A const array in flash (weights.c)."""

    name: str  # C identifier, unique in the program
    ctype: str  # int8_t, int32_t
    data: np.ndarray  # flat, in C element order
    role: str  # weights, bias, multipliers, shifts, lut, broadcast, kernel_sums
    #: a preprocessor condition the array is compiled under (None: always)
    condition: str | None = None

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


@dataclass(frozen=True)
class Buffer:
    """An activation tensor (or a kernel's scratch space) living in the arena."""

    id: int
    name: str
    nbytes: int
    ctype: str  # int8_t or float
    #: call index of the first write (-1: a model input, written before invoke)
    first: int
    #: call index of the last read (len(calls): a model output, read after invoke)
    last: int
    tensor: int = -1  # IR tensor index, -1 for scratch


@dataclass(frozen=True)
class TensorRef:
    """Where a tensor lives: an arena buffer (and its shape, for traces and I/O)."""

    tensor: int
    name: str
    buffer: int
    shape: tuple[int, ...]
    ctype: str
    scale: float = 0.0
    zero_point: int = 0

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Call:
    """Base of every kernel call; subclasses hold the kernel's arguments."""

    KIND: ClassVar[str] = "?"
    index: int
    op_index: int
    op_name: str  # TFLite builtin, for reports and messages
    function: str  # the C function called
    inputs: tuple[TensorRef, ...]
    output: TensorRef
    scratch: int  # buffer id of its scratch space, -1 for none
    scratch_bytes: int
    macs: int


@dataclass(frozen=True)
class ConvCall(Call):
    KIND: ClassVar[str] = "conv"
    weights: str
    bias: str | None
    multipliers: str
    shifts: str
    input_dims: Dims
    filter_dims: Dims
    bias_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (h, w): top and left
    dilation: tuple[int, int]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class DepthwiseCall(ConvCall):
    KIND: ClassVar[str] = "depthwise"
    ch_mult: int = 1


@dataclass(frozen=True)
class FullyConnectedCall(Call):
    KIND: ClassVar[str] = "fully_connected"
    weights: str
    bias: str | None
    per_channel: bool
    #: per-tensor: the scalar multiplier/shift; per-channel: names of the arrays
    multiplier: int
    shift: int
    multipliers: str | None
    shifts: str | None
    input_dims: Dims
    filter_dims: Dims  # n: accumulation depth, c: output depth
    bias_dims: Dims
    output_dims: Dims  # n: batches, c: output depth
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    #: per-unit weight-row sums times the input offset, plus the bias: what CMSIS-NN's MVE kernels
    #: read from ctx->buf (TFLM computes them with arm_vector_sum_s8 at start-up)
    kernel_sums: str


@dataclass(frozen=True)
class PoolCall(Call):
    KIND: ClassVar[str] = "pool"
    is_max: bool
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    stride: tuple[int, int]
    padding: tuple[int, int]
    act_min: int
    act_max: int


@dataclass(frozen=True)
class AddCall(Call):
    KIND: ClassVar[str] = "add"
    input_1_offset: int
    input_1_mult: int
    input_1_shift: int
    input_2_offset: int
    input_2_mult: int
    input_2_shift: int
    left_shift: int
    out_offset: int
    out_mult: int
    out_shift: int
    act_min: int
    act_max: int
    size: int
    #: name of the edgegen_broadcast constant for broadcasting adds, None for same shapes
    broadcast: str | None
    #: the broadcast as (shape, in1 strides, in2 strides), 4-D, for the simulator
    broadcast_spec: BroadcastSpec | None
    #: SUB: the rescaled second input is subtracted (edgegen_sub_s8 / edgegen_sub_broadcast_s8,
    #: which take the same arguments as the ADD kernels)
    subtract: bool = False


@dataclass(frozen=True)
class MulCall(Call):
    KIND: ClassVar[str] = "mul"
    input_1_offset: int
    input_2_offset: int
    out_offset: int
    out_mult: int
    out_shift: int
    act_min: int
    act_max: int
    size: int
    broadcast: str | None
    broadcast_spec: BroadcastSpec | None


@dataclass(frozen=True)
class SoftmaxCall(Call):
    KIND: ClassVar[str] = "softmax"
    num_rows: int
    row_size: int
    mult: int
    shift: int
    diff_min: int


@dataclass(frozen=True)
class LutCall(Call):
    """Any int8 -> int8 elementwise op, as a 256-entry table computed at build time."""

    KIND: ClassVar[str] = "lut"
    lut: str
    lut_values: np.ndarray
    size: int


@dataclass(frozen=True)
class MeanCall(Call):
    KIND: ClassVar[str] = "mean"
    outer: int
    reduce: int
    inner: int
    sum_offset: int
    multiplier: int
    shift: int
    output_offset: int


@dataclass(frozen=True)
class PadCall(Call):
    KIND: ClassVar[str] = "pad"
    pad_value: int
    input_size: Dims
    pre_pad: Dims
    post_pad: Dims


@dataclass(frozen=True)
class ConcatPart:
    """One input's copy into the concatenated output (``arm_concatenation_s8_<axis>``)."""

    axis_name: str  # x, y, z or w (x innermost)
    input_x: int
    input_y: int
    input_z: int
    input_w: int
    output_axis: int  # the output's size along the concatenation axis
    offset: int


@dataclass(frozen=True)
class ConcatCall(Call):
    KIND: ClassVar[str] = "concat"
    parts: tuple[ConcatPart, ...]
    output_dims: tuple[int, int, int, int]  # (x, y, z, w)


@dataclass(frozen=True)
class QuantizeCall(Call):
    """float32 -> int8 (model input)."""

    KIND: ClassVar[str] = "quantize"
    scale: float  # a float32 value
    zero_point: int
    size: int


@dataclass(frozen=True)
class DequantizeCall(Call):
    """int8 -> float32 (model output)."""

    KIND: ClassVar[str] = "dequantize"
    scale: float  # the float32 scale, used as a double as TFLM does
    zero_point: int
    size: int


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    offsets: tuple[int, ...]  # by buffer id
    algorithm: str
    #: what TFLM's greedy strategy alone would need, for comparison in reports
    greedy_bytes: int


@dataclass(frozen=True, eq=False)
class Program:
    name: str  # C identifier prefix
    source_sha256: str
    constants: tuple[Constant, ...]
    buffers: tuple[Buffer, ...]
    calls: tuple[Call, ...]
    inputs: tuple[TensorRef, ...]
    outputs: tuple[TensorRef, ...]
    plan: MemoryPlan
    #: what CMSIS-NN scratch sizes were computed for: "portable", "dsp", "mve" or "max"
    scratch_target: str
    #: guard builds: canary bytes before and after the arena and each scratch buffer (0: none)
    guard_bytes: int = 0

    def constant(self, name: str) -> Constant:
        for c in self.constants:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def weight_bytes(self) -> int:
        """Constants every build carries (conditional ones, such as MVE kernel sums, excluded)."""
        return sum(c.nbytes for c in self.constants if c.condition is None)
