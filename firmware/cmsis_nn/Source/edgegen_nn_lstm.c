/*
 * edgegen portable CMSIS-NN subset: unidirectional sequence LSTM (s8 input/output, s16 gates and
 * cell state, s32 bias), as TFLM's reference kernel computes it (lstm_eval).
 *
 * Per step and gate: the input x weights and hidden x weights products are requantized to the
 * gates' Q3.12 scale, each saturated to int16, and added with saturation; then sigmoid (tanh for
 * the cell gate) on the int16 table TFLite and CMSIS-NN share. The cell state is
 * forget x cell + input x cell-gate (each product requantized and saturated to int16), clipped to
 * +-cell_clip; the hidden state is output-gate x tanh(cell), requantized to int8, and is the step's
 * output. Every call starts from zero state: the cell state 0 and, on the first step, no
 * recurrent product (the hidden state at its zero point contributes 0).
 *
 * Arm's CMSIS-NN v7 adds the recurrent and the input-x-cell-gate products before saturating
 * them; the two agree unless such a product alone passes int16.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>

#define EDGEGEN_NN_Q15_MIN (-32768)
#define EDGEGEN_NN_Q15_MAX 32767

/* sigmoid(i / 24) in 0.16 fixed point: TFLite's sigmoid_table_uint16 (tanh(x) = 2 sigmoid(2x) - 1). */
static const uint16_t edgegen_nn_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

static int32_t edgegen_nn_lstm_sat16(int32_t v)
{
    return EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(v, EDGEGEN_NN_Q15_MIN), EDGEGEN_NN_Q15_MAX);
}

/* TFLite's int16 Logistic / Tanh with the input scaled by 3 * 2^left_shift (rounded when negative). */
static void edgegen_nn_lstm_activation(const int16_t *input, int16_t *output, int32_t size, int32_t left_shift,
                                       arm_nn_activation_type type)
{
    const uint32_t frac_bits = type == ARM_SIGMOID ? 9u : 8u;
    const uint32_t saturated = type == ARM_SIGMOID ? (0x7FFFu << 10) : (0xFFFFu << 8);
    const int32_t multiplier = left_shift < 0 ? 3 : 3 * (1 << left_shift);
    const int32_t shift = left_shift < 0 ? -left_shift : 0;
    const int32_t rounding = shift > 0 ? 1 << (shift - 1) : 0;
    for (int32_t i = 0; i < size; i++)
    {
        /* arithmetic shift of a negative value: gcc and clang define it as floor division */
        const int32_t v = ((int32_t)input[i] * multiplier + rounding) >> shift;
        const uint32_t a = (uint32_t)(v < 0 ? -v : v);
        const uint32_t uh = a >> frac_bits;
        uint32_t r = saturated;
        if (uh < 255u)
        {
            const uint32_t ua = edgegen_nn_sigmoid_table[uh];
            const uint32_t ub = edgegen_nn_sigmoid_table[uh + 1u];
            r = (ua << frac_bits) + (a & ((1u << frac_bits) - 1u)) * (ub - ua);
        }
        int32_t out;
        if (type == ARM_SIGMOID)
        {
            out = (int32_t)((v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u) >> 10);
        }
        else
        {
            const int32_t s = (int32_t)r;
            out = (v >= 0 ? s - (1 << 23) + (1 << 7) : -s + (1 << 23) + (1 << 7) - 1) >> 8;
        }
        output[i] = (int16_t)out; /* the low 16 bits, as TFLite stores them */
    }
}

/* rows x cols weights times the vector (stride between batches: batch_stride vectors), plus the
 * effective bias, requantized and saturated to int16; accumulated into out with saturation. */
static void edgegen_nn_lstm_product(const int8_t *vec, const int8_t *weights, const int32_t *effective_bias,
                                    int32_t multiplier, int32_t shift, int32_t cols, int32_t rows, int32_t batches,
                                    int32_t batch_stride, int16_t *out, int accumulate)
{
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *x = vec + (size_t)b * (size_t)batch_stride * (size_t)cols;
        int16_t *dst = out + (size_t)b * (size_t)rows;
        for (int32_t r = 0; r < rows; r++)
        {
            const int8_t *w = weights + (size_t)r * (size_t)cols;
            int32_t acc = effective_bias[r];
            for (int32_t k = 0; k < cols; k++)
            {
                acc = edgegen_nn_wrap_add(acc, (int32_t)x[k] * (int32_t)w[k]);
            }
            int32_t v = edgegen_nn_lstm_sat16(edgegen_nn_requantize(acc, multiplier, shift));
            if (accumulate)
            {
                v = edgegen_nn_lstm_sat16(v + (int32_t)dst[r]);
            }
            dst[r] = (int16_t)v;
        }
    }
}

