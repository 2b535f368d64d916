"""Read an int8 .tflite flatbuffer into an :class:`edgegen.ir.Graph`.

The schema comes from ai-edge-litert's generated flatbuffer code, so reading needs no
TensorFlow. The file is treated as hostile: it is decoded field by field under a guard (any
failure of the generated accessors is a :class:`ModelFormatError`), then every index, shape,
quantization parameter and buffer is checked (:mod:`edgegen.tflite_checks`) before it is used.
Everything the compiler cannot take is refused here with a message that names the op or tensor;
later stages may assume a well-formed, supported graph. docs/input-checks.md lists the checks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from . import ir
from . import tflite_checks as checks
from .errors import EdgegenError, ModelFormatError, UnsupportedError
from .modelfile import read_model_file

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

_ACTIVATIONS = {
    fb.ActivationFunctionType.NONE: ir.Activation.NONE,
    fb.ActivationFunctionType.RELU: ir.Activation.RELU,
    fb.ActivationFunctionType.RELU6: ir.Activation.RELU6,
    fb.ActivationFunctionType.RELU_N1_TO_1: ir.Activation.RELU_N1_TO_1,
}
_ACT_NAMES = {v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(fb.BuiltinOptions).items() if not k.startswith("_")}

#: the options table of each op whose builder reads options; a corrupt union type would
#: otherwise make it read another table's fields (strides from a pool, say) as its own
_OPTIONS = {
    "CONV_2D": fb.BuiltinOptions.Conv2DOptions,
    "DEPTHWISE_CONV_2D": fb.BuiltinOptions.DepthwiseConv2DOptions,
    "FULLY_CONNECTED": fb.BuiltinOptions.FullyConnectedOptions,
    "AVERAGE_POOL_2D": fb.BuiltinOptions.Pool2DOptions,
    "MAX_POOL_2D": fb.BuiltinOptions.Pool2DOptions,
    "MEAN": fb.BuiltinOptions.ReducerOptions,
    "REDUCE_MAX": fb.BuiltinOptions.ReducerOptions,
    "ADD": fb.BuiltinOptions.AddOptions,
    "SUB": fb.BuiltinOptions.SubOptions,
    "MUL": fb.BuiltinOptions.MulOptions,
    "SOFTMAX": fb.BuiltinOptions.SoftmaxOptions,
    "CONCATENATION": fb.BuiltinOptions.ConcatenationOptions,
    "LEAKY_RELU": fb.BuiltinOptions.LeakyReluOptions,
    "RESHAPE": fb.BuiltinOptions.ReshapeOptions,
    "SQUEEZE": fb.BuiltinOptions.SqueezeOptions,
}
#: options tables the decoder unpacks (those of the ops above; any other is never read)
_DECODED_OPTIONS = frozenset(_OPTIONS.values())
#: options tables with a vector, and its length accessor: checked against the file and the
#: decode budget before the table is unpacked (ops may share one huge table)
_OPTION_VECTORS = {
    fb.BuiltinOptions.ReshapeOptions: (fb.ReshapeOptions, "NewShapeLength"),
    fb.BuiltinOptions.SqueezeOptions: (fb.SqueezeOptions, "SqueezeDimsLength"),
}

#: ops that TFLM cannot run as their graph says without their options table. TFLM's parsers
#: leave every parameter 0 when the table is absent (flatbuffer_conversions.cc): strides 0,
#: padding "unknown" and dilation 0 for convolutions and pools (garbage outputs, or a division
#: by zero), depth multiplier 0 (a depthwise writes nothing), beta 0 for SOFTMAX (TFLM aborts).
#: The other ops' zero parameters (no activation, axis 0, keep_dims false, LEAKY_RELU alpha 0)
#: are what edgegen then uses as well.
_REQUIRED_OPTIONS = {
    "CONV_2D": "strides 0, an unknown padding and dilation 0",
    "DEPTHWISE_CONV_2D": "strides 0, an unknown padding, dilation 0 and depth multiplier 0",
    "AVERAGE_POOL_2D": "strides 0, an unknown padding and a 0 x 0 filter",
    "MAX_POOL_2D": "strides 0, an unknown padding and a 0 x 0 filter",
    "SOFTMAX": "beta 0, which TFLM cannot implement (it aborts)",
}


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
    flat = _Decoder(data).model()
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


# -- decoding ------------------------------------------------------------------------------


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """The generated accessors trust the file: on a corrupt one they raise struct.error,
    IndexError, TypeError ("bad number"), ValueError (numpy views past the end) and so on.
    All of them mean the same thing to the user."""
    try:
        yield
    except EdgegenError:
        raise
    except Exception as e:
        raise ModelFormatError(
            f"{checks.FLATBUFFER}: {what} cannot be decoded, the file is truncated or corrupt "
            f"({type(e).__name__}: {e})"
        ) from None


def _numpy(value: Any) -> np.ndarray:
    # the generated *AsNumpy accessors return the int 0 for an absent vector
    return value if isinstance(value, np.ndarray) else np.zeros(0, dtype=np.int32)


class _Decoder:
    """Reads the fields edgegen uses, and only those, from the flatbuffer into plain records.

    The generated object API (ModelT) would unpack every table, including ones edgegen never
    looks at, and a hostile file can make it unpack one shared table many times over; here
    every vector length is checked against the file size before it is iterated, and the total
    decoded is bounded by a budget proportional to the file size.
    """

    #: what decoding one table costs against the budget; a table takes at least 4 bytes
    TABLE = 4

    def __init__(self, data: bytes) -> None:
        self.data = data
        # a file whose tables are not shared decodes to at most its own size; allow sharing
        # up to twice that, which no converter comes near
        self.budget = 2 * len(data) + 4096

    def charge(self, what: str, nbytes: int) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            raise ModelFormatError(
                f"{checks.FLATBUFFER}: {what} makes the file decode to more than twice its size "
                "(its tables refer to the same data over and over)"
            )

    def length(self, what: str, n: int, element_bytes: int) -> int:
        checks.check_vector_length(what, n, element_bytes, len(self.data))
        self.charge(what, n * element_bytes)
        return n

    def ints(self, what: str, is_none: bool, arr: Any) -> tuple[int, ...] | None:
        if is_none:
            return None
        a = _numpy(arr)
        self.charge(what, a.nbytes)
        return tuple(a.tolist())

    def name(self, what: str, raw: bytes | None, fallback: str) -> str:
        if raw is None:
            return fallback
        self.charge(what, len(raw))
        return raw.decode("utf-8", "replace")

    def model(self) -> checks.FlatModel:
        checks.check_header(self.data)
        m = fb.Model.GetRootAs(self.data, 0)
        with _decoding("the model table"):
            version = int(m.Version())
            n_sub = self.length("the subgraph list", m.SubgraphsLength(), 4)
            n_codes = self.length("the operator code list", m.OperatorCodesLength(), 4)
            n_buffers = self.length("the buffer list", m.BuffersLength(), 4)
        checks.check_version(version)
        checks.check_subgraph_count(n_sub)
        with _decoding("subgraph 0"):
            sg = m.Subgraphs(0)
            n_tensors = self.length("the tensor list", sg.TensorsLength(), 4)
            n_ops = self.length("the operator list", sg.OperatorsLength(), 4)
        # the counts are checked before anything is decoded per tensor or per op
        checks.check_counts(n_tensors, n_ops)
        with _decoding("subgraph 0"):
            inputs = self.ints("the model inputs", sg.InputsIsNone(), sg.InputsAsNumpy()) or ()
            outputs = self.ints("the model outputs", sg.OutputsIsNone(), sg.OutputsAsNumpy()) or ()
        metadata = self.metadata(m)
        tensors = tuple(self.tensor(sg, i) for i in range(n_tensors))
        ops = tuple(self.op(sg, i) for i in range(n_ops))
        # only the operator codes the ops name (an unused list can be long)
        opcodes = {i: self.opcode(m, i) for i in sorted({op.opcode_index for op in ops}) if 0 <= i < n_codes}
        used = sorted({t.buffer for t in tensors if 0 <= t.buffer < n_buffers})
        buffers = {i: self.buffer(m, i) for i in used}
        return checks.FlatModel(version=version, opcodes=opcodes, n_opcodes=n_codes, tensors=tensors, ops=ops,
                                inputs=inputs, outputs=outputs, n_buffers=n_buffers, buffers=buffers,
                                metadata=metadata)

    def metadata(self, m: Any) -> tuple[str, ...]:
        """The metadata names: TFLM looks them up (and acts on two of them)."""
        with _decoding("the metadata list"):
            n = self.length("the metadata list", m.MetadataLength(), 4)
            names = []
            for i in range(n):
                what = f"metadata entry {i}"
                self.charge(what, self.TABLE)
                names.append(self.name(what, m.Metadata(i).Name(), ""))
        return tuple(names)

    def tensor(self, sg: Any, index: int) -> checks.FlatTensor:
        what = f"tensor {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            t = sg.Tensors(index)
            name = self.name(what, t.Name(), f"t{index}")
            shape = self.ints(what, t.ShapeIsNone(), t.ShapeAsNumpy()) or ()
            signature = self.ints(what, t.ShapeSignatureIsNone(), t.ShapeSignatureAsNumpy())
            q = t.Quantization()
            return checks.FlatTensor(
                index=index, name=name, type=int(t.Type()), shape=shape, signature=signature,
                buffer=int(t.Buffer()), quant=None if q is None else self.quant(what, q),
                sparse=t.Sparsity() is not None, external_buffer=int(t.ExternalBuffer()),
                variable=bool(t.IsVariable()),
            )

    def quant(self, what: str, q: Any) -> checks.FlatQuant:
        self.charge(what, self.TABLE)
        scales = _numpy(q.ScaleAsNumpy()) if not q.ScaleIsNone() else np.zeros(0, dtype=np.float32)
        self.charge(what, scales.nbytes)
        return checks.FlatQuant(
            scales=tuple(scales.tolist()),
            zero_points=self.ints(what, q.ZeroPointIsNone(), q.ZeroPointAsNumpy()),
            axis=int(q.QuantizedDimension()),
            details_type=int(q.DetailsType()),
        )

    def op(self, sg: Any, index: int) -> checks.FlatOp:
        what = f"operator {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            op = sg.Operators(index)
            options_type = int(op.BuiltinOptionsType())
            table = op.BuiltinOptions()
            options = None
            if table is not None and options_type in _DECODED_OPTIONS:
                self.charge(what, self.TABLE)
                vector = _OPTION_VECTORS.get(options_type)
                if vector is not None:
                    cls, length = vector
                    o = cls()
                    o.Init(table.Bytes, table.Pos)
                    self.length(f"{what}'s options", getattr(o, length)(), 4)
                options = fb.BuiltinOptionsCreator(options_type, table)
            # the lengths are checked before the vectors are read
            checks.check_op_tensor_count(f"operator {index}", "input", op.InputsLength())
            checks.check_op_tensor_count(f"operator {index}", "output", op.OutputsLength())
            # TFLM reads these vectors (and refuses custom options on a builtin op): a corrupt
            # one must be refused here rather than crash TFLM later (edgegen verify)
            custom = not op.CustomOptionsIsNone()
            if custom:
                self.length(f"{what}'s custom options", op.CustomOptionsLength(), 1)
            self.length(f"{what}'s intermediates", op.IntermediatesLength(), 4)
            return checks.FlatOp(
                index=index, opcode_index=int(op.OpcodeIndex()),
                inputs=self.ints(what, op.InputsIsNone(), op.InputsAsNumpy()) or (),
                outputs=self.ints(what, op.OutputsIsNone(), op.OutputsAsNumpy()) or (),
                options_type=options_type, options=options, custom_options=custom,
            )

    def opcode(self, m: Any, index: int) -> checks.FlatOpCode:
        what = f"operator code {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            oc = m.OperatorCodes(index)
            custom = oc.CustomCode()
            return checks.FlatOpCode(
                builtin=int(oc.BuiltinCode()), deprecated_builtin=int(oc.DeprecatedBuiltinCode()),
                custom=None if custom is None else self.name(what, custom, "?"),
            )

    def buffer(self, m: Any, index: int) -> checks.FlatBuffer:
        what = f"buffer {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            b = m.Buffers(index)
            # a view into the file, not a copy: the size is checked against the tensor first
            data = None if b.DataIsNone() else _numpy(b.DataAsNumpy())
            return checks.FlatBuffer(data=data, offset=int(b.Offset()), size=int(b.Size()))


# -- checking and building the graph -------------------------------------------------------


class _Reader:
    def __init__(self, flat: checks.FlatModel, data: bytes, name: str) -> None:
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
        tensors = tuple(self._tensor(t) for t in f.tensors)
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

    def _tensor(self, t: checks.FlatTensor) -> ir.Tensor:
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
        quant = checks.check_quant(t, dtype, shape)
        data = self._buffer(t, where, dtype, shape, nbytes)
        return ir.Tensor(index=t.index, name=t.name, shape=shape, dtype=dtype, quant=quant, data=data)

    def _buffer(self, t: checks.FlatTensor, where: str, dtype: str, shape: tuple[int, ...],
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

    def _op(self, op: checks.FlatOp, tensors: tuple[ir.Tensor, ...], flow: checks.Dataflow) -> ir.Op:
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
        builder = _BUILDERS.get(name)
        if builder is None:
            raise UnsupportedError(
                f"op {index} ({name}) is not supported; supported ops: {', '.join(sorted(_BUILDERS))}"
            )
        where = f"op {index} ({name})"
        checks.check_op_tensor_indices(where, op.inputs, op.outputs, len(tensors))
        flow.op(where, op.inputs, op.outputs)
        expected = _OPTIONS.get(name)
        if expected is not None and op.options_type not in (fb.BuiltinOptions.NONE, expected):
            raise ModelFormatError(
                f"{where} carries {_OPTION_NAMES.get(op.options_type, op.options_type)} options, expected "
                f"{_OPTION_NAMES[expected]}"
            )
        if op.custom_options:
            raise ModelFormatError(f"{where} carries custom options; TFLM refuses a builtin op with custom options")
        if name in _REQUIRED_OPTIONS and op.options is None:
            raise ModelFormatError(
                f"{where} has no {_OPTION_NAMES[_OPTIONS[name]]} table; TFLM would run it with "
                f"{_REQUIRED_OPTIONS[name]}"
            )
        _check_no_scalars(where, op, tensors)
        ctx = _OpContext(index, name, op.inputs, op.outputs, op.options, tensors, self.work)
        return builder(ctx)


def _check_no_scalars(where: str, op: checks.FlatOp, tensors: tuple[ir.Tensor, ...]) -> None:
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


class _OpContext:
    def __init__(
        self,
        index: int,
        name: str,
        inputs: tuple[int, ...],
        outputs: tuple[int, ...],
        options: Any,
        tensors: tuple[ir.Tensor, ...],
        work: checks.Work,
    ) -> None:
        self.index = index
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.options = options
        self.tensors = tensors
        self.work = work

    @property
    def where(self) -> str:
        return f"op {self.index} ({self.name})"

    def fail(self, why: str) -> UnsupportedError:
        return UnsupportedError(f"op {self.index} ({self.name}): {why}")

    def t(self, i: int) -> ir.Tensor:
        ti = self.inputs[i]
        if ti < 0:
            # -1 marks an optional input left out; used as an index it would name the last tensor
            raise ModelFormatError(f"op {self.index} ({self.name}) leaves its required input {i} out (tensor index -1)")
        return self.tensors[ti]

    def out(self, i: int = 0) -> ir.Tensor:
        return self.tensors[self.outputs[i]]

    def n_inputs(self, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(self.inputs) <= hi:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.inputs)} inputs, expected {lo}..{hi}")
        self.one_output()

    def one_output(self) -> None:
        if len(self.outputs) != 1:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.outputs)} outputs, expected 1")

    def opt(self, attr: str) -> Any:
        """An option as TFLM sees it: the table's field (the schema default when the field is
        absent), or 0 when the op has no options table (TFLM's parsers zero their parameters)."""
        if self.options is None:
            return 0
        return getattr(self.options, attr)

    def finite(self, attr: str) -> float:
        """A float option (SOFTMAX beta, LEAKY_RELU alpha); NaN or infinity is a corrupt file."""
        v = float(self.opt(attr))
        if not math.isfinite(v):
            raise ModelFormatError(f"op {self.index} ({self.name}) has {attr} {v}; it must be a finite number")
        return v

    def activation(self) -> ir.Activation:
        a = int(self.opt("fusedActivationFunction"))
        if a not in _ACTIVATIONS:
            raise self.fail(
                f"fused activation {_ACT_NAMES.get(a, a)} is not supported (only NONE, RELU, RELU6, RELU_N1_TO_1)"
            )
        return _ACTIVATIONS[a]

    def padding(self) -> ir.Padding:
        p = int(self.opt("padding"))
        if p not in (fb.Padding.SAME, fb.Padding.VALID):
            raise ModelFormatError(f"op {self.index} ({self.name}) has padding {p}, which is neither SAME nor VALID")
        return ir.Padding.SAME if p == fb.Padding.SAME else ir.Padding.VALID

    def int8_activation(self, t: ir.Tensor, role: str) -> None:
        if t.dtype != "int8":
            raise self.fail(
                f"{role} {t.describe()} is {t.dtype}; edgegen compiles fully int8-quantized models "
                "(convert with full-integer quantization and a representative dataset)"
            )
        if t.quant is None or t.quant.per_channel:
            raise self.fail(f"{role} {t.describe()} needs per-tensor quantization parameters")
        if t.is_const:
            raise self.fail(f"{role} {t.describe()} is a constant; fold it before conversion")

    def const(self, i: int, role: str, dtypes: tuple[str, ...]) -> ir.Tensor:
        t = self.t(i)
        if not t.is_const:
            raise self.fail(f"{role} {t.describe()} must be a constant")
        if t.dtype not in dtypes:
            raise self.fail(f"{role} {t.describe()} has type {t.dtype}, expected {' or '.join(dtypes)}")
        return t

    def rank(self, t: ir.Tensor, ranks: tuple[int, ...], role: str) -> None:
        if len(t.shape) not in ranks:
            raise self.fail(f"{role} {t.describe()} has rank {len(t.shape)}, expected {' or '.join(map(str, ranks))}")


def _stride_dilation(c: _OpContext, sh: str, sw: str) -> tuple[int, int]:
    h, w = int(c.opt(sh)), int(c.opt(sw))
    if h < 1 or w < 1:
        raise c.fail(f"{sh}/{sw} of ({h}, {w}) must be positive")
    return (h, w)


def _conv_common(c: _OpContext, depthwise: bool) -> None:
    c.n_inputs(2, 3)
    x, w, y = c.t(0), c.const(1, "filter", ("int8",)), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    c.rank(x, (4,), "input")
    c.rank(w, (4,), "filter")
    c.rank(y, (4,), "output")
    if depthwise and w.shape[0] != 1:
        raise c.fail(f"filter {w.describe()} must have shape [1, height, width, channels]")
    if w.quant is None:
        raise c.fail(f"filter {w.describe()} is not quantized")
    if any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"filter {w.describe()} has non-zero zero points; int8 weights must be symmetric")
    oc_axis = 3 if depthwise else 0
    if w.quant.per_channel and w.quant.axis != oc_axis:
        raise c.fail(f"filter {w.describe()} is quantized along axis {w.quant.axis}, expected {oc_axis}")
    bias = None
    if depthwise and len(c.inputs) == 3 and c.inputs[2] < 0:
        # TFLM's depthwise Prepare takes three inputs as "has a bias" and then frees the
        # missing bias tensor: it crashes (SIGSEGV) on such a model
        raise c.fail("its bias is left out (-1) as a third input, which crashes TFLM; list only the input and "
                     "the filter")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", ("int32",))
        if b.size != w.shape[oc_axis]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[oc_axis]} output channels")
        bias = b
    if x.shape[0] != 1 and depthwise:
        raise c.fail("batch sizes other than 1 are not supported for DEPTHWISE_CONV_2D")
    if not depthwise:
        _quantized_bias_type(c)
    _accumulator_bound(c, w, bias, oc_axis)


