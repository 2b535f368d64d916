"""HARD_SWISH with scales so small that TFLM's int16 RoundingDivideByPOT shifts by 16 or more
(its int16 mask then wraps to all ones): found on a random-weight MobileNetV3Small (reluish
exponent -21), where edgegen's table differed from TFLM by one. Edits of the converter-made
HARD_SWISH model: every input value (the edge inputs sweep all 256), simulator == TFLM."""

from __future__ import annotations

from typing import Any

import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.lower import lower
from edgegen.ops.activations import hard_swish_params
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs

from .support.fuzz import pack, unpack
from .support.opmodels import edge_inputs, op_model


def _hard_swish_on_an_input(m: Any) -> Any:
    g = m.subgraphs[0]
    for op in g.operators:
        oc = m.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == schema.BuiltinOperator.HARD_SWISH \
                and op.inputs[0] in list(g.inputs):
            return op
    raise AssertionError("no HARD_SWISH reading a model input")


@pytest.mark.parametrize(("in_scale", "out_scale"), [(4.4e-9, 1.0e-8), (1.0e-9, 1.0e-3)])
def test_hard_swish_long_shifts_match_tflm(in_scale: float, out_scale: float) -> None:
    m = unpack(op_model("hard_swish", 0).tflite)
    op = _hard_swish_on_an_input(m)
    g = m.subgraphs[0]
    g.tensors[op.inputs[0]].quantization.scale = [in_scale]
    g.tensors[op.outputs[0]].quantization.scale = [out_scale]
    p = hard_swish_params(in_scale, int(g.tensors[op.inputs[0]].quantization.zeroPoint[0]), out_scale,
                          int(g.tensors[op.outputs[0]].quantization.zeroPoint[0]))
    assert min(p.reluish_multiplier_exponent, p.output_multiplier_exponent) <= -16, p
    tflite = pack(m)
    program = lower(parse_tflite(tflite, name="hs"), name="hs")
    samples = edge_inputs(program) + random_inputs(program, 2, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, tflite, samples, report)
    assert report.ok, [mm.message() for mm in report.mismatches]
    assert report.tensors_compared == len(samples) * len(program.calls)
