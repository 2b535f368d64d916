"""Read an int8 .tflite flatbuffer into an :class:`edgegen.ir.Graph`.

The schema comes from ai-edge-litert's generated flatbuffer code, so reading needs no
TensorFlow. Everything the compiler cannot take is refused here with a message that names the
op or tensor; later stages may assume a well-formed, supported graph.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from . import ir
from .errors import EdgegenError, ModelFormatError, UnsupportedError

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

#: the largest element count edgegen accepts for one tensor; microcontrollers have well under
#: this much memory, and it keeps hostile shapes from allocating gigabytes on the host
MAX_TENSOR_ELEMENTS = 1 << 28


def read_tflite(path: str | Path) -> ir.Graph:
    """Read ``path``; every problem is an :class:`EdgegenError` naming the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise EdgegenError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise EdgegenError(f"{p}: is a directory, expected a .tflite file") from None
    except OSError as e:
        raise EdgegenError(f"{p}: cannot read it ({e.strerror})") from None
    try:
        return parse_tflite(data, name=p.stem)
    except EdgegenError as e:
        raise type(e)(f"{p}: {e}") from None


def parse_tflite(data: bytes, name: str = "model") -> ir.Graph:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelFormatError(
            "not a TFLite model (no 'TFL3' flatbuffer identifier); give an int8 .tflite file "
            "or a Keras model"
        )
    try:
        model = fb.ModelT.InitFromPackedBuf(data, 0)
    except EdgegenError:
        raise
    except Exception as e:  # the generated flatbuffer code raises many kinds on bad input
        raise ModelFormatError(f"corrupt or truncated flatbuffer ({type(e).__name__}: {e})") from None
    try:
        graph = _Reader(model, data, name).graph()
    except EdgegenError:
        raise
    except (IndexError, ValueError, TypeError, AttributeError, OverflowError) as e:
        raise ModelFormatError(f"inconsistent model structure ({type(e).__name__}: {e})") from None
    ir.verify(graph)
    return graph


