"""`edgegen flash` and the PlatformIO project, tested at the boundary with a fake `pio` on PATH.

No board and no PlatformIO registry are needed: the fake records its arguments and prints a
scripted upload log or serial transcript (docs/flashing.md says what a real board adds).
"""

from __future__ import annotations

import configparser
import json
import os
import runpy
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

from edgegen.boards import all_boards, resolve_board
from edgegen.cli import main
from edgegen.errors import ToolchainError
from edgegen.platformio import CMSIS_NN_TAG, FlashError, NoBoardError, flash, write_project
from edgegen.resources import firmware_dir

FAKE_PIO = r'''#!{python}
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "argv.jsonl"), "a") as fp:
    fp.write(json.dumps(sys.argv[1:]) + "\n")
if sys.argv[1] == "run":
    sys.stdout.write(open(os.path.join(here, "run.txt")).read())
    sys.exit(int(open(os.path.join(here, "run.code")).read()))
if sys.argv[1:3] == ["device", "monitor"]:
    for line in open(os.path.join(here, "monitor.txt")).read().splitlines():
        if line == "<wait-byte>":
            # the real miniterm forwards a key from its terminal (stdin) to the serial port
            got = os.read(0, 1)
            with open(os.path.join(here, "sent.bin"), "ab") as fp:
                fp.write(got)
            continue
        sys.stdout.write(line + "\r\n")
        sys.stdout.flush()
    time.sleep(600)  # a monitor never ends by itself: edgegen must stop it
sys.exit(2)
'''

PASS_TRANSCRIPT = """--- Terminal on /dev/ttyACM0 | 115200 8-N-1
edgegen: board nucleo-l4r5zi clock 120000000 hz
edgegen: ready (send any byte to run)
<wait-byte>
edgegen: begin m calls 2 vectors 2 arena 1024
edgegen: vector 0 pass
edgegen: vector 1 pass
edgegen: total 240000
edgegen: call 0 200000
edgegen: call 1 40000
edgegen: verdict PASS
edgegen: exit 0
"""

FAIL_TRANSCRIPT = """edgegen: ready (send any byte to run)
<wait-byte>
edgegen: begin m calls 1 vectors 2 arena 64
edgegen: vector 0 pass
edgegen: vector 1 FAIL output 0 byte 3 expected 12 got 13
edgegen: total 1000
edgegen: call 0 1000
edgegen: verdict FAIL
"""


@pytest.fixture
def fake_pio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pio = bin_dir / "pio"
    pio.write_text(FAKE_PIO.format(python=sys.executable))
    pio.chmod(pio.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "run.txt").write_text("Processing nucleo-l4r5zi\n** Programming Finished **\n")
    (bin_dir / "run.code").write_text("0")
    (bin_dir / "monitor.txt").write_text(PASS_TRANSCRIPT)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    # a PlatformIO that has run before: its platform is installed (nothing to download)
    core = tmp_path / "pio-core"
    (core / "platforms" / "ststm32").mkdir(parents=True)
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(core))
    return bin_dir


def _calls(bin_dir: Path) -> list[list[str]]:
    return [json.loads(line) for line in (bin_dir / "argv.jsonl").read_text().splitlines()]


def _build_dir(tmp_path: Path, board: str = "nucleo-l4r5zi") -> Path:
    d = tmp_path / "build"
    d.mkdir()
    (d / "build.json").write_text(json.dumps({"board": board, "name": "m"}))
    b = resolve_board(board).board
    if b.kind == "stm32":
        write_project(d, b, use_local_cmsis_nn=False)
        (d / ".pio" / "libdeps" / board / "CMSIS-NN").mkdir(parents=True)  # downloaded by an earlier flash
    return d


