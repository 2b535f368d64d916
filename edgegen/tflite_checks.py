"""Input checks for a decoded .tflite file: the file is treated as hostile.

:mod:`edgegen.tflite_decode` decodes the flatbuffer into plain records
(:mod:`edgegen.tflite_records`), under a guard that turns any failure of the generated accessors into a
:class:`~edgegen.errors.ModelFormatError`. The functions here then check what the records say
*before* anything is allocated or indexed with it, each with a message that names the tensor,
op, buffer or index at fault and what is wrong with it. Lowering and planning trust the graph
the reader returns, so every invariant they rely on is established here (or by the op families'
readers in ``edgegen.ops``).

docs/input-checks.md lists every check with its error class and message.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from . import ir
from .errors import ModelFormatError, UnsupportedError
from .tflite_records import FlatBuffer, FlatTensor

# -- limits ----------------------------------------------------------------------------------
# A microcontroller has at most a few MiB of flash and RAM; these are orders of magnitude above
# any model edgegen can place on one, and far below what would exhaust the host.

#: the largest tensor edgegen accepts, in bytes (the simulator works on int64 copies of a
#: tensor, 8 bytes per element, so this also bounds its temporaries to a few hundred MiB)
MAX_TENSOR_BYTES = 16 << 20
#: the most bytes all of a model's tensors may take together (activations and constants); the
#: activations bound the arena (the simulator allocates it, the C declares it)
MAX_MODEL_BYTES = 256 << 20
#: the most bytes the activations (every tensor that is not a constant) may take together: the
#: planned arena is at most their sum (plus kernel scratch). MobileNetV2 1.0 at 224x224: 6.7 MiB
MAX_ACTIVATION_BYTES = 64 << 20
#: the most constant bytes the ops may read in total; lowering copies every op's weights into
#: the generated C, so ops that share one huge buffer must not multiply it past this
MAX_OP_CONSTANT_BYTES = 256 << 20
#: the highest tensor rank; TFLite kernels handle at most 6, real models at most 5
MAX_RANK = 8
#: the most operators in a model; memory planning (plan.py) is quadratic in the number of
#: buffers, and a hostile 2048-op file whose outputs all stay alive already takes ~6 s to plan
MAX_OPS = 2048
#: the most tensors in a model, checked before any tensor is decoded (decoding takes ~70 us
#: per tensor: 500,000 unused tensors would take half a minute)
MAX_TENSORS = 8192
#: the most inputs or outputs one op may list (CONCATENATION of real models: a few dozen)
MAX_OP_TENSORS = 1024
#: values of a convolution's or pool's input padded for its window (see check_padded_input): as
#: many as the largest tensor has bytes; the simulator pads with int64 values (128 MiB)
MAX_PADDED_ELEMENTS = MAX_TENSOR_BYTES
#: multiply-accumulates of one op (conv, depthwise, fully connected, pooling): 64 Mi. The
#: largest layer of MobileNet v1 1.0 at 224x224 has 51 M; the simulator gathers each
#: convolution's input taps as int64, about 8 bytes per MAC (of a depthwise) at most
MAX_OP_MACS = 1 << 26
#: multiply-accumulates of the whole model: 1 Gi (MobileNetV2 1.0 at 224x224: 0.3 G)
MAX_MODEL_MACS = 1 << 30
#: output positions of one pooling op (or REDUCE_MAX, lowered to one): the simulator computes
#: them one at a time in Python (~10 us each). A 2x2 pool of a 416x416 image has 43,264
MAX_POOL_POSITIONS = 1 << 18
#: the largest model file (or byte string) edgegen reads; a model for a microcontroller is a
#: few MiB, and more constants than this are refused anyway (MAX_OP_CONSTANT_BYTES)
MAX_FILE_BYTES = 256 << 20
#: the schema version of every TFLite file since 2018 (TFLM refuses any other)
SCHEMA_VERSION = 3

FLATBUFFER = "not a valid TFLite flatbuffer"
INT32_MAX = (1 << 31) - 1


# -- the file --------------------------------------------------------------------------------


def check_header(data: bytes) -> None:
    """Before any flatbuffer access: the file is a TFLite flatbuffer at all."""
    if len(data) == 0:
        raise ModelFormatError("the file is empty; give an int8 .tflite file or a Keras model")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(
            "not a TFLite model (no 'TFL3' flatbuffer identifier); give an int8 .tflite file "
            "or a Keras model"
        )
    if len(data) > MAX_FILE_BYTES:
        raise UnsupportedError(
            f"the file has {len(data):,} bytes, more than edgegen reads ({MAX_FILE_BYTES:,} bytes); a model for a "
            "microcontroller is a few MiB"
        )
    root = int.from_bytes(data[0:4], "little")
    # the root table needs at least its 4-byte vtable offset
    if not 8 <= root <= len(data) - 4:
        raise ModelFormatError(f"{FLATBUFFER}: the root table offset {root} is outside the {len(data)}-byte file")


def check_vector_length(what: str, length: int, element_bytes: int, file_bytes: int) -> int:
    """A vector cannot hold more elements than the file has room for; checked before iterating,
    so a corrupt length cannot make the decoder loop for long."""
    if length * element_bytes > file_bytes:
        raise ModelFormatError(
            f"{FLATBUFFER}: {what} claims {length} entries, more than the {file_bytes}-byte file can hold"
        )
    return length


def check_version(version: int) -> None:
    if version != SCHEMA_VERSION:
        raise ModelFormatError(
            f"the model has schema version {version}, expected {SCHEMA_VERSION} (TFLite and TFLM refuse "
            "any other); the file is corrupt or not written by the TFLite converter"
        )


def check_subgraph_count(count: int) -> None:
    if count == 0:
        raise ModelFormatError("the model has no subgraph, so no graph to compile")
    if count != 1:
        raise UnsupportedError(
            f"the model has {count} subgraphs; edgegen compiles models with exactly "
            "one (no control flow ops such as WHILE or IF)"
        )


def check_counts(n_tensors: int, n_ops: int) -> None:
    """Before any tensor or op is decoded."""
    if n_ops > MAX_OPS:
        raise UnsupportedError(f"the model has {n_ops:,} operators; edgegen compiles models of up to {MAX_OPS:,}")
    if n_ops == 0:
        raise UnsupportedError("the model has no operators, so there is nothing to compile")
    if n_tensors > MAX_TENSORS:
        raise UnsupportedError(f"the model has {n_tensors:,} tensors; edgegen compiles models of up to "
                               f"{MAX_TENSORS:,}")
    if n_tensors == 0:
        raise ModelFormatError("the model has no tensors")


def check_op_tensor_count(what: str, role: str, n: int) -> None:
    """Before an op's input or output list is decoded."""
    if n > MAX_OP_TENSORS:
        raise UnsupportedError(f"{what} lists {n:,} {role}s; edgegen handles ops of up to {MAX_OP_TENSORS:,}")


