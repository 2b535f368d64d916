"""edgegen.fixedpoint: unit tests of the integer primitives, then the real proof: TFLM (the
tflite-micro package) run on Keras models converted to full int8, and on copies of them with
rewritten quantization, must give exactly what our tables and kernels give.

Needs TensorFlow (Keras 3 and the TFLite converter): imported at module level.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import flatbuffers
import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as fb
from hypothesis import given, settings
from hypothesis import strategies as st

from edgegen import fixedpoint as fx
from edgegen.ops.lut import leaky_relu_lut, logistic_lut, logistic_params, relu_lut, requantize_lut, tanh_lut
from edgegen.ops.reduce import MeanParams, mean_params, mean_s8
from edgegen.ops.softmax import SoftmaxParams, softmax_params, softmax_s8
from edgegen.oracle import TflmRunner

pytestmark = [
    pytest.mark.filterwarnings("ignore:Statistics for quantized inputs were expected:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning"),
]

I32 = st.integers(min_value=fx.INT32_MIN, max_value=fx.INT32_MAX)


# ------------------------------------------------------------------------------------------
# scalar references written straight from the C++ (Python ints, no numpy)
# ------------------------------------------------------------------------------------------


def _wrap(v: int) -> int:
    return ((v + (1 << 31)) % (1 << 32)) - (1 << 31)


def _ref_srdhm(a: int, b: int) -> int:
    if a == b == fx.INT32_MIN:
        return fx.INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    t = ab + nudge
    return t // (1 << 31) if t >= 0 else -((-t) // (1 << 31))  # C++ '/' truncates toward zero


def _ref_rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def _ref_mbqm(x: int, m: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return _ref_rdbpot(_ref_srdhm(_wrap(x * (1 << left)), m), right)


# ------------------------------------------------------------------------------------------
# unit tests
# ------------------------------------------------------------------------------------------


def test_quantize_multiplier_edge_cases() -> None:
    assert fx.quantize_multiplier(0.0) == (0, 0)
    assert fx.quantize_multiplier(1.0) == (1 << 30, 1)
    assert fx.quantize_multiplier(0.5) == (1 << 30, 0)
    assert fx.quantize_multiplier(0.75) == (3 << 29, 0)
    # just below 1: q * 2**31 rounds up to 2**31, which carries into the shift
    assert fx.quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 1)
    assert fx.quantize_multiplier(1.0 - 2.0**-30) == ((1 << 31) - 2, 0)
    # tiny: shift -31 is kept, anything below flushes to (0, 0)
    assert fx.quantize_multiplier(2.0**-32) == (1 << 30, -31)
    assert fx.quantize_multiplier(2.0**-33) == (0, 0)
    assert fx.quantize_multiplier(1e-12) == (0, 0)
    # huge
    assert fx.quantize_multiplier(2.0**40) == (1 << 30, 41)
    assert fx.quantize_multiplier(3.0e9) == (fx.round_half_away(3.0e9 / 2**32 * 2**31), 32)
    # negative (LEAKY_RELU with a negative alpha)
    assert fx.quantize_multiplier(-0.75) == (-(3 << 29), 0)
    # rounding is half away from zero: q = 0.5 + 2**-32 -> q * 2**31 = 2**30 + 0.5 -> 2**30 + 1
    assert fx.quantize_multiplier(0.5 + 2.0**-32) == ((1 << 30) + 1, 0)
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            fx.quantize_multiplier(bad)


def test_quantize_multiplier_variants() -> None:
    assert fx.quantize_multiplier_smaller_than_one_exp(0.25) == (1 << 30, -1)
    assert fx.quantize_multiplier_greater_than_one(6.0) == (3 << 29, 3)
    for bad in (0.0, 1.0, 1.5, -0.5):
        with pytest.raises(ValueError):
            fx.quantize_multiplier_smaller_than_one_exp(bad)
    for bad in (1.0, 0.5):
        with pytest.raises(ValueError):
            fx.quantize_multiplier_greater_than_one(bad)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False))
def test_quantize_multiplier_accuracy(real: float) -> None:
    m, shift = fx.quantize_multiplier(real)
    assert (1 << 30) <= m <= fx.INT32_MAX
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


def test_rounding_divide_by_pot_ties() -> None:
    cases = {(5, 1): 3, (-5, 1): -3, (3, 1): 2, (-3, 1): -2, (-1, 1): -1, (1, 1): 1,
             (-6, 2): -2, (-2, 2): -1, (2, 2): 1, (-1, 2): 0, (-10, 2): -3, (-9, 2): -2,
             (fx.INT32_MIN, 31): -1, (fx.INT32_MAX, 31): 1, (-7, 0): -7}
    x = np.array([k[0] for k in cases])
    e = np.array([k[1] for k in cases])
    assert fx.rounding_divide_by_pot(x, e).tolist() == list(cases.values())
    # scalar exponent broadcast
    assert fx.rounding_divide_by_pot(np.array([-3, -2, -1, 1, 2, 3]), 1).tolist() == [-2, -1, -1, 1, 1, 2]
    with pytest.raises(ValueError):
        fx.rounding_divide_by_pot(1, 32)


def test_saturating_rounding_doubling_high_mul_saturation() -> None:
    got = fx.saturating_rounding_doubling_high_mul(
        np.array([fx.INT32_MIN, fx.INT32_MIN, fx.INT32_MAX, 0, -1, 1 << 30]),
        np.array([fx.INT32_MIN, fx.INT32_MAX, fx.INT32_MAX, -5, 1, 1 << 30]))
    assert got.tolist() == [fx.INT32_MAX, -fx.INT32_MAX, fx.INT32_MAX - 1, 0, 0, 1 << 29]


@settings(max_examples=400, deadline=None)
@given(I32, I32, st.integers(min_value=0, max_value=31))
def test_primitives_match_scalar_reference(a: int, b: int, e: int) -> None:
    assert int(fx.saturating_rounding_doubling_high_mul(a, b)) == _ref_srdhm(a, b)
    assert int(fx.rounding_divide_by_pot(a, e)) == _ref_rdbpot(a, e)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(1 << 24), max_value=1 << 24), st.integers(min_value=0, max_value=fx.INT32_MAX),
       st.integers(min_value=-31, max_value=10))
def test_multiply_by_quantized_multiplier_matches_scalar_reference(x: int, m: int, shift: int) -> None:
    assert int(fx.multiply_by_quantized_multiplier(x, m, shift)) == _ref_mbqm(x, m, shift)


def test_multiply_by_quantized_multiplier_per_channel_broadcast() -> None:
    rng = np.random.default_rng(0)
    acc = rng.integers(-(1 << 20), 1 << 20, size=(2, 3, 4, 5))
    mult = rng.integers(1 << 30, (1 << 31) - 1, size=5)
    shift = rng.integers(-12, 3, size=5)
    got = fx.multiply_by_quantized_multiplier(acc, mult, shift)
    want = np.array([_ref_mbqm(int(v), int(mult[i % 5]), int(shift[i % 5])) for i, v in enumerate(acc.reshape(-1))])
    assert got.shape == acc.shape
    assert np.array_equal(got.reshape(-1), want)


def test_multiply_by_quantized_multiplier_variants() -> None:
    x = np.array([-1000, -3, 0, 7, 123456])
    m = 1518500250
    assert np.array_equal(fx.multiply_by_quantized_multiplier_smaller_than_one_exp(x, m, -3),
                          fx.multiply_by_quantized_multiplier(x, m, -3))
    assert np.array_equal(fx.multiply_by_quantized_multiplier_greater_than_one(x, m, 2),
                          fx.multiply_by_quantized_multiplier(x, m, 2))
    # the int64 overload reduces the multiplier to 16 bits: close to, not equal to, the int32 one
    big = np.array([1 << 40, -(1 << 40), 12345])
    got = fx.multiply_by_quantized_multiplier_int64(big, 1 << 30, -20)
    assert got.tolist() == [1 << 19, -(1 << 19), 0]


def test_gemmlowp_functions_accuracy() -> None:
    # Q5.26 inputs over [-32, 0]
    raw = -np.linspace(0, (1 << 31) - 1, 4001).astype(np.int64)
    e = fx.exp_on_negative_values(raw, 5) / 2.0**31
    assert np.max(np.abs(e - np.exp(raw / 2.0**26))) < 5e-7
    assert int(fx.exp_on_negative_values(0, 5)) == fx.INT32_MAX
    q0 = np.linspace(0, fx.INT32_MAX, 3001).astype(np.int64)
    r = fx.one_over_one_plus_x_for_x_in_0_1(q0) / 2.0**31
    assert np.max(np.abs(r - 1 / (1 + q0 / 2.0**31))) < 1e-8
    q4 = np.linspace(-(1 << 31), (1 << 31) - 1, 5001).astype(np.int64)  # Q4.27 over [-16, 16)
    assert np.max(np.abs(fx.logistic(q4, 4) / 2.0**31 - 1 / (1 + np.exp(-q4 / 2.0**27)))) < 1e-6
    assert np.max(np.abs(fx.tanh(q4, 4) / 2.0**31 - np.tanh(q4 / 2.0**27))) < 1e-6
    assert int(fx.logistic(0, 4)) == 1 << 30 and int(fx.tanh(0, 4)) == 0


def test_param_builders_refuse_what_tflm_refuses() -> None:
    with pytest.raises(ValueError):
        softmax_params(0.1, 1.0, output_scale=1 / 128)
    with pytest.raises(ValueError):
        softmax_params(0.1, 1.0, output_zero_point=0)
    with pytest.raises(ValueError):  # beta * scale * 2**26 <= 1: TFLM aborts in Prepare
        softmax_params(1e-9, 1.0)
    with pytest.raises(ValueError):
        logistic_lut(0.1, 0, output_scale=1 / 128, output_zero_point=-128)
    with pytest.raises(ValueError):
        tanh_lut(0.1, 0, output_scale=1 / 128, output_zero_point=-128)
    with pytest.raises(ValueError):
        relu_lut("relu7", 0.1, 0, 0.1, 0)
    with pytest.raises(ValueError):
        mean_params(0.1, 0, 0.1, 0, 0)


def test_softmax_params_known_values() -> None:
    p = softmax_params(1 / 16, 1.0)
    # 2**-4 * 2**26 = 2**22 -> multiplier 2**30, shift 23; radius floor(31 * 2**26 / 2**23) = 248
    assert p == SoftmaxParams(input_multiplier=1 << 30, input_left_shift=23, diff_min=-248)
    assert fx.calculate_input_radius(5, 23) == 248
    assert fx.calculate_input_radius(4, 27, 31) == 15


def test_mean_params_folds_count() -> None:
    p = mean_params(0.5, 3, 0.25, -2, 1)
    assert p == MeanParams(sum_offset=-3, multiplier=1 << 30, shift=2, output_offset=-2)
    p = mean_params(0.5, 3, 0.5, 3, 12)  # 1/12: shift_n = 3, (2**30 << 3) // 12
    assert p == MeanParams(sum_offset=-36, multiplier=(1 << 33) // 12, shift=1 - 3, output_offset=3)
    x = np.full((1, 12, 2), 9, dtype=np.int8)
    assert mean_s8(x, p).tolist() == [[9, 9]]


def test_quantize_dequantize_rounding() -> None:
    x = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997, 1e30, -1e30, np.nan, np.inf],
                 dtype=np.float32)
    assert fx.quantize_f32_s8(x, 1.0, 0).tolist() == [1, -1, 2, -2, 3, -3, 0, 0, 127, -128, 0, 127]
    assert fx.quantize_f32_s8(np.float32([0.0, 1.0]), 0.5, -128).tolist() == [-128, -126]
    q = np.array([-128, 0, 127], dtype=np.int8)
    d = fx.dequantize_s8_f32(q, 0.1, 5)
    assert d.dtype == np.float32
    assert d.tolist() == [np.float32(float(np.float32(0.1)) * v) for v in (-133, -5, 122)]


def test_relu6_is_a_clamp_of_the_raw_input() -> None:
    lut = relu_lut("relu6", 0.05, -10, 0.9, 33)  # output params are ignored, as in TFLM
    x = np.arange(-128, 128)
    assert lut.tolist() == np.clip(x, -10, 110).tolist()  # six = round(6 / 0.05) - 10 = 110


# ------------------------------------------------------------------------------------------
# TFLM proof
# ------------------------------------------------------------------------------------------

_OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
LUT_KINDS = ("sigmoid", "tanh", "leaky", "relu", "relu6")
BRANCHES = 10


def _random_range(rng: np.random.Generator) -> tuple[float, float]:
    a, b = 10 ** rng.uniform(-2.5, 1.5), 10 ** rng.uniform(-2.5, 1.5)
    kind = int(rng.integers(4))
    return ((0.0, a), (-a, 0.0), (-a, b), (-a, b))[kind]


def _convert(model: Any, ranges: list[tuple[float, float]], rng: np.random.Generator, int8_io: bool) -> bytes:
    inputs = list(model.inputs)

    def rep() -> Iterator[dict[str, np.ndarray]]:
        for s in range(4):
            batch = {}
            for i, (lo, hi) in zip(inputs, ranges, strict=True):
                shape = (1, *tuple(i.shape[1:]))
                v = np.where(rng.random(shape) < 0.5, lo, hi) if s == 0 else rng.uniform(lo, hi, shape)
                batch[i.name] = v.astype(np.float32)
            yield batch

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


@pytest.fixture(scope="module")
def keras_int8_model() -> bytes:
    """One model, 70 independent branches: 10 each of sigmoid, tanh, LeakyReLU (random alpha),
    ReLU, ReLU6, Softmax (random depth) and GlobalAveragePooling2D (random H, W, C), each fed by
    its own int8 input calibrated on its own random range."""
    rng = np.random.default_rng(20240611)
    ins, outs, ranges = [], [], []
    for kind in (*LUT_KINDS, "softmax", "gap"):
        for j in range(BRANCHES):
            if kind == "softmax":
                shape: tuple[int, ...] = (int(rng.integers(2, 40)),)
            elif kind == "gap":
                shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 9)))
            else:
                shape = (256,)
            x = keras.Input(shape=shape, name=f"{kind}{j}")
            layer: Callable[[Any], Any] = {
                "sigmoid": lambda: keras.layers.Activation("sigmoid"),
                "tanh": lambda: keras.layers.Activation("tanh"),
                "leaky": lambda: keras.layers.LeakyReLU(negative_slope=float(rng.uniform(0.01, 0.9))),
                "relu": lambda: keras.layers.ReLU(),
                "relu6": lambda: keras.layers.ReLU(max_value=6.0),
                "softmax": lambda: keras.layers.Softmax(),
                "gap": lambda: keras.layers.GlobalAveragePooling2D(),
            }[kind]()
            ins.append(x)
            outs.append(layer(x))
            ranges.append(_random_range(rng))
    return _convert(keras.Model(ins, outs), ranges, rng, int8_io=True)


@pytest.fixture(scope="module")
def keras_float_io_model() -> bytes:
    """float32 in and out around a ReLU: the converter adds QUANTIZE (float -> int8) and
    DEQUANTIZE; 10 branches with random calibration ranges."""
    rng = np.random.default_rng(7)
    ins, outs, ranges = [], [], []
    for j in range(BRANCHES):
        x = keras.Input(shape=(64,), name=f"f{j}")
        ins.append(x)
        outs.append(keras.layers.ReLU()(x))
        ranges.append(_random_range(rng))
    return _convert(keras.Model(ins, outs), ranges, rng, int8_io=False)


def _qp(sg: Any, t: int) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor; (nan, 0) for a float tensor."""
    q = sg.Tensors(t).Quantization()
    if q is None or q.ScaleLength() == 0:
        return math.nan, 0
    return float(q.ScaleAsNumpy()[0]), int(q.ZeroPointAsNumpy()[0])


