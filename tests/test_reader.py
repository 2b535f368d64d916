"""The .tflite reader: what it accepts, and the messages for what it refuses."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen import ir
from edgegen import tflite_checks as checks
from edgegen.build import compile_tflite, load_tflite_bytes
from edgegen.errors import EdgegenError, ModelFormatError, UnsupportedError
from edgegen.ops.conv import Conv2D
from edgegen.ops.fully_connected import FullyConnected
from edgegen.ops.lut import LeakyRelu
from edgegen.tflite_reader import parse_tflite, read_tflite

from .conftest import shared_path
from .support.fuzz import TinyModel, all_ops_model, find_sites, options, pack, unpack


def test_reads_kws_ops_and_quantization() -> None:
    g = read_tflite(shared_path("models/mlperf_tiny/kws/kws_ref_model.tflite"))
    kinds = [type(op).__name__ for op in g.ops]
    assert kinds[:2] == ["Conv2D", "DepthwiseConv2D"]
    assert kinds[-2:] == ["FullyConnected", "Softmax"]
    conv = g.ops[0]
    assert isinstance(conv, Conv2D)
    w = g.tensor(conv.inputs[1])
    assert w.quant is not None and w.quant.per_channel and w.quant.axis == 0
    assert len(w.quant.scales) == w.shape[0]
    assert w.data is not None and w.data.shape == w.shape
    x = g.tensor(g.inputs[0])
    assert x.dtype == "int8" and x.shape == (1, 49, 10, 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EdgegenError, match="no such file"):
        read_tflite(tmp_path / "nope.tflite")


def test_not_a_tflite_file(tmp_path: Path) -> None:
    p = tmp_path / "x.tflite"
    p.write_bytes(b"hello, this is not a model at all")
    with pytest.raises(ModelFormatError, match=r"x\.tflite: not a TFLite model"):
        read_tflite(p)


def test_truncated_file_is_a_clear_error() -> None:
    data = shared_path("models/tflite_micro/hello_world_int8.tflite").read_bytes()
    for cut in (16, 100, len(data) // 2, len(data) - 8):
        with pytest.raises(ModelFormatError):
            parse_tflite(data[:cut])


def test_float_model_is_refused_with_the_tensor_named() -> None:
    with pytest.raises(UnsupportedError, match=r"op 0 \(FULLY_CONNECTED\).*float32.*expected int8"):
        read_tflite(shared_path("models/tflite_micro/hello_world_float.tflite"))


# -- hostile files: every explicit check, with the error class and a key phrase -------------
# Each case edits a real model (hello_world: FC 0 reads tensors 0, 6, 5 and writes 7; FC 1 reads
# 7, 4, 3 and writes 8; FC 2 reads 8, 2, 1 and writes 9; input 0, output 9) through the
# flatbuffer object API and packs it again, so only the edited field is wrong.

HELLO = "models/tflite_micro/hello_world_int8.tflite"
KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"


def _edited(edit: Callable[[Any], None], rel: str = HELLO) -> bytes:
    model = unpack(shared_path(rel).read_bytes())
    edit(model)
    return pack(model)


def _refusal(data: bytes) -> EdgegenError:
    """The error the reader raises for ``data``; also runs lowering, as `edgegen build` does."""
    try:
        compile_tflite(data, name="hostile", source="hostile.tflite")
    except EdgegenError as e:
        return e
    raise AssertionError("the hostile model was accepted")


def _sg(m: Any) -> Any:
    return m.subgraphs[0]


def _tensor(m: Any, i: int) -> Any:
    return m.subgraphs[0].tensors[i]


def _op(m: Any, i: int) -> Any:
    return m.subgraphs[0].operators[i]


def _set(obj: Any, **fields: Any) -> None:
    for k, v in fields.items():
        setattr(obj, k, v)


def _quant(m: Any, i: int, scales: list[float], zero_points: list[int], axis: int = 0) -> None:
    q = _tensor(m, i).quantization
    q.scale = np.array(scales, dtype=np.float32)
    q.zeroPoint = np.array(zero_points, dtype=np.int64)
    q.quantizedDimension = axis


def _external(m: Any, tensor: int, offset: int, size: int, keep_data: bool = False) -> None:
    b = m.buffers[_tensor(m, tensor).buffer]
    if not keep_data:
        b.data = None
    b.offset, b.size = offset, size


def _sparse(m: Any) -> None:
    _tensor(m, 6).sparsity = schema.SparsityParametersT()


def _custom_quantization(m: Any) -> None:
    q = _tensor(m, 7).quantization
    q.detailsType = schema.QuantizationDetails.CustomQuantization
    q.details = schema.CustomQuantizationT()


def _pool_options_on_fc(m: Any) -> None:
    _set(_op(m, 0), builtinOptionsType=schema.BuiltinOptions.Pool2DOptions, builtinOptions=schema.Pool2DOptionsT())


def _drop_last_op(m: Any) -> None:
    _sg(m).operators = _sg(m).operators[:2]


def _swap_first_ops(m: Any) -> None:
    ops = _sg(m).operators
    ops[0], ops[1] = ops[1], ops[0]


def _bad_opcode(m: Any) -> None:
    _set(m.operatorCodes[0], builtinCode=9999, deprecatedBuiltinCode=127)


def _ints(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int32)


HOSTILE_EDITS: list[tuple[str, Callable[[Any], None], type[EdgegenError], str]] = [
    # the model as a whole
    ("schema version", lambda m: _set(m, version=2), ModelFormatError, r"schema version 2, expected 3"),
    ("no subgraph", lambda m: _set(m, subgraphs=[]), ModelFormatError, r"has no subgraph"),
    ("two subgraphs", lambda m: _set(m, subgraphs=[_sg(m), _sg(m)]), UnsupportedError, r"has 2 subgraphs"),
    ("no operators", lambda m: _set(_sg(m), operators=[]), UnsupportedError, r"has no operators"),
    ("unknown builtin", _bad_opcode, UnsupportedError, r"op 0 \(builtin 9999\) is not supported"),
    # indices
    ("op input index out of range", lambda m: _set(_op(m, 0), inputs=_ints(0, 99, 5)), ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) refers to tensor 99 \(input\), but the model has 10"),
    ("op input index negative", lambda m: _set(_op(m, 1), inputs=_ints(7, -7, 3)), ModelFormatError,
     r"op 1 \(FULLY_CONNECTED\) refers to tensor -7 \(input\)"),
    ("op output index out of range", lambda m: _set(_op(m, 2), outputs=_ints(10)), ModelFormatError,
     r"op 2 \(FULLY_CONNECTED\) refers to tensor 10 \(output\), but the model has 10"),
    ("op without outputs", lambda m: _set(_op(m, 2), outputs=_ints()), ModelFormatError,
     r"op 2 \(FULLY_CONNECTED\) has no output tensor"),
    ("required input left out", lambda m: _set(_op(m, 0), inputs=_ints(-1, 6, 5)), ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) leaves its required input 0 out"),
    ("opcode index out of range", lambda m: _set(_op(m, 1), opcodeIndex=5), ModelFormatError,
     r"op 1 has opcode index 5, but the model has 1"),
    ("model input out of range", lambda m: _set(_sg(m), inputs=_ints(10)), ModelFormatError,
     r"model input names tensor 10, but the model has 10"),
    ("model output out of range", lambda m: _set(_sg(m), outputs=_ints(-1)), ModelFormatError,
     r"model output names tensor -1, but the model has 10"),
    ("model input listed twice", lambda m: _set(_sg(m), inputs=_ints(0, 0)), ModelFormatError,
     r"model input tensor 0 is listed twice"),
    ("no model outputs", lambda m: _set(_sg(m), outputs=_ints()), ModelFormatError, r"declares no outputs"),
    ("model input is a constant", lambda m: _set(_sg(m), inputs=_ints(6)), ModelFormatError,
     r"model input tensor 6 .* is a constant"),
    ("model output is a constant", lambda m: _set(_sg(m), outputs=_ints(6)), ModelFormatError,
     r"model output tensor 6 .* is a constant, not computed by any op"),
    ("model output never produced", _drop_last_op, ModelFormatError,
     r"model output tensor 9 .* is never produced by an op"),
    ("model input is an output", lambda m: _set(_sg(m), outputs=_ints(9, 0)), UnsupportedError,
     r"tensor 0 .* is both a model input and a model output"),
    ("model input of type int32", lambda m: _set(_tensor(m, 0), type=schema.TensorType.INT32), UnsupportedError,
     r"model input tensor 0 .* has type int32"),
    # buffers
    ("buffer index out of range", lambda m: _set(_tensor(m, 6), buffer=13), ModelFormatError,
     r"tensor 6 'sequential/dense/MatMul' refers to buffer 13, but the model has 13"),
    ("no buffers at all", lambda m: _set(m, buffers=[]), ModelFormatError,
     r"tensor 0 .* refers to buffer 1, but the model has 0"),
    ("buffer offset beyond the file", lambda m: _external(m, 6, 1_000_000, 16), ModelFormatError,
     r"tensor 6 .*: buffer 7 places its 16 bytes at offset 1000000, beyond the end of the \d+-byte file"),
    ("buffer with data and offset", lambda m: _external(m, 6, 64, 16, keep_data=True), ModelFormatError,
     r"buffer 7 has both inline data and an offset \(64\)"),
    ("weights buffer one byte short", lambda m: _set(m.buffers[7], data=m.buffers[7].data[:-1]), ModelFormatError,
     r"tensor 6 .* has shape \[16, 1\] \(16 bytes of int8\) but its buffer 7 holds 15 bytes"),
    ("bias buffer of the wrong size", lambda m: _set(m.buffers[6], data=m.buffers[6].data[:60]), ModelFormatError,
     r"tensor 5 .* \(64 bytes of int32\) but its buffer 6 holds 60 bytes"),
    # shapes
    ("overflowing shape", lambda m: _set(_tensor(m, 7), shape=_ints(65536, 65536, 65536, 65536)), UnsupportedError,
     r"tensor 7 .* has shape \[65536, 65536, 65536, 65536\] \(int8\), more than 16 MiB"),
    ("negative dimension", lambda m: _set(_tensor(m, 7), shape=_ints(1, -16)), ModelFormatError,
     r"tensor 7 .* has a negative dimension in its shape \[1, -16\]"),
    ("zero dimension", lambda m: _set(_tensor(m, 8), shape=_ints(1, 0)), UnsupportedError,
     r"tensor 8 .* has an empty dimension in its shape \[1, 0\]"),
    ("absurd rank", lambda m: _set(_tensor(m, 8), shape=_ints(*[1] * 9)), UnsupportedError,
     r"tensor 8 .* has rank 9; edgegen handles tensors of up to 8 dimensions"),
    ("dynamic shape", lambda m: _set(_tensor(m, 0), shapeSignature=_ints(1, -1)), UnsupportedError,
     r"tensor 0 .* has a dynamic shape \[1, -1\]"),
    ("shape and data disagree", lambda m: _set(_tensor(m, 4), shape=_ints(16, 15)), ModelFormatError,
     r"tensor 4 .* has shape \[16, 15\] \(240 bytes of int8\) but its buffer 5 holds 256 bytes"),
    # quantization
    ("zero scale", lambda m: _quant(m, 7, [0.0], [-128]), ModelFormatError,
     r"tensor 7 .* has quantization scale 0\.0; scales must be positive and finite"),
    ("negative scale", lambda m: _quant(m, 8, [-0.5], [-128]), ModelFormatError,
     r"tensor 8 .* has quantization scale -0\.5"),
    ("NaN scale", lambda m: _quant(m, 9, [float("nan")], [5]), ModelFormatError,
     r"tensor 9 .* has quantization scale nan"),
    ("infinite scale", lambda m: _quant(m, 0, [float("inf")], [5]), ModelFormatError,
     r"tensor 0 .* has quantization scale inf"),
    ("zero point 200", lambda m: _quant(m, 7, [0.1], [200]), ModelFormatError,
     r"tensor 7 .* has zero point 200, outside the int8 range -128\.\.127"),
    ("zero point -129", lambda m: _quant(m, 0, [0.1], [-129]), ModelFormatError, r"tensor 0 .* has zero point -129"),
    ("asymmetric weights", lambda m: _quant(m, 6, [0.004], [3]), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): weights tensor 6 .* must be symmetric int8 \(zero point 0\)"),
    ("more zero points than scales", lambda m: _quant(m, 7, [0.1], [-128, 0]), ModelFormatError,
     r"tensor 7 .* has 1 scales but 2 zero points"),
    ("per-axis scale count wrong", lambda m: _quant(m, 4, [0.01] * 3, [0] * 3), ModelFormatError,
     r"tensor 4 .* has 3 per-channel scales along axis 0, which does not match its shape \[16, 16\]"),
    ("per-axis axis out of range", lambda m: _quant(m, 4, [0.01] * 16, [0] * 16, axis=2), ModelFormatError,
     r"tensor 4 .* has 16 per-channel scales along axis 2"),
    ("per-axis on the wrong axis", lambda m: _quant(m, 4, [0.01] * 16, [0] * 16, axis=1), UnsupportedError,
     r"op 1 \(FULLY_CONNECTED\): weights tensor 4 .* are quantized along axis 1, expected 0"),
    ("per-axis non-zero zero point", lambda m: _quant(m, 4, [0.01] * 16, [0] * 15 + [1]), UnsupportedError,
     r"weights tensor 4 .* must be symmetric"),
    ("per-axis activation", lambda m: _quant(m, 7, [0.01] * 16, [0] * 16, axis=1), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): output tensor 7 .* needs per-tensor quantization"),
    ("custom quantization", _custom_quantization, UnsupportedError,
     r"tensor 7 .* uses custom or blockwise quantization"),
    ("sparse weights", _sparse, UnsupportedError, r"tensor 6 .* is stored sparse"),
    ("external tensor buffer", lambda m: _set(_tensor(m, 6), externalBuffer=3), UnsupportedError,
     r"tensor 6 .* keeps its data in external buffer 3"),
    # graph structure
    ("cycle", lambda m: _set(_op(m, 0), inputs=_ints(8, 6, 5)), ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) reads tensor 8 .* before any op produces it \(the graph has a cycle"),
    ("ops out of order", _swap_first_ops, ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) reads tensor 7 .* before any op produces it"),
    ("op reads its own output", lambda m: _set(_op(m, 2), inputs=_ints(9, 2, 1)), ModelFormatError,
     r"op 2 \(FULLY_CONNECTED\) reads tensor 9 .* before any op produces it"),
    ("tensor produced twice", lambda m: _set(_op(m, 1), outputs=_ints(7)), ModelFormatError,
     r"op 1 \(FULLY_CONNECTED\) writes tensor 7 .* which is already defined"),
    ("op writes a model input", lambda m: _set(_op(m, 0), outputs=_ints(0)), ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) writes tensor 0 .* which is already defined"),
    ("op writes a constant", lambda m: _set(_op(m, 0), outputs=_ints(6)), ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) writes tensor 6 .* which is already defined"),
    # options
    ("options of another op", _pool_options_on_fc, ModelFormatError,
     r"op 0 \(FULLY_CONNECTED\) carries Pool2DOptions options, expected FullyConnectedOptions"),
    ("unknown fused activation", lambda m: _set(_op(m, 0).builtinOptions, fusedActivationFunction=42), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): fused activation 42 is not supported"),
]


@pytest.mark.parametrize(("edit", "cls", "pattern"), [c[1:] for c in HOSTILE_EDITS], ids=[c[0] for c in HOSTILE_EDITS])
def test_hostile_edit_is_refused(edit: Callable[[Any], None], cls: type[EdgegenError], pattern: str) -> None:
    err = _refusal(_edited(edit))
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert re.search(pattern, str(err)), str(err)
    assert str(err).startswith("hostile.tflite: ")


def _conv_edit(edit: Callable[[Any], None]) -> bytes:
    """kws: op 0 is a CONV_2D, op 1 a DEPTHWISE_CONV_2D writing tensor 23."""
    return _edited(edit, KWS)


@pytest.mark.parametrize(("edit", "cls", "pattern"), [
    (lambda m: _set(_op(m, 0).builtinOptions, padding=7), ModelFormatError,
     r"op 0 \(CONV_2D\) has padding 7, which is neither SAME nor VALID"),
    (lambda m: _set(_op(m, 0).builtinOptions, strideH=0), UnsupportedError,
     r"op 0 \(CONV_2D\): strideH/strideW of \(0, 2\)"),
    # found by the fuzzer: a depthwise output of rank 2 used to end in an IndexError
    (lambda m: _set(_tensor(m, 23), shape=_ints(1, 25)), UnsupportedError,
     r"op 1 \(DEPTHWISE_CONV_2D\): output tensor 23 .* has rank 2, expected 4"),
    (lambda m: _quant(m, 17, [0.01] * 64, [0] * 64, axis=3), ModelFormatError,
     r"tensor 17 .* has 64 per-channel scales along axis 3, which does not match its shape \[64, 10, 4, 1\]"),
    (lambda m: _quant(m, 17, [0.01] * 10, [0] * 10, axis=1), UnsupportedError,
     r"op 0 \(CONV_2D\): filter tensor 17 .* is quantized along axis 1, expected 0"),
    (lambda m: _quant(m, 17, [0.01] * 64, [0] * 63 + [2]), UnsupportedError,
     r"op 0 \(CONV_2D\): filter tensor 17 .* has non-zero zero points; int8 weights must be symmetric"),
])
def test_hostile_conv_options_and_shapes(edit: Callable[[Any], None], cls: type[EdgegenError], pattern: str) -> None:
    err = _refusal(_conv_edit(edit))
    assert type(err) is cls and re.search(pattern, str(err)), f"{type(err).__name__}: {err}"


def test_optional_bias_may_be_left_out() -> None:
    graph = parse_tflite(_edited(lambda m: _set(_op(m, 0), inputs=_ints(0, 6, -1))))
    assert graph.ops[0].inputs == (0, 6, -1)


def test_empty_file() -> None:
    with pytest.raises(ModelFormatError, match="the file is empty"):
        parse_tflite(b"")


def test_root_offset_outside_the_file() -> None:
    data = bytearray(shared_path(HELLO).read_bytes())
    data[0:4] = (0x7FFFFF00).to_bytes(4, "little")
    with pytest.raises(ModelFormatError, match=r"not a valid TFLite flatbuffer: the root table offset 2147483392"):
        parse_tflite(bytes(data))


def _site(data: bytes, label: str) -> int:
    return next(s.pos for s in find_sites(data) if s.label == label)


def test_vector_length_beyond_the_file() -> None:
    data = bytearray(shared_path(HELLO).read_bytes())
    pos = _site(bytes(data), "tensors: length")
    data[pos : pos + 4] = (0x7FFFFFFF).to_bytes(4, "little")
    with pytest.raises(ModelFormatError, match=r"the tensor list claims 2147483647 entries, more than the 2704-byte"):
        parse_tflite(bytes(data))


def test_offset_pointing_outside_the_file_is_a_flatbuffer_error() -> None:
    data = bytearray(shared_path(HELLO).read_bytes())
    pos = _site(bytes(data), "tensor 3 quantization: offset")
    data[pos : pos + 4] = (len(data) * 4).to_bytes(4, "little")
    with pytest.raises(ModelFormatError, match=r"not a valid TFLite flatbuffer: tensor 3 cannot be decoded, the file "
                                                r"is truncated or corrupt \(error: unpack_from"):
        parse_tflite(bytes(data))


def test_every_truncation_is_a_clear_error() -> None:
    data = shared_path(HELLO).read_bytes()
    for cut in range(len(data)):
        try:
            parse_tflite(data[:cut])
        except ModelFormatError as e:
            assert re.search(r"not a valid TFLite flatbuffer|not a TFLite model|file is empty|buffer|the model", str(e))
        # a cut that only drops what edgegen never reads (metadata at the end) may still parse


def test_external_buffer_is_refused() -> None:
    """Weights stored after the flatbuffer (offset/size, the large-model layout): TFLM reads only
    a buffer's inline data and would run the tensor as uninitialized arena memory, so edgegen
    refuses the buffer instead of reading the weights from the offset (issue 12)."""
    original = parse_tflite(shared_path(HELLO).read_bytes())
    weights = original.tensor(4).data
    assert weights is not None
    model = unpack(shared_path(HELLO).read_bytes())
    _external(model, 4, 1 << 40, weights.nbytes)  # a placeholder of the same width, to measure
    size = len(pack(model))
    _external(model, 4, size, weights.nbytes)
    data = pack(model) + weights.tobytes()
    with pytest.raises(UnsupportedError, match=r"tensor 4 .*: buffer 5 keeps its 256 bytes outside the flatbuffer "
                                               r"\(offset \d+\); TFLM reads only data stored inside a buffer"):
        parse_tflite(data)
    with pytest.raises(ModelFormatError, match="beyond the end"):
        parse_tflite(data[:-1])


def test_shared_tables_cannot_blow_up_decoding() -> None:
    """Tensors whose quantization offsets all point at one huge table decode it once each; the
    decoder's budget (twice the file size) refuses the file before that gets expensive."""
    m = TinyModel()
    n = 20_000
    big = m.tensor((n,), "int8", scale=[0.01] * n, zero_point=[0] * n, axis=0, data=np.zeros(n, np.int8))
    small = [m.tensor((1, 4), scale=0.1) for _ in range(12)]
    m.inputs, m.outputs = [small[0]], [small[1]]
    m.op("RELU", [small[0]], [small[1]])
    data = bytearray(pack(m.model()))
    target = _site(bytes(data), f"tensor {big} quantization: offset")
    table = target + int.from_bytes(data[target : target + 4], "little")
    redirected = 0
    for t in small:
        pos = _site(bytes(data), f"tensor {t} quantization: offset")
        if table > pos:  # uoffsets only point forward
            data[pos : pos + 4] = (table - pos).to_bytes(4, "little")
            redirected += 1
    assert redirected >= 3
    with pytest.raises(ModelFormatError, match=r"decode to more than twice its size"):
        parse_tflite(bytes(data))


