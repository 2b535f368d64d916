"""CONV_2D and DEPTHWISE_CONV_2D with int16 activations (16x8) beyond the converter-made cases of
tests/test_ops.py: hand-built layers whose accumulators need more than int32 (a 1000-tap
convolution, a 23x23 depthwise filter, weights at +-127 lined up with inputs at the int16 limits) and
TFLM's int32-accumulator variant, exact against TFLM and in host C; and the reader's refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from edgegen.build import build
from edgegen.errors import UnsupportedError
from edgegen.kernels.conv16 import Conv16Call
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, verify_directory

from .support.fuzz import TinyModel, options, pack


def _layer(depthwise: bool, *, k: int, cin: int, cout: int, hw: int, bias_dtype: str | None = "int64",
           bias_scale: float = 1.0, out_dtype: str = "int16", out_scale: float = 0.5, seed: int = 0,
           bias_type: int = 0, into: TinyModel | None = None, stride: int = 1, dilation: int = 1) -> bytes:
    """One layer (appended to ``into`` as a branch of its own, else alone in a model), SAME
    padding: weights of magnitude 100..127 with one sign per channel, so a saturated input drives
    the sums towards 32768 x K x 127."""
    rng = np.random.default_rng(seed)
    m = into if into is not None else TinyModel()
    x = m.tensor((1, hw, hw, cin), "int16", scale=0.001)
    if depthwise:
        shape, axis, n = (1, k, k, cout), 3, cout
    else:
        shape, axis, n = (cout, k, k, cin), 0, cout
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    w = np.moveaxis(rng.integers(100, 128, size=shape), axis, -1) * sign
    w = np.moveaxis(w, -1, axis).astype(np.int8)
    wt = m.tensor(shape, "int8", scale=list(rng.uniform(0.001, 0.01, n)), zero_point=[0] * n, data=w, axis=axis)
    inputs = [x, wt]
    if bias_dtype is not None:
        b = (rng.integers(-(1 << 20), 1 << 20, size=n) * bias_scale).astype(bias_dtype)
        inputs.append(m.tensor((n,), bias_dtype, scale=None, data=b))
    oh = -(-hw // stride)
    y = m.tensor((1, oh, oh, cout), out_dtype, scale=out_scale)
    if depthwise:
        m.op("DEPTHWISE_CONV_2D", inputs, [y], options("DepthwiseConv2DOptionsT", padding=fb.Padding.SAME, strideW=1,
                                                       strideH=1, depthMultiplier=cout // cin,
                                                       dilationWFactor=1, dilationHFactor=1))
    else:
        m.op("CONV_2D", inputs, [y], options("Conv2DOptionsT", padding=fb.Padding.SAME, strideW=stride,
                                             strideH=stride, dilationWFactor=dilation, dilationHFactor=dilation,
                                             quantizedBiasType=bias_type))
    m.inputs, m.outputs = [*m.inputs, x], [*m.outputs, y]
    return pack(m.model())


def _saturating_inputs(model: bytes) -> list[list[np.ndarray]]:
    """Every input at 32767, at -32768, at random saturated values, and uniform random."""
    g = parse_tflite(model, name="k")
    shapes = [g.tensor(i).shape for i in g.inputs]
    rng = np.random.default_rng(1)
    return [[np.full(s, 32767, np.int16) for s in shapes], [np.full(s, -32768, np.int16) for s in shapes],
            [np.where(rng.random(s) < 0.5, -32768, 32767).astype(np.int16) for s in shapes],
            [rng.integers(-32768, 32768, size=s).astype(np.int16) for s in shapes]]


def wide_model() -> bytes:
    """Six layers, each its own branch."""
    m = TinyModel()
    # 40 channels x 5x5: K = 1000 > 508 products per int32 chunk; biases in int64 beyond int32
    _layer(False, k=5, cin=40, cout=3, hw=5, bias_scale=2.0 ** 14, into=m)
    # 23x23 depthwise: 529 taps (Arm's and edgegen's slow path), depth multiplier 2
    _layer(True, k=23, cin=2, cout=4, hw=24, seed=1, into=m)
    # the fast depthwise path: quads and a tail channel
    _layer(True, k=3, cin=7, cout=7, hw=6, seed=2, into=m)
    # int32 bias: TFLM's int32 accumulator and 32-bit requantization (K = 72: no int32 overflow)
    _layer(False, k=3, cin=8, cout=5, hw=4, bias_dtype="int32", bias_type=fb.TensorType.INT32, seed=3, into=m)
    # no bias and quantized bias type INT32: the int32 accumulator too; no bias, int64
    _layer(False, k=2, cin=6, cout=3, hw=3, bias_dtype=None, bias_type=fb.TensorType.INT32, seed=4, into=m)
    return _layer(False, k=3, cin=5, cout=9, hw=5, bias_dtype=None, seed=5, into=m)


def test_wide_accumulators_exact(tmp_path: Path) -> None:
    model = wide_model()
    program = lower(parse_tflite(model, name="k"), name="k")
    conv, dw = "arm_convolve_wrapper_s16", "arm_depthwise_conv_wrapper_s16"
    assert [c.function for c in program.calls] == [conv, dw, dw, conv, conv, conv]
    samples = _saturating_inputs(model)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, model, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * 6, report.mismatches[:1]
    result = build(model, tmp_path / "k", source="k.tflite", name="k", force=True)
    report, _ = verify_directory(result.out, samples, count=len(samples), seed=0, asan=True)
    assert report.ok and report.c_vs_sim is True and report.sim_vs_tflm is True


REFUSED = {
    "mixed types": (lambda: _layer(False, k=1, cin=2, cout=2, hw=2, out_dtype="int8", out_scale=0.05),
                    r"CONV_2D.*differ in type; TFLM requires them equal"),
    "int32 depthwise bias": (lambda: _layer(True, k=3, cin=2, cout=2, hw=3, bias_dtype="int32"), r"bias"),
    "tiny output scale": (lambda: _layer(False, k=1, cin=2, cout=2, hw=2, out_scale=1e-30),
                          r"scale ratio .* recalibrate the model"),
    "int64 beyond 2^47": (lambda: _layer(False, k=1, cin=2, cout=2, hw=2, bias_scale=2.0 ** 31),
                          r"beyond TFLM's 64-bit requantization"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals(case: str) -> None:
    make, message = REFUSED[case]
    with pytest.raises(UnsupportedError, match=message):
        lower(parse_tflite(make(), name="k"), name="k")


def helium_model() -> bytes:
    """Layers through every part of edgegen_nn_convolve_s16's Helium block path and the DSP path's
    prepared requantization (int64 biases,
    K <= 504): blocks of 64 channels and a partial one, 4-channel groups and 1..3 tail channels,
    8-value steps and predicated tails (K = 20, 27, 5), 1x1 columns read in place (stride 1 and
    2), gathered columns with zero padding (dilation 1: row copies; dilation 2: per tap), K = 504
    with saturated lined-up inputs (|sum| just below 2^31), and a total shift of 32 or more (a
    large output scale: the 64-bit shift's high word); two depthwise layers for the Helium
    depthwise's prepared requantization."""
    m = TinyModel()
    _layer(False, k=1, cin=20, cout=71, hw=4, into=m)
    _layer(False, k=1, cin=5, cout=6, hw=5, stride=2, seed=1, into=m)
    _layer(False, k=3, cin=3, cout=5, hw=5, seed=2, into=m)
    _layer(False, k=3, cin=3, cout=7, hw=6, dilation=2, seed=3, into=m)
    _layer(False, k=3, cin=56, cout=5, hw=3, seed=4, out_scale=4096.0, into=m)
    _layer(False, k=3, cin=4, cout=4, hw=4, bias_dtype=None, out_scale=2.0 ** 17, seed=5, into=m)
    # the Helium depthwise's prepared requantization: a quad and a tail channel; a shift >= 32
    _layer(True, k=3, cin=7, cout=7, hw=5, seed=6, into=m)
    return _layer(True, k=3, cin=4, cout=4, hw=4, bias_dtype=None, out_scale=2.0 ** 17, seed=7, into=m)


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_block_paths_exact_on_emulator(board: str, tmp_path: Path) -> None:
    """qemu-m55: the Helium block path; qemu-m4: the DSP path's prepared requantization (every
    layer but the 71-channel one, which keeps the per-output one)."""
    from edgegen.emulator import run_on_emulator

    model = helium_model()
    program = lower(parse_tflite(model, name="h"), name="h")
    assert [c.function for c in program.calls] == ["arm_convolve_wrapper_s16"] * 6 + [
        "arm_depthwise_conv_wrapper_s16"] * 2
    shifts = [15 - int(program.constant(c.shifts).data.min()) for c in program.calls
              if isinstance(c, Conv16Call)]
    assert max(shifts) >= 32 and min(shifts) < 32, shifts
    samples = _saturating_inputs(model)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, model, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * 8, report.mismatches[:1]
    result = build(model, tmp_path / "h", source="h.tflite", name="h", board=board, vectors=len(samples),
                   samples=samples)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True and run.result.vectors_passed == len(samples)
    assert not run.result.failures and run.exit_code == 0
