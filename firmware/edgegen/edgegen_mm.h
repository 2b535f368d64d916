/*
 * edgegen's specialized int8 kernel for 1x1 CONV_2D (stride 1) and FULLY_CONNECTED: a matrix
 * product of NPIX rows of K input bytes with OC output channels, compiled per layer (issue 14;
 * design and measurements in docs/kernel-design.md).
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/matmul.py); the
 * generated code calls these always-inline functions with literal K, OC, NPIX, clamps and e_pos,
 * so every trip count is a constant:
 *
 *   w      W16x2 layout: for each block of OCB (up to 6) output channels, for each quad q of K (zero-
 *          padded to a multiple of 4), for each channel j of the block, two int16 pairs
 *          (s*w[4q], s*w[4q+2]) and (s*w[4q+1], s*w[4q+3]), s = 2 * 2^left_shift of the channel:
 *          the order SXTB16 and SXTB16 ROR #8 give the four input bytes of one word.
 *   bias2  s * (bias + input_offset * sum_k w): the accumulator is s * acc, raw int8 inputs.
 *   rq     per channel {m, c, e}: h = (2acc * m + 2^31) >> 32 (SMMULR), then
 *          out = ssat8((h + c + fix) >> e), fix = -1 when h < 0 and e > 0, clamped to [amin, amax].
 *
 * Python proves per layer that no partial sum, h + c nor the doubling overflows int32.
 * The DSP path (Cortex-M4/M7/M55 with the DSP extension) runs inline-asm micro-kernels with
 * post-increment addressing; the portable path is plain C99 over the same layout and arithmetic
 * (the host tier checks it). The last K % 4 inputs of a row are read byte by byte, so no load
 * passes the end of the input.
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_MM_H
#define EDGEGEN_MM_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define EDGEGEN_MM_HAVE_DSP 1
#else
#define EDGEGEN_MM_HAVE_DSP 0
#endif

#define EDGEGEN_MM_INLINE static inline __attribute__((always_inline))

#define EDGEGEN_MM_LO(w) ((int32_t)(int16_t)(uint16_t)(uint32_t)(w))
#define EDGEGEN_MM_HI(w) ((int32_t)(int16_t)(uint16_t)((uint32_t)(w) >> 16))
#define EDGEGEN_MM_B(w, i) ((int32_t)(int8_t)(uint8_t)((uint32_t)(w) >> (8 * (i))))

/* The last kt (1..3) bytes of a row as a word, the missing bytes zero (their weights are zero). */
EDGEGEN_MM_INLINE uint32_t edgegen_mm_tail(const int8_t *x, const int32_t kt)
{
    uint32_t v = (uint32_t)(uint8_t)x[0];
    if (kt > 1)
    {
        v |= (uint32_t)(uint8_t)x[1] << 8;
    }
    if (kt > 2)
    {
        v |= (uint32_t)(uint8_t)x[2] << 16;
    }
    return v;
}

#if EDGEGEN_MM_HAVE_DSP
/* Load 4 input bytes (post-increment), widen to (k0, k2) and (k1, k3). */
#define EDGEGEN_MM_X(XP_, A_, B_)                                                                      \
    __asm__ volatile("ldr %[b], [%[p]], #4\n\tsxtb16 %[a], %[b]\n\tsxtb16 %[b], %[b], ror #8"           \
                     : [a] "=&r"(A_), [b] "=&r"(B_), [p] "+r"(XP_)::"memory")
/* Widen a word already in a register. */
#define EDGEGEN_MM_XR(V_, A_, B_)                                                                      \
    __asm__("sxtb16 %[a], %[v]\n\tsxtb16 %[b], %[v], ror #8" : [a] "=&r"(A_), [b] "=&r"(B_) : [v] "r"(V_))
/* One output channel: two int16x2 weight words (one LDRD, post-increment), two SMLAD. */
#define EDGEGEN_MM_W(WP_, A_, B_, C_)                                                                  \
    do                                                                                                 \
    {                                                                                                  \
        int32_t w0_, w1_;                                                                              \
        __asm__ volatile("ldrd %[w0], %[w1], [%[p]], #8\n\tsmlad %[c], %[a], %[w0], %[c]\n\t"           \
                         "smlad %[c], %[b], %[w1], %[c]"                                               \
                         : [c] "+r"(C_), [p] "+r"(WP_), [w0] "=&r"(w0_), [w1] "=&r"(w1_)                \
                         : [a] "r"(A_), [b] "r"(B_)                                                    \
                         : "memory");                                                                  \
    } while (0)