def test_operator_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "MAX_OPS", 2)
    with pytest.raises(UnsupportedError, match=r"the model has 3 operators; edgegen compiles models of up to 2"):
        parse_tflite(shared_path(HELLO).read_bytes())


def test_constant_bytes_read_by_ops_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "MAX_OP_CONSTANT_BYTES", 300)
    with pytest.raises(UnsupportedError, match=r"the ops up to op 1 \(FULLY_CONNECTED\) read \d+ bytes of constants"):
        parse_tflite(shared_path(HELLO).read_bytes())


def test_tiny_model_with_every_other_op_compiles() -> None:
    """The fuzzer's synthetic seed is itself valid (otherwise its mutants test little)."""
    graph, program = compile_tflite(all_ops_model(), name="tiny", source="tiny.tflite")
    assert {op.describe().split("(")[1].rstrip(")") for op in graph.ops} >= {
        "QUANTIZE", "PAD", "MAX_POOL_2D", "LOGISTIC", "TANH", "MUL", "RELU", "RELU6", "RELU_N1_TO_1",
        "LEAKY_RELU", "CONCATENATION", "MEAN", "RESHAPE", "DEQUANTIZE", "REDUCE_MAX", "SUB"}
    assert program.plan.arena_bytes > 0


def _tiny_edit(edit: Callable[[Any], None]) -> bytes:
    model = unpack(all_ops_model())
    edit(model)
    return pack(model)


