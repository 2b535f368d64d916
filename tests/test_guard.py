"""Guard builds: canaries around the arena and the scratch buffers, checked after every call."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from edgegen.errors import ToolchainError
from edgegen.resources import firmware_dir
from edgegen.verify import verify_directory

from .conftest import shared_path

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"


def test_guard_build_keeps_parity_on_host_and_emulator(tmp_path: Path) -> None:
    src = shared_path(KWS)
    res = build(src.read_bytes(), tmp_path / "kws", source=str(src), name="kws", board="qemu-m4", guard=True)
    assert "kws_guard_intact" in (res.out / "model" / "kws_model.c").read_text()
    report, _ = verify_directory(res.out, count=3, asan=True)
    assert report.ok, [m.message() for m in report.mismatches]
    run = run_on_emulator(res.out)
    assert run.result.verdict is True


def _overflowing_library(tmp_path: Path) -> Path:
    """The portable kernels with one bug planted: the convolution writes one byte past its scratch."""
    lib = tmp_path / "bad_cmsis_nn"
    shutil.copytree(firmware_dir() / "cmsis_nn", lib)
    conv = lib / "Source" / "edgegen_nn_convolution.c"
    text = conv.read_text()
    marker = "    (void)ctx; /* the reference loops need no scratch memory */\n"
    assert marker in text
    conv.write_text(text.replace(marker, "    if (ctx->buf != NULL)\n    {\n"
                                         "        ((int8_t *)ctx->buf)[ctx->size] = 0x11;\n    }\n", 1))
    return lib


def test_guard_catches_a_scratch_overflow(tmp_path: Path) -> None:
    src = shared_path(KWS)
    # the CMSIS-NN calls (not edgegen's own kernels, which use no scratch) are what is checked
    res = build(src.read_bytes(), tmp_path / "kws", source=str(src), name="kws", board="qemu-m4", guard=True,
                cmsis_nn=_overflowing_library(tmp_path), kernels="cmsis-nn")
    first_conv_with_scratch = next(c for c in res.program.calls if c.KIND == "conv" and c.scratch >= 0)
    with pytest.raises(ToolchainError) as e:
        verify_directory(res.out, count=1)
    assert f"guard broken after call {first_conv_with_scratch.index}" in str(e.value)
    run = run_on_emulator(res.out)
    assert run.result.verdict is False and run.exit_code == 2
    assert any(f"guard broken after call {first_conv_with_scratch.index}" in line for line in run.result.lines)


def test_start_up_check_of_scratch_sizes(tmp_path: Path) -> None:
    """Linked against a library that asks for more convolution scratch than planned, the firmware
    refuses to run (the check runs for every library but edgegen's own portable kernels)."""
    lib = tmp_path / "greedy_cmsis_nn"
    shutil.copytree(firmware_dir() / "cmsis_nn", lib)
    types = lib / "Include" / "arm_nn_types.h"
    types.write_text(types.read_text().replace("#define EDGEGEN_PORTABLE_CMSIS_NN 1\n", ""))
    conv = lib / "Source" / "edgegen_nn_convolution.c"
    text = conv.read_text()
    old = "    (void)output_dims;\n    return 0;\n}\n\narm_cmsis_nn_status arm_depthwise_conv_wrapper_s8("
    assert old in text
    conv.write_text(text.replace(old, "    (void)output_dims;\n    return 1 << 20;\n}\n\n"
                                      "arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(", 1))
    src = shared_path(KWS)
    res = build(src.read_bytes(), tmp_path / "kws", source=str(src), name="kws", board="qemu-m4", cmsis_nn=lib,
                kernels="cmsis-nn")
    first_conv = next(c for c in res.program.calls if c.KIND == "conv")
    run = run_on_emulator(res.out)
    assert run.exit_code == 3 and run.result.verdict is False
    assert any(f"scratch too small for call {first_conv.index}" in line for line in run.result.lines)