#: metadata entries TFLM acts on: with them TFLM no longer computes what the graph says
#: (compressed weights it decompresses, a memory plan it follows without checking it)
_TFLM_METADATA = {
    "COMPRESSION_METADATA": "its weights are compressed for TFLM (COMPRESSION_METADATA): the buffers hold "
                            "indices into value tables, not the weights",
    "OfflineMemoryAllocation": "it carries an offline memory plan for TFLM (OfflineMemoryAllocation), which TFLM "
                               "follows without checking it; edgegen plans memory itself: convert the model "
                               "without the offline plan",
}


def check_metadata(names: Sequence[str]) -> None:
    for name in names:
        why = _TFLM_METADATA.get(name)
        if why is not None:
            raise UnsupportedError(f"the model's metadata '{name}' is not supported: {why}")


# -- tensors -------------------------------------------------------------------------------


def tensor_where(t: FlatTensor) -> str:
    return f"tensor {t.index} '{t.name}'"


def check_shape(t: FlatTensor) -> tuple[int, ...]:
    """The tensor's static shape: fixed, positive dimensions, a sane rank."""
    where = tensor_where(t)
    shape = t.shape
    if len(shape) > MAX_RANK:
        raise UnsupportedError(f"{where} has rank {len(shape)}; edgegen handles tensors of up to {MAX_RANK} dimensions")
    sig = t.signature
    # the signature says which dimensions are dynamic (-1); the batch may be, it is run as 1
    if sig is not None and any(d < 0 for d in sig[1:]):
        shown = list(sig) if len(sig) <= MAX_RANK else f"of rank {len(sig)}"
        raise UnsupportedError(
            f"{where} has a dynamic shape {shown}; convert the model with fixed input shapes (batch size 1)"
        )
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"{where} has a negative dimension in its shape {list(shape)}")
    if any(d == 0 for d in shape):
        raise UnsupportedError(
            f"{where} has an empty dimension in its shape {list(shape)}; empty tensors are not supported"
        )
    return shape