@pytest.mark.parametrize(("edit", "pattern"), [
    # tiny_all_ops: op 2 MAX_POOL_2D writes tensor 4; op 5 MUL writes 7; op 11 MEAN writes 13
    (lambda m: _set(_tensor(m, 4), shape=_ints(1, 3, 3, 3)),
     r"op 2 \(MAX_POOL_2D\): output tensor 4 .* does not keep the batch and channels of input"),
    (lambda m: _set(_tensor(m, 4), shape=_ints(1, 18)),
     r"op 2 \(MAX_POOL_2D\): output tensor 4 .* has rank 2, expected 4"),
    (lambda m: _set(_tensor(m, 14), shape=_ints(1, 1, 1, 2)),
     r"op 11 \(MEAN\): output tensor 14 .* does not hold the mean of tensor 12"),
    (lambda m: _set(_tensor(m, 7), shape=_ints(1, 3, 3, 4)),
     r"op 5 \(MUL\): output shape \[1, 3, 3, 4\] is not the broadcast"),
])
def test_hostile_tiny_model_shapes(edit: Callable[[Any], None], pattern: str) -> None:
    err = _refusal(_tiny_edit(edit))
    assert type(err) is UnsupportedError and re.search(pattern, str(err)), f"{type(err).__name__}: {err}"


