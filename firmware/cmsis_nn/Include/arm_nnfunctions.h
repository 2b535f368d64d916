/*
 * edgegen portable CMSIS-NN subset: the functions edgegen's generated code calls.
 *
 * Written for edgegen, not copied from Arm. Every prototype is the one CMSIS-NN v7 declares in
 * Include/arm_nnfunctions.h, so the generated code is identical whichever library it links.
 * The implementations (../Source) are plain C99 reference loops: bit-exact with CMSIS-NN and
 * TFLM, portable to any compiler, and much slower than Arm's DSP/MVE kernels. Replace this
 * directory with a real CMSIS-NN checkout (edgegen build --cmsis-nn DIR) for speed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef ARM_NNFUNCTIONS_H
#define ARM_NNFUNCTIONS_H

#include "arm_nn_types.h"

/*
 * Link names: this implementation is compiled under edgegen's own names (edgegen_nn_*), so an
 * application can also link Arm's CMSIS-NN or TFLM (which define the arm_* names) into the same
 * image without duplicate symbols. The generated code and these prototypes keep CMSIS-NN's names,
 * and a real CMSIS-NN checkout (--cmsis-nn) is linked under them unchanged.
 */
#define arm_avgpool_s8                                edgegen_nn_avgpool_s8
#define arm_avgpool_s8_get_buffer_size                edgegen_nn_avgpool_s8_get_buffer_size
#define arm_concatenation_s8_w                        edgegen_nn_concatenation_s8_w
#define arm_concatenation_s8_x                        edgegen_nn_concatenation_s8_x
#define arm_concatenation_s8_y                        edgegen_nn_concatenation_s8_y
#define arm_concatenation_s8_z                        edgegen_nn_concatenation_s8_z
#define arm_convolve_wrapper_s8                       edgegen_nn_convolve_wrapper_s8
#define arm_convolve_wrapper_s8_get_buffer_size       edgegen_nn_convolve_wrapper_s8_get_buffer_size
#define arm_depthwise_conv_wrapper_s8                 edgegen_nn_depthwise_conv_wrapper_s8
#define arm_depthwise_conv_wrapper_s8_get_buffer_size edgegen_nn_depthwise_conv_wrapper_s8_get_buffer_size
#define arm_elementwise_add_s8                        edgegen_nn_elementwise_add_s8
#define arm_elementwise_mul_s8                        edgegen_nn_elementwise_mul_s8
#define arm_fully_connected_per_channel_s8            edgegen_nn_fully_connected_per_channel_s8
#define arm_fully_connected_s8                        edgegen_nn_fully_connected_s8
#define arm_fully_connected_s8_get_buffer_size        edgegen_nn_fully_connected_s8_get_buffer_size
#define arm_fully_connected_s16                       edgegen_nn_fully_connected_s16
#define arm_fully_connected_s16_get_buffer_size       edgegen_nn_fully_connected_s16_get_buffer_size
#define arm_lstm_unidirectional_s8                    edgegen_nn_lstm_unidirectional_s8
#define arm_max_pool_s8                               edgegen_nn_max_pool_s8
#define arm_maximum_s8                                edgegen_nn_maximum_s8
#define arm_minimum_s8                                edgegen_nn_minimum_s8
#define arm_pad_s8                                    edgegen_nn_pad_s8
#define arm_softmax_s8                                edgegen_nn_softmax_s8
#define arm_transpose_conv_s8                         edgegen_nn_transpose_conv_s8
#define arm_transpose_conv_s8_get_buffer_size         edgegen_nn_transpose_conv_s8_get_buffer_size
#define arm_transpose_conv_s8_get_reverse_conv_buffer_size edgegen_nn_transpose_conv_s8_get_reverse_conv_buffer_size
#define arm_svdf_s8                                   edgegen_nn_svdf_s8
#define arm_svdf_s8_get_buffer_size                   edgegen_nn_svdf_s8_get_buffer_size
#define arm_svdf_state_s16_s8                         edgegen_nn_svdf_state_s16_s8
#define arm_vector_sum_s8                             edgegen_nn_vector_sum_s8

#ifdef __cplusplus
extern "C" {
#endif

/* Convolution (filter [C_OUT, H, W, C_IN]) with per-channel requantization. */
arm_cmsis_nn_status arm_convolve_wrapper_s8(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
                                            const cmsis_nn_per_channel_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int8_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int32_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int8_t *output_data);

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims);

