/*
 * edgegen portable CMSIS-NN subset: elementwise add and multiply (s8, and s16 for TFLite's 16x8
 * scheme), same-shape operands.
 *
 * In-place use (output == input_1) is allowed: each element is read before it is written.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

/* The s8 and s16 functions compute the same arithmetic (TFLM's int16 ADD is its int8 general path
 * with left_shift 15); one loop per operation, instantiated with the output type's clamp. */
#define EDGEGEN_NN_ADD_LOOP(clamp)                                                                       \
    for (int32_t i = 0; i < block_size; i++)                                                             \
    {                                                                                                    \
        const int32_t a = edgegen_nn_wrap_shl(input_1_vect[i] + input_1_offset, left_shift);             \
        const int32_t b = edgegen_nn_wrap_shl(input_2_vect[i] + input_2_offset, left_shift);             \
        const int32_t sum = edgegen_nn_wrap_add(edgegen_nn_requantize(a, input_1_mult, input_1_shift),   \
                                                edgegen_nn_requantize(b, input_2_mult, input_2_shift));  \
        const int32_t out = edgegen_nn_wrap_add(edgegen_nn_requantize(sum, out_mult, out_shift), out_offset); \
        output[i] = clamp(out, out_activation_min, out_activation_max);                                  \
    }

#define EDGEGEN_NN_MUL_LOOP(clamp)                                                                       \
    for (int32_t i = 0; i < block_size; i++)                                                             \
    {                                                                                                    \
        const int32_t prod = (input_1_vect[i] + input_1_offset) * (input_2_vect[i] + input_2_offset);    \
        const int32_t out = edgegen_nn_wrap_add(edgegen_nn_requantize(prod, out_mult, out_shift), out_offset); \
        output[i] = clamp(out, out_activation_min, out_activation_max);                                 \
    }

arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_1_mult,
                                           const int32_t input_1_shift,
                                           const int32_t input_2_offset,
                                           const int32_t input_2_mult,
                                           const int32_t input_2_shift,
                                           const int32_t left_shift,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    EDGEGEN_NN_ADD_LOOP(edgegen_nn_clamp_s8)
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_2_offset,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    EDGEGEN_NN_MUL_LOOP(edgegen_nn_clamp_s8)
    return ARM_CMSIS_NN_SUCCESS;
}

/* TFLM's int16 ADD is its int8 general path with left_shift 15 (AddGeneralParamScale): the same
 * arithmetic, so the same loop on int16_t data. */
arm_cmsis_nn_status arm_elementwise_add_s16(const int16_t *input_1_vect,
                                            const int16_t *input_2_vect,
                                            const int32_t input_1_offset,
                                            const int32_t input_1_mult,
                                            const int32_t input_1_shift,
                                            const int32_t input_2_offset,
                                            const int32_t input_2_mult,
                                            const int32_t input_2_shift,
                                            const int32_t left_shift,
                                            int16_t *output,
                                            const int32_t out_offset,
                                            const int32_t out_mult,
                                            const int32_t out_shift,
                                            const int32_t out_activation_min,
                                            const int32_t out_activation_max,
                                            const int32_t block_size)
{
    EDGEGEN_NN_ADD_LOOP(edgegen_nn_clamp_s16)
    return ARM_CMSIS_NN_SUCCESS;
}

/* int16 x int16 fits int32 (|product| <= 2^30), as in TFLM's MulElementwise. */
arm_cmsis_nn_status arm_elementwise_mul_s16(const int16_t *input_1_vect,
                                            const int16_t *input_2_vect,
                                            const int32_t input_1_offset,
                                            const int32_t input_2_offset,
                                            int16_t *output,
                                            const int32_t out_offset,
                                            const int32_t out_mult,
                                            const int32_t out_shift,
                                            const int32_t out_activation_min,
                                            const int32_t out_activation_max,
                                            const int32_t block_size)
{
    EDGEGEN_NN_MUL_LOOP(edgegen_nn_clamp_s16)
    return ARM_CMSIS_NN_SUCCESS;
}
