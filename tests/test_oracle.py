"""edgegen.oracle: TFLM runs of the shared models, intermediates, reuse, quietness, arena size;
TFLM's crashes, aborts, refusals and stalls as errors, and the worker process's life cycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from edgegen import oracle
from edgegen.errors import EdgegenError
from edgegen.oracle import (
    TflmError,
    TflmRunner,
    run_tflm,
    run_tflm_many,
    tflm_arena_record,
    worker_pid,
)
from edgegen.tflm_arena import tflm_arena_bytes

from .conftest import REPO, shared_path
from .support import tflm_hostile
from .support.tflm_hostile import Hostile

HELLO = "models/tflite_micro/hello_world_int8.tflite"
KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"


def _op_outputs(model: bytes) -> list[int]:
    sg = fb.Model.GetRootAs(model, 0).Subgraphs(0)
    return [int(t) for k in range(sg.OperatorsLength()) for t in sg.Operators(k).OutputsAsNumpy()]


def _io(model: bytes) -> tuple[list[int], list[int]]:
    sg = fb.Model.GetRootAs(model, 0).Subgraphs(0)
    return [int(t) for t in sg.InputsAsNumpy()], [int(t) for t in sg.OutputsAsNumpy()]


@pytest.fixture(scope="module")
def hello() -> bytes:
    return shared_path(HELLO).read_bytes()


@pytest.fixture(scope="module")
def kws() -> bytes:
    return shared_path(KWS).read_bytes()


def test_hello_world_outputs_and_intermediates(hello: bytes) -> None:
    r = run_tflm(hello, [np.array([[17]], dtype=np.int8)])
    assert len(r.outputs) == 1
    assert r.outputs[0].shape == (1, 1) and r.outputs[0].dtype == np.int8
    ins, outs = _io(hello)
    ops = _op_outputs(hello)
    assert len(ops) == 3
    assert set(r.tensors) == set(ins) | set(ops)
    assert r.tensors[ins[0]].tolist() == [[17]]
    assert np.array_equal(r.tensors[outs[0]], r.outputs[0])
    assert all(v.dtype == np.int8 for v in r.tensors.values())


def test_kws_outputs_and_intermediates(kws: bytes) -> None:
    x = np.load(shared_path("models/mlperf_tiny/kws/sample_input_int8.npy")).astype(np.int8)
    r = run_tflm(kws, [x])
    assert r.outputs[0].shape == (1, 12) and r.outputs[0].dtype == np.int8
    ins, outs = _io(kws)
    assert set(r.tensors) == set(ins) | set(_op_outputs(kws))
    assert np.array_equal(r.tensors[outs[0]], r.outputs[0])
    assert np.array_equal(r.tensors[ins[0]].reshape(-1), x.reshape(-1))
    # the softmax output is a distribution in int8 (scale 1/256, zero point -128)
    assert abs(int(r.outputs[0].astype(np.int64).sum()) + 128 * 12 - 256) <= 12
    # without intermediates: same outputs, no tensors
    r2 = run_tflm(kws, [x], intermediates=False)
    assert r2.tensors == {} and np.array_equal(r2.outputs[0], r.outputs[0])


def test_reuse_does_not_leak_state(kws: bytes) -> None:
    rng = np.random.default_rng(0)
    a = [rng.integers(-128, 128, (1, 49, 10, 1)).astype(np.int8)]
    b = [rng.integers(-128, 128, (1, 49, 10, 1)).astype(np.int8)]
    runner = TflmRunner(kws)
    first, _, again = runner.run(a), runner.run(b), runner.run(a)
    fresh = TflmRunner(kws).run(a)
    for t, v in first.tensors.items():
        assert np.array_equal(v, again.tensors[t]) and np.array_equal(v, fresh.tensors[t])
    many = run_tflm_many(kws, [a, b, a])
    assert np.array_equal(many[0].outputs[0], first.outputs[0])
    assert np.array_equal(many[2].outputs[0], first.outputs[0])
    assert not np.array_equal(many[1].tensors[_op_outputs(kws)[0]], first.tensors[_op_outputs(kws)[0]])


def test_runs_are_quiet(hello: bytes, capfd: pytest.CaptureFixture[str]) -> None:
    TflmRunner(hello).run([np.zeros((1, 1), np.int8)])
    tflm_arena_bytes(hello)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_input_checks(hello: bytes) -> None:
    with pytest.raises(ValueError):
        run_tflm(hello, [])
    with pytest.raises(ValueError):
        run_tflm(hello, [np.zeros((1, 2), np.int8)])
    with pytest.raises(ValueError):
        run_tflm(hello, [np.array([[300]])])
    # values that fit are cast
    assert run_tflm(hello, [np.array([[5]])]).outputs[0].shape == (1, 1)
    with pytest.raises(TflmError):
        run_tflm(b"not a flatbuffer at all", [])


@pytest.mark.parametrize("rel", [HELLO, KWS])
def test_arena_bytes_positive_and_stable(rel: str) -> None:
    model = shared_path(rel).read_bytes()
    n = tflm_arena_bytes(model)
    assert n > 0
    assert tflm_arena_bytes(model) == n
    # keeping every tensor alive needs more room than TFLM's planned arena
    assert tflm_arena_bytes(model, preserve_all_tensors=True) > n
    record = tflm_arena_record(model)
    assert 0 < record.head + record.tail == record.total <= n


# ------------------------------------------------------------------------------------------
# the worker process: TFLM's crashes, aborts, refusals and stalls are errors, never ours
# ------------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    """True while any thread of ``pid`` exists and is not a zombie. The main thread alone is not
    enough: killed, it can show as a zombie while the process's other threads (numpy's) are still
    exiting, and until they are gone the parent cannot reap it."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            return True
    return False


