/*
 * edgegen portable CMSIS-NN subset: fully connected (s8), per-tensor and per-channel; s16 (16x8).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>

/* One batch row times the weight matrix, requantized by (multipliers[u * step], shifts[u * step]):
 * step 1 for per-channel, 0 for per-tensor (one pair for all units). */
static void edgegen_nn_fc_rows(const cmsis_nn_fc_params *fc_params,
                               const int32_t *multipliers,
                               const int32_t *shifts,
                               int32_t step,
                               int32_t batches,
                               const int8_t *input_data,
                               int32_t depth,
                               int32_t units,
                               const int8_t *filter_data,
                               const int32_t *bias_data,
                               int8_t *output_data)
{
    const int32_t input_offset = fc_params->input_offset;
    const int32_t filter_offset = fc_params->filter_offset;
    const int32_t output_offset = fc_params->output_offset;
    const int32_t act_min = fc_params->activation.min, act_max = fc_params->activation.max;
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in = input_data + (size_t)b * (size_t)depth;
        int32_t u = 0;
        /* four units at a time: each input value is loaded once for all four weight rows */
        for (; u + 4 <= units; u += 4)
        {
            const int8_t *w = filter_data + (size_t)u * (size_t)depth;
            uint32_t acc[4] = {0, 0, 0, 0}; /* wrapping int32 sums */
            for (int32_t k = 0; k < depth; k++)
            {
                const int32_t v = in[k] + input_offset;
                acc[0] += (uint32_t)(v * (w[k] + filter_offset));
                acc[1] += (uint32_t)(v * (w[depth + k] + filter_offset));
                acc[2] += (uint32_t)(v * (w[2 * (size_t)depth + (size_t)k] + filter_offset));
                acc[3] += (uint32_t)(v * (w[3 * (size_t)depth + (size_t)k] + filter_offset));
            }
            for (int32_t j = 0; j < 4; j++)
            {
                output_data[(size_t)b * (size_t)units + (size_t)u + (size_t)j] =
                    edgegen_nn_finish(acc[j], bias_data, u + j, multipliers[(u + j) * step], shifts[(u + j) * step],
                                      output_offset, act_min, act_max);
            }
        }
        for (; u < units; u++)
        {
            const int8_t *w = filter_data + (size_t)u * (size_t)depth;
            uint32_t acc = 0;
            for (int32_t k = 0; k < depth; k++)
            {
                acc += (uint32_t)((in[k] + input_offset) * (w[k] + filter_offset));
            }
            output_data[(size_t)b * (size_t)units + (size_t)u] = edgegen_nn_finish(
                acc, bias_data, u, multipliers[u * step], shifts[u * step], output_offset, act_min, act_max);
        }
    }
}

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    (void)output_dims;
    edgegen_nn_fc_rows(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims->n, input_data,
                       filter_dims->n, filter_dims->c, filter_data, bias_data, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
                                                       const cmsis_nn_per_channel_quant_params *quant_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const int8_t *input_data,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const int8_t *filter_data,
                                                       const cmsis_nn_dims *bias_dims,
                                                       const int32_t *bias_data,
                                                       const cmsis_nn_dims *output_dims,
                                                       int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    (void)output_dims;
    edgegen_nn_fc_rows(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims->n, input_data,
                       filter_dims->n, filter_dims->c, filter_data, bias_data, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

arm_cmsis_nn_status arm_vector_sum_s8(int32_t *vector_sum_buf,
                                      const int32_t vector_cols,
                                      const int32_t vector_rows,
                                      const int8_t *vector_data,
                                      const int32_t lhs_offset,
                                      const int32_t rhs_offset,
                                      const int32_t *bias_data)
{
    for (int32_t r = 0; r < vector_rows; r++)
    {
        const int8_t *row = vector_data + (size_t)r * (size_t)vector_cols;
        uint32_t sum = 0;
        for (int32_t k = 0; k < vector_cols; k++)
        {
            sum += (uint32_t)(row[k] + rhs_offset);
        }
        sum *= (uint32_t)lhs_offset;
        if (bias_data != NULL)
        {
            sum += (uint32_t)bias_data[r];
        }
        vector_sum_buf[r] = (int32_t)sum;
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_s16(const cmsis_nn_context *ctx,
                                            const cmsis_nn_fc_params *fc_params,
                                            const cmsis_nn_per_tensor_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int16_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int64_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int16_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    const int32_t depth = filter_dims->n, units = output_dims->c;
    const int32_t act_min = fc_params->activation.min, act_max = fc_params->activation.max;
    for (int32_t b = 0; b < input_dims->n; b++)
    {
        const int16_t *in = input_data + (size_t)b * (size_t)depth;
        for (int32_t u = 0; u < units; u++)
        {
            const int8_t *w = filter_data + (size_t)u * (size_t)depth;
            int64_t acc = 0;
            for (int32_t k = 0; k < depth; k++)
            {
                acc += (int32_t)in[k] * (int32_t)w[k];
            }
            if (bias_data != NULL)
            {
                acc += bias_data[u];
            }
            output_data[(size_t)b * (size_t)units + (size_t)u] = edgegen_nn_clamp_s16(
                edgegen_nn_requantize_s64(acc, quant_params->multiplier, quant_params->shift), act_min, act_max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}
