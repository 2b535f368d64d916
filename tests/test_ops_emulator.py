"""The op families added for issue 15 (constant operands of ADD/SUB/MUL, ...) on emulated
Cortex-M4 and Cortex-M55: one converter-made model of each family per CPU, built for that board,
exact against the simulator on edge inputs (a ramp through every int8 value, both saturations) and
random ones. Simulator == TFLM and host C == simulator for every family are in tests/test_ops.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite

from .support.opmodels import FAMILIES, edge_inputs, op_model

#: the families whose C kernels (or calls) issue 15 added
FAMILIES_15 = ("add_const", "sub_const", "mul_const", "maximum", "minimum", "hard_swish", "elu", "prelu", "slice",
               "strided_slice", "transpose", "split", "split_v", "resize_nearest_neighbor", "resize_bilinear",
               "transpose_conv", "lstm")
#: issue 16's int16 activations (16x8): arm_fully_connected_s16 and edgegen_fully_connected_s16, int16 I/O
FAMILIES_16 = ("fully_connected_16x8",)
#: issue 16's int16 (16x8) families of pools, elementwise ops (ADD, SUB and MUL with constant and
#: broadcast operands), LOGISTIC/TANH, SOFTMAX, MEAN, PAD and CONCATENATION: one model per op family
FAMILIES_16C = ("average_pool_2d_16x8", "add_const_16x8", "tanh_16x8", "softmax_16x8", "mean_16x8", "pad_16x8",
                "concatenation_16x8")
BOARDS = ("qemu-m4", "qemu-m55")
#: issue 16's 16x8 convolutions (arm_convolve_wrapper_s16, arm_depthwise_conv_wrapper_s16 on their
#: DSP paths: SMLAD / SMLAxy on int16 pairs)
FAMILIES_16_CONV = ("conv_2d_16x8", "depthwise_conv_2d_16x8")


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("family", FAMILIES_15 + FAMILIES_16 + FAMILIES_16_CONV + FAMILIES_16C)
def test_family_exact_on_emulator(family: str, board: str, tmp_path: Path) -> None:
    model = op_model(family, FAMILIES[family].seeds[0])
    edges = edge_inputs(lower(parse_tflite(model.tflite, name="k"), name="k"))
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=len(edges) + 2,
                   samples=edges)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2
    assert not run.result.failures and run.exit_code == 0


def test_pruned_16x8_exact_on_qemu_m4(tmp_path: Path) -> None:
    """16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with pruned (all-zero) weight channels,
    whose weight scale the converter writes as 0.0 (multiplier 0, shift 0), on the board's kernels."""
    test_family_exact_on_emulator("pruned_16x8", "qemu-m4", tmp_path)


@pytest.mark.parametrize("board", BOARDS)
def test_svdf_exact_on_emulator(board: str, tmp_path: Path) -> None:
    """Two SVDFs (int8 then int16 state: arm_svdf_s8, arm_svdf_state_s16_s8), hand-built (the
    converter makes none); the harness resets the state before every vector."""
    from .support.svdfmodels import svdf_case

    data = svdf_case(3, chain=True).tflite
    result = build(data, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=6)
    assert {c.function for c in result.program.calls} == {"arm_svdf_s8", "arm_svdf_state_s16_s8"}
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == 6 and not run.result.failures and run.exit_code == 0
    _svdf_stream_on_emulator(result.out, board, tmp_path)


_STREAM_APP = r"""
#include <stdint.h>
#include "semihost.h"
#include "k_model.h"
static const int8_t inputs[STEPS][K_INPUT0_BYTES] = { INPUTS };
static const int8_t outputs[STEPS][K_OUTPUT0_BYTES] = { OUTPUTS };
int main(void)
{
    if (k_init() != K_OK) return 2;
    for (int32_t pass = 0; pass < 2; pass++) {
        for (int32_t t = 0; t < STEPS; t++) {
            int8_t *in = (int8_t *)k_input(0);
            for (int32_t i = 0; i < K_INPUT0_BYTES; i++) in[i] = inputs[t][i];
            if (k_invoke() != K_OK) return 3;
            const int8_t *out = (const int8_t *)k_output(0);
            for (int32_t i = 0; i < K_OUTPUT0_BYTES; i++) {
                if (out[i] != outputs[t][i]) { edgegen_board_puts("stream FAIL\n"); return 1; }
            }
        }
        k_reset(); /* a new stream: the same outputs again */
    }
    edgegen_board_puts("stream PASS\n");
    return 0;
}
"""


def _svdf_stream_on_emulator(out: Path, board: str, tmp_path: Path) -> None:
    """The state persists across invokes on the target: init once, a stream of invokes without
    reset against the simulator's stream (== TFLM without Reset(), tests/test_ops_svdf.py), then
    reset and the same stream again."""
    import subprocess

    from edgegen.boards import resolve_board
    from edgegen.builddir import load_build
    from edgegen.emulator import qemu_command
    from edgegen.sim import simulate_sequence
    from edgegen.verify import random_inputs

    b = resolve_board(board).board
    assert b.qemu is not None
    program = load_build(out)[2]
    samples = random_inputs(program, 6, seed=5)
    want = simulate_sequence(program, samples)

    def rows(arrays: list[object]) -> str:
        return ", ".join("{ " + ", ".join(str(int(v)) for v in np.asarray(a).reshape(-1)) + " }" for a in arrays)

    app = (_STREAM_APP.replace("STEPS", str(len(samples))).replace("INPUTS", rows([s[0] for s in samples]))
           .replace("OUTPUTS", rows([r.outputs[0] for r in want])))
    (tmp_path / "stream.c").write_text(app, encoding="utf-8")
    glue = out / "board" / "qemu"
    srcs = [tmp_path / "stream.c", out / "model" / "k_model.c", out / "model" / "k_weights.c",
            out / "edgegen" / "edgegen_kernels.c", *sorted((out / "cmsis_nn" / "Source").glob("*.c")),
            *(glue / f for f in ("startup.c", "semihost.c", "counter.c"))]
    elf = tmp_path / "stream.elf"
    dirs = (out / "model", out / "cmsis_nn" / "Include", out / "edgegen", glue, glue / b.qemu.machine)
    inc = [f"-I{d}" for d in dirs]
    link = ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", f"-L{glue}", "-T",
            str(glue / b.qemu.machine / "linker.ld")]
    subprocess.run(["arm-none-eabi-gcc", *b.cflags, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *inc,
                    *map(str, srcs), "-o", str(elf), *link], check=True)
    run = subprocess.run(qemu_command(b, elf), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "stream PASS" in run.stdout, run.stdout + run.stderr


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
