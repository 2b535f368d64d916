/*
 * edgegen portable CMSIS-NN subset: elementwise maximum and minimum (s8) with TFLite's 4-D
 * broadcasting: an input dimension of 1 against a larger output dimension repeats.
 *
 * The raw int8 values are compared, as TFLM does (the operands share the output's quantization).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"

#include <stddef.h>

/* An input's element stride along each of n, h, w, c: 0 where it is broadcast. */
static void edgegen_nn_broadcast_strides(const cmsis_nn_dims *in, const cmsis_nn_dims *out, size_t strides[4])
{
    const int32_t d[4] = {in->n, in->h, in->w, in->c};
    const int32_t o[4] = {out->n, out->h, out->w, out->c};
    size_t acc = 1;
    for (int k = 3; k >= 0; k--)
    {
        strides[k] = (d[k] == 1 && o[k] != 1) ? 0 : acc;
        acc *= (size_t)d[k];
    }
}

static arm_cmsis_nn_status edgegen_nn_max_min_s8(const int8_t *input_1_data,
                                                 const cmsis_nn_dims *input_1_dims,
                                                 const int8_t *input_2_data,
                                                 const cmsis_nn_dims *input_2_dims,
                                                 int8_t *output_data,
                                                 const cmsis_nn_dims *output_dims,
                                                 const int maximum)
{
    size_t s1[4];
    size_t s2[4];
    edgegen_nn_broadcast_strides(input_1_dims, output_dims, s1);
    edgegen_nn_broadcast_strides(input_2_dims, output_dims, s2);
    size_t o = 0;
    for (int32_t n = 0; n < output_dims->n; n++)
    {
        for (int32_t h = 0; h < output_dims->h; h++)
        {
            for (int32_t w = 0; w < output_dims->w; w++)
            {
                const size_t b1 = (size_t)n * s1[0] + (size_t)h * s1[1] + (size_t)w * s1[2];
                const size_t b2 = (size_t)n * s2[0] + (size_t)h * s2[1] + (size_t)w * s2[2];
                for (int32_t c = 0; c < output_dims->c; c++, o++)
                {
                    const int8_t a = input_1_data[b1 + (size_t)c * s1[3]];
                    const int8_t b = input_2_data[b2 + (size_t)c * s2[3]];
                    output_data[o] = maximum ? (a > b ? a : b) : (a < b ? a : b);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_maximum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims)
{
    (void)ctx;
    return edgegen_nn_max_min_s8(input_1_data, input_1_dims, input_2_data, input_2_dims, output_data, output_dims, 1);
}

arm_cmsis_nn_status arm_minimum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims)
{
    (void)ctx;
    return edgegen_nn_max_min_s8(input_1_data, input_1_dims, input_2_data, input_2_dims, output_data, output_dims, 0);
}
