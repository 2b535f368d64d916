"""The build directory as a library for the user's own firmware: a small application that uses only
the documented API (init, invoke, input, output, the I/O descriptors) is built with
arm-none-eabi-gcc through each export, run on qemu-m4, and its outputs must equal edgegen's
simulator: through the CMake target (two models in one image), through the PlatformIO library
manifest (its source filter and flags applied as PlatformIO applies them, without `pio`), and
as plain C with the arena and the weights placed in named linker sections."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgegen.boards import all_boards
from edgegen.build import build
from edgegen.builddir import load_build
from edgegen.emulator import qemu_command
from edgegen.sim import simulate

from .conftest import shared_path
from .test_models import MODELS

BOARD = all_boards()["qemu-m4"]

#: the application: one input pattern per model, written through the API, each output printed
APP = r"""
#include <stdint.h>

#include "semihost.h"
#include "kws_model.h"
#include "hw_model.h"

static void fill_and_run(const char *tag, void *in, const edgegen_io_info *info, int32_t (*invoke)(void),
                         const void *out, const edgegen_io_info *oinfo)
{
    int8_t *x = (int8_t *)in;
    for (int32_t i = 0; i < info->bytes; i++)
    {
        x[i] = (int8_t)((i * 37 + 11) % 256 - 128);
    }
    if (invoke() != 0)
    {
        edgegen_board_exit(3);
    }
    edgegen_board_puts(tag);
    for (int32_t i = 0; i < oinfo->bytes; i++)
    {
        edgegen_board_puts(" ");
        edgegen_board_put_i32(((const int8_t *)out)[i]);
    }
    edgegen_board_puts("\n");
}

int main(void)
{
    if (kws_init() != KWS_OK || hw_init() != HW_OK)
    {
        return 2;
    }
    fill_and_run("kws", kws_input(0), &kws_inputs_info[0], kws_invoke, kws_output(0), &kws_outputs_info[0]);
    fill_and_run("hw", hw_input(0), &hw_inputs_info[0], hw_invoke, hw_output(0), &hw_outputs_info[0]);
    return 0;
}
"""


def _pattern(n: int) -> np.ndarray:
    return ((np.arange(n) * 37 + 11) % 256 - 128).astype(np.int8)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lib")
    out = {}
    for key, name in (("kws", "kws"), ("hello_world", "hw")):
        src = shared_path(MODELS[key])
        out[name] = build(src.read_bytes(), root / name, source=str(src), name=name, board="qemu-m4", vectors=1).out
    return out


def _expected(directory: Path) -> list[int]:
    _d, _g, program, _m = load_build(directory)
    x = _pattern(program.inputs[0].size).reshape(program.inputs[0].shape)
    return [int(v) for v in np.asarray(simulate(program, [x]).outputs[0]).reshape(-1)]


def _check_run(elf: Path, models: dict[str, Path]) -> None:
    run = subprocess.run(qemu_command(BOARD, elf), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for tag in ("kws", "hw"):
        line = next(line for line in run.stdout.splitlines() if line.startswith(tag + " "))
        assert [int(v) for v in line.split()[1:]] == _expected(models[tag]), tag


def _glue(models: dict[str, Path]) -> tuple[Path, list[Path]]:
    glue = models["kws"] / "board" / "qemu"
    return glue, [glue / f for f in ("startup.c", "semihost.c", "counter.c")]


def _link_flags(glue: Path) -> list[str]:
    assert BOARD.qemu is not None
    return ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", f"-L{glue}", "-T",
            str(glue / BOARD.qemu.machine / "linker.ld")]


def test_cmake_target_two_models(models: dict[str, Path], tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    assert cmake is not None, "cmake is missing (apt-get install cmake)"
    assert BOARD.qemu is not None
    glue, glue_sources = _glue(models)
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text(APP)
    sources = " ".join(str(p) for p in (app / "main.c", *glue_sources))
    (app / "CMakeLists.txt").write_text(f"""cmake_minimum_required(VERSION 3.13)
project(app C)
add_subdirectory({models['kws']} kws_model)
add_subdirectory({models['hw']} hw_model)
add_executable(app.elf {sources})
target_include_directories(app.elf PRIVATE {glue} {glue / BOARD.qemu.machine})
target_link_libraries(app.elf PRIVATE kws_model hw_model)
""")
    cflags = " ".join([*BOARD.cflags, "-O2", "-ffunction-sections", "-fdata-sections"])
    configure = subprocess.run(
        [cmake, "-S", str(app), "-B", str(tmp_path / "b"), "-DCMAKE_SYSTEM_NAME=Generic",
         "-DCMAKE_C_COMPILER=arm-none-eabi-gcc", "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
         f"-DCMAKE_C_FLAGS={cflags}", f"-DCMAKE_EXE_LINKER_FLAGS={shlex.join(_link_flags(glue))}"],
        capture_output=True, text=True)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    made = subprocess.run([cmake, "--build", str(tmp_path / "b")], capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    _check_run(tmp_path / "b" / "app.elf", models)


def _platformio_sources(root: Path, manifest: dict[str, object]) -> tuple[list[Path], list[str]]:
    """The files PlatformIO compiles for a library: srcFilter's +<...>/-<...> patterns, in order,
    over srcDir (a directory pattern takes everything under it), and the flags' -I paths
    relative to the library's root."""
    b = manifest["build"]
    assert isinstance(b, dict)
    src = root / str(b["srcDir"])
    every = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    chosen: set[str] = set()
    for item in b["srcFilter"]:
        sign, pat = item[0], item[2:-1]
        hits = {f for f in every if f.startswith(pat) or fnmatch.fnmatch(f, pat)} if pat.endswith("/") else \
            {f for f in every if fnmatch.fnmatch(f, pat)}
        chosen = chosen | hits if sign == "+" else chosen - hits
    flags = []
    for flag in b["flags"]:
        flags.append(f"-I{root / flag[2:].strip()}" if flag.startswith("-I") else flag)
    flags.append(f"-I{root / str(b['includeDir'])}")
    return [src / f for f in sorted(chosen) if f.endswith(".c")], flags