class _Reader:
    def __init__(self, model: Any, data: bytes, name: str) -> None:
        self.model = model
        self.data = data
        self.name = name

    def graph(self) -> ir.Graph:
        m = self.model
        subgraphs = m.subgraphs or []
        if len(subgraphs) != 1:
            raise UnsupportedError(
                f"the model has {len(subgraphs)} subgraphs; edgegen compiles models with exactly "
                "one (no control flow ops such as WHILE or IF)"
            )
        sg = subgraphs[0]
        raw_tensors = sg.tensors or []
        tensors = tuple(self._tensor(i, t) for i, t in enumerate(raw_tensors))
        ops = []
        for i, op in enumerate(sg.operators or []):
            ops.append(self._op(i, op, tensors))
        inputs = tuple(int(x) for x in (sg.inputs if sg.inputs is not None else []))
        outputs = tuple(int(x) for x in (sg.outputs if sg.outputs is not None else []))
        for kind, idx in [("input", inputs), ("output", outputs)]:
            for t in idx:
                if not 0 <= t < len(tensors):
                    raise ModelFormatError(f"model {kind} names tensor {t}, but there are {len(tensors)}")
        if not inputs or not outputs:
            raise ModelFormatError("the model declares no inputs or no outputs")
        return ir.Graph(
            name=self.name,
            tensors=tensors,
            ops=tuple(ops),
            inputs=inputs,
            outputs=outputs,
            source_sha256=hashlib.sha256(self.data).hexdigest(),
        )

    # -- tensors ---------------------------------------------------------------------------

    def _tensor(self, index: int, t: Any) -> ir.Tensor:
        name = _decode_name(t.name, index)
        where = f"tensor {index} '{name}'"
        if t.type not in _TYPES:
            raise UnsupportedError(
                f"{where} has element type {_TYPE_NAMES.get(t.type, t.type)}; edgegen handles "
                "int8 activations, int8/int32 constants and float32 model inputs/outputs"
            )
        dtype = _TYPES[t.type]
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        sig = t.shapeSignature
        if any(d < 0 for d in shape) or (sig is not None and any(int(d) < 0 for d in sig[1:])):
            raise UnsupportedError(
                f"{where} has a dynamic shape {list(sig if sig is not None else shape)}; "
                "convert the model with fixed input shapes (batch size 1)"
            )
        count = 1
        for d in shape:
            count *= d
            if count > MAX_TENSOR_ELEMENTS:
                raise UnsupportedError(f"{where} has shape {list(shape)}, far too large for a microcontroller")
        quant = self._quant(t.quantization, where, shape)
        data = self._buffer(t.buffer, where, dtype, shape)
        return ir.Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant, data=data)

    def _quant(self, q: Any, where: str, shape: tuple[int, ...]) -> ir.QuantParams | None:
        if q is None or q.scale is None or len(q.scale) == 0:
            return None
        scales = tuple(float(s) for s in q.scale)
        zps = tuple(int(z) for z in (q.zeroPoint if q.zeroPoint is not None else [0] * len(scales)))
        if len(zps) != len(scales):
            raise ModelFormatError(f"{where} has {len(scales)} scales but {len(zps)} zero points")
        if not all(np.isfinite(s) and s > 0 for s in scales):
            raise ModelFormatError(f"{where} has a non-positive or non-finite quantization scale")
        axis = int(q.quantizedDimension)
        if len(scales) > 1:
            if not 0 <= axis < len(shape) or shape[axis] != len(scales):
                raise ModelFormatError(
                    f"{where} has {len(scales)} per-channel scales along axis {axis}, which does "
                    f"not match its shape {list(shape)}"
                )
        return ir.QuantParams(scales=scales, zero_points=zps, axis=axis)

    def _buffer(self, index: int, where: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
        buffers = self.model.buffers or []
        if index == 0:
            return None
        if not 0 <= index < len(buffers):
            raise ModelFormatError(f"{where} refers to buffer {index}, but the model has {len(buffers)}")
        b = buffers[index]
        raw: bytes | None
        if b.data is not None and len(b.data) > 0:
            raw = bytes(np.asarray(b.data, dtype=np.uint8))
        elif b.offset > 1:
            end = b.offset + b.size
            if end > len(self.data):
                raise ModelFormatError(f"{where}: its data lies beyond the end of the file")
            raw = self.data[b.offset : end]
        else:
            raw = None
        if raw is None:
            return None
        np_dtype = np.dtype(ir.DTYPES[dtype]).newbyteorder("<")
        count = 1
        for d in shape:
            count *= d
        if len(raw) != count * np_dtype.itemsize:
            raise ModelFormatError(
                f"{where} has shape {list(shape)} ({count * np_dtype.itemsize} bytes of {dtype}) "
                f"but its buffer holds {len(raw)} bytes"
            )
        arr = np.frombuffer(raw, dtype=np_dtype).astype(np_dtype.newbyteorder("="))
        return arr.reshape(shape)

    # -- ops -------------------------------------------------------------------------------

    def _op(self, index: int, op: Any, tensors: tuple[ir.Tensor, ...]) -> ir.Op:
        codes = self.model.operatorCodes or []
        if not 0 <= op.opcodeIndex < len(codes):
            raise ModelFormatError(f"op {index} has opcode index {op.opcodeIndex}, but the model has {len(codes)}")
        oc = codes[op.opcodeIndex]
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        name = _OP_NAMES.get(code, f"builtin {code}")
        if code == fb.BuiltinOperator.CUSTOM:
            cname = oc.customCode.decode("utf-8", "replace") if oc.customCode else "?"
            raise UnsupportedError(f"op {index} is the custom op '{cname}'; edgegen compiles builtin ops only")
        builder = _BUILDERS.get(name)
        if builder is None:
            raise UnsupportedError(
                f"op {index} ({name}) is not supported; supported ops: {', '.join(sorted(_BUILDERS))}"
            )
        inputs = tuple(int(x) for x in (op.inputs if op.inputs is not None else []))
        outputs = tuple(int(x) for x in (op.outputs if op.outputs is not None else []))
        for t in inputs + outputs:
            if not -1 <= t < len(tensors):
                raise ModelFormatError(f"op {index} ({name}) refers to tensor {t}, but the model has {len(tensors)}")
        if not outputs or any(t < 0 for t in outputs):
            raise ModelFormatError(f"op {index} ({name}) has no valid output tensor")
        ctx = _OpContext(index, name, inputs, outputs, op.builtinOptions, tensors)
        return builder(ctx)


def _decode_name(raw: Any, index: int) -> str:
    if raw is None:
        return f"t{index}"
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


class _OpContext:
    def __init__(
        self,
        index: int,
        name: str,
        inputs: tuple[int, ...],
        outputs: tuple[int, ...],
        options: Any,
        tensors: tuple[ir.Tensor, ...],
    ) -> None:
        self.index = index
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.options = options
        self.tensors = tensors

    def fail(self, why: str) -> UnsupportedError:
        return UnsupportedError(f"op {self.index} ({self.name}): {why}")

    def t(self, i: int) -> ir.Tensor:
        return self.tensors[self.inputs[i]]

    def out(self, i: int = 0) -> ir.Tensor:
        return self.tensors[self.outputs[i]]

    def n_inputs(self, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(self.inputs) <= hi:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.inputs)} inputs, expected {lo}..{hi}")
        if len(self.outputs) != 1:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.outputs)} outputs, expected 1")

    def opt(self, attr: str, default: Any) -> Any:
        if self.options is None:
            return default
        return getattr(self.options, attr, default)

    def activation(self) -> ir.Activation:
        a = int(self.opt("fusedActivationFunction", fb.ActivationFunctionType.NONE))
        if a not in _ACTIVATIONS:
            raise self.fail(
                f"fused activation {_ACT_NAMES.get(a, a)} is not supported (only NONE, RELU, RELU6, RELU_N1_TO_1)"
            )
        return _ACTIVATIONS[a]

    def padding(self) -> ir.Padding:
        p = int(self.opt("padding", fb.Padding.SAME))
        return ir.Padding.SAME if p == fb.Padding.SAME else ir.Padding.VALID

    def int8_activation(self, t: ir.Tensor, role: str) -> None:
        if t.dtype != "int8":
            raise self.fail(
                f"{role} {t.describe()} is {t.dtype}; edgegen compiles fully int8-quantized models "
                "(convert with full-integer quantization and a representative dataset)"
            )
        if t.quant is None or t.quant.per_channel:
            raise self.fail(f"{role} {t.describe()} needs per-tensor quantization parameters")
        if not -128 <= t.quant.zero_point <= 127:
            raise ModelFormatError(f"{t.describe()} has zero point {t.quant.zero_point}, outside int8")
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
    h, w = int(c.opt(sh, 1)), int(c.opt(sw, 1))
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
    if w.quant is None:
        raise c.fail(f"filter {w.describe()} is not quantized")
    if any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"filter {w.describe()} has non-zero zero points; int8 weights must be symmetric")
    oc_axis = 3 if depthwise else 0
    if w.quant.per_channel and w.quant.axis != oc_axis:
        raise c.fail(f"filter {w.describe()} is quantized along axis {w.quant.axis}, expected {oc_axis}")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", ("int32",))
        if b.size != w.shape[oc_axis]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[oc_axis]} output channels")
    if x.shape[0] != 1 and depthwise:
        raise c.fail("batch sizes other than 1 are not supported for DEPTHWISE_CONV_2D")


