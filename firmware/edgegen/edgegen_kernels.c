/*
 * edgegen kernels (see edgegen_kernels.h). Written for edgegen.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "edgegen_kernels.h"

#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#endif

/* The same double-rounding requantization as CMSIS-NN's arm_nn_requantize and TFLM's
 * MultiplyByQuantizedMultiplier, kept local so this file also builds against a real CMSIS-NN
 * (whose internal helpers are not part of its public API). Overflowing int32 steps wrap
 * explicitly, as the reference does in practice. */
static int32_t edgegen_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static int32_t edgegen_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << (uint32_t)exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t edgegen_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t scaled = (int32_t)((uint32_t)x << (uint32_t)left);
    return edgegen_divide_by_pot(edgegen_srdhm(scaled, multiplier), right);
}

/* TFLM MultiplyByQuantizedMultiplier(int64_t x, ...), the int16 kernels' requantization (see
 * edgegen_nn_requantize_s64 in the portable CMSIS-NN). */
static int32_t edgegen_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? ((int64_t)multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t result = (x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift;
    return (int32_t)(uint32_t)(uint64_t)result;
}

static int16_t edgegen_clamp_s16(int32_t x, int32_t lo, int32_t hi)
{
    return (int16_t)(x < lo ? lo : (x > hi ? hi : x));
}

static int32_t edgegen_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int8_t edgegen_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

void edgegen_gather4d_s8(const int8_t *input, int8_t *output, int32_t offset, int32_t n0, int32_t n1, int32_t n2,
                         int32_t n3, int32_t s0, int32_t s1, int32_t s2, int32_t s3)
{
    for (int32_t i0 = 0; i0 < n0; i0++)
    {
        for (int32_t i1 = 0; i1 < n1; i1++)
        {
            for (int32_t i2 = 0; i2 < n2; i2++)
            {
                const int8_t *src = input + (offset + i0 * s0 + i1 * s1 + i2 * s2);
                if (s3 == 1)
                {
                    /* the innermost run is contiguous: a byte copy */
                    for (int32_t i3 = 0; i3 < n3; i3++)
                    {
                        *output++ = src[i3];
                    }
                }
                else
                {
                    for (int32_t i3 = 0; i3 < n3; i3++)
                    {
                        *output++ = src[i3 * s3];
                    }
                }
            }
        }
    }
}

void edgegen_lut_s8(const int8_t *input, int8_t *output, const int8_t *table, int32_t size)
{
    for (int32_t i = 0; i < size; i++)
    {
        output[i] = table[input[i] + 128];
    }
}

arm_cmsis_nn_status edgegen_mean_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t reduce,
                                    int32_t inner, int32_t sum_offset, int32_t multiplier, int32_t shift,
                                    int32_t output_offset)
{
    if (outer < 0 || reduce <= 0 || inner < 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (int32_t o = 0; o < outer; o++)
    {
        const int8_t *in = input + (size_t)o * (size_t)reduce * (size_t)inner;
        for (int32_t i = 0; i < inner; i++)
        {
            uint32_t sum = 0;
            for (int32_t r = 0; r < reduce; r++)
            {
                /* via a variable: gcc 12 flags the one-line (uint32_t)(int32_t)int8 cast as -Wsign-conversion */
                const int32_t v = in[(size_t)r * (size_t)inner + (size_t)i];
                sum += (uint32_t)v;
            }
            const int32_t total = edgegen_wrap_add((int32_t)sum, sum_offset);
            const int32_t out = edgegen_wrap_add(edgegen_requantize(total, multiplier, shift), output_offset);
            output[(size_t)o * (size_t)inner + (size_t)i] = edgegen_clamp_s8(out, INT8_MIN, INT8_MAX);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* Visit the broadcast's output elements in order, with both inputs' element offsets. The shape
 * and strides are copied to locals first: the body's int8 stores may alias the descriptor, which
 * would otherwise make the compiler reload all of it and redo the offset products per element;
 * the innermost axis steps both offsets by its stride. */
#define EDGEGEN_FOR_BROADCAST(bc, i1, i2, o, body)                                                                   \
    do                                                                                                                 \
    {                                                                                                                  \
        const int32_t n0_ = (bc)->shape[0], n1_ = (bc)->shape[1], n2_ = (bc)->shape[2], n3_ = (bc)->shape[3];          \
        const size_t s10_ = (size_t)(bc)->in1_strides[0], s11_ = (size_t)(bc)->in1_strides[1];                         \
        const size_t s12_ = (size_t)(bc)->in1_strides[2], s13_ = (size_t)(bc)->in1_strides[3];                         \
        const size_t s20_ = (size_t)(bc)->in2_strides[0], s21_ = (size_t)(bc)->in2_strides[1];                         \
        const size_t s22_ = (size_t)(bc)->in2_strides[2], s23_ = (size_t)(bc)->in2_strides[3];                         \
        size_t o = 0;                                                                                                  \
        for (int32_t d0 = 0; d0 < n0_; d0++)                                                                           \
            for (int32_t d1 = 0; d1 < n1_; d1++)                                                                       \
                for (int32_t d2 = 0; d2 < n2_; d2++)                                                                   \
                {                                                                                                      \
                    size_t i1 = (size_t)d0 * s10_ + (size_t)d1 * s11_ + (size_t)d2 * s12_;                             \
                    size_t i2 = (size_t)d0 * s20_ + (size_t)d1 * s21_ + (size_t)d2 * s22_;                             \
                    for (int32_t d3 = 0; d3 < n3_; d3++, o++, i1 += s13_, i2 += s23_)                                  \
                    {                                                                                                  \
                        body                                                                                           \
                    }                                                                                                  \
                }                                                                                                      \
    } while (0)

/* One element of TFLite's int8 ADD or SUB (arm_elementwise_add_s8's arithmetic): both inputs
 * shifted up and rescaled to a common scale, added or subtracted, rescaled to the output. */
static int32_t edgegen_add_sub_one(int32_t x1, int32_t x2, int subtract, int32_t input_1_offset, int32_t input_1_mult,
                                   int32_t input_1_shift, int32_t input_2_offset, int32_t input_2_mult,
                                   int32_t input_2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult,
                                   int32_t out_shift)
{
    const int32_t a = (int32_t)((uint32_t)(x1 + input_1_offset) << (uint32_t)left_shift);
    const int32_t b = (int32_t)((uint32_t)(x2 + input_2_offset) << (uint32_t)left_shift);
    const uint32_t sa = (uint32_t)edgegen_requantize(a, input_1_mult, input_1_shift);
    const uint32_t sb = (uint32_t)edgegen_requantize(b, input_2_mult, input_2_shift);
    const int32_t raw = (int32_t)(subtract ? sa - sb : sa + sb);
    return edgegen_wrap_add(edgegen_requantize(raw, out_mult, out_shift), out_offset);
}

arm_cmsis_nn_status edgegen_add_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                             int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                             int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                             int32_t out_activation_min, int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t out = edgegen_add_sub_one(input_1[i1], input_2[i2], 0, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[o] = edgegen_clamp_s8(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_sub_s8(const int8_t *input_1, const int8_t *input_2, int32_t input_1_offset,
                                   int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                   int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                                   int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                                   int32_t out_activation_max, int32_t block_size)
{
    for (int32_t i = 0; i < block_size; i++)
    {
        const int32_t out = edgegen_add_sub_one(input_1[i], input_2[i], 1, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[i] = edgegen_clamp_s8(out, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_sub_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                             int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                             int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                             int32_t out_activation_min, int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t out = edgegen_add_sub_one(input_1[i1], input_2[i2], 1, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[o] = edgegen_clamp_s8(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_mul_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_2_offset, int8_t *output, int32_t out_offset,
                                             int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                                             int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t prod = (input_1[i1] + input_1_offset) * (input_2[i2] + input_2_offset);
        const int32_t out = edgegen_wrap_add(edgegen_requantize(prod, out_mult, out_shift), out_offset);
        output[o] = edgegen_clamp_s8(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

/* int16 (16x8) ADD / SUB / MUL: the int8 arithmetic above on int16_t data (TFLM's int16 general
 * paths; the caller passes left_shift 15 and zero offsets). */
arm_cmsis_nn_status edgegen_add_broadcast_s16(const int16_t *input_1, const int16_t *input_2,
                                              const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                              int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                              int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                              int16_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                              int32_t out_activation_min, int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t out = edgegen_add_sub_one(input_1[i1], input_2[i2], 0, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[o] = edgegen_clamp_s16(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_sub_s16(const int16_t *input_1, const int16_t *input_2, int32_t input_1_offset,
                                    int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                    int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int16_t *output,
                                    int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                    int32_t out_activation_min, int32_t out_activation_max, int32_t block_size)
{
    for (int32_t i = 0; i < block_size; i++)
    {
        const int32_t out = edgegen_add_sub_one(input_1[i], input_2[i], 1, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[i] = edgegen_clamp_s16(out, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_sub_broadcast_s16(const int16_t *input_1, const int16_t *input_2,
                                              const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                              int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                              int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                              int16_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                              int32_t out_activation_min, int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t out = edgegen_add_sub_one(input_1[i1], input_2[i2], 1, input_1_offset, input_1_mult,
                                                input_1_shift, input_2_offset, input_2_mult, input_2_shift,
                                                left_shift, out_offset, out_mult, out_shift);
        output[o] = edgegen_clamp_s16(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgegen_mul_broadcast_s16(const int16_t *input_1, const int16_t *input_2,
                                              const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                              int32_t input_2_offset, int16_t *output, int32_t out_offset,
                                              int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                                              int32_t out_activation_max)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t prod = (input_1[i1] + input_1_offset) * (input_2[i2] + input_2_offset);
        const int32_t out = edgegen_wrap_add(edgegen_requantize(prod, out_mult, out_shift), out_offset);
        output[o] = edgegen_clamp_s16(out, out_activation_min, out_activation_max);
    });
    return ARM_CMSIS_NN_SUCCESS;
}

void edgegen_sigmoid_tanh_s16(const int16_t *input, int16_t *output, int32_t size, int32_t multiplier,
                              int32_t left_shift, int32_t is_tanh, const uint16_t *table)
{
    const int32_t round = left_shift > 0 ? (int32_t)1 << (left_shift - 1) : 0;
    const uint32_t bits = is_tanh ? 8u : 9u;
    for (int32_t i = 0; i < size; i++)
    {
        /* |input * multiplier| < 2^30 (multiplier <= 32767); the arithmetic shift of a negative value
         * is floor division with gcc and clang, as in TFLM */
        const int32_t x = (input[i] * multiplier + round) >> left_shift;
        const uint32_t ax = x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
        const uint32_t uh = ax >> bits;
        uint32_t res;
        if (uh >= 255u)
        {
            res = is_tanh ? 0xFFFFu << 8 : 0x7FFFu << 10;
        }
        else
        {
            const uint32_t ua = table[uh], ub = table[uh + 1u];
            res = (ua << bits) + (ax & ((1u << bits) - 1u)) * (ub - ua);
        }
        int32_t r;
        if (is_tanh)
        {
            r = (int32_t)res;
            r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
            r >>= 8;
        }
        else
        {
            res = x >= 0 ? res + (1u << 9) : (1u << 25) - res + (1u << 9) - 1u;
            r = (int32_t)(res >> 10);
        }
        /* TFLM stores the 32-bit result into int16_t */
        output[i] = (int16_t)r;
    }
}

/* TFLM's LUTLookup(int16_t, const int16_t *): a 513-entry table indexed by the top 9 bits, the low
 * 7 interpolated (the slope truncated to int16_t as TFLM stores it). */
static int16_t edgegen_lut_lookup_s16(int32_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - lut[index]);
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

void edgegen_softmax_s16(const int16_t *input, int32_t num_rows, int32_t row_size, int32_t mult, int32_t shift,
                         const int16_t *exp_lut, const int16_t *one_over_one_plus_x_lut, int16_t *output)
{
    for (int32_t r = 0; r < num_rows; r++)
    {
        const int16_t *in = input + (size_t)r * (size_t)row_size;
        int16_t *out = output + (size_t)r * (size_t)row_size;
        int32_t max = INT16_MIN;
        for (int32_t c = 0; c < row_size; c++)
        {
            max = in[c] > max ? in[c] : max;
        }
        /* exp(x - max) in Q0.15, cached in the output; their sum fits int32 (row_size < 2^16) */
        int32_t sum = 0;
        for (int32_t c = 0; c < row_size; c++)
        {
            const int32_t scaled = edgegen_requantize(in[c] - max, mult, shift);
            out[c] = edgegen_lut_lookup_s16(edgegen_clamp_s16(scaled + 32767, INT16_MIN, INT16_MAX), exp_lut);
            sum += out[c];
        }
        /* the exp of the maximum is about 1.0, so sum >= 2^14 and headroom <= 17 */
        int32_t headroom = 0;
        while (headroom < 32 && !((uint32_t)sum & (0x80000000u >> (uint32_t)headroom)))
        {
            headroom++;
        }
        const int32_t shifted = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        const int32_t sym = edgegen_clamp_s16(shifted - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX);
        const int64_t recip = edgegen_lut_lookup_s16(sym, one_over_one_plus_x_lut);
        const int32_t right = 31 - headroom;
        for (int32_t c = 0; c < row_size; c++)
        {
            const int64_t v = ((int64_t)out[c] * recip + ((int64_t)1 << (right - 1))) >> right;
            out[c] = edgegen_clamp_s16((int32_t)v, 0, INT16_MAX);
        }
    }
}

arm_cmsis_nn_status edgegen_mean_s16(const int16_t *input, int16_t *output, int32_t outer, int32_t reduce,
                                     int32_t inner, int32_t sum_offset, int32_t multiplier, int32_t shift,
                                     int32_t output_offset)
{
    for (int32_t o = 0; o < outer; o++)
    {
        const int16_t *in = input + (size_t)o * (size_t)reduce * (size_t)inner;
        for (int32_t i = 0; i < inner; i++)
        {
            uint32_t sum = 0;
            for (int32_t r = 0; r < reduce; r++)
            {
                const int32_t v = in[(size_t)r * (size_t)inner + (size_t)i];
                sum += (uint32_t)v;
            }
            const int32_t total = edgegen_wrap_add((int32_t)sum, sum_offset);
            const int32_t out = edgegen_wrap_add(edgegen_requantize(total, multiplier, shift), output_offset);
            output[(size_t)o * (size_t)inner + (size_t)i] = edgegen_clamp_s16(out, INT16_MIN, INT16_MAX);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* roundf (half away from zero) without libm, so the model needs nothing from the C library but
 * memcpy and memset. |x| >= 2^23, infinities and NaN are integral (or NaN) already; below, the
 * fraction x - trunc(x) is exact in float. */
static float edgegen_roundf(const float x)
{
    if (!(x > -8388608.0f && x < 8388608.0f))
    {
        return x;
    }
    const int32_t i = (int32_t)x;
    const float f = x - (float)i;
    return (float)(f >= 0.5f ? i + 1 : (f <= -0.5f ? i - 1 : i));
}

/* TFLM AffineQuantize of one value before the clamp: round(x / scale) + zero_point */
static int64_t edgegen_quantize_code(float x, float scale, int32_t zero_point)
{
    const float r = edgegen_roundf(x / scale);
    int64_t q;
    /* float -> int of an out-of-range value is undefined in C: saturate, NaN to 0, as Arm's
     * VCVT does (and as edgegen's simulator defines it) */
    if (r != r)
    {
        q = 0;
    }
    else if (r >= 2147483648.0f)
    {
        q = INT32_MAX;
    }
    else if (r < -2147483648.0f)
    {
        q = INT32_MIN;
    }
    else
    {
        q = (int64_t)r;
    }
    return q + zero_point;
}

void edgegen_quantize_f32_s8(const float *input, int8_t *output, int32_t size, float scale, int32_t zero_point)
{
    for (int32_t i = 0; i < size; i++)
    {
        const int64_t q = edgegen_quantize_code(input[i], scale, zero_point);
        output[i] = (int8_t)(q < INT8_MIN ? INT8_MIN : (q > INT8_MAX ? INT8_MAX : q));
    }
}

void edgegen_quantize_f32_s16(const float *input, int16_t *output, int32_t size, float scale, int32_t zero_point)
{
    for (int32_t i = 0; i < size; i++)
    {
        const int64_t q = edgegen_quantize_code(input[i], scale, zero_point);
        output[i] = (int16_t)(q < INT16_MIN ? INT16_MIN : (q > INT16_MAX ? INT16_MAX : q));
    }
}

void edgegen_dequantize_s16_f32(const int16_t *input, float *output, int32_t size, double scale, int32_t zero_point)
{
    for (int32_t i = 0; i < size; i++)
    {
        output[i] = (float)(scale * (double)(input[i] - zero_point));
    }
}

/* TFLM reference_ops::Requantize: MultiplyByQuantizedMultiplier(q - input_zero_point) plus the
 * output zero point, clamped to the output type.
 *
 * With the per-call constants hoisted: the left shift wraps as edgegen_requantize's; the
 * saturating rounding doubling high multiply is floor((a x b + 2^30) / 2^31) for every product
 * but INT32_MIN x INT32_MIN (gemmlowp's nudge 1 - 2^30 for a negative product then truncation
 * toward zero gives the same: both round halves up), so a multiplier other than INT32_MIN needs
 * no saturation test; the rounding divide by 2^right is the floor shift plus one where the
 * remainder passes the threshold. On Helium the same steps run 4 elements per vector:
 * VQRDMULH (exactly that multiply, saturation included) and the rounding shift with the
 * fix-up that makes it round halves away from zero (a negative dividend minus one, then VRSHL),
 * narrowing stores, a predicated tail. */
typedef struct
{
    int32_t izp;
    uint32_t left;
    int32_t right;
    int32_t mask;
    int32_t threshold;
    int32_t multiplier;
    int32_t ozp;
} edgegen_rq32;

static inline edgegen_rq32 edgegen_rq32_of(int32_t input_zero_point, int32_t multiplier, int32_t shift,
                                           int32_t output_zero_point)
{
    edgegen_rq32 r;
    r.izp = input_zero_point;
    r.left = shift > 0 ? (uint32_t)shift : 0u;
    r.right = shift > 0 ? 0 : -shift;
    r.mask = (int32_t)(((uint32_t)1 << (uint32_t)r.right) - 1u);
    r.threshold = r.mask >> 1;
    r.multiplier = multiplier;
    r.ozp = output_zero_point;
    return r;
}

static inline int32_t edgegen_rq32_apply(int32_t q, const edgegen_rq32 *r)
{
    const int32_t scaled = (int32_t)((uint32_t)(q - r->izp) << r->left);
    const int32_t high = (int32_t)(((int64_t)scaled * r->multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t quot = (high >> r->right) + ((high & r->mask) > r->threshold + (high < 0 ? 1 : 0) ? 1 : 0);
    return edgegen_wrap_add(quot, r->ozp);
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
static inline int32x4_t edgegen_rq32_mve(int32x4_t q, const edgegen_rq32 *r, int32x4_t lo, int32x4_t hi)
{
    const int32x4_t scaled = vshlq_s32(vsubq_n_s32(q, r->izp), vdupq_n_s32((int32_t)r->left));
    const int32x4_t high = vqrdmulhq_n_s32(scaled, r->multiplier);
    const int32x4_t neg_right = vdupq_n_s32(-r->right);
    const int32x4_t fixup = vshrq_n_s32(vandq_s32(high, neg_right), 31);
    const int32x4_t quot = vrshlq_s32(vqaddq_s32(high, fixup), neg_right);
    return vminq_s32(vmaxq_s32(vaddq_n_s32(quot, r->ozp), lo), hi);
}
#define EDGEGEN_REQUANTIZE_MVE(LOAD, STORE, LO, HI)                                                               \
    const int32x4_t lo = vdupq_n_s32(LO), hi = vdupq_n_s32(HI);                                                    \
    for (int32_t i = 0; i < size; i += 4)                                                                          \
    {                                                                                                              \
        const mve_pred16_t p = vctp32q((uint32_t)(size - i));                                                      \
        STORE(output + i, edgegen_rq32_mve(LOAD(input + i, p), &r, lo, hi), p);                                    \
    }                                                                                                              \
    return;
#else
#define EDGEGEN_REQUANTIZE_MVE(LOAD, STORE, LO, HI)
#endif

/* the clamp to the output type: SSAT where the CPU has it (the builtin: arm_acle.h's __ssat macro
 * trips -Wsign-conversion) */
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
#define EDGEGEN_RQ_SAT(V, BITS, LO, HI) __builtin_arm_ssat((V), (BITS))
#else
#define EDGEGEN_RQ_SAT(V, BITS, LO, HI) ((V) < (LO) ? (LO) : ((V) > (HI) ? (HI) : (V)))
#endif

#define EDGEGEN_REQUANTIZE(NAME, IN, OUT, BITS, LO, HI, LOAD, STORE)                                                   \
    void NAME(const IN *input, OUT *output, int32_t size, int32_t input_zero_point, int32_t multiplier,            \
              int32_t shift, int32_t output_zero_point)                                                            \
    {                                                                                                              \
        const edgegen_rq32 r = edgegen_rq32_of(input_zero_point, multiplier, shift, output_zero_point);            \
        if (multiplier == INT32_MIN)                                                                               \
        {                                                                                                          \
            for (int32_t i = 0; i < size; i++)                                                                     \
            {                                                                                                      \
                const int32_t v = edgegen_wrap_add(                                                                \
                    edgegen_requantize(input[i] - input_zero_point, multiplier, shift), output_zero_point);        \
                output[i] = (OUT)(v < (LO) ? (LO) : (v > (HI) ? (HI) : v));                                        \
            }                                                                                                      \
            return;                                                                                                \
        }                                                                                                          \
        EDGEGEN_REQUANTIZE_MVE(LOAD, STORE, LO, HI)                                                                \
        for (int32_t i = 0; i < size; i++)                                                                         \
        {                                                                                                          \
            const int32_t v = edgegen_rq32_apply(input[i], &r);                                                    \
            output[i] = (OUT)EDGEGEN_RQ_SAT(v, BITS, LO, HI);                                                      \
        }                                                                                                          \
    }

EDGEGEN_REQUANTIZE(edgegen_requantize_s8_s16, int8_t, int16_t, 16, INT16_MIN, INT16_MAX, vldrbq_z_s32, vstrhq_p_s32)
EDGEGEN_REQUANTIZE(edgegen_requantize_s16_s8, int16_t, int8_t, 8, INT8_MIN, INT8_MAX, vldrhq_z_s32, vstrbq_p_s32)
EDGEGEN_REQUANTIZE(edgegen_requantize_s16_s16, int16_t, int16_t, 16, INT16_MIN, INT16_MAX, vldrhq_z_s32, vstrhq_p_s32)

void edgegen_dequantize_s8_f32(const int8_t *input, float *output, int32_t size, double scale, int32_t zero_point)
{
    for (int32_t i = 0; i < size; i++)
    {
        output[i] = (float)(scale * (double)(input[i] - zero_point));
    }
}

void edgegen_prelu_s8(const int8_t *input, const int8_t *alpha, const edgegen_broadcast *broadcast, int8_t *output,
                      int32_t input_offset, int32_t alpha_offset, int32_t output_offset, int32_t mult_1,
                      int32_t shift_1, int32_t mult_2, int32_t shift_2)
{
    EDGEGEN_FOR_BROADCAST(broadcast, i1, i2, o, {
        const int32_t x = input[i1] + input_offset;
        /* |x|, |alpha| <= 255: the product fits int32 */
        const int32_t y = x >= 0 ? edgegen_requantize(x, mult_1, shift_1)
                                 : edgegen_requantize(x * (alpha[i2] + alpha_offset), mult_2, shift_2);
        output[o] = edgegen_clamp_s8(edgegen_wrap_add(y, output_offset), INT8_MIN, INT8_MAX);
    });
}

void edgegen_channel_lut_s8(const int8_t *input, int8_t *output, const int8_t *tables, int32_t channels, int32_t size)
{
    for (int32_t p = 0; p < size; p += channels)
    {
        const int8_t *table = tables + 128;
        for (int32_t c = 0; c < channels; c++, table += 256)
        {
            output[p + c] = table[input[p + c]];
        }
    }
}

/* edgegen's int8 RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (CMSIS-NN has neither), bit-exact with
 * TFLM's reference kernels (ResizeNearestNeighbor; ResizeBilinearInteger with its 10-bit scale).
 *
 * TFLM computes the source coordinates of every output row and column inside its loops; they
 * depend on that row or column only, so edgegen computes them at build time (edgegen/ops/resize.py)
 * into two int32 tables, one entry per output row and per output column:
 *   nearest:  the source offset in elements (row: in_y * W * C; column: in_x * C);
 *   bilinear: three values, the lower and upper source offsets and the upper tap's weight d in
 *             1/1024 (the lower tap weighs 1024 - d; d may be negative at the top and left edges
 *             with half-pixel centers, where both taps are the same pixel).
 * No division and no coordinate arithmetic remains at run time.
 *
 * Bilinear sums the four taps times their weight products (units of 2^-20) in int32: Python's
 * tables keep |d| <= 512 below zero and d < 1024 above, so |sum| <= 128 * 2048 * 2048 = 2^29.
 * It rounds as TFLM's default (double rounding) build: half away from zero, then divided by 2^20
 * towards zero (arithmetic shifts only, see the loop). */

/* output[b][y][x][:] = input[b * in_batch + y_table[y] + x_table[x] + :], depth bytes each. An
 * output row whose source row is the previous one's (integer upscaling) is a copy of that row. */
void edgegen_resize_nearest_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t in_batch, int32_t out_h,
                               int32_t out_w, int32_t depth, const int32_t *y_table, const int32_t *x_table)
{
    const size_t row_bytes = (size_t)out_w * (size_t)depth;
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in_b = input + b * in_batch;
        for (int32_t y = 0; y < out_h; y++)
        {
            if (y > 0 && y_table[y] == y_table[y - 1])
            {
                memcpy(output, output - row_bytes, row_bytes);
                output += row_bytes;
                continue;
            }
            const int8_t *in_row = in_b + y_table[y];
            if (depth >= 8)
            {
                for (int32_t x = 0; x < out_w; x++)
                {
                    memcpy(output, in_row + x_table[x], (size_t)depth);
                    output += depth;
                }
            }
            else
            {
                for (int32_t x = 0; x < out_w; x++)
                {
                    const int8_t *src = in_row + x_table[x];
                    for (int32_t c = 0; c < depth; c++)
                    {
                        *output++ = src[c];
                    }
                }
            }
        }
    }
}

/* TFLM's ResizeBilinearInteger with the coordinates of the tables (three int32 per output row and
 * per output column: lower offset, upper offset, upper weight). */
void edgegen_resize_bilinear_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t in_batch, int32_t out_h,
                                int32_t out_w, int32_t depth, const int32_t *y_table, const int32_t *x_table)
{
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in_b = input + b * in_batch;
        for (int32_t y = 0; y < out_h; y++)
        {
            const int8_t *r0 = in_b + y_table[3 * y];
            const int8_t *r1 = in_b + y_table[3 * y + 1];
            const int32_t wy1 = y_table[3 * y + 2];
            const int32_t wy0 = 1024 - wy1;
            for (int32_t x = 0; x < out_w; x++)
            {
                const int32_t c0 = x_table[3 * x];
                const int32_t c1 = x_table[3 * x + 1];
                const int32_t wx1 = x_table[3 * x + 2];
                const int32_t wx0 = 1024 - wx1;
                const int32_t w00 = wy0 * wx0;
                const int32_t w10 = wy1 * wx0;
                const int32_t w01 = wy0 * wx1;
                const int32_t w11 = wy1 * wx1;
                const int8_t *p00 = r0 + c0;
                const int8_t *p10 = r1 + c0;
                const int8_t *p01 = r0 + c1;
                const int8_t *p11 = r1 + c1;
                for (int32_t c = 0; c < depth; c++)
                {
                    /* TFLM: (acc + (acc > 0 ? 2^19 : -2^19)) / 2^20, towards zero; for acc < 0 that
                     * is the floor of (acc - 1 + 2^19) / 2^20, so acc - 1 where negative (acc plus
                     * its sign, acc >> 31) and one arithmetic shift do both */
                    const int32_t acc = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11;
                    *output++ = (int8_t)((acc + (acc >> 31) + (1 << 19)) >> 20);
                }
            }
        }
    }
}

/* SMLAD for TRANSPOSE_CONV's inner loop on DSP cores without Helium: measured on qemu-m4, 18 % fewer
 * instructions at 20 input channels, about 1 % at 1..5; on the Cortex-M55 the same code cost 6 % more
 * on the small-channel op models, so it keeps the plain loop there */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !(defined(__ARM_FEATURE_MVE) && __ARM_FEATURE_MVE)
#define EDGEGEN_TCONV_DSP 1
/* (a.lo + sext(v byte 0), a.hi + sext(v byte 2)) and the same of bytes 1 and 3 */
static inline uint32_t edgegen_sxtab16(uint32_t a, uint32_t v)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(v));
    return r;
}

static inline uint32_t edgegen_sxtab16_ror8(uint32_t a, uint32_t v)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}

/* acc + x02 . (w0, w2) + x13 . (w1, w3) for the 4 weight bytes at w (SMLAD wraps like uint32) */
static inline uint32_t edgegen_smlad_pair(uint32_t x02, uint32_t x13, const int8_t *w, uint32_t acc)
{
    uint32_t wv, w02, w13;
    memcpy(&wv, w, 4);
    __asm__("sxtb16 %0, %1" : "=r"(w02) : "r"(wv));
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(w13) : "r"(wv));
    __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x02), "r"(w02));
    __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x13), "r"(w13));
    return acc;
}
#else
#define EDGEGEN_TCONV_DSP 0
#endif

/* Output pixel (oy, ox), channels c .. c + nc - 1 (nc 1..4): the sums of input_offset-shifted
 * inputs times weights over the taps (fy, fx) whose input pixel (oy + pad - fy) / stride is whole
 * and in range, stepped by the stride from the first whole one (no division per tap). Up to four
 * channels share each input load. */
static void edgegen_transpose_conv_taps(const cmsis_nn_transpose_conv_params *p, const cmsis_nn_dims *id,
                                        const int8_t *image, const cmsis_nn_dims *fd, const int8_t *filter,
                                        int32_t oy, int32_t ox, int32_t c, int32_t nc, uint32_t acc[4])
{
    const int32_t ty = oy + p->padding.h;
    const int32_t tx = ox + p->padding.w;
    const size_t channel = (size_t)fd->h * (size_t)fd->w * (size_t)fd->c;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    for (int32_t fy = ty % p->stride.h; fy < fd->h && fy <= ty; fy += p->stride.h)
    {
        const int32_t iy = (ty - fy) / p->stride.h;
        if (iy >= id->h)
        {
            continue;
        }
        for (int32_t fx = tx % p->stride.w; fx < fd->w && fx <= tx; fx += p->stride.w)
        {
            const int32_t ix = (tx - fx) / p->stride.w;
            if (ix >= id->w)
            {
                continue;
            }
            const int8_t *x = image + ((size_t)iy * (size_t)id->w + (size_t)ix) * (size_t)id->c;
            const int8_t *w0 = filter + (((size_t)c * (size_t)fd->h + (size_t)fy) * (size_t)fd->w + (size_t)fx) *
                                            (size_t)fd->c;
            if (nc == 4)
            {
                const int8_t *w1 = w0 + channel;
                const int8_t *w2 = w1 + channel;
                const int8_t *w3 = w2 + channel;
                uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                int32_t k = 0;
#if EDGEGEN_TCONV_DSP
                /* four input channels at a time: (x + offset) widened to two int16 pairs once, then
                 * two SMLAD per output channel (the same integer products, wrapping as uint32) */
                const uint32_t off2 = ((uint32_t)(uint16_t)p->input_offset << 16) | (uint16_t)p->input_offset;
                for (; k + 4 <= id->c; k += 4)
                {
                    uint32_t xv;
                    memcpy(&xv, x + k, 4);
                    const uint32_t x02 = edgegen_sxtab16(off2, xv);
                    const uint32_t x13 = edgegen_sxtab16_ror8(off2, xv);
                    a0 = edgegen_smlad_pair(x02, x13, w0 + k, a0);
                    a1 = edgegen_smlad_pair(x02, x13, w1 + k, a1);
                    a2 = edgegen_smlad_pair(x02, x13, w2 + k, a2);
                    a3 = edgegen_smlad_pair(x02, x13, w3 + k, a3);
                }
#endif
                for (; k < id->c; k++)
                {
                    const int32_t v = x[k] + p->input_offset;
                    a0 += (uint32_t)(v * w0[k]);
                    a1 += (uint32_t)(v * w1[k]);
                    a2 += (uint32_t)(v * w2[k]);
                    a3 += (uint32_t)(v * w3[k]);
                }
                acc[0] += a0;
                acc[1] += a1;
                acc[2] += a2;
                acc[3] += a3;
                continue;
            }
            for (int32_t j = 0; j < nc; j++)
            {
                const int8_t *w = w0 + (size_t)j * channel;
                uint32_t a = 0;
                for (int32_t k = 0; k < id->c; k++)
                {
                    a += (uint32_t)((x[k] + p->input_offset) * w[k]);
                }
                acc[j] += a;
            }
        }
    }
}

void edgegen_transpose_conv_s8(const cmsis_nn_transpose_conv_params *params,
                               const cmsis_nn_per_channel_quant_params *quant, const cmsis_nn_dims *input_dims,
                               const int8_t *input, const cmsis_nn_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output)
{
    const size_t image = (size_t)input_dims->h * (size_t)input_dims->w * (size_t)input_dims->c;
    for (int32_t n = 0; n < output_dims->n; n++)
    {
        for (int32_t oy = 0; oy < output_dims->h; oy++)
        {
            for (int32_t ox = 0; ox < output_dims->w; ox++)
            {
                for (int32_t c = 0; c < output_dims->c; c += 4)
                {
                    const int32_t nc = output_dims->c - c < 4 ? output_dims->c - c : 4;
                    uint32_t acc[4];
                    edgegen_transpose_conv_taps(params, input_dims, input + (size_t)n * image, filter_dims, filter, oy,
                                                ox, c, nc, acc);
                    for (int32_t j = 0; j < nc; j++)
                    {
                        uint32_t sum = acc[j];
                        if (bias != NULL)
                        {
                            sum += (uint32_t)bias[c + j];
                        }
                        const int32_t y = edgegen_requantize((int32_t)sum, quant->multiplier[c + j], quant->shift[c + j]);
                        *output++ = edgegen_clamp_s8(edgegen_wrap_add(y, params->output_offset), params->activation.min,
                                                     params->activation.max);
                    }
                }
            }
        }
    }
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
/* Helium path of edgegen_fully_connected_s16: eight columns a vector, the int8 weights widened by the
 * load (VLDRB.S16); VMLALDAVA adds the eight products into an int64 exactly, VMLADAVA into a wrapping
 * int32 (the int32 accumulator). Columns past the last multiple of eight run the scalar loop. */
static void edgegen_fc16_dot2(const int16_t *in, const int8_t *w0, const int8_t *w1, int32_t depth,
                              int32_t int32_accumulator, int64_t *acc0, int64_t *acc1)
{
    int32_t k = 0;
    if (int32_accumulator)
    {
        int32_t s0 = 0, s1 = 0;
        for (; k + 8 <= depth; k += 8)
        {
            const int16x8_t x = vldrhq_s16(in + k);
            s0 = vmladavaq_s16(s0, x, vldrbq_s16(w0 + k));
            s1 = vmladavaq_s16(s1, x, vldrbq_s16(w1 + k));
        }
        uint32_t u0 = (uint32_t)s0, u1 = (uint32_t)s1;
        for (; k < depth; k++)
        {
            u0 += (uint32_t)((int32_t)in[k] * (int32_t)w0[k]);
            u1 += (uint32_t)((int32_t)in[k] * (int32_t)w1[k]);
        }
        *acc0 = (int32_t)u0;
        *acc1 = (int32_t)u1;
        return;
    }
    int64_t t0 = 0, t1 = 0;
    for (; k + 8 <= depth; k += 8)
    {
        const int16x8_t x = vldrhq_s16(in + k);
        t0 = vmlaldavaq_s16(t0, x, vldrbq_s16(w0 + k));
        t1 = vmlaldavaq_s16(t1, x, vldrbq_s16(w1 + k));
    }
    for (; k < depth; k++)
    {
        t0 += (int32_t)in[k] * (int32_t)w0[k];
        t1 += (int32_t)in[k] * (int32_t)w1[k];
    }
    *acc0 = t0;
    *acc1 = t1;
}
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* DSP path of edgegen_fully_connected_s16: four columns at a time, two units sharing the inputs.
 * SXTB16 sign-extends weights 0 and 2 (and, rotated, 1 and 3) into halfword pairs; the input pairs
 * are repacked to match (x0, x2) and (x1, x3); SMLALD adds both products into an int64, exactly
 * (SMLAD into a wrapping int32 for the int32 accumulator, wrapping as the sequential sum does). */
static inline uint32_t edgegen_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t edgegen_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline void edgegen_smlald(uint32_t a, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    __asm__("smlald %0, %1, %2, %3" : "+r"(*lo), "+r"(*hi) : "r"(a), "r"(b));
}

static inline uint32_t edgegen_smlad(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* (x0, x2) and (x1, x3) of four int16 inputs, to pair with SXTB16's (w0, w2) and (w1, w3) */
#define EDGEGEN_FC16_PAIRS(in, k, x02, x13)                   \
    uint32_t x01_, x23_;                                      \
    memcpy(&x01_, (in) + (k), 4);                             \
    memcpy(&x23_, (in) + (k) + 2, 4);                         \
    const uint32_t x02 = (x01_ & 0xFFFFu) | (x23_ << 16);     \
    const uint32_t x13 = (x01_ >> 16) | (x23_ & 0xFFFF0000u)

/* the exact int64 sums of input row `in` with weight rows w0 and w1 (w1 may equal w0) */
static void edgegen_fc16_dot2_s64(const int16_t *in, const int8_t *w0, const int8_t *w1, int32_t depth,
                                  int64_t *acc0, int64_t *acc1)
{
    uint32_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4)
    {
        EDGEGEN_FC16_PAIRS(in, k, x02, x13);
        uint32_t a, b;
        memcpy(&a, w0 + k, 4);
        memcpy(&b, w1 + k, 4);
        edgegen_smlald(edgegen_sxtb16(a), x02, &lo0, &hi0);
        edgegen_smlald(edgegen_sxtb16_ror8(a), x13, &lo0, &hi0);
        edgegen_smlald(edgegen_sxtb16(b), x02, &lo1, &hi1);
        edgegen_smlald(edgegen_sxtb16_ror8(b), x13, &lo1, &hi1);
    }
    int64_t t0 = (int64_t)(((uint64_t)hi0 << 32) | lo0), t1 = (int64_t)(((uint64_t)hi1 << 32) | lo1);
    for (; k < depth; k++)
    {
        t0 += (int32_t)in[k] * (int32_t)w0[k];
        t1 += (int32_t)in[k] * (int32_t)w1[k];
    }
    *acc0 = t0;
    *acc1 = t1;
}

/* the wrapping int32 sums of the same (TFLM's int32 accumulator), sign-extended */
static void edgegen_fc16_dot2_s32(const int16_t *in, const int8_t *w0, const int8_t *w1, int32_t depth,
                                  int64_t *acc0, int64_t *acc1)
{
    uint32_t s0 = 0, s1 = 0;
    int32_t k = 0;
    for (; k + 4 <= depth; k += 4)
    {
        EDGEGEN_FC16_PAIRS(in, k, x02, x13);
        uint32_t a, b;
        memcpy(&a, w0 + k, 4);
        memcpy(&b, w1 + k, 4);
        s0 = edgegen_smlad(edgegen_sxtb16(a), x02, s0);
        s0 = edgegen_smlad(edgegen_sxtb16_ror8(a), x13, s0);
        s1 = edgegen_smlad(edgegen_sxtb16(b), x02, s1);
        s1 = edgegen_smlad(edgegen_sxtb16_ror8(b), x13, s1);
    }
    for (; k < depth; k++)
    {
        s0 += (uint32_t)((int32_t)in[k] * (int32_t)w0[k]);
        s1 += (uint32_t)((int32_t)in[k] * (int32_t)w1[k]);
    }
    *acc0 = (int32_t)s0;
    *acc1 = (int32_t)s1;
}

static void edgegen_fc16_dot2(const int16_t *in, const int8_t *w0, const int8_t *w1, int32_t depth,
                              int32_t int32_accumulator, int64_t *acc0, int64_t *acc1)
{
    if (int32_accumulator)
    {
        edgegen_fc16_dot2_s32(in, w0, w1, depth, acc0, acc1);
    }
    else
    {
        edgegen_fc16_dot2_s64(in, w0, w1, depth, acc0, acc1);
    }
}
#else
/* the int64 sums of input row `in` with weight rows w0 and w1 over depth columns (int32_accumulator:
 * wrapping int32 sums, sign-extended) */
static void edgegen_fc16_dot2(const int16_t *in, const int8_t *w0, const int8_t *w1, int32_t depth,
                              int32_t int32_accumulator, int64_t *acc0, int64_t *acc1)
{
    int64_t t0 = 0, t1 = 0;
    uint32_t s0 = 0, s1 = 0;
    for (int32_t k = 0; k < depth; k++)
    {
        const int32_t p0 = (int32_t)in[k] * (int32_t)w0[k], p1 = (int32_t)in[k] * (int32_t)w1[k];
        t0 += p0;
        t1 += p1;
        s0 += (uint32_t)p0;
        s1 += (uint32_t)p1;
    }
    *acc0 = int32_accumulator ? (int64_t)(int32_t)s0 : t0;
    *acc1 = int32_accumulator ? (int64_t)(int32_t)s1 : t1;
}
#endif

/* one output: the bias added in the accumulator's type, then the requantization and the clamp */
static int16_t edgegen_fc16_finish(int64_t acc, const int64_t *bias64, const int32_t *bias32, int32_t int32_accumulator,
                                   int32_t u, int32_t m, int32_t s, int32_t act_min, int32_t act_max)
{
    int32_t value;
    if (int32_accumulator)
    {
        uint32_t a = (uint32_t)acc;
        if (bias32 != NULL)
        {
            a += (uint32_t)bias32[u];
        }
        value = edgegen_requantize((int32_t)a, m, s);
    }
    else
    {
        if (bias64 != NULL)
        {
            acc += bias64[u];
        }
        value = edgegen_requantize_s64(acc, m, s);
    }
    return edgegen_clamp_s16(value, act_min, act_max);
}

void edgegen_fully_connected_s16(const int16_t *input, const int8_t *weights, const int64_t *bias64,
                                 const int32_t *bias32, int32_t int32_accumulator, const int32_t *multipliers,
                                 const int32_t *shifts, int32_t per_channel, int32_t batches, int32_t depth,
                                 int32_t units, int32_t act_min, int32_t act_max, int16_t *output)
{
    for (int32_t b = 0; b < batches; b++)
    {
        const int16_t *in = input + (size_t)b * (size_t)depth;
        int16_t *out = output + (size_t)b * (size_t)units;
        for (int32_t u = 0; u < units; u += 2)
        {
            const int32_t v = u + 1 < units ? u + 1 : u; /* an odd last unit is computed twice */
            int64_t acc0, acc1;
            edgegen_fc16_dot2(in, weights + (size_t)u * (size_t)depth, weights + (size_t)v * (size_t)depth, depth,
                              int32_accumulator, &acc0, &acc1);
            out[u] = edgegen_fc16_finish(acc0, bias64, bias32, int32_accumulator, u, multipliers[per_channel ? u : 0],
                                         shifts[per_channel ? u : 0], act_min, act_max);
            out[v] = edgegen_fc16_finish(acc1, bias64, bias32, int32_accumulator, v, multipliers[per_channel ? v : 0],
                                         shifts[per_channel ? v : 0], act_min, act_max);
        }
    }
}
