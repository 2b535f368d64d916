/*
 * edgegen's specialized int8 kernel for 1x1 CONV_2D (stride 1) and FULLY_CONNECTED on CPUs with
 * Helium (MVE, Cortex-M55): a matrix product of NPIX rows of K input bytes with OC output channels,
 * compiled per layer (issue 14; design and measurements in docs/kernel-design.md, "Helium").
 *
 * Every number comes from edgegen's build-time preparation (edgegen/kernels/mve_mm.py); the generated
 * code calls these always-inline functions with literal K, OC, NPIX, clamps, e_pos and ls, so every
 * trip count is a constant:
 *
 *   w      int8 weights in the order the inner loop reads them: for each block of 4 output channels
 *          (OC zero-padded to a multiple of 4), for each 16-byte chunk of K (K zero-padded to a
 *          multiple of 16), the 16 bytes of each of the 4 channels. Every VLDRB post-increments.
 *   bias   per channel (OC padded to 4): bias + input_offset * sum_k w, so raw int8 inputs.
 *   rq     per block of 4 channels: {m[4], -e[4], zp[4]} and, when ls, {left_shift[4]}.
 *          out = clamp(((h + fix) rounding-shifted right by e) + zp), h = VQRDMULH(acc << ls, m)
 *          (TFLM's SaturatingRoundingDoublingHighMul for m >= 0), fix = -1 when h < 0 and e > 0
 *          (RoundingDivideByPOT rounds half away from zero, VRSHL half up).
 *
 * Python proves per layer that no partial sum, acc << ls nor the result plus zp overflows int32.
 * The last K % 16 input bytes of a row are loaded with a VCTP predicate: inactive lanes read no
 * memory and are zero, so no load passes the end of the input. The Helium path (__ARM_FEATURE_MVE)
 * blocks 2 pixels x 4 channels into 8 scalar VMLADAVA accumulators (inline asm: post-increment loads,
 * no address arithmetic); the portable path is plain C99 over the same layout and arithmetic (the
 * host tier and `--kernels portable` check it).
 *
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_MM8_H
#define EDGEGEN_MM8_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEGEN_MM8_HAVE_MVE 1
#include <arm_mve.h>
#else
#define EDGEGEN_MM8_HAVE_MVE 0
#endif

#define EDGEGEN_MM8_INLINE static inline __attribute__((always_inline))

/* One channel's requantization in portable C: exactly the Helium path's lane arithmetic. */
EDGEGEN_MM8_INLINE int32_t edgegen_mm8_rq1(int32_t acc, const int32_t m, const int32_t ne, const int32_t zp,
                                           const int32_t ls, const int32_t e_pos, const int32_t amin,
                                           const int32_t amax)
{
    acc = (int32_t)((uint32_t)acc << ls);
    /* VQRDMULH: (2 acc m + 2^31) >> 32, no saturation for m >= 0 */
    const int32_t h = (int32_t)(((int64_t)acc * m * 2 + ((int64_t)1 << 31)) >> 32);
    const int32_t fix = e_pos ? (h >> 31) : ((h & ne) >> 31);
    const int32_t e = -ne;
    const int64_t v = (int64_t)h + fix;
    /* VRSHL by -e: add 2^(e-1), shift right (the rounding add cannot overflow in 64 bits) */
    int32_t r = (e > 0 ? (int32_t)((v + ((int64_t)1 << (e - 1))) >> e) : (int32_t)v) + zp;
    r = r < amin ? amin : r;
    return r > amax ? amax : r;
}

/* The portable path: row by row, block by block, the same layout and arithmetic. */
EDGEGEN_MM8_INLINE void edgegen_mm8_run_portable(const int8_t *in, int8_t *out, const int8_t *w,
                                                 const int32_t *bias, const int32_t *rq, const int32_t K,
                                                 const int32_t OC, const int32_t NPIX, const int32_t amin,
                                                 const int32_t amax, const int32_t e_pos, const int32_t LS)
{
    const int32_t nch = (K + 15) / 16;
    const int32_t blocks = (OC + 3) / 4;
    const int32_t rqw = LS ? 16 : 12;
    for (int32_t p = 0; p < NPIX; p++)
    {
        const int8_t *x = in + p * K;
        for (int32_t b = 0; b < blocks; b++)
        {
            const int8_t *wb = w + b * 64 * nch;
            const int32_t *r = rq + b * rqw;
            for (int32_t j = 0; j < 4 && 4 * b + j < OC; j++)
            {
                int32_t acc = bias[4 * b + j];
                for (int32_t q = 0; q < nch; q++)
                {
                    const int8_t *wq = wb + 64 * q + 16 * j;
                    for (int32_t i = 0; i < 16 && 16 * q + i < K; i++)
                    {
                        acc += (int32_t)x[16 * q + i] * wq[i];
                    }
                }
                out[p * OC + 4 * b + j] = (int8_t)edgegen_mm8_rq1(acc, r[j], r[4 + j], r[8 + j], LS ? r[12 + j] : 0,
                                                                  e_pos, amin, amax);
            }
        }
    }
}