def _quantized_bias_type(c: _OpContext) -> None:
    """CONV_2D and FULLY_CONNECTED options name the bias type; TFLM's parser refuses a value
    that is no tensor type at all, and only int16 kernels use it."""
    t = int(c.opt("quantizedBiasType"))
    if t not in (fb.TensorType.FLOAT32, fb.TensorType.INT32):  # FLOAT32 (0) is the "not set" default
        raise c.fail(f"quantized bias type {_TYPE_NAMES.get(t, t)} in its options is not supported (int8 ops take "
                     "int32 biases)")


def _accumulator_bound(c: _OpContext, w: ir.Tensor, bias: ir.Tensor | None, oc_axis: int) -> None:
    """TFLM (and CMSIS-NN) accumulate in int32; edgegen's simulator in int64. Refuse a layer
    whose accumulator could leave int32: per output channel, 255 x sum |weights| (an input
    minus its zero point is at most 255 in magnitude) plus |bias|."""
    assert w.data is not None
    weights = np.abs(np.moveaxis(w.data.astype(np.int64), oc_axis, 0).reshape(w.shape[oc_axis], -1)).sum(axis=1)
    bound = 255 * weights
    if bias is not None:
        assert bias.data is not None
        bound = bound + np.abs(bias.data.astype(np.int64).reshape(-1))
    worst = int(np.argmax(bound))
    if int(bound[worst]) > checks.INT32_MAX:
        raise c.fail(
            f"output channel {worst} could accumulate up to {int(bound[worst]):,} (255 x the sum of its |weights| "
            "plus |bias|), beyond int32: TFLM and CMSIS-NN accumulate in 32 bits, so such a layer is refused"
        )