def _reduce_max_model(out_scale: float, axes: tuple[int, ...] = (1, 2), out_shape: tuple[int, ...] = (1, 3)) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 4, 5, 3), scale=0.05, zero_point=3)
    y = m.tensor(out_shape, scale=out_scale, zero_point=3)
    m.op("REDUCE_MAX", [x, m.const(list(axes))], [y])
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def test_reduce_max_is_a_max_pool() -> None:
    _, program = compile_tflite(_reduce_max_model(0.05), name="rm", source="rm.tflite")
    (call,) = program.calls
    assert call.function == "arm_max_pool_s8" and call.op_name == "REDUCE_MAX"


@pytest.mark.parametrize(("data", "pattern"), [
    (_reduce_max_model(0.1), r"op 0 \(REDUCE_MAX\): input and output quantization differ; TFLM requires them equal"),
    (_reduce_max_model(0.05, axes=(1, 3)),
     r"op 0 \(REDUCE_MAX\): REDUCE_MAX over non-adjacent axes \[1, 3\] is not supported"),
    (_reduce_max_model(0.05, out_shape=(1, 4)), r"op 0 \(REDUCE_MAX\): output tensor 1 .* does not hold the maximum"),
])
def test_reduce_max_checks(data: bytes, pattern: str) -> None:
    err = _refusal(data)
    assert type(err) is UnsupportedError and re.search(pattern, str(err)), f"{type(err).__name__}: {err}"


