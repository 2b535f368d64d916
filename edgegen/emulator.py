"""`edgegen run`: build the firmware for an emulated Cortex-M and run it in qemu-system-arm.

Semihosting carries the harness's output and exit code; ``-icount shift=0`` makes the board
timer count instructions, so the per-call counts repeat exactly from run to run.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .boards import Board, resolve_board
from .builddir import load_build
from .errors import EdgegenError, ParityError, ToolchainError
from .fit import build_firmware
from .harness_output import HarnessResult, parse_harness_output

QEMU = "qemu-system-arm"


@dataclass(frozen=True)
class EmulatorRun:
    board: Board
    elf: Path
    exit_code: int
    result: HarnessResult
    stdout: str


def qemu_command(board: Board, elf: Path) -> list[str]:
    assert board.qemu is not None
    return [QEMU, "-M", board.qemu.machine, "-cpu", board.qemu.cpu, "-display", "none", "-monitor", "none",
            "-serial", "null", "-chardev", "stdio,id=semihost",
            "-semihosting-config", "enable=on,target=native,chardev=semihost", "-icount", "shift=0",
            "-kernel", str(elf)]


def pick_board(meta_board: str, requested: str | None) -> Board:
    """The qemu board to run on: the one asked for, else the build board's emulator twin."""
    if requested is not None:
        board = resolve_board(requested).board
        if board.kind != "qemu":
            twin = board.twin
            raise EdgegenError(f"'{requested}' is not an emulated board; `edgegen run` runs on qemu-m4, qemu-m7 or "
                               f"qemu-m55{f' (its twin is {twin})' if twin else ''}; use `edgegen flash` for hardware")
        return board
    built = resolve_board(meta_board).board
    twin = built.twin
    if twin is None:
        raise EdgegenError(f"this directory was built for '{built.name}', which has no emulator; pass --board "
                           "qemu-m4, qemu-m7 or qemu-m55")
    return resolve_board(twin).board


def run_on_emulator(directory: Path, *, board: str | None = None, timeout: float = 600.0,
                    progress: Callable[[str, int, int], None] | None = None) -> EmulatorRun:
    _tflite, _graph, _program, meta = load_build(directory)
    target = pick_board(str(meta.get("board", "host")), board)
    if meta.get("cmsis_nn") == "external" and meta.get("scratch_target") != target.scratch_target:
        raise EdgegenError(f"{directory} sizes CMSIS-NN scratch buffers for '{meta.get('scratch_target')}' kernels "
                           f"but {target.name} runs the '{target.scratch_target}' ones; rebuild with "
                           f"--board {target.name}")
    if progress:
        progress(f"compiling the firmware for {target.name}", 0, 1)
    elf = build_firmware(directory, target.name)
    if shutil.which(QEMU) is None:
        raise ToolchainError(f"{QEMU} is missing; install it with `apt-get install qemu-system-arm` (Debian)")
    if progress:
        progress(f"running on {target.name} ({target.qemu.machine if target.qemu else ''})", 0, 1)
    try:
        proc = procs.run(qemu_command(target, elf), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{target.name}: the firmware did not finish within {timeout:.0f} s "
                             "(raise --timeout for very large models)") from None
    result = parse_harness_output(proc.stdout)
    if result.verdict is None:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ParityError(f"{target.name}: the firmware stopped without a verdict (exit {proc.returncode}):\n{tail}")
    return EmulatorRun(board=target, elf=elf, exit_code=proc.returncode, result=result, stdout=proc.stdout)