def _conv_window(c: _OpContext) -> tuple[tuple[int, int], tuple[int, int]]:
    """Strides and dilations of a convolution, the dilated kernel checked against the input
    (before its work is counted or anything is computed)."""
    x, w = c.t(0), c.t(1)
    stride = _stride_dilation(c, "strideH", "strideW")
    dilation = _stride_dilation(c, "dilationHFactor", "dilationWFactor")
    checks.check_padded_input(c.where, "kernel", x.shape, (w.shape[1], w.shape[2]), dilation, stride,
                              c.padding() == ir.Padding.SAME)
    return stride, dilation


def _conv2d(c: _OpContext) -> ir.Op:
    _conv_common(c, depthwise=False)
    x, w, y = c.t(0), c.t(1), c.out()
    if w.shape[3] != x.shape[3]:
        raise c.fail(
            f"filter input depth {w.shape[3]} differs from the input's {x.shape[3]}; grouped "
            "convolutions are not supported"
        )
    stride, dilation = _conv_window(c)
    c.work.op(c.where, math.prod(y.shape) * w.shape[1] * w.shape[2] * w.shape[3])
    return ir.Conv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=stride,
        dilation=dilation,
        padding=c.padding(),
        activation=c.activation(),
    )


def _depthwise(c: _OpContext) -> ir.Op:
    _conv_common(c, depthwise=True)
    x, w, y = c.t(0), c.t(1), c.out()
    cin, cout = x.shape[3], w.shape[3]
    if cin == 0 or cout % cin != 0:
        raise c.fail(f"output depth {cout} is not a multiple of input depth {cin}")
    if y.shape[3] != cout:
        raise c.fail(f"output {y.describe()} does not have the filter's {cout} channels")
    # TFLM's kernel loops over the options' depth multiplier, not the shapes' (it does not check
    # that they agree): another value writes some output channels twice or not at all
    multiplier = int(c.opt("depthMultiplier"))
    if multiplier != cout // cin:
        raise c.fail(
            f"depth multiplier {multiplier} in its options does not match its shapes ({cout} output channels "
            f"from {cin} input channels: {cout // cin}); TFLM would compute with {multiplier}"
        )
    stride, dilation = _conv_window(c)
    c.work.op(c.where, math.prod(y.shape) * w.shape[1] * w.shape[2])
    return ir.DepthwiseConv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=stride,
        dilation=dilation,
        padding=c.padding(),
        activation=c.activation(),
        depth_multiplier=multiplier,
    )


