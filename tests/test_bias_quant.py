"""Per-channel quantization on a bias along the filter's axis (3 for DEPTHWISE_CONV_2D), as some
converters write it: TFLM never reads a bias's per-channel parameters, so edgegen takes any axis
on a 1-D bias whose scale count matches its length, and runs it exactly as TFLM does."""

from __future__ import annotations

from typing import Any

import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.errors import ModelFormatError
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs

from .support.fuzz import pack, unpack
from .support.opmodels import op_model


def _biases(m: Any) -> list[Any]:
    """The bias tensors (third input) of every DEPTHWISE_CONV_2D."""
    out = []
    for op in m.subgraphs[0].operators:
        oc = m.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == schema.BuiltinOperator.DEPTHWISE_CONV_2D:
            out.append(m.subgraphs[0].tensors[op.inputs[2]])
    assert out, "no DEPTHWISE_CONV_2D with a bias"
    return out


def _edited(axis: int) -> bytes:
    m = unpack(op_model("depthwise_conv_2d", 0).tflite)
    for t in _biases(m):
        assert len(t.quantization.scale) == t.shape[0] > 1, "the converter's bias is per-channel"
        t.quantization.quantizedDimension = axis
    return pack(m)


def test_bias_per_channel_along_filter_axis_runs_as_tflm() -> None:
    tflite = _edited(3)
    program = lower(parse_tflite(tflite, name="dw_bias_axis3"), name="dw_bias_axis3")
    samples = random_inputs(program, 4, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, tflite, samples, report)  # TFLM runs it, and the simulator matches it
    assert report.ok and report.tensors_compared == len(samples) * len(program.calls)


def test_per_channel_scales_still_checked_against_shape() -> None:
    m = unpack(op_model("depthwise_conv_2d", 0).tflite)
    t = _biases(m)[0]
    t.quantization.scale = [*t.quantization.scale, 1.0]
    t.quantization.zeroPoint = [*t.quantization.zeroPoint, 0]
    with pytest.raises(ModelFormatError, match="per-channel scales along axis 0, which does not match its shape"):
        parse_tflite(pack(m), name="bad")
