"""Tier three of the parity chain: the generated C cross-compiled with arm-none-eabi-gcc and run on
emulated Cortex-M4, M7 and M55 (qemu), bit-exact with the simulator on the embedded vectors, with
instruction counts that repeat exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator

from .conftest import shared_path
from .test_models import MODELS

CPUS = ("qemu-m4", "qemu-m7", "qemu-m55")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each shared model built once for the M4 twin (its code runs unchanged on all three)."""
    out = {}
    for key, rel in MODELS.items():
        src = shared_path(rel)
        out[key] = build(src.read_bytes(), tmp_path_factory.mktemp(key) / key, source=str(src), name=key,
                         board="qemu-m4", vectors=3).out
    return out


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("key", sorted(MODELS))
def test_shared_model_on_emulator(key: str, cpu: str, built: dict[str, Path]) -> None:
    run = run_on_emulator(built[key], board=cpu, timeout=300)
    r = run.result
    assert r.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert r.vectors_passed == 3 and not r.failures and run.exit_code == 0
    assert r.total is not None and r.total > 0
    assert len(r.per_call) > 0 and all(c >= 0 for c in r.per_call)


def test_instruction_counts_repeat_exactly(built: dict[str, Path]) -> None:
    first = run_on_emulator(built["kws"], board="qemu-m4").result
    second = run_on_emulator(built["kws"], board="qemu-m4").result
    assert first.total == second.total
    assert first.per_call == second.per_call


#: shared models whose 1x1 CONV_2D / FULLY_CONNECTED layers run edgegen's kernel on the M4 build
SPECIALIZED = {"kws": 5, "resnet8": 1, "ad01": 10, "hello_world": 3}
#: depthwise 3x3 layers on edgegen's kernel (edgegen_dw3_s8): kws's four
SPECIALIZED_DW = {"kws": 4, "resnet8": 0, "ad01": 0, "hello_world": 0}
#: other CONV_2D layers on edgegen's general conv kernel (edgegen_conv_s8): kws's first (10x4,
#: stride 2, 1 input channel) and resnet8's nine (3x3 stride 1 and 2, 1x1 stride 2)
SPECIALIZED_CONV = {"kws": 1, "resnet8": 9, "ad01": 0, "hello_world": 0}


@pytest.mark.parametrize("key", sorted(SPECIALIZED))
def test_shared_models_take_edgegen_kernels(key: str, built: dict[str, Path]) -> None:
    """So the runs above check edgegen's DSP path on qemu-m4/m7 (and on the M55, which has DSP)."""
    from edgegen.builddir import load_build

    _t, _g, program, meta = load_build(built[key])
    assert meta["kernels"] == "auto"
    assert sum(c.function == "edgegen_mm_s8" for c in program.calls) == SPECIALIZED[key]
    assert sum(c.function == "edgegen_dw3_s8" for c in program.calls) == SPECIALIZED_DW[key]
    assert sum(c.function == "edgegen_conv_s8" for c in program.calls) == SPECIALIZED_CONV[key]


@pytest.mark.parametrize("cpu", ("qemu-m4", "qemu-m55"))
@pytest.mark.parametrize(("family", "seed", "kind", "least"),
                         [("conv_2d_1x1", 2, "matmul", 20), ("depthwise_conv_2d_3x3", 1, "dw3x3", 25),
                          ("conv_2d_general", 1, "convk", 20)],
                         ids=["matmul", "dw3x3", "convk"])
def test_per_op_kernel_model_on_emulator(cpu: str, family: str, seed: int, kind: str, least: int,
                                         tmp_path: Path) -> None:
    """Converter-made models built for the M4: 25 1x1 convolutions (odd channel counts, K not a
    multiple of 4, e = 0 channels, batches) and 25 depthwise 3x3 layers (odd channel counts, 1- and
    2-pixel sides, stride 2, SAME and VALID) and 23 general convolutions (filters up to 5, non-square,
    strides 1..3, padded windows): edgegen's DSP paths exact on qemu, on every vector."""
    from .support.opmodels import edge_inputs, op_model

    model = op_model(family, seed)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m4", vectors=1)
    assert sum(c.KIND == kind for c in result.program.calls) >= least
    edges = edge_inputs(result.program)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m4",
                   vectors=len(edges) + 2, samples=edges, force=True)
    run = run_on_emulator(result.out, board=cpu, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
