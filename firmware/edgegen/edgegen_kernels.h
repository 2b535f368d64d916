/*
 * edgegen kernels for what CMSIS-NN has no int8 function for (or only one with a different
 * contract): table lookups (LOGISTIC, TANH, RELU*, LEAKY_RELU, int8 requantize), MEAN,
 * broadcasting ADD/MUL, PRELU, and the float<->int8 QUANTIZE/DEQUANTIZE at model inputs and outputs.
 *
 * Bit-exact with TFLM. Every number they need is computed by edgegen in Python and passed in.
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_KERNELS_H
#define EDGEGEN_KERNELS_H

#include <stdint.h>

#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A 4-D broadcast: the output shape and each input's element strides (0 on broadcast axes). */
typedef struct
{
    int32_t shape[4];
    int32_t in1_strides[4];
    int32_t in2_strides[4];
} edgegen_broadcast;

/* output[i0][i1][i2][i3] = input[offset + i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3] (element strides,
 * may be negative): SLICE and friends. output must not overlap input. */
void edgegen_gather4d_s8(const int8_t *input, int8_t *output, int32_t offset, int32_t n0, int32_t n1, int32_t n2,
                         int32_t n3, int32_t s0, int32_t s1, int32_t s2, int32_t s3);

/* RESIZE_NEAREST_NEIGHBOR: output[b][y][x][:] = input[b * in_batch + y_table[y] + x_table[x] + :]
 * (depth bytes; source offsets in elements, TFLM's GetNearestNeighbor evaluated at build time). */
void edgegen_resize_nearest_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t in_batch, int32_t out_h,
                               int32_t out_w, int32_t depth, const int32_t *y_table, const int32_t *x_table);

/* RESIZE_BILINEAR, TFLM's ResizeBilinearInteger: per output row and column three int32 (lower and
 * upper source offsets, the upper tap's weight in 1/1024). */
void edgegen_resize_bilinear_s8(const int8_t *input, int8_t *output, int32_t batches, int32_t in_batch, int32_t out_h,
                                int32_t out_w, int32_t depth, const int32_t *y_table, const int32_t *x_table);

/* output[i] = table[input[i] + 128]; output may equal input. */
void edgegen_lut_s8(const int8_t *input, int8_t *output, const int8_t *table, int32_t size);

/* output[i] = tables[c * 256 + input[i] + 128] for channel c = i % channels (size a multiple of
 * channels); output may equal input. A binary op with a per-channel constant operand. */
void edgegen_channel_lut_s8(const int8_t *input, int8_t *output, const int8_t *tables, int32_t channels, int32_t size);

/* TFLM int8 MEAN of input viewed as [outer, reduce, inner] into [outer, inner]:
 * the int32 sum plus sum_offset, requantized by (multiplier, shift), plus output_offset. */
arm_cmsis_nn_status edgegen_mean_s8(const int8_t *input, int8_t *output, int32_t outer, int32_t reduce,
                                    int32_t inner, int32_t sum_offset, int32_t multiplier, int32_t shift,
                                    int32_t output_offset);

/* arm_elementwise_add_s8 over a broadcast. */
arm_cmsis_nn_status edgegen_add_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                             int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                             int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                             int32_t out_activation_min, int32_t out_activation_max);

/* TFLite's int8 SUB (input_1 - input_2): the arguments and arithmetic of arm_elementwise_add_s8,
 * with the rescaled second input subtracted instead of added. CMSIS-NN has no SUB kernel. */
arm_cmsis_nn_status edgegen_sub_s8(const int8_t *input_1, const int8_t *input_2, int32_t input_1_offset,
                                   int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                   int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                                   int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                                   int32_t out_activation_max, int32_t block_size);

/* edgegen_sub_s8 over a broadcast. */
arm_cmsis_nn_status edgegen_sub_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                             int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift,
                                             int8_t *output, int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                             int32_t out_activation_min, int32_t out_activation_max);