def check_tensor_bytes(where: str, shape: tuple[int, ...], dtype: str) -> int:
    """The tensor's size in bytes, refused above MAX_TENSOR_BYTES; the product is formed in
    Python integers and checked at every step, so a huge shape is refused before it overflows
    anything or is allocated."""
    itemsize = np.dtype(ir.DTYPES[dtype]).itemsize
    nbytes = itemsize
    for d in shape:
        nbytes *= d
        if nbytes > MAX_TENSOR_BYTES:
            raise UnsupportedError(
                f"{where} has shape {list(shape)} ({dtype}), more than {MAX_TENSOR_BYTES >> 20} MiB: far too "
                "large for a microcontroller"
            )
    return nbytes


def check_model_bytes(total: int, activations: int) -> None:
    if total > MAX_MODEL_BYTES:
        raise UnsupportedError(
            f"the model's tensors take {total:,} bytes together, more than {MAX_MODEL_BYTES >> 20} MiB: far too "
            "large for a microcontroller"
        )
    if activations > MAX_ACTIVATION_BYTES:
        raise UnsupportedError(
            f"the model's activations (its tensors that are not constants) take {activations:,} bytes together, "
            f"more than {MAX_ACTIVATION_BYTES:,} ({MAX_ACTIVATION_BYTES >> 20} MiB): far too large for a "
            "microcontroller's RAM"
        )


def check_tensor_storage(t: FlatTensor) -> None:
    where = tensor_where(t)
    if t.sparse:
        raise UnsupportedError(f"{where} is stored sparse; convert the model without sparsity")
    if t.external_buffer != 0:
        raise UnsupportedError(f"{where} keeps its data in external buffer {t.external_buffer}; not supported")


#: the element types of int8 (int32) and int16 (int64) ops' biases
_BIAS_TYPES = ("int32", "int64")

