"""The per-layer efficiency columns of `edgegen run`, report.json and report.html: the kernel each
call runs, its MACs, instructions, MACs per instruction and the share of the CPU's MAC bound
(Cortex-M4/M7 SMLAD: 2, Cortex-M55 VMLADAVA: 16), and the kernel-choice notes of the lowering.
Every expected value is derived from the Program and the counts the harness printed, never from
the code under test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from edgegen.boards import all_boards
from edgegen.builddir import compile_tflite, load_build
from edgegen.cli import main
from edgegen.perf import layer_perf, mac_bound
from edgegen.program import Program
from edgegen.report import layer_rows
from edgegen.report_html import render_html

from .conftest import shared_path

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"
#: the instruction that bounds int8 MACs on each emulated CPU, and how many one instruction does
BOUNDS = {"qemu-m4": ("SMLAD", 2), "qemu-m7": ("SMLAD", 2), "qemu-m55": ("VMLADAVA", 16)}


@pytest.mark.parametrize("board", sorted(BOUNDS))
def test_mac_bound_follows_the_cpu(board: str) -> None:
    b = mac_bound(all_boards()[board])
    assert (b.instruction, b.macs_per_instruction) == BOUNDS[board]


@pytest.fixture(scope="module")
def kws_m4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("perf") / "kws"
    assert main(["build", str(shared_path(KWS)), "--board", "qemu-m4", "--out", str(out)]) == 0
    return out


def _table_rows(text: str, program: Program) -> dict[int, list[str]]:
    """The run table's rows by call index (cells separated by spaces; none holds one here)."""
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) == 8 and cells[0].isdigit():
            rows[int(cells[0])] = cells
    assert sorted(rows) == [c.index for c in program.calls], text
    return rows


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_run_prints_and_records_per_layer_efficiency(board: str, kws_m4: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["run", str(kws_m4), "--board", board]) == 0
    text = capsys.readouterr().out
    _t, _g, program, _m = load_build(kws_m4)
    report = json.loads((kws_m4 / "report.json").read_text())
    run = report["runs"][board]
    per_call = run["per_call"]
    name, bound = BOUNDS[board]
    assert run["mac_bound"] == {"macs_per_instruction": bound, "instruction": name}
    rows = _table_rows(text, program)
    assert any(c.function.startswith("edgegen_") for c in program.calls)
    for call, count in zip(program.calls, per_call, strict=True):
        assert count > 0
        per = call.macs / count
        _idx, op, kernel, macs, instructions, _share, mpi, of_bound = rows[call.index]
        assert (op, kernel) == (call.op_name, call.function)
        assert macs == f"{call.macs:,}" and instructions == f"{count:,}"
        assert mpi == f"{per:.3f}" and of_bound == f"{100 * per / bound:.1f}%"
        layer = report["layers"][call.index]
        assert (layer["function"], layer["macs"]) == (call.function, call.macs)
        assert run["macs_per_instruction"][call.index] == pytest.approx(per, abs=1e-4)
        assert run["bound_share"][call.index] == pytest.approx(per / bound, abs=1e-4)
    total_macs = sum(c.macs for c in program.calls)
    assert report["macs"] == total_macs
    assert (f"instructions per inference: {run['total']:,} ({total_macs:,} MACs, "
            f"{total_macs / run['total']:.3f} MAC/instruction, "
            f"{100 * total_macs / run['total'] / bound:.1f}% of the") in text
    page = (kws_m4 / "report.html").read_text()
    assert f"{board} MAC/instr" in page and f"{board} of bound ({name} {bound})" in page
    assert all(f"<code>{c.function}</code>" in page for c in program.calls)


