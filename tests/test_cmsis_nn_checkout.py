"""`--cmsis-nn DIR` with a checkout of CMSIS-NN's main branch, which after v7.0.0 gained float
kernels (``*_f16.c``, ``*_f32.c``, ``*_flt.c``, built by its CMake only when enabled) and Python
bindings (``Source/Bindings/*.cpp``). Neither compiles in an int8 build without its own
configuration; the build leaves them out of its copy and the Makefile filters them out of a
checkout given as ``make CMSIS_NN=DIR`` (the PlatformIO pre-script filters them likewise)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgegen.build import build
from edgegen.resources import firmware_dir
from edgegen.verify import verify_directory

from .conftest import shared_path

HELLO = "models/tflite_micro/hello_world_int8.tflite"

#: files a main-branch checkout holds that an int8 build must not compile; each fails if it is
FLOAT_ONLY = (
    "Source/BasicMathFunctions/arm_elementwise_add_f16.c",
    "Source/ConvolutionFunctions/arm_convolve_f32.c",
    "Source/NNSupportFunctions/arm_nntables_flt.c",
    "Source/Bindings/arm_py_module.cpp",
)


def _main_branch_like_checkout(tmp_path: Path) -> Path:
    lib = tmp_path / "CMSIS-NN"
    shutil.copytree(firmware_dir() / "cmsis_nn", lib)
    for rel in FLOAT_ONLY:
        path = lib / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('#error "a float kernel: needs ARM_NN_ENABLE_F16/F32"\n')
    return lib


def test_float_kernels_and_bindings_are_left_out(tmp_path: Path) -> None:
    lib = _main_branch_like_checkout(tmp_path)
    src = shared_path(HELLO)
    # qemu-m4: the build compiles and sizes the firmware, so a float kernel in it would fail here
    res = build(src.read_bytes(), tmp_path / "hello", source=str(src), name="hello", board="qemu-m4", cmsis_nn=lib)
    for rel in FLOAT_ONLY:
        assert not (res.out / "cmsis_nn" / rel).exists(), rel
    assert (res.out / "cmsis_nn" / "Source" / "edgegen_nn_convolution.c").is_file()
    report, _ = verify_directory(res.out, count=2)
    assert report.ok, [m.message() for m in report.mismatches]
    # `make CMSIS_NN=DIR` reads the checkout itself, float kernels and all: the Makefile filters them
    shutil.rmtree(res.out / "build" / "host")
    subprocess.run(["make", "-s", "-C", str(res.out), f"CMSIS_NN={lib}", "host"], check=True,
                   capture_output=True, text=True)
    assert (res.out / "build" / "host" / "hello_host").is_file()
