"""int16 activations (TFLite's 16x8 scheme, issue 16) beyond the converter-made per-op families of
tests/test_ops.py: QUANTIZE between int8 and int16 and int16 -> int16 (hand-built: the converter
writes them only in mixed models), the refusals, and whole converter-made 16x8 models of
FULLY_CONNECTED layers (int16 and float32 I/O) through ``edgegen build`` and ``verify``."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.build import build, compile_tflite
from edgegen.errors import EdgegenError, UnsupportedError
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.fuzz import TinyModel, pack
from .support.opmodels import edge_inputs, op_model

#: requantization cases per hand-built model
BRANCHES = 25
_KINDS = ("s8_s16", "s16_s8", "s16_s16", "s8_s16_s8")


@functools.cache
def requantize_model(seed: int) -> tuple[bytes, tuple[str, ...]]:
    """BRANCHES independent QUANTIZE chains with random shapes, scales (the output scale from 1/300 to
    300 times the input's) and int8 zero points; int16 tensors are symmetric. Returns the model and
    each branch's description."""
    rng = np.random.default_rng([seed, 16])
    m = TinyModel()
    descs = []
    for b in range(BRANCHES):
        kind = _KINDS[int(rng.integers(len(_KINDS)))]
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        types = kind.split("_")
        scales = [float(10 ** rng.uniform(-4, -1))]
        for _ in types[1:]:
            scales.append(scales[-1] * float(10 ** rng.uniform(-2.5, 2.5)))
        zps = [int(rng.integers(-128, 128)) if t == "s8" else 0 for t in types]
        dtypes = ["int8" if t == "s8" else "int16" for t in types]
        tensors = [m.tensor(shape, dt, scale=s, zero_point=z, name=f"b{b:02d}t{k}")
                   for k, (dt, s, z) in enumerate(zip(dtypes, scales, zps, strict=True))]
        for src, dst in itertools.pairwise(tensors):
            m.op("QUANTIZE", [src], [dst])
        m.inputs.append(tensors[0])
        m.outputs.append(tensors[-1])
        descs.append(f"QUANTIZE {kind} {list(shape)} scales {[f'{s:.3g}' for s in scales]} zero points {zps}")
    return pack(m.model()), tuple(descs)


@pytest.mark.parametrize("seed", [0, 1])
def test_requantize_matches_tflm(seed: int) -> None:
    data, descs = requantize_model(seed)
    program = lower(parse_tflite(data, name="rq"), name="rq")
    functions = {c.function for c in program.calls}
    assert functions == {"edgegen_requantize_s8_s16", "edgegen_requantize_s16_s8", "edgegen_requantize_s16_s16"}
    samples = edge_inputs(program) + random_inputs(program, 4, seed=seed)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    # tensors are named b<branch>t<k>: the mismatch's tensor names its branch
    assert report.ok, "\n".join(f"{m.message()}\n    {descs[int(m.tensor[1:3])]}" for m in report.mismatches)
    assert report.tensors_compared == len(samples) * len(program.calls)


def test_requantize_host_c_matches_sim(tmp_path: Path) -> None:
    data, _ = requantize_model(0)
    result = build(data, tmp_path / "rq", source="rq.tflite", name="rq", force=True)
    edges = edge_inputs(result.program)
    report, program = verify_directory(result.out, edges, count=len(edges) + 3, seed=0, asan=True)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)


@pytest.mark.parametrize("kernels", ["cmsis-nn", "auto"])
def test_fc16_calls_host_c_match_sim(kernels: str, tmp_path: Path) -> None:
    """Per-tensor 16x8 FULLY_CONNECTED layers: with --kernels cmsis-nn the arm_fully_connected_s16 call
    (edgegen's portable implementation of it), with auto edgegen_fully_connected_s16 (faster than the
    portable call); both exact (tests/test_ops.py builds the default)."""
    data = op_model("fully_connected_16x8_per_tensor", 22).tflite
    result = build(data, tmp_path / "fc", source="fc.tflite", name="fc", force=True, kernels=kernels)
    want = "arm_fully_connected_s16" if kernels == "cmsis-nn" else "edgegen_fully_connected_s16"
    assert {c.function for c in result.program.calls} == {want}
    edges = edge_inputs(result.program)
    report, program = verify_directory(result.out, edges, count=len(edges) + 2, seed=0)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)