#if EDGEGEN_MM8_HAVE_MVE
/*
 * The K loop of one block as one asm statement, so the 8 (or 4) accumulators keep their registers
 * for the whole loop (separate statements per chunk made GCC shuffle them between the even registers
 * VMLADAV needs). Per 16-byte chunk of K and 2 pixels x 4 channels: 2 input + 4 weight VLDRB, all
 * post-increment, and 8 VMLADAVA. The first chunk's VMLADAV sets the accumulators; the chunk count is
 * an immediate (.rept), so up to EDGEGEN_MM8_UNROLL chunks are straight-line code and longer rows loop
 * over 4 chunks at a time; the K % 16 tail (.if) loads its input bytes under a VCTP predicate.
 * "p0" is GCC's name for the VPR register (the predicate) the asm clobbers.
 */
#define EDGEGEN_MM8_UNROLL 64
#define EDGEGEN_MM8_W2(OP_, J_, K_)                                                                             \
    "vldrb.8 q2, [%[w]], #16\n\t" OP_ ".s8 %[a" #J_ "], q0, q2\n\t" OP_ ".s8 %[a" #K_ "], q1, q2\n\t"
#define EDGEGEN_MM8_W4X2(OP_)                                                                                   \
    EDGEGEN_MM8_W2(OP_, 0, 4) EDGEGEN_MM8_W2(OP_, 1, 5) EDGEGEN_MM8_W2(OP_, 2, 6) EDGEGEN_MM8_W2(OP_, 3, 7)
#define EDGEGEN_MM8_W1(OP_, J_) "vldrb.8 q2, [%[w]], #16\n\t" OP_ ".s8 %[a" #J_ "], q0, q2\n\t"
#define EDGEGEN_MM8_W4X1(OP_)                                                                                   \
    EDGEGEN_MM8_W1(OP_, 0) EDGEGEN_MM8_W1(OP_, 1) EDGEGEN_MM8_W1(OP_, 2) EDGEGEN_MM8_W1(OP_, 3)
#define EDGEGEN_MM8_X2 "vldrb.8 q0, [%[x0]], #16\n\tvldrb.8 q1, [%[x1]], #16\n\t"
#define EDGEGEN_MM8_X2T "movs %[t], %[kt]\n\tvctp.8 %[t]\n\tvpstt\n\tvldrbt.8 q0, [%[x0]]\n\tvldrbt.8 q1, [%[x1]]\n\t"
#define EDGEGEN_MM8_X1 "vldrb.8 q0, [%[x0]], #16\n\t"
#define EDGEGEN_MM8_X1T "movs %[t], %[kt]\n\tvctp.8 %[t]\n\tvpst\n\tvldrbt.8 q0, [%[x0]]\n\t"
/* FIRST_: the first chunk (full or, when K < 16, the tail); then `pre` more full chunks in line,
 * `loops` times 4 full chunks in a loop, and the tail when kt (and the first chunk was full). The
 * second row's pointer is made from the first (x1 = x0 + xs) and x0 is restored at the end, so
 * neither needs a register outside the statement. */
#define EDGEGEN_MM8_IMM(OP_, D_, S_, N_)                                                                       \
    ".if " N_ " < 4096\n\t" OP_ " " D_ ", " S_ ", #" N_ "\n\t.else\n\tmovw %[t], #(" N_ ") & 0xffff\n\t"         \
    "movt %[t], #(" N_ ") >> 16\n\t" OP_ " " D_ ", " S_ ", %[t]\n\t.endif\n\t"
