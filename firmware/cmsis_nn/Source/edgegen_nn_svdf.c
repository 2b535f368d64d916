/*
 * edgegen portable CMSIS-NN subset: SVDF with int16 state and time weights (arm_svdf_state_s16_s8)
 * and with int8 state and time weights (arm_svdf_s8), as TFLM's reference (svdf_common.cc
 * EvalIntegerSvdfReference) computes them for a state zero point of 0.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"

#include <stddef.h>

#include "edgegen_nn_support.h"

/* The feature matmul of one batch row into out[0..filters): requantized, clamped to [lo, hi].
 * Four filters at a time share each input load; the input offset is taken out as
 * offset x (the filter's weight sum), exact in int32 as the reader bounds 255 x sum |w|. */
static void svdf_feature(const int8_t *input, const int8_t *weights, int32_t input_size, int32_t filters,
                         int32_t input_offset, int32_t multiplier, int32_t shift, int32_t lo, int32_t hi,
                         int32_t *out)
{
    int32_t f = 0;
    for (; f + 4 <= filters; f += 4)
    {
        const int8_t *w0 = weights + f * input_size;
        const int8_t *w1 = w0 + input_size;
        const int8_t *w2 = w1 + input_size;
        const int8_t *w3 = w2 + input_size;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t c = 0; c < input_size; c++)
        {
            const int32_t x = input[c];
            a0 += w0[c] * x;
            a1 += w1[c] * x;
            a2 += w2[c] * x;
            a3 += w3[c] * x;
            s0 += w0[c];
            s1 += w1[c];
            s2 += w2[c];
            s3 += w3[c];
        }
        out[f] = a0 - input_offset * s0;
        out[f + 1] = a1 - input_offset * s1;
        out[f + 2] = a2 - input_offset * s2;
        out[f + 3] = a3 - input_offset * s3;
    }
    for (; f < filters; f++)
    {
        const int8_t *w = weights + f * input_size;
        int32_t acc = 0;
        for (int32_t c = 0; c < input_size; c++)
        {
            acc += w[c] * ((int32_t)input[c] - input_offset);
        }
        out[f] = acc;
    }
    for (f = 0; f < filters; f++)
    {
        const int32_t v = edgegen_nn_requantize(out[f], multiplier, shift);
        out[f] = EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(v, lo), hi);
    }
}

/* Reduce the time products (buffer_a, batches x filters) over rank, add the bias, requantize. */
static void svdf_output(const int32_t *buffer_a, int32_t *buffer_b, const cmsis_nn_svdf_params *params,
                        const cmsis_nn_per_tensor_quant_params *out_quant, int32_t batches, int32_t filters,
                        const int32_t *bias, int8_t *output)
{
    const int32_t rank = params->rank;
    const int32_t units = filters / rank;
    for (int32_t b = 0; b < batches; b++)
    {
        for (int32_t u = 0; u < units; u++)
        {
            int32_t sum = bias != NULL ? bias[u] : 0;
            for (int32_t r = 0; r < rank; r++)
            {
                sum = edgegen_nn_wrap_add(sum, buffer_a[b * filters + u * rank + r]);
            }
            buffer_b[b * units + u] = sum;
        }
    }
    for (int32_t i = 0; i < batches * units; i++)
    {
        const int32_t v = edgegen_nn_requantize(buffer_b[i], out_quant->multiplier, out_quant->shift) +
                          params->output_offset;
        output[i] = edgegen_nn_clamp_s8(v, params->output_activation.min, params->output_activation.max);
    }
}

/* One batch's time step for every filter (state rows of MEMORY values): move the row one time step
 * left, append the feature value (buffer_a[f]) as the newest column, and replace buffer_a[f] by the
 * row's dot product with the time weights, in the same pass. TFLM shifts the whole state by one
 * element and then overwrites every row's last element, which is the same; the fused pass also keeps
 * compilers from calling memmove. One body for the int16 and the int8 state (T). */
#define EDGEGEN_SVDF_TIME_STEP(NAME, T)                                                                         \
    static void NAME(T *state_data, const T *weights_time_data, int32_t *buffer_a, const int32_t filters,      \
                     const int32_t memory)                                                                     \
    {                                                                                                          \
        for (int32_t f = 0; f < filters; f++)                                                                  \
        {                                                                                                      \
            T *s = state_data + f * memory;                                                                    \
            const T *w = weights_time_data + f * memory;                                                       \
            const int32_t newest = buffer_a[f]; /* read before the sum replaces it */                          \
            int32_t sum = 0;                                                                                   \
            for (int32_t j = 0; j + 1 < memory; j++)                                                           \
            {                                                                                                  \
                const T v = s[j + 1];                                                                          \
                s[j] = v;                                                                                      \
                /* each product fits int32; the sum wraps as the reference's int32 does */                     \
                sum = edgegen_nn_wrap_add(sum, (int32_t)w[j] * (int32_t)v);                                    \
            }                                                                                                  \
            s[memory - 1] = (T)newest;                                                                         \
            buffer_a[f] = edgegen_nn_wrap_add(sum, (int32_t)w[memory - 1] * newest);                           \
        }                                                                                                      \
    }

