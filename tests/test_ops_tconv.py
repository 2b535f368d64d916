"""TRANSPOSE_CONV beyond what the converter writes, on edits of the converter-made models of
tests/support/opmodels.py (their parity is in tests/test_ops.py): a fused RELU / RELU6 /
RELU_N1_TO_1 whose clamp cuts into the output's range (the converter only fuses an activation the
output range already implies), simulator == TFLM on every tensor and host C == simulator; and what
the reader refuses, each with the op's name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.build import build
from edgegen.errors import UnsupportedError
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.difffuzz import SAME, DiffRunner, run_case
from .support.fuzz import Fuzzer, TinyModel, make_seed, pack, unpack
from .support.opmodels import edge_inputs, op_model


def _ops(m: Any) -> list[Any]:
    code = schema.BuiltinOperator.TRANSPOSE_CONV
    return [op for op in m.subgraphs[0].operators
            if max(m.operatorCodes[op.opcodeIndex].builtinCode,
                   m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == code]


def test_fused_activations_clamp_as_tflm(tmp_path: Path) -> None:
    model = unpack(op_model("transpose_conv", 1).tflite)
    acts = (schema.ActivationFunctionType.RELU, schema.ActivationFunctionType.RELU6,
            schema.ActivationFunctionType.RELU_N1_TO_1)
    for k, op in enumerate(_ops(model)):
        op.builtinOptions.fusedActivationFunction = acts[k % 3]
    data = pack(model)
    program = lower(parse_tflite(data, name="tc"), name="tc")
    calls = [c for c in program.calls if c.KIND == "transpose_conv"]
    # the clamps cut into the output range in most layers, on both kernels
    cut = [c for c in calls if (c.act_min, c.act_max) != (-128, 127)]  # type: ignore[attr-defined]
    assert len(cut) >= len(calls) // 2 and {c.function for c in cut} == {"arm_transpose_conv_s8",
                                                                          "edgegen_transpose_conv_s8"}
    samples = edge_inputs(program) + random_inputs(program, 3, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok, [m.message() for m in report.mismatches]
    result = build(data, tmp_path / "tc", source="tc.tflite", name="tc", force=True)
    edges = edge_inputs(result.program)
    c_report, _ = verify_directory(result.out, edges, count=len(edges) + 2, seed=0)
    assert c_report.ok and c_report.c_vs_sim is True


def _first(edit: Callable[[Any, Any], None]) -> Callable[[Any], None]:
    def apply(m: Any) -> None:
        edit(m, _ops(m)[0])
    return apply


def _filter_zero_point(m: Any, op: Any) -> None:
    q = m.subgraphs[0].tensors[op.inputs[1]].quantization
    q.zeroPoint = np.ones_like(np.asarray(q.zeroPoint))


def _output_shape(m: Any, op: Any) -> None:
    t = m.subgraphs[0].tensors[op.inputs[0]]
    shape = np.frombuffer(bytes(m.buffers[t.buffer].data), np.int32).copy()
    shape[1] += 1
    m.buffers[t.buffer].data = np.frombuffer(shape.tobytes(), np.uint8)


def _bias_left_out(m: Any, op: Any) -> None:
    op.inputs = [*list(op.inputs[:3]), -1]


def _bias_type(m: Any, op: Any) -> None:
    op.builtinOptions.quantizedBiasType = schema.TensorType.INT8


def _stride(m: Any, op: Any) -> None:
    op.builtinOptions.strideW = 0


def _int16_stride(m: Any, op: Any) -> None:
    # found by differential fuzzing: TFLM's int16 ConvParams turn stride 65536 into 0
    op.builtinOptions.strideW = 65536


CASES: list[tuple[str, Callable[[Any, Any], None], str]] = [
    ("filter zero point", _filter_zero_point, r"TRANSPOSE_CONV\): filter .* has non-zero zero points"),
    ("output shape", _output_shape, r"TRANSPOSE_CONV\): output shape operand .* not the output's shape"),
    ("bias -1", _bias_left_out, r"TRANSPOSE_CONV\): its bias is left out \(-1\)"),
    ("bias type", _bias_type, r"TRANSPOSE_CONV\): quantized bias type"),
    ("stride 0", _stride, r"TRANSPOSE_CONV\): strideH/strideW of \(\d+, 0\) must be positive"),
    ("stride 65536", _int16_stride, r"TRANSPOSE_CONV\): strides \(\d+, 65536\) above 32767 are not supported"),
]


@pytest.mark.parametrize(("edit", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_the_op_named(edit: Callable[[Any, Any], None], pattern: str) -> None:
    model = unpack(op_model("transpose_conv", 0).tflite)
    _first(edit)(model)
    with pytest.raises(UnsupportedError, match=pattern):
        parse_tflite(pack(model))


def _tiny_tconv_model() -> bytes:
    """Two TRANSPOSE_CONV: kernel 3 stride 2 SAME with bias and RELU (arm_transpose_conv_s8), then
    kernel 3 stride 1 SAME without bias (a top padding: edgegen_transpose_conv_s8)."""
    rng = np.random.default_rng(0)
    m = TinyModel()
    x = m.tensor((1, 3, 4, 5), scale=0.05, zero_point=3)
    w1 = m.tensor((4, 3, 3, 5), scale=[0.01, 0.02, 0.015, 0.03], zero_point=0,
                  data=rng.integers(-127, 128, (4, 3, 3, 5)).astype(np.int8))
    b1 = m.const(rng.integers(-2000, 2000, 4), scale=[0.0005, 0.001, 0.00075, 0.0015], zero_point=0)
    y1 = m.tensor((1, 6, 8, 4), scale=0.2, zero_point=-5)
    o1 = schema.TransposeConvOptionsT()
    o1.padding, o1.strideH, o1.strideW = schema.Padding.SAME, 2, 2
    o1.fusedActivationFunction = schema.ActivationFunctionType.RELU
    m.op("TRANSPOSE_CONV", [m.const([1, 6, 8, 4]), w1, x, b1], [y1], o1)
    w2 = m.tensor((3, 3, 3, 4), scale=0.02, zero_point=0, data=rng.integers(-127, 128, (3, 3, 3, 4)).astype(np.int8))
    y2 = m.tensor((1, 6, 8, 3), scale=0.5, zero_point=10)
    o2 = schema.TransposeConvOptionsT()
    o2.padding, o2.strideH, o2.strideW = schema.Padding.SAME, 1, 1
    m.op("TRANSPOSE_CONV", [m.const([1, 6, 8, 3]), w2, y1], [y2], o2)
    m.inputs, m.outputs = [x], [y2]
    return pack(m.model())


#: mutants per run (~4 s); a 20,000-case run of this seed (run seed 16) and 12,500 mutants of the Keras
#: autoencoder and a Conv1DTranspose model found nothing beyond the int16 strides refused above
CASES = 1000


def test_differential_fuzz_of_transpose_conv() -> None:
    """Mutants of the tiny model (strides, paddings, shapes, quantization, options, bytes): each one
    edgegen accepts computes exactly what TFLM computes; the rest edgegen refuses."""
    data = _tiny_tconv_model()
    program = lower(parse_tflite(data, name="tiny"), name="tiny")
    assert [c.function for c in program.calls] == ["arm_transpose_conv_s8", "edgegen_transpose_conv_s8"]
    fuzzer = Fuzzer([make_seed("tiny_tconv", data, 1)], 15)
    runner = DiffRunner(lambda i, stage, log: run_case(fuzzer, i, stage, log), lambda i: fuzzer.case(i).describe(),
                        jobs=1)
    summary = runner.run(range(CASES))
    report = summary.report()
    assert not summary.findings, report
    assert summary.counts[SAME] > 0.12 * CASES, report