def _gone(pid: int) -> bool:
    """``pid`` no longer exists at all: dead and reaped."""
    return not Path(f"/proc/{pid}").exists()


def test_tflm_error_is_an_edgegen_error() -> None:
    assert issubclass(TflmError, EdgegenError)


@pytest.mark.parametrize("make", [tflm_hostile.softmax_without_options, tflm_hostile.op_output_out_of_range],
                         ids=lambda f: f.__name__)
def test_crash_is_an_error_and_the_worker_restarts(make: Callable[[], Hostile], hello: bytes) -> None:
    model = make()
    run_tflm(hello, [np.zeros((1, 1), np.int8)])
    old = worker_pid()
    assert old is not None
    with pytest.raises(TflmError) as info:
        run_tflm(model.data, [np.zeros(model.input_shape, np.int8)], name="hostile.tflite")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"TFLM (the oracle) {model.expect} while loading hostile.tflite")
    assert worker_pid() is None and _gone(old)  # the dead worker was reaped, not left a zombie
    again = run_tflm(hello, [np.array([[17]], np.int8)])
    assert again.outputs[0].shape == (1, 1) and worker_pid() not in (None, old)


@pytest.mark.parametrize("make", [tflm_hostile.fc_tiny_output_scale, tflm_hostile.fc_huge_input_scale],
                         ids=lambda f: f.__name__)
def test_refusal_is_an_error_and_the_worker_stays(make: Callable[[], Hostile], hello: bytes) -> None:
    model = make()
    run_tflm(hello, [np.zeros((1, 1), np.int8)])
    pid = worker_pid()
    with pytest.raises(TflmError) as info:
        TflmRunner(model.data, name="fc.tflite")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("TFLM (the oracle) refused to load fc.tflite: ") and model.expect in message
    assert "FULLY_CONNECTED" in message
    assert worker_pid() == pid


def test_loader_exception_is_an_error(kws: bytes) -> None:
    # the case: 4 bytes short, TFLM's Python loader raises struct.error
    with pytest.raises(TflmError, match=r"^TFLM \(the oracle\) cannot read kws\.tflite: tflite-micro's loader "
                                        r"raised struct\.error: "):
        run_tflm(kws[:-4], [np.zeros((1, 49, 10, 1), np.int8)], name="kws.tflite")


def test_stalled_worker_is_stopped(kws: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    run_tflm(kws, [np.zeros((1, 49, 10, 1), np.int8)])
    old = worker_pid()
    assert old is not None
    monkeypatch.setattr(oracle, "REPLY_TIMEOUT_S", 1e-4)  # no invoke of kws finishes in 0.1 ms
    with pytest.raises(TflmError, match=r"gave no answer for 0\.0001 s while (loading|running) kws\.tflite.*; "
                                        r"it was stopped"):
        run_tflm_many(kws, [[np.zeros((1, 49, 10, 1), np.int8)]] * 20, name="kws.tflite")
    assert worker_pid() is None and _gone(old)
    monkeypatch.undo()
    assert run_tflm(kws, [np.zeros((1, 49, 10, 1), np.int8)]).outputs[0].shape == (1, 12)


def test_interruption_mid_request_stops_the_worker(kws: bytes) -> None:
    run_tflm(kws, [np.zeros((1, 49, 10, 1), np.int8)])
    old = worker_pid()
    assert old is not None

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # what a Ctrl-C (or edgegen's SIGTERM handler) raises

    with pytest.raises(KeyboardInterrupt):
        run_tflm_many(kws, [[np.zeros((1, 49, 10, 1), np.int8)]] * 5, progress=interrupt)
    assert worker_pid() is None and _gone(old)


def test_worker_killed_while_idle_is_replaced(hello: bytes) -> None:
    run_tflm(hello, [np.zeros((1, 1), np.int8)])
    old = worker_pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while _alive(old) and time.monotonic() < deadline:  # dead (a zombie) before the next call
        time.sleep(0.01)
    assert run_tflm(hello, [np.array([[17]], np.int8)]).outputs[0].shape == (1, 1)
    assert worker_pid() not in (None, old) and _gone(old)


_SLEEPER = """
import sys, time
import numpy as np
from edgegen.oracle import run_tflm, worker_pid
run_tflm(open(sys.argv[1], "rb").read(), [np.zeros((1, 1), np.int8)])
print(worker_pid(), flush=True)
if sys.argv[2] == "sleep":
    time.sleep(120)
else:
    sys.stdin.readline()  # exit once the test has seen the worker alive
"""


@pytest.mark.parametrize("end", ["exit", "SIGKILL", "SIGTERM"])
def test_worker_never_outlives_its_process(end: str) -> None:
    # a normal exit closes it (atexit); a parent killed outright takes it along (PR_SET_PDEATHSIG),
    # also the default SIGTERM, which runs no Python code
    proc = subprocess.Popen([sys.executable, "-c", _SLEEPER, str(shared_path(HELLO)), "exit" if end == "exit" else
                             "sleep"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    worker = int(proc.stdout.readline())
    assert _alive(worker)
    if end == "exit":
        proc.stdin.close()
    else:
        os.kill(proc.pid, getattr(signal, end))
    proc.wait(timeout=60)
    deadline = time.monotonic() + 15
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


@pytest.mark.parametrize(("returncode", "words"), [
    (-signal.SIGABRT, "aborted (SIGABRT)"), (-signal.SIGSEGV, "crashed (SIGSEGV)"),
    (-signal.SIGKILL, "was killed (SIGKILL; out of memory?)"), (-signal.SIGHUP, "was killed by SIGHUP"),
    (3, "exited with status 3"), (0, "exited with status 0"),
])
def test_how_a_dead_worker_is_described(returncode: int, words: str) -> None:
    assert oracle._death(returncode) == words