/* arm_elementwise_mul_s8 over a broadcast. */
arm_cmsis_nn_status edgegen_mul_broadcast_s8(const int8_t *input_1, const int8_t *input_2,
                                             const edgegen_broadcast *broadcast, int32_t input_1_offset,
                                             int32_t input_2_offset, int8_t *output, int32_t out_offset,
                                             int32_t out_mult, int32_t out_shift, int32_t out_activation_min,
                                             int32_t out_activation_max);

/* TFLM's int8 PRELU (BroadcastPrelu4DSlow) over a broadcast of input (in1) and alpha (in2): an
 * input at or above its zero point is rescaled by (mult_1, shift_1), one below is multiplied by
 * its alpha and rescaled by (mult_2, shift_2). output may equal input when they have one shape. */
void edgegen_prelu_s8(const int8_t *input, const int8_t *alpha, const edgegen_broadcast *broadcast, int8_t *output,
                      int32_t input_offset, int32_t alpha_offset, int32_t output_offset, int32_t mult_1,
                      int32_t shift_1, int32_t mult_2, int32_t shift_2);

/* TFLM's reference int8 TransposeConv (filter [C_OUT, KH, KW, C_IN], padding.h/.w top and left,
 * any output size, batches): each output gathers its taps, then bias, per-channel requantization,
 * offset and clamps. For the layers Arm's arm_transpose_conv_s8 computes differently (a top
 * padding); no buffer. */
void edgegen_transpose_conv_s8(const cmsis_nn_transpose_conv_params *params,
                               const cmsis_nn_per_channel_quant_params *quant, const cmsis_nn_dims *input_dims,
                               const int8_t *input, const cmsis_nn_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output);

/* TFLM's reference FULLY_CONNECTED for int16 activations (16x8), for the layers Arm's
 * arm_fully_connected_s16 does not compute as TFLM does (per-channel weights, int32 biases):
 * int64 sums plus bias64 and the 64-bit MultiplyByQuantizedMultiplier, or (int32_accumulator)
 * wrapping int32 sums plus bias32 and the 32-bit one. multipliers/shifts: one entry per unit
 * (per_channel 1) or one for all (0). Offsets are 0 (symmetric int16). */
void edgegen_fully_connected_s16(const int16_t *input, const int8_t *weights, const int64_t *bias64,
                                 const int32_t *bias32, int32_t int32_accumulator, const int32_t *multipliers,
                                 const int32_t *shifts, int32_t per_channel, int32_t batches, int32_t depth,
                                 int32_t units, int32_t act_min, int32_t act_max, int16_t *output);

/* TFLM AffineQuantize: round(x / scale) + zero_point, clamped to int8 (float arithmetic). */
void edgegen_quantize_f32_s8(const float *input, int8_t *output, int32_t size, float scale, int32_t zero_point);

/* TFLM Dequantize: (float)(scale * (q - zero_point)) with the product in double. */
void edgegen_dequantize_s8_f32(const int8_t *input, float *output, int32_t size, double scale, int32_t zero_point);

/* The same for int16 (16x8 models): clamped to int16; int16 codes to float. */
void edgegen_quantize_f32_s16(const float *input, int16_t *output, int32_t size, float scale, int32_t zero_point);
void edgegen_dequantize_s16_f32(const int16_t *input, float *output, int32_t size, double scale, int32_t zero_point);

/* TFLM Requantize (QUANTIZE between int8 and int16, or int16 and int16): per element,
 * MultiplyByQuantizedMultiplier(q - input_zero_point, multiplier, shift) + output_zero_point,
 * clamped to the output type. */
void edgegen_requantize_s8_s16(const int8_t *input, int16_t *output, int32_t size, int32_t input_zero_point,
                               int32_t multiplier, int32_t shift, int32_t output_zero_point);
void edgegen_requantize_s16_s8(const int16_t *input, int8_t *output, int32_t size, int32_t input_zero_point,
                               int32_t multiplier, int32_t shift, int32_t output_zero_point);
void edgegen_requantize_s16_s16(const int16_t *input, int16_t *output, int32_t size, int32_t input_zero_point,
                                int32_t multiplier, int32_t shift, int32_t output_zero_point);

#ifdef __cplusplus
}
#endif

#endif /* EDGEGEN_KERNELS_H */