/* Transposed convolution (filter [C_OUT, H, W, C_IN]) with per-channel requantization: TFLM's
 * reference TransposeConv (padding.h/.w top and left; padding_offsets unused). The portable
 * version gathers each output from its taps and uses neither buffer (its sizes are 0). */
arm_cmsis_nn_status arm_transpose_conv_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_context *output_ctx,
                                          const cmsis_nn_transpose_conv_params *transpose_conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims,
                                          const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims,
                                          const int8_t *filter_data,
                                          const cmsis_nn_dims *bias_dims,
                                          const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims,
                                          int8_t *output_data);

int32_t arm_transpose_conv_s8_get_buffer_size(const cmsis_nn_transpose_conv_params *transposed_conv_params,
                                              const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *out_dims);

int32_t arm_transpose_conv_s8_get_reverse_conv_buffer_size(const cmsis_nn_transpose_conv_params *transposed_conv_params,
                                                           const cmsis_nn_dims *input_dims,
                                                           const cmsis_nn_dims *filter_dims);

/* Depthwise convolution (filter [1, H, W, C_IN * ch_mult]). */
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data);

int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims);

/* Fully connected: filter_dims->n is the accumulation depth, filter_dims->c the output depth. */
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
                                           int8_t *output_data);

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
                                                       int8_t *output_data);

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);

/* int16 activations, int8 weights, int64 bias (TFLite's 16x8 scheme): int64 sums, TFLM's 64-bit
 * MultiplyByQuantizedMultiplier with the multiplier reduced to 16 bits; offsets are 0. */
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
                                            int16_t *output_data);

int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims);

/* Per-row sums of a weight matrix times the input offset, plus the bias (MVE kernels' scratch). */
arm_cmsis_nn_status arm_vector_sum_s8(int32_t *vector_sum_buf,
                                      const int32_t vector_cols,
                                      const int32_t vector_rows,
                                      const int8_t *vector_data,
                                      const int32_t lhs_offset,
                                      const int32_t rhs_offset,
                                      const int32_t *bias_data);

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data);

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src);

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data);

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
                                           const int32_t block_size);

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
                                           const int32_t block_size);

void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output);

/* Elementwise maximum / minimum of two int8 tensors with 4-D broadcasting (a dimension of 1
 * repeats); ctx is unused. */
arm_cmsis_nn_status arm_maximum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims);
arm_cmsis_nn_status arm_minimum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims);

arm_cmsis_nn_status arm_pad_s8(const int8_t *input,
                               int8_t *output,
                               const int8_t pad_value,
                               const cmsis_nn_dims *input_size,
                               const cmsis_nn_dims *pre_pad,
                               const cmsis_nn_dims *post_pad);

/* Concatenation: x is the innermost axis, w the outermost. */
void arm_concatenation_s8_x(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_x,
                            const uint32_t offset_x);

void arm_concatenation_s8_y(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_y,
                            const uint32_t offset_y);

void arm_concatenation_s8_z(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_z,
                            const uint32_t offset_z);

void arm_concatenation_s8_w(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint32_t offset_w);

/* Unidirectional sequence LSTM, int8 input/output, int16 gates and cell state, int32 bias; each call
 * starts from zero state (hidden state at the output's zero point, cell state 0). */
arm_cmsis_nn_status arm_lstm_unidirectional_s8(const int8_t *input,
                                               int8_t *output,
                                               const cmsis_nn_lstm_params *params,
                                               cmsis_nn_lstm_context *buffers);

#ifdef __cplusplus
}
#endif

/*
 * SVDF (a stateful op): the state, batches x (filters x memory), is shifted one step left, its
 * newest column set to the input x feature weights (requantized, clamped to input_activation),
 * then time weights x state, summed over rank, plus bias, requantized and clamped to
 * output_activation. input_ctx holds batches x filters int32, output_ctx batches x units int32.
 * arm_svdf_s8 reads the weight-row sums x -input_offset from ctx on Helium builds of Arm's library
 * (arm_svdf_s8_get_buffer_size); the portable build needs no such buffer.
 */
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
                                int8_t *output_data);

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
                                          int8_t *output_data);

int32_t arm_svdf_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);

#endif /* ARM_NNFUNCTIONS_H */