def test_kernel_notes_reach_the_layer_rows() -> None:
    """ad01 on the 512 KiB NUCLEO-F401RE: the last layers' 16-bit weights no longer fit its flash, so
    they keep the CMSIS-NN call; each such call carries the lowering's reason, in the report rows,
    the run rows and the page."""
    src = shared_path("models/mlperf_tiny/ad/ad01_int8.tflite")
    board = all_boards()["nucleo-f401re"]
    _g, program = compile_tflite(src.read_bytes(), name="ad01", source=str(src), scratch_target=board.scratch_target,
                                 kernels="auto", board=board)
    notes = dict(program.kernel_notes)
    assert notes, "expected layers that keep their CMSIS-NN call"
    rows = layer_rows(program)
    perf = layer_perf(program, [1] * len(program.calls), mac_bound(all_boards()["qemu-m4"]))
    for call, row, p in zip(program.calls, rows, perf, strict=True):
        assert row.kernel_note == notes.get(call.op_index) == p.note
        if call.op_index in notes:
            assert not call.function.startswith("edgegen_")
    report = {"model": "ad01", "board": {"name": "nucleo-f401re", "description": "", "flash_bytes": 1, "ram_bytes": 1},
              "arena_bytes": 1, "planner": "", "greedy_arena_bytes": 1, "weight_bytes": 0, "macs": 0,
              "layers": [{**r.__dict__, "output_shape": list(r.output_shape)} for r in rows], "buffers": [],
              "runs": {}}
    page = render_html(report)
    assert all(why in page for why in {w.replace("'", "&#x27;") for w in notes.values()})


def _bench_flash() -> Any:
    """bench/flash.py (a script beside the benchmarks, not part of the package)."""
    path = Path(__file__).resolve().parents[1] / "bench" / "flash.py"
    spec = importlib.util.spec_from_file_location("bench_flash", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_flash"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_flash_attribution_adds_up_to_the_linked_firmware(kws_m4: Path) -> None:
    """Issue 14's "flash without weights and test vectors": every flash byte of the linked ELF is
    attributed (the total equals the build's measured flash), the weights group is exactly the
    Program's constants and the vectors group holds at least what the vectors cost."""
    from edgegen.emulator import run_on_emulator
    from edgegen.fit import vector_cost

    flash = _bench_flash()
    run_on_emulator(kws_m4, board="qemu-m4")
    use = flash.flash_use(flash.map_file(kws_m4, "qemu-m4"))
    _t, _g, program, meta = load_build(kws_m4)
    report = json.loads((kws_m4 / "report.json").read_text())
    assert use.total == report["footprint"]["flash_bytes"]
    assert use.by_group["weights"] == program.weight_bytes
    assert use.by_group["test vectors"] >= vector_cost(program, int(meta["vectors"])).total
    assert use.without_weights_and_vectors == use.total - program.weight_bytes - use.by_group["test vectors"]
    assert "other" not in use.by_group
    functions = {p.symbol for p in use.pieces if p.group == "model code"}
    assert {f"{program.name}_invoke"} <= functions


def test_arm_kernel_follows_the_wrappers_dispatch() -> None:
    """The function Arm's CMSIS-NN v7 convolution wrappers pick (arm_convolve_wrapper_s8.c,
    arm_depthwise_conv_wrapper_s8.c): kws's first conv (10x4, stride 2) arm_convolve_s8, its 1x1
    stride-1 convs arm_convolve_1x1_s8_fast, its depthwise 3x3 (padding 1) the 3x3 kernel without
    Helium and the _opt one with it; resnet8's 1x1 stride-2 convs arm_convolve_1x1_s8."""
    from edgegen.ops.conv import ConvCall, DepthwiseCall
    from edgegen.perf import arm_kernel

    def program(rel: str) -> Program:
        src = shared_path(rel)
        return compile_tflite(src.read_bytes(), name="m", source=str(src), kernels="cmsis-nn")[1]

    kws = program(KWS)
    convs = [c for c in kws.calls if isinstance(c, ConvCall) and not isinstance(c, DepthwiseCall)]
    dws = [c for c in kws.calls if isinstance(c, DepthwiseCall)]
    assert [arm_kernel(c, False) for c in convs] == ["arm_convolve_s8"] + ["arm_convolve_1x1_s8_fast"] * 4
    assert {arm_kernel(c, False) for c in dws} == {"arm_depthwise_conv_3x3_s8"}
    assert {arm_kernel(c, True) for c in dws} == {"arm_depthwise_conv_s8_opt"}
    others = [c for c in kws.calls if not isinstance(c, ConvCall)]
    assert others and all(arm_kernel(c, False) is None for c in others)
    resnet8 = program("models/mlperf_tiny/ic/resnet8_int8.tflite")
    strided_1x1 = [c for c in resnet8.calls if isinstance(c, ConvCall) and c.filter_dims.h == c.filter_dims.w == 1
                   and c.stride == (2, 2)]
    assert len(strided_1x1) == 2 and {arm_kernel(c, True) for c in strided_1x1} == {"arm_convolve_1x1_s8"}