/* One quad of the row: 4 input bytes widened once, then 2 SMLAD per output channel of the block. */
#define EDGEGEN_MM_QUAD(X_, W_, ACC_, N_)                                                              \
    do                                                                                                 \
    {                                                                                                  \
        int32_t xa_, xb_;                                                                              \
        EDGEGEN_MM_X(X_, xa_, xb_);                                                                    \
        _Pragma("GCC unroll 6") for (int32_t j_ = 0; j_ < (N_); j_++)                                  \
        {                                                                                              \
            EDGEGEN_MM_W(W_, xa_, xb_, (ACC_)[j_]);                                                    \
        }                                                                                              \
    } while (0)
#endif

/* Requantize the doubled accumulator of one channel (its record {m, c, e} in registers). */
EDGEGEN_MM_INLINE int32_t edgegen_mm_rq3(const int32_t acc2, const int32_t m, const int32_t c, const int32_t e,
                                         const int32_t e_pos, const int32_t amin, const int32_t amax,
                                         const int32_t dsp)
{
    int32_t h;
    int32_t v;
    (void)dsp;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(acc2), "r"(m));
    }
    else
#endif
    {
        h = (int32_t)(((int64_t)acc2 * m + ((int64_t)1 << 31)) >> 32);
    }
    const int32_t fix = e_pos ? (h >> 31) : ((h & -e) >> 31);
    v = (h + c + fix) >> e;
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(v));
    }
    else
#endif
    {
        v = v < -128 ? -128 : (v > 127 ? 127 : v);
    }
    if (amin > -128 && v < amin)
    {
        v = amin;
    }
    if (amax < 127 && v > amax)
    {
        v = amax;
    }
    return v;
}

/* Requantize the doubled accumulator of one channel (record r = {m, c, e}). */
EDGEGEN_MM_INLINE int32_t edgegen_mm_rq(const int32_t acc2, const int32_t *r, const int32_t e_pos,
                                        const int32_t amin, const int32_t amax, const int32_t dsp)
{
    return edgegen_mm_rq3(acc2, r[0], r[1], r[2], e_pos, amin, amax, dsp);
}

/* One row x n (1..6) output channels; advances *wp, *bp, *rp past the block. */
EDGEGEN_MM_INLINE void edgegen_mm_block(const int8_t *x, int8_t *out, const int32_t **wp, const int32_t **bp,
                                        const int32_t **rp, const int32_t K, const int32_t n, const int32_t amin,
                                        const int32_t amax, const int32_t e_pos, const int32_t dsp)
{
    int32_t acc[6] = { 0, 0, 0, 0, 0, 0 };
    const int32_t *w = *wp;
    const int32_t kt = K % 4;
    (void)dsp;
#pragma GCC unroll 6
    for (int32_t j = 0; j < n; j++)
    {
        acc[j] = (*bp)[j];
    }
#if EDGEGEN_MM_HAVE_DSP
    if (dsp)
    {
        /* K is a literal: one of the two loops is compiled. Up to 64 inputs (kws's 1x1 layers) the
         * quads are unrolled completely; longer rows (FC 640->128, 3x3 windows) by 8, which keeps a
         * layer's function within about 2 KiB of flash for 1-4 % more instructions (ad01: 11,944 ->
         * 1,388 B for its first layer; docs/benchmarks.md, "Flash without weights and test vectors") */
        if (K / 4 <= 16)
        {
#pragma GCC unroll 16
            for (int32_t q = 0; q < K / 4; q++)
            {
                EDGEGEN_MM_QUAD(x, w, acc, n);
            }
        }
        else
        {
#pragma GCC unroll 8
            for (int32_t q = 0; q < K / 4; q++)
            {
                EDGEGEN_MM_QUAD(x, w, acc, n);
            }
        }
        if (kt > 0)
        {
            int32_t xa, xb;
            const uint32_t v = edgegen_mm_tail(x, kt);
            EDGEGEN_MM_XR(v, xa, xb);
#pragma GCC unroll 6
            for (int32_t j = 0; j < n; j++)
            {
                EDGEGEN_MM_W(w, xa, xb, acc[j]);
            }
        }
    }
    else
#endif
    {
        const int32_t quads = (K + 3) / 4;
#pragma GCC unroll 16
        for (int32_t q = 0; q < quads; q++)
        {
            uint32_t xw;
            if (q < K / 4)
            {
                memcpy(&xw, x + 4 * q, 4);
            }
            else
            {
                xw = edgegen_mm_tail(x + 4 * q, kt);
            }
            const int32_t x0 = EDGEGEN_MM_B(xw, 0), x1 = EDGEGEN_MM_B(xw, 1);
            const int32_t x2 = EDGEGEN_MM_B(xw, 2), x3 = EDGEGEN_MM_B(xw, 3);
#pragma GCC unroll 6
            for (int32_t j = 0; j < n; j++)
            {
                acc[j] += x0 * EDGEGEN_MM_LO(w[0]) + x2 * EDGEGEN_MM_HI(w[0]) + x1 * EDGEGEN_MM_LO(w[1]) +
                          x3 * EDGEGEN_MM_HI(w[1]);
                w += 2;
            }
        }
    }
#pragma GCC unroll 6
    for (int32_t j = 0; j < n; j++)
    {
        out[j] = (int8_t)edgegen_mm_rq(acc[j], *rp + 3 * j, e_pos, amin, amax, dsp);
    }
    *wp = w;
    *bp += n;
    *rp += 3 * n;
}