def _fully_connected(c: _OpContext) -> ir.Op:
    c.n_inputs(2, 3)
    x, w, y = c.t(0), c.const(1, "weights", ("int8",)), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    c.rank(w, (2,), "weights")
    if int(c.opt("weightsFormat")) != 0:
        raise c.fail("shuffled weights formats are not supported")
    if w.quant is None or any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"weights {w.describe()} must be symmetric int8 (zero point 0)")
    if w.quant.per_channel and w.quant.axis != 0:
        raise c.fail(f"weights {w.describe()} are quantized along axis {w.quant.axis}, expected 0")
    depth = w.shape[1]
    if depth == 0 or x.size % depth != 0:
        raise c.fail(f"input {x.describe()} does not split into rows of {depth} values")
    # TFLM takes the number of units from the output's last dimension and the rows from the
    # rest of the output (fully_connected.h), not from the weights or the input
    if y.shape[-1] != w.shape[0] or y.size // y.shape[-1] != x.size // depth:
        raise c.fail(
            f"output {y.describe()} is not {x.size // depth} rows of the weights' {w.shape[0]} units (TFLM reads the "
            "units from the output's last dimension)"
        )
    bias = None
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", ("int32",))
        if b.size != w.shape[0]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[0]} outputs")
        bias = b
    _quantized_bias_type(c)
    if not w.quant.per_channel:
        _per_tensor_bias_scale(c, x, w, bias, y)
    _accumulator_bound(c, w, bias, 0)
    c.work.op(c.where, x.size * w.shape[0])
    return ir.FullyConnected(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        activation=c.activation(),
        keep_num_dims=bool(c.opt("keepNumDims")),
    )


