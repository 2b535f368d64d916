"""Does the firmware fit the board? Flash and RAM from the linked ELF, before anything is flashed.

The harness firmware (model, kernels, embedded test vectors) is linked for the board's CPU with
arm-none-eabi-gcc, and ``arm-none-eabi-size`` gives text/data/bss: flash = text + data, RAM =
data + bss + the board's stack reserve. STM32 boards are measured through their emulator twin's
link (same CPU flags and code); the STM32 HAL start-up and UART code add a few KiB on top, which
is why the check keeps a margin for them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .boards import Board, all_boards
from .errors import EdgegenError, ToolchainError
from .program import Program

#: flash and RAM the STM32 HAL glue (start-up, clocks, UART, SysTick) needs beyond the twin's link
HAL_FLASH_RESERVE = 16 * 1024
HAL_RAM_RESERVE = 2 * 1024


class ModelTooLargeError(EdgegenError):
    kind = "too-large"


@dataclass(frozen=True)
class Footprint:
    board: str
    #: text + data of the linked firmware (the HAL reserve added for STM32 boards)
    flash_bytes: int
    #: data + bss + stack reserve (+ HAL reserve)
    ram_bytes: int
    weights_bytes: int
    arena_bytes: int
    stack_bytes: int
    text_bytes: int
    data_bytes: int
    bss_bytes: int
    #: True when measured from a linked ELF, False for an estimate without the toolchain
    exact: bool

    @property
    def code_bytes(self) -> int:
        """Flash that is not model constants: kernels, model code, harness and vectors."""
        return max(self.flash_bytes - self.weights_bytes, 0)


def _size(elf: Path) -> tuple[int, int, int]:
    """(flash-only bytes, .data bytes, .bss bytes) of an ELF, from ``arm-none-eabi-size -A``.

    The qemu linker scripts give the stack its own section; it is left out here because the
    board's stack reserve is added separately."""
    tool = shutil.which("arm-none-eabi-size")
    if tool is None:
        raise ToolchainError("arm-none-eabi-size is missing; install gcc-arm-none-eabi (Debian) "
                             "or the Arm GNU toolchain")
    proc = procs.run([tool, "-A", str(elf)])
    if proc.returncode != 0:
        raise ToolchainError(f"arm-none-eabi-size {elf} failed: {proc.stderr.strip()}")
    text = data = bss = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[1].isdigit() or not parts[0].startswith("."):
            continue
        name, size = parts[0], int(parts[1])
        if name.startswith((".debug", ".comment", ".ARM.attributes", ".stack", ".heap")):
            continue
        if name.startswith(".data"):
            data += size
        elif name.startswith(".bss") or name.startswith(".noinit"):
            bss += size
        else:
            text += size
    return text, data, bss


def build_firmware(directory: Path, twin: str, *, jobs: int = 2) -> Path:
    """``make <twin>`` in a build directory; returns the ELF."""
    if shutil.which("arm-none-eabi-gcc") is None:
        raise ToolchainError("arm-none-eabi-gcc is missing; install it with "
                             "`apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi` (Debian) "
                             "or from developer.arm.com")
    proc = procs.run(["make", "-s", f"-j{jobs}", "-C", str(directory), twin])
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ToolchainError(f"building the {twin} firmware in {directory} failed:\n{tail}")
    elves = list((directory / "build" / twin).glob("*.elf"))
    if len(elves) != 1:
        raise ToolchainError(f"make {twin} in {directory} did not produce one ELF")
    return elves[0]


def measure_footprint(directory: Path, program: Program, board: Board) -> Footprint:
    """Link the board's firmware (through its emulator twin) and measure it; an estimate from the
    program alone when arm-none-eabi-gcc is not installed."""
    twin = board.twin
    if twin is None or twin not in all_boards():
        raise EdgegenError(f"board {board.name} has no emulator twin to measure its firmware with")
    reserve_flash = HAL_FLASH_RESERVE if board.kind == "stm32" else 0
    reserve_ram = HAL_RAM_RESERVE if board.kind == "stm32" else 0
    arena = program.plan.arena_bytes
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-size") is None:
        flash = program.weight_bytes + reserve_flash
        ram = arena + board.stack_bytes + reserve_ram
        return Footprint(board.name, flash, ram, program.weight_bytes, arena, board.stack_bytes, 0, 0, 0, exact=False)
    try:
        elf = build_firmware(directory, twin)
        text, data, bss = _size(elf)
    finally:
        # the build directory holds sources only; `edgegen run` rebuilds in seconds
        shutil.rmtree(directory / "build", ignore_errors=True)
    flash = text + data + reserve_flash
    ram = data + bss + board.stack_bytes + reserve_ram
    return Footprint(board.name, flash, ram, program.weight_bytes, arena, board.stack_bytes, text, data, bss,
                     exact=True)


def _largest_layers(program: Program, count: int = 3) -> str:
    const_bytes = {c.name: c.nbytes for c in program.constants}
    rows = []
    for call in program.calls:
        names = [getattr(call, a, None) for a in ("weights", "bias", "multipliers", "shifts", "lut")]
        wbytes = sum(const_bytes.get(n, 0) for n in names if isinstance(n, str))
        out_bytes = call.output.size * (4 if call.output.ctype == "float" else 1)
        rows.append((wbytes, out_bytes, call))
    by_weights = sorted(rows, key=lambda r: (-r[0], r[2].index))[:count]
    by_act = sorted(rows, key=lambda r: (-r[1], r[2].index))[:count]
    w = ", ".join(f"call {c.index} {c.op_name} {wb} B" for wb, _, c in by_weights)
    a = ", ".join(f"call {c.index} {c.op_name} output {ob} B" for _, ob, c in by_act)
    return f"largest weights: {w}; largest activations: {a}"


def require_fit(fp: Footprint, program: Program, board: Board) -> None:
    problems = []
    if fp.flash_bytes > board.flash_bytes:
        problems.append(f"flash {fp.flash_bytes} B > {board.flash_bytes} B "
                        f"(weights {fp.weights_bytes} B, code and vectors {fp.code_bytes} B)")
    if fp.ram_bytes > board.ram_bytes:
        problems.append(f"RAM {fp.ram_bytes} B > {board.ram_bytes} B "
                        f"(arena {fp.arena_bytes} B, stack {fp.stack_bytes} B)")
    if problems:
        how = "measured from the linked firmware" if fp.exact else "estimated (arm-none-eabi-gcc not installed)"
        bigger = [b.name for b in all_boards().values()
                  if b.kind == "stm32" and b.flash_bytes >= fp.flash_bytes and b.ram_bytes >= fp.ram_bytes]
        hint = f"; boards it fits: {', '.join(bigger)}" if bigger else "; prune or shrink the model"
        raise ModelTooLargeError(f"the model does not fit {board.name}: {'; '.join(problems)}, {how}. "
                                 f"{_largest_layers(program)}{hint}")