def test_hostile_file_error_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "evil.tflite"
    p.write_bytes(_edited(lambda m: _quant(m, 7, [0.1], [200])))
    with pytest.raises(ModelFormatError) as e:
        read_tflite(p)
    assert str(e.value).startswith(f"{p}: tensor 7 ")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_float_options(value: float) -> None:
    def edit(m: Any) -> None:
        _op(m, 12).builtinOptions.beta = value  # kws: op 12 is the SOFTMAX

    err = _refusal(_edited(edit, KWS))
    assert type(err) is ModelFormatError and re.search(r"op 12 \(SOFTMAX\) has beta (nan|inf); it must be a finite",
                                                        str(err)), str(err)


def _softmax_model(input_scale: float, beta: float | None = 1.0, output_scale: float = 1 / 256) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 10), scale=input_scale)
    y = m.tensor((1, 10), scale=output_scale, zero_point=-128)
    m.op("SOFTMAX", [x], [y], None if beta is None else options("SoftmaxOptionsT", beta=beta))
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def test_softmax_on_nearly_constant_logits_is_explained() -> None:
    """An untrained model's logits can span ~1e-15; TFLM aborts on such a SOFTMAX. The refusal
    says why and what to do, not only that a multiplier is out of range."""
    err = _refusal(_softmax_model(1e-9))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"op 0 \(SOFTMAX\): its input tensor 0 .* has quantization scale 1e-09, so its logits "
                     r"span only 2\.55e-07: TFLM cannot implement .* untrained model", str(err)), str(err)


def test_buffers_sharing_bytes_cannot_blow_up_copying() -> None:
    """Many buffers whose data vectors point at the same bytes: each tensor would copy them
    again; the reader refuses once the copies exceed twice the file size."""
    m = TinyModel()
    n = 1 << 16
    x, y = m.tensor((1, 4), scale=0.1), m.tensor((1, 4), scale=0.1)
    m.op("RELU", [x], [y])
    m.inputs, m.outputs = [x], [y]
    first = m.tensor((n,), scale=0.01, data=np.zeros(n, np.int8))
    others = [m.tensor((n,), scale=0.01, data=np.zeros(1, np.int8)) for _ in range(7)]
    data = bytearray(pack(m.model()))
    target = _site(bytes(data), f"buffer {m.tensors[first].buffer} data: offset")
    vector = target + int.from_bytes(data[target : target + 4], "little")
    redirected = 0
    for t in others:
        pos = _site(bytes(data), f"buffer {m.tensors[t].buffer} data: offset")
        if vector > pos:  # uoffsets only point forward
            data[pos : pos + 4] = (vector - pos).to_bytes(4, "little")
            redirected += 1
    assert redirected >= 3
    with pytest.raises(ModelFormatError, match=r"the constants decoded so far take \d+ bytes, more than twice the "
                                                r"\d+-byte file"):
        parse_tflite(bytes(data))


# -- issue 12: accept only what TFLM computes the same way; budgets before the work ----------
# kws: op 0 CONV_2D (input 0 [1, 49, 10, 1], filter 17 [64, 10, 4, 1]), op 1 DEPTHWISE_CONV_2D
# (filter 5, bias 4, output 23), op 9 AVERAGE_POOL_2D, op 11 FULLY_CONNECTED, op 12 SOFTMAX.


def _no_options(m: Any, op: int) -> None:
    _set(_op(m, op), builtinOptionsType=schema.BuiltinOptions.NONE, builtinOptions=None)


@pytest.mark.parametrize("multiplier", [-1, 0, 7, 2**31 - 1])
def test_depthwise_multiplier_must_match_the_shapes(multiplier: int) -> None:
    """TFLM's depthwise kernel loops over the options' depth multiplier without checking it
    against the shapes: another value leaves output channels unwritten or writes past them."""
    err = _refusal(_conv_edit(lambda m: _set(_op(m, 1).builtinOptions, depthMultiplier=multiplier)))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(rf"op 1 \(DEPTHWISE_CONV_2D\): depth multiplier {multiplier} in its options does not match its "
                     r"shapes \(64 output channels from 64 input channels: 1\)", str(err)), str(err)


@pytest.mark.parametrize(("op", "name", "table", "why"), [
    (0, "CONV_2D", "Conv2DOptions", "strides 0, an unknown padding and dilation 0"),
    (1, "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions", "depth multiplier 0"),
    (9, "AVERAGE_POOL_2D", "Pool2DOptions", "a 0 x 0 filter"),
    (12, "SOFTMAX", "SoftmaxOptions", r"beta 0, which TFLM cannot implement \(it aborts\)"),
])
def test_ops_without_their_options_table(op: int, name: str, table: str, why: str) -> None:
    """TFLM's parsers zero every parameter when the options table is absent; these ops cannot run
    that way (edgegen used to take stride 1 and beta 1, and `edgegen verify` died in TFLM)."""
    err = _refusal(_conv_edit(lambda m: _no_options(m, op)))
    assert type(err) is ModelFormatError, f"{type(err).__name__}: {err}"
    assert re.search(rf"op {op} \({name}\) has no {table} table; TFLM would run it with .*{why}", str(err)), str(err)


def test_ops_without_options_take_tflm_zero_defaults() -> None:
    """Where zero parameters make sense, edgegen takes TFLM's: LEAKY_RELU alpha 0 (it took 0.2),
    FULLY_CONNECTED without activation."""
    def edit(m: Any) -> None:
        _no_options(m, 9)  # tiny_all_ops: op 9 is the LEAKY_RELU

    graph = parse_tflite(_tiny_edit(edit))
    op = graph.ops[9]
    assert isinstance(op, LeakyRelu) and op.alpha == 0.0
    fc = parse_tflite(_edited(lambda m: _no_options(m, 0))).ops[0]
    assert isinstance(fc, FullyConnected) and fc.activation == ir.Activation.NONE


