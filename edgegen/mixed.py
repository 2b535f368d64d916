"""Mixed int8/int16 models: splice an int8 and a 16x8 ``.tflite`` of the same graph, op by op.

TensorFlow's converter quantizes a whole model one way: full int8, or TFLite's 16x8 scheme
(int16 activations, int8 weights, int64 biases). It has no per-layer choice. Both conversions of
the same Keras model with the same representative data give the same graph (the same operators
in the same order, each with the same inputs and outputs by position; the 16x8 one adds a
QUANTIZE int16 -> int16 before some ops, CONCATENATION, to bring inputs to one scale, which goes
with that op) and the same calibrated ranges, so a mixed model is built from the two: every op
chosen int16 is taken from the 16x8 model (its options, its int8 weights and int64 bias, its
int16 activation tensors with their scales), every other op from the int8 model, and where a
tensor's producer and a consumer differ in precision a QUANTIZE op requantizes it (int8 -> int16
or int16 -> int8; TFLM's QUANTIZE kernel runs both), the new tensor taking the scale and zero
point the other model gives that tensor.

Graph inputs take the precision of the ops that read them (int16 when all of them are int16 ops),
graph outputs that of the op that writes them; a float model's input QUANTIZE and output
DEQUANTIZE follow the op they feed or read. So an all-int8 splice is the int8 model and an
all-int16 splice the 16x8 model, op for op and tensor for tensor (tests/keras/test_precision.py
runs both in TFLM). Only the object API of ``ai_edge_litert``'s flatbuffer schema is used: no
TensorFlow.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .errors import EdgegenError

_OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_NAMES: dict[int, str] = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_TYPE_BYTES = {"float32": 4, "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1, "float16": 2}


def _load(data: bytes, what: str) -> fb.ModelT:
    try:
        model = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as e:  # a truncated or foreign file
        raise EdgegenError(f"{what}: not a TFLite flatbuffer ({type(e).__name__}: {e})") from None
    if model.subgraphs is None or len(model.subgraphs) != 1:
        raise EdgegenError(f"{what}: mixed precision needs a model of one subgraph")
    return model


def _code(model: fb.ModelT, op: fb.OperatorT) -> int:
    oc = model.operatorCodes[op.opcodeIndex]
    return int(max(oc.builtinCode, oc.deprecatedBuiltinCode))


def op_names(data: bytes) -> list[str]:
    """The builtin name of each op of subgraph 0 (``CONV_2D``...), in execution order."""
    m = _load(data, "model")
    return [_OP_NAMES.get(_code(m, op), str(_code(m, op))) for op in m.subgraphs[0].operators or []]


def io_dtypes(data: bytes) -> tuple[list[str], list[str]]:
    """The element types of the model's inputs, and of its outputs (``int8``, ``int16``, ``float32``)."""
    m = _load(data, "model")
    g = m.subgraphs[0]
    return ([_TYPE_NAMES.get(g.tensors[t].type, "?") for t in _ints(g.inputs)],
            [_TYPE_NAMES.get(g.tensors[t].type, "?") for t in _ints(g.outputs)])


def _is_const(model: fb.ModelT, t: fb.TensorT) -> bool:
    buf = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
    return buf is not None and ((buf.data is not None and len(buf.data) > 0) or bool(getattr(buf, "size", 0)))


def _ints(v: Iterable[int] | None) -> list[int]:
    return [int(i) for i in v] if v is not None else []