#define EDGEGEN_MM8_BODY(X_, XT_, W_)                                                                          \
    ".if %c[full]\n\t" X_ W_("vmladav") ".else\n\t" XT_ W_("vmladav") ".endif\n\t"                               \
    ".rept %c[pre]\n\t" X_ W_("vmladava") ".endr\n\t"                                                           \
    ".if %c[loops]\n\tmovw %[t], %[loops]\n1:\n\t.rept 4\n\t" X_ W_("vmladava") ".endr\n\t"                    \
    "subs %[t], %[t], #1\n\tbne 1b\n\t.endif\n\t"                                                               \
    ".if %c[full] && %c[kt]\n\t" XT_ W_("vmladava") ".endif\n\t"                                                \
    ".if %c[full]\n\t" EDGEGEN_MM8_IMM("sub", "%[x0]", "%[x0]", "%c[adv]") ".endif"
#define EDGEGEN_MM8_COUNTS(K_)                                                                                  \
    [full] "i"((K_) >= 16), [kt] "i"((K_) % 16), [adv] "i"((K_) / 16 * 16),                                     \
    [pre] "i"((K_) / 16 <= EDGEGEN_MM8_UNROLL ? ((K_) >= 16 ? (K_) / 16 - 1 : 0) : ((K_) / 16 - 1) % 4),         \
    [loops] "i"((K_) / 16 <= EDGEGEN_MM8_UNROLL ? 0 : ((K_) / 16 - 1) / 4)

/* The K loop of one block: NP (1 or 2) rows x 4 channels into a[0..3] (row 0 at *xp) and a[4..7]
 * (row 1 at *xp + XS). *xp comes back unchanged, but through the asm: a loop over rows that steps it
 * is then not countable for GCC, which otherwise makes it a low-overhead loop and spills its LR
 * counter around every block (LR is one of the accumulators' even registers). */
EDGEGEN_MM8_INLINE void edgegen_mm8_mac(const int8_t **xp, const int32_t XS, const int8_t **wp, int32_t *a,
                                        const int32_t K, const int32_t NP)
{
    const int8_t *x0 = *xp;
    const int8_t *w = *wp;
    const int8_t *x1;
    int32_t t;
    if (NP == 2)
    {
        __asm__ volatile(EDGEGEN_MM8_IMM("add", "%[x1]", "%[x0]", "%c[xs]")
                         EDGEGEN_MM8_BODY(EDGEGEN_MM8_X2, EDGEGEN_MM8_X2T, EDGEGEN_MM8_W4X2)
                         : [a0] "=Te"(a[0]), [a1] "=Te"(a[1]), [a2] "=Te"(a[2]), [a3] "=Te"(a[3]),
                           [a4] "=Te"(a[4]), [a5] "=Te"(a[5]), [a6] "=Te"(a[6]), [a7] "=Te"(a[7]),
                           [t] "=&r"(t), [x1] "=&r"(x1), [x0] "+r"(x0), [w] "+r"(w)
                         : EDGEGEN_MM8_COUNTS(K), [xs] "i"(XS)
                         : "q0", "q1", "q2", "p0", "memory");
    }
    else
    {
        __asm__ volatile(EDGEGEN_MM8_BODY(EDGEGEN_MM8_X1, EDGEGEN_MM8_X1T, EDGEGEN_MM8_W4X1)
                         : [a0] "=Te"(a[0]), [a1] "=Te"(a[1]), [a2] "=Te"(a[2]), [a3] "=Te"(a[3]),
                           [t] "=&r"(t), [x0] "+r"(x0), [w] "+r"(w)
                         : EDGEGEN_MM8_COUNTS(K)
                         : "q0", "q2", "p0", "memory");
        (void)XS;
        x1 = x0;
    }
    (void)t;
    (void)x1;
    *wp = w;
    *xp = x0;
}

/* Four scalar accumulators as one vector, lane by lane (VDUP + 3 VMOV.32). Not the two-lane
 * VMOV Qd[2], Qd[0], Rt, Rt2: qemu 7.2 and the assemblers (GNU as, LLVM MC) disagree on which of Rt,
 * Rt2 lands in lane 0 (qemu puts Rt there), so code using it could not be checked on the emulator. */