def test_upload_arguments(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    run = flash(d, monitor=False)
    assert run.result is None and "Programming Finished" in run.upload_output
    flash(d, monitor=False, port="/dev/ttyACM3")
    pio = str(fake_pio / "pio")
    assert _calls(fake_pio) == [
        [*_argv0_less(pio), "run", "-d", str(d), "-e", "nucleo-l4r5zi", "-t", "upload"],
        [*_argv0_less(pio), "run", "-d", str(d), "-e", "nucleo-l4r5zi", "-t", "upload", "--upload-port",
         "/dev/ttyACM3"],
    ]


def _argv0_less(_pio: str) -> list[str]:
    return []  # the fake records sys.argv[1:]


def test_monitor_pass(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    started = time.monotonic()
    run = flash(d, monitor=True, port="/dev/ttyACM3", timeout=20)
    assert time.monotonic() - started < 15  # stopped at the verdict, not at the fake's 600 s sleep
    r = run.result
    assert r is not None and r.verdict is True
    assert r.vectors_passed == 2 and r.total == 240000 and r.per_call == (200000, 40000)
    assert run.clock_hz == 120_000_000
    assert _calls(fake_pio)[1] == ["device", "monitor", "-d", str(d), "-e", "nucleo-l4r5zi", "-b", "115200",
                                   "--port", "/dev/ttyACM3"]
    if os.name == "posix":  # the start byte went through the monitor's terminal
        assert len((fake_pio / "sent.bin").read_bytes()) == 1


def test_monitor_fail_verdict_exits_1(tmp_path: Path, fake_pio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "monitor.txt").write_text(FAIL_TRANSCRIPT)
    assert main(["flash", str(d), "--monitor", "--timeout", "20"]) == 1
    out = capsys.readouterr().out
    assert "flashed nucleo-l4r5zi via stlink" in out
    assert "vector 1: output 0 byte 3 expected 12 got 13" in out and "parity: FAIL (1/2" in out


def test_cli_pass(tmp_path: Path, fake_pio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _build_dir(tmp_path)
    assert main(["flash", str(d), "--monitor"]) == 0
    out = capsys.readouterr().out
    assert "parity: PASS (2/2" in out and "240000 cycles (2.00 ms at 120 MHz)" in out
    assert main(["flash", str(d)]) == 0
    assert ["device", "monitor"] not in [c[:2] for c in _calls(fake_pio)[2:]]


def test_monitor_without_verdict_times_out(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "monitor.txt").write_text("edgegen: ready (send any byte to run)\n<wait-byte>\n"
                                          "edgegen: begin m calls 1 vectors 1 arena 8\n")
    with pytest.raises(FlashError, match=r"(?s)no verdict within 2 s .*edgegen: begin"):
        flash(d, monitor=True, timeout=2)


def test_crash_is_reported(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "monitor.txt").write_text("edgegen: ready (send any byte to run)\n<wait-byte>\n"
                                          "edgegen: begin m calls 1 vectors 1 arena 8\n"
                                          "edgegen: fault hardfault cfsr 256 hfsr 1073741824\n")
    with pytest.raises(FlashError, match="crashed"):
        flash(d, monitor=True, timeout=2)


def test_pio_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _build_dir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolchainError, match=r"PlatformIO is not installed: `pip install platformio`"):
        flash(d, monitor=False)
    assert main(["flash", str(d)]) == 1


@pytest.mark.parametrize("log", [
    "Error: open failed\nin procedure 'program'\n** OpenOCD init failed **\n",
    "Error: init mode failed (unable to connect to the target)\n",
    "Error: unable to find a matching CMSIS-DAP device\n",
])
def test_no_board_attached(tmp_path: Path, fake_pio: Path, log: str) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "run.txt").write_text("Uploading .pio/build/nucleo-l4r5zi/firmware.elf\n" + log)
    (fake_pio / "run.code").write_text("1")
    with pytest.raises(NoBoardError, match=r"no nucleo-l4r5zi found: .*ST-LINK USB port") as e:
        flash(d, monitor=True)
    assert e.value.kind == "no-board"
    assert len(_calls(fake_pio)) == 1  # no monitor after a failed upload


def test_other_upload_failure_shows_the_tail(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "run.txt").write_text("".join(f"line {i}\n" for i in range(40)) + "model.c:3: error: boom\n")
    (fake_pio / "run.code").write_text("1")
    with pytest.raises(ToolchainError, match=r"(?s)failed for nucleo-l4r5zi \(exit 1\).*error: boom") as e:
        flash(d, monitor=False)
    assert "line 10\n" not in str(e.value)


@pytest.mark.parametrize(("board", "hint"), [("qemu-m4", "edgegen run"), ("host", "edgegen verify")])
def test_not_an_stm32_build(tmp_path: Path, fake_pio: Path, board: str, hint: str) -> None:
    d = _build_dir(tmp_path, board)
    with pytest.raises(FlashError, match=hint):
        flash(d, monitor=False)
    assert not (fake_pio / "argv.jsonl").exists()


def test_not_a_build_dir(tmp_path: Path, fake_pio: Path) -> None:
    with pytest.raises(FlashError, match="not an edgegen build directory"):
        flash(tmp_path, monitor=False)


STM32_BOARDS = [b for b in all_boards().values() if b.kind == "stm32"]


@pytest.mark.parametrize("board", STM32_BOARDS, ids=lambda b: b.name)
@pytest.mark.parametrize("local", [False, True], ids=["lib_deps", "local"])
def test_write_project(tmp_path: Path, board: object, local: bool) -> None:
    from edgegen.boards import Board

    assert isinstance(board, Board) and board.platformio is not None
    written = write_project(tmp_path, board, use_local_cmsis_nn=local)
    ini = tmp_path / "platformio.ini"
    assert ini in written and (tmp_path / "board/stm32/edgegen_stm32.c").is_file()
    cp = configparser.ConfigParser()
    cp.read_string(ini.read_text())
    assert cp["platformio"]["src_dir"] == "."
    env = cp[f"env:{board.name}"]
    pio = board.platformio
    assert env["platform"] == pio.platform and env["board"] == pio.board and env["framework"] == "stm32cube"
    assert env["upload_protocol"] == pio.upload_protocol and env["monitor_speed"] == str(pio.monitor_speed)
    src = env["build_src_filter"].split()
    assert {"+<model/>", "+<edgegen/>", "+<harness/>", "+<board/stm32/>", "-<host/>", "-<board/qemu/>"} <= set(src)
    flags = env["build_flags"].split()
    assert {"-O2", "-DEDGEGEN_PROFILE", "-Imodel", "-Iedgegen", "-Iharness", "-Iboard/stm32"} <= set(flags)
    assert "-std=c99" in env["build_src_flags"].split()
    assert env["extra_scripts"] == "pre:board/stm32/edgegen_platformio.py"
    assert "-mfloat-abi=hard" in env["custom_edgegen_float_flags"]
    if local:
        assert "+<cmsis_nn/Source/>" in src and "-Icmsis_nn/Include" in flags and "lib_deps" not in env
    else:
        assert "-<cmsis_nn/>" in src and "-Icmsis_nn/Include" not in flags
        assert env["lib_deps"].strip() == f"CMSIS-NN=https://github.com/ARM-software/CMSIS-NN.git#{CMSIS_NN_TAG}"
    cfg = (tmp_path / "board/stm32/edgegen_stm32_config.h").read_text()
    assert f"#define EDGEGEN_VCP_UART {pio.vcp_uart}\n" in cfg
    assert f'"{pio.hal_family.lower()}_hal.h"' in cfg
    assert f"#define EDGEGEN_VCP_NEEDS_VDDIO2 {1 if board.name == 'nucleo-l4r5zi' else 0}" in cfg


def test_pre_script_writes_the_cmsis_nn_manifest(tmp_path: Path) -> None:
    script = runpy.run_path(str(firmware_dir() / "boards/stm32/edgegen_platformio.py"))
    libdeps = tmp_path / "libdeps" / "nucleo-l4r5zi"
    lib = libdeps / "CMSIS-NN"
    (lib / "Include").mkdir(parents=True)
    (lib / "Include/arm_nnfunctions.h").write_text("")
    (lib / "Source/ConvolutionFunctions").mkdir(parents=True)
    (lib / "library.json").write_text(json.dumps({"name": "CMSIS-NN", "version": "0.0.0+1"}))
    (libdeps / "other").mkdir()
    assert script["find_cmsis_nn"](str(libdeps)) == [str(lib)]
    assert script["patch_manifest"](str(lib)) is True
    manifest = json.loads((lib / "library.json").read_text())
    assert manifest["name"] == "CMSIS-NN" and manifest["version"] == "0.0.0+1"
    assert manifest["build"]["srcDir"] == "Source" and manifest["build"]["includeDir"] == "Include"
    assert script["patch_manifest"](str(lib)) is False  # idempotent: later builds leave it alone
    assert script["wants_cmsis_nn"]([f"CMSIS-NN=https://github.com/ARM-software/CMSIS-NN.git#{CMSIS_NN_TAG}"])
    assert not script["wants_cmsis_nn"]([])


def test_offline_first_flash_is_refused_at_once(tmp_path: Path, fake_pio: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A first flash needs PlatformIO's registry; unreachable, edgegen says so in one line within
    seconds and never starts `pio` (which would retry silently for about a minute)."""
    import edgegen.platformio as pio_module

    d = _build_dir(tmp_path)
    shutil.rmtree(os.environ["PLATFORMIO_CORE_DIR"])
    monkeypatch.setattr(pio_module, "REGISTRY", ("127.0.0.1", 9))  # nothing listens on the discard port
    started = time.monotonic()
    with pytest.raises(FlashError) as e:
        flash(d, monitor=False)
    assert time.monotonic() - started < 10
    msg = str(e.value)
    assert "ststm32 platform" in msg and "127.0.0.1" in msg and "internet" in msg and "\n" not in msg
    assert not (fake_pio / "argv.jsonl").exists()


def test_offline_download_failure_is_one_line(tmp_path: Path, fake_pio: Path) -> None:
    d = _build_dir(tmp_path)
    (fake_pio / "run.txt").write_text("Resolving nucleo-l4r5zi dependencies...\n" + "retrying\n" * 40 +
                                      "HTTPClientError: Max retries exceeded with url: /v3/packages\n")
    (fake_pio / "run.code").write_text("1")
    with pytest.raises(FlashError) as e:
        flash(d, monitor=False)
    assert "could not download" in str(e.value) and "internet" in str(e.value) and "\n" not in str(e.value)
