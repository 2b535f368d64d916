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
FAMILIES_15 = ("add_const", "sub_const", "mul_const", "maximum", "minimum", "hard_swish", "elu")
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