def _lut_apply(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    assert table.dtype == np.int8 and table.shape == (256,)
    return table[x.astype(np.int64) + 128]


def _expected(name: str, op: Any, sg: Any, x: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    (si, zi), (so, zo) = _qp(sg, int(op.Inputs(0))), _qp(sg, int(op.Outputs(0)))
    if name == "LOGISTIC":
        return _lut_apply(logistic_lut(si, zi, output_scale=so, output_zero_point=zo), x)
    if name == "TANH":
        return _lut_apply(tanh_lut(si, zi, output_scale=so, output_zero_point=zo), x)
    if name == "LEAKY_RELU":
        opts = fb.LeakyReluOptions()
        t = op.BuiltinOptions()
        opts.Init(t.Bytes, t.Pos)
        return _lut_apply(leaky_relu_lut(si, zi, so, zo, opts.Alpha()), x)
    if name in ("RELU", "RELU6"):
        return _lut_apply(relu_lut(name.lower(), si, zi, so, zo), x)
    if name == "QUANTIZE":
        if x.dtype == np.float32:
            return fx.quantize_f32_s8(x, so, zo)
        return _lut_apply(requantize_lut(si, zi, so, zo), x)
    if name == "DEQUANTIZE":
        return fx.dequantize_s8_f32(x, si, zi)
    if name == "SOFTMAX":
        opts = fb.SoftmaxOptions()
        t = op.BuiltinOptions()
        opts.Init(t.Bytes, t.Pos)
        return softmax_s8(x, softmax_params(si, opts.Beta(), output_scale=so, output_zero_point=zo))
    if name == "MEAN":
        n, h, w, c = x.shape
        p = mean_params(si, zi, so, zo, h * w)
        return mean_s8(x.reshape(n, h * w, c), p).reshape(out_shape)
    raise AssertionError(f"unexpected op {name}")


def _feeds(model: bytes, runs: int, seed: int) -> list[list[np.ndarray]]:
    """Per run, every (1, 256) int8 input gets all 256 values; other inputs random."""
    m = fb.Model.GetRootAs(model, 0)
    sg = m.Subgraphs(0)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        feed = []
        for t in sg.InputsAsNumpy():
            tensor = sg.Tensors(int(t))
            shape = tuple(int(s) for s in tensor.ShapeAsNumpy())
            if tensor.Type() == fb.TensorType.FLOAT32:
                lo, hi = -20.0, 20.0
                v = rng.uniform(lo, hi, shape).astype(np.float32)
                v.reshape(-1)[:8] = [0.0, -0.0, 1e-30, -1e-30, 1e4, -1e4, 0.5, -0.5]
                feed.append(v)
            elif shape == (1, 256):
                feed.append(np.arange(-128, 128, dtype=np.int8).reshape(shape))
            else:
                feed.append(rng.integers(-128, 128, shape).astype(np.int8))
        out.append(feed)
    return out


def _check_against_tflm(model: bytes, runs: int = 4, seed: int = 0) -> Counter[str]:
    """Every op's output in TFLM == our kernel on TFLM's own input to that op; returns how many
    distinct ops of each kind were checked."""
    m = fb.Model.GetRootAs(model, 0)
    sg = m.Subgraphs(0)
    runner = TflmRunner(model)
    results = [runner.run(f) for f in _feeds(model, runs, seed)]
    checked: Counter[str] = Counter()
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        code = m.OperatorCodes(op.OpcodeIndex())
        name = _OP_NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ti, to = int(op.Inputs(0)), int(op.Outputs(0))
        for r in results:
            x, y = r.tensors[ti], r.tensors[to]
            got = np.asarray(_expected(name, op, sg, x, y.shape)).reshape(y.shape)
            assert got.dtype == y.dtype, (name, got.dtype, y.dtype)
            bad = np.argwhere(got != y)
            assert bad.size == 0, (f"{name} op {k} with (in, out) quantization {_qp(sg, ti)}, {_qp(sg, to)}: "
                                   f"{len(bad)} mismatches, first at {bad[0].tolist()}: "
                                   f"ours {got[tuple(bad[0])]} TFLM {y[tuple(bad[0])]}")
        checked[name] += 1
    return checked


def test_keras_int8_ops_match_tflm(keras_int8_model: bytes) -> None:
    checked = _check_against_tflm(keras_int8_model)
    assert checked == Counter({n: BRANCHES for n in
                               ("LOGISTIC", "TANH", "LEAKY_RELU", "RELU", "RELU6", "SOFTMAX", "MEAN")})


def test_keras_float_io_quantize_dequantize_match_tflm(keras_float_io_model: bytes) -> None:
    checked = _check_against_tflm(keras_float_io_model, runs=3)
    assert checked["QUANTIZE"] == BRANCHES and checked["DEQUANTIZE"] == BRANCHES and checked["RELU"] == BRANCHES


def _mutate(model: bytes, seed: int, wide: bool) -> bytes:
    """Rewrite every op's quantization at random (TFLM only reads it at Prepare): input scale and
    zero point always; output ones where the op allows it; LEAKY_RELU alpha (also negative),
    SOFTMAX beta; and half the RELUs become QUANTIZE int8 -> int8.

    ``wide`` also forces corners into the first ops of each kind: LOGISTIC / TANH input scales
    below 4e-9 (a negative input shift) and requantization ratios above 2**31 (shift counts of
    32 and more), where TFLM's C++ relies on x86 shift behaviour."""
    rng = np.random.default_rng(seed)
    mt = fb.ModelT.InitFromObj(fb.Model.GetRootAs(model, 0))
    sg = mt.subgraphs[0]
    qc = fb.OperatorCodeT()
    qc.builtinCode = qc.deprecatedBuiltinCode = fb.BuiltinOperator.QUANTIZE
    qc.version = 1
    mt.operatorCodes.append(qc)
    q_index = len(mt.operatorCodes) - 1
    lo, hi = (-9.0, 4.0) if wide else (-4.0, 1.5)

    def scale() -> float:
        return float(np.float32(10 ** rng.uniform(lo, hi)))

    def setq(t: int, s: float, z: int) -> None:
        q = sg.tensors[t].quantization
        q.scale, q.zeroPoint = [s], [z]

    seen: Counter[str] = Counter()
    for op in sg.operators:
        code = mt.operatorCodes[op.opcodeIndex]
        name = _OP_NAMES[max(code.builtinCode, code.deprecatedBuiltinCode)]
        ti, to = op.inputs[0], op.outputs[0]
        seen[name] += 1
        corner = wide and seen[name] <= 2
        setq(ti, scale(), int(rng.integers(-128, 128)))
        if name in ("LEAKY_RELU", "RELU", "RELU6", "MEAN"):
            setq(to, scale(), int(rng.integers(-128, 128)))
        if corner and name in ("LOGISTIC", "TANH"):
            setq(ti, float(np.float32(10 ** rng.uniform(-9.5, -8.5))), int(rng.integers(-128, 128)))
        if corner and name in ("LEAKY_RELU", "RELU", "MEAN"):
            setq(ti, float(np.float32(10 ** rng.uniform(2, 3))), int(rng.integers(-128, 128)))
            setq(to, float(np.float32(10 ** rng.uniform(-9, -8))), int(rng.integers(-128, 128)))
        if name == "RELU" and rng.random() < 0.5:
            op.opcodeIndex, op.builtinOptionsType, op.builtinOptions = q_index, 0, None
        if name == "LEAKY_RELU":
            op.builtinOptions.alpha = float(rng.uniform(-2, 2) if rng.random() < 0.3 else rng.uniform(0, 1))
        if name == "SOFTMAX":
            s_in = sg.tensors[ti].quantization.scale[0]
            while True:  # TFLM aborts unless beta * scale * 2**26 > 1
                beta = float(np.float32(10 ** rng.uniform(-3, 3)))
                if beta * s_in * 2.0**26 > 1.0:
                    break
            op.builtinOptions.beta = beta
    b = flatbuffers.Builder(0)
    b.Finish(mt.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize(("seed", "wide"), [(1, False), (2, False), (3, False), (11, True), (12, True)])
def test_rewritten_quantizations_match_tflm(keras_int8_model: bytes, seed: int, wide: bool) -> None:
    """Random scales, zero points, alphas and betas; ``wide`` adds scales from 1e-9 to 1e4 and the
    corners listed in :func:`_mutate`."""
    model = _mutate(keras_int8_model, seed, wide)
    if wide:
        m = fb.Model.GetRootAs(model, 0)
        sg = m.Subgraphs(0)
        corners = Counter()
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            code = m.OperatorCodes(op.OpcodeIndex())
            name = _OP_NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            (si, _), (so, _) = _qp(sg, int(op.Inputs(0))), _qp(sg, int(op.Outputs(0)))
            if name in ("LOGISTIC", "TANH") and logistic_params(si, 0).input_left_shift < 0:
                corners["negative input shift"] += 1
            if name in ("LEAKY_RELU", "RELU", "QUANTIZE", "MEAN") and fx.quantize_multiplier(si / so)[1] >= 32:
                corners["shift >= 32"] += 1
        assert corners["negative input shift"] >= 4 and corners["shift >= 32"] >= 4, corners
    checked = _check_against_tflm(model, runs=2, seed=seed)
    assert checked["QUANTIZE"] >= 1 and sum(checked.values()) == 7 * BRANCHES


def test_relu_n1_to_1_matches_tflite_reference(keras_int8_model: bytes) -> None:
    """TFLM has no RELU_N1_TO_1 kernel; ours follows TFLite's (reference and optimized agree)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    rng = np.random.default_rng(5)
    mt = fb.ModelT.InitFromObj(fb.Model.GetRootAs(keras_int8_model, 0))
    sg = mt.subgraphs[0]
    rc = fb.OperatorCodeT()
    rc.builtinCode = rc.deprecatedBuiltinCode = fb.BuiltinOperator.RELU_N1_TO_1
    rc.version = 1
    mt.operatorCodes.append(rc)
    targets = []
    for op in sg.operators:
        code = mt.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == fb.BuiltinOperator.RELU:
            op.opcodeIndex = len(mt.operatorCodes) - 1
            qi, qo = sg.tensors[op.inputs[0]].quantization, sg.tensors[op.outputs[0]].quantization
            qi.scale = [float(np.float32(10 ** rng.uniform(-3, 0)))]
            qo.scale = [float(np.float32(10 ** rng.uniform(-3, -1)))]
            qo.zeroPoint = [int(rng.integers(-128, 128))]
            targets.append((op.outputs[0], qi.scale[0], qi.zeroPoint[0], qo.scale[0], qo.zeroPoint[0]))
    b = flatbuffers.Builder(0)
    b.Finish(mt.Pack(b), file_identifier=b"TFL3")
    interp = Interpreter(model_content=bytes(b.Output()), experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        shape = tuple(d["shape"])
        interp.set_tensor(d["index"], np.arange(-128, 128, dtype=np.int8).reshape(shape) if shape == (1, 256)
                          else np.zeros(shape, np.int8))
    interp.invoke()
    assert len(targets) == BRANCHES
    for out, si, zi, so, zo in targets:
        assert np.array_equal(relu_lut("relu_n1_to_1", si, zi, so, zo), interp.get_tensor(out).reshape(-1))
