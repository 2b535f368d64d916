"""DEPTHWISE_CONV_2D with one input channel and any depth multiplier, any KH x KW filter, any stride,
SAME or VALID (micro_speech's 10x8 stride-2 layer with multiplier 8): exactly a CONV_2D with one input
channel and the [KH*KW, M] filter transposed to [M, KH*KW], so edgegen lowers it to its general conv
kernel (edgegen_conv_s8 on DSP CPUs, edgegen_conv8_s8 on Helium). The converter-made family
``depthwise_conv_2d_1ch``: simulator == TFLM on every tensor, host C == simulator, and qemu-m4 /
qemu-m55 == simulator on edge inputs. Depthwise with C > 1 input channels (multiplier 1..4, filters up to
5x5; the family ``depthwise_conv_2d_grouped``) runs the same kernel with groups = C (its DSP path on both
CPUs): the same checks at the end of this module."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen.boards import resolve_board
from edgegen.build import build, compile_tflite
from edgegen.kernels import conv as convk
from edgegen.kernels import mve_conv
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.opmodels import FAMILIES, MIN_CASES_PER_OP, edge_inputs, op_model
from .test_kernels import _program

FAMILY = "depthwise_conv_2d_1ch"
MICRO_SPEECH = "models/tflite_micro/micro_speech_quantized.tflite"
#: the call kind and function each board's build gives these layers
VARIANT = {"qemu-m4": (convk.ConvKernelCall, "edgegen_conv_s8"), "qemu-m55": (mve_conv.ConvMveCall, "edgegen_conv8_s8")}


def _board_program(seed: int, board: str):  # type: ignore[no-untyped-def]
    return compile_tflite(op_model(FAMILY, seed).tflite, name="k", source="k.tflite",
                          board=resolve_board(board).board)[1]


@pytest.mark.parametrize("board", sorted(VARIANT))
def test_per_op_models_take_the_conv_kernel_and_match_tflm(board: str) -> None:
    """The three seeds (75 converter-made layers: multipliers 1..12, filters up to 10x8, strides 1..3,
    SAME and VALID): every depthwise layer the proofs admit (70 on the M4, 74 on the M55) runs the
    board's conv kernel, and the simulator equals TFLM on every tensor on edge and random inputs."""
    kind, function = VARIANT[board]
    calls = []
    for seed in FAMILIES[FAMILY].seeds:
        model = op_model(FAMILY, seed)
        program = _board_program(seed, board)
        # the layers left on the CMSIS-NN call are those whose proofs fail (the random scales reach
        # e.g. left shifts above 7 and zero points that overflow the folded rounding constant)
        kept = {c.op_index for c in program.calls if c.KIND == "depthwise"}
        assert kept == {i for i, why in program.kernel_notes if why.startswith("not proven exact")}
        calls += [c for c in program.calls if isinstance(c, kind)]
        samples = edge_inputs(program) + random_inputs(program, 2, seed=seed)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, model.tflite, samples, report)
        assert report.ok, [mm.message() for mm in report.mismatches]
        assert report.tensors_compared == len(samples) * len(program.calls)
    assert len(calls) >= MIN_CASES_PER_OP and all(c.function == function and c.c == 1 for c in calls)
    assert sum(c.oc > 1 for c in calls) >= 35 and sum(c.kh * c.kw > 9 for c in calls) >= 20
    assert {c.sh for c in calls} == {1, 2, 3} and any(c.pad_t or c.pad_l for c in calls)