def _per_tensor_bias_scale(c: _OpContext, x: ir.Tensor, w: ir.Tensor, bias: ir.Tensor | None, y: ir.Tensor) -> None:
    """TFLM's per-tensor FULLY_CONNECTED (GetQuantizedConvolutionMultipler) refuses a bias whose
    scale is not input scale x weights scale, within 2 % of the output scale (a bias without
    quantization has scale 0 there)."""
    if bias is None:
        return
    assert x.quant is not None and w.quant is not None and y.quant is not None
    product = float(np.float32(x.quant.scale)) * float(np.float32(w.quant.scale))
    bias_scale = float(np.float32(bias.quant.scale)) if bias.quant is not None else 0.0
    if abs(product - bias_scale) / float(np.float32(y.quant.scale)) > 0.02:
        raise c.fail(
            f"bias {bias.describe()} has scale {bias_scale:.6g}, but input scale x weights scale is {product:.6g}; "
            "TFLM refuses a per-tensor FULLY_CONNECTED whose difference exceeds 2 % of the output scale"
        )


def _pool(kind: str) -> Callable[[_OpContext], ir.Op]:
    def build(c: _OpContext) -> ir.Op:
        c.n_inputs(1)
        x, y = c.t(0), c.out()
        c.int8_activation(x, "input")
        c.int8_activation(y, "output")
        c.rank(x, (4,), "input")
        c.rank(y, (4,), "output")
        if (y.shape[0], y.shape[3]) != (x.shape[0], x.shape[3]):
            raise c.fail(f"output {y.describe()} does not keep the batch and channels of input {x.describe()}")
        if kind == "max" or kind == "avg":
            if x.quant != y.quant:
                raise c.fail("input and output quantization differ; TFLite requires them equal for pooling")
        fh, fw = _stride_dilation(c, "filterHeight", "filterWidth")
        stride = _stride_dilation(c, "strideH", "strideW")
        # a filter is only two numbers: bound it by the input before counting its work
        checks.check_padded_input(c.where, "filter", x.shape, (fh, fw), (1, 1), stride,
                                  c.padding() == ir.Padding.SAME)
        # windows are clipped to the input (TFLM and the simulator skip the padding)
        window = min(fh, x.shape[1]) * min(fw, x.shape[2])
        c.work.op(c.where, math.prod(y.shape) * window, positions=math.prod(y.shape[:3]))
        return ir.Pool2D(
            index=c.index,
            inputs=c.inputs,
            outputs=c.outputs,
            kind=kind,
            filter=(fh, fw),
            stride=stride,
            padding=c.padding(),
            activation=c.activation(),
        )

    return build


