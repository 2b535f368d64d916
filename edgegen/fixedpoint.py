"""The integer arithmetic of TFLite Micro, in numpy, bit for bit.

The arithmetic several ops share lives here; what one op family alone uses (SOFTMAX's parameters
and kernel, the LOGISTIC/TANH/RELU/LEAKY_RELU/QUANTIZE tables, MEAN's multipliers) lives in its
module of ``edgegen.ops``. Everything mirrors a named function of TFLM (``tensorflow/lite/kernels/internal`` and
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


def as_int64(x: IntLike) -> IntArray:
    return np.asarray(x, dtype=np.int64)


def as_float32(x: float) -> float:
    """A Python float holding the float32 value TFLite stores for ``x``."""
    return float(np.float32(x))


def wrap_int32(x: IntLike) -> IntArray:
    """Two's-complement wraparound of int64 values to the int32 range (what int32 overflow does)."""
    a = as_int64(x)
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


def int32_pow2(shift: IntLike) -> IntArray:
    """``1 << shift`` as the C++ evaluates it in int: x86-64 masks the shift count to 5 bits
    (a count of 32 or more is undefined behaviour in C++), and ``1 << 31`` is INT32_MIN.

    Counts of 32 and more only arise from scale ratios above 2**31; masking reproduces what the
    tflite-micro package does on the host there.
    """
    return wrap_int32(np.int64(1) << (as_int64(shift) & 31))


def count_leading_zeros32(x: IntLike) -> IntArray:
    """``CountLeadingZeros(static_cast<uint32_t>(x))``; 32 for zero."""
    u = as_int64(x) & 0xFFFFFFFF
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
    a64, b64 = as_int64(a), as_int64(b)
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
    x64, e = as_int64(x), as_int64(exponent)
    if np.any(e < 0) or np.any(e > 31):
        raise ValueError("RoundingDivideByPOT exponent must be in [0, 31]")
    mask = (np.int64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0).astype(np.int64)
    return ((x64 >> e) + (remainder > threshold).astype(np.int64)).astype(np.int64)


def saturating_rounding_multiply_by_pot(x: IntLike, exponent: int) -> IntArray:
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>`` on int32: saturating left shift for
    a positive exponent, :func:`rounding_divide_by_pot` for a negative one."""
    x64 = as_int64(x)
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
    s = as_int64(a) + as_int64(b)
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
    x64, m, s = as_int64(x), as_int64(multiplier), as_int64(shift)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    scaled = wrap_int32(x64 * int32_pow2(left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, m), right)


def multiply_by_quantized_multiplier_int64(x: IntLike, multiplier: IntLike, shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplier(int64_t x, int32_t m, int shift)`` (double-rounding build).

    The multiplier is reduced to 16 bits (``(m + 2**15) >> 16``, or 0x7FFF near the top), then
    ``(x * reduced + 2**(total_shift - 1)) >> total_shift`` with ``total_shift = 15 - shift`` and a
    truncating cast to int32. Used by int16 kernels with int64 accumulators and REDUCE_PROD;
    int8 MEAN does *not* use it (its accumulator is int32, see :func:`mean_s8`).
    """
    x64, m, s = as_int64(x), as_int64(multiplier), as_int64(shift)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, np.int64(0x7FFF))
    total_shift = 15 - s
    acc = x64 * reduced + (np.int64(1) << (total_shift - 1))
    return wrap_int32(acc >> total_shift)


