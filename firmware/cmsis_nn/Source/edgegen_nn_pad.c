/*
 * edgegen portable CMSIS-NN subset: constant padding of a 4-D tensor (s8).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"

#include <stddef.h>
#include <string.h>

arm_cmsis_nn_status arm_pad_s8(const int8_t *input,
                               int8_t *output,
                               const int8_t pad_value,
                               const cmsis_nn_dims *input_size,
                               const cmsis_nn_dims *pre_pad,
                               const cmsis_nn_dims *post_pad)
{
    const int32_t on = pre_pad->n + input_size->n + post_pad->n;
    const int32_t oh = pre_pad->h + input_size->h + post_pad->h;
    const int32_t ow = pre_pad->w + input_size->w + post_pad->w;
    const int32_t oc = pre_pad->c + input_size->c + post_pad->c;
    if (on < 0 || oh < 0 || ow < 0 || oc < 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    /* fill, then copy each input row of channels into place */
    memset(output, pad_value, (size_t)on * (size_t)oh * (size_t)ow * (size_t)oc);
    for (int32_t n = 0; n < input_size->n; n++)
    {
        for (int32_t h = 0; h < input_size->h; h++)
        {
            for (int32_t w = 0; w < input_size->w; w++)
            {
                const int8_t *src = input + (((size_t)n * (size_t)input_size->h + (size_t)h) * (size_t)input_size->w +
                                             (size_t)w) * (size_t)input_size->c;
                int8_t *dst = output + ((((size_t)(n + pre_pad->n) * (size_t)oh + (size_t)(h + pre_pad->h)) *
                                             (size_t)ow + (size_t)(w + pre_pad->w)) * (size_t)oc + (size_t)pre_pad->c);
                memcpy(dst, src, (size_t)input_size->c);
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
