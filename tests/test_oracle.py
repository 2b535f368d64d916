"""edgegen.oracle: TFLM runs of the shared models, intermediates, reuse, quietness, arena size."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from edgegen.oracle import (
    TflmError,
    TflmRunner,
    run_tflm,
    run_tflm_many,
    tflm_arena_bytes,
    tflm_arena_record,
)

from .conftest import shared_path

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