def multiply_by_quantized_multiplier_smaller_than_one_exp(x: IntLike, multiplier: IntLike,
                                                          left_shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplierSmallerThanOneExp`` (left_shift <= 0)."""
    s = as_int64(left_shift)
    if np.any(s > 0):
        raise ValueError("left_shift must be <= 0")
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), -s)


def multiply_by_quantized_multiplier_greater_than_one(x: IntLike, multiplier: IntLike,
                                                      left_shift: IntLike) -> IntArray:
    """TFLM ``MultiplyByQuantizedMultiplierGreaterThanOne`` (left_shift >= 0), int32 wrap on the shift."""
    s = as_int64(left_shift)
    if np.any(s < 0):
        raise ValueError("left_shift must be >= 0")
    return saturating_rounding_doubling_high_mul(wrap_int32(as_int64(x) * int32_pow2(s)), multiplier)


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
    x = wrap_int32(as_int64(a) + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap_int32(srdhm(wrap_int32(x4_over_4 + x3), constant_1_over_3) + x2), 1)
    return wrap_int32(constant_term + srdhm(constant_term, wrap_int32(x + poly)))


def exp_on_negative_values(a: IntLike, integer_bits: int) -> IntArray:
    """gemmlowp ``exp_on_negative_values`` of a ``FixedPoint<int32, integer_bits>``; Q0.31 result."""
    a64 = as_int64(a)
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
    a64 = as_int64(a)
    positive = a64 > 0
    abs_input = np.where(positive, a64, wrap_int32(-a64))
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int32(-abs_input),
                                                                                  integer_bits))
    result_if_negative = wrap_int32(INT32_MAX - result_if_positive)
    out = np.where(positive, result_if_positive, result_if_negative)
    return np.where(a64 == 0, np.int64(1 << 30), out).astype(np.int64)


def tanh(a: IntLike, integer_bits: int) -> IntArray:
    """gemmlowp ``tanh`` of a ``FixedPoint<int32, integer_bits>``; Q0.31 result."""
    a64 = as_int64(a)
    negative = a64 < 0
    n = np.where(negative, a64, wrap_int32(-a64))
    # neg_tanh_on_negative_values: ExactMulByPot<1> keeps the raw value, adds an integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    out = np.where(negative, wrap_int32(-t), t)
    return np.where(a64 == 0, np.int64(0), out).astype(np.int64)


def get_reciprocal(x: IntLike, x_integer_digits: int) -> tuple[IntArray, IntArray]:
    """TFLM ``GetReciprocal``: (Q0.31 reciprocal of the normalized x, num_bits_over_unit)."""
    x64 = as_int64(x)
    headroom_plus_one = count_leading_zeros32(x64)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x64 & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap_int32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# ------------------------------------------------------------------------------------------
# QUANTIZE float32 -> int8, DEQUANTIZE int8 -> float32
# ------------------------------------------------------------------------------------------


def quantize_f32_s8(x: npt.ArrayLike, scale: float, zero_point: int) -> Int8Array:
    """TFLM ``reference_ops::AffineQuantize<float, int8_t>``; see :func:`quantize_f32`."""
    return quantize_f32(x, scale, zero_point, "int8").astype(np.int8)


#: the range of each quantized type (int16: TFLite's 16x8 activations)
QUANT_LIMITS = {"int8": (INT8_MIN, INT8_MAX), "int16": (-32768, 32767)}


def quantize_f32(x: npt.ArrayLike, scale: float, zero_point: int, dtype: str = "int8") -> IntArray:
    """TFLM ``reference_ops::AffineQuantize<float, int8_t / int16_t>`` (``dtype``), as int64 values.

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
    lo, hi = QUANT_LIMITS[dtype]
    return np.clip(q, lo, hi)


def dequantize_s8_f32(q: npt.ArrayLike, scale: float, zero_point: int) -> npt.NDArray[np.float32]:
    """TFLM ``reference_ops::Dequantize``: ``(float)((double)scale * (q - zero_point))``; the same
    for int16 codes (DequantizeInteger<int16_t>)."""
    d = float(np.float32(scale)) * (as_int64(q) - int(zero_point)).astype(np.float64)
    return d.astype(np.float32)


__all__ = [
    "INT8_MAX",
    "INT8_MIN",
    "INT32_MAX",
    "INT32_MIN",
    "QUANT_LIMITS",
    "Int8Array",
    "IntArray",
    "IntLike",
    "as_float32",
    "as_int64",
    "calculate_input_radius",
    "count_leading_zeros32",
    "dequantize_s8_f32",
    "exp_on_interval_between_negative_one_quarter_and_0_excl",
    "exp_on_negative_values",
    "get_reciprocal",
    "int32_pow2",
    "logistic",
    "multiply_by_quantized_multiplier",
    "multiply_by_quantized_multiplier_greater_than_one",
    "multiply_by_quantized_multiplier_int64",
    "multiply_by_quantized_multiplier_smaller_than_one_exp",
    "one_minus_x_over_one_plus_x_for_x_in_0_1",
    "one_over_one_plus_x_for_x_in_0_1",
    "quantize_f32",
    "quantize_f32_s8",
    "quantize_multiplier",
    "quantize_multiplier_greater_than_one",
    "quantize_multiplier_smaller_than_one_exp",
    "rescale",
    "round_half_away",
    "rounding_divide_by_pot",
    "rounding_half_sum",
    "saturating_rounding_doubling_high_mul",
    "saturating_rounding_multiply_by_pot",
    "tanh",
    "wrap_int32",
]
