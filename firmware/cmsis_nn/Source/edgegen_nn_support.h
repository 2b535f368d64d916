/*
 * edgegen portable CMSIS-NN subset: integer helpers shared by the kernels (internal).
 *
 * These are the fixed-point primitives of TFLite/gemmlowp in the form TFLM uses by default
 * (double rounding: a saturating rounding doubling high multiply, then a rounding right
 * shift). Every overflowing int32 operation of the reference code is written here with
 * explicit unsigned wrap-around, so UBSan builds stay clean while the results stay identical
 * to what the reference computes on two's-complement machines.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_NN_SUPPORT_H
#define EDGEGEN_NN_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#define EDGEGEN_NN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EDGEGEN_NN_MIN(a, b) ((a) < (b) ? (a) : (b))

/* int32 addition with wrap-around, as the reference's int32 arithmetic does in practice. */
static inline int32_t edgegen_nn_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t edgegen_nn_wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* x * 2^shift in int32 with wrap-around (shift in [0, 31]). */
static inline int32_t edgegen_nn_wrap_shl(int32_t x, int32_t shift)
{
    return (int32_t)((uint32_t)x << (uint32_t)(shift & 31));
}

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t edgegen_nn_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, as gemmlowp's does */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent, rounding half away from zero (exponent 0..31). */
static inline int32_t edgegen_nn_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << (uint32_t)exponent) - 1u);
    const int32_t remainder = x & mask;
    int32_t threshold = mask >> 1;
    if (x < 0)
    {
        threshold++;
    }
    /* arithmetic shift of a negative value: gcc and clang define it as floor division */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (int32, double rounding) == CMSIS-NN arm_nn_requantize. */
static inline int32_t edgegen_nn_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return edgegen_nn_divide_by_pot(edgegen_nn_srdhm(edgegen_nn_wrap_shl(x, left), multiplier), right);
}

/* TFLM MultiplyByQuantizedMultiplier(int64_t x, int32_t multiplier, int shift), the int16 kernels'
 * requantization: the multiplier reduced to 16 bits, (x * reduced + 2^(14 - shift)) >> (15 - shift),
 * truncated to int32 (wrapping, as static_cast does in practice). */
static inline int32_t edgegen_nn_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? ((int64_t)multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    /* arithmetic shift of a negative value: gcc and clang define it as floor division */
    const int64_t result = (x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift;
    return (int32_t)(uint32_t)(uint64_t)result;
}

static inline int16_t edgegen_nn_clamp_s16(int32_t x, int32_t lo, int32_t hi)
{
    return (int16_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* The taps k in [0, kernel) whose position start + k * dilation lies inside [0, size):
 * [*first, *last). Hoists the bounds checks of convolution loops out of the inner loops. */
static inline void edgegen_nn_valid_taps(int32_t start, int32_t dilation, int32_t kernel, int32_t size,
                                         int32_t *first, int32_t *last)
{
    int32_t lo = 0;
    int32_t hi = kernel;
    if (start < 0)
    {
        lo = (-start + dilation - 1) / dilation;
    }
    if (start + (hi - 1) * dilation >= size)
    {
        hi = size - start <= 0 ? 0 : (size - start + dilation - 1) / dilation;
    }
    *first = lo;
    *last = hi > lo ? hi : lo;
}

static inline int8_t edgegen_nn_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

/* The end of every convolution and fully-connected output: the (wrapping) int32 sum plus the
 * bias, requantized, plus the output offset, clamped to the activation range. */
static inline int8_t edgegen_nn_finish(uint32_t acc, const int32_t *bias, int32_t channel, int32_t multiplier,
                                       int32_t shift, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    if (bias != NULL)
    {
        acc += (uint32_t)bias[channel];
    }
    const int32_t value = edgegen_nn_wrap_add(edgegen_nn_requantize((int32_t)acc, multiplier, shift), output_offset);
    return edgegen_nn_clamp_s8(value, act_min, act_max);
}

#endif /* EDGEGEN_NN_SUPPORT_H */