static void edgegen_nn_lstm_gate(const int8_t *data_in, const int8_t *hidden_in, const cmsis_nn_lstm_gate *gate,
                                 const cmsis_nn_lstm_params *params, int32_t batch_stride, int16_t *out)
{
    const int32_t n = params->hidden_size;
    edgegen_nn_lstm_product(data_in, (const int8_t *)gate->input_weights, (const int32_t *)gate->input_effective_bias,
                            gate->input_multiplier, gate->input_shift, params->input_size, n, params->batch_size,
                            batch_stride, out, 0);
    if (hidden_in != NULL)
    {
        edgegen_nn_lstm_product(hidden_in, (const int8_t *)gate->hidden_weights,
                                (const int32_t *)gate->hidden_effective_bias, gate->hidden_multiplier,
                                gate->hidden_shift, n, n, params->batch_size, batch_stride, out, 1);
    }
    edgegen_nn_lstm_activation(out, out, n * params->batch_size, 0, gate->activation_type);
}

static void edgegen_nn_lstm_step(const int8_t *data_in, const int8_t *hidden_in, int8_t *hidden_out,
                                 const cmsis_nn_lstm_params *params, cmsis_nn_lstm_context *buffers,
                                 int32_t batch_stride)
{
    int16_t *gate_a = (int16_t *)buffers->temp1;
    int16_t *gate_b = (int16_t *)buffers->temp2;
    int16_t *cell = (int16_t *)buffers->cell_state;
    const int32_t n = params->hidden_size;
    const int32_t size = n * params->batch_size;

    edgegen_nn_lstm_gate(data_in, hidden_in, &params->forget_gate, params, batch_stride, gate_a);
    for (int32_t i = 0; i < size; i++)
    {
        const int32_t p = (int32_t)gate_a[i] * (int32_t)cell[i];
        cell[i] = (int16_t)edgegen_nn_lstm_sat16(
            edgegen_nn_requantize(p, params->forget_to_cell_multiplier, params->forget_to_cell_shift));
    }
    edgegen_nn_lstm_gate(data_in, hidden_in, &params->input_gate, params, batch_stride, gate_a);
    edgegen_nn_lstm_gate(data_in, hidden_in, &params->cell_gate, params, batch_stride, gate_b);
    for (int32_t i = 0; i < size; i++)
    {
        const int32_t p = edgegen_nn_lstm_sat16(edgegen_nn_requantize(
            (int32_t)gate_a[i] * (int32_t)gate_b[i], params->input_to_cell_multiplier, params->input_to_cell_shift));
        const int32_t sum = edgegen_nn_lstm_sat16((int32_t)cell[i] + p);
        cell[i] = (int16_t)EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(sum, -params->cell_clip), params->cell_clip);
    }
    edgegen_nn_lstm_gate(data_in, hidden_in, &params->output_gate, params, batch_stride, gate_a);
    edgegen_nn_lstm_activation(cell, gate_b, size, params->cell_scale_power + 12, ARM_TANH);
    for (int32_t b = 0; b < params->batch_size; b++)
    {
        int8_t *dst = hidden_out + (size_t)b * (size_t)batch_stride * (size_t)n;
        for (int32_t i = 0; i < n; i++)
        {
            const int32_t k = b * n + i;
            const int32_t v = edgegen_nn_requantize((int32_t)gate_a[k] * (int32_t)gate_b[k], params->output_multiplier,
                                                    params->output_shift) +
                              params->output_offset;
            dst[i] = (int8_t)EDGEGEN_NN_MIN(EDGEGEN_NN_MAX(v, -128), 127);
        }
    }
}

arm_cmsis_nn_status arm_lstm_unidirectional_s8(const int8_t *input,
                                               int8_t *output,
                                               const cmsis_nn_lstm_params *params,
                                               cmsis_nn_lstm_context *buffers)
{
    const int32_t size = params->batch_size * params->hidden_size;
    int16_t *cell = (int16_t *)buffers->cell_state;
    for (int32_t i = 0; i < size; i++)
    {
        cell[i] = 0;
    }
    const int8_t *hidden_in = NULL;
    for (int32_t t = 0; t < params->time_steps; t++)
    {
        /* time major: [time, batch, features], the batches of a step side by side; batch major:
         * [batch, time, features], a batch's next row time_steps rows on */
        const size_t step_rows = params->time_major ? (size_t)params->batch_size : 1u;
        const int32_t batch_stride = params->time_major ? 1 : params->time_steps;
        const int8_t *data_in = input + (size_t)t * step_rows * (size_t)params->input_size;
        int8_t *hidden_out = output + (size_t)t * step_rows * (size_t)params->hidden_size;
        edgegen_nn_lstm_step(data_in, hidden_in, hidden_out, params, buffers, batch_stride);
        hidden_in = hidden_out;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
