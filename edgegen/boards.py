"""Target boards: one TOML file per board under ``boards/``.

A board says what the generated code is compiled for (CPU flags, DSP/MVE, which CMSIS-NN scratch
sizes apply), how much flash and RAM it has, how PlatformIO builds and flashes it, and which
emulated qemu machine is its twin for parity and instruction-count runs.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import EdgegenError
from .resources import boards_dir

DEFAULT_BOARD = "nucleo"


class UnknownBoardError(EdgegenError):
    kind = "unknown-board"


@dataclass(frozen=True)
class PlatformIO:
    platform: str
    board: str
    framework: str
    upload_protocol: str
    monitor_speed: int
    hal_family: str
    #: the UART wired to the ST-LINK virtual COM port ("USART2", "LPUART1"), its pins ("PA2") and
    #: alternate-function number: the STM32 glue's console (edgegen/platformio.py renders them)
    vcp_uart: str
    vcp_tx: str
    vcp_rx: str
    vcp_af: int


@dataclass(frozen=True)
class Qemu:
    machine: str
    cpu: str
    #: the machine's code memory when it is smaller than flash_bytes (the AN547's ITCM), else 0
    code_bytes: int


@dataclass(frozen=True)
class Board:
    name: str
    aliases: tuple[str, ...]
    description: str
    kind: str  # "host", "qemu" or "stm32"
    cpu: str
    fpu: str | None
    dsp: bool
    mve: bool
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int
    cflags: tuple[str, ...]
    emulator: str | None
    platformio: PlatformIO | None
    qemu: Qemu | None
    path: Path

    @property
    def scratch_target(self) -> str:
        """Which CMSIS-NN build's scratch-buffer sizes the arena must hold on this board."""
        return "mve" if self.mve else "dsp"

    @property
    def twin(self) -> str | None:
        """The qemu board that runs this board's code: itself for a qemu board."""
        return self.name if self.kind == "qemu" else self.emulator


def _board(path: Path, raw: dict[str, Any]) -> Board:
    try:
        pio = raw.get("platformio")
        q = raw.get("qemu")
        return Board(
            name=str(raw["name"]),
            aliases=tuple(str(a) for a in raw.get("aliases", ())),
            description=str(raw["description"]),
            kind=str(raw["kind"]),
            cpu=str(raw["cpu"]),
            fpu=raw.get("fpu"),
            dsp=bool(raw["dsp"]),
            mve=bool(raw["mve"]),
            clock_hz=int(raw["clock_hz"]),
            flash_bytes=int(raw["flash_bytes"]),
            ram_bytes=int(raw["ram_bytes"]),
            stack_bytes=int(raw["stack_bytes"]),
            cflags=tuple(str(f) for f in raw["cflags"]),
            emulator=raw.get("emulator"),
            platformio=None if pio is None else PlatformIO(
                platform=str(pio["platform"]), board=str(pio["board"]), framework=str(pio["framework"]),
                upload_protocol=str(pio["upload_protocol"]), monitor_speed=int(pio["monitor_speed"]),
                hal_family=str(pio["hal_family"]), vcp_uart=str(pio["vcp_uart"]), vcp_tx=str(pio["vcp_tx"]),
                vcp_rx=str(pio["vcp_rx"]), vcp_af=int(pio["vcp_af"])),
            qemu=None if q is None else Qemu(machine=str(q["machine"]), cpu=str(q["cpu"]),
                                             code_bytes=int(q.get("code_bytes", 0))),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise EdgegenError(f"{path}: invalid board file ({type(e).__name__}: {e})") from None


@cache
def all_boards() -> dict[str, Board]:
    """Every board, by its canonical name, in name order."""
    boards = {}
    for path in sorted(boards_dir().glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise EdgegenError(f"{path}: invalid TOML ({e})") from None
        b = _board(path, raw)
        boards[b.name] = b
    for b in boards.values():
        if b.emulator is not None and b.emulator not in boards:
            raise EdgegenError(f"{b.path}: emulator '{b.emulator}' is not a known board")
    return boards


@dataclass(frozen=True)
class Resolved:
    board: Board
    #: set when the user gave an alias: what it resolved to, for the build to say so
    note: str | None


def resolve_board(name: str) -> Resolved:
    boards = all_boards()
    key = name.strip().lower()
    if key in boards:
        return Resolved(boards[key], None)
    for b in boards.values():
        if key in b.aliases:
            return Resolved(b, f"board '{name}' is {b.name}: {b.description}")
    names = sorted(set(boards) | {a for b in boards.values() for a in b.aliases})
    close = difflib.get_close_matches(key, names, n=4, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UnknownBoardError(f"unknown board '{name}'; {hint}`edgegen boards` lists all {len(boards)} boards")