#: the zero points each quantized element type can represent
_ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def check_quant(t: FlatTensor, dtype: str, shape: tuple[int, ...],
                data: np.ndarray | None = None) -> ir.QuantParams | None:
    """Scales positive and finite, zero points representable, per-axis parameters along an
    existing axis with one scale per channel.

    Except a scale of exactly 0.0 on an all-zero channel of a per-channel constant (``data``): the
    16x8 converter writes it for a pruned weight channel (and its bias, written 0); TFLM runs it
    with multiplier 0, shift 0 (output: the output zero point, clamped), and so does edgegen."""
    q = t.quant
    # TFLM takes a tensor as quantized only when it has both scales and zero points; without
    # zero points it runs the tensor with scale 0, so edgegen takes it as not quantized too
    if q is None or len(q.scales) == 0 or not q.zero_points:
        return None
    where = tensor_where(t)
    if q.details_type != 0:
        raise UnsupportedError(f"{where} uses custom or blockwise quantization (details type {q.details_type})")
    scales = q.scales
    zps = q.zero_points
    if len(zps) != len(scales):
        raise ModelFormatError(f"{where} has {len(scales)} scales but {len(zps)} zero points")
    for i, s in enumerate(scales):
        if s == 0.0 and _pruned_channel(data, dtype, q.axis, len(scales), i):
            continue
        if not (math.isfinite(s) and s > 0):
            channel = f" (channel {i})" if len(scales) > 1 else ""
            raise ModelFormatError(
                f"{where} has quantization scale {s}{channel}; scales must be positive and finite"
            )
    lo, hi = _ZERO_POINT_RANGE.get(dtype, (-(1 << 63), (1 << 63) - 1))
    for i, z in enumerate(zps):
        if not lo <= z <= hi:
            channel = f" (channel {i})" if len(zps) > 1 else ""
            raise ModelFormatError(f"{where} has zero point {z}{channel}, outside the {dtype} range {lo}..{hi}")
    axis = q.axis
    if len(scales) > 1 and dtype in _BIAS_TYPES and len(shape) == 1 and shape[0] == len(scales):
        # a bias (int32/int64 of one dimension): some converters write the filter's quantized
        # dimension (3 for DEPTHWISE_CONV_2D) on it. TFLM never reads a bias's per-channel
        # parameters or its quantized_dimension (the kernels take input scale x filter scale per
        # channel; only per-tensor FULLY_CONNECTED reads params.scale, which is scale[0] either
        # way), so the one axis a 1-D tensor has is meant, and taken
        axis = 0
    if len(scales) > 1 and (not 0 <= axis < len(shape) or shape[axis] != len(scales)):
        raise ModelFormatError(
            f"{where} has {len(scales)} per-channel scales along axis {axis}, which does "
            f"not match its shape {list(shape)}"
        )
    return ir.QuantParams(scales=scales, zero_points=tuple(zps), axis=axis)


def _pruned_channel(data: np.ndarray | None, dtype: str, axis: int, channels: int, i: int) -> bool:
    """Channel ``i`` of a per-channel int8 constant (weights) or int32/int64 constant (that layer's
    bias: the converter gives it scale input scale x 0.0 and value 0) along ``axis`` holds only zeros."""
    if data is None or dtype not in ("int8", "int32", "int64") or channels < 2:
        return False
    if data.ndim == 1:
        axis = 0  # a bias may name the filter's quantized dimension (see check_quant)
    if not 0 <= axis < data.ndim or data.shape[axis] != channels:
        return False
    return not np.take(data, i, axis=axis).any()


# -- buffers -------------------------------------------------------------------------------


def check_buffer_index(where: str, index: int, n_buffers: int) -> None:
    if not 0 <= index < n_buffers:
        raise ModelFormatError(f"{where} refers to buffer {index}, but the model has {n_buffers}")


def buffer_bytes(where: str, index: int, b: FlatBuffer, file: bytes) -> np.ndarray | None:
    """The bytes buffer ``index`` holds inline (None when it holds none)."""
    inline = b.data is not None and len(b.data) > 0
    # offset 0 means "not set" and 1 is what the exporter writes for "inline"; TFLite's
    # IsValidBufferOffset is offset > 1
    external = b.offset > 1
    if inline and external:
        raise ModelFormatError(
            f"{where}: buffer {index} has both inline data and an offset ({b.offset}) into the file"
        )
    if external:
        if b.offset + b.size > len(file):
            raise ModelFormatError(
                f"{where}: buffer {index} places its {b.size} bytes at offset {b.offset}, beyond the end "
                f"of the {len(file)}-byte file"
            )
        # TFLM reads a buffer's inline data only: it would run this tensor as an empty,
        # non-constant arena tensor instead of the weights stored at the offset
        raise UnsupportedError(
            f"{where}: buffer {index} keeps its {b.size} bytes outside the flatbuffer (offset {b.offset}); TFLM "
            "reads only data stored inside a buffer and would run the tensor as uninitialized memory: convert "
            "the model without the large-model layout (weights inside the flatbuffer)"
        )
    return b.data if inline else None