def _one_op(builtin: str, in_dtype: str, out_dtype: str, zero_point: int = 0, options: object = None) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 4), in_dtype, scale=0.01, zero_point=zero_point, name="x")
    y = m.tensor((1, 4), out_dtype, scale=0.02, zero_point=0, name="y")
    m.op(builtin, [x], [y], options)
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def test_int16_with_a_zero_point_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="int16 with zero point 3; TFLM's int16 kernels take symmetric"):
        compile_tflite(_one_op("QUANTIZE", "int16", "int8", zero_point=3), name="z", source="z.tflite")


def test_int16_into_an_op_without_int16_support_is_refused() -> None:
    # HARD_SWISH has no int16 kernel in edgegen: the message names the op and says int16
    with pytest.raises(UnsupportedError, match=r"HARD_SWISH\): input .* is int16; edgegen does not compile int16 "
                                                r"activations for HARD_SWISH"):
        compile_tflite(_one_op("HARD_SWISH", "int16", "int16"), name="h", source="h.tflite")


def test_int16_fully_connected_bias_must_match_the_accumulator() -> None:
    """An int16 FULLY_CONNECTED takes int32 or int64 biases; an int8 one only int32."""
    m = TinyModel()
    x = m.tensor((1, 3), "int8", scale=0.01, zero_point=0, name="x")
    w = m.tensor((2, 3), "int8", scale=0.02, data=np.ones((2, 3), np.int8))
    b = m.tensor((2,), "int64", scale=0.0002, data=np.zeros(2, np.int64))
    y = m.tensor((1, 2), "int8", scale=0.05, zero_point=0, name="y")
    m.op("FULLY_CONNECTED", [x, w, b], [y], schema.FullyConnectedOptionsT())
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(EdgegenError, match=r"bias .* has type int64, expected int32"):
        compile_tflite(pack(m.model()), name="b", source="b.tflite")


# -- whole converter-made 16x8 models ------------------------------------------------------------


@functools.cache
def dense16_model(float_io: bool) -> bytes:
    """A small MLP (Dense 20 -> 32 relu -> 16 relu6 -> 10, one batch-2 input) converted with the 16x8
    op set: int16 (or float32) I/O, per-channel int8 weights, int64 biases."""
    from .support.opmodels import _tf

    tf = _tf()
    rng = np.random.default_rng(16)
    inp = tf.keras.Input((20,), batch_size=2)
    h = tf.keras.layers.Dense(32, activation="relu")(inp)
    h = tf.keras.layers.Dense(16, activation="relu6")(h)
    out = tf.keras.layers.Dense(10)(h)
    model = tf.keras.Model(inp, out)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in model.get_weights()])
    calib = [rng.normal(size=(2, 20)).astype(np.float32) for _ in range(32)]
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([c] for c in calib)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    io = tf.float32 if float_io else tf.int16
    converter.inference_input_type = io
    converter.inference_output_type = io
    return bytes(converter.convert())


@pytest.mark.parametrize("float_io", [False, True], ids=["int16_io", "float_io"])
def test_whole_16x8_model_builds_and_verifies(float_io: bool, tmp_path: Path) -> None:
    data = dense16_model(float_io)
    result = build(data, tmp_path / "d", source="d.tflite", name="d", force=True)
    program = result.program
    io = "float" if float_io else "int16_t"
    assert [r.ctype for r in (*program.inputs, *program.outputs)] == [io, io]
    assert sum(c.op_name == "FULLY_CONNECTED" for c in program.calls) == 3
    samples = edge_inputs(program) + random_inputs(program, 3, seed=1)
    report, program = verify_directory(result.out, samples, count=len(samples), seed=1)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)
    header = (result.out / "model" / "d_model.h").read_text()
    if not float_io:
        assert f"#define D_INPUT0_BYTES {2 * 2 * 20}" in header  # int16: 2 bytes an element
    import json

    rep = json.loads((result.out / "report.json").read_text())
    assert rep["io"]["inputs"][0]["dtype"] == ("float32" if float_io else "int16")