def _conv2d(c: _OpContext) -> ir.Op:
    _conv_common(c, depthwise=False)
    x, w = c.t(0), c.t(1)
    if w.shape[3] != x.shape[3]:
        raise c.fail(
            f"filter input depth {w.shape[3]} differs from the input's {x.shape[3]}; grouped "
            "convolutions are not supported"
        )
    return ir.Conv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=_stride_dilation(c, "strideH", "strideW"),
        dilation=_stride_dilation(c, "dilationHFactor", "dilationWFactor"),
        padding=c.padding(),
        activation=c.activation(),
    )


def _depthwise(c: _OpContext) -> ir.Op:
    _conv_common(c, depthwise=True)
    x, w, y = c.t(0), c.t(1), c.out()
    cin, cout = x.shape[3], w.shape[3]
    if cin == 0 or cout % cin != 0 or y.shape[3] != cout:
        raise c.fail(f"output depth {cout} is not a multiple of input depth {cin}")
    return ir.DepthwiseConv2D(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        stride=_stride_dilation(c, "strideH", "strideW"),
        dilation=_stride_dilation(c, "dilationHFactor", "dilationWFactor"),
        padding=c.padding(),
        activation=c.activation(),
        depth_multiplier=cout // cin,
    )


def _fully_connected(c: _OpContext) -> ir.Op:
    c.n_inputs(2, 3)
    x, w, y = c.t(0), c.const(1, "weights", ("int8",)), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    c.rank(w, (2,), "weights")
    if int(c.opt("weightsFormat", 0)) != 0:
        raise c.fail("shuffled weights formats are not supported")
    if w.quant is None or any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"weights {w.describe()} must be symmetric int8 (zero point 0)")
    if w.quant.per_channel and w.quant.axis != 0:
        raise c.fail(f"weights {w.describe()} are quantized along axis {w.quant.axis}, expected 0")
    depth = w.shape[1]
    if depth == 0 or x.size % depth != 0:
        raise c.fail(f"input {x.describe()} does not split into rows of {depth} values")
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", ("int32",))
        if b.size != w.shape[0]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[0]} outputs")
    return ir.FullyConnected(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        activation=c.activation(),
        keep_num_dims=bool(c.opt("keepNumDims", False)),
    )