def test_rank0_output_is_refused() -> None:
    """hello_world's output [1, 1] made a scalar: TFLM's FULLY_CONNECTED reads the output's last
    dimension (dims[-1] of an empty shape)."""
    err = _refusal(_edited(lambda m: _set(_tensor(m, 9), shape=_ints())))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"op 2 \(FULLY_CONNECTED\): output tensor 9 .* has rank 0 \(a scalar\)", str(err)), str(err)


@pytest.mark.parametrize(("dilation", "spans", "values"), [
    (2**31 - 1, "19,327,352,872 x 6,442,450,950", "124,515,522,871,201,628,400"),
    (4096, "36,913 x 12,297", "453,919,161"),
])
def test_huge_dilation_is_refused_at_once(dilation: int, spans: str, values: str) -> None:
    """Dilation 2^31 - 1 made the simulator pad the input to terabytes; 4096 took 30 s and
    3.6 GB. The input padded for the dilated kernel (kws op 0: 10 x 4 taps, stride 2, SAME, 25 x 5
    outputs) is bounded before anything is computed: (25 - 1) x 2 + 9 x 4096 + 1 = 36,913 rows."""
    def edit(m: Any) -> None:
        _set(_op(m, 0).builtinOptions, dilationHFactor=dilation, dilationWFactor=dilation)

    start = time.perf_counter()
    err = _refusal(_conv_edit(edit))
    took = time.perf_counter() - start
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(rf"op 0 \(CONV_2D\): its kernel \(10 x 4 at dilation {dilation} x {dilation}\) spans {spans} "
                     rf"input positions once padded; the input 49 x 10 x 1 padded for it would hold {values} values, "
                     r"more than edgegen handles \(16,777,216\)", str(err)), str(err)
    assert took < 0.5, f"took {took:.2f} s"


