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

from .support.fuzz import pack, unpack
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