def mixed_model() -> bytes:
    """int8 in, an int8 FULLY_CONNECTED, QUANTIZE int8 -> int16, an int16 FULLY_CONNECTED (per-channel,
    int64 bias), RESHAPE, QUANTIZE int16 -> int8, int8 out: the boundaries of a mixed-precision model."""
    rng = np.random.default_rng(3)
    m = TinyModel()
    x = m.tensor((2, 12), "int8", scale=0.04, zero_point=-5, name="x")
    w1 = m.tensor((16, 12), "int8", scale=0.01, data=rng.integers(-127, 128, (16, 12)).astype(np.int8))
    b1 = m.tensor((16,), "int32", scale=0.0004, data=rng.integers(-2000, 2000, 16).astype(np.int32))
    h8 = m.tensor((2, 16), "int8", scale=0.1, zero_point=3, name="h8")
    m.op("FULLY_CONNECTED", [x, w1, b1], [h8], schema.FullyConnectedOptionsT())
    h16 = m.tensor((2, 16), "int16", scale=0.1 / 200, zero_point=0, name="h16")
    m.op("QUANTIZE", [h8], [h16])
    ws = [0.002 * (i + 1) for i in range(8)]
    w2 = m.tensor((8, 16), "int8", scale=ws, data=rng.integers(-127, 128, (8, 16)).astype(np.int8))
    b2 = m.tensor((8,), "int64", scale=[s * 0.1 / 200 for s in ws],
                  data=rng.integers(-10**5, 10**5, 8).astype(np.int64))
    y16 = m.tensor((2, 8), "int16", scale=0.002, zero_point=0, name="y16")
    opts = schema.FullyConnectedOptionsT()
    opts.fusedActivationFunction = schema.ActivationFunctionType.RELU
    m.op("FULLY_CONNECTED", [h16, w2, b2], [y16], opts)
    r16 = m.tensor((16,), "int16", scale=0.002, zero_point=0, name="r16")
    shape = m.const([16])
    ro = schema.ReshapeOptionsT()
    ro.newShape = [16]
    m.op("RESHAPE", [y16, shape], [r16], ro)
    y8 = m.tensor((16,), "int8", scale=0.3, zero_point=-100, name="y8")
    m.op("QUANTIZE", [r16], [y8])
    m.inputs, m.outputs = [x], [y8]
    return pack(m.model())


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_mixed_int8_int16_model_exact_on_emulator(board: str, tmp_path: Path) -> None:
    from edgegen.emulator import run_on_emulator

    data = mixed_model()
    program = lower(parse_tflite(data, name="mx"), name="mx")
    # the RESHAPE is an alias: four calls
    assert [c.op_name for c in program.calls] == ["FULLY_CONNECTED", "QUANTIZE", "FULLY_CONNECTED", "QUANTIZE"]
    samples = edge_inputs(program) + random_inputs(program, 3, seed=3)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * len(program.calls)
    result = build(data, tmp_path / "mx", source="mx.tflite", name="mx", board=board, vectors=len(samples),
                   samples=samples)
    assert {"edgegen_requantize_s8_s16", "edgegen_fully_connected_s16", "edgegen_requantize_s16_s8"} <= {
        c.function for c in result.program.calls}
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True and run.result.vectors_passed == len(samples)
    assert not run.result.failures and run.exit_code == 0


def test_int16_input_samples() -> None:
    """An int16 input takes int16 arrays as codes and any other dtype as real values, quantized as
    TFLM's AffineQuantize (round half away from zero, clamped to int16); random inputs span int16."""
    from edgegen.samples import as_model_inputs

    data, _ = requantize_model(0)
    program = lower(parse_tflite(data, name="rq"), name="rq")
    i16 = next(i for i, r in enumerate(program.inputs) if r.ctype == "int16_t")
    ref = program.inputs[i16]
    sample = [np.zeros(r.shape, np.int8 if r.ctype == "int8_t" else np.int16) for r in program.inputs]
    real = np.resize(np.array([2.5, -2.5, 1e9, -1e9, 0.49], np.float64), ref.shape) * ref.scale
    sample[i16] = real
    got = as_model_inputs(program, sample)[i16]
    want = np.clip(np.sign(real / ref.scale) * np.floor(np.abs(real / ref.scale) + 0.5), -32768, 32767)
    assert got.dtype == np.int16 and np.array_equal(got, want.astype(np.int16))
    codes = np.full(ref.shape, -32768, np.int16)
    sample[i16] = codes
    assert np.array_equal(as_model_inputs(program, sample)[i16], codes)
    drawn = np.concatenate([s[i16].reshape(-1) for s in random_inputs(program, 50, seed=0)])
    assert drawn.dtype == np.int16 and drawn.min() < -16384 and drawn.max() > 16384


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_requantize_exact_on_emulator(board: str, tmp_path: Path) -> None:
    """The requantization loops on the CPUs (hoisted constants; on Helium 4 lanes with predicated
    tails): 25 random chains of every kind, sizes 1 .. 625, at the edges and at random values."""
    from edgegen.emulator import run_on_emulator

    data, _ = requantize_model(1)
    program = lower(parse_tflite(data, name="rq"), name="rq")
    samples = edge_inputs(program) + random_inputs(program, 3, seed=5)
    result = build(data, tmp_path / "rq", source="rq.tflite", name="rq", board=board, vectors=len(samples),
                   samples=samples)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True and run.result.vectors_passed == len(samples)
    assert not run.result.failures and run.exit_code == 0
