"""Read an int8 .tflite flatbuffer into an :class:`edgegen.ir.Graph`.

The schema comes from ai-edge-litert's generated flatbuffer code, so reading needs no
TensorFlow. The file is treated as hostile: it is decoded field by field under a guard
(:mod:`edgegen.tflite_decode`; any failure of the generated accessors is a
:class:`ModelFormatError`), then every index, shape, quantization parameter and buffer is checked
(:mod:`edgegen.tflite_checks`) before it is used, and each op by its family's reader
(``edgegen.ops``).
Everything the compiler cannot take is refused here with a message that names the op or tensor;
later stages may assume a well-formed, supported graph. docs/input-checks.md lists the checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from . import ir, ops
from . import tflite_checks as checks
from . import tflite_records as records
from . import tflite_state as state
from .errors import EdgegenError, ModelFormatError, UnsupportedError
from .modelfile import read_model_file
from .tflite_context import OpContext
from .tflite_decode import Decoder

_TYPES = {
    fb.TensorType.INT8: "int8",
    fb.TensorType.INT16: "int16",
    fb.TensorType.INT32: "int32",
    fb.TensorType.INT64: "int64",
    fb.TensorType.FLOAT32: "float32",
    fb.TensorType.UINT8: "uint8",
    fb.TensorType.BOOL: "bool",
}
_TYPE_NAMES = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(fb.BuiltinOptions).items() if not k.startswith("_")}


def read_tflite(path: str | Path) -> ir.Graph:
    """Read ``path``; every problem is an :class:`EdgegenError` naming the file."""
    p = Path(path)
    data = read_model_file(p)
    try:
        return parse_tflite(data, name=p.stem)
    except EdgegenError as e:
        raise type(e)(f"{p}: {e}", kind=e.kind) from None


def parse_tflite(data: bytes, name: str = "model") -> ir.Graph:
    """Decode ``data`` and check it (see docs/input-checks.md); the graph returned is one that
    lowering can trust. Every refusal is an :class:`EdgegenError`."""
    data = bytes(data)
    flat = Decoder(data).model()
    try:
        graph = _Reader(flat, data, name).graph()
    except EdgegenError:
        raise
    except (IndexError, ValueError, TypeError, AttributeError, OverflowError, KeyError, ZeroDivisionError) as e:
        # A safety net, not a check: every invariant has an explicit check with its own message,
        # and the fuzzer (tests/test_fuzz_reader.py) counts this kind as a bug.
        raise ModelFormatError(
            f"inconsistent model structure ({type(e).__name__}: {e})", kind="unchecked"
        ) from None
    ir.verify(graph)
    return graph


# -- checking and building the graph -------------------------------------------------------


def _intermediates_only(f: records.FlatModel) -> set[int]:
    """Tensors only listed as some op's intermediates: the converter's LSTM leaves its five gate
    intermediates empty and float32 (TFLM's integer LSTM works at fixed gate scales and never reads
    them), so they are no activations to check, allocate or compute."""
    used = set(f.inputs) | set(f.outputs)
    for op in f.ops:
        used.update(op.inputs)
        used.update(op.outputs)
    return {i for op in f.ops for i in op.intermediates if i not in used}


def _placeholder(t: records.FlatTensor, n_buffers: int) -> ir.Tensor:
    """An unread intermediate: named, with no bytes (so no arena space). TFLM still converts every
    tensor's type and looks its buffer up, so those two are checked as for any tensor."""
    where = checks.tensor_where(t)
    if t.type not in _TYPES:
        raise UnsupportedError(f"{where} has element type {_TYPE_NAMES.get(t.type, t.type)}; edgegen handles "
                               "int8 activations, int8/int32 constants and float32 model inputs/outputs")
    checks.check_buffer_index(where, t.buffer, n_buffers)
    return ir.Tensor(index=t.index, name=t.name, shape=(0,), dtype="int8")