@dataclass
class _Splicer:
    a: fb.ModelT  # int8
    b: fb.ModelT  # 16x8
    wide: frozenset[int]  # op indices taken from b

    def __post_init__(self) -> None:
        self.out = copy.deepcopy(self.a)
        self.g = self.out.subgraphs[0]
        self.ga = self.a.subgraphs[0]
        self.gb = self.b.subgraphs[0]
        self.tensors: list[fb.TensorT] = []
        self.buffers: list[fb.BufferT] = [fb.BufferT()]
        self.ops: list[fb.OperatorT] = []
        self.codes: list[fb.OperatorCodeT] = []
        self._a_buf: dict[int, int] = {}
        self._b_const: dict[int, int] = {}
        self._a_const: dict[int, int] = {}
        # activation tensor of a -> {precision: new tensor index}
        self._version: dict[int, dict[int, int]] = {}
        self._home: dict[int, int] = {}  # activation tensor of a -> the precision it is produced in
        self._pair: dict[int, int] = {}  # activation tensor of a -> the same tensor in b
        self._extra: dict[int, fb.OperatorT] = {}  # b's requantizations a has not, by output tensor
        self._requant: dict[tuple[int, int], int] = {}
        self._ob = self._align()  # b's ops, one per op of a

    # -- building blocks ------------------------------------------------------------------
    def _buffer(self, src: fb.BufferT) -> int:
        self.buffers.append(copy.deepcopy(src))
        return len(self.buffers) - 1

    def _tensor(self, src: fb.TensorT, model: fb.ModelT, name_suffix: str = "") -> int:
        t = copy.deepcopy(src)
        if t.buffer > 0:
            if model is self.a:
                t.buffer = self._a_buf.setdefault(src.buffer, -1)
                if t.buffer < 0:
                    t.buffer = self._a_buf[src.buffer] = self._buffer(self.a.buffers[src.buffer])
            else:
                t.buffer = self._buffer(model.buffers[src.buffer])
        if name_suffix:
            t.name = (t.name or b"") + name_suffix.encode()
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _opcode(self, model: fb.ModelT, code_index: int) -> int:
        src = model.operatorCodes[code_index]
        for i, c in enumerate(self.codes):
            if (c.builtinCode, c.deprecatedBuiltinCode, c.version, c.customCode) == \
                    (src.builtinCode, src.deprecatedBuiltinCode, src.version, src.customCode):
                return i
        self.codes.append(copy.deepcopy(src))
        return len(self.codes) - 1

    def _quantize_code(self) -> int:
        op = fb.OperatorCodeT()
        op.builtinCode = fb.BuiltinOperator.QUANTIZE
        op.deprecatedBuiltinCode = fb.BuiltinOperator.QUANTIZE
        op.version = 1
        for i, c in enumerate(self.codes):
            if c.builtinCode == op.builtinCode:
                return i
        self.codes.append(op)
        return len(self.codes) - 1

    # -- tensors --------------------------------------------------------------------------
    def _const(self, model: fb.ModelT, index: int) -> int:
        memo = self._a_const if model is self.a else self._b_const
        if index not in memo:
            g = self.ga if model is self.a else self.gb
            memo[index] = self._tensor(g.tensors[index], model)
        return memo[index]

    def _version_of(self, ta: int, prec: int) -> int:
        """The new tensor holding activation ``ta`` of the int8 model in ``prec`` bits, made by a
        QUANTIZE from the version it is produced in when that is the other precision."""
        have = self._version.setdefault(ta, {})
        if prec in have:
            return have[prec]
        home = self._home[ta]
        src = have[home]
        if prec == 8:
            dst = self._tensor(self.ga.tensors[ta], self.a, "_as_int8" if home != 8 else "")
        else:
            dst = self._tensor(self.gb.tensors[self._pair[ta]], self.b, "_as_int16")
        q = fb.OperatorT()
        q.opcodeIndex = self._quantize_code()
        q.inputs, q.outputs = [src], [dst]
        self.ops.append(q)
        have[prec] = dst
        return dst

    def _produce(self, ta: int, prec: int) -> int:
        self._home[ta] = prec
        src, model = (self.ga.tensors[ta], self.a) if prec == 8 else (self.gb.tensors[self._pair[ta]], self.b)
        idx = self._tensor(src, model)
        self._version.setdefault(ta, {})[prec] = idx
        return idx

    # -- the splice -----------------------------------------------------------------------
    def _align(self) -> list[fb.OperatorT]:
        """The 16x8 model's ops paired with the int8 model's, in order. TensorFlow's 16x8 quantizer
        requantizes some ops' inputs to one scale (CONCATENATION's) with QUANTIZE int16 -> int16
        ops the int8 model has not; those are set aside (``self._extra``: their output tensor ->
        the op) and emitted before the int16 op that reads them."""
        oa, ob = self.ga.operators or [], self.gb.operators or []
        out: list[fb.OperatorT] = []
        j = 0
        for i, x in enumerate(oa):
            while j < len(ob) and _code(self.a, x) != _code(self.b, ob[j]) and self._requantize16(ob[j]):
                self._extra[_ints(ob[j].outputs)[0]] = ob[j]
                j += 1
            if j >= len(ob) or _code(self.a, x) != _code(self.b, ob[j]):
                got = _OP_NAMES.get(_code(self.b, ob[j])) if j < len(ob) else "the end"
                raise EdgegenError(f"the int8 and 16x8 models differ at op {i} ({_OP_NAMES.get(_code(self.a, x))} "
                                   f"against {got}); they cannot be spliced (convert the same model with the same "
                                   "data both ways)")
            out.append(ob[j])
            j += 1
        if j != len(ob):
            raise EdgegenError(f"the 16x8 model has {len(ob) - j} ops more than the int8 one at its end "
                               f"({_OP_NAMES.get(_code(self.b, ob[j]))}); they cannot be spliced")
        return out

    def _requantize16(self, op: fb.OperatorT) -> bool:
        ins, outs = _ints(op.inputs), _ints(op.outputs)
        return (_code(self.b, op) == fb.BuiltinOperator.QUANTIZE and len(ins) == len(outs) == 1
                and self.gb.tensors[ins[0]].type == self.gb.tensors[outs[0]].type == fb.TensorType.INT16)

    def _source(self, tb: int) -> int:
        """A 16x8 tensor, or the one its set-aside requantization reads."""
        while tb in self._extra:
            tb = _ints(self._extra[tb].inputs)[0]
        return tb

    def _check_pairing(self) -> None:
        oa, ob = self.ga.operators or [], self._ob
        for i, (x, y) in enumerate(zip(oa, ob, strict=True)):
            if len(_ints(x.inputs)) != len(_ints(y.inputs)) or len(_ints(x.outputs)) != len(_ints(y.outputs)):
                raise EdgegenError(f"the int8 and 16x8 models differ at op {i} ({_OP_NAMES.get(_code(self.a, x))}: "
                                   "another number of inputs or outputs); they cannot be spliced")
            for ta, tb in zip(_ints(x.inputs) + _ints(x.outputs), _ints(y.inputs) + _ints(y.outputs), strict=True):
                if (ta < 0) != (tb < 0):
                    raise EdgegenError(f"the int8 and 16x8 models differ in op {i}'s optional inputs")
                if ta >= 0 and not _is_const(self.a, self.ga.tensors[ta]):
                    if self._pair.setdefault(ta, self._source(tb)) != self._source(tb):
                        raise EdgegenError(f"tensor {ta} of the int8 model pairs with two tensors of the 16x8 model")
        for ta, tb in zip(_ints(self.ga.inputs) + _ints(self.ga.outputs),
                          _ints(self.gb.inputs) + _ints(self.gb.outputs), strict=True):
            self._pair.setdefault(ta, tb)

    def _requantized(self, src: int, tb: int) -> int:
        """``src`` (a new int16 tensor) through the 16x8 model's set-aside requantization that
        writes its tensor ``tb``: the op copied, its output a copy of ``tb``."""
        key = (src, tb)
        if key not in self._requant:
            inner = _ints(self._extra[tb].inputs)[0]
            if inner in self._extra:
                src = self._requantized(src, inner)
            dst = self._tensor(self.gb.tensors[tb], self.b)
            op = copy.deepcopy(self._extra[tb])
            op.opcodeIndex = self._opcode(self.b, op.opcodeIndex)
            op.inputs, op.outputs = [src], [dst]
            self.ops.append(op)
            self._requant[key] = dst
        return self._requant[key]

    def _precisions(self) -> list[int]:
        """Each op's precision; the float I/O conversions follow the op they feed or read."""
        ops = self.ga.operators or []
        prec = [16 if i in self.wide else 8 for i in range(len(ops))]
        readers: dict[int, list[int]] = {}
        writer: dict[int, int] = {}
        for i, op in enumerate(ops):
            for t in _ints(op.inputs):
                readers.setdefault(t, []).append(i)
            for t in _ints(op.outputs):
                writer[t] = i
        for i, op in enumerate(ops):
            code = _code(self.a, op)
            ins, outs = _ints(op.inputs), _ints(op.outputs)
            if code == fb.BuiltinOperator.QUANTIZE and self._dtype(ins[0]) == "float32":
                after = readers.get(outs[0], [])
                prec[i] = 16 if after and all(prec[j] == 16 for j in after) else 8
            elif code == fb.BuiltinOperator.DEQUANTIZE and self._dtype(outs[0]) == "float32" and ins[0] in writer:
                prec[i] = prec[writer[ins[0]]]
        return prec

    def _dtype(self, ta: int) -> str:
        return str(_TYPE_NAMES.get(self.ga.tensors[ta].type, "?"))

    def run(self) -> fb.ModelT:
        self._check_pairing()
        prec = self._precisions()
        ops_a = self.ga.operators or []
        readers: dict[int, list[int]] = {}
        for i, op in enumerate(ops_a):
            for t in _ints(op.inputs):
                readers.setdefault(t, []).append(i)
        graph_inputs = []
        for ta in _ints(self.ga.inputs):
            users = readers.get(ta, [])
            float_in = self._dtype(ta) == "float32"
            p = 16 if users and all(prec[j] == 16 for j in users) and not float_in else 8
            graph_inputs.append(self._produce(ta, p))
        for i, op in enumerate(ops_a):
            p = prec[i]
            src_model, src_op = (self.a, op) if p == 8 else (self.b, self._ob[i])
            new = copy.deepcopy(src_op)
            new.opcodeIndex = self._opcode(src_model, src_op.opcodeIndex)
            ins = []
            for j, ta in enumerate(_ints(op.inputs)):
                if ta < 0:
                    ins.append(-1)
                elif _is_const(self.a, self.ga.tensors[ta]):
                    ins.append(self._const(self.a, ta) if p == 8 else self._const(self.b, _ints(src_op.inputs)[j]))
                elif self._dtype(ta) == "float32" or ta not in self._pair:
                    ins.append(self._version_of(ta, 8))
                else:
                    v = self._version_of(ta, p)
                    tb = _ints(src_op.inputs)[j] if p == 16 else -1
                    ins.append(self._requantized(v, tb) if tb in self._extra else v)
            new.inputs = ins
            new.outputs = [self._produce(ta, p if self._dtype(ta) != "float32" else 8) for ta in _ints(op.outputs)]
            if new.intermediates is not None and len(new.intermediates):
                raise EdgegenError(f"op {i} ({_OP_NAMES.get(_code(self.a, op))}) has intermediate tensors; "
                                   "mixed precision does not splice such ops")
            self.ops.append(new)
        outputs = [self._version_of(ta, self._home[ta]) for ta in _ints(self.ga.outputs)]
        self.g.tensors, self.g.operators = self.tensors, self.ops
        self.g.inputs, self.g.outputs = graph_inputs, outputs
        self.out.buffers, self.out.operatorCodes = self.buffers, self.codes
        self.out.signatureDefs = None  # tensor indices changed; TFLM does not read them
        self.out.metadata, self.out.metadataBuffer = _keep_metadata(self.out, self.a)
        return self.out