EDGEGEN_MM8_INLINE int32x4_t edgegen_mm8_vec(const int32_t a0, const int32_t a1, const int32_t a2, const int32_t a3)
{
    int32x4_t v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* Requantize 4 channels (bias already added) with the block's records r. */
EDGEGEN_MM8_INLINE int32x4_t edgegen_mm8_rqv(int32x4_t v, const int32_t *r, const int32_t e_pos, const int32_t LS,
                                             const int32x4_t vmin, const int32x4_t vmax)
{
    const int32x4_t ne = vldrwq_s32(r + 4);
    if (LS)
    {
        v = vshlq_s32(v, vldrwq_s32(r + 12));
    }
    v = vqrdmulhq_s32(v, vldrwq_s32(r));
    const int32x4_t fix = e_pos ? vshrq_n_s32(v, 31) : vshrq_n_s32(vandq_s32(v, ne), 31);
    v = vaddq_s32(vrshlq_s32(vaddq_s32(v, fix), ne), vldrwq_s32(r + 8));
    return vminq_s32(vmaxq_s32(v, vmin), vmax);
}

/* Store the 4 lanes' low bytes, or only the first n (1..3: the last block of an OC % 4 layer) under a
 * VCTP predicate. The predicated store is asm with a memory clobber: GCC 12 models vstrbq_p as a
 * store of every lane and may delete earlier stores to the bytes it does not write. */
EDGEGEN_MM8_INLINE void edgegen_mm8_store(int8_t *o, const int32x4_t v, const int32_t n)
{
    if (n == 4)
    {
        vstrbq_s32(o, v);
    }
    else
    {
        /* "l": the narrowing VSTRB.32 takes a low base register */
        __asm__ volatile("vctp.32 %[n]\n\tvpst\n\tvstrbt.32 %q[v], [%[o]]"
                         :
                         : [n] "r"(n), [v] "w"(v), [o] "l"(o)
                         : "p0", "memory");
    }
}

/* One block of 4 channels (n of them stored: 4, or OC % 4 for the last block) for NP (1 or 2) rows at
 * x0 and x0 + XS; outputs at o and o + OC; advances *wp, *bp, *rp past the block. */
EDGEGEN_MM8_INLINE void edgegen_mm8_block_mve(const int8_t *x0, const int32_t XS, int8_t *o, const int8_t **wp,
                                              const int32_t **bp, const int32_t **rp, const int32_t K,
                                              const int32_t OC, const int32_t NP, const int32_t n,
                                              const int32_t e_pos, const int32_t LS, const int32x4_t vmin,
                                              const int32x4_t vmax)
{
    int32_t a[8];
    edgegen_mm8_mac(&x0, XS, wp, a, K, NP);
    const int32x4_t bv = vldrwq_s32(*bp);
    const int32x4_t v0 = edgegen_mm8_rqv(vaddq_s32(edgegen_mm8_vec(a[0], a[1], a[2], a[3]), bv), *rp, e_pos, LS,
                                         vmin, vmax);
    edgegen_mm8_store(o, v0, n);
    if (NP == 2)
    {
        const int32x4_t v1 = edgegen_mm8_rqv(vaddq_s32(edgegen_mm8_vec(a[4], a[5], a[6], a[7]), bv), *rp, e_pos, LS,
                                             vmin, vmax);
        edgegen_mm8_store(o + OC, v1, n);
    }
    *bp += 4;
    *rp += LS ? 16 : 12;
}

/* NP (1 or 2) rows at x0 and x0 + XS x all channels; outputs at o (row 0) and o + OC (row 1). */
EDGEGEN_MM8_INLINE void edgegen_mm8_rows_mve(const int8_t *x0, const int32_t XS, int8_t *o, const int8_t *w,
                                             const int32_t *bias, const int32_t *rq, const int32_t K,
                                             const int32_t OC, const int32_t NP, const int32_t amin,
                                             const int32_t amax, const int32_t e_pos, const int32_t LS)
{
    const int8_t *wend = w + 64 * ((K + 15) / 16) * (OC / 4);
    const int32x4_t vmin = vdupq_n_s32(amin);
    const int32x4_t vmax = vdupq_n_s32(amax);
    if (OC >= 4)
    {
        /* looping until the weight pointer the asm advances reaches the end: GCC cannot count these
         * iterations, so it does not make this a low-overhead loop (LE), whose counter would take LR,
         * one of the 8 even registers the 2-row block's accumulators need */
        do
        {
            edgegen_mm8_block_mve(x0, XS, o, &w, &bias, &rq, K, OC, NP, 4, e_pos, LS, vmin, vmax);
            o += 4;
        } while (w != wend);
    }
    if (OC % 4)
    {
        edgegen_mm8_block_mve(x0, XS, o, &w, &bias, &rq, K, OC, NP, OC % 4, e_pos, LS, vmin, vmax);
    }
}

/* Requantize 4 channels with the block's records already in registers; full: the activation range is
 * [-128, 127], saturated by VQSHL #24 / VSHR #24 (no clamp vectors held). */
EDGEGEN_MM8_INLINE int32x4_t edgegen_mm8_rqr(int32x4_t v, const int32x4_t bv, const int32x4_t m, const int32x4_t ne,
                                             const int32x4_t zp, const int32x4_t ls, const int32_t e_pos,
                                             const int32_t LS, const int32_t full, const int32_t amin,
                                             const int32_t amax)
{
    v = vaddq_s32(v, bv);
    if (LS)
    {
        v = vshlq_s32(v, ls);
    }
    v = vqrdmulhq_s32(v, m);
    const int32x4_t fix = e_pos ? vshrq_n_s32(v, 31) : vshrq_n_s32(vandq_s32(v, ne), 31);
    v = vaddq_s32(vrshlq_s32(vaddq_s32(v, fix), ne), zp);
    if (full)
    {
        return vshrq_n_s32(vqshlq_n_s32(v, 24), 24);
    }
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(amin)), vdupq_n_s32(amax));
}

