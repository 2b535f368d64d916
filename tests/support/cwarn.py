"""Compiling C with the warning flags firmware/ and the generated code are held to, on the host cc
and on arm-none-eabi-gcc for every CPU a board file names; many compiles at once, every failure
reported with its command and the compiler's output."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from edgegen.boards import all_boards

#: what firmware/ and the generated C compile warning-free with (docs/architecture.md, Decisions); -Wall
#: includes -Wtrigraphs, which matters because names from the model file reach comments and strings
STRICT = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wsign-conversion", "-Werror")


@dataclass(frozen=True)
class Target:
    """A compiler and the CPU flags of one kind of board."""

    name: str
    cc: str
    cflags: tuple[str, ...]
    #: the qemu machine whose board glue builds for this CPU (None: no emulator twin has it)
    machine: str | None = None

    @property
    def arm(self) -> bool:
        return self.cc != "cc"


HOST = Target("host", "cc", ())


def arm_gcc() -> str:
    gcc = shutil.which("arm-none-eabi-gcc")
    assert gcc is not None, "arm-none-eabi-gcc is missing: run scripts/setup.sh (apt-get install gcc-arm-none-eabi)"
    return gcc


def arm_targets() -> list[Target]:
    """One target per distinct CPU flag set in boards/*.toml (Cortex-M4 with DSP, M7 with a
    single- and a double-precision FPU, M55 with MVE), named after a board that has it (one with
    a qemu machine when there is one)."""
    gcc = arm_gcc()
    found: dict[tuple[str, ...], Target] = {}
    for b in all_boards().values():
        if b.kind == "host":
            continue
        flags = tuple(b.cflags)
        machine = b.qemu.machine if b.qemu is not None else None
        old = found.get(flags)
        if old is None or (old.machine is None and machine is not None):
            found[flags] = Target(b.name, gcc, flags, machine)
    return sorted(found.values(), key=lambda t: t.name)


@dataclass(frozen=True)
class Outcome:
    command: tuple[str, ...]
    returncode: int
    stderr: str

    @property
    def clean(self) -> bool:
        return self.returncode == 0 and self.stderr == ""

    def describe(self) -> str:
        return f"$ {' '.join(self.command)}\n{self.stderr.strip() or f'(exit status {self.returncode})'}"


def _run(command: Sequence[str], cwd: Path | None) -> Outcome:
    proc = subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)
    # stdout is empty for -c; whatever the compiler says goes to stderr, and must be nothing
    return Outcome(tuple(command), proc.returncode, proc.stderr + proc.stdout)


def compile_all(commands: Sequence[Sequence[str]], cwd: Path | None = None) -> list[Outcome]:
    """Run every compile command (two at a time per core); returns the outcomes in order."""
    with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda c: _run(c, cwd), commands))


def failures(outcomes: Sequence[Outcome]) -> str:
    """The commands that warned or failed, with what the compiler said ("" when all are clean)."""
    return "\n\n".join(o.describe() for o in outcomes if not o.clean)