def _pool(kind: str) -> Callable[[_OpContext], ir.Op]:
    def build(c: _OpContext) -> ir.Op:
        c.n_inputs(1)
        x, y = c.t(0), c.out()
        c.int8_activation(x, "input")
        c.int8_activation(y, "output")
        c.rank(x, (4,), "input")
        if kind == "max" or kind == "avg":
            if x.quant != y.quant:
                raise c.fail("input and output quantization differ; TFLite requires them equal for pooling")
        return ir.Pool2D(
            index=c.index,
            inputs=c.inputs,
            outputs=c.outputs,
            kind=kind,
            filter=_stride_dilation(c, "filterHeight", "filterWidth"),
            stride=_stride_dilation(c, "strideH", "strideW"),
            padding=c.padding(),
            activation=c.activation(),
        )

    return build


def _mean(c: _OpContext) -> ir.Op:
    c.n_inputs(2)
    x, y = c.t(0), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    axes_t = c.const(1, "axis", ("int32", "int64"))
    assert axes_t.data is not None
    rank = len(x.shape)
    axes = sorted({int(a) % rank if -rank <= int(a) < rank else -1 for a in axes_t.data.reshape(-1)})
    if -1 in axes:
        raise c.fail(f"axis {axes_t.data.tolist()} out of range for rank {rank}")
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise c.fail(f"MEAN over non-adjacent axes {axes} is not supported")
    return ir.Mean(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        axes=tuple(axes),
        keep_dims=bool(c.opt("keepDims", False)),
    )


def _binary(cls: type[ir.Add] | type[ir.Mul]) -> Callable[[_OpContext], ir.Op]:
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
    assert y.quant is not None
    if y.quant.zero_point != -128 or abs(y.quant.scale - 1 / 256) > 1e-9:
        raise c.fail("int8 SOFTMAX output must have scale 1/256 and zero point -128 (as TFLite requires)")
    return ir.Softmax(index=c.index, inputs=c.inputs, outputs=c.outputs, beta=float(c.opt("beta", 1.0)))


def _reshape(c: _OpContext) -> ir.Op:
    c.n_inputs(1, 2)
    x, y = c.t(0), c.out()
    if x.dtype != y.dtype or x.size != y.size:
        raise c.fail(f"reshapes {x.describe()} to {y.describe()}: element counts or types differ")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    if x.is_const:
        raise c.fail(f"input {x.describe()} is a constant; fold it before conversion")
    return ir.Reshape(index=c.index, inputs=c.inputs[:1], outputs=c.outputs)


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
        if int(v.data.reshape(-1)[0]) != y.quant.zero_point:
            raise c.fail("PADV2 with a value other than the zero point is not supported")
    p = c.const(1, "paddings", ("int32", "int64"))
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


def _concat(c: _OpContext) -> ir.Op:
    if len(c.inputs) < 1:
        raise ModelFormatError(f"op {c.index} (CONCATENATION) has no inputs")
    y = c.out()
    c.int8_activation(y, "output")
    rank = len(y.shape)
    axis = int(c.opt("axis", 0))
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
    "MEAN": _mean,
    "ADD": _binary(ir.Add),
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
        lambda c: ir.LeakyRelu(index=c.index, inputs=c.inputs, outputs=c.outputs, alpha=float(c.opt("alpha", 0.2)))
    ),
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(_BUILDERS))