def check_constant_bytes(where: str, total: int, file_bytes: int) -> None:
    """Distinct buffers of a valid file hold distinct bytes of it, so their decoded copies add
    up to at most the file size. Buffers whose data vectors or external offsets all point at the
    same bytes would otherwise make the reader copy them once per buffer."""
    if total > 2 * file_bytes + 4096:
        raise ModelFormatError(
            f"{where}: the constants decoded so far take {total} bytes, more than twice the {file_bytes}-byte "
            "file (its buffers point at the same bytes over and over)"
        )


def check_buffer_size(where: str, shape: tuple[int, ...], dtype: str, nbytes: int, got: int, index: int) -> None:
    if got != nbytes:
        raise ModelFormatError(
            f"{where} has shape {list(shape)} ({nbytes} bytes of {dtype}) but its buffer {index} holds {got} bytes"
        )


# -- work -----------------------------------------------------------------------------------


def check_padded_input(where: str, what: str, shape: tuple[int, ...], window: tuple[int, int],
                       step: tuple[int, int], stride: tuple[int, int], same: bool) -> None:
    """The input of a convolution or pool padded for its (dilated) window: ``step`` is the
    dilation. Dilation and pool filter sizes are bare numbers in the options, backed by no data;
    the padding grows with them (dilation 2^31 - 1 made the simulator pad to terabytes, and
    overflows TFLM's int32 arithmetic), so the padded input is bounded before anything is
    computed: MAX_PADDED_ELEMENTS values, as a tensor's."""
    n, h, w, c = shape
    need = []
    for size, taps, d, s in zip((h, w), window, step, stride, strict=True):
        extent = (taps - 1) * d + 1
        out = -(-size // s) if same else max((size - extent + s) // s, 1)
        need.append(max(size, (out - 1) * s + extent))
    values = n * need[0] * need[1] * c
    if values > MAX_PADDED_ELEMENTS:
        spread = f"{window[0]} x {window[1]}" + (f" at dilation {step[0]} x {step[1]}" if step != (1, 1) else "")
        raise UnsupportedError(
            f"{where}: its {what} ({spread}) spans {need[0]:,} x {need[1]:,} input positions once padded; the input "
            f"{h} x {w} x {c} padded for it would hold {values:,} values, more than edgegen handles "
            f"({MAX_PADDED_ELEMENTS:,})"
        )


class Work:
    """Totals the multiply-accumulates of the ops read so far; refuses one op over MAX_OP_MACS
    (or a pool over MAX_POOL_POSITIONS output positions) and a model over MAX_MODEL_MACS.
    Everything is computed from the shapes and options, before any op is lowered or run."""

    def __init__(self) -> None:
        self.macs = 0

    def op(self, where: str, macs: int, positions: int = 0) -> None:
        if macs > MAX_OP_MACS:
            raise UnsupportedError(
                f"{where} takes {macs:,} multiply-accumulates, more than edgegen compiles in one op "
                f"({MAX_OP_MACS:,}): far too much work for a microcontroller"
            )
        if positions > MAX_POOL_POSITIONS:
            raise UnsupportedError(
                f"{where} has {positions:,} output positions, more than edgegen compiles in one pooling op "
                f"({MAX_POOL_POSITIONS:,})"
            )
        self.macs += macs
        if self.macs > MAX_MODEL_MACS:
            raise UnsupportedError(
                f"the ops up to {where} take {self.macs:,} multiply-accumulates, more than edgegen compiles in "
                f"one model ({MAX_MODEL_MACS:,}): far too much work for a microcontroller"
            )


# -- graph structure -----------------------------------------------------------------------


def check_io(kind: str, indices: Sequence[int], tensors: Sequence[ir.Tensor]) -> None:
    """Model inputs or outputs: in range, listed once, of a type the generated API can carry."""
    if not indices:
        raise ModelFormatError(f"the model declares no {kind}s")
    seen: set[int] = set()
    for t in indices:
        if not 0 <= t < len(tensors):
            raise ModelFormatError(f"model {kind} names tensor {t}, but the model has {len(tensors)}")
        if t in seen:
            raise ModelFormatError(f"model {kind} tensor {t} is listed twice")
        seen.add(t)
        tensor = tensors[t]
        if tensor.variable:
            raise UnsupportedError(
                f"model {kind} {tensor.describe()} is a variable (state) tensor; TFLM keeps state inside the "
                "arena, so edgegen keeps it there too: give the model a separate input/output tensor"
            )
        if tensor.dtype not in ("int8", "int16", "float32"):
            raise UnsupportedError(
                f"model {kind} {tensor.describe()} has type {tensor.dtype}; edgegen's generated API takes "
                "int8, int16 (16x8 models) or float32 inputs and outputs"
            )
        if tensor.is_const:
            what = "a constant" if kind == "input" else "a constant, not computed by any op"
            raise ModelFormatError(f"model {kind} {tensor.describe()} is {what}")


def check_inputs_outputs_disjoint(inputs: Iterable[int], outputs: Iterable[int],
                                  tensors: Sequence[ir.Tensor]) -> None:
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise UnsupportedError(
            f"{tensors[both[0]].describe()} is both a model input and a model output; edgegen needs every "
            "output computed by an op"
        )


def check_op_tensor_indices(where: str, inputs: Sequence[int], outputs: Sequence[int], n_tensors: int) -> None:
    for role, idx in (("input", inputs), ("output", outputs)):
        for t in idx:
            if not -1 <= t < n_tensors:
                raise ModelFormatError(f"{where} refers to tensor {t} ({role}), but the model has {n_tensors}")
    if not outputs:
        raise ModelFormatError(f"{where} has no output tensor")
    if any(t < 0 for t in outputs):
        raise ModelFormatError(f"{where} has a missing (-1) output tensor")


class Dataflow:
    """Checks, op by op in file order, that every tensor is defined before it is read and
    defined once; so the ops are in execution order and the graph has no cycle. (ir.verify
    checks the same again on the finished graph.) Also totals the constants the ops read."""

    def __init__(self, tensors: Sequence[ir.Tensor], inputs: Iterable[int]) -> None:
        self.tensors = tensors
        self.available: set[int] = set(inputs)
        self.available.update(t.index for t in tensors if t.is_const)
        # a variable (state) tensor holds its reset value (or the last invoke's) before any op runs
        self.available.update(t.index for t in tensors if t.variable)
        self.constant_bytes = 0

    def op(self, where: str, inputs: Sequence[int], outputs: Sequence[int]) -> None:
        for ti in inputs:
            if ti < 0:
                continue  # an optional input left out (e.g. no bias); the op builder checks which
            if ti not in self.available:
                raise ModelFormatError(
                    f"{where} reads {self.tensors[ti].describe()} before any op produces it "
                    "(the graph has a cycle or is not in execution order)"
                )
            t = self.tensors[ti]
            if t.is_const:
                self.constant_bytes += t.nbytes
        if self.constant_bytes > MAX_OP_CONSTANT_BYTES:
            raise UnsupportedError(
                f"the ops up to {where} read {self.constant_bytes} bytes of constants, more than "
                f"{MAX_OP_CONSTANT_BYTES >> 20} MiB: far too large for a microcontroller"
            )
        for ti in outputs:
            if ti >= 0 and self.tensors[ti].variable:
                raise UnsupportedError(
                    f"{where} writes the variable (state) {self.tensors[ti].describe()} as an output; "
                    "edgegen (like TFLM's kernels) updates state only through the op that reads it as its state input"
                )
            if ti in self.available:
                raise ModelFormatError(
                    f"{where} writes {self.tensors[ti].describe()}, which is already defined (a model input, "
                    "a constant or another op's output)"
                )
            self.available.add(ti)

    def check_outputs(self, outputs: Iterable[int], inputs: Iterable[int]) -> None:
        produced = self.available - set(inputs)
        for ti in outputs:
            if ti not in produced or self.tensors[ti].is_const:
                raise ModelFormatError(f"model output {self.tensors[ti].describe()} is never produced by an op")
