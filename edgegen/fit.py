"""Does the firmware fit the board? Flash and RAM from the linked ELF, before anything is flashed.

The harness firmware (model, kernels, embedded test vectors) is linked for the board's CPU with
arm-none-eabi-gcc, and ``arm-none-eabi-size`` gives text/data/bss: flash = text + data, RAM =
data + bss + the board's stack reserve. STM32 boards are measured through their emulator twin's
link (same CPU flags and code); the STM32 HAL start-up and UART code add a few KiB on top, which
is why the check keeps a margin for them.

Embedded test vectors live in flash too. Before anything is rendered or linked, their count and
bytes are checked against fixed limits (:data:`MAX_VECTORS`, :data:`MAX_VECTOR_BYTES`, for every
board including host) and, with the model's constants and the least code any firmware has
(:data:`MIN_CODE_BYTES`), against the board's flash: a count that cannot fit fails with the fit
message and the largest count that can, instead of a linker error. A link that still overflows
is reported the same way, and no message names the temporary directory the link ran in.
"""

from __future__ import annotations

import re
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

#: at most this many embedded test vectors: they prove parity on the device; many inputs are checked
#: on the host by `edgegen verify --samples N`, which embeds nothing
MAX_VECTORS = 1000
#: and at most this many bytes of them, the largest flash of any board (qemu-m55's 8 MiB); beyond
#: it the generated C alone would take tens of MB
MAX_VECTOR_BYTES = 8 * 1024 * 1024
#: less flash than any firmware takes beside its constants and vectors: the smallest measured,
#: hello_world's kernels and harness, is 4,056 B on qemu-m7 (4,114 B on qemu-m4). The pre-link
#: check counts only this much code, so it never refuses a firmware that would fit.
MIN_CODE_BYTES = 3 * 1024


class ModelTooLargeError(EdgegenError):
    kind = "too-large"


@dataclass(frozen=True)
class VectorCost:
    """The flash the embedded test vectors take."""

    count: int
    #: one vector: its inputs (each 4-byte aligned), its expected outputs and its table pointers
    per_vector: int

    @property
    def total(self) -> int:
        return self.count * self.per_vector

    def line(self) -> str:
        return f"{self.count:,} test vectors {self.total:,} B ({self.per_vector:,} B each)"


