"""The bare-metal board glue under firmware/boards/qemu, on each emulated Cortex-M machine.

One self-test program (firmware/boards/qemu/selftest.c) is cross-compiled per machine and run in
qemu-system-arm. Its command line (`-append`) picks the exit code, or a deliberate fault, so a
single build per machine covers every case. The checks: semihosting output and exit status, the
FPU (and MVE on the Cortex-M55), a 200 KiB .bss array, 500 KiB of constants in the flash region,
the HardFault report, and an instruction counter that is deterministic under `-icount shift=0`.

Missing tools are a failure, not a skip: the firmware path is part of the product.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BOARDS = REPO / "firmware" / "boards" / "qemu"
GLUE_SOURCES = ("startup.c", "semihost.c", "counter.c")
RUN_TIMEOUT_S = 60
FAULT_EXIT = 99  # EDGEGEN_BOARD_EXIT_FAULT in semihost.h


@dataclass(frozen=True)
class Machine:
    name: str
    cpu: str
    cflags: tuple[str, ...]
    flash: tuple[int, int]  # [start, end) where constants must land
    ram: tuple[int, int]  # [start, end) where .bss must land
    ticks_num: int  # instructions per counter tick = ticks_num / ticks_den
    ticks_den: int
    has_mve: bool = False


MACHINES = {
    m.name: m
    for m in (
        Machine(
            "mps2-an386",
            "cortex-m4",
            ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
            flash=(0x0000_0000, 0x0040_0000),
            ram=(0x2000_0000, 0x2040_0000),
            ticks_num=40,
            ticks_den=1,
        ),
        Machine(
            "mps2-an500",
            "cortex-m7",
            ("-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
            flash=(0x0000_0000, 0x0040_0000),
            ram=(0x2000_0000, 0x2040_0000),
            ticks_num=40,
            ticks_den=1,
        ),
        Machine(
            "mps3-an547",
            "cortex-m55",
            ("-mcpu=cortex-m55", "-mfpu=auto", "-mfloat-abi=hard"),
            flash=(0x2800_0000, 0x2880_0000),
            ram=(0x2100_0000, 0x2140_0000),
            ticks_num=125,
            ticks_den=4,
            has_mve=True,
        ),
    )
}


def compile_command(m: Machine, sources: list[Path], out: Path) -> list[str]:
    """arm-none-eabi-gcc invocation: the flags boards/*.toml should carry."""
    return [
        "arm-none-eabi-gcc",
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-O2",
        "-mthumb",
        *m.cflags,
        "-ffunction-sections",
        "-fdata-sections",
        f"-I{BOARDS}",
        f"-I{BOARDS / m.name}",
        "-nostartfiles",
        "--specs=nano.specs",
        "-Wl,--gc-sections",
        "-T",
        str(BOARDS / m.name / "linker.ld"),
        f"-L{BOARDS}",
        "-o",
        str(out),
        *map(str, sources),
    ]


def qemu_command(m: Machine, elf: Path, append: str) -> list[str]:
    """qemu-system-arm invocation; the program's semihosting output goes to stdout."""
    return [
        "qemu-system-arm",
        "-M",
        m.name,
        "-cpu",
        m.cpu,
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "null",
        "-chardev",
        "stdio,id=semihost",
        "-semihosting-config",
        "enable=on,target=native,chardev=semihost",
        "-icount",
        "shift=0",
        "-kernel",
        str(elf),
        "-append",
        append,
    ]


def require_tools() -> None:
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run `bash scripts/setup.sh`", pytrace=False)


@pytest.fixture(scope="module")
def selftest_elfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Builds the self-test for all machines at once (the builds are independent)."""
    require_tools()
    out_dir = tmp_path_factory.mktemp("qemu_glue")
    sources = [BOARDS / s for s in (*GLUE_SOURCES, "selftest.c")]

    def build(m: Machine) -> tuple[str, Path, subprocess.CompletedProcess[str]]:
        elf = out_dir / f"selftest-{m.name}.elf"
        proc = subprocess.run(compile_command(m, sources, elf), capture_output=True, text=True, timeout=120)
        return m.name, elf, proc

    with ThreadPoolExecutor(max_workers=len(MACHINES)) as pool:
        results = list(pool.map(build, MACHINES.values()))
    for name, _, proc in results:
        assert proc.returncode == 0, f"{name}: build failed\n{proc.stdout}{proc.stderr}"
    return {name: elf for name, elf, _ in results}


def run(m: Machine, elf: Path, append: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        qemu_command(m, elf, append),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def field(out: str, line_prefix: str, key: str) -> int:
    """Integer value of `key=` on the output line starting with line_prefix (decimal or 0x-hex)."""
    line = next((ln for ln in out.splitlines() if ln.startswith(line_prefix)), None)
    assert line is not None, f"no line starting with {line_prefix!r} in:\n{out}"
    match = re.search(rf"\b{key}=(0x[0-9a-f]+|\d+)", line)
    assert match is not None, f"no {key}= in {line!r}"
    return int(match.group(1), 0)


@pytest.mark.parametrize("name", list(MACHINES))
def test_selftest_passes_and_exit_codes_propagate(name: str, selftest_elfs: dict[str, Path]) -> None:
    m = MACHINES[name]
    elf = selftest_elfs[name]

    first = run(m, elf, "exit=0")
    assert first.returncode == 0, f"exit {first.returncode}\n{first.stdout}{first.stderr}"
    out = first.stdout
    assert f"edgegen selftest board={name}\n" in out
    assert "FAIL" not in out
    assert "selftest passed exit=0\n" in out
    # The float checks ran on the FPU (an FP instruction with CP10/11 disabled would fault).
    assert "fpu ok" in out
    assert ("mve ok" in out) == m.has_mve
    # Big arena in RAM, big constants in the flash region, both read back correctly.
    assert field(out, "bss ok", "bytes") == 200 * 1024
    assert m.ram[0] <= field(out, "bss ok", "at") < m.ram[1] - 200 * 1024
    assert field(out, "rodata ok", "bytes") == 500 * 1024
    assert m.flash[0] <= field(out, "rodata ok", "at") < m.flash[1] - 500 * 1024

    # Under -icount the whole run, counter readings included, is deterministic.
    second = run(m, elf, "exit=0")
    assert second.returncode == 0
    assert second.stdout == out

    # The exit code travels through SYS_EXIT_EXTENDED to qemu's process status.
    third = run(m, elf, "exit=3")
    assert third.returncode == 3, f"exit {third.returncode}\n{third.stdout}{third.stderr}"
    assert "selftest passed exit=3\n" in third.stdout


@pytest.mark.parametrize("name", list(MACHINES))
def test_instruction_counter_counts_instructions(name: str, selftest_elfs: dict[str, Path]) -> None:
    m = MACHINES[name]
    out = run(m, selftest_elfs[name], "exit=0").stdout
    tick = m.ticks_num / m.ticks_den
    expected = field(out, "counter", "expected")  # instructions in the calibration loop
    assert expected == 200_000
    assert field(out, "counter", "granularity") == m.ticks_num
    # A measurement is the true count plus the few instructions of the start/stop pair,
    # rounded to whole ticks: within one tick (plus one for the fractional AN547 ratio).
    for key, want in (("loop", expected), ("loop2", 2 * expected), ("read_delta", expected)):
        got = field(out, "counter", key)
        assert abs(got - want) <= 2 * tick, f"{key}={got}, expected {want} +- {2 * tick}"
    assert field(out, "counter", "empty") <= tick


@pytest.mark.parametrize("name", list(MACHINES))
def test_hardfault_reports_and_exits_nonzero(name: str, selftest_elfs: dict[str, Path]) -> None:
    m = MACHINES[name]
    proc = run(m, selftest_elfs[name], "exit=0 fault")
    assert proc.returncode == FAULT_EXIT, f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert "edgegen: HardFault pc=0x" in proc.stdout
    assert "bfar=0xf0000000" in proc.stdout  # the deliberate load from unmapped memory
