"""The integer arithmetic of TFLite Micro, in numpy, bit for bit.

Everything here mirrors a named function of TFLM (``tensorflow/lite/kernels/internal`` and
``tensorflow/lite/micro/kernels``), of gemmlowp's ``fixedpoint/fixedpoint.h`` or of CMSIS-NN.
TFLM is built without ``TFLITE_SINGLE_ROUNDING``, so ``MultiplyByQuantizedMultiplier`` is the
double-rounding form (a saturating rounding doubling high multiply, then a rounding right shift),
which is also CMSIS-NN's default ``arm_nn_requantize``.

Conventions:

* Integer arrays are numpy ``int64`` arrays holding int32 values. Where the C++ does int32
  arithmetic that may overflow (in practice it wraps), the result is wrapped to int32 here with
  :func:`wrap_int32`; where gemmlowp saturates, this saturates.
* Scales arrive as Python floats but TFLite stores them as float32: every function that mirrors a
  ``Prepare`` first rounds them to float32, then does exactly the float or double arithmetic the
  C++ does (``float / float`` stays float32 here too; ``static_cast<double>`` becomes a Python
  float).
* Rounding: ``TfLiteRound`` is ``std::round`` (half away from zero), never numpy's half-to-even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
IntLike = npt.ArrayLike

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT8_MIN = -128
INT8_MAX = 127

# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def _i64(x: IntLike) -> IntArray:
    return np.asarray(x, dtype=np.int64)


def _f32(x: float) -> float:
    """A Python float holding the float32 value TFLite stores for ``x``."""
    return float(np.float32(x))


def wrap_int32(x: IntLike) -> IntArray:
    """Two's-complement wraparound of int64 values to the int32 range (what int32 overflow does)."""
    a = _i64(x)
    return ((a + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def round_half_away(x: float) -> int:
    """``std::round`` on a double, exactly (no ``x + 0.5`` rounding trap)."""
    if not math.isfinite(x):
        raise ValueError(f"cannot round {x!r} to an integer")
    a = abs(x)
    f = math.floor(a)
    r = f + (1 if a - f >= 0.5 else 0)
    return int(-r if x < 0 else r)


def _round_half_away_f32(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``roundf`` elementwise on float32 (``v - trunc(v)`` is exact in float32)."""
    with np.errstate(invalid="ignore"):  # inf - inf: the inf passes through unchanged anyway
        t = np.trunc(v)
        frac = v - t
        bump = np.where(np.abs(frac) >= np.float32(0.5), np.sign(v), np.float32(0)).astype(np.float32)
        return (t + bump).astype(np.float32)


def _int32_pow2(shift: IntLike) -> IntArray:
    """``1 << shift`` as the C++ evaluates it in int: x86-64 masks the shift count to 5 bits
    (a count of 32 or more is undefined behaviour in C++), and ``1 << 31`` is INT32_MIN.

    Counts of 32 and more only arise from scale ratios above 2**31; masking reproduces what the
    tflite-micro package does on the host there.
    """
    return wrap_int32(np.int64(1) << (_i64(shift) & 31))


def count_leading_zeros32(x: IntLike) -> IntArray:
    """``CountLeadingZeros(static_cast<uint32_t>(x))``; 32 for zero."""
    u = _i64(x) & 0xFFFFFFFF
    _, e = np.frexp(u.astype(np.float64))  # exact: u < 2**53; e == bit length for u > 0
    return np.where(u == 0, 32, 32 - e).astype(np.int64)


# ------------------------------------------------------------------------------------------
# quantization_util.cc
# ------------------------------------------------------------------------------------------


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier`` (double-rounding build): ``real ~= m * 2**(shift - 31)``.

    frexp, round half away from zero of ``q * 2**31``, the ``q_fixed == 2**31`` carry into the
    shift, and shifts below -31 flushed to ``(0, 0)``. Negative reals give negative multipliers,
    as in C++ (only LEAKY_RELU's alpha uses that).
    """
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise ValueError(f"QuantizeMultiplier of a non-finite value {real!r}")
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * float(1 << 31))
    if q_fixed > (1 << 31):  # TFLITE_CHECK
        raise ValueError(f"QuantizeMultiplier({real!r}): q_fixed out of range")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if q_fixed > INT32_MAX:  # TFLITE_CHECK_LE
        raise ValueError(f"QuantizeMultiplier({real!r}): q_fixed out of range")
    if shift < -31:
        shift = 0
        q_fixed = 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierSmallerThanOneExp``: needs 0 < real < 1; returns (m, shift <= 0)."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"QuantizeMultiplierSmallerThanOneExp needs 0 < x < 1, got {real!r}")
    m, shift = quantize_multiplier(real)
    if shift > 0:
        raise ValueError(f"QuantizeMultiplierSmallerThanOneExp({real!r}) gave shift {shift} > 0")
    return m, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierGreaterThanOne``: needs real > 1; returns (m, left_shift >= 0)."""
    if not real > 1.0:
        raise ValueError(f"QuantizeMultiplierGreaterThanOne needs x > 1, got {real!r}")
    m, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError(f"QuantizeMultiplierGreaterThanOne({real!r}) gave shift {shift} < 0")
    return m, shift


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """TFLite ``PreprocessSoftmaxScaling`` (double-rounding build): (multiplier, left_shift).

    ``min(beta * input_scale * 2**(31 - input_integer_bits), 2**31 - 1)`` in double, then
    ``QuantizeMultiplierGreaterThanOne``. ``beta`` and ``input_scale`` are used as given (callers
    pass the float32 values widened to double, as TFLM does).
    """
    max_real_multiplier = float((1 << 31) - 1)
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)), max_real_multiplier)
    return quantize_multiplier_greater_than_one(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite ``CalculateInputRadius``: ``floor((2**ib - 1) * 2**(total - ib) / 2**left_shift)``.

    The divisor is ``1LL << input_left_shift``; for a negative shift (LOGISTIC/TANH input scales
    below ~4e-9) that is undefined in C++ and x86-64 masks the count to 6 bits, which is mirrored.
    """
    numerator = float((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
    divisor = ((1 << (input_left_shift & 63)) + (1 << 63)) % (1 << 64) - (1 << 63)  # int64 wrap
    return math.floor(numerator / float(divisor))


# ------------------------------------------------------------------------------------------
# gemmlowp scalar primitives, vectorized (int32 raw values in int64 arrays)
# ------------------------------------------------------------------------------------------


def saturating_rounding_doubling_high_mul(a: IntLike, b: IntLike) -> IntArray:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` (VQRDMULH): round(a*b / 2**31), saturated.

    The only overflowing case, ``INT32_MIN * INT32_MIN``, gives ``INT32_MAX``. The C++ divides by
    2**31 with truncation toward zero after adding a sign-dependent nudge; so does this.
    """
    a64, b64 = _i64(a), _i64(b)
    ab = a64 * b64  # |ab| <= 2**62: no int64 overflow
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    t = ab + nudge
    q = np.where(t >= 0, t >> 31, -((-t) >> 31))  # C++ '/' truncates toward zero
    overflow = (a64 == b64) & (a64 == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), q).astype(np.int64)


def rounding_divide_by_pot(x: IntLike, exponent: IntLike) -> IntArray:
    """gemmlowp ``RoundingDivideByPOT``: x / 2**exponent rounded to nearest, ties away from zero.

    ``exponent`` in [0, 31], scalar or an array broadcast against ``x``.
    """
    x64, e = _i64(x), _i64(exponent)
    if np.any(e < 0) or np.any(e > 31):
        raise ValueError("RoundingDivideByPOT exponent must be in [0, 31]")
    mask = (np.int64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0).astype(np.int64)
    return ((x64 >> e) + (remainder > threshold).astype(np.int64)).astype(np.int64)


def saturating_rounding_multiply_by_pot(x: IntLike, exponent: int) -> IntArray:
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>`` on int32: saturating left shift for
    a positive exponent, :func:`rounding_divide_by_pot` for a negative one."""
    x64 = _i64(x)
    if exponent == 0:
        return x64.copy()
    if exponent < 0:
        return rounding_divide_by_pot(x64, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = np.clip(x64 * (1 << exponent), INT32_MIN, INT32_MAX)
    out = np.where(x64 > threshold, np.int64(INT32_MAX), shifted)
    return np.where(x64 < -threshold, np.int64(INT32_MIN), out).astype(np.int64)


def rounding_half_sum(a: IntLike, b: IntLike) -> IntArray:
    """gemmlowp ``RoundingHalfSum`` for int32: (a + b + sign) / 2, truncating."""
    s = _i64(a) + _i64(b)
    t = s + np.where(s >= 0, np.int64(1), np.int64(-1))
    return np.where(t >= 0, t // 2, -((-t) // 2)).astype(np.int64)


def rescale(x: IntLike, src_integer_bits: int, dst_integer_bits: int) -> IntArray:
    """gemmlowp ``Rescale<dst>`` of a ``FixedPoint<int32, src>`` raw value."""
    return saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)


# ------------------------------------------------------------------------------------------
# common.h: MultiplyByQuantizedMultiplier and friends (double rounding)
# ------------------------------------------------------------------------------------------


def multiply_by_quantized_multiplier(x: IntLike, multiplier: IntLike, shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplier(int32_t x, int32_t m, int shift)``, double rounding.

    ``x * 2**max(shift, 0)`` in int32 (wrapping, as the C++ does in practice), then
    :func:`saturating_rounding_doubling_high_mul`, then :func:`rounding_divide_by_pot` by
    ``max(-shift, 0)``. ``multiplier`` and ``shift`` may be per-channel arrays broadcast against
    ``x`` (e.g. shape ``(C,)`` against ``(..., C)``). This is also CMSIS-NN's
    ``arm_nn_requantize`` (default build).
    """
    x64, m, s = _i64(x), _i64(multiplier), _i64(shift)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    scaled = wrap_int32(x64 * _int32_pow2(left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, m), right)


def multiply_by_quantized_multiplier_int64(x: IntLike, multiplier: IntLike, shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplier(int64_t x, int32_t m, int shift)`` (double-rounding build).

    The multiplier is reduced to 16 bits (``(m + 2**15) >> 16``, or 0x7FFF near the top), then
    ``(x * reduced + 2**(total_shift - 1)) >> total_shift`` with ``total_shift = 15 - shift`` and a
    truncating cast to int32. Used by int16 kernels with int64 accumulators and REDUCE_PROD;
    int8 MEAN does *not* use it (its accumulator is int32, see :func:`mean_s8`).
    """
    x64, m, s = _i64(x), _i64(multiplier), _i64(shift)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, np.int64(0x7FFF))
    total_shift = 15 - s
    acc = x64 * reduced + (np.int64(1) << (total_shift - 1))
    return wrap_int32(acc >> total_shift)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x: IntLike, multiplier: IntLike,
                                                          left_shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplierSmallerThanOneExp`` (left_shift <= 0)."""
    s = _i64(left_shift)
    if np.any(s > 0):
        raise ValueError("left_shift must be <= 0")
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -s)


def multiply_by_quantized_multiplier_greater_than_one(x: IntLike, multiplier: IntLike,
                                                      left_shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplierGreaterThanOne`` (left_shift >= 0), int32 wrap on the shift."""
    s = _i64(left_shift)
    if np.any(s < 0):
        raise ValueError("left_shift must be >= 0")
    return saturating_rounding_doubling_high_mul(wrap_int32(_i64(x) * _int32_pow2(s)), multiplier)


# ------------------------------------------------------------------------------------------
# gemmlowp transcendental functions on FixedPoint<int32, IntegerBits> raw values
# ------------------------------------------------------------------------------------------

_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: IntLike) -> IntArray:
    """gemmlowp ``exp_on_interval_between_negative_one_quarter_and_0_excl`` (Q0.31 in, Q0.31 out)."""
    constant_term = 1895147668  # exp(-1/8)
    constant_1_over_3 = 715827883
    srdhm = saturating_rounding_doubling_high_mul
    x = wrap_int32(_i64(a) + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap_int32(srdhm(wrap_int32(x4_over_4 + x3), constant_1_over_3) + x2), 1)
    return wrap_int32(constant_term + srdhm(constant_term, wrap_int32(x + poly)))


def exp_on_negative_values(a: IntLike, integer_bits: int) -> IntArray:
    """gemmlowp ``exp_on_negative_values`` of a ``FixedPoint<int32, integer_bits>``; Q0.31 result."""
    a64 = _i64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap_int32((a64 & mask) - one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a64)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0, saturating_rounding_doubling_high_mul(result, multiplier),
                              result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        result = np.where(a64 < clamp, np.int64(0), result)
    return np.where(a64 == 0, np.int64(INT32_MAX), result).astype(np.int64)


def _newton_reciprocal_f2(half_denominator: IntArray) -> IntArray:
    """The three Newton-Raphson steps shared by gemmlowp's two x-in-(0,1) dividers; Q2.29 result."""
    srdhm = saturating_rounding_doubling_high_mul
    f2_one = 1 << 29
    x = wrap_int32(1515870810 + srdhm(half_denominator, -1010580540))  # 48/17 - 32/17 * d
    for _ in range(3):
        half_denominator_times_x = srdhm(half_denominator, x)
        one_minus = wrap_int32(f2_one - half_denominator_times_x)
        x = wrap_int32(x + rescale(srdhm(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: IntLike) -> IntArray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` (Q0.31 in and out)."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _newton_reciprocal_f2(half_denominator)
    return rescale(x, 1, 0)  # ExactMulByPot<-1> turns Q2 into Q1, then Rescale<0>


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: IntLike) -> IntArray:
    """gemmlowp ``one_minus_x_over_one_plus_x_for_x_in_0_1`` (Q0.31 in and out)."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _newton_reciprocal_f2(half_denominator)
    return rescale(wrap_int32(x - (1 << 29)), 2, 0)


def logistic(a: IntLike, integer_bits: int) -> IntArray:
    """gemmlowp ``logistic`` of a ``FixedPoint<int32, integer_bits>``; Q0.31 result."""
    a64 = _i64(a)
    positive = a64 > 0
    abs_input = np.where(positive, a64, wrap_int32(-a64))
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int32(-abs_input),
                                                                                  integer_bits))
    result_if_negative = wrap_int32(INT32_MAX - result_if_positive)
    out = np.where(positive, result_if_positive, result_if_negative)
    return np.where(a64 == 0, np.int64(1 << 30), out).astype(np.int64)


def tanh(a: IntLike, integer_bits: int) -> IntArray:
    """gemmlowp ``tanh`` of a ``FixedPoint<int32, integer_bits>``; Q0.31 result."""
    a64 = _i64(a)
    negative = a64 < 0
    n = np.where(negative, a64, wrap_int32(-a64))
    # neg_tanh_on_negative_values: ExactMulByPot<1> keeps the raw value, adds an integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    out = np.where(negative, wrap_int32(-t), t)
    return np.where(a64 == 0, np.int64(0), out).astype(np.int64)


def get_reciprocal(x: IntLike, x_integer_digits: int) -> tuple[IntArray, IntArray]:
    """TFLM ``GetReciprocal``: (Q0.31 reciprocal of the normalized x, num_bits_over_unit)."""
    x64 = _i64(x)
    headroom_plus_one = count_leading_zeros32(x64)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x64 & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# ------------------------------------------------------------------------------------------
# SOFTMAX (int8 -> int8)
# ------------------------------------------------------------------------------------------

_SCALED_DIFF_INTEGER_BITS = 5
_ACCUMULATION_INTEGER_BITS = 12


@dataclass(frozen=True)
class SoftmaxParams:
    """Exactly the three integers TFLM's CMSIS-NN glue passes to ``arm_softmax_s8`` as
    ``mult``, ``shift`` and ``diff_min`` (its ``SoftmaxParams.input_multiplier``,
    ``.input_left_shift`` and ``.diff_min``); the reference kernel uses the same three."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def softmax_params(input_scale: float, beta: float, *, output_scale: float = 1.0 / 256,
                   output_zero_point: int = -128) -> SoftmaxParams:
    """TFLM ``CalculateSoftmaxParams`` (softmax_common.cc) for int8 input and int8 output.

    TFLM requires the output to have zero point -128 and scale exactly ``1.f / 256``; anything else
    is a ValueError here. ``PreprocessSoftmaxScaling(beta, input_scale, 5)`` gives the multiplier
    and left shift; ``diff_min = -CalculateInputRadius(5, left_shift)``.
    """
    if output_zero_point != -128:
        raise ValueError(f"int8 SOFTMAX needs output zero point -128 (TFLM), got {output_zero_point}")
    if np.float32(output_scale) != np.float32(1.0 / 256):
        raise ValueError(f"int8 SOFTMAX needs output scale 1/256 (TFLM), got {output_scale!r}")
    mult, shift = preprocess_softmax_scaling(_f32(beta), _f32(input_scale), _SCALED_DIFF_INTEGER_BITS)
    diff_min = -calculate_input_radius(_SCALED_DIFF_INTEGER_BITS, shift)
    return SoftmaxParams(input_multiplier=mult, input_left_shift=shift, diff_min=diff_min)


def softmax_s8(x: npt.ArrayLike, p: SoftmaxParams) -> Int8Array:
    """TFLM ``reference_ops::Softmax<int8_t, int8_t>`` over the last axis.

    Also CMSIS-NN ``arm_softmax_s8`` (``arm_nn_softmax_common_s8``): same operations in the same
    order (``DIV_POW2(EXP_ON_NEG(MUL_SAT(diff * (1 << shift), mult)), 12)`` summed, the same
    reciprocal, ``bits_over_unit = 12 - clz(sum) + 23``). ``x`` is int8 ``(rows, depth)`` or any
    shape whose last axis is the softmax axis; the result has the same shape.
    """
    xa = np.asarray(x)
    shape = xa.shape
    rows = _i64(xa).reshape(-1, shape[-1] if shape else 1)
    srdhm = saturating_rounding_doubling_high_mul
    diff = rows - rows.max(axis=1, keepdims=True)
    valid = diff >= p.diff_min
    rescaled = srdhm(wrap_int32(diff * _int32_pow2(p.input_left_shift)), p.input_multiplier)
    exp = exp_on_negative_values(rescaled, _SCALED_DIFF_INTEGER_BITS)
    terms = rescale(exp, 0, _ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap_int32(np.where(valid, terms, 0).sum(axis=1, keepdims=True))
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, _ACCUMULATION_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    if np.any(exponent < 0) or np.any(exponent > 31):  # TFLITE_CHECK in the kernel
        raise ValueError("softmax: exponent out of [0, 31]")
    unsat = rounding_divide_by_pot(srdhm(shifted_scale, exp), exponent)
    out = np.clip(unsat + INT8_MIN, INT8_MIN, INT8_MAX)
    out = np.where(valid, out, INT8_MIN)
    return out.astype(np.int8).reshape(shape)


# ------------------------------------------------------------------------------------------
# LOGISTIC and TANH (int8), and their 256-entry tables
# ------------------------------------------------------------------------------------------

_ALL_INT8 = np.arange(-128, 128, dtype=np.int64)


@dataclass(frozen=True)
class SigmoidTanhParams:
    """TFLM's int8 LOGISTIC / TANH op data (``OpDataLogistic`` / tanh.cc ``OpData``)."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


def _sigmoid_tanh_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """The int8 branch shared verbatim by TFLM's ``CalculateArithmeticOpDataLogistic`` and tanh.cc
    ``CalculateArithmeticOpData``: frexp of ``scale * 2**27`` and a plain round (not
    QuantizeMultiplier), radius ``CalculateInputRadius(4, shift, 31)``."""
    scale = _f32(input_scale)
    if not scale > 0.0 or not math.isfinite(scale):
        raise ValueError(f"input scale must be positive and finite, got {input_scale!r}")
    q, shift = math.frexp(scale * float(1 << 27))
    mult = round_half_away(q * float(1 << 31))
    if mult > INT32_MAX:  # cannot happen for a float32 scale (24-bit mantissa)
        raise ValueError(f"input multiplier overflow for scale {input_scale!r}")
    return SigmoidTanhParams(input_zero_point=int(input_zero_point),
                             input_range_radius=calculate_input_radius(4, shift, 31),
                             input_multiplier=mult, input_left_shift=shift)


def logistic_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """TFLM ``CalculateArithmeticOpDataLogistic`` (logistic_common.cc), int8 branch."""
    return _sigmoid_tanh_params(input_scale, input_zero_point)


def tanh_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """TFLM tanh.cc ``CalculateArithmeticOpData`` + ``TanhPrepare``, int8 branch."""
    return _sigmoid_tanh_params(input_scale, input_zero_point)


def _q4_input(x: npt.ArrayLike, p: SigmoidTanhParams) -> tuple[IntArray, IntArray]:
    inp = _i64(x) - p.input_zero_point
    return inp, multiply_by_quantized_multiplier(inp, p.input_multiplier, p.input_left_shift)


def logistic_s8(x: npt.ArrayLike, p: SigmoidTanhParams) -> Int8Array:
    """TFLM ``reference_integer_ops::Logistic`` (int8; output scale 1/256, zero point -128)."""
    inp, q4 = _q4_input(x, p)
    out = rounding_divide_by_pot(logistic(q4, 4), 31 - 8)
    out = np.clip(out + INT8_MIN, INT8_MIN, INT8_MAX)
    out = np.where(inp <= -p.input_range_radius, INT8_MIN, np.where(inp >= p.input_range_radius, INT8_MAX, out))
    return out.astype(np.int8)


def tanh_s8(x: npt.ArrayLike, p: SigmoidTanhParams) -> Int8Array:
    """TFLM ``reference_integer_ops::Tanh`` (int8; output scale 1/128, zero point 0)."""
    inp, q4 = _q4_input(x, p)
    out = np.clip(rounding_divide_by_pot(tanh(q4, 4), 31 - 7), INT8_MIN, INT8_MAX)
    out = np.where(inp <= -p.input_range_radius, INT8_MIN, np.where(inp >= p.input_range_radius, INT8_MAX, out))
    return out.astype(np.int8)


def _check_output(op: str, output_scale: float | None, output_zero_point: int | None, scale: float,
                  zero_point: int) -> None:
    if output_zero_point is not None and output_zero_point != zero_point:
        raise ValueError(f"int8 {op} needs output zero point {zero_point}, got {output_zero_point}")
    if output_scale is not None and np.float32(output_scale) != np.float32(scale):
        raise ValueError(f"int8 {op} needs output scale {scale!r}, got {output_scale!r}")


def logistic_lut(input_scale: float, input_zero_point: int, *, output_scale: float | None = None,
                 output_zero_point: int | None = None) -> Int8Array:
    """256-entry table of TFLM's int8 LOGISTIC: entry k is the output for input ``k - 128``.

    TFLM's kernel always produces scale 1/256, zero point -128 (Prepare checks only the zero
    point); pass the output's parameters to have anything else refused with ValueError.
    """
    _check_output("LOGISTIC", output_scale, output_zero_point, 1.0 / 256, -128)
    return logistic_s8(_ALL_INT8, logistic_params(input_scale, input_zero_point))


def tanh_lut(input_scale: float, input_zero_point: int, *, output_scale: float | None = None,
             output_zero_point: int | None = None) -> Int8Array:
    """256-entry table of TFLM's int8 TANH (entry k: input ``k - 128``).

    TFLM's kernel always produces scale 1/128, zero point 0 and checks neither; pass the output's
    parameters to have anything else refused with ValueError.
    """
    _check_output("TANH", output_scale, output_zero_point, 1.0 / 128, 0)
    return tanh_s8(_ALL_INT8, tanh_params(input_scale, input_zero_point))


# ------------------------------------------------------------------------------------------
# LEAKY_RELU, RELU, RELU6, RELU_N1_TO_1, QUANTIZE int8 -> int8 (tables)
# ------------------------------------------------------------------------------------------


def leaky_relu_lut(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                   alpha: float) -> Int8Array:
    """256-entry table of TFLM's int8 LEAKY_RELU (``CalculateOpDataLeakyRelu`` +
    ``reference_ops::QuantizeLeakyRelu``).

    Multipliers come from the float32 scales and alpha in double arithmetic (the tflite-micro
    package, 0.dev20261023, computes ``in_scale / out_scale`` in double: with input scale 1/256
    and output scale 0.05 a float32 division gives another multiplier and TFLM disagrees with it;
    found by the differential fuzzer), then ``QuantizeMultiplier``. Inputs at or above the zero
    point use the identity multiplier, the rest the alpha one (applied to |multiplier| and negated
    back for a negative alpha).
    """
    in_s, out_s, a = float(np.float32(input_scale)), float(np.float32(output_scale)), float(np.float32(alpha))
    alpha_real = in_s * a / out_s
    identity_real = in_s / out_s
    m_alpha, s_alpha = quantize_multiplier(alpha_real)
    m_id, s_id = quantize_multiplier(identity_real)
    inp = _ALL_INT8 - int(input_zero_point)
    pos = multiply_by_quantized_multiplier(inp, m_id, s_id)
    neg = multiply_by_quantized_multiplier(inp, abs(m_alpha), s_alpha)
    if m_alpha < 0:
        neg = -neg
    out: IntArray = np.where(inp >= 0, pos, neg) + int(output_zero_point)
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


def relu6_bounds(input_scale: float, input_zero_point: int) -> tuple[int, int]:
    """TFLM ``Relu6Prepare`` int8: (zero, six) = (input zero point,
    ``FloatToQuantizedType<int8_t>(6.0f, input_scale, input_zero_point)``), i.e.
    ``round(6.0f / scale) + zero_point`` converted to int32 and clamped to int8.

    A conversion out of int32's range (only for input scales below ~3e-9) is undefined in C++;
    this follows x86-64 (INT32_MIN), which is what the tflite-micro package on the host does.
    """
    q = np.float32(6.0) / np.float32(input_scale)
    if not np.isfinite(q):
        six = INT32_MIN
    else:
        r = round_half_away(float(q)) + int(input_zero_point)
        six = r if INT32_MIN <= r <= INT32_MAX else INT32_MIN
    return int(input_zero_point), min(max(six, INT8_MIN), INT8_MAX)


def _relu_x_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                  act_min: float, act_max: float | None, double_ratio: bool) -> Int8Array:
    """TFLM ``CalculateReluOpData<int8_t>`` + ``ReluQuantized`` (also TFLite's ``QuantizedReluX``).

    ``double_ratio``: the tflite-micro package (0.dev20261023) divides the scales in double
    (input scale 0.05, output scale 0.004: 12.4999996 instead of float32's 12.5, and outputs one
    apart; found by the differential fuzzer); TFLite's RELU_N1_TO_1 divides in float32."""
    in_s, out_s = np.float32(input_scale), np.float32(output_scale)
    ratio = float(in_s) / float(out_s) if double_ratio else float(np.float32(in_s / out_s))
    m, s = quantize_multiplier(ratio)
    lo = max(INT8_MIN, int(output_zero_point) + round_half_away(float(np.float32(np.float32(act_min) / out_s))))
    hi = INT8_MAX if act_max is None else min(
        INT8_MAX, int(output_zero_point) + round_half_away(float(np.float32(np.float32(act_max) / out_s))))
    out = int(output_zero_point) + multiply_by_quantized_multiplier(_ALL_INT8 - int(input_zero_point), m, s)
    out = np.minimum(np.maximum(out, lo), hi)
    return out.astype(np.int8)


def relu_lut(kind: str, input_scale: float, input_zero_point: int, output_scale: float,
             output_zero_point: int) -> Int8Array:
    """256-entry table of a standalone int8 RELU / RELU6 / RELU_N1_TO_1 as TFLM computes it.

    * ``"relu"``: TFLM ``ReluQuantized``: requantize ``x - in_zp`` by ``in_scale / out_scale``
      (a double division of the float32 scales, then QuantizeMultiplier), add ``out_zp``, clamp to
      ``[max(-128, out_zp), 127]``.
    * ``"relu6"``: TFLM ``Relu6Quantized``: NO requantization; the raw input is clamped to
      ``[in_zp, six]`` with ``six = round(6.0f / in_scale) + in_zp`` (clamped to int8). The output
      tensor's scale and zero point are ignored, exactly as TFLM ignores them.
    * ``"relu_n1_to_1"``: TFLM registers no RELU_N1_TO_1 kernel at all, so there is no TFLM
      behaviour to match; this is TFLite's ``QuantizedReluX(-1, 1)`` (requantize as for RELU, clamp
      to the quantized [-1, 1]), the only reference semantics that exist.
    """
    if kind == "relu":
        return _relu_x_table(input_scale, input_zero_point, output_scale, output_zero_point, 0.0, None, True)
    if kind == "relu6":
        zero, six = relu6_bounds(input_scale, input_zero_point)
        x = _ALL_INT8
        out = np.where(x > six, six, np.where(x < zero, zero, x))
        return out.astype(np.int8)
    if kind == "relu_n1_to_1":
        return _relu_x_table(input_scale, input_zero_point, output_scale, output_zero_point, -1.0, 1.0, False)
    raise ValueError(f"unknown relu kind {kind!r} (expected relu, relu6 or relu_n1_to_1)")


@dataclass(frozen=True)
class RequantizeParams:
    """TFLM QUANTIZE int8 -> int8 op data (``PrepareQuantizeReference``)."""

    multiplier: int
    shift: int
    input_zero_point: int
    output_zero_point: int


def requantize_params(input_scale: float, input_zero_point: int, output_scale: float,
                      output_zero_point: int) -> RequantizeParams:
    """TFLM ``PrepareQuantizeReference`` int8 -> int8: ``QuantizeMultiplier((double)in_scale /
    (double)out_scale)`` (a double division, unlike RELU's float division)."""
    m, s = quantize_multiplier(_f32(input_scale) / _f32(output_scale))
    return RequantizeParams(m, s, int(input_zero_point), int(output_zero_point))


def requantize_s8(x: npt.ArrayLike, p: RequantizeParams, act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> Int8Array:
    """TFLM ``reference_ops::Requantize<int8_t, int8_t>``: MBQM(x - in_zp) + out_zp, clamped.

    (Its ``x ^ 0x80`` fast path applies only to int8 <-> uint8.) ``act_min``/``act_max`` narrow the
    clamp for callers that fold an activation; QUANTIZE itself uses the full int8 range.
    """
    out = multiply_by_quantized_multiplier(_i64(x) - p.input_zero_point, p.multiplier, p.shift) + p.output_zero_point
    return np.clip(out, max(act_min, INT8_MIN), min(act_max, INT8_MAX)).astype(np.int8)


def requantize_lut(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                   act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> Int8Array:
    """256-entry table of TFLM's QUANTIZE int8 -> int8 (entry k: input ``k - 128``).

    Not a substitute for :func:`relu_lut` with narrowed bounds: TFLM's RELU derives its multiplier
    from a float32 division of the scales, QUANTIZE from a double one, and the two can differ in
    the last bit of the multiplier.
    """
    p = requantize_params(input_scale, input_zero_point, output_scale, output_zero_point)
    return requantize_s8(_ALL_INT8, p, act_min, act_max)


# ------------------------------------------------------------------------------------------
# MEAN (int8)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanParams:
    """Integers of TFLM's int8 MEAN after ``QuantizedMeanOrSum`` folds 1/N into the multiplier."""

    sum_offset: int  # -input_zero_point * reduce_count
    multiplier: int
    shift: int
    output_offset: int  # output zero point


def mean_params(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                reduce_count: int) -> MeanParams:
    """TFLM reduce_common.cc ``PrepareMeanOrSumHelper``/``PrepareSimple`` then the mean branch of
    reference ``QuantizedMeanOrSum``.

    ``QuantizeMultiplier((double)in_scale / (double)out_scale)``; then with
    ``shift_n = min(floor(log2 N), 32, 31 + shift)``:
    ``multiplier = int32((int64(multiplier) << shift_n) / N)`` and ``shift -= shift_n``.
    """
    n = int(reduce_count)
    if n <= 0:
        raise ValueError(f"MEAN over {n} elements")
    m, s = quantize_multiplier(_f32(input_scale) / _f32(output_scale))
    shift_n = n.bit_length() - 1  # 63 - CountLeadingZeros(uint64 N)
    shift_n = min(shift_n, 32)
    shift_n = min(shift_n, 31 + s)
    if shift_n < 0 or m < 0:
        raise ValueError("MEAN: scales must be positive and the multiplier in range")
    m_n = (m << shift_n) // n  # int64 shift and truncating division; < 2**31 since 2**shift_n <= N
    return MeanParams(sum_offset=-int(input_zero_point) * n, multiplier=m_n, shift=s - shift_n,
                      output_offset=int(output_zero_point))


def mean_s8(x: npt.ArrayLike, p: MeanParams) -> Int8Array:
    """TFLM int8 MEAN on ``x`` viewed as ``[outer, reduce, inner]``; returns ``[outer, inner]``.

    The sum is TFLM's int32 ``temp_sum`` (wrapping), plus ``sum_offset`` (cast back to int32), then
    the **int32** ``MultiplyByQuantizedMultiplier`` overload (the accumulator type is int32_t), plus
    the output zero point, clamped to int8.
    """
    xa = _i64(x)
    if xa.ndim != 3:
        raise ValueError(f"mean_s8 expects [outer, reduce, inner], got shape {xa.shape}")
    total = wrap_int32(wrap_int32(xa.sum(axis=1)) + p.sum_offset)
    out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


# ------------------------------------------------------------------------------------------
# QUANTIZE float32 -> int8, DEQUANTIZE int8 -> float32
# ------------------------------------------------------------------------------------------


def quantize_f32_s8(x: npt.ArrayLike, scale: float, zero_point: int) -> Int8Array:
    """TFLM ``reference_ops::AffineQuantize<float, int8_t>``.

    ``val / (float)scale`` in float32, ``TfLiteRound`` (roundf: half away from zero), to int32,
    plus the zero point, clamped to int8. Where the float is outside int32 or NaN, C++'s
    float-to-int conversion is undefined; this saturates (NaN -> 0), as Arm's VCVT and
    ``__aeabi_f2iz`` do, so such inputs end at -128 / 127 (NaN at the zero point).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    r = _round_half_away_f32(v).astype(np.float64)
    r = np.where(np.isnan(r), 0.0, np.clip(r, float(INT32_MIN), float(INT32_MAX)))
    q = r.astype(np.int64) + int(zero_point)
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


def dequantize_s8_f32(q: npt.ArrayLike, scale: float, zero_point: int) -> npt.NDArray[np.float32]:
    """TFLM ``reference_ops::Dequantize``: ``(float)((double)scale * (q - zero_point))``."""
    d = float(np.float32(scale)) * (_i64(q) - int(zero_point)).astype(np.float64)
    return d.astype(np.float32)


__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "MeanParams",
    "RequantizeParams",
    "SigmoidTanhParams",
    "SoftmaxParams",
    "calculate_input_radius",
    "count_leading_zeros32",
    "dequantize_s8_f32",
    "exp_on_interval_between_negative_one_quarter_and_0_excl",
    "exp_on_negative_values",
    "get_reciprocal",
    "leaky_relu_lut",
    "logistic",
    "logistic_lut",
    "logistic_params",
    "logistic_s8",
    "mean_params",
    "mean_s8",
    "multiply_by_quantized_multiplier",
    "multiply_by_quantized_multiplier_greater_than_one",
    "multiply_by_quantized_multiplier_int64",
    "multiply_by_quantized_multiplier_smaller_than_one_exp",
    "one_minus_x_over_one_plus_x_for_x_in_0_1",
    "one_over_one_plus_x_for_x_in_0_1",
    "preprocess_softmax_scaling",
    "quantize_f32_s8",
    "quantize_multiplier",
    "quantize_multiplier_greater_than_one",
    "quantize_multiplier_smaller_than_one_exp",
    "relu6_bounds",
    "relu_lut",
    "requantize_lut",
    "requantize_params",
    "requantize_s8",
    "rescale",
    "round_half_away",
    "rounding_divide_by_pot",
    "rounding_half_sum",
    "saturating_rounding_doubling_high_mul",
    "saturating_rounding_multiply_by_pot",
    "softmax_params",
    "softmax_s8",
    "tanh",
    "tanh_lut",
    "tanh_params",
    "tanh_s8",
    "wrap_int32",
]