def vector_cost(program: Program, count: int) -> VectorCost:
    """What ``count`` vectors add to flash (vectors.c.j2: aligned input arrays, output arrays, two
    pointer tables); padding of the output arrays is left out, so this never overstates."""
    ins = sum(-(-r.nbytes // 4) * 4 for r in program.inputs)
    outs = sum(r.nbytes for r in program.outputs)
    pointers = 4 * (len(program.inputs) + len(program.outputs))
    return VectorCost(count, ins + outs + pointers)


def check_vector_count(count: int, cost: VectorCost | None = None) -> None:
    """At least one vector, at most :data:`MAX_VECTORS` (checked before a model is even converted)."""
    if count < 1:
        raise EdgegenError(f"--vectors {count}: at least one test vector is needed")
    if count > MAX_VECTORS:
        raise EdgegenError(f"--vectors {count:,}: at most {MAX_VECTORS:,} test vectors are embedded in the "
                           f"firmware{f' ({cost.line()})' if cost else ''}; check more inputs on the host with "
                           "`edgegen verify DIR --samples N`")


def check_vectors(program: Program, count: int) -> VectorCost:
    """The limits for every board (host included), before any vector is computed."""
    cost = vector_cost(program, count)
    check_vector_count(count, cost)
    if count > 1 and cost.total > MAX_VECTOR_BYTES:
        most = max(1, MAX_VECTOR_BYTES // cost.per_vector)
        raise EdgegenError(f"--vectors {count:,}: {cost.line()}, more than the {MAX_VECTOR_BYTES:,} B limit for "
                           f"embedded vectors; use --vectors {most:,} or fewer, and `edgegen verify DIR --samples N` "
                           "for more inputs")
    return cost


def estimate_footprint(program: Program, board: Board, vectors: VectorCost | None = None) -> Footprint:
    """A lower bound without linking: constants, vectors and :data:`MIN_CODE_BYTES` of flash;
    arena and stack of RAM (plus the STM32 HAL reserves)."""
    reserve_flash = HAL_FLASH_RESERVE if board.kind == "stm32" else 0
    reserve_ram = HAL_RAM_RESERVE if board.kind == "stm32" else 0
    arena = program.plan.arena_bytes
    flash = program.weight_bytes + (vectors.total if vectors else 0) + MIN_CODE_BYTES + reserve_flash
    ram = arena + board.stack_bytes + reserve_ram
    return Footprint(board.name, flash, ram, program.weight_bytes, arena, board.stack_bytes, 0, 0, 0, exact=False)


def check_fit_before_link(program: Program, board: Board, vectors: VectorCost) -> None:
    """The fit message before rendering and linking, when even the lower bound does not fit."""
    require_fit(estimate_footprint(program, board, vectors), program, board, vectors,
                how=f"estimated before linking with at least {MIN_CODE_BYTES:,} B of code")


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


def build_firmware(directory: Path, twin: str, *, jobs: int = 2, shown: str | None = None) -> Path:
    """``make <twin>`` in a build directory; returns the ELF. Messages name the directory as
    ``shown`` (default: its path), also inside the quoted compiler output."""
    if shutil.which("arm-none-eabi-gcc") is None:
        raise ToolchainError("arm-none-eabi-gcc is missing; install it with "
                             "`apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi` (Debian) "
                             "or from developer.arm.com")
    proc = procs.run(["make", "-s", f"-j{jobs}", "-C", str(directory), twin])
    where = shown if shown is not None else str(directory)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        if shown is not None:
            tail = tail.replace(str(directory), shown)
        raise ToolchainError(f"building the {twin} firmware in {where} failed:\n{tail}")
    elves = list((directory / "build" / twin).glob("*.elf"))
    if len(elves) != 1:
        raise ToolchainError(f"make {twin} in {where} did not produce one ELF")
    return elves[0]


def measure_footprint(directory: Path, program: Program, board: Board, vectors: VectorCost | None = None) -> Footprint:
    """Link the board's firmware (through its emulator twin) and measure it; the estimate of
    :func:`estimate_footprint` when arm-none-eabi-gcc is not installed. ``directory`` is a
    temporary one: a failed link's message does not name it, and an overflowing one gives the fit
    message."""
    twin = board.twin
    if twin is None or twin not in all_boards():
        raise EdgegenError(f"board {board.name} has no emulator twin to measure its firmware with")
    reserve_flash = HAL_FLASH_RESERVE if board.kind == "stm32" else 0
    reserve_ram = HAL_RAM_RESERVE if board.kind == "stm32" else 0
    arena = program.plan.arena_bytes
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-size") is None:
        return estimate_footprint(program, board, vectors)
    try:
        elf = build_firmware(directory, twin, shown=f"the {board.name} build (a temporary copy, removed)")
        text, data, bss = _size(elf)
    except ToolchainError as e:
        shutil.rmtree(directory / "build", ignore_errors=True)
        _raise_overflow(str(e), program, board, all_boards()[twin], vectors)
        raise
    # the linked firmware stays in build/ (make's output directory, outside the manifest), so
    # `edgegen run` on the twin finds it up to date instead of compiling everything again
    flash = text + data + reserve_flash
    ram = data + bss + board.stack_bytes + reserve_ram
    return Footprint(board.name, flash, ram, program.weight_bytes, arena, board.stack_bytes, text, data, bss,
                     exact=True)


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")
#: the qemu linker scripts' regions that hold constants and vectors (firmware/boards/qemu/*/linker.ld)
_FLASH_REGIONS = ("FLASH", "QSPI")


def _raise_overflow(message: str, program: Program, board: Board, twin: Board, vectors: VectorCost | None) -> None:
    """A link that overflows a memory region is a fit failure: the fit message with the numbers."""
    found = _OVERFLOW.findall(message)
    if not found:
        return
    flash = [int(n) for region, n in found if region in _FLASH_REGIONS]
    if flash:
        reserve = HAL_FLASH_RESERVE if board.kind == "stm32" else 0
        needed = twin.flash_bytes + max(flash) + reserve
        fp = estimate_footprint(program, board, vectors)
        require_fit(Footprint(board.name, needed, fp.ram_bytes, program.weight_bytes, fp.arena_bytes, fp.stack_bytes,
                              0, 0, 0, exact=True),
                    program, board, vectors, how=f"from the {twin.name} link, which overflows its flash")
    regions = ", ".join(f"{region} by {int(n):,} B" for region, n in found)
    raise ModelTooLargeError(f"the model does not fit {board.name}: linking its firmware for {twin.name} overflows "
                             f"{regions} (constants {program.weight_bytes:,} B, arena {program.plan.arena_bytes:,} B"
                             f"{', ' + vectors.line() if vectors else ''}). {_largest_layers(program)}")


def _largest_layers(program: Program, count: int = 3) -> str:
    const_bytes = {c.name: c.nbytes for c in program.constants}
    rows = []
    for call in program.calls:
        names = [getattr(call, a, None) for a in ("weights", "bias", "multipliers", "shifts", "lut")]
        wbytes = sum(const_bytes.get(n, 0) for n in names if isinstance(n, str))
        out_bytes = call.output.nbytes
        rows.append((wbytes, out_bytes, call))
    by_weights = sorted(rows, key=lambda r: (-r[0], r[2].index))[:count]
    by_act = sorted(rows, key=lambda r: (-r[1], r[2].index))[:count]
    w = ", ".join(f"call {c.index} {c.op_name} {wb} B" for wb, _, c in by_weights)
    a = ", ".join(f"call {c.index} {c.op_name} output {ob} B" for _, ob, c in by_act)
    return f"largest weights: {w}; largest activations: {a}"


def require_fit(fp: Footprint, program: Program, board: Board, vectors: VectorCost | None = None, *,
                how: str | None = None) -> None:
    """The fit message when ``fp`` exceeds the board's flash or RAM: the numbers, the largest layers
    and the boards it fits, or, when the test vectors are what does not fit, the largest
    ``--vectors`` that does."""
    if how is None:
        how = "measured from the linked firmware" if fp.exact else "estimated (arm-none-eabi-gcc not installed)"
    problems = []
    vector_bytes = vectors.total if vectors is not None else 0
    if fp.flash_bytes > board.flash_bytes:
        parts = f"weights {fp.weights_bytes:,} B, code and vectors {fp.code_bytes:,} B"
        if vectors is not None:
            code = "code and STM32 HAL" if board.kind == "stm32" else "code"
            parts = (f"weights {fp.weights_bytes:,} B, {vectors.line()}, {code} "
                     f"{max(fp.code_bytes - vector_bytes, 0):,} B")
        problems.append(f"flash {fp.flash_bytes:,} B > {board.flash_bytes:,} B ({parts})")
    if fp.ram_bytes > board.ram_bytes:
        problems.append(f"RAM {fp.ram_bytes:,} B > {board.ram_bytes:,} B "
                        f"(arena {fp.arena_bytes:,} B, stack {fp.stack_bytes:,} B)")
    if not problems:
        return
    most = _most_vectors(fp, board, vectors)
    if most is not None and fp.ram_bytes <= board.ram_bytes:
        raise ModelTooLargeError(f"the test vectors do not fit {board.name}: {problems[0]}, {how}. The model "
                                 f"fits with fewer: use --vectors {most:,}"
                                 f"{'' if fp.exact else ' or fewer'}")
    bigger = [b.name for b in all_boards().values()
              if b.kind == "stm32" and b.flash_bytes >= fp.flash_bytes and b.ram_bytes >= fp.ram_bytes]
    hint = f"; boards it fits: {', '.join(bigger)}" if bigger else "; prune or shrink the model"
    raise ModelTooLargeError(f"the model does not fit {board.name}: {'; '.join(problems)}, {how}. "
                             f"{_largest_layers(program)}{hint}")


def _most_vectors(fp: Footprint, board: Board, vectors: VectorCost | None) -> int | None:
    """The largest vector count that fits the flash, when fewer vectors (at least one) make it fit."""
    if vectors is None or vectors.count < 2:
        return None
    without = fp.flash_bytes - vectors.total
    most = (board.flash_bytes - without) // vectors.per_vector
    return min(most, vectors.count - 1) if most >= 1 else None