/* One row x N output channels in blocks of OCB (the last block the rest); advances *wp, *bp, *rp
 * past the N channels and returns the output pointer after them. */
EDGEGEN_MM_INLINE int8_t *edgegen_mm_row(const int8_t *x, int8_t *o, const int32_t **wp, const int32_t **bp,
                                         const int32_t **rp, const int32_t K, const int32_t N, const int32_t OCB,
                                         const int32_t amin, const int32_t amax, const int32_t e_pos,
                                         const int32_t dsp)
{
    for (int32_t c = 0; c < N / OCB; c++)
    {
        edgegen_mm_block(x, o, wp, bp, rp, K, OCB, amin, amax, e_pos, dsp);
        o += OCB;
    }
    if (N % OCB != 0)
    {
        edgegen_mm_block(x, o, wp, bp, rp, K, N % OCB, amin, amax, e_pos, dsp);
        o += N % OCB;
    }
    return o;
}

EDGEGEN_MM_INLINE void edgegen_mm_run(const int8_t *in, int8_t *out, const int32_t *w16x2, const int32_t *bias2,
                                      const int32_t *rq, const int32_t K, const int32_t OC, const int32_t NPIX,
                                      const int32_t OCB, const int32_t amin, const int32_t amax, const int32_t e_pos,
                                      const int32_t dsp)
{
    for (int32_t p = 0; p < NPIX; p++)
    {
        const int32_t *w = w16x2;
        const int32_t *b = bias2;
        const int32_t *r = rq;
        (void)edgegen_mm_row(in + p * K, out + p * OC, &w, &b, &r, K, OC, OCB, amin, amax, e_pos, dsp);
    }
}

/* The layer's kernel: the DSP path where the CPU has it, else the portable one. */
EDGEGEN_MM_INLINE void edgegen_mm_s8(const int8_t *in, int8_t *out, const int32_t *w16x2, const int32_t *bias2,
                                     const int32_t *rq, const int32_t K, const int32_t OC, const int32_t NPIX,
                                     const int32_t OCB, const int32_t amin, const int32_t amax, const int32_t e_pos)
{
    edgegen_mm_run(in, out, w16x2, bias2, rq, K, OC, NPIX, OCB, amin, amax, e_pos, EDGEGEN_MM_HAVE_DSP);
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM_INLINE void edgegen_mm_s8_portable(const int8_t *in, int8_t *out, const int32_t *w16x2,
                                              const int32_t *bias2, const int32_t *rq, const int32_t K,
                                              const int32_t OC, const int32_t NPIX, const int32_t OCB,
                                              const int32_t amin, const int32_t amax, const int32_t e_pos)
{
    edgegen_mm_run(in, out, w16x2, bias2, rq, K, OC, NPIX, OCB, amin, amax, e_pos, 0);
}

#endif /* EDGEGEN_MM_H */
