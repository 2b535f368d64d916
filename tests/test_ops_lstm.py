"""UNIDIRECTIONAL_SEQUENCE_LSTM beyond tests/test_ops.py's random models: what the reader refuses
(edits of the converter-made models of tests/support/opmodels.py, each refusal naming the op), and
models whose recurrent products pass int16, where TFLM's reference kernel saturates each product
before adding it (Arm's CMSIS-NN v7 adds first): simulator == TFLM on every tensor there too, and
the host C (edgegen's portable arm_lstm_unidirectional_s8) == simulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen import fixedpoint as fx
from edgegen.build import build
from edgegen.errors import ModelFormatError, UnsupportedError
from edgegen.lower import lower
from edgegen.ops.lstm import LstmCall
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.fuzz import pack, unpack
from .support.opmodels import edge_inputs, op_model


def _lstms(m: Any) -> list[Any]:
    code = schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
    return [op for op in m.subgraphs[0].operators
            if max(m.operatorCodes[op.opcodeIndex].builtinCode,
                   m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == code]


def _option(name: str, value: Any) -> Callable[[Any], None]:
    def edit(m: Any) -> None:
        setattr(_lstms(m)[0].builtinOptions, name, value)
    return edit


def _input(position: int, source: int | None) -> Callable[[Any], None]:
    """Input ``position`` of the first LSTM set to its input ``source`` (None: left out, -1)."""
    def edit(m: Any) -> None:
        op = _lstms(m)[0]
        inputs = list(op.inputs)
        inputs[position] = -1 if source is None else inputs[source]
        op.inputs = inputs
    return edit


def _cell_scale(m: Any) -> None:
    op = _lstms(m)[0]
    q = m.subgraphs[0].tensors[op.inputs[19]].quantization
    q.scale = [float(q.scale[0]) * 1.5]


CASES: list[tuple[str, Callable[[Any], None], type[Exception], str]] = [
    ("cell clip 0", _option("cellClip", 0.0), UnsupportedError, r"LSTM\): cell_clip 0.0 is not supported"),
    ("relu cell", _option("fusedActivationFunction", schema.ActivationFunctionType.RELU), UnsupportedError,
     r"LSTM\): cell activation 1 is not supported"),
    ("indy", _option("diagonalRecurrentTensors", True), UnsupportedError,
     r"LSTM\): diagonal recurrent weights \(IndyLSTM\)"),
    ("peephole", _input(10, 13), UnsupportedError, r"LSTM\): input 10 gives peephole"),
    ("projection", _input(16, 5), UnsupportedError, r"LSTM\): input 16 gives a projection"),
    ("layer norm", _input(21, 13), UnsupportedError, r"LSTM\): input 21 gives layer normalization"),
    ("cifg", _input(1, None), UnsupportedError, r"LSTM\): a coupled input-forget gate \(CIFG"),
    ("cell scale", _cell_scale, UnsupportedError, r"LSTM\): cell state .* not a power of two"),
    ("constant state", _input(18, 2), ModelFormatError, r"LSTM\).*input 18 must be a variable"),
]


@pytest.mark.parametrize(("edit", "error", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_the_op_named(edit: Callable[[Any], None], error: type[Exception], pattern: str) -> None:
    model = unpack(op_model("lstm", 0).tflite)
    edit(model)
    with pytest.raises(error, match=pattern):
        parse_tflite(pack(model))


def _saturating_model() -> bytes:
    """The seed-0 random model with every recurrent weight scale x 64: the hidden products'
    multipliers grow 64-fold, so they pass int16 with either sign."""
    m = unpack(op_model("lstm", 0).tflite)
    for op in _lstms(m):
        for position in (5, 6, 7, 8):
            q = m.subgraphs[0].tensors[op.inputs[position]].quantization
            q.scale = [float(s) * 64.0 for s in q.scale]
    return pack(m)


def test_recurrent_products_past_int16_match_tflm(tmp_path: Path) -> None:
    data = _saturating_model()
    program = lower(parse_tflite(data, name="sat"), name="sat")
    lstm_calls = [c for c in program.calls if isinstance(c, LstmCall)]
    # the edit does what it says: some gate's recurrent product can pass int16 (weights x the
    # largest hidden-state deviation, requantized)
    passing = 0
    for call in lstm_calls:
        w = program.constant(call.forget_gate.hidden_weights).data.astype(np.int64).reshape(call.hidden_size, -1)
        bound = int(np.abs(w).sum(axis=1).max()) * 255
        passing += abs(int(fx.multiply_by_quantized_multiplier(
            np.int64(bound), call.forget_gate.hidden_multiplier, call.forget_gate.hidden_shift))) > 32767
    assert passing > len(lstm_calls) // 2
    samples = edge_inputs(program) + random_inputs(program, 4, seed=3)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok, "\n".join(m.message() for m in report.mismatches)
    assert report.tensors_compared == len(samples) * len(program.calls)
    result = build(data, tmp_path / "sat", source="sat.tflite", name="sat", force=True)
    report, _ = verify_directory(result.out, edge_inputs(result.program), count=5, seed=3, asan=True)
    assert report.ok and report.c_vs_sim is True, "\n".join(m.message() for m in report.mismatches)


def test_unread_intermediates_are_skipped_but_their_type_is_checked() -> None:
    """The converter's LSTM lists five empty float32 intermediates; the reader skips them (TFLM's
    integer kernel never reads them) but, as TFLM converts every tensor's type, still refuses one
    of a type edgegen does not know."""
    model = unpack(op_model("lstm", 0).tflite)
    op = _lstms(model)[0]
    assert len(op.intermediates) == 5
    graph = parse_tflite(pack(model))
    assert all(graph.tensor(int(t)).nbytes == 0 for t in op.intermediates)
    model.subgraphs[0].tensors[op.intermediates[0]].type = schema.TensorType.COMPLEX64
    with pytest.raises(UnsupportedError, match=r"intermediate.* has element type COMPLEX64"):
        parse_tflite(pack(model))
