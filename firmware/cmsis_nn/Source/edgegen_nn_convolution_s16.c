/*
 * edgegen portable CMSIS-NN subset: convolution and depthwise convolution with int16 activations
 * and int8 weights (TFLite's 16x8 scheme).
 *
 * TFLM's reference int16 kernels: zero points 0 (no offsets), taps outside the input skipped, the
 * sum of filter * input accumulated in int64 (int32 where the bias is int32), the bias added, then
 * MultiplyByQuantizedMultiplier for an int64 accumulator: the multiplier reduced to 16 bits
 * (rounded, saturated at 0x7FFF), one rounding shift by 15 - shift; clamped, stored as int16.
 *
 * The dot products run in int32 (on the DSP extension: SMLAD on pairs of int16 inputs and
 * SXTB16-extended int8 weights) in chunks of at most EDGEGEN_NN_S16_CHUNK products, each at most
 * 128 * 32768 = 2^22 in magnitude, so no chunk leaves int32 and the int64 sum of the chunks is
 * TFLM's int64 accumulator exactly.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "arm_nnfunctions.h"
#include "edgegen_nn_support.h"

#include <stddef.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEGEN_NN_S16_MVE 1
#include <arm_mve.h>
#else
#define EDGEGEN_NN_S16_MVE 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define EDGEGEN_NN_S16_DSP 1
#else
#define EDGEGEN_NN_S16_DSP 0
#endif

/* products per int32 partial sum: 508 * 2^22 < 2^31 (a multiple of 4 for the DSP loop) */
#define EDGEGEN_NN_S16_CHUNK 508

#if EDGEGEN_NN_S16_DSP
static inline uint32_t edgegen_nn_s16_word(const void *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof(w)); /* a single LDR: unaligned word loads are fine on v7E-M and v8-M */
    return w;
}

static inline uint32_t edgegen_nn_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}

