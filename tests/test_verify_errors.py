"""`edgegen verify` on models TFLM aborts on, crashes on or refuses, and on a truncated model in a
build directory: one `edgegen: error:` line, exit status 1, and no TFLM worker process left behind,
also when the command is interrupted or its process ends.

TFLM only sees a hostile model if edgegen's reader lets it through, and the reader refuses more
and more of them itself. So these tests build a directory from the model's sane twin, put the
hostile bytes in its model.tflite, and let the reader read the twin (tests/support/tflm_hostile.py):
the oracle gets exactly the bytes of the build directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from edgegen import oracle
from edgegen.build import MODEL_FILE, build
from edgegen.cli import main

from .conftest import REPO, shared_path
from .support import tflm_hostile
from .support.terminal import at_a_terminal
from .support.tflm_hostile import Hostile, reader_sees_twin

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"
HELLO = "models/tflite_micro/hello_world_int8.tflite"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _error_line(err: str) -> str:
    """The one line of stderr, checked to be an edgegen error and nothing else."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("edgegen: error: ") and "Traceback" not in err, err
    return lines[0]


def _children() -> dict[int, str]:
    """This process's children: pid -> state letter (Z for a zombie)."""
    me = os.getpid()
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me:
            out[int(entry.name)] = fields[0]
    return out


def _assert_only_the_worker_left(before: dict[int, str]) -> None:
    new = {pid: state for pid, state in _children().items() if pid not in before}
    assert "Z" not in new.values(), f"unreaped children: {new}"
    assert set(new) <= {oracle.worker_pid()}, f"children left behind: {new}"


def _with_token(token: str) -> list[int]:
    """Processes whose environment holds ``token`` (a test's children and theirs, orphaned or not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_for(check: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _hostile_build(tmp_path: Path, model: Hostile) -> Path:
    """A build directory of ``model.twin`` whose model.tflite is then replaced by the hostile bytes."""
    out = build(model.twin, tmp_path / model.name, source=f"{model.name}.tflite", name="m").out
    (out / MODEL_FILE).write_bytes(model.data)
    return out


@pytest.fixture(scope="module")
def kws_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = shared_path(KWS)
    return build(src.read_bytes(), tmp_path_factory.mktemp("kws") / "kws", source=str(src), name="kws").out


@pytest.mark.parametrize("make", tflm_hostile.ALL, ids=lambda f: f.__name__)
def test_tflm_failure_is_one_error_line(make: Callable[[], Hostile], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    model = make()
    out = _hostile_build(tmp_path, model)
    before = _children()
    with reader_sees_twin(monkeypatch, model):
        code, stdout, err = _run(capsys, "verify", str(out), "--samples", "3")
    line = _error_line(err)
    assert code == 1 and stdout == ""
    assert line.startswith("edgegen: error: TFLM (the oracle) ")
    assert model.expect in line and str(out / MODEL_FILE) in line
    # what it means: parity with TFLM is unproven, the C still matches the simulator
    assert f"edgegen cannot prove parity for {out}" in line
    assert "the generated C matches edgegen's simulator on all 3 inputs" in line
    _assert_only_the_worker_left(before)


def test_truncated_model_in_a_build_dir(kws_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the case: kws_ref_model.tflite minus its last 4 bytes, which TFLM's Python loader
    # cannot read (struct.error) -- or edgegen's reader refuses first; one clean line either way
    out = tmp_path / "kws"
    shutil.copytree(kws_dir, out)
    (out / MODEL_FILE).write_bytes((kws_dir / MODEL_FILE).read_bytes()[:-4])
    before = _children()
    code, _out, err = _run(capsys, "verify", str(out), "--samples", "2")
    line = _error_line(err)
    assert code == 1 and str(out / MODEL_FILE) in line
    if "TFLM" in line:
        assert "cannot read" in line and "struct.error" in line
    _assert_only_the_worker_left(before)


# ------------------------------------------------------------------------------------------
# the whole command as a process: nothing outlives it
# ------------------------------------------------------------------------------------------

#: `edgegen verify DIR` with the reader shown the twin in argv[1] (see the module docstring)
_PATCHED_CLI = """
import sys
sys.path.insert(0, sys.argv[1])
import edgegen.builddir as b
twin = open(sys.argv[2], "rb").read()
real = b.compile_tflite
b.compile_tflite = lambda _data, **kw: real(twin, **kw)
from edgegen.__main__ import main
sys.argv = ["edgegen", "verify", sys.argv[3], "--samples", "2"]
sys.exit(main())
"""


def _env(token: str) -> dict[str, str]:
    return {**os.environ, "EDGEGEN_TEST_TOKEN": token, "PYTHONPATH": str(REPO)}


def test_abort_in_a_cli_process_leaves_nothing(tmp_path: Path) -> None:
    model = tflm_hostile.softmax_without_options()
    out = _hostile_build(tmp_path, model)
    twin = tmp_path / "twin.tflite"
    twin.write_bytes(model.twin)
    token = uuid.uuid4().hex
    proc = subprocess.run([sys.executable, "-c", _PATCHED_CLI, str(REPO), str(twin), str(out)], env=_env(token),
                          capture_output=True, text=True, timeout=120)
    line = _error_line(proc.stderr)
    assert proc.returncode == 1 and "aborted (SIGABRT) while loading" in line and str(out / MODEL_FILE) in line
    assert _wait_for(lambda: not _with_token(token), 15.0), _with_token(token)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_interrupting_verify_stops_the_worker(signum: int, kws_dir: Path) -> None:
    # 3000 inputs keep TFLM busy for seconds; the signal arrives while the worker runs them
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "edgegen", "verify", str(kws_dir), "--samples", "3000"],
                            cwd=REPO, env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=at_a_terminal)
    try:
        assert _wait_for(lambda: len(_with_token(token)) >= 2, 60.0), "the TFLM worker never started"
        time.sleep(0.3)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # a Ctrl-C at the terminal reaches the whole group
        else:
            os.kill(proc.pid, signum)  # `kill PID` reaches edgegen only
        _stdout, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert _wait_for(lambda: not _with_token(token), 15.0), _with_token(token)


# ------------------------------------------------------------------------------------------
# a damaged host harness in the build directory
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("script", "expect"), [
    ('printf x > "$2"; : > "$3"', "wrote 1 output and 0 trace bytes, expected 2 and 66"),
    ("exit 0", "exited without writing its results"),
], ids=["short", "nothing"])
def test_damaged_host_harness(script: str, expect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = shared_path(HELLO)
    out = build(src.read_bytes(), tmp_path / "hello", source=str(src), name="hello").out
    # an up-to-date "executable" (newer than its sources), so make leaves it in place
    exe = out / "build" / "host" / "hello_host"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(0o755)
    code, _out, err = _run(capsys, "verify", str(out), "--samples", "2")
    line = _error_line(err)
    assert code == 1 and str(exe) in line and expect in line and "edgegen build --force" in line