def _reduction(cls: type[ir.Mean] | type[ir.ReduceMax], what: str) -> Callable[[_OpContext], ir.Op]:
    """MEAN and REDUCE_MAX: int8 in and out, a constant list of adjacent axes (input 1)."""
    def build(c: _OpContext) -> ir.Op:
        c.n_inputs(2)
        axes = _reduced_axes(c, what)
        if cls is ir.ReduceMax and c.t(0).quant != c.out().quant:
            raise c.fail("input and output quantization differ; TFLM requires them equal for REDUCE_MAX")
        x = c.t(0)
        # REDUCE_MAX is lowered to a max pool with one output position per outer element
        outer = math.prod(x.shape[: axes[0]]) if cls is ir.ReduceMax else 0
        c.work.op(c.where, x.size, positions=outer)
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs, axes=tuple(axes),
                   keep_dims=bool(c.opt("keepDims")))

    return build


def _reduced_axes(c: _OpContext, what: str) -> list[int]:
    """The checked, sorted, adjacent axes of a MEAN or REDUCE_MAX (input 1)."""
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    axes_t = c.const(1, "axis", ("int32",))  # TFLM refuses int64 axes
    assert axes_t.data is not None
    rank = len(x.shape)
    if axes_t.size == 0:
        raise c.fail(f"axis {axes_t.describe()} lists no axes")
    axes = sorted({int(a) % rank if -rank <= int(a) < rank else -1 for a in axes_t.data.reshape(-1)})
    if -1 in axes:
        raise c.fail(f"axis {axes_t.data.tolist()} out of range for rank {rank}")
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise c.fail(f"{c.name} over non-adjacent axes {axes} is not supported")
    reduced = 1
    for a in axes:
        reduced *= x.shape[a]
    if y.size * reduced != x.size:
        raise c.fail(f"output {y.describe()} does not hold the {what} of {x.describe()} over axes {axes}")
    return axes


def _binary(cls: type[ir.Add] | type[ir.Sub] | type[ir.Mul]) -> Callable[[_OpContext], ir.Op]:
    def build(c: _OpContext) -> ir.Op:
        c.n_inputs(2)
        a, b, y = c.t(0), c.t(1), c.out()
        for role, t in (("first input", a), ("second input", b)):
            if t.is_const:
                if t.dtype != "int8" or t.quant is None or t.quant.per_channel:
                    raise c.fail(f"constant {role} {t.describe()} must be per-tensor int8")
            else:
                c.int8_activation(t, role)
        c.int8_activation(y, "output")
        if len(a.shape) > 4 or len(b.shape) > 4:
            raise c.fail("broadcasting beyond 4 dimensions is not supported")
        _check_broadcast(c, a.shape, b.shape, y.shape)
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs, activation=c.activation())

    return build


