/*
 * edgegen portable CMSIS-NN subset: softmax (s8 in, s8 out with zero point -128, scale 1/256).
 *
 * gemmlowp's fixed-point exp and reciprocal, in the order of TFLM's reference kernel and of
 * CMSIS-NN's arm_nn_softmax_common_s8 (which agree bit for bit): differences to the row
 * maximum, scaled to Q5.26, exponentiated, summed in Q12.19, the sum's reciprocal, and each
 * exp times the reciprocal shifted to 8 fractional bits.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>

#define EDGEGEN_NN_DIFF_INTEGER_BITS 5
#define EDGEGEN_NN_ACCUM_BITS 12

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent: a saturating left shift. */
static int32_t edgegen_nn_sat_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (uint32_t)(31 - exponent)) - 1u);
    if (x > threshold)
    {
        return INT32_MAX;
    }
    if (x < -threshold)
    {
        return INT32_MIN;
    }
    return edgegen_nn_wrap_shl(x, exponent);
}

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out. */
static int32_t edgegen_nn_exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = edgegen_nn_wrap_add(a, 1 << 28);
    const int32_t x2 = edgegen_nn_srdhm(x, x);
    const int32_t x3 = edgegen_nn_srdhm(x2, x);
    const int32_t x4 = edgegen_nn_srdhm(x2, x2);
    const int32_t x4_over_4 = edgegen_nn_divide_by_pot(x4, 2);
    const int32_t poly = edgegen_nn_divide_by_pot(
        edgegen_nn_wrap_add(edgegen_nn_srdhm(edgegen_nn_wrap_add(x4_over_4, x3), constant_1_over_3), x2), 1);
    return edgegen_nn_wrap_add(constant_term, edgegen_nn_srdhm(constant_term, edgegen_nn_wrap_add(x, poly)));
}

/* gemmlowp exp_on_negative_values for a Q5.26 input; Q0.31 result. */
static int32_t edgegen_nn_exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t fractional_bits = 31 - EDGEGEN_NN_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    int32_t result =
        edgegen_nn_exp_on_interval(edgegen_nn_sat_shl(a_mod_quarter_minus_one_quarter, EDGEGEN_NN_DIFF_INTEGER_BITS));
    const int32_t remainder = edgegen_nn_wrap_sub(a_mod_quarter_minus_one_quarter, a);
    for (int32_t k = 0; k < 7; k++)
    {
        /* exponents -2 .. 4 of the barrel shifter, all below the 5 integer bits */
        if (remainder & (int32_t)((uint32_t)1 << (uint32_t)(fractional_bits - 2 + k)))
        {
            result = edgegen_nn_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 in and out. */
static int32_t edgegen_nn_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = edgegen_nn_wrap_add(1515870810, edgegen_nn_srdhm(half_denominator, -1010580540));
    for (int32_t i = 0; i < 3; i++)
    {
        const int32_t half_denominator_times_x = edgegen_nn_srdhm(half_denominator, x);
        const int32_t one_minus = edgegen_nn_wrap_sub(1 << 29, half_denominator_times_x);
        x = edgegen_nn_wrap_add(x, edgegen_nn_sat_shl(edgegen_nn_srdhm(x, one_minus), 2));
    }
    return edgegen_nn_sat_shl(x, 1);
}

static int32_t edgegen_nn_clz(uint32_t x)
{
    int32_t n = 0;
    if (x == 0)
    {
        return 32;
    }
    while ((x & 0x80000000u) == 0)
    {
        x <<= 1;
        n++;
    }
    return n;
}

void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output)
{
    for (int32_t r = 0; r < num_rows; r++)
    {
        const int8_t *in = input + (size_t)r * (size_t)row_size;
        int8_t *out = output + (size_t)r * (size_t)row_size;
        int32_t max = INT8_MIN;
        for (int32_t i = 0; i < row_size; i++)
        {
            max = EDGEGEN_NN_MAX(max, in[i]);
        }
        uint32_t sum = 0;
        for (int32_t i = 0; i < row_size; i++)
        {
            const int32_t diff = in[i] - max;
            if (diff >= diff_min)
            {
                const int32_t e =
                    edgegen_nn_exp_on_negative_values(edgegen_nn_srdhm(edgegen_nn_wrap_shl(diff, shift), mult));
                sum += (uint32_t)edgegen_nn_divide_by_pot(e, EDGEGEN_NN_ACCUM_BITS);
            }
        }
        const int32_t headroom = edgegen_nn_clz(sum);
        const int32_t shifted_sum_minus_one = (int32_t)((sum << (uint32_t)(headroom & 31)) - 0x80000000u);
        const int32_t shifted_scale = edgegen_nn_one_over_one_plus_x(headroom == 32 ? INT32_MIN : shifted_sum_minus_one);
        const int32_t bits_over_unit = EDGEGEN_NN_ACCUM_BITS - headroom + 31 - 8;
        for (int32_t i = 0; i < row_size; i++)
        {
            const int32_t diff = in[i] - max;
            if (diff >= diff_min)
            {
                const int32_t e =
                    edgegen_nn_exp_on_negative_values(edgegen_nn_srdhm(edgegen_nn_wrap_shl(diff, shift), mult));
                const int32_t res =
                    edgegen_nn_divide_by_pot(edgegen_nn_srdhm(shifted_scale, e), bits_over_unit) + INT8_MIN;
                out[i] = edgegen_nn_clamp_s8(res, INT8_MIN, INT8_MAX);
            }
            else
            {
                out[i] = INT8_MIN;
            }
        }
    }
}