EDGEGEN_MM8_INLINE void edgegen_mm8_run_mve(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                                            const int32_t *rq, const int32_t K, const int32_t OC, const int32_t NPIX,
                                            const int32_t amin, const int32_t amax, const int32_t e_pos,
                                            const int32_t LS)
{
    const int32_t full = amin == -128 && amax == 127;
    const int32_t nb = 64 * ((K + 15) / 16);
    const int8_t *xend = in + (NPIX / 2) * 2 * K;
    for (int32_t b = 0; b < (OC + 3) / 4; b++)
    {
        const int32_t n = OC - 4 * b < 4 ? OC - 4 * b : 4;
        const int32x4_t bv = vldrwq_s32(bias + 4 * b);
        const int32_t *r = rq + (LS ? 16 : 12) * b;
        const int32x4_t m = vldrwq_s32(r);
        const int32x4_t ne = vldrwq_s32(r + 4);
        const int32x4_t zp = vldrwq_s32(r + 8);
        const int32x4_t ls = LS ? vldrwq_s32(r + 12) : vdupq_n_s32(0);
        const int8_t *wb = w + nb * b;
        const int8_t *x = in;
        int8_t *o = out + 4 * b;
        while (x != xend)
        {
            int32_t a[8];
            const int8_t *wp = wb;
            edgegen_mm8_mac(&x, K, &wp, a, K, 2);
            edgegen_mm8_store(o, edgegen_mm8_rqr(edgegen_mm8_vec(a[0], a[1], a[2], a[3]), bv, m, ne, zp, ls, e_pos, LS,
                                                 full, amin, amax), n);
            edgegen_mm8_store(o + OC, edgegen_mm8_rqr(edgegen_mm8_vec(a[4], a[5], a[6], a[7]), bv, m, ne, zp, ls, e_pos,
                                                      LS, full, amin, amax), n);
            x += 2 * K;
            o += 2 * OC;
        }
        if (NPIX % 2)
        {
            int32_t a[8];
            const int8_t *wp = wb;
            edgegen_mm8_mac(&x, K, &wp, a, K, 1);
            edgegen_mm8_store(o, edgegen_mm8_rqr(edgegen_mm8_vec(a[0], a[1], a[2], a[3]), bv, m, ne, zp, ls, e_pos, LS,
                                                 full, amin, amax), n);
        }
    }
}
#endif

/* The layer's kernel: the Helium path where the CPU has it, else the portable one. */
EDGEGEN_MM8_INLINE void edgegen_mm8_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                                       const int32_t *rq, const int32_t K, const int32_t OC, const int32_t NPIX,
                                       const int32_t amin, const int32_t amax, const int32_t e_pos, const int32_t LS)
{
#if EDGEGEN_MM8_HAVE_MVE
    edgegen_mm8_run_mve(in, out, w, bias, rq, K, OC, NPIX, amin, amax, e_pos, LS);
#else
    edgegen_mm8_run_portable(in, out, w, bias, rq, K, OC, NPIX, amin, amax, e_pos, LS);
#endif
}

/* The portable path on every CPU (`--kernels portable`). */
EDGEGEN_MM8_INLINE void edgegen_mm8_s8_portable(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                                                const int32_t *rq, const int32_t K, const int32_t OC,
                                                const int32_t NPIX, const int32_t amin, const int32_t amax,
                                                const int32_t e_pos, const int32_t LS)
{
    edgegen_mm8_run_portable(in, out, w, bias, rq, K, OC, NPIX, amin, amax, e_pos, LS);
}

#endif /* EDGEGEN_MM8_H */