def _check_broadcast(c: _OpContext, a: tuple[int, ...], b: tuple[int, ...], y: tuple[int, ...]) -> None:
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for da, db in zip(pa, pb, strict=True):
        if da != db and 1 not in (da, db):
            raise c.fail(f"shapes {list(a)} and {list(b)} do not broadcast")
        out.append(max(da, db))
    if tuple(out) != tuple(y):
        raise c.fail(f"output shape {list(y)} is not the broadcast shape {out}")


def _softmax(c: _OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if not x.shape or x.shape != y.shape:
        raise c.fail(f"input {x.describe()} and output {y.describe()} must have the same shape, of rank 1 or more")
    assert y.quant is not None
    # TFLM compares the float32 scale with 1/256 exactly
    if y.quant.zero_point != -128 or np.float32(y.quant.scale) != np.float32(1 / 256):
        raise c.fail("int8 SOFTMAX output must have scale 1/256 and zero point -128 (as TFLM requires)")
    return ir.Softmax(index=c.index, inputs=c.inputs, outputs=c.outputs, beta=c.finite("beta"))


def _reshape(c: _OpContext) -> ir.Op:
    lo, hi = {"RESHAPE": (1, 2), "EXPAND_DIMS": (2, 2)}.get(c.name, (1, 1))
    c.n_inputs(lo, hi)
    x, y = c.t(0), c.out()
    if x.dtype != y.dtype or x.size != y.size:
        raise c.fail(f"reshapes {x.describe()} to {y.describe()}: element counts or types differ")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    if x.is_const:
        raise c.fail(f"input {x.describe()} is a constant; fold it before conversion")
    if c.name == "RESHAPE":
        # TFLM's parser copies new_shape into an array of 8 and refuses a longer one
        new_shape = c.opt("newShape") if c.options is not None else None
        if new_shape is not None and len(new_shape) > 8:
            raise c.fail(f"its options list a new shape of {len(new_shape)} dimensions; TFLM takes at most 8")
    if c.name == "SQUEEZE":
        _check_squeeze(c, x, y)
    elif c.name == "EXPAND_DIMS":
        _check_expand_dims(c, x, y)
    return ir.Reshape(index=c.index, inputs=c.inputs[:1], outputs=c.outputs)


def _check_squeeze(c: _OpContext, x: ir.Tensor, y: ir.Tensor) -> None:
    """TFLM's SqueezePrepare: the listed dimensions (all dimensions of size 1 when none are
    listed) exist and have size 1; what remains must fit the output (it aborts otherwise)."""
    rank = len(x.shape)
    if rank > 8:
        raise c.fail(f"input {x.describe()} has rank {rank}; TFLM squeezes tensors of up to 8 dimensions")
    listed = c.opt("squeezeDims") if c.options is not None else None
    dims = [int(d) for d in (listed if listed is not None else [])]
    if len(dims) > 8:
        raise c.fail(f"its options list {len(dims)} squeeze dimensions; TFLM takes at most 8")
    squeezed = set()
    for d in dims:
        a = d + rank if d < 0 else d
        if not 0 <= a < rank or x.shape[a] != 1:
            raise c.fail(f"squeeze dimension {d} is not a dimension of size 1 of input {x.describe()}")
        squeezed.add(a)
    if not dims:
        squeezed = {a for a in range(rank) if x.shape[a] == 1}
    kept = [x.shape[a] for a in range(rank) if a not in squeezed]
    if list(y.shape) != kept:
        raise c.fail(f"output {y.describe()} is not input {x.describe()} without dimensions {sorted(squeezed)}")


def _check_expand_dims(c: _OpContext, x: ir.Tensor, y: ir.Tensor) -> None:
    """TFLM's ExpandDimsPrepare: a constant int32 axis of one element (TFLM refuses int64), in
    range, and the output is the input with a 1 inserted there."""
    axis_t = c.const(1, "axis", ("int32",))
    assert axis_t.data is not None
    if len(axis_t.shape) > 1 or axis_t.size != 1:
        raise c.fail(f"axis {axis_t.describe()} must hold one value")
    axis = int(axis_t.data.reshape(-1)[0])
    rank = len(x.shape)
    a = axis + rank + 1 if axis < 0 else axis
    if not 0 <= a <= rank:
        raise c.fail(f"axis {axis} is out of range for input {x.describe()}")
    if list(y.shape) != [*x.shape[:a], 1, *x.shape[a:]]:
        raise c.fail(f"output {y.describe()} is not input {x.describe()} with a dimension of 1 inserted at {a}")


def _pad(c: _OpContext) -> ir.Op:
    c.n_inputs(2, 3)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        v = c.const(2, "constant value", ("int8",))
        assert v.data is not None and y.quant is not None
        if v.size != 1:
            raise c.fail(f"constant value {v.describe()} must hold one value")
        # TFLM pads with the value and requires it quantized as the output
        if v.quant is None or (v.quant.zero_point, np.float32(v.quant.scale)) != (
                y.quant.zero_point, np.float32(y.quant.scale)):
            raise c.fail(f"constant value {v.describe()} is not quantized as the output (TFLM requires it)")
        if int(v.data.reshape(-1)[0]) != y.quant.zero_point:
            raise c.fail("PADV2 with a value other than the zero point is not supported")
    # TFLM reads the paddings as int32 whatever their type: int64 ones would be misread
    p = c.const(1, "paddings", ("int32",))
    assert p.data is not None
    if p.data.shape != (len(x.shape), 2):
        raise c.fail(f"paddings {p.data.shape} do not match input rank {len(x.shape)}")
    if len(x.shape) > 4:
        raise c.fail("PAD of tensors with more than 4 dimensions is not supported")
    pads = tuple((int(a), int(b)) for a, b in p.data.tolist())
    if any(a < 0 or b < 0 for a, b in pads):
        raise c.fail(f"negative paddings {pads} are not supported")
    exp = tuple(d + a + b for d, (a, b) in zip(x.shape, pads, strict=False))
    if exp != y.shape:
        raise c.fail(f"output shape {list(y.shape)} does not match padded shape {list(exp)}")
    return ir.Pad(index=c.index, inputs=c.inputs[:2], outputs=c.outputs, paddings=pads)


#: TFLM's CONCATENATION kernel (kMaxInputNum)
_MAX_CONCAT_INPUTS = 10


def _concat(c: _OpContext) -> ir.Op:
    if len(c.inputs) < 1:
        raise ModelFormatError(f"op {c.index} (CONCATENATION) has no inputs")
    if len(c.inputs) > _MAX_CONCAT_INPUTS:
        raise c.fail(f"{len(c.inputs)} inputs; TFLM concatenates at most {_MAX_CONCAT_INPUTS}")
    c.one_output()
    y = c.out()
    c.int8_activation(y, "output")
    rank = len(y.shape)
    axis = int(c.opt("axis"))
    if not -rank <= axis < rank:
        raise c.fail(f"axis {axis} out of range for rank {rank}")
    axis %= rank
    total = 0
    for i in range(len(c.inputs)):
        t = c.t(i)
        c.int8_activation(t, f"input {i}")
        if t.quant != y.quant:
            raise c.fail(
                f"input {t.describe()} is quantized differently from the output; TFLM requires "
                "equal quantization for int8 CONCATENATION"
            )
        if len(t.shape) != rank or any(t.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise c.fail(f"input {t.describe()} does not fit output {list(y.shape)} along axis {axis}")
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise c.fail(f"inputs add up to {total} along axis {axis}, output has {y.shape[axis]}")
    act = c.activation()
    if act != ir.Activation.NONE:
        raise c.fail("fused activations on CONCATENATION are not supported")
    return ir.Concatenation(index=c.index, inputs=c.inputs, outputs=c.outputs, axis=axis, activation=act)


def _unary(build_op: Callable[[_OpContext], ir.Op]) -> Callable[[_OpContext], ir.Op]:
    def build(c: _OpContext) -> ir.Op:
        c.n_inputs(1)
        c.int8_activation(c.t(0), "input")
        c.int8_activation(c.out(), "output")
        if c.t(0).shape != c.out().shape:
            raise c.fail("input and output shapes differ")
        return build_op(c)

    return build


def _relu(kind: ir.Activation) -> Callable[[_OpContext], ir.Op]:
    return _unary(lambda c: ir.Relu(index=c.index, inputs=c.inputs, outputs=c.outputs, kind=kind))


def _logistic(c: _OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if q.zero_point != -128 or abs(q.scale - 1 / 256) > 1e-9:
        raise c.fail("int8 LOGISTIC output must have scale 1/256 and zero point -128")
    return ir.Logistic(index=c.index, inputs=c.inputs, outputs=c.outputs)


def _tanh(c: _OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if q.zero_point != 0 or abs(q.scale - 1 / 128) > 1e-9:
        raise c.fail("int8 TANH output must have scale 1/128 and zero point 0")
    return ir.Tanh(index=c.index, inputs=c.inputs, outputs=c.outputs)


def _quantize(c: _OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(y, "output")
    if x.dtype == "float32":
        if x.is_const:
            raise c.fail("quantizing a constant is not supported")
    else:
        c.int8_activation(x, "input")
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return ir.Quantize(index=c.index, inputs=c.inputs, outputs=c.outputs)


def _dequantize(c: _OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    if y.dtype != "float32":
        raise c.fail(f"output {y.describe()} must be float32")
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return ir.Dequantize(index=c.index, inputs=c.inputs, outputs=c.outputs)


_BUILDERS: dict[str, Callable[[_OpContext], ir.Op]] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool("avg"),
    "MAX_POOL_2D": _pool("max"),
    "MEAN": _reduction(ir.Mean, "mean"),
    "REDUCE_MAX": _reduction(ir.ReduceMax, "maximum"),
    "ADD": _binary(ir.Add),
    "SUB": _binary(ir.Sub),
    "MUL": _binary(ir.Mul),
    "SOFTMAX": _softmax,
    "RESHAPE": _reshape,
    "SQUEEZE": _reshape,
    "EXPAND_DIMS": _reshape,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concat,
    "LOGISTIC": _unary(_logistic),
    "TANH": _unary(_tanh),
    "RELU": _relu(ir.Activation.RELU),
    "RELU6": _relu(ir.Activation.RELU6),
    "RELU_N1_TO_1": _relu(ir.Activation.RELU_N1_TO_1),
    "LEAKY_RELU": _unary(
        lambda c: ir.LeakyRelu(index=c.index, inputs=c.inputs, outputs=c.outputs, alpha=c.finite("alpha"))
    ),
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(_BUILDERS))