def test_platformio_library_layout(models: dict[str, Path], tmp_path: Path) -> None:
    glue, glue_sources = _glue(models)
    assert BOARD.qemu is not None
    objects: list[Path] = []
    library_objects: list[Path] = []
    for name in ("kws", "hw"):
        manifest = json.loads((models[name] / "library.json").read_text())
        assert manifest["name"] == f"{name}_model"
        sources, flags = _platformio_sources(models[name], manifest)
        names = {p.name for p in sources}
        assert f"{name}_model.c" in names and f"{name}_weights.c" in names and f"{name}_vectors.c" not in names
        assert "main.c" not in names and "startup.c" not in names
        # one runtime for both models (PlatformIO links each library from its own archive)
        for i, src in enumerate(p for p in sources if name == "kws" or p.parent.name == "model"):
            obj = tmp_path / f"{name}_{i}_{src.stem}.o"
            subprocess.run(["arm-none-eabi-gcc", *BOARD.cflags, "-O2", "-Wall", "-Wextra", "-Werror", *flags, "-c",
                            str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
            library_objects.append(obj)
    # the library needs nothing from the C library but memcpy and memset (and libgcc's helpers)
    nm = subprocess.run(["arm-none-eabi-nm", "-u", *map(str, library_objects)], check=True, capture_output=True,
                        text=True).stdout
    undefined = {line.split()[-1] for line in nm.splitlines() if line.strip().startswith("U ")}
    defined = subprocess.run(["arm-none-eabi-nm", "--defined-only", *map(str, library_objects)], check=True,
                             capture_output=True, text=True).stdout
    defined_names = {line.split()[-1] for line in defined.splitlines() if len(line.split()) == 3}
    from_outside = {u for u in undefined - defined_names if not u.startswith("__aeabi_")}
    assert from_outside <= {"memcpy", "memset"}, from_outside
    app = tmp_path / "main.c"
    app.write_text(APP)
    inc = [f"-I{models[n] / 'model'}" for n in ("kws", "hw")] + [f"-I{glue}", f"-I{glue / BOARD.qemu.machine}"]
    for src in (app, *glue_sources):
        obj = tmp_path / f"app_{src.stem}.o"
        subprocess.run(["arm-none-eabi-gcc", *BOARD.cflags, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *inc,
                        "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
        objects.append(obj)
    elf = tmp_path / "app.elf"
    link = subprocess.run(["arm-none-eabi-gcc", *BOARD.cflags, "-o", str(elf), *map(str, objects),
                           *map(str, library_objects), *_link_flags(glue)], capture_output=True, text=True)
    assert link.returncode == 0, link.stderr
    _check_run(elf, models)


def test_arena_and_weights_in_named_sections(models: dict[str, Path], tmp_path: Path) -> None:
    """The placement macros put the arena and every constant in the sections the user names."""
    kws = models["kws"]
    inc = [f"-I{kws / d}" for d in ("model", "edgegen", "cmsis_nn/Include")]
    dump = {}
    for stem, define in (("kws_model", '-DKWS_ARENA_SECTION=".bss.app_fast_ram"'),
                         ("kws_weights", '-DEDGEGEN_WEIGHTS_SECTION=".rodata.app_qspi"')):
        obj = tmp_path / f"{stem}.o"
        subprocess.run(["arm-none-eabi-gcc", *BOARD.cflags, "-std=c99", "-O2", *inc, define, "-c",
                        str(kws / "model" / f"{stem}.c"), "-o", str(obj)], check=True, capture_output=True, text=True)
        dump[stem] = subprocess.run(["arm-none-eabi-objdump", "-t", str(obj)], check=True, capture_output=True,
                                    text=True).stdout
    assert re.search(r"\.bss\.app_fast_ram\s+\S+\s+kws_arena$", dump["kws_model"], flags=re.M)
    _d, _g, program, _m = load_build(kws)
    for c in program.constants:
        assert re.search(rf"\.rodata\.app_qspi\s+\S+\s+{c.name}$", dump["kws_weights"], flags=re.M), c.name
