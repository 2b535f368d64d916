"""The build directory's on-disk format, read by every command after `edgegen build`.

A build directory holds the model (``model.tflite``), ``build.json`` (what it was built for, and
the manifest of the files the build wrote), the generated tree and the report (``report.json``
and ``report.html``, to which `edgegen run` and `edgegen flash` add their results). The Program
is not stored: it is derived again from the model, since reading and lowering are deterministic.
build, verify, run, report and flash read the directory through this module only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .boards import Board, all_boards
from .errors import EdgegenError
from .ir import Graph
from .kernels import CODE_MARGIN, DEFAULT_MODE, KernelConfig, check_compress, check_entropy, check_mode, cpu_class
from .lower import lower
from .modelfile import read_model_file
from .outdir import MANIFEST_KEY, META_FILE
from .perf import mac_bound, run_record
from .program import Program
from .report_html import render_html
from .tflite_reader import parse_tflite

if TYPE_CHECKING:
    from .emulator import EmulatorRun
    from .harness_output import HarnessResult

__all__ = ["MANIFEST_KEY", "META_FILE", "MODEL_FILE", "REPORT_HTML", "REPORT_JSON", "BuildResult", "compile_tflite",
           "load_build", "read_meta", "record_result", "record_run", "write_meta", "write_report"]

MODEL_FILE = "model.tflite"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    program: Program
    graph: Graph
    board: Board
    #: the flash/RAM check against the board (None for the host board)
    footprint: Any
    #: what an alias resolved to, for the user
    board_note: str | None
    #: the Keras front end's summary (pruning, size, float vs int8 accuracy), for the report
    front_end: tuple[str, ...] = ()
    #: the same summary as data (model sizes, float vs int8), for report.json
    front_end_data: dict[str, Any] | None = None
    #: which library the CMSIS-NN calls reach: "portable" (edgegen's) or "arm" (a --cmsis-nn checkout)
    library: str = "portable"


def compile_tflite(data: bytes, *, name: str, source: str, scratch_target: str = "dsp",
                   guard: bool = False, kernels: str = DEFAULT_MODE, board: Board | None = None,
                   arm_cmsis_nn: bool = False, keep_inputs: bool = False,
                   compress: str = "auto", entropy: str = "auto") -> tuple[Graph, Program]:
    """Read and lower a model. ``kernels`` is ``--kernels``; ``board`` gives the CPU class its
    choice depends on and the flash its wider weights must fit, ``arm_cmsis_nn`` whether the
    CMSIS-NN calls go to Arm's library (``--cmsis-nn``) or edgegen's portable one (edgegen.kernels)."""
    try:
        graph = parse_tflite(data, name=name)
        config = replace(_kernel_config(graph, name, scratch_target, guard, check_mode(kernels), board,
                                        arm_cmsis_nn), compress=check_compress(compress),
                         entropy="off" if check_entropy(entropy) == "auto" else entropy)
        program = lower(graph, name=name, scratch_target=scratch_target, guard=guard, kernels=config,
                        keep_inputs=keep_inputs)
        for coded in ("cheap", "on"):
            if entropy != "auto" or board is None or board.flash_bytes <= 0 or \
                    program.weight_bytes <= board.flash_bytes - CODE_MARGIN or \
                    all(lw.format == "dense" for lw in program.layer_weights):
                break
            # --entropy-code auto: the constants would not fit the board's flash with room for code, so
            # the compressed layers' streams stay Huffman-coded in flash (edgegen.kernels.entropy): first
            # those that coding shrinks most, then every one it shrinks
            program = lower(graph, name=name, scratch_target=scratch_target, guard=guard,
                            kernels=replace(config, entropy=coded), keep_inputs=keep_inputs)
        return graph, program
    except EdgegenError as e:
        raise type(e)(f"{source}: {e}") from None


def _kernel_config(graph: Graph, name: str, scratch_target: str, guard: bool, mode: str,
                   board: Board | None, arm_cmsis_nn: bool) -> KernelConfig:
    library = "arm" if arm_cmsis_nn else "portable"
    if board is None:
        return KernelConfig(mode=mode, cpu="mve" if scratch_target == "mve" else "dsp", library=library)
    budget = None
    if mode != "cmsis-nn" and board.flash_bytes > 0:
        # the flash the CMSIS-NN build's constants leave, less room for code (and the HAL glue)
        baseline = lower(graph, name=name, scratch_target=scratch_target, guard=guard,
                         kernels=KernelConfig(mode="cmsis-nn")).weight_bytes
        reserve = CODE_MARGIN + (16 * 1024 if board.kind == "stm32" else 0)
        budget = max(board.flash_bytes - baseline - reserve, 0)
    return KernelConfig(mode=mode, cpu=cpu_class(board.dsp, board.mve), flash_budget=budget, library=library)


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_meta(directory: Path) -> dict[str, Any]:
    """build.json of a build directory, with a clear error when it is missing or damaged."""
    meta_path = directory / META_FILE
    model_path = directory / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise EdgegenError(f"{directory} is not an edgegen build directory (no {META_FILE} / {MODEL_FILE}); "
                           "run `edgegen build` first")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        str(meta["name"])
    except (ValueError, KeyError, TypeError):
        raise EdgegenError(f"{meta_path}: damaged; rebuild the directory with `edgegen build --force`") from None
    return dict(meta)


def load_build(directory: Path) -> tuple[bytes, Graph, Program, dict[str, Any]]:
    """Re-derive the program of a build directory from its model.tflite (lowering is deterministic)."""
    meta = read_meta(directory)
    model_path = directory / MODEL_FILE
    data = read_model_file(model_path)
    # directories written before --kernels existed ran the CMSIS-NN calls everywhere
    graph, program = compile_tflite(data, name=str(meta["name"]), source=str(model_path),
                                    scratch_target=str(meta.get("scratch_target", "dsp")),
                                    guard=bool(meta.get("guard", False)), kernels=str(meta.get("kernels", "cmsis-nn")),
                                    board=all_boards().get(str(meta.get("board", ""))),
                                    arm_cmsis_nn=meta.get("cmsis_nn") == "external",
                                    keep_inputs=bool(meta.get("keep_inputs", False)),
                                    # directories written before --compress existed had no compressed layers
                                    compress=str(meta.get("compress", "off")),
                                    entropy=str(meta.get("entropy", "off")))
    return data, graph, program, meta


def write_report(directory: Path, report: dict[str, Any]) -> None:
    (directory / REPORT_JSON).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (directory / REPORT_HTML).write_text(render_html(report), encoding="utf-8")


def record_run(directory: Path, run: EmulatorRun) -> None:
    """Add an emulator run's counts (instructions) to report.json and report.html."""
    record_result(directory, run.board.name, run.result, "instructions")


def record_result(directory: Path, board: str, result: HarnessResult, unit: str) -> None:
    """Add a harness run on ``board`` (counts in ``unit``) to report.json and report.html."""
    path = directory / REPORT_JSON
    if not path.is_file():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    report.setdefault("runs", {})[board] = {
        "verdict": "PASS" if result.verdict else "FAIL",
        "vectors_passed": result.vectors_passed,
        "unit": unit,
        "total": result.total,
        "per_call": list(result.per_call),
        # what the counts ran: the build tree's own kernels (the PlatformIO project of an STM32
        # board compiles Arm's CMSIS-NN v7 for the CMSIS-NN calls instead of edgegen's portable one)
        "kernels": report.get("library", {}).get("label", ""),
    }
    known = all_boards().get(board)
    if unit == "instructions" and known is not None:
        # MACs per instruction against the CPU's bound (edgegen.perf); cycles on hardware have no such bound
        macs = [int(layer["macs"]) for layer in report.get("layers", [])]
        report["runs"][board].update(run_record(macs, result.per_call, mac_bound(known)))
    if isinstance(report.get("compression"), dict):
        from .compression_table import stage_rows

        report["compression"]["stages"] = stage_rows(report)  # the compressed stage's instructions
    write_report(directory, report)
