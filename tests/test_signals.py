"""SIGINT and SIGTERM at any moment: one line, temporary directories removed, child processes
(make, the compilers, qemu) stopped, the previous output intact.

Each case runs the real command line in a child process and signals it at a moment picked by
what it is doing (its own start-up, make compiling, qemu running), not by a guessed delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgegen.outdir import OLD_PREFIX, TMP_PREFIX

from .conftest import shared_path
from .support.terminal import at_a_terminal

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live (not zombie) processes whose arguments contain ``text``."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(cmd.strip())
    return found


def _edgegen(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "edgegen", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=at_a_terminal)


def _wait_for(what: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert proc.poll() is None, f"edgegen ended before the moment to signal it: {proc.communicate()}"
        assert time.monotonic() < deadline, "the moment to signal never came"
        time.sleep(0.01)


def _check_interrupted(proc: subprocess.Popen[str], sig: int, where: Path) -> None:
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert err.strip().splitlines()[-1].startswith("edgegen: interrupted"), err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 10  # a killed group's members may take a moment to go on a busy machine
    while _processes_mentioning(str(where)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_mentioning(str(where)) == []
    left = [p.name for p in where.rglob("*") if p.name.startswith((TMP_PREFIX, OLD_PREFIX))]
    assert left == []


def _previous_build(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    model = tmp_path / "kws.tflite"
    model.write_bytes(shared_path(KWS).read_bytes())
    proc = _edgegen("build", str(model), "--board", "host", "--out", "out", cwd=tmp_path)
    assert proc.communicate(timeout=300)[1] == "" and proc.returncode == 0
    out = tmp_path / "out"
    return model, {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_make_links_the_fit_check(tmp_path: Path, sig: int) -> None:
    model, before = _previous_build(tmp_path)
    proc = _edgegen("build", str(model), "--board", "qemu-m4", "--out", "out", "--force", cwd=tmp_path)
    _wait_for(lambda: any(c.startswith("make") for c in _processes_mentioning(TMP_PREFIX)), proc)
    proc.send_signal(sig)
    _check_interrupted(proc, sig, tmp_path)
    out = tmp_path / "out"
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6])
def test_sigint_during_start_up_and_reading(tmp_path: Path, delay: float) -> None:
    """Early signals land in imports and model reading: still one line, nothing written."""
    model = tmp_path / "kws.tflite"
    model.write_bytes(shared_path(KWS).read_bytes())
    proc = _edgegen("build", str(model), "--board", "qemu-m4", "--out", "out", cwd=tmp_path)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.fail(f"the build finished within {delay} s; the case no longer tests start-up")
    assert proc.returncode == 130 and err.strip().startswith("edgegen: interrupted") and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kws.tflite"]


def test_sigterm_stops_qemu(tmp_path: Path) -> None:
    model = tmp_path / "kws.tflite"
    model.write_bytes(shared_path(KWS).read_bytes())
    build = _edgegen("build", str(model), "--board", "qemu-m4", "--out", "out", cwd=tmp_path)
    assert build.communicate(timeout=300)[1] == "" and build.returncode == 0
    proc = _edgegen("run", str(tmp_path / "out"), "--timeout", "600", cwd=tmp_path)
    _wait_for(lambda: any("qemu-system-arm" in c for c in _processes_mentioning(str(tmp_path))), proc)
    proc.send_signal(signal.SIGTERM)
    _check_interrupted(proc, signal.SIGTERM, tmp_path)
