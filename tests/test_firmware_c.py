"""Every C file under firmware/ compiles warning-free with the flags it is held to (tests/support/
cwarn.py: C99, -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Werror) on the host and with
arm-none-eabi-gcc for every CPU a board file names, at the optimization levels the builds use; and
the portable kernels' header declares exactly what CMSIS-NN declares."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from edgegen.boards import all_boards
from edgegen.platformio import vcp_config, write_project
from edgegen.resources import firmware_dir

from .support.cwarn import HOST, STRICT, Target, arm_gcc, arm_targets, compile_all, failures

REPO = Path(__file__).resolve().parent.parent
STM32_STUB = REPO / "tests" / "support" / "stm32_hal_stub"
#: the Makefile builds the host harness with -O2 and the sanitized one with -O1; -O0 and -Os too,
#: since some warnings (uninitialized values, bounds) depend on the optimizer
HOST_OPTS = ("-O0", "-O1", "-O2", "-Os")
#: the firmware Makefile and the PlatformIO projects build with -O2; -Os is PlatformIO's default
ARM_OPTS = ("-O2", "-Os")
#: what the firmware Makefile adds for every object
ARM_EXTRA = ("-ffunction-sections", "-fdata-sections", "-DEDGEGEN_PROFILE")
#: the device macro PlatformIO defines for each STM32 board (it selects the glue's clock plan)
STM32_DEVICES = {
    "disco-l475vg-iot01a": "STM32L475xx",
    "nucleo-f401re": "STM32F401xE",
    "nucleo-f446re": "STM32F446xx",
    "nucleo-f746zg": "STM32F746xx",
    "nucleo-h743zi": "STM32H743xx",
    "nucleo-l4r5zi": "STM32L4R5xx",
}


def _kernel_sources() -> list[Path]:
    fw = firmware_dir()
    srcs = sorted((fw / "cmsis_nn" / "Source").glob("*.c")) + sorted((fw / "edgegen").glob("*.c"))
    assert len(srcs) >= 8
    return srcs


def _kernel_commands(target: Target, opts: tuple[str, ...], out: Path) -> Iterator[list[str]]:
    fw = firmware_dir()
    inc = [f"-I{fw / 'cmsis_nn' / 'Include'}", f"-I{fw / 'cmsis_nn' / 'Source'}", f"-I{fw / 'edgegen'}"]
    extra = ARM_EXTRA if target.arm else ()
    for opt in opts:
        for src in _kernel_sources():
            obj = out / f"{target.name}{opt}-{src.stem}.o"
            yield [target.cc, *STRICT, opt, *target.cflags, *extra, *inc, "-c", str(src), "-o", str(obj)]


def _qemu_glue_commands(target: Target, out: Path) -> Iterator[list[str]]:
    if target.machine is None:
        return
    fw = firmware_dir()
    qemu = fw / "boards" / "qemu"
    inc = [f"-I{fw / 'harness'}", f"-I{qemu}", f"-I{qemu / target.machine}"]
    for opt in ARM_OPTS:
        for src in sorted(qemu.glob("*.c")):
            obj = out / f"{target.name}{opt}-{src.stem}.o"
            yield [target.cc, *STRICT, opt, *target.cflags, *ARM_EXTRA, *inc, "-c", str(src), "-o", str(obj)]


def _stm32_glue_commands(out: Path) -> Iterator[list[str]]:
    """edgegen_stm32.c for each STM32 board, with its generated config header and every clock
    plan (the device macro), against the HAL stand-in; once more with no device macro."""
    boards = [b for b in all_boards().values() if b.kind == "stm32"]
    assert sorted(b.name for b in boards) == sorted(STM32_DEVICES), "add the new board's device macro"
    src = firmware_dir() / "boards" / "stm32" / "edgegen_stm32.c"
    for b in boards:
        project = out / b.name
        write_project(project, b, use_local_cmsis_nn=True)
        # the HAL header the config names (e.g. stm32l4xx_hal.h), standing in for the real one
        (project / vcp_config(b).hal_header).write_text('#include "stm32_hal_stub.h"\n')
        inc = [f"-I{firmware_dir() / 'harness'}", f"-I{project / 'board' / 'stm32'}", f"-I{project}",
               f"-I{STM32_STUB}"]
        for device in (STM32_DEVICES[b.name], None):
            macros = ["-DUSE_HAL_DRIVER"] + ([f"-D{device}"] if device else [])
            obj = out / f"{b.name}-{device}.o"
            yield [arm_gcc(), *STRICT, "-O2", *b.cflags, "-DEDGEGEN_PROFILE", *macros, *inc,
                   "-c", str(src), "-o", str(obj)]


def test_every_firmware_c_file_is_checked() -> None:
    """The compile tests below cover every C file firmware/ ships (a new one must be added)."""
    fw = firmware_dir()
    covered = set(_kernel_sources()) | set((fw / "boards" / "qemu").glob("*.c")) | {
        fw / "boards" / "stm32" / "edgegen_stm32.c"}
    assert covered == set(fw.rglob("*.c"))


def test_kernels_host_warning_free(tmp_path: Path) -> None:
    outcomes = compile_all(list(_kernel_commands(HOST, HOST_OPTS, tmp_path)))
    assert not failures(outcomes), failures(outcomes)


def test_kernels_and_qemu_glue_arm_warning_free(tmp_path: Path) -> None:
    targets = arm_targets()
    # Cortex-M4 (DSP), M7 (single and double precision FPU), M55 (MVE)
    assert {t.cflags[0] for t in targets} == {"-mcpu=cortex-m4", "-mcpu=cortex-m7", "-mcpu=cortex-m55"}
    assert {t.machine for t in targets} >= {"mps2-an386", "mps2-an500", "mps3-an547"}
    commands = [c for t in targets
                for c in (*_kernel_commands(t, ARM_OPTS, tmp_path), *_qemu_glue_commands(t, tmp_path))]
    outcomes = compile_all(commands)
    assert not failures(outcomes), failures(outcomes)


def test_stm32_glue_warning_free(tmp_path: Path) -> None:
    outcomes = compile_all(list(_stm32_glue_commands(tmp_path)))
    assert len(outcomes) == 2 * len(STM32_DEVICES)
    assert not failures(outcomes), failures(outcomes)


def _prototypes(header: str) -> dict[str, str]:
    """Function name -> whitespace-normalized prototype, for every declaration in a header."""
    text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    out = {}
    for m in re.finditer(r"^(?:arm_cmsis_nn_status|void|int32_t)\s+(arm_\w+)\s*\(([^;]*?)\);", text, flags=re.M):
        out[m.group(1)] = " ".join(m.group(0).split())
    return out


def test_prototypes_match_cmsis_nn_when_available() -> None:
    """With a CMSIS-NN checkout in EDGEGEN_CMSIS_NN, every function we declare must be declared
    identically there. Without one, the test still checks our header parses to the expected set."""
    import os

    ours = _prototypes((firmware_dir() / "cmsis_nn" / "Include" / "arm_nnfunctions.h").read_text())
    # every CMSIS-NN function the lowering can emit is declared by the portable subset
    import edgegen.ops

    sources = "".join(f.read_text() for f in sorted(Path(edgegen.ops.__file__).parent.glob("*.py")))
    emitted = set(re.findall(r'"(arm_\w+)"', sources))
    emitted |= {f"arm_concatenation_s8_{a}" for a in "xyzw"}  # named with an f-string there
    assert emitted and emitted <= set(ours), sorted(emitted - set(ours))
    root = os.environ.get("EDGEGEN_CMSIS_NN")
    if not root:
        return
    theirs = _prototypes((Path(root) / "Include" / "arm_nnfunctions.h").read_text())
    for name, proto in ours.items():
        assert theirs.get(name) == proto, f"{name} differs from CMSIS-NN's declaration"