class _Reader:
    def __init__(self, flat: records.FlatModel, data: bytes, name: str) -> None:
        self.flat = flat
        self.data = data
        self.name = name
        # constants decoded per (buffer, type, shape): tensors sharing a buffer share the array
        self.constants: dict[tuple[int, str, tuple[int, ...]], np.ndarray] = {}
        self.constant_bytes = 0
        self.work = checks.Work()

    def graph(self) -> ir.Graph:
        f = self.flat
        checks.check_metadata(f.metadata)
        unread = _intermediates_only(f)
        tensors = tuple(_placeholder(t, f.n_buffers) if t.index in unread else self._tensor(t) for t in f.tensors)
        checks.check_model_bytes(sum(t.nbytes for t in tensors), sum(t.nbytes for t in tensors if not t.is_const))
        checks.check_io("input", f.inputs, tensors)
        checks.check_io("output", f.outputs, tensors)
        checks.check_inputs_outputs_disjoint(f.inputs, f.outputs, tensors)
        flow = checks.Dataflow(tensors, f.inputs)
        ops = tuple(self._op(op, tensors, flow) for op in f.ops)
        flow.check_outputs(f.outputs, f.inputs)
        return ir.Graph(
            name=self.name,
            tensors=tensors,
            ops=ops,
            inputs=f.inputs,
            outputs=f.outputs,
            source_sha256=hashlib.sha256(self.data).hexdigest(),
        )

    # -- tensors ---------------------------------------------------------------------------

    def _tensor(self, t: records.FlatTensor) -> ir.Tensor:
        where = checks.tensor_where(t)
        if t.type not in _TYPES:
            raise UnsupportedError(
                f"{where} has element type {_TYPE_NAMES.get(t.type, t.type)}; edgegen handles "
                "int8 activations, int8/int32 constants and float32 model inputs/outputs"
            )
        dtype = _TYPES[t.type]
        checks.check_tensor_storage(t)
        shape = checks.check_shape(t)
        nbytes = checks.check_tensor_bytes(where, shape, dtype)
        data = self._buffer(t, where, dtype, shape, nbytes)
        # after the data: a pruned weight channel may have scale 0 (check_quant)
        quant = checks.check_quant(t, dtype, shape, None if t.variable else data)
        if t.variable:
            state.check_variable(t, dtype)
            # TFLM ignores a variable tensor's buffer: it resets the tensor to its zero point (int8) or 0
            data = None
        return ir.Tensor(index=t.index, name=t.name, shape=shape, dtype=dtype, quant=quant, data=data,
                         variable=t.variable)

    def _buffer(self, t: records.FlatTensor, where: str, dtype: str, shape: tuple[int, ...],
                nbytes: int) -> np.ndarray | None:
        index = t.buffer
        # TFLM looks buffer 0 up like any other (a model without buffers would make it read
        # past the buffer list), so it must exist and be the empty sentinel
        checks.check_buffer_index(where, index, self.flat.n_buffers)
        raw = checks.buffer_bytes(where, index, self.flat.buffers[index], self.data)
        if raw is None:
            return None
        if index == 0:
            raise ModelFormatError(
                f"{where} refers to buffer 0, which holds {len(raw)} bytes; buffer 0 must be the empty sentinel "
                "of every TFLite file"
            )
        checks.check_buffer_size(where, shape, dtype, nbytes, len(raw), index)
        key = (index, dtype, shape)
        arr = self.constants.get(key)
        if arr is None:
            self.constant_bytes += nbytes
            checks.check_constant_bytes(where, self.constant_bytes, len(self.data))
            np_dtype = np.dtype(ir.DTYPES[dtype]).newbyteorder("<")
            arr = np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder("=")).reshape(shape)
            self.constants[key] = arr
        return arr

    # -- ops -------------------------------------------------------------------------------

    def _op(self, op: records.FlatOp, tensors: tuple[ir.Tensor, ...], flow: checks.Dataflow) -> ir.Op:
        index = op.index
        if not 0 <= op.opcode_index < self.flat.n_opcodes:
            raise ModelFormatError(
                f"op {index} has opcode index {op.opcode_index}, but the model has {self.flat.n_opcodes}"
            )
        oc = self.flat.opcodes[op.opcode_index]
        # files written before the builtin code outgrew int8 only set the deprecated field
        code = max(oc.builtin, oc.deprecated_builtin)
        name = _OP_NAMES.get(code, f"builtin {code}")
        if code == fb.BuiltinOperator.CUSTOM:
            raise UnsupportedError(
                f"op {index} is the custom op '{oc.custom or '?'}'; edgegen compiles builtin ops only"
            )
        builders = ops.builders()
        builder = builders.get(name)
        if builder is None:
            raise UnsupportedError(
                f"op {index} ({name}) is not supported; supported ops: {', '.join(sorted(builders))}"
                + _HINTS.get(name, "")
            )
        where = f"op {index} ({name})"
        checks.check_op_tensor_indices(where, op.inputs, op.outputs, len(tensors))
        # before the dataflow check, which would call a state input that is no variable "never produced"
        state.check_state_inputs(where, op.inputs, tensors, ops.state_inputs().get(name, ()))
        flow.op(where, op.inputs, op.outputs)
        expected = ops.options().get(name)
        if expected is not None and op.options_type not in (fb.BuiltinOptions.NONE, expected):
            raise ModelFormatError(
                f"{where} carries {_OPTION_NAMES.get(op.options_type, op.options_type)} options, expected "
                f"{_OPTION_NAMES[expected]}"
            )
        if op.custom_options:
            raise ModelFormatError(f"{where} carries custom options; TFLM refuses a builtin op with custom options")
        required = ops.required_options()
        if name in required and op.options is None:
            raise ModelFormatError(
                f"{where} has no {_OPTION_NAMES[ops.options()[name]]} table; TFLM would run it with "
                f"{required[name]}"
            )
        _check_no_scalars(where, op, tensors)
        ctx = OpContext(index, name, op.inputs, op.outputs, op.options, tensors, self.work)
        return builder(ctx)


def _check_no_scalars(where: str, op: records.FlatOp, tensors: tuple[ir.Tensor, ...]) -> None:
    """Rank-0 activations are refused: TFLM's kernels index their last dimension (dims[-1] of
    an empty shape) or skip them, so they compute something else than the graph says."""
    for role, indices in (("input", op.inputs), ("output", op.outputs)):
        for ti in indices:
            if ti >= 0 and not tensors[ti].shape and not tensors[ti].is_const:
                raise UnsupportedError(
                    f"{where}: {role} {tensors[ti].describe()} has rank 0 (a scalar); edgegen compiles ops whose "
                    "inputs and outputs have rank 1 or more (TFLM kernels such as FULLY_CONNECTED read the "
                    "missing last dimension of a scalar)"
                )


#: what to do instead of an unsupported op users meet often
_HINTS = {
    "TILE": (". TFLM has no TILE kernel. TensorFlow writes Keras's UpSampling2D(interpolation='nearest') as "
             "RESHAPE/TILE: give edgegen the Keras model, whose conversion makes it RESIZE_NEAREST_NEIGHBOR, or "
             "use keras.layers.Resizing / tf.image.resize(method='nearest')"),
}


def supported_ops() -> tuple[str, ...]:
    """The TFLite builtins edgegen compiles: every op family's."""
    return tuple(sorted(ops.builders()))


SUPPORTED_OPS: tuple[str, ...] = supported_ops()