def _many_tensors_model(n: int) -> bytes:
    """A valid one-op model (RELU from tensor 0 to tensor 1) whose tensor list repeats one unused
    table n times in all: written with the flatbuffer builder directly, which takes ~0.3 s for
    500,000 where the object API would take a minute."""
    b = flatbuffers.Builder(1 << 16)

    def ints(start: Callable[[Any, int], None], values: list[int]) -> int:
        start(b, len(values))
        for v in reversed(values):
            b.PrependInt32(v)
        return int(b.EndVector())

    def quant() -> int:
        schema.QuantizationParametersStartScaleVector(b, 1)
        b.PrependFloat32(0.1)
        scale = b.EndVector()
        schema.QuantizationParametersStartZeroPointVector(b, 1)
        b.PrependInt64(0)
        zp = b.EndVector()
        schema.QuantizationParametersStart(b)
        schema.QuantizationParametersAddScale(b, scale)
        schema.QuantizationParametersAddZeroPoint(b, zp)
        return int(schema.QuantizationParametersEnd(b))

    def tensor(name: str) -> int:
        s, q = b.CreateString(name), quant()
        shape = ints(schema.TensorStartShapeVector, [1, 4])
        schema.TensorStart(b)
        schema.TensorAddShape(b, shape)
        schema.TensorAddType(b, schema.TensorType.INT8)
        schema.TensorAddName(b, s)
        schema.TensorAddQuantization(b, q)
        return int(schema.TensorEnd(b))

    x, y, unused = tensor("x"), tensor("y"), tensor("unused")
    schema.SubGraphStartTensorsVector(b, n)
    for t in [unused] * (n - 2) + [y, x]:
        b.PrependUOffsetTRelative(t)
    tensors = b.EndVector()
    op_in, op_out = ints(schema.OperatorStartInputsVector, [0]), ints(schema.OperatorStartOutputsVector, [1])
    schema.OperatorStart(b)
    schema.OperatorAddInputs(b, op_in)
    schema.OperatorAddOutputs(b, op_out)
    op = schema.OperatorEnd(b)
    schema.SubGraphStartOperatorsVector(b, 1)
    b.PrependUOffsetTRelative(op)
    ops = b.EndVector()
    sg_in, sg_out = ints(schema.SubGraphStartInputsVector, [0]), ints(schema.SubGraphStartOutputsVector, [1])
    schema.SubGraphStart(b)
    for add, v in ((schema.SubGraphAddTensors, tensors), (schema.SubGraphAddOperators, ops),
                   (schema.SubGraphAddInputs, sg_in), (schema.SubGraphAddOutputs, sg_out)):
        add(b, v)
    sg = schema.SubGraphEnd(b)
    schema.OperatorCodeStart(b)
    schema.OperatorCodeAddBuiltinCode(b, schema.BuiltinOperator.RELU)
    schema.OperatorCodeAddDeprecatedBuiltinCode(b, schema.BuiltinOperator.RELU)
    code = schema.OperatorCodeEnd(b)
    schema.BufferStart(b)
    buffer = schema.BufferEnd(b)
    vectors = []
    for start, item in ((schema.ModelStartSubgraphsVector, sg), (schema.ModelStartOperatorCodesVector, code),
                        (schema.ModelStartBuffersVector, buffer)):
        start(b, 1)
        b.PrependUOffsetTRelative(item)
        vectors.append(b.EndVector())
    schema.ModelStart(b)
    schema.ModelAddVersion(b, 3)
    schema.ModelAddSubgraphs(b, vectors[0])
    schema.ModelAddOperatorCodes(b, vectors[1])
    schema.ModelAddBuffers(b, vectors[2])
    b.Finish(schema.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_many_tensors_are_refused_before_decoding() -> None:
    """500,000 unused tensors took 36 s and 522 MB to decode; the count is checked first."""
    assert compile_tflite(_many_tensors_model(3), name="t", source="t")[1].calls  # the builder makes valid models
    data = _many_tensors_model(500_000)
    start = time.perf_counter()
    with pytest.raises(UnsupportedError, match=r"the model has 500,000 tensors; edgegen compiles models of up to "
                                               r"8,192"):
        parse_tflite(data)
    took = time.perf_counter() - start
    assert took < 0.2, f"took {took:.2f} s"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.tflite"
    os.mkfifo(fifo)
    with _deadline(5):  # reading a FIFO without a writer would block forever
        with pytest.raises(EdgegenError, match=r"model\.tflite: is a FIFO \(named pipe\), not a regular file"):
            read_tflite(fifo)
        with pytest.raises(EdgegenError, match=r"is a FIFO"):
            load_tflite_bytes(fifo)


def test_character_device_is_refused() -> None:
    """/dev/zero never ends; it is refused on its type, before a byte is read."""
    with _deadline(5), pytest.raises(EdgegenError, match=r"/dev/zero: is a character device, not a regular file"):
        read_tflite("/dev/zero")


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3 GB (sparse) file is refused on its size from stat; os.read is never called."""
    big = tmp_path / "big.tflite"
    with open(big, "wb") as f:
        f.truncate(3 << 30)
    calls: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: calls.append(n) or real_read(fd, n))
    for read in (read_tflite, load_tflite_bytes):
        with pytest.raises(UnsupportedError, match=r"big\.tflite: the file has 3,221,225,472 bytes, more than edgegen "
                                                   r"reads \(268,435,456 bytes\)"):
            read(big)
    assert calls == []


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EdgegenError, match=r"is a directory, expected a \.tflite file"):
        read_tflite(tmp_path)
    with pytest.raises(EdgegenError, match=r"no such file"):
        load_tflite_bytes(tmp_path / "nope.tflite")


def test_regular_file_is_read_whole(tmp_path: Path) -> None:
    p = tmp_path / "hello.tflite"
    p.write_bytes(shared_path(HELLO).read_bytes())
    assert load_tflite_bytes(p) == p.read_bytes()
    assert read_tflite(p).ops


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging if the block takes longer (SIGALRM, main thread)."""
    def expired(signum: int, frame: Any) -> None:
        raise AssertionError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _int64_constant(m: Any, t: int) -> None:
    tensor = _tensor(m, t)
    buf = m.buffers[tensor.buffer]
    buf.data = np.frombuffer(np.frombuffer(bytes(buf.data), "<i4").astype("<i8").tobytes(), np.uint8)
    tensor.type = schema.TensorType.INT64


def _metadata(name: bytes) -> Callable[[Any], None]:
    def edit(m: Any) -> None:
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, 0
        m.metadata = [*(m.metadata or []), entry]

    return edit


def _buffer0_data(m: Any) -> None:
    m.buffers[0].data = np.arange(64, dtype=np.uint8)
    _tensor(m, 6).buffer = 0


def _huge_bias(m: Any) -> None:
    m.buffers[6].data = np.frombuffer(np.full(16, 2**31 - 1, "<i4").tobytes(), np.uint8)


def _depthwise_bias_left_out(m: Any) -> None:
    _op(m, 1).inputs = _ints(22, 5, -1)


def _eleven_inputs(m: Any) -> None:
    _op(m, 10).inputs = _ints(*[11] * 11)
    _tensor(m, 12).shape = _ints(1, 3, 3, 22)


def _squeeze_dims(m: Any) -> None:
    _op(m, 12).builtinOptions.squeezeDims = [2]  # [1, 1, 1, 4] -> [1, 4] removes 1 and 2


# (id, model, edit, error class, pattern); tiny = tests.support.fuzz.all_ops_model: op 10 CONCATENATION
# of tensors 11 and 4 into 12, op 11 MEAN (axes tensor 13), op 12 SQUEEZE, op 13 EXPAND_DIMS (axis
# tensor 17), op 14 PADV2 (paddings 19, value 20), op 2 MAX_POOL_2D
TFLM_PARITY_EDITS: list[tuple[str, str, Callable[[Any], None], type[EdgegenError], str]] = [
    ("variable tensor", HELLO, lambda m: _set(_tensor(m, 6), isVariable=True), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\) reads the variable \(stateful\) tensor 6 .* as input 1, where it keeps no state"),
    ("custom options on a builtin op", HELLO, lambda m: _set(_op(m, 0), customOptions=np.ones(4, np.uint8)),
     ModelFormatError, r"op 0 \(FULLY_CONNECTED\) carries custom options; TFLM refuses"),
    ("compressed weights", HELLO, _metadata(b"COMPRESSION_METADATA"), UnsupportedError,
     r"metadata 'COMPRESSION_METADATA' is not supported: its weights are compressed for TFLM"),
    ("offline memory plan", HELLO, _metadata(b"OfflineMemoryAllocation"), UnsupportedError,
     r"metadata 'OfflineMemoryAllocation' is not supported"),
    ("buffer 0 holds data", HELLO, _buffer0_data, ModelFormatError,
     r"tensor 6 .* refers to buffer 0, which holds 64 bytes; buffer 0 must be the empty sentinel"),
    ("zero points left out", HELLO, lambda m: _set(_tensor(m, 7).quantization, zeroPoint=None), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): output tensor 7 .* needs per-tensor quantization parameters"),
    ("quantized bias type", HELLO, lambda m: _set(_op(m, 0).builtinOptions, quantizedBiasType=4), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): quantized bias type INT64 in its options is not supported"),
    ("fully connected output units", HELLO, lambda m: _set(_tensor(m, 7), shape=_ints(16, 1)), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): output tensor 7 .* is not 1 rows of the weights' 16 units"),
    ("accumulator overflow", HELLO, _huge_bias, UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): output channel \d+ could accumulate up to 2,147,\d{3},\d{3} .* beyond int32"),
    ("per-tensor bias scale", HELLO, lambda m: _quant(m, 5, [1.0], [0]), UnsupportedError,
     r"op 0 \(FULLY_CONNECTED\): bias tensor 5 .* has scale 1, but input scale x weights scale is"),
    ("depthwise bias left out as -1", KWS, _depthwise_bias_left_out, UnsupportedError,
     r"op 1 \(DEPTHWISE_CONV_2D\): its bias is left out \(-1\) as a third input, which crashes TFLM"),
    ("softmax output scale one ulp off", KWS,
     lambda m: _quant(m, 34, [float(np.nextafter(np.float32(1 / 256), np.float32(1)))], [-128]), UnsupportedError,
     r"op 12 \(SOFTMAX\): int8 SOFTMAX output must have scale 1/256"),
    ("pool filter far beyond the input", KWS, lambda m: _set(_op(m, 9).builtinOptions, filterHeight=2**31 - 1),
     UnsupportedError, r"op 9 \(AVERAGE_POOL_2D\): its filter \(2147483647 x 5\) spans 2,147,483,647 x 5 input "
                       r"positions once padded; the input 25 x 5 x 64 padded for it would hold 687,194,767,040 values"),
    ("concatenation of 11 inputs", "tiny", _eleven_inputs, UnsupportedError,
     r"op 10 \(CONCATENATION\): 11 inputs; TFLM concatenates at most 10"),
    ("int64 mean axes", "tiny", lambda m: _int64_constant(m, 13), UnsupportedError,
     r"op 11 \(MEAN\): axis tensor 13 .* has type int64, expected int32"),
    ("int64 pad paddings", "tiny", lambda m: _int64_constant(m, 2), UnsupportedError,
     r"op 1 \(PAD\): paddings tensor 2 .* has type int64, expected int32"),
    ("int64 expand_dims axis", "tiny", lambda m: _int64_constant(m, 17), UnsupportedError,
     r"op 13 \(EXPAND_DIMS\): axis tensor 17 .* has type int64, expected int32"),
    ("expand_dims axis elsewhere", "tiny", lambda m: _set(m.buffers[_tensor(m, 17).buffer],
                                                          data=np.array([2, 0, 0, 0], np.uint8)),
     UnsupportedError, r"op 13 \(EXPAND_DIMS\): output tensor 16 .* is not input tensor 15 .* with a dimension of 1 "
                       r"inserted at 2"),
    ("squeeze dims", "tiny", _squeeze_dims, UnsupportedError,
     r"op 12 \(SQUEEZE\): output tensor 15 .* is not input tensor 14 .* without dimensions \[2\]"),
    ("squeeze of a dimension > 1", "tiny", lambda m: _set(_op(m, 12).builtinOptions, squeezeDims=[3]),
     UnsupportedError, r"op 12 \(SQUEEZE\): squeeze dimension 3 is not a dimension of size 1"),
    ("padv2 value quantized otherwise", "tiny", lambda m: _quant(m, 20, [0.1], [0]), UnsupportedError,
     r"op 14 \(PADV2\): constant value tensor 20 .* is not quantized as the output"),
    ("no buffers at all, tensors on buffer 0", HELLO, lambda m: (_set(m, buffers=[]), [
        _set(_tensor(m, t), buffer=0) for t in (0, 7, 8, 9)]) and None, ModelFormatError,
     r"tensor 0 .* refers to buffer 0, but the model has 0"),
]


@pytest.mark.parametrize(("model", "edit", "cls", "pattern"), [c[1:] for c in TFLM_PARITY_EDITS],
                         ids=[c[0] for c in TFLM_PARITY_EDITS])
def test_what_tflm_computes_otherwise_is_refused(model: str, edit: Callable[[Any], None], cls: type[EdgegenError],
                                                 pattern: str) -> None:
    err = _refusal(_tiny_edit(edit) if model == "tiny" else _edited(edit, model))
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert re.search(pattern, str(err)), str(err)


def _pool_model(shape: tuple[int, ...], filt: int, scale: float = 0.05,
                activation: int = schema.ActivationFunctionType.NONE) -> bytes:
    m = TinyModel()
    x = m.tensor(shape, scale=scale)
    out = (shape[0], shape[1] // filt, shape[2] // filt, shape[3])
    y = m.tensor(out, scale=scale)
    m.op("MAX_POOL_2D", [x], [y], options("Pool2DOptionsT", padding=schema.Padding.VALID, strideW=filt,
                                           strideH=filt, filterWidth=filt, filterHeight=filt,
                                           fusedActivationFunction=activation))
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def test_activation_bound_beyond_int32_is_refused() -> None:
    """TFLite's CalculateActivationRangeQuantized refuses RELU6 on an output scale so small that
    6 / scale leaves int32 (edgegen clamped it and went on)."""
    err = _refusal(_pool_model((1, 4, 4, 1), 2, scale=1e-9, activation=schema.ActivationFunctionType.RELU6))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"op 0 \(MAX_POOL_2D\): its quantization parameters cannot be implemented \(the activation "
                     r"bound 6\.0 / output scale 1e-09 is outside int32\)", str(err)), str(err)


def test_pool_positions_budget() -> None:
    """The simulator computes pools one output position at a time: 2^20 of them (a 2 MiB
    tensor) would take seconds, so a pool is limited to 2^18 positions."""
    err = _refusal(_pool_model((1, 1024, 1024, 1), 1))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"op 0 \(MAX_POOL_2D\) has 1,048,576 output positions, more than edgegen compiles in one "
                     r"pooling op \(262,144\)", str(err)), str(err)


