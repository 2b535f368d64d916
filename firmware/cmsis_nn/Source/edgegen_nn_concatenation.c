/*
 * edgegen portable CMSIS-NN subset: concatenation (s8) along x (innermost) .. w (outermost).
 *
 * Each call copies one input into its place in the output; the output extent along the
 * concatenation axis is output_{x,y,z}, the input's start along it offset_{x,y,z,w}.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"

#include <stddef.h>
#include <string.h>

/* Copy `outer` blocks of `block` bytes from a dense input into an output whose blocks are
 * `out_stride` bytes apart, starting at byte `start`. */
static void edgegen_nn_concat_copy(const int8_t *input, int8_t *output, size_t outer, size_t block,
                                   size_t out_stride, size_t start)
{
    for (size_t i = 0; i < outer; i++)
    {
        memcpy(output + i * out_stride + start, input + i * block, block);
    }
}

void arm_concatenation_s8_x(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_x,
                            const uint32_t offset_x)
{
    edgegen_nn_concat_copy(input, output, (size_t)input_y * input_z * input_w, input_x, output_x, offset_x);
}

void arm_concatenation_s8_y(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_y,
                            const uint32_t offset_y)
{
    edgegen_nn_concat_copy(input, output, (size_t)input_z * input_w, (size_t)input_x * input_y,
                           (size_t)input_x * output_y, (size_t)offset_y * input_x);
}

void arm_concatenation_s8_z(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_z,
                            const uint32_t offset_z)
{
    edgegen_nn_concat_copy(input, output, (size_t)input_w, (size_t)input_x * input_y * input_z,
                           (size_t)input_x * input_y * output_z, (size_t)offset_z * input_x * input_y);
}

void arm_concatenation_s8_w(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint32_t offset_w)
{
    const size_t block = (size_t)input_x * input_y * input_z;
    memcpy(output + (size_t)offset_w * block, input, block * input_w);
}