static inline uint32_t edgegen_nn_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t edgegen_nn_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* (lo half of a, lo half of b) and (hi half of a, hi half of b) */
static inline uint32_t edgegen_nn_pack_lo(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t edgegen_nn_pack_hi(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#endif

/* Two output channels' dot products with the same n inputs (n <= EDGEGEN_NN_S16_CHUNK): w0, w1
 * the two channels' weights. The inputs are loaded once for both. */
static inline void edgegen_nn_dot2_s16(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
                                       int32_t *s0, int32_t *s1)
{
    int32_t a0 = 0, a1 = 0;
    int32_t i = 0;
#if EDGEGEN_NN_S16_DSP
    for (; i + 4 <= n; i += 4)
    {
        /* inputs (x0, x1), (x2, x3) -> (x0, x2), (x1, x3): the halves SXTB16 and SXTB16 ROR #8
         * give of a weight word (w0, w2), (w1, w3) */
        const uint32_t x01 = edgegen_nn_s16_word(x + i), x23 = edgegen_nn_s16_word(x + i + 2);
        const uint32_t x02 = edgegen_nn_pack_lo(x01, x23), x13 = edgegen_nn_pack_hi(x01, x23);
        const uint32_t u = edgegen_nn_s16_word(w0 + i), v = edgegen_nn_s16_word(w1 + i);
        a0 = edgegen_nn_smlad(edgegen_nn_sxtb16(u), x02, a0);
        a0 = edgegen_nn_smlad(edgegen_nn_sxtb16_ror8(u), x13, a0);
        a1 = edgegen_nn_smlad(edgegen_nn_sxtb16(v), x02, a1);
        a1 = edgegen_nn_smlad(edgegen_nn_sxtb16_ror8(v), x13, a1);
    }
#endif
    for (; i < n; i++)
    {
        a0 += (int32_t)w0[i] * (int32_t)x[i];
        a1 += (int32_t)w1[i] * (int32_t)x[i];
    }
    *s0 = a0;
    *s1 = a1;
}

arm_cmsis_nn_status arm_convolve_wrapper_s16(const cmsis_nn_context *ctx,
                                             const cmsis_nn_conv_params *conv_params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims,
                                             const int16_t *input_data,
                                             const cmsis_nn_dims *filter_dims,
                                             const int8_t *filter_data,
                                             const cmsis_nn_dims *bias_dims,
                                             const cmsis_nn_bias_data *bias_data,
                                             const cmsis_nn_dims *output_dims,
                                             int16_t *output_data)
{
    return arm_convolve_s16(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                            bias_dims, bias_data, output_dims, output_data);
}

/* The int64 bias of channel c (0 without a bias). */
static inline int64_t edgegen_nn_bias_s16(const cmsis_nn_bias_data *bias, int32_t c)
{
    if (bias == NULL || bias->data == NULL)
    {
        return 0;
    }
    return bias->is_int32_bias ? (int64_t)((const int32_t *)bias->data)[c] : ((const int64_t *)bias->data)[c];
}

/* edgegen_nn_requantize_s64 (TFLM's 64-bit MultiplyByQuantizedMultiplier) with its truncating
 * cast done on the two 32-bit halves when the total shift is below 32 (shift > -17, the usual
 * case), which needs no 64-bit variable shift. */
static inline int32_t edgegen_nn_s16_rq64(int64_t total, int32_t reduced, int32_t total_shift)
{
    const uint64_t x = (uint64_t)(total * reduced + ((int64_t)1 << (total_shift - 1)));
    if (total_shift < 32)
    {
        return (int32_t)(((uint32_t)x >> total_shift) | ((uint32_t)(x >> 32) << (32 - total_shift)));
    }
    return (int32_t)(uint32_t)(uint64_t)((int64_t)x >> total_shift);
}

static inline int32_t edgegen_nn_s16_reduce(int32_t multiplier)
{
    return multiplier < 0x7FFF0000 ? (int32_t)(((int64_t)multiplier + (1 << 15)) >> 16) : 0x7FFF;
}

/* One output channel's requantization, prepared once per use of the channel: its bias, TFLM's
 * reduced 16-bit multiplier and total shift 15 - shift (int64 accumulator), or the int32 multiplier
 * and shift (int32 accumulator). */
typedef struct
{
    int64_t bias;
    int32_t multiplier;
    int32_t shift;
    int32_t reduced;
    int32_t total_shift;
} edgegen_nn_rq16;

static inline edgegen_nn_rq16 edgegen_nn_rq16_of(const cmsis_nn_bias_data *bias, int32_t c,
                                                 const cmsis_nn_per_channel_quant_params *q)
{
    const int32_t m = q->multiplier[c];
    edgegen_nn_rq16 r;
    r.bias = edgegen_nn_bias_s16(bias, c);
    r.multiplier = m;
    r.shift = q->shift[c];
    r.reduced = edgegen_nn_s16_reduce(m);
    r.total_shift = 15 - r.shift;
    return r;
}

/* One output from its sum over the taps: the bias, TFLM's requantization for its accumulator type
 * (the int64 one is edgegen_nn_requantize_s64 with the truncating cast done on the two halves when
 * the total shift is below 32, which needs no 64-bit variable shift), the clamp. */
static inline int16_t edgegen_nn_conv16_out(int64_t acc, const edgegen_nn_rq16 *r, int32_t is_int32, int32_t act_min,
                                            int32_t act_max)
{
    const int64_t total = acc + r->bias;
    int32_t v;
    if (is_int32)
    {
        v = edgegen_nn_requantize((int32_t)total, r->multiplier, r->shift);
    }
    else
    {
        v = edgegen_nn_s16_rq64(total, r->reduced, r->total_shift);
    }
    return edgegen_nn_clamp_s16(v, act_min, act_max);
}

#if EDGEGEN_NN_S16_DSP || EDGEGEN_NN_S16_MVE
/* A channel's 64-bit requantization with the bias folded in, for sums exact in int32 (K <= 504):
 * TFLM computes (sum + bias) x reduced + round in int64 (|sum + bias| < 2^47, reduced < 2^15: no
 * overflow), which equals sum x reduced + offset with offset = bias x reduced + round (SMLAL). */
typedef struct
{
    int64_t offset; /* bias x reduced + (1 << (total_shift - 1)) */
    int32_t reduced;
    int32_t total_shift;
} edgegen_nn_rq16b;

/* channels c0 .. c0 + n - 1 of an int64-accumulator layer */
static void edgegen_nn_rq16b_prepare(edgegen_nn_rq16b *r, const cmsis_nn_bias_data *bias,
                                     const cmsis_nn_per_channel_quant_params *q, int32_t c0, int32_t n)
{
    for (int32_t c = 0; c < n; c++)
    {
        const edgegen_nn_rq16 rq = edgegen_nn_rq16_of(bias, c0 + c, q);
        r[c].reduced = rq.reduced;
        r[c].total_shift = rq.total_shift;
        r[c].offset = rq.bias * rq.reduced + ((int64_t)1 << (rq.total_shift - 1));
    }
}
#endif

#if EDGEGEN_NN_S16_DSP
/* The two pixels' windows as interleaved im2col columns: per full quad of values the words
 * (x0, x2), (x1, x3) of pixel 0, then those of pixel 1 (SXTB16 and SXTB16 ROR #8 of a weight word
 * give (w0, w2), (w1, w3): SMLAD then needs no repacking, and one pointer walks both pixels); the
 * last k_len % 4 values of each pixel after the quads, in order. */
/* The window of output pixel j's (y0, x0) into the columns: filter order, zeros outside the input.
 * The slot of value k advances through each quad as +0, +2, +1, +3 int16 from the quad's base. */
static void edgegen_nn_s16_gather(int16_t *cols, int32_t j, const int16_t *in, int32_t y0, int32_t x0,
                                  const cmsis_nn_dims *id, const cmsis_nn_dims *fd, const cmsis_nn_conv_params *p)
{
    static const int8_t step[4] = {0, 2, 1, 3};
    const int32_t in_c = id->c, k_len = fd->h * fd->w * in_c, k4 = k_len & ~3;
    int16_t *quad = cols + 4 * j; /* pixel j's quad base: 8 int16 per quad of both pixels */
    int32_t r = 0, k = 0;
    int16_t *tail = cols + 2 * k4 + j * (k_len - k4);
    for (int32_t ky = 0; ky < fd->h; ky++)
    {
        const int32_t iy = y0 + ky * p->dilation.h;
        for (int32_t kx = 0; kx < fd->w; kx++)
        {
            const int32_t ix = x0 + kx * p->dilation.w;
            const int32_t inside = iy >= 0 && iy < id->h && ix >= 0 && ix < id->w;
            const int16_t *src = inside ? in + ((size_t)iy * (size_t)id->w + (size_t)ix) * (size_t)in_c : NULL;
            for (int32_t c = 0; c < in_c; c++, k++)
            {
                const int16_t v = src != NULL ? src[c] : 0;
                if (k < k4)
                {
                    quad[step[r]] = v;
                    if (++r == 4)
                    {
                        r = 0;
                        quad += 8;
                    }
                }
                else
                {
                    *tail++ = v;
                }
            }
        }
    }
}

/* Two pixels (the interleaved columns) times two channels' weight rows (w0, w0 + w_off): sums
 * [pixel][channel] in int64 from int32 chunks of at most EDGEGEN_NN_S16_CHUNK products. */
__attribute__((noinline)) static void edgegen_nn_s16_block(const int16_t *cols, const int8_t *w0, int32_t w_off, int32_t k_len, int64_t acc[4])
{
    const int32_t k4 = k_len & ~3;
    const uint32_t *cp = (const uint32_t *)__builtin_assume_aligned(cols, 4);
    const int8_t *wp = w0;
    int64_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (int32_t k0 = 0; k0 < k4; k0 += EDGEGEN_NN_S16_CHUNK)
    {
        int32_t quads = (EDGEGEN_NN_MIN(k0 + EDGEGEN_NN_S16_CHUNK, k4) - k0) >> 2;
        int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
        do
        {
            const uint32_t p0 = cp[0], q0 = cp[1], p1 = cp[2], q1 = cp[3];
            cp += 4;
            const uint32_t u = edgegen_nn_s16_word(wp), v = edgegen_nn_s16_word(wp + w_off);
            wp += 4;
            uint32_t e = edgegen_nn_sxtb16(u), o = edgegen_nn_sxtb16_ror8(u);
            s00 = edgegen_nn_smlad(e, p0, s00);
            s00 = edgegen_nn_smlad(o, q0, s00);
            s10 = edgegen_nn_smlad(e, p1, s10);
            s10 = edgegen_nn_smlad(o, q1, s10);
            e = edgegen_nn_sxtb16(v);
            o = edgegen_nn_sxtb16_ror8(v);
            s01 = edgegen_nn_smlad(e, p0, s01);
            s01 = edgegen_nn_smlad(o, q0, s01);
            s11 = edgegen_nn_smlad(e, p1, s11);
            s11 = edgegen_nn_smlad(o, q1, s11);
        } while (--quads > 0);
        a00 += s00;
        a01 += s01;
        a10 += s10;
        a11 += s11;
    }
    const int32_t tail = k_len - k4; /* the last 1..3 values of each pixel, in order */
    const int16_t *t0 = cols + 2 * k4, *t1 = t0 + tail;
    for (int32_t t = 0; t < tail; t++)
    {
        const int32_t x = w0[k4 + t], y = w0[w_off + k4 + t];
        a00 += x * (int32_t)t0[t];
        a01 += y * (int32_t)t0[t];
        a10 += x * (int32_t)t1[t];
        a11 += y * (int32_t)t1[t];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Every output channel of the two gathered pixels (o1 NULL: one pixel, gathered twice): the
 * block's sums, then each output's requantization from the channel's prepared constants. Its own
 * function so the compiler allocates its registers apart from the gather's. */
static inline __attribute__((always_inline)) void edgegen_nn_s16_pixels(const int16_t *cols, const int8_t *filter, int32_t k_len,
                                                            int32_t out_c, int16_t *o0, int16_t *o1,
                                                            const cmsis_nn_bias_data *bias,
                                                            const cmsis_nn_per_channel_quant_params *q,
                                                            int32_t is_int32, int32_t act_min, int32_t act_max)
{
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        /* an odd last channel: the pair (oc, oc), computed twice */
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        int64_t acc[4];
        edgegen_nn_s16_block(cols, filter + (size_t)oc * (size_t)k_len, oc1 > oc ? k_len : 0, k_len, acc);
        const edgegen_nn_rq16 r0 = edgegen_nn_rq16_of(bias, oc, q), r1 = edgegen_nn_rq16_of(bias, oc1, q);
        o0[oc] = edgegen_nn_conv16_out(acc[0], &r0, is_int32, act_min, act_max);
        o0[oc1] = edgegen_nn_conv16_out(acc[1], &r1, is_int32, act_min, act_max);
        if (o1 != NULL)
        {
            o1[oc] = edgegen_nn_conv16_out(acc[2], &r0, is_int32, act_min, act_max);
            o1[oc1] = edgegen_nn_conv16_out(acc[3], &r1, is_int32, act_min, act_max);
        }
    }
}

/* edgegen_nn_s16_pixels with the accumulator type fixed (int64: the converter's 16x8 biases; int32), so neither
 * carries the other's requantization */
__attribute__((noinline)) static void edgegen_nn_s16_pixels_64(const int16_t *cols, const int8_t *filter, int32_t k_len, int32_t out_c, int16_t *o0,
                                                   int16_t *o1, const cmsis_nn_bias_data *bias,
                                                   const cmsis_nn_per_channel_quant_params *q, int32_t act_min,
                                                   int32_t act_max)
{
    edgegen_nn_s16_pixels(cols, filter, k_len, out_c, o0, o1, bias, q, 0, act_min, act_max);
}

__attribute__((noinline)) static void edgegen_nn_s16_pixels_32(const int16_t *cols, const int8_t *filter, int32_t k_len, int32_t out_c, int16_t *o0,
                                                   int16_t *o1, const cmsis_nn_bias_data *bias,
                                                   const cmsis_nn_per_channel_quant_params *q, int32_t act_min,
                                                   int32_t act_max)
{
    edgegen_nn_s16_pixels(cols, filter, k_len, out_c, o0, o1, bias, q, 1, act_min, act_max);
}

/* The DSP block path: edgegen_nn_s16_pixels for an int64-accumulator layer with K <= 504 (each
 * block's sums exact in int32) and at most EDGEGEN_NN_S16_DSP_BLK channels, whose requantization
 * was prepared once per call (1 KiB of stack): SMLAL and a two-word shift per output. */
#define EDGEGEN_NN_S16_DSP_BLK 64

static inline int16_t edgegen_nn_s16_prep_out(int32_t sum, const edgegen_nn_rq16b *r, int32_t act_min,
                                              int32_t act_max)
{
    const uint64_t x = (uint64_t)(r->offset + (int64_t)sum * r->reduced);
    const int32_t ts = r->total_shift;
    int32_t v;
    if (ts < 32)
    {
        v = (int32_t)(((uint32_t)x >> ts) | ((uint32_t)(x >> 32) << (32 - ts)));
    }
    else
    {
        v = (int32_t)(uint32_t)(uint64_t)((int64_t)x >> ts);
    }
    return edgegen_nn_clamp_s16(v, act_min, act_max);
}

__attribute__((noinline)) static void edgegen_nn_s16_pixels_prep(const int16_t *cols, const int8_t *filter,
                                                                 int32_t k_len, int32_t out_c, int16_t *o0,
                                                                 int16_t *o1, const edgegen_nn_rq16b *r,
                                                                 int32_t act_min, int32_t act_max)
{
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        int64_t acc[4];
        edgegen_nn_s16_block(cols, filter + (size_t)oc * (size_t)k_len, oc1 > oc ? k_len : 0, k_len, acc);
        o0[oc] = edgegen_nn_s16_prep_out((int32_t)acc[0], &r[oc], act_min, act_max);
        o0[oc1] = edgegen_nn_s16_prep_out((int32_t)acc[1], &r[oc1], act_min, act_max);
        if (o1 != NULL)
        {
            o1[oc] = edgegen_nn_s16_prep_out((int32_t)acc[2], &r[oc], act_min, act_max);
            o1[oc1] = edgegen_nn_s16_prep_out((int32_t)acc[3], &r[oc1], act_min, act_max);
        }
    }
}

/* The convolution through two interleaved im2col columns (the scratch Arm's DSP build asks for:
 * 2 x k_len int16, word-aligned): every weight word serves two pixels, every input word two
 * channels. */
static void edgegen_nn_convolve_s16_dsp(int16_t *cols, const cmsis_nn_conv_params *p,
                                        const cmsis_nn_per_channel_quant_params *q, const cmsis_nn_dims *id,
                                        const int16_t *input, const cmsis_nn_dims *fd, const int8_t *filter,
                                        const cmsis_nn_bias_data *bias, const cmsis_nn_dims *od, int16_t *output)
{
    const int32_t k_len = fd->h * fd->w * id->c;
    const int32_t out_c = od->c;
    const int32_t is_int32 = bias != NULL && bias->is_int32_bias;
    const int32_t act_min = p->activation.min, act_max = p->activation.max;
    const int32_t pixels = od->h * od->w;
    edgegen_nn_rq16b r[EDGEGEN_NN_S16_DSP_BLK];
    const int32_t prepared = !is_int32 && k_len <= 504 && out_c <= EDGEGEN_NN_S16_DSP_BLK;
    if (prepared)
    {
        edgegen_nn_rq16b_prepare(r, bias, q, 0, out_c);
    }
    for (int32_t b = 0; b < id->n; b++)
    {
        const int16_t *in = input + (size_t)b * (size_t)id->h * (size_t)id->w * (size_t)id->c;
        int16_t *out = output + (size_t)b * (size_t)pixels * (size_t)out_c;
        for (int32_t px = 0; px < pixels; px += 2)
        {
            /* a single last pixel is gathered as both (its second results are not stored) */
            const int32_t two = px + 1 < pixels;
            for (int32_t j = 0; j < 2; j++)
            {
                const int32_t at = two ? px + j : px;
                const int32_t oy = at / od->w, ox = at % od->w;
                edgegen_nn_s16_gather(cols, j, in, oy * p->stride.h - p->padding.h, ox * p->stride.w - p->padding.w,
                                      id, fd, p);
            }
            int16_t *o0 = out + (size_t)px * (size_t)out_c;
            int16_t *o1 = two ? o0 + out_c : NULL;
            if (prepared)
            {
                edgegen_nn_s16_pixels_prep(cols, filter, k_len, out_c, o0, o1, r, act_min, act_max);
            }
            else if (is_int32)
            {
                edgegen_nn_s16_pixels_32(cols, filter, k_len, out_c, o0, o1, bias, q, act_min, act_max);
            }
            else
            {
                edgegen_nn_s16_pixels_64(cols, filter, k_len, out_c, o0, o1, bias, q, act_min, act_max);
            }
        }
    }
}
#endif

#if EDGEGEN_NN_S16_MVE
/* Helium: one output pixel's window as a plain im2col column (filter order, zeros outside the
 * input), then per pair of channels 8 values at a time: VLDRH of the column, VLDRB.S16 of each
 * channel's weights (sign-extended), VMLADAVA.S16 into int32 sums over chunks of at most 504
 * products (exact: |int16 x int8| <= 2^22), predicated tails. */
static inline __attribute__((always_inline)) void edgegen_nn_s16_pixel_mve(const int16_t *col, const int8_t *filter, int32_t k_len,
                                                               int32_t out_c, int16_t *out,
                                                               const cmsis_nn_bias_data *bias,
                                                               const cmsis_nn_per_channel_quant_params *q,
                                                               int32_t is_int32, int32_t act_min, int32_t act_max)
{
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter + (size_t)oc * (size_t)k_len, *w1 = filter + (size_t)oc1 * (size_t)k_len;
        int64_t a0 = 0, a1 = 0;
        for (int32_t k0 = 0; k0 < k_len; k0 += 504)
        {
            const int32_t k1 = EDGEGEN_NN_MIN(k0 + 504, k_len);
            int32_t s0 = 0, s1 = 0;
            int32_t k = k0;
            for (; k + 8 <= k1; k += 8)
            {
                const int16x8_t x = vldrhq_s16(col + k);
                s0 = vmladavaq_s16(s0, x, vldrbq_s16(w0 + k));
                s1 = vmladavaq_s16(s1, x, vldrbq_s16(w1 + k));
            }
            if (k < k1)
            {
                const mve_pred16_t p = vctp16q((uint32_t)(k1 - k));
                const int16x8_t x = vldrhq_z_s16(col + k, p);
                s0 = vmladavaq_p_s16(s0, x, vldrbq_z_s16(w0 + k, p), p);
                s1 = vmladavaq_p_s16(s1, x, vldrbq_z_s16(w1 + k, p), p);
            }
            a0 += s0;
            a1 += s1;
        }
        const edgegen_nn_rq16 r0 = edgegen_nn_rq16_of(bias, oc, q), r1 = edgegen_nn_rq16_of(bias, oc1, q);
        out[oc] = edgegen_nn_conv16_out(a0, &r0, is_int32, act_min, act_max);
        out[oc1] = edgegen_nn_conv16_out(a1, &r1, is_int32, act_min, act_max);
    }
}

/* edgegen_nn_s16_pixel_mve with the accumulator type fixed (int64: the converter's 16x8 biases; int32), so neither
 * carries the other's requantization */
__attribute__((noinline)) static void edgegen_nn_s16_pixel_mve_64(const int16_t *col, const int8_t *filter, int32_t k_len, int32_t out_c,
                                                     int16_t *out, const cmsis_nn_bias_data *bias,
                                                     const cmsis_nn_per_channel_quant_params *q, int32_t act_min,
                                                     int32_t act_max)
{
    edgegen_nn_s16_pixel_mve(col, filter, k_len, out_c, out, bias, q, 0, act_min, act_max);
}

__attribute__((noinline)) static void edgegen_nn_s16_pixel_mve_32(const int16_t *col, const int8_t *filter, int32_t k_len, int32_t out_c,
                                                     int16_t *out, const cmsis_nn_bias_data *bias,
                                                     const cmsis_nn_per_channel_quant_params *q, int32_t act_min,
                                                     int32_t act_max)
{
    edgegen_nn_s16_pixel_mve(col, filter, k_len, out_c, out, bias, q, 1, act_min, act_max);
}

/* One output pixel's window (top left (y0, x0)) as a plain im2col column: filter order, zeros
 * outside the input. */
static void edgegen_nn_s16_column(int16_t *col, const int16_t *in, int32_t y0, int32_t x0, const cmsis_nn_dims *id,
                                  const cmsis_nn_dims *fd, const cmsis_nn_conv_params *p)
{
    const int32_t in_c = id->c;
    int16_t *dst = col;
    if (p->dilation.w == 1)
    {
        /* a filter row's taps inside the input are one run of the input row: predicated 8-lane
         * copies of the run and zero stores around it (short runs, e.g. one input channel, would
         * cost a library call per tap) */
        const int32_t row = fd->w * in_c;
        const int32_t kx0 = x0 < 0 ? EDGEGEN_NN_MIN(-x0, fd->w) : 0;
        const int32_t kx1 = EDGEGEN_NN_MIN(fd->w, id->w - x0) > kx0 ? EDGEGEN_NN_MIN(fd->w, id->w - x0) : kx0;
        const int16x8_t zero = vdupq_n_s16(0);
        for (int32_t ky = 0; ky < fd->h; ky++, dst += row)
        {
            const int32_t iy = y0 + ky * p->dilation.h;
            const int32_t a = iy < 0 || iy >= id->h ? row : kx0 * in_c;
            const int32_t e = iy < 0 || iy >= id->h ? row : kx1 * in_c;
            const int16_t *src = in + ((size_t)iy * (size_t)id->w + (size_t)x0) * (size_t)in_c;
            for (int32_t i = 0; i < a; i += 8)
            {
                vstrhq_p_s16(dst + i, zero, vctp16q((uint32_t)(a - i)));
            }
            for (int32_t i = a; i < e; i += 8)
            {
                const mve_pred16_t pr = vctp16q((uint32_t)(e - i));
                vstrhq_p_s16(dst + i, vldrhq_z_s16(src + i, pr), pr);
            }
            for (int32_t i = e; i < row; i += 8)
            {
                vstrhq_p_s16(dst + i, zero, vctp16q((uint32_t)(row - i)));
            }
        }
        return;
    }
    for (int32_t ky = 0; ky < fd->h; ky++)
    {
        const int32_t iy = y0 + ky * p->dilation.h;
        for (int32_t kx = 0; kx < fd->w; kx++, dst += in_c)
        {
            const int32_t ix = x0 + kx * p->dilation.w;
            if (iy < 0 || iy >= id->h || ix < 0 || ix >= id->w)
            {
                memset(dst, 0, (size_t)in_c * sizeof(int16_t));
            }
            else
            {
                memcpy(dst, in + ((size_t)iy * (size_t)id->w + (size_t)ix) * (size_t)in_c,
                       (size_t)in_c * sizeof(int16_t));
            }
        }
    }
}

static void edgegen_nn_convolve_s16_mve(int16_t *col, const cmsis_nn_conv_params *p,
                                        const cmsis_nn_per_channel_quant_params *q, const cmsis_nn_dims *id,
                                        const int16_t *input, const cmsis_nn_dims *fd, const int8_t *filter,
                                        const cmsis_nn_bias_data *bias, const cmsis_nn_dims *od, int16_t *output)
{
    const int32_t in_c = id->c, k_len = fd->h * fd->w * in_c;
    const int32_t is_int32 = bias != NULL && bias->is_int32_bias;
    for (int32_t b = 0; b < id->n; b++)
    {
        const int16_t *in = input + (size_t)b * (size_t)id->h * (size_t)id->w * (size_t)in_c;
        for (int32_t oy = 0; oy < od->h; oy++)
        {
            for (int32_t ox = 0; ox < od->w; ox++)
            {
                const int32_t y0 = oy * p->stride.h - p->padding.h, x0 = ox * p->stride.w - p->padding.w;
                edgegen_nn_s16_column(col, in, y0, x0, id, fd, p);
                int16_t *out = output + (((size_t)b * (size_t)od->h + (size_t)oy) * (size_t)od->w + (size_t)ox) *
                                            (size_t)od->c;
                if (is_int32)
                {
                    edgegen_nn_s16_pixel_mve_32(col, filter, k_len, od->c, out, bias, q, p->activation.min,
                                                p->activation.max);
                }
                else
                {
                    edgegen_nn_s16_pixel_mve_64(col, filter, k_len, od->c, out, bias, q, p->activation.min,
                                                p->activation.max);
                }
            }
        }
    }
}

/* The block path (int64 accumulators, the converter's 16x8 layers, K <= 504 so that one int32 sum
 * per output is exact: 504 x 2^22 < 2^31): output channels in blocks of EDGEGEN_NN_S16_BLK (64: 1 KiB of stack; the
 * KWS layers' 64 channels in one block, so a gathered column serves them all) whose
 * requantization is prepared once per block on the stack, then per output pixel of the block 4
 * channels per column load (VLDRH, 4 x VLDRB.S16, 4 x VMLADAVA.S16) and the 64-bit
 * requantization as one multiply-accumulate: TFLM computes (sum + bias) x reduced + round in
 * int64 (|sum + bias| < 2^47, reduced < 2^15: no overflow), which equals
 * sum x reduced + (bias x reduced + round), the parenthesis prepared per channel (SMLAL). A 1x1
 * filter without padding reads its column straight from the input; other filters gather it. */
#define EDGEGEN_NN_S16_BLK 64

static inline int16_t edgegen_nn_s16_blk_out(int32_t sum, const edgegen_nn_rq16b *r, int32_t act_min, int32_t act_max)
{
    /* ASRL: the 64-bit arithmetic shift by a register count (9 .. 46 here), whose low word is
     * TFLM's truncating cast */
    const int64_t x = r->offset + (int64_t)sum * r->reduced;
    const int32_t v = (int32_t)(uint32_t)(uint64_t)asrl(x, r->total_shift);
    return edgegen_nn_clamp_s16(v, act_min, act_max);
}

/* Channels c0 .. c0 + n - 1 of one output pixel from its column. */
static void edgegen_nn_s16_blk_pixel(const int16_t *col, const int8_t *filter, int32_t k_len, int32_t n,
                                     const edgegen_nn_rq16b *r, int16_t *out, int32_t act_min, int32_t act_max)
{
    int32_t c = 0;
    for (; c + 4 <= n; c += 4)
    {
        const int8_t *w0 = filter + (size_t)c * (size_t)k_len;
        const int8_t *w1 = w0 + k_len, *w2 = w1 + k_len, *w3 = w2 + k_len;
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int32_t k = 0;
        for (; k + 8 <= k_len; k += 8)
        {
            const int16x8_t x = vldrhq_s16(col + k);
            s0 = vmladavaq_s16(s0, x, vldrbq_s16(w0 + k));
            s1 = vmladavaq_s16(s1, x, vldrbq_s16(w1 + k));
            s2 = vmladavaq_s16(s2, x, vldrbq_s16(w2 + k));
            s3 = vmladavaq_s16(s3, x, vldrbq_s16(w3 + k));
        }
        if (k < k_len)
        {
            const mve_pred16_t p = vctp16q((uint32_t)(k_len - k));
            const int16x8_t x = vldrhq_z_s16(col + k, p);
            s0 = vmladavaq_p_s16(s0, x, vldrbq_z_s16(w0 + k, p), p);
            s1 = vmladavaq_p_s16(s1, x, vldrbq_z_s16(w1 + k, p), p);
            s2 = vmladavaq_p_s16(s2, x, vldrbq_z_s16(w2 + k, p), p);
            s3 = vmladavaq_p_s16(s3, x, vldrbq_z_s16(w3 + k, p), p);
        }
        out[c] = edgegen_nn_s16_blk_out(s0, &r[c], act_min, act_max);
        out[c + 1] = edgegen_nn_s16_blk_out(s1, &r[c + 1], act_min, act_max);
        out[c + 2] = edgegen_nn_s16_blk_out(s2, &r[c + 2], act_min, act_max);
        out[c + 3] = edgegen_nn_s16_blk_out(s3, &r[c + 3], act_min, act_max);
    }
    for (; c < n; c++)
    {
        const int8_t *w0 = filter + (size_t)c * (size_t)k_len;
        int32_t s0 = 0;
        for (int32_t k = 0; k < k_len; k += 8)
        {
            const mve_pred16_t p = vctp16q((uint32_t)(k_len - k));
            s0 = vmladavaq_p_s16(s0, vldrhq_z_s16(col + k, p), vldrbq_z_s16(w0 + k, p), p);
        }
        out[c] = edgegen_nn_s16_blk_out(s0, &r[c], act_min, act_max);
    }
}

static void edgegen_nn_convolve_s16_blk(int16_t *col, const cmsis_nn_conv_params *p,
                                        const cmsis_nn_per_channel_quant_params *q, const cmsis_nn_dims *id,
                                        const int16_t *input, const cmsis_nn_dims *fd, const int8_t *filter,
                                        const cmsis_nn_bias_data *bias, const cmsis_nn_dims *od, int16_t *output)
{
    const int32_t in_c = id->c, k_len = fd->h * fd->w * in_c;
    const int32_t direct = fd->h == 1 && fd->w == 1 && p->padding.h == 0 && p->padding.w == 0;
    edgegen_nn_rq16b r[EDGEGEN_NN_S16_BLK];
    for (int32_t c0 = 0; c0 < od->c; c0 += EDGEGEN_NN_S16_BLK)
    {
        const int32_t n = EDGEGEN_NN_MIN(od->c - c0, EDGEGEN_NN_S16_BLK);
        edgegen_nn_rq16b_prepare(r, bias, q, c0, n);
        const int8_t *fb = filter + (size_t)c0 * (size_t)k_len;
        for (int32_t b = 0; b < id->n; b++)
        {
            const int16_t *in = input + (size_t)b * (size_t)id->h * (size_t)id->w * (size_t)in_c;
            for (int32_t oy = 0; oy < od->h; oy++)
            {
                for (int32_t ox = 0; ox < od->w; ox++)
                {
                    const int32_t y0 = oy * p->stride.h - p->padding.h, x0 = ox * p->stride.w - p->padding.w;
                    const int16_t *src = col;
                    if (direct && y0 < id->h && x0 < id->w)
                    {
                        src = in + ((size_t)y0 * (size_t)id->w + (size_t)x0) * (size_t)in_c;
                    }
                    else
                    {
                        edgegen_nn_s16_column(col, in, y0, x0, id, fd, p);
                    }
                    int16_t *out = output +
                                   (((size_t)b * (size_t)od->h + (size_t)oy) * (size_t)od->w + (size_t)ox) *
                                       (size_t)od->c + (size_t)c0;
                    edgegen_nn_s16_blk_pixel(src, fb, k_len, n, r, out, p->activation.min, p->activation.max);
                }
            }
        }
    }
}
#endif

arm_cmsis_nn_status arm_convolve_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_conv_params *conv_params,
                                     const cmsis_nn_per_channel_quant_params *quant_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const cmsis_nn_dims *bias_dims,
                                     const cmsis_nn_bias_data *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *output_data)
{
    (void)ctx; /* used on the DSP path only */
    (void)bias_dims;
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    const int32_t dil_h = conv_params->dilation.h, dil_w = conv_params->dilation.w;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t k_len = k_h * k_w * in_c;
    const int32_t is_int32 = bias_data != NULL && bias_data->is_int32_bias;

    if (filter_dims->c != in_c || filter_dims->n != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if EDGEGEN_NN_S16_MVE
    if (ctx != NULL && ctx->buf != NULL && ctx->size >= k_len * (int32_t)sizeof(int16_t) && !is_int32 && k_len <= 504)
    {
        edgegen_nn_convolve_s16_blk((int16_t *)ctx->buf, conv_params, quant_params, input_dims, input_data, filter_dims,
                                    filter_data, bias_data, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
    if (ctx != NULL && ctx->buf != NULL && ctx->size >= k_len * (int32_t)sizeof(int16_t))
    {
        edgegen_nn_convolve_s16_mve((int16_t *)ctx->buf, conv_params, quant_params, input_dims, input_data, filter_dims,
                                    filter_data, bias_data, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
#if EDGEGEN_NN_S16_DSP
    if (ctx != NULL && ctx->buf != NULL && ((uintptr_t)ctx->buf & 3u) == 0 && k_len >= 4 &&
        ctx->size >= 2 * k_len * (int32_t)sizeof(int16_t))
    {
        edgegen_nn_convolve_s16_dsp((int16_t *)ctx->buf, conv_params, quant_params, input_dims, input_data, filter_dims,
                                    filter_data, bias_data, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (int32_t b = 0; b < batches; b++)
    {
        const int16_t *in_batch = input_data + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky0, ky1;
            edgegen_nn_valid_taps(y0, dil_h, k_h, in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx0, kx1;
                edgegen_nn_valid_taps(x0, dil_w, k_w, in_w, &kx0, &kx1);
                /* with dilation 1 the valid taps of a filter row are one contiguous run of inputs */
                const int32_t run = dil_w == 1 ? (kx1 - kx0) * in_c : in_c;
                const int32_t runs = dil_w == 1 ? (kx1 > kx0 ? 1 : 0) : kx1 - kx0;
                for (int32_t oc = 0; oc < out_c; oc += 2)
                {
                    /* an odd last channel is computed twice as its own pair */
                    const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
                    int64_t acc0 = 0, acc1 = 0;
                    for (int32_t ky = ky0; ky < ky1; ky++)
                    {
                        const int32_t iy = y0 + ky * dil_h;
                        for (int32_t r = 0; r < runs; r++)
                        {
                            const int32_t kx = kx0 + r;
                            const int16_t *xp = in_batch + ((size_t)iy * (size_t)in_w + (size_t)(x0 + kx * dil_w)) *
                                                               (size_t)in_c;
                            const size_t wo = ((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)in_c;
                            const int8_t *w0 = filter_data + (size_t)oc * (size_t)k_len + wo;
                            const int8_t *w1 = filter_data + (size_t)oc1 * (size_t)k_len + wo;
                            for (int32_t i = 0; i < run; i += EDGEGEN_NN_S16_CHUNK)
                            {
                                const int32_t n = EDGEGEN_NN_MIN(run - i, EDGEGEN_NN_S16_CHUNK);
                                int32_t s0, s1;
                                edgegen_nn_dot2_s16(xp + i, w0 + i, w1 + i, n, &s0, &s1);
                                acc0 += s0;
                                acc1 += s1;
                            }
                        }
                    }
                    int16_t *out = output_data +
                                   (((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) *
                                       (size_t)out_c;
                    const edgegen_nn_rq16 r0 = edgegen_nn_rq16_of(bias_data, oc, quant_params);
                    const edgegen_nn_rq16 r1 = edgegen_nn_rq16_of(bias_data, oc1, quant_params);
                    out[oc] = edgegen_nn_conv16_out(acc0, &r0, is_int32, act_min, act_max);
                    out[oc1] = edgegen_nn_conv16_out(acc1, &r1, is_int32, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_convolve_wrapper_s16_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                 const cmsis_nn_dims *input_dims,
                                                 const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)output_dims;
    return arm_convolve_s16_get_buffer_size(input_dims, filter_dims);
}

int32_t arm_convolve_wrapper_s16_get_buffer_size_dsp(const cmsis_nn_conv_params *conv_params,
                                                     const cmsis_nn_dims *input_dims,
                                                     const cmsis_nn_dims *filter_dims,
                                                     const cmsis_nn_dims *output_dims)
{
    return arm_convolve_wrapper_s16_get_buffer_size(conv_params, input_dims, filter_dims, output_dims);
}

int32_t arm_convolve_wrapper_s16_get_buffer_size_mve(const cmsis_nn_conv_params *conv_params,
                                                     const cmsis_nn_dims *input_dims,
                                                     const cmsis_nn_dims *filter_dims,
                                                     const cmsis_nn_dims *output_dims)
{
    return arm_convolve_wrapper_s16_get_buffer_size(conv_params, input_dims, filter_dims, output_dims);
}

int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    /* two im2col columns, as Arm's DSP build (without it the kernel runs its direct loops) */
    return 2 * input_dims->c * filter_dims->w * filter_dims->h * (int32_t)sizeof(int16_t);
}

/* The depthwise sum of one output element over its valid taps, in int64 from int32 chunks. */
static int64_t edgegen_nn_dw_sum_s16(const int16_t *in, const int8_t *filter, int32_t y0, int32_t x0, int32_t ky0,
                                     int32_t ky1, int32_t kx0, int32_t kx1, int32_t dil_h, int32_t dil_w,
                                     int32_t in_w, int32_t in_c, int32_t k_w, int32_t out_c, int32_t ic, int32_t oc)
{
    int64_t acc = 0;
    int32_t part = 0, count = 0;
    for (int32_t ky = ky0; ky < ky1; ky++)
    {
        const int32_t iy = y0 + ky * dil_h;
        for (int32_t kx = kx0; kx < kx1; kx++)
        {
            const int32_t ix = x0 + kx * dil_w;
            part += (int32_t)filter[((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)out_c + (size_t)oc] *
                    (int32_t)in[((size_t)iy * (size_t)in_w + (size_t)ix) * (size_t)in_c + (size_t)ic];
            if (++count == EDGEGEN_NN_S16_CHUNK)
            {
                acc += part;
                part = 0;
                count = 0;
            }
        }
    }
    return acc + part;
}

arm_cmsis_nn_status arm_depthwise_conv_s16(const cmsis_nn_context *ctx,
                                           const cmsis_nn_dw_conv_params *dw_conv_params,
                                           const cmsis_nn_per_channel_quant_params *quant_params,
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
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    const int32_t ch_mult = dw_conv_params->ch_mult;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;

    if (ch_mult <= 0 || in_c * ch_mult != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (int32_t oy = 0; oy < out_h; oy++)
    {
        const int32_t y0 = oy * stride_h - pad_h;
        int32_t ky0, ky1;
        edgegen_nn_valid_taps(y0, dil_h, k_h, in_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < out_w; ox++)
        {
            const int32_t x0 = ox * stride_w - pad_w;
            int32_t kx0, kx1;
            edgegen_nn_valid_taps(x0, dil_w, k_w, in_w, &kx0, &kx1);
            int16_t *out = output_data + ((size_t)oy * (size_t)out_w + (size_t)ox) * (size_t)out_c;
            for (int32_t oc = 0; oc < out_c; oc++)
            {
                int64_t acc = edgegen_nn_dw_sum_s16(input_data, filter_data, y0, x0, ky0, ky1, kx0, kx1, dil_h,
                                                    dil_w, in_w, in_c, k_w, out_c, oc / ch_mult, oc);
                if (bias_data != NULL)
                {
                    acc += bias_data[oc];
                }
                out[oc] = edgegen_nn_clamp_s16(
                    edgegen_nn_requantize_s64(acc, quant_params->multiplier[oc], quant_params->shift[oc]), act_min,
                    act_max);
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_depthwise_conv_fast_s16(const cmsis_nn_context *ctx,
                                                const cmsis_nn_dw_conv_params *dw_conv_params,
                                                const cmsis_nn_per_channel_quant_params *quant_params,
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
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;

    if (dw_conv_params->ch_mult != 1 || output_dims->c != c || dw_conv_params->dilation.w != 1 ||
        dw_conv_params->dilation.h != 1 || k_h * k_w > EDGEGEN_NN_S16_CHUNK)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if EDGEGEN_NN_S16_MVE
    /* up to 64 channels: each channel's requantization prepared once per call (1 KiB of stack),
     * the bias folded into the multiply-accumulate as in the convolution's block path */
    edgegen_nn_rq16b r[EDGEGEN_NN_S16_BLK];
    const int32_t prepared = c <= EDGEGEN_NN_S16_BLK;
    for (int32_t j = 0; prepared && j < c; j++)
    {
        const int64_t b = bias_data != NULL ? bias_data[j] : 0;
        r[j].reduced = edgegen_nn_s16_reduce(quant_params->multiplier[j]);
        r[j].total_shift = 15 - quant_params->shift[j];
        r[j].offset = b * r[j].reduced + ((int64_t)1 << (r[j].total_shift - 1));
    }
#endif
    for (int32_t oy = 0; oy < out_h; oy++)
    {
        const int32_t y0 = oy * stride_h - pad_h;
        int32_t ky0, ky1;
        edgegen_nn_valid_taps(y0, 1, k_h, in_h, &ky0, &ky1);
        for (int32_t ox = 0; ox < out_w; ox++)
        {
            const int32_t x0 = ox * stride_w - pad_w;
            int32_t kx0, kx1;
            edgegen_nn_valid_taps(x0, 1, k_w, in_w, &kx0, &kx1);
            int16_t *out = output_data + ((size_t)oy * (size_t)out_w + (size_t)ox) * (size_t)c;
            int32_t ch = 0;
#if EDGEGEN_NN_S16_MVE
            /* Helium: four channels per lane group, VLDRH.S32 of the inputs and VLDRB.S32 of the
             * weights (sign-extended to 32 bits), VMUL and VADD per tap; at most 508 taps of 2^22: exact */
            for (; ch + 4 <= c; ch += 4)
            {
                int32x4_t a = vdupq_n_s32(0);
                for (int32_t ky = ky0; ky < ky1; ky++)
                {
                    const int16_t *xr = input_data + ((size_t)(y0 + ky) * (size_t)in_w) * (size_t)c + (size_t)ch;
                    const int8_t *wr = filter_data + (size_t)ky * (size_t)k_w * (size_t)c + (size_t)ch;
                    for (int32_t kx = kx0; kx < kx1; kx++)
                    {
                        a = vaddq_s32(a, vmulq_s32(vldrhq_s32(xr + (size_t)(x0 + kx) * (size_t)c),
                                                   vldrbq_s32(wr + (size_t)kx * (size_t)c)));
                    }
                }
                int32_t sums[4];
                vst1q_s32(sums, a);
                if (prepared)
                {
                    out[ch] = edgegen_nn_s16_blk_out(sums[0], &r[ch], act_min, act_max);
                    out[ch + 1] = edgegen_nn_s16_blk_out(sums[1], &r[ch + 1], act_min, act_max);
                    out[ch + 2] = edgegen_nn_s16_blk_out(sums[2], &r[ch + 2], act_min, act_max);
                    out[ch + 3] = edgegen_nn_s16_blk_out(sums[3], &r[ch + 3], act_min, act_max);
                    continue;
                }
                for (int32_t j = 0; j < 4; j++)
                {
                    const int64_t acc = (int64_t)sums[j] + (bias_data != NULL ? bias_data[ch + j] : 0);
                    out[ch + j] = edgegen_nn_clamp_s16(
                        edgegen_nn_s16_rq64(acc, edgegen_nn_s16_reduce(quant_params->multiplier[ch + j]), 15 - quant_params->shift[ch + j]),
                        act_min, act_max);
                }
            }
#endif
#if EDGEGEN_NN_S16_DSP
            /* four channels at a time: one weight word (w0..w3) -> (w0, w2), (w1, w3), two input
             * words (x0, x1), (x2, x3), one 16x16 multiply-accumulate per channel; at most 508 taps
             * of 2^22 each: the int32 sums are exact */
            for (; ch + 4 <= c; ch += 4)
            {
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (int32_t ky = ky0; ky < ky1; ky++)
                {
                    const int16_t *xr = input_data + ((size_t)(y0 + ky) * (size_t)in_w) * (size_t)c + (size_t)ch;
                    const int8_t *wr = filter_data + (size_t)ky * (size_t)k_w * (size_t)c + (size_t)ch;
                    for (int32_t kx = kx0; kx < kx1; kx++)
                    {
                        const uint32_t w = edgegen_nn_s16_word(wr + (size_t)kx * (size_t)c);
                        const int16_t *xp = xr + (size_t)(x0 + kx) * (size_t)c;
                        const uint32_t x01 = edgegen_nn_s16_word(xp), x23 = edgegen_nn_s16_word(xp + 2);
                        const uint32_t w02 = edgegen_nn_sxtb16(w), w13 = edgegen_nn_sxtb16_ror8(w);
                        __asm__("smlabb %0, %1, %2, %0" : "+r"(a0) : "r"(w02), "r"(x01));
                        __asm__("smlabt %0, %1, %2, %0" : "+r"(a1) : "r"(w13), "r"(x01));
                        __asm__("smlatb %0, %1, %2, %0" : "+r"(a2) : "r"(w02), "r"(x23));
                        __asm__("smlatt %0, %1, %2, %0" : "+r"(a3) : "r"(w13), "r"(x23));
                    }
                }
                const int32_t s[4] = {a0, a1, a2, a3};
                for (int32_t j = 0; j < 4; j++)
                {
                    const int64_t acc = (int64_t)s[j] + (bias_data != NULL ? bias_data[ch + j] : 0);
                    out[ch + j] = edgegen_nn_clamp_s16(
                        edgegen_nn_s16_rq64(acc, edgegen_nn_s16_reduce(quant_params->multiplier[ch + j]), 15 - quant_params->shift[ch + j]),
                        act_min, act_max);
                }
            }
#endif
            for (; ch < c; ch++)
            {
                int32_t a = 0;
                for (int32_t ky = ky0; ky < ky1; ky++)
                {
                    for (int32_t kx = kx0; kx < kx1; kx++)
                    {
                        a += (int32_t)filter_data[((size_t)ky * (size_t)k_w + (size_t)kx) * (size_t)c + (size_t)ch] *
                             (int32_t)input_data[((size_t)(y0 + ky) * (size_t)in_w + (size_t)(x0 + kx)) * (size_t)c +
                                                 (size_t)ch];
                    }
                }
                const int64_t acc = (int64_t)a + (bias_data != NULL ? bias_data[ch] : 0);
                out[ch] = edgegen_nn_clamp_s16(
                    edgegen_nn_s16_rq64(acc, edgegen_nn_s16_reduce(quant_params->multiplier[ch]), 15 - quant_params->shift[ch]), act_min,
                    act_max);
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* Arm's USE_FAST_DW_CONV_S16_FUNCTION: multiplier 1, no dilation, fewer than 512 taps. */
static int32_t edgegen_nn_use_fast_dw_s16(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *f)
{
    return p->ch_mult == 1 && p->dilation.w == 1 && p->dilation.h == 1 && f->w * f->h <= EDGEGEN_NN_S16_CHUNK;
}

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s16(const cmsis_nn_context *ctx,
                                                   const cmsis_nn_dw_conv_params *dw_conv_params,
                                                   const cmsis_nn_per_channel_quant_params *quant_params,
                                                   const cmsis_nn_dims *input_dims,
                                                   const int16_t *input_data,
                                                   const cmsis_nn_dims *filter_dims,
                                                   const int8_t *filter_data,
                                                   const cmsis_nn_dims *bias_dims,
                                                   const int64_t *bias_data,
                                                   const cmsis_nn_dims *output_dims,
                                                   int16_t *output_data)
{
    /* batches: the reference loops over them; the kernels take one image */
    const size_t in_size = (size_t)input_dims->h * (size_t)input_dims->w * (size_t)input_dims->c;
    const size_t out_size = (size_t)output_dims->h * (size_t)output_dims->w * (size_t)output_dims->c;
    for (int32_t b = 0; b < input_dims->n; b++)
    {
        const int16_t *in = input_data + (size_t)b * in_size;
        int16_t *out = output_data + (size_t)b * out_size;
        const arm_cmsis_nn_status st =
            edgegen_nn_use_fast_dw_s16(dw_conv_params, filter_dims)
                ? arm_depthwise_conv_fast_s16(ctx, dw_conv_params, quant_params, input_dims, in, filter_dims,
                                              filter_data, bias_dims, bias_data, output_dims, out)
                : arm_depthwise_conv_s16(ctx, dw_conv_params, quant_params, input_dims, in, filter_dims, filter_data,
                                         bias_dims, bias_data, output_dims, out);
        if (st != ARM_CMSIS_NN_SUCCESS)
        {
            return st;
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const cmsis_nn_dims *output_dims)
{
    (void)dw_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
}

int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size_dsp(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                           const cmsis_nn_dims *input_dims,
                                                           const cmsis_nn_dims *filter_dims,
                                                           const cmsis_nn_dims *output_dims)
{
    return arm_depthwise_conv_wrapper_s16_get_buffer_size(dw_conv_params, input_dims, filter_dims, output_dims);
}

int32_t arm_depthwise_conv_wrapper_s16_get_buffer_size_mve(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                           const cmsis_nn_dims *input_dims,
                                                           const cmsis_nn_dims *filter_dims,
                                                           const cmsis_nn_dims *output_dims)
{
    return arm_depthwise_conv_wrapper_s16_get_buffer_size(dw_conv_params, input_dims, filter_dims, output_dims);
}

int32_t arm_depthwise_conv_fast_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    (void)input_dims;
    (void)filter_dims;
    return 0;
}