def _keep_metadata(out: fb.ModelT, a: fb.ModelT) -> tuple[list[fb.MetadataT] | None, list[int] | None]:
    """The int8 model's metadata entries (the converter's min_runtime_version...), each with its
    buffer appended to the new model's buffers."""
    if not a.metadata:
        return None, None
    kept = []
    for m in a.metadata:
        new = copy.deepcopy(m)
        out.buffers.append(copy.deepcopy(a.buffers[m.buffer]))
        new.buffer = len(out.buffers) - 1
        kept.append(new)
    return kept, None


def splice(int8: bytes, int16: bytes, int16_ops: Collection[int]) -> bytes:
    """The mixed model: the ops at ``int16_ops`` (indices in execution order) from the 16x8 model
    ``int16``, the others from the int8 model ``int8``, QUANTIZE ops at every precision change."""
    a, b = _load(int8, "the int8 model"), _load(int16, "the 16x8 model")
    n = len(a.subgraphs[0].operators or [])
    bad = sorted(i for i in int16_ops if not 0 <= i < n)
    if bad:
        raise EdgegenError(f"op indices {bad} are outside the model's {n} ops")
    model = _Splicer(a, b, frozenset(int16_ops)).run()
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@dataclass(frozen=True)
class TensorPrecision:
    """One activation tensor of a (mixed) model: its type and bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    #: the op that writes it (builtin name), "input" for a graph input
    producer: str


def tensor_precisions(data: bytes) -> list[TensorPrecision]:
    """Every activation tensor (not a weight or bias) with its type, in the order ops write them."""
    m = _load(data, "model")
    g = m.subgraphs[0]
    out: list[TensorPrecision] = []
    seen: set[int] = set()

    def add(t: int, producer: str) -> None:
        if t < 0 or t in seen or _is_const(m, g.tensors[t]):
            return
        seen.add(t)
        tt = g.tensors[t]
        dtype = _TYPE_NAMES.get(tt.type, "?")
        shape = tuple(int(d) for d in _ints(tt.shape))
        out.append(TensorPrecision((tt.name or b"").decode("utf-8", "replace"), dtype, shape,
                                   int(np.prod(shape, dtype=np.int64)) * _TYPE_BYTES.get(dtype, 4), producer))
    for t in _ints(g.inputs):
        add(t, "input")
    for op in g.operators or []:
        for t in _ints(op.outputs):
            add(t, _OP_NAMES.get(_code(m, op), "?"))
    return out


def activation_peak_bytes(data: bytes) -> int:
    """The largest total of activation bytes live at once in execution order (a tensor lives from
    the op that writes it, or the start for an input, to its last reader, or the end for an
    output): what a greedy arena needs at least, without alignment or scratch."""
    m = _load(data, "model")
    g = m.subgraphs[0]
    ops = g.operators or []
    n = len(ops)
    size = {t: 0 for t in range(len(g.tensors))}
    for tp_i, tt in enumerate(g.tensors):
        if not _is_const(m, tt):
            dtype = _TYPE_NAMES.get(tt.type, "?")
            size[tp_i] = int(np.prod([int(d) for d in _ints(tt.shape)], dtype=np.int64)) * _TYPE_BYTES.get(dtype, 4)
    first = {t: -1 for t in _ints(g.inputs)}
    last = {t: n for t in _ints(g.outputs)}
    for i, op in enumerate(ops):
        for t in _ints(op.outputs):
            first.setdefault(t, i)
        for t in _ints(op.inputs):
            if t >= 0 and size[t]:
                last[t] = max(last.get(t, i), i)
    peak = 0
    for i in range(n):
        live = sum(size[t] for t, f in first.items() if f <= i <= last.get(t, f))
        peak = max(peak, live)
    return peak
