"""A C++ client of the generated code, as an integrator writes one: it includes the model headers
and the board glue from C++ (C++11 and C++17), loads one input once and runs a warm-up plus timed
inferences on it (a model built with ``--keep-inputs``), links a second model and a library that
defines CMSIS-NN's ``arm_*`` names into the same image, and prints every run's output, which must
equal edgegen's simulator on every run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgegen.boards import all_boards
from edgegen.build import build
from edgegen.emulator import qemu_command
from edgegen.samples import random_inputs
from edgegen.sim import simulate

from .conftest import shared_path
from .test_models import MODELS

RUNS = 4  # one warm-up and three timed inferences on the same loaded input

APP = r"""
#include <stdint.h>
#include <string.h>

#include "counter.h"
#include "semihost.h"
#include "kws_model.h"
#include "kws_vectors.h"
#include "hw_model.h"

static void put_output(const char *what, int run, const int8_t *out, int32_t n)
{
    edgegen_board_puts(what);
    edgegen_board_put_i32(run);
    for (int32_t i = 0; i < n; i++)
    {
        edgegen_board_puts(" ");
        edgegen_board_put_i32(out[i]);
    }
    edgegen_board_puts("\n");
}

int main()
{
    static_assert(KWS_INPUTS_SURVIVE_INVOKE == 1, "kws is built with --keep-inputs");
    const edgegen_io_info &in = kws_inputs_info[0];
    memcpy(kws_input(0), kws_vector_input(0, 0), (size_t)in.bytes);
    for (int run = 0; run < RUNS; run++)
    {
        edgegen_counter_start();
        if (kws_invoke() != KWS_OK)
        {
            return 3;
        }
        const uint64_t n = edgegen_counter_elapsed();
        edgegen_board_puts("instructions ");
        edgegen_board_put_u64(n);
        edgegen_board_puts("\n");
        put_output("kws ", run, static_cast<const int8_t *>(kws_output(0)), kws_outputs_info[0].bytes);
    }
    // the second model: its quantization from the run-time descriptor
    const float x = 1.5f;
    const long q = lroundish(x / HW_INPUT0_SCALE) + HW_INPUT0_ZERO_POINT;
    *static_cast<int8_t *>(hw_input(0)) = static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
    if (hw_invoke() != HW_OK)
    {
        return 4;
    }
    put_output("hw ", 0, static_cast<const int8_t *>(hw_output(0)), hw_outputs_info[0].bytes);
    return 0;
}
"""

# no libm needed: round half away from zero, as the Python side does below
HELPERS = """
static long lroundish(float v)
{
    return v < 0 ? -(long)(-v + 0.5f) : (long)(v + 0.5f);
}
"""

def _cmsis_named_library(header: Path) -> str:
    """A library defining every CMSIS-NN name edgegen's portable implementation provides, as a real
    CMSIS-NN (or TFLM) linked into the same application would."""
    names = sorted(set(re.findall(r"^#define (arm_\w+)\s+edgegen_nn_\w+", header.read_text(), flags=re.M)))
    assert len(names) >= 19
    return "\n".join(f"int {n}(void);\nint {n}(void) {{ return -2; }}" for n in names) + "\n"


def _compile(cc: str, flags: list[str], src: Path, obj: Path, extra: list[str]) -> None:
    subprocess.run([cc, *flags, *extra, "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cpp")
    kws = shared_path(MODELS["kws"])
    hw = shared_path(MODELS["hello_world"])
    return {
        "kws": build(kws.read_bytes(), root / "kws", source=str(kws), name="kws", board="qemu-m4", vectors=1,
                     keep_inputs=True).out,
        "hw": build(hw.read_bytes(), root / "hw", source=str(hw), name="hw", board="qemu-m4", vectors=1).out,
    }


def test_keep_inputs_plans_no_write_over_the_inputs(models: dict[str, Path]) -> None:
    """Without --keep-inputs a later call's output shares the input's bytes (so a second invoke
    would read garbage); with it no buffer does, and the header says so."""
    from edgegen.builddir import load_build

    _d, _g, kept, meta = load_build(models["kws"])
    assert meta["keep_inputs"] is True and kept.keep_inputs

    def overlapped(program: object) -> bool:
        from edgegen.program import Program

        assert isinstance(program, Program)
        offsets = program.plan.offsets
        inp = program.buffers[program.inputs[0].buffer]
        lo, hi = offsets[inp.id], offsets[inp.id] + inp.nbytes
        return any(b.id != inp.id and b.first >= 0 and offsets[b.id] < hi and lo < offsets[b.id] + b.nbytes
                   for b in program.buffers)

    from edgegen.builddir import compile_tflite

    _g2, reused = compile_tflite((models["kws"] / "model.tflite").read_bytes(), name="kws", source="kws",
                                 scratch_target=str(meta["scratch_target"]), kernels=str(meta["kernels"]),
                                 board=all_boards()["qemu-m4"])
    assert overlapped(reused) and not overlapped(kept)
    assert kept.other_arena_bytes == reused.plan.arena_bytes
    header = (models["kws"] / "model" / "kws_model.h").read_text()
    assert "#define KWS_INPUTS_SURVIVE_INVOKE 1" in header
    assert f"the arena would be\n * {reused.plan.arena_bytes} bytes" in header


@pytest.mark.parametrize("std", ["c++11", "c++17"])
def test_cpp_client_repeats_inference_on_one_input(std: str, models: dict[str, Path], tmp_path: Path) -> None:
    gxx = shutil.which("arm-none-eabi-g++")
    assert gxx is not None, "arm-none-eabi-g++ is missing (apt-get install gcc-arm-none-eabi)"
    board = all_boards()["qemu-m4"]
    assert board.qemu is not None
    kws, hw = models["kws"], models["hw"]
    cpu = list(board.cflags)
    glue = kws / "board" / "qemu"
    inc = [f"-I{kws / 'model'}", f"-I{hw / 'model'}", f"-I{kws / 'edgegen'}", f"-I{kws / 'cmsis_nn' / 'Include'}",
           f"-I{glue}", f"-I{glue / board.qemu.machine}"]
    cflags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections", *cpu, *inc]
    objs: list[Path] = []
    # each model's own code; the runtime (edgegen/ and cmsis_nn/) once, as docs/user-guide.md says;
    # hw with the harness's -DEDGEGEN_PROFILE, which must link without the harness's hooks
    sources = [(kws / "model" / "kws_model.c", []), (kws / "model" / "kws_weights.c", []),
               (kws / "model" / "kws_vectors.c", []), (hw / "model" / "hw_model.c", ["-DEDGEGEN_PROFILE"]),
               (hw / "model" / "hw_weights.c", []), (kws / "edgegen" / "edgegen_kernels.c", []),
               *((p, []) for p in sorted((kws / "cmsis_nn" / "Source").glob("*.c"))),
               *((glue / f, []) for f in ("startup.c", "semihost.c", "counter.c"))]
    for i, (src, extra) in enumerate(sources):
        obj = tmp_path / f"{i}_{src.stem}.o"
        _compile("arm-none-eabi-gcc", cflags, src, obj, extra)
        objs.append(obj)
    stub = tmp_path / "arm_named.c"
    stub.write_text(_cmsis_named_library(kws / "cmsis_nn" / "Include" / "arm_nnfunctions.h"))
    _compile("arm-none-eabi-gcc", ["-O2", *cpu], stub, tmp_path / "arm_named.o", [])
    subprocess.run(["arm-none-eabi-ar", "rcs", str(tmp_path / "libarm_named.a"), str(tmp_path / "arm_named.o")],
                   check=True)
    app = tmp_path / "app.cpp"
    app.write_text(f"#define RUNS {RUNS}\n" + HELPERS + APP)
    _compile(gxx, [f"-std={std}", "-O2", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti", *cpu, *inc],
             app, tmp_path / "app.o", [])
    elf = tmp_path / "app.elf"
    # linked by gcc: Debian's toolchain ships no libstdc++ for bare metal, and the application needs
    # none (no exceptions, no RTTI, no C++ library calls).
    # The archive is searched for every undefined arm_* name: none is left, since the portable
    # kernels are linked as edgegen_nn_*; --whole-archive forces its definitions in, to prove
    # that they do not clash with edgegen's
    link = subprocess.run(
        ["arm-none-eabi-gcc", *cpu, "-o", str(elf), str(tmp_path / "app.o"), *map(str, objs), "-nostartfiles",
         "--specs=nano.specs",
         "-Wl,--gc-sections", f"-L{glue}", "-T", str(glue / board.qemu.machine / "linker.ld"),
         "-Wl,--whole-archive", str(tmp_path / "libarm_named.a"), "-Wl,--no-whole-archive", "-lm"],
        capture_output=True, text=True)
    assert link.returncode == 0, link.stderr
    run = subprocess.run(qemu_command(board, elf), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr

    from edgegen.builddir import load_build

    lines = run.stdout.splitlines()
    _d, _g, program, _m = load_build(kws)
    # the build's one vector is the seeded random input 0 (edgegen.build); the simulator recomputes
    # its output independently of the vector's stored expectation
    expected = simulate(program, random_inputs(program, 1, seed=0)[0]).outputs
    for r in range(RUNS):
        got = [int(v) for v in next(line for line in lines if line.startswith(f"kws {r}")).split()[2:]]
        assert got == [int(v) for v in np.asarray(expected[0]).reshape(-1)], f"run {r}"
    counts = {int(line.split()[1]) for line in lines if line.startswith("instructions ")}
    assert len(counts) >= 1 and all(c > 0 for c in counts)
    _d, _g, hw_program, _m = load_build(hw)
    q = int(np.clip(np.floor(1.5 / hw_program.inputs[0].scale + 0.5) + hw_program.inputs[0].zero_point, -128, 127))
    hw_expected = simulate(hw_program, [np.array([[q]], dtype=np.int8)]).outputs
    got_hw = [int(v) for v in next(line for line in lines if line.startswith("hw 0")).split()[2:]]
    assert got_hw == [int(v) for v in np.asarray(hw_expected[0]).reshape(-1)]


def test_every_portable_cmsis_nn_function_is_linked_under_edgegen_names() -> None:
    """A function added to edgegen's portable CMSIS-NN API without its edgegen_nn_* link name would
    clash with a real CMSIS-NN or TFLM in the same image again."""
    from edgegen.resources import firmware_dir

    header = (firmware_dir() / "cmsis_nn" / "Include" / "arm_nnfunctions.h").read_text()
    declared = set(re.findall(r"^(?:arm_cmsis_nn_status|void|int32_t)\s+(arm_\w+)\s*\(", header, flags=re.M))
    mapped = dict(re.findall(r"^#define (arm_\w+)\s+(edgegen_nn_\w+)", header, flags=re.M))
    assert declared and declared == set(mapped)
    assert all(v == "edgegen_nn_" + k[len("arm_"):] for k, v in mapped.items())
