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


@pytest.mark.parametrize("key", sorted(MODELS))
def test_shared_model_built_for_m55(key: str, tmp_path: Path) -> None:
    """Built for the M55 twin, so the lowering picks the Helium CPU's variants of edgegen's kernels
    (the M4-built code above runs their DSP paths): exact on qemu-m55 on every vector."""
    src = shared_path(MODELS[key])
    result = build(src.read_bytes(), tmp_path / key, source=str(src), name=key, board="qemu-m55", vectors=3)
    run = run_on_emulator(result.out, board="qemu-m55", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == 3 and not run.result.failures and run.exit_code == 0


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
#: same-shape ADDs on edgegen's ADD kernel (edgegen_add_s8): resnet8's three residual ADDs
SPECIALIZED_ADD = {"kws": 0, "resnet8": 3, "ad01": 0, "hello_world": 0}
#: AVERAGE_POOL_2D / MAX_POOL_2D / MEAN on edgegen's pooling kernel (edgegen_pool_s8): the avg pools
SPECIALIZED_POOL = {"kws": 1, "resnet8": 1, "ad01": 0, "hello_world": 0}


@pytest.mark.parametrize("key", sorted(SPECIALIZED))
def test_shared_models_take_edgegen_kernels(key: str, built: dict[str, Path]) -> None:
    """So the runs above check edgegen's DSP path on qemu-m4/m7 (and on the M55, which has DSP)."""
    from edgegen.builddir import load_build

    _t, _g, program, meta = load_build(built[key])
    assert meta["kernels"] == "auto"
    assert sum(c.function == "edgegen_mm_s8" for c in program.calls) == SPECIALIZED[key]
    assert sum(c.function == "edgegen_dw3_s8" for c in program.calls) == SPECIALIZED_DW[key]
    assert sum(c.function == "edgegen_conv_s8" for c in program.calls) == SPECIALIZED_CONV[key]
    assert sum(c.function == "edgegen_add_s8" for c in program.calls) == SPECIALIZED_ADD[key]
    assert sum(c.function == "edgegen_pool_s8" for c in program.calls) == SPECIALIZED_POOL[key]


#: edgegen's kernel variants by the board the model is built for: the call KINDs of each CPU's
#: variant (the M4 build's DSP path; the M55 build's Helium variants, where one exists)
KERNEL_KINDS = {
    "qemu-m4": {"conv_2d_1x1": ("matmul",), "fully_connected": ("matmul",),
                "depthwise_conv_2d_3x3": ("dw3x3",), "conv_2d_general": ("convk",)},
}
#: random cases per kernel variant that must run edgegen's kernel on the emulator
LEAST_CASES = 50


@pytest.mark.parametrize(("board", "family"), [(b, f) for b in KERNEL_KINDS for f in KERNEL_KINDS[b]])
def test_kernel_variant_cases_on_emulator(board: str, family: str, tmp_path: Path) -> None:
    """Converter-made models of every seed of the family, built for the board so its CPU's variant of
    edgegen's kernel is chosen: 1x1 convolutions and fully connected layers (odd channel counts, K not
    a multiple of 4, e = 0 channels, batches), depthwise 3x3 (odd channel counts, 1- and 2-pixel
    sides, stride 2, SAME and VALID), general convolutions (filters up to 5, non-square, strides 1..3,
    padded windows). At least 50 layers per variant run edgegen's kernel, exact on every vector
    (random ones plus a ramp and both saturations)."""
    from edgegen.lower import lower
    from edgegen.tflite_reader import parse_tflite

    from .support.opmodels import FAMILIES, edge_inputs, op_model

    kinds = KERNEL_KINDS[board][family]
    cases = 0
    for seed in FAMILIES[family].seeds:
        model = op_model(family, seed)
        edges = edge_inputs(lower(parse_tflite(model.tflite, name="k"), name="k"))
        out = tmp_path / f"k{seed}"
        result = build(model.tflite, out, source="k.tflite", name="k", board=board, vectors=len(edges) + 2,
                       samples=edges)
        cases += sum(c.KIND in kinds for c in result.program.calls)
        run = run_on_emulator(result.out, board=board, timeout=300)
        assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
        assert not run.result.failures and run.exit_code == 0
    assert cases >= LEAST_CASES
