"""int16 (16x8) pools, elementwise ops, LOGISTIC/TANH, SOFTMAX, MEAN, PAD and CONCATENATION beyond
the converter-made families of tests/test_ops.py: the power-of-two input scales of int16 LOGISTIC /
TANH (TFLM's other Prepare branch, which the converter's arbitrary scales never take; hand-built),
and the refusals of what TFLM's int16 kernels do not take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.build import build, compile_tflite
from edgegen.errors import UnsupportedError
from edgegen.int16math import sigmoid_tanh16_params
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.fuzz import TinyModel, pack
from .support.opmodels import edge_inputs

#: (op, input scale) of the power-of-two cases: TFLM's int16 LOGISTIC takes its power-of-two path
#: when 12 + log2(scale) is 0, TANH when it is 0 or 1
_POT = (("LOGISTIC", 2.0**-12), ("TANH", 2.0**-12), ("TANH", 2.0**-11), ("LOGISTIC", 2.0**-11), ("TANH", 2.0**-10))


def _pot_model() -> bytes:
    m = TinyModel()
    for k, (op, scale) in enumerate(_POT):
        x = m.tensor((1, 7, 37), "int16", scale=scale, name=f"b{k}x")
        y = m.tensor((1, 7, 37), "int16", scale=2.0**-15, name=f"b{k}y")
        m.op(op, [x], [y])
        m.inputs.append(x)
        m.outputs.append(y)
    return pack(m.model())


def test_power_of_two_scales_take_tflms_power_of_two_path() -> None:
    # the lowered multipliers are TFLM's "3 << input_left_shift, shift 0" where Prepare finds a
    # power of two, the general multiplier otherwise (scale 2^-11 for LOGISTIC, 2^-10 for TANH)
    got = [(p.multiplier, p.left_shift) for p in (sigmoid_tanh16_params(s, op == "TANH") for op, s in _POT)]
    assert got[:3] == [(3, 0), (3, 0), (6, 0)]
    assert got[3][1] > 0 and got[4][1] > 0


def test_power_of_two_scales_match_tflm(tmp_path: Path) -> None:
    data = _pot_model()
    program = lower(parse_tflite(data, name="pot"), name="pot")
    assert {c.function for c in program.calls} == {"edgegen_sigmoid_tanh_s16"}
    samples = edge_inputs(program) + random_inputs(program, 4, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok, "\n".join(m.message() for m in report.mismatches)
    assert report.tensors_compared == len(samples) * len(program.calls)
    result = build(data, tmp_path / "pot", source="pot.tflite", name="pot", force=True)
    edges = edge_inputs(result.program)
    report, _ = verify_directory(result.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True


def _unary(builtin: str, in_dtype: str, out_dtype: str, out_scale: float, options: object = None) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 8), in_dtype, scale=0.01, zero_point=0, name="x")
    y = m.tensor((1, 8), out_dtype, scale=out_scale, zero_point=0, name="y")
    m.op(builtin, [x], [y], options)
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def _softmax_options() -> object:
    o = schema.SoftmaxOptionsT()
    o.beta = 1.0
    return o


@pytest.mark.parametrize(("data", "message"), [
    (lambda: _unary("LOGISTIC", "int16", "int16", 0.02),
     r"int16 LOGISTIC output must have scale 1/32768 \(2\^-15\) and zero point 0, as TFLM requires"),
    (lambda: _unary("TANH", "int16", "int16", 2.0**-14), r"int16 TANH output must have scale 1/32768"),
    (lambda: _unary("SOFTMAX", "int16", "int16", 1 / 256, _softmax_options()),
     r"int16 SOFTMAX output must have scale 1/32768 and zero point 0 \(as TFLM requires\)"),
    (lambda: _unary("SOFTMAX", "int8", "int16", 2.0**-15, _softmax_options()),
     r"differ in type; edgegen compiles int8 -> int8 and int16 -> int16 SOFTMAX"),
    (lambda: _unary("LOGISTIC", "int16", "int8", 1 / 256),
     r"differ in type; edgegen compiles LOGISTIC int8 -> int8 and int16 -> int16"),
    (lambda: _unary("RELU", "int16", "int16", 0.01),
     r"RELU\): input .* is int16; edgegen does not compile int16 activations for RELU"),
], ids=["logistic-scale", "tanh-scale", "softmax-scale", "softmax-int8-to-int16", "logistic-int16-to-int8", "relu"])
def test_int16_refusals(data: object, message: str) -> None:
    assert callable(data)
    with pytest.raises(UnsupportedError, match=message):
        compile_tflite(data(), name="r", source="r.tflite")


def test_int16_add_with_an_int8_constant_is_refused() -> None:
    m = TinyModel()
    x = m.tensor((1, 4), "int16", scale=0.01, name="x")
    c = m.tensor((1, 4), "int8", scale=0.01, zero_point=0, data=np.ones((1, 4), np.int8), name="c")
    y = m.tensor((1, 4), "int16", scale=0.02, name="y")
    m.op("ADD", [x, c], [y], schema.AddOptionsT())
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=r"constant second input .* must be per-tensor int16, as the output"):
        compile_tflite(pack(m.model()), name="a", source="a.tflite")


def test_int16_ops_refuse_mixed_types() -> None:
    """An int8 operand into an int16 ADD, MEAN, PAD or CONCATENATION: one message naming both tensors."""
    m = TinyModel()
    x = m.tensor((1, 2, 2, 4), "int8", scale=0.01, zero_point=0, name="x")
    y = m.tensor((1, 2, 2, 4), "int16", scale=0.01, name="y")
    m.op("ADD", [x, y], [m.tensor((1, 2, 2, 4), "int16", scale=0.02, name="z")], schema.AddOptionsT())
    m.inputs, m.outputs = [x, y], [2]
    with pytest.raises(UnsupportedError, match=r"first input .* and output .* differ in type; edgegen compiles ADD"):
        compile_tflite(pack(m.model()), name="a", source="a.tflite")
    m = TinyModel()
    x = m.tensor((1, 2, 2, 4), "int8", scale=0.01, zero_point=0, name="x")
    p = m.const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    y = m.tensor((1, 4, 4, 4), "int16", scale=0.01, name="y")
    m.op("PAD", [x, p], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=r"PAD\): input .* and output .* differ in type"):
        compile_tflite(pack(m.model()), name="p", source="p.tflite")
