"""The lowered program: one kernel call per op, with every integer the generated C needs.

Lowering (``lower.py``, each op family's lowerer in ``edgegen.ops``) computes all multipliers,
shifts, offsets, clamps, dims and scratch sizes once, into one :class:`Call` subclass per kernel
(defined by its op family). The simulator (``sim.py``) and the Jinja templates read these objects
and never recompute anything; that is what makes "the simulator agrees with the C" a statement
about the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


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
class LayerWeights:
    """How one CONV_2D / FULLY_CONNECTED layer stores its weights (``--compress``): the format
    (``dense`` or edgegen.kernels.sparse.FORMATS), the bytes its weight arrays take in flash (values
    or indices, block deltas, counts, codebooks; for dense layers the kernel's own weight array), the
    dense int8 bytes, and what Huffman coding of the format's symbols would take (issue 17, item 4)."""

    op: int
    format: str
    bytes: int
    dense_bytes: int
    huffman_bytes: int


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
    #: a variable (state) tensor: placed in the arena's persistent region (offset 0 up to
    #: ``MemoryPlan.state_bytes``), which no other buffer ever shares; kept across invokes
    state: bool = False
    #: the byte init/reset fills a state buffer with (TFLM's ResetVariableTensors: int8 zero point, else 0)
    reset_byte: int = 0


#: bytes per element of each C element type a tensor reference can have
CTYPE_BYTES = {"float": 4, "int8_t": 1, "int16_t": 2, "int32_t": 4}


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

    @property
    def nbytes(self) -> int:
        """The bytes of its elements (int16_t activations of 16x8 models take 2 each)."""
        return self.size * CTYPE_BYTES[self.ctype]


@dataclass(frozen=True)
class Call:
    """Base of every kernel call; subclasses hold the kernel's arguments."""

    KIND: ClassVar[str] = "?"
    #: edgegen's specialized kernels: the header (firmware/edgegen/) the model code includes for
    #: them; each such KIND also has a per-layer function template, templates/calls/<KIND>.fn.j2
    HEADER: ClassVar[str | None] = None
    index: int
    op_index: int
    op_name: str  # TFLite builtin, for reports and messages
    function: str  # the C function called
    inputs: tuple[TensorRef, ...]
    output: TensorRef
    scratch: int  # buffer id of its scratch space, -1 for none
    scratch_bytes: int
    macs: int

    @property
    def checks_scratch(self) -> bool:
        """True when the generated ``<model>_check_scratch()`` compares this call's scratch size with
        CMSIS-NN's own answer (its op family's ``templates/calls/<KIND>.scratch.j2``)."""
        return False


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    offsets: tuple[int, ...]  # by buffer id
    algorithm: str
    #: what TFLM's greedy strategy alone would need, for comparison in reports
    greedy_bytes: int
    #: the persistent region at the start of the arena holding the state buffers (0: stateless)
    state_bytes: int = 0


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
    #: ``--kernels``: auto, cmsis-nn or portable (edgegen.kernels)
    kernel_mode: str = "cmsis-nn"
    #: (op index, why) for layers that keep the CMSIS-NN call though edgegen has a kernel for them
    kernel_notes: tuple[tuple[int, str], ...] = ()
    #: ``--keep-inputs``: no call writes over the inputs, so they survive invoke
    keep_inputs: bool = False
    #: the arena the other choice of ``keep_inputs`` would need (what keeping the inputs costs)
    other_arena_bytes: int = 0
    #: ``--compress``: auto, on or off, and per CONV_2D / FULLY_CONNECTED layer its weights' storage
    compress: str = "off"
    layer_weights: tuple[LayerWeights, ...] = ()

    @property
    def weights_bytes(self) -> int:
        """The layers' weight arrays in flash (compressed where --compress chose a format)."""
        return sum(lw.bytes for lw in self.layer_weights)

    @property
    def dense_weights_bytes(self) -> int:
        """The same layers' weights as dense int8."""
        return sum(lw.dense_bytes for lw in self.layer_weights)

    @property
    def state_buffers(self) -> tuple[Buffer, ...]:
        """The variable (state) tensors' buffers, which ``<p>_reset()`` fills with their reset byte."""
        return tuple(b for b in self.buffers if b.state)

    def constant(self, name: str) -> Constant:
        for c in self.constants:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def weight_bytes(self) -> int:
        """Constants every build carries (conditional ones, such as MVE kernel sums, excluded)."""
        return sum(c.nbytes for c in self.constants if c.condition is None)