EDGEGEN_SVDF_TIME_STEP(svdf_time_s16, int16_t)
EDGEGEN_SVDF_TIME_STEP(svdf_time_s8, int8_t)

arm_cmsis_nn_status arm_svdf_state_s16_s8(const cmsis_nn_context *input_ctx,
                                          const cmsis_nn_context *output_ctx,
                                          const cmsis_nn_svdf_params *svdf_params,
                                          const cmsis_nn_per_tensor_quant_params *input_quant_params,
                                          const cmsis_nn_per_tensor_quant_params *output_quant_params,
                                          const cmsis_nn_dims *input_dims,
                                          const int8_t *input_data,
                                          const cmsis_nn_dims *state_dims,
                                          int16_t *state_data,
                                          const cmsis_nn_dims *weights_feature_dims,
                                          const int8_t *weights_feature_data,
                                          const cmsis_nn_dims *weights_time_dims,
                                          const int16_t *weights_time_data,
                                          const cmsis_nn_dims *bias_dims,
                                          const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims,
                                          int8_t *output_data)
{
    (void)state_dims;
    (void)bias_dims;
    (void)output_dims;
    const int32_t batches = input_dims->n;
    const int32_t input_size = input_dims->h;
    const int32_t filters = weights_feature_dims->n;
    const int32_t memory = weights_time_dims->h;
    if (input_ctx->buf == NULL || output_ctx->buf == NULL || svdf_params->rank <= 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    int32_t *buffer_a = (int32_t *)input_ctx->buf;
    int32_t *buffer_b = (int32_t *)output_ctx->buf;
    /* per batch: the feature matmul into buffer_a, then the time step of every filter's state row */
    for (int32_t b = 0; b < batches; b++)
    {
        svdf_feature(input_data + b * input_size, weights_feature_data, input_size, filters, svdf_params->input_offset,
                     input_quant_params->multiplier, input_quant_params->shift, svdf_params->input_activation.min,
                     svdf_params->input_activation.max, buffer_a + b * filters);
        svdf_time_s16(state_data + b * filters * memory, weights_time_data, buffer_a + b * filters, filters, memory);
    }
    svdf_output(buffer_a, buffer_b, svdf_params, output_quant_params, batches, filters, bias_data, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_svdf_s8(const cmsis_nn_context *ctx,
                                const cmsis_nn_context *input_ctx,
                                const cmsis_nn_context *output_ctx,
                                const cmsis_nn_svdf_params *svdf_params,
                                const cmsis_nn_per_tensor_quant_params *input_quant_params,
                                const cmsis_nn_per_tensor_quant_params *output_quant_params,
                                const cmsis_nn_dims *input_dims,
                                const int8_t *input_data,
                                const cmsis_nn_dims *state_dims,
                                int8_t *state_data,
                                const cmsis_nn_dims *weights_feature_dims,
                                const int8_t *weights_feature_data,
                                const cmsis_nn_dims *weights_time_dims,
                                const int8_t *weights_time_data,
                                const cmsis_nn_dims *bias_dims,
                                const int32_t *bias_data,
                                const cmsis_nn_dims *output_dims,
                                int8_t *output_data)
{
    (void)ctx; /* Arm's Helium build reads precomputed kernel sums from it; this one needs none */
    (void)state_dims;
    (void)bias_dims;
    (void)output_dims;
    const int32_t batches = input_dims->n;
    const int32_t input_size = input_dims->h;
    const int32_t filters = weights_feature_dims->n;
    const int32_t memory = weights_time_dims->h;
    if (input_ctx->buf == NULL || output_ctx->buf == NULL || svdf_params->rank <= 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    int32_t *buffer_a = (int32_t *)input_ctx->buf;
    int32_t *buffer_b = (int32_t *)output_ctx->buf;
    /* per batch: the feature matmul into buffer_a, then the time step of every filter's state row */
    for (int32_t b = 0; b < batches; b++)
    {
        svdf_feature(input_data + b * input_size, weights_feature_data, input_size, filters, svdf_params->input_offset,
                     input_quant_params->multiplier, input_quant_params->shift, svdf_params->input_activation.min,
                     svdf_params->input_activation.max, buffer_a + b * filters);
        svdf_time_s8(state_data + b * filters * memory, weights_time_data, buffer_a + b * filters, filters, memory);
    }
    svdf_output(buffer_a, buffer_b, svdf_params, output_quant_params, batches, filters, bias_data, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_svdf_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}