@pytest.mark.parametrize("board", sorted(VARIANT))
def test_host_c_matches_the_simulator(board: str, tmp_path: Path) -> None:
    """The board's build's C on the host (the portable paths), ASan/UBSan, edge inputs."""
    model = op_model(FAMILY, FAMILIES[FAMILY].seeds[0])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, force=True)
    assert sum(isinstance(c, VARIANT[board][0]) for c in result.program.calls) >= 23
    edges = edge_inputs(result.program)
    report, _program = verify_directory(result.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.c_vs_sim is True and report.sim_vs_tflm is True


@pytest.mark.parametrize("board", sorted(VARIANT))
def test_on_qemu(board: str, tmp_path: Path) -> None:
    """The DSP path on qemu-m4 and the Helium path on qemu-m55 exact on every vector (seed 2's
    25 layers, all admitted on both CPUs; edge inputs and random)."""
    from edgegen.emulator import run_on_emulator

    model = op_model(FAMILY, FAMILIES[FAMILY].seeds[2])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=1)
    assert sum(c.function == VARIANT[board][1] for c in result.program.calls) == 25
    edges = edge_inputs(result.program)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board,
                   vectors=len(edges) + 2, samples=edges, force=True)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2


def test_micro_speech_takes_the_conv_kernel() -> None:
    """micro_speech's depthwise layer (10x8, multiplier 8, stride 2) on edgegen's conv kernel on both
    CPUs, with Arm's library too (the conv kernel is faster than Arm's depthwise there: 504,240 vs
    1,460,720 instructions on qemu-m4, 120,750 vs 995,937 on qemu-m55), and Arm's call under
    ``--kernels cmsis-nn``."""
    for board, (_kind, function) in VARIANT.items():
        for arm in (False, True):
            calls = _program(MICRO_SPEECH, board, arm=arm).calls
            assert calls[0].function == function, (board, arm)
            assert (calls[0].k, calls[0].oc, calls[0].sh) == (80, 8, 2)  # type: ignore[attr-defined]
        assert _program(MICRO_SPEECH, board, "cmsis-nn").calls[0].KIND == "depthwise"


GROUPED = "depthwise_conv_2d_grouped"


def test_grouped_models_take_the_conv_kernel_and_match_tflm() -> None:
    """The three seeds (75 converter-made layers: C 2..12, multipliers 1..4, filters up to 5x5,
    strides 1..2, SAME and VALID): every layer the proofs admit runs the conv kernel with groups = C
    (the DSP path on both CPUs), and the simulator equals TFLM on every tensor on edge and random inputs."""
    calls = []
    for seed in FAMILIES[GROUPED].seeds:
        model = op_model(GROUPED, seed)
        for board in sorted(VARIANT):
            program = compile_tflite(model.tflite, name="k", source="k.tflite", board=resolve_board(board).board)[1]
            kept = {c.op_index for c in program.calls if c.KIND == "depthwise"}
            assert kept == {i for i, why in program.kernel_notes if why.startswith("not proven exact")}
            calls += [c for c in program.calls if isinstance(c, convk.ConvKernelCall)]
        samples = edge_inputs(program) + random_inputs(program, 2, seed=seed)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, model.tflite, samples, report)
        assert report.ok, [mm.message() for mm in report.mismatches]
    assert len(calls) >= 2 * MIN_CASES_PER_OP and all(c.groups == c.c > 1 for c in calls)
    assert {c.oc // c.groups for c in calls} == {1, 2, 3, 4} and any(c.kh * c.kw > 9 for c in calls)


@pytest.mark.parametrize("board", sorted(VARIANT))
def test_grouped_on_host_and_qemu(board: str, tmp_path: Path) -> None:
    """Host C (portable path, ASan/UBSan) == simulator, and the board's DSP path on qemu exact on
    edge and random vectors (seed 0's admitted layers)."""
    from edgegen.emulator import run_on_emulator

    model = op_model(GROUPED, FAMILIES[GROUPED].seeds[0])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=1)
    assert sum(isinstance(c, convk.ConvKernelCall) and c.groups > 1 for c in result.program.calls) >= 23
    edges = edge_inputs(result.program)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board,
                   vectors=len(edges) + 2, samples=edges, force=True)
    report, _program = verify_directory(result.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.c_vs_sim is True and report.sim_vs_tflm is True
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2