def test_mac_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multiply-accumulates per op and per model are counted from the shapes before lowering."""
    kws = shared_path(KWS).read_bytes()
    monkeypatch.setattr(checks, "MAX_OP_MACS", 100_000)
    with pytest.raises(UnsupportedError, match=r"op 0 \(CONV_2D\) takes 320,000 multiply-accumulates, more than "
                                               r"edgegen compiles in one op \(100,000\)"):
        parse_tflite(kws)
    monkeypatch.setattr(checks, "MAX_OP_MACS", 1 << 26)
    monkeypatch.setattr(checks, "MAX_MODEL_MACS", 1_000_000)
    with pytest.raises(UnsupportedError, match=r"the ops up to op \d+ \(\w+\) take [\d,]+ multiply-accumulates, more "
                                               r"than edgegen compiles in one model \(1,000,000\)"):
        parse_tflite(kws)


def test_op_tensor_lists_are_bounded() -> None:
    """An op listing thousands of inputs is refused before the list is read."""
    err = _refusal(_edited(lambda m: _set(_op(m, 0), inputs=_ints(*[0] * 2000))))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"operator 0 lists 2,000 inputs; edgegen handles ops of up to 1,024", str(err)), str(err)


def test_reshape_new_shape_of_more_than_8_dimensions() -> None:
    def edit(m: Any) -> None:
        _set(_op(m, 10), builtinOptionsType=schema.BuiltinOptions.ReshapeOptions,
             builtinOptions=options("ReshapeOptionsT", newShape=[1] * 9))  # kws: op 10 is the RESHAPE

    err = _refusal(_conv_edit(edit))
    assert type(err) is UnsupportedError, f"{type(err).__name__}: {err}"
    assert re.search(r"op 10 \(RESHAPE\): its options list a new shape of 9 dimensions; TFLM takes at most 8",
                     str(err)), str(err)


def test_activation_bytes_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The activations bound the arena; their sum is checked before lowering."""
    monkeypatch.setattr(checks, "MAX_ACTIVATION_BYTES", 10_000)
    with pytest.raises(UnsupportedError, match=r"the model's activations \(its tensors that are not constants\) take "
                                               r"[\d,]+ bytes together, more than 10,000"):
        parse_tflite(shared_path(KWS).read_bytes())
