"""The portable CMSIS-NN subset and the edgegen kernels compile warning-free as C99 for the host
and for every emulated Cortex-M, and their headers declare exactly what CMSIS-NN declares."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgegen.resources import firmware_dir

WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
ARM_CPUS = {
    "cortex-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mfpu=auto", "-mfloat-abi=hard"],
}


def _sources() -> list[Path]:
    fw = firmware_dir()
    srcs = sorted((fw / "cmsis_nn" / "Source").glob("*.c")) + sorted((fw / "edgegen").glob("*.c"))
    assert len(srcs) >= 8
    return srcs


def _includes() -> list[str]:
    fw = firmware_dir()
    return [f"-I{fw / 'cmsis_nn' / 'Include'}", f"-I{fw / 'cmsis_nn' / 'Source'}", f"-I{fw / 'edgegen'}"]


@pytest.mark.parametrize("opt", ["-O0", "-O2", "-Os"])
def test_host_compile(opt: str, tmp_path: Path) -> None:
    for src in _sources():
        subprocess.run(["cc", *WARN, opt, *_includes(), "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))],
                       check=True)


@pytest.mark.parametrize("cpu", sorted(ARM_CPUS))
def test_arm_compile(cpu: str, tmp_path: Path) -> None:
    gcc = shutil.which("arm-none-eabi-gcc")
    assert gcc is not None, "arm-none-eabi-gcc is missing: run scripts/setup.sh (apt-get install gcc-arm-none-eabi)"
    for src in _sources():
        subprocess.run([gcc, *WARN, "-O2", "-mthumb", *ARM_CPUS[cpu], *_includes(), "-c", str(src),
                        "-o", str(tmp_path / (src.stem + ".o"))], check=True)


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
    import edgegen.lower

    emitted = set(re.findall(r'"(arm_\w+)"', Path(edgegen.lower.__file__).read_text()))
    emitted |= {f"arm_concatenation_s8_{a}" for a in "xyzw"}  # named with an f-string there
    assert emitted and emitted <= set(ours), sorted(emitted - set(ours))
    root = os.environ.get("EDGEGEN_CMSIS_NN")
    if not root:
        return
    theirs = _prototypes((Path(root) / "Include" / "arm_nnfunctions.h").read_text())
    for name, proto in ours.items():
        assert theirs.get(name) == proto, f"{name} differs from CMSIS-NN's declaration"
