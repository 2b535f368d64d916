"""The op families added for issue 15 (constant operands of ADD/SUB/MUL, ...) on emulated
Cortex-M4 and Cortex-M55: one converter-made model of each family per CPU, built for that board,
exact against the simulator on edge inputs (a ramp through every int8 value, both saturations) and
random ones. Simulator == TFLM and host C == simulator for every family are in tests/test_ops.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite

from .support.opmodels import FAMILIES, edge_inputs, op_model

#: the families whose C kernels (or calls) issue 15 added
FAMILIES_15 = ("add_const", "sub_const", "mul_const", "maximum", "minimum", "hard_swish", "elu", "prelu", "slice",
               "strided_slice", "transpose", "split", "split_v", "lstm")
BOARDS = ("qemu-m4", "qemu-m55")


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("family", FAMILIES_15)
def test_family_exact_on_emulator(family: str, board: str, tmp_path: Path) -> None:
    model = op_model(family, FAMILIES[family].seeds[0])
    edges = edge_inputs(lower(parse_tflite(model.tflite, name="k"), name="k"))
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=len(edges) + 2,
                   samples=edges)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2
    assert not run.result.failures and run.exit_code == 0


def test_hand_built_model_of_the_new_ops(tmp_path: Path) -> None:
    """What the converter does not write: constant first operands of ADD (it puts the constant
    second), a same-shape constant MUL, a constant MAXIMUM operand broadcast along channels, PRELU
    on a chain, int8 ELU. Simulator == TFLM on every tensor, exact on qemu-m4."""
    from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs

    from .test_generated_c import _more_ops_model

    data = _more_ops_model()
    program = lower(parse_tflite(data, name="m"), name="m")
    assert {c.op_name for c in program.calls} >= {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "PRELU", "HARD_SWISH",
                                                  "ELU"}
    assert any(getattr(c, "constant_position", None) == 0 for c in program.calls if getattr(c, "constant", None))
    samples = edge_inputs(program) + random_inputs(program, 5, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * len(program.calls)
    result = build(data, tmp_path / "m", source="m.tflite", name="m", board="qemu-m4", vectors=len(samples),
                   samples=samples)
    run = run_on_emulator(result.out, board="qemu-m4", timeout=300)
    assert run.result.verdict is True and not run.result.failures and run.exit_code == 0
