/*
 * Issue 14 prototype benchmark: each kws-like layer run with the library kernel (CMSIS-NN v7 or
 * edgegen's portable kernels: the same arm_* API, chosen at link time) as the timed reference,
 * then with the specialized kernels, compared byte for byte.
 */
#include <stdint.h>
#include <string.h>

#include "arm_nnfunctions.h"
#include "bench_util.h"
#include "eg_layers.h"
#include "eg_prep.h"

#ifndef BENCH_LIB
#define BENCH_LIB "lib"
#endif

#define MAXBUF 8192
static int8_t g_in[MAXBUF] __attribute__((aligned(16)));
static int8_t g_ref[MAXBUF] __attribute__((aligned(16)));
static int8_t g_out[MAXBUF] __attribute__((aligned(16)));
static int8_t g_w[81920] __attribute__((aligned(16)));
static int32_t g_bias[256] __attribute__((aligned(16)));
static int32_t g_mult[256];
static int32_t g_shift[256];
static int8_t g_scratch[16384] __attribute__((aligned(16)));

/* Prepared (build-time) constants: in generated code these are const arrays in flash. */
static int32_t p_w32[40960] __attribute__((aligned(16))); /* W16 / W8 layouts */
static int32_t p_bias[9 * 256] __attribute__((aligned(16)));
static eg_rq_t p_rq[256];
static int32_t p_rqv[3 * 256] __attribute__((aligned(16)));
static int32_t p_ksum[256] __attribute__((unused)) __attribute__((aligned(16)));

static void gen_quant(int oc, int shift_lo, int shift_hi)
{
    for (int o = 0; o < oc; o++)
    {
        g_bias[o] = bench_rand_range(-20000, 20000);
        g_mult[o] = (int32_t)(0x40000000u + (bench_rand() >> 2));
        g_shift[o] = bench_rand_range(shift_lo, shift_hi);
    }
}

static int32_t scratch_ok(int32_t n)
{
    if (n > (int32_t)sizeof g_scratch)
    {
        bench_puts("scratch too small\n");
        bench_failures++;
        return 0;
    }
    return n;
}

static void fill_clear(void)
{
    memset(g_out, 0x55, sizeof g_out);
    memset(g_ref, 0x55, sizeof g_ref);
}

/* ---------------------------------------------------------------- (a) 1x1 conv 64 -> 64, 25x5 */
static void test_conv1x1(int32_t in_off, int32_t out_zp, int32_t amin, int32_t amax, int shift_lo, int shift_hi,
                         int count)
{
    enum
    {
        H = 25,
        W = 5,
        C = 64,
        OC = 64
    };
    const uint32_t macs = H * W * C * OC;
    bench_fill_i8(g_in, H * W * C, -128, 127);
    bench_fill_i8(g_w, OC * C, -127, 127);
    gen_quant(OC, shift_lo, shift_hi);
    fill_clear();

    const cmsis_nn_conv_params cp = {in_off, out_zp, {1, 1}, {0, 0}, {1, 1}, {amin, amax}};
    const cmsis_nn_per_channel_quant_params qp = {g_mult, g_shift};
    const cmsis_nn_dims id = {1, H, W, C}, fd = {OC, 1, 1, C}, bd = {1, 1, 1, OC}, od = {1, H, W, OC};
    cmsis_nn_context ctx = {g_scratch, scratch_ok(arm_convolve_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od))};
    bench_start();
    arm_convolve_wrapper_s8(&ctx, &cp, &qp, &id, g_in, &fd, g_w, &bd, g_bias, &od, g_ref);
    uint32_t t = bench_elapsed();
    bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", BENCH_LIB, macs, t, g_ref, 0, 0);

    eg_prep_fold_bias(p_bias, g_bias, g_w, OC, C, in_off);
    eg_prep_rq(p_rq, g_mult, g_shift, OC, out_zp);
    const int e_pos = eg_prep_e_pos(g_shift, OC);
    (void)e_pos;
    eg_layer_args_t a = {p_w32, p_bias, p_rq, p_rqv, g_w, amin, amax};
#if defined(EG_PATH_MVE)
    eg_prep_rqv(p_rqv, g_mult, g_shift, OC, out_zp);
    memset(g_out, 0x55, sizeof g_out);
    bench_start();
    eg_l_conv1x1_mve_px1(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_mve_1px4oc", macs, t, g_out, g_ref, H * W * OC);
    memset(g_out, 0x55, sizeof g_out);
    bench_start();
    eg_l_conv1x1_mve_px2(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_mve_2px4oc", macs, t, g_out, g_ref, H * W * OC);
#else
    eg_prep_w16(p_w32, g_w, OC, C, 4);
    memset(g_out, 0x55, sizeof g_out);
    bench_start();
    if (e_pos)
    {
        eg_l_conv1x1_w16_ocb4(g_in, g_out, &a);
    }
    else
    {
        eg_l_conv1x1_w16_ocb4_gen(g_in, g_out, &a);
    }
    t = bench_elapsed();
    bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_w16_1px4oc", macs, t, g_out, g_ref, H * W * OC);
    eg_prep_w16(p_w32, g_w, OC, C, 8);
    if (e_pos)
    {
        memset(g_out, 0x55, sizeof g_out);
        bench_start();
        eg_l_conv1x1_w16_ocb8(g_in, g_out, &a);
        t = bench_elapsed();
        bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_w16_1px8oc", macs, t, g_out, g_ref,
                     H * W * OC);
    }
    /* the chosen kernel: W16x2 layout, doubled folded bias */
    eg_prep_w16s(p_w32, g_w, OC, C, 4, 2);
    for (int o = 0; o < OC; o++)
    {
        p_bias[o] *= 2;
    }
    memset(g_out, 0x55, sizeof g_out);
    bench_start();
    eg_l_conv1x1_s8_ocb4(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_s8_w16x2_1px4oc", macs, t, g_out, g_ref,
                 H * W * OC);
    if (count)
    {
        /* OCB 6: 60 channels in blocks of 6 (the last 4 would be one OCB-4 block, +1/16 of the
         * OCB-4 figure): compared over the 60 channels it writes, per pixel */
        eg_prep_w16s(p_w32, g_w, 60, C, 6, 2);
        memset(g_out, 0x55, sizeof g_out);
        bench_start();
        eg_l_conv1x1_s8_ocb6(g_in, g_out, &a);
        t = bench_elapsed();
        int ok = 1;
        for (int px = 0; px < H * W && ok; px++)
        {
            ok = memcmp(g_out + px * 60, g_ref + px * 64, 60) == 0;
        }
        bench_report("conv1x1_60of64_25x5", ok ? "eg_s8_w16x2_1px6oc" : "eg_s8_w16x2_1px6oc_MISMATCH",
                     H * W * C * 60, t, g_out, 0, 0);
        if (!ok)
        {
            bench_failures++;
        }
    }
#if defined(EG_PATH_DSP)
    if (e_pos)
    {
        eg_prep_w8(p_w32, g_w, OC, C, 4);
        eg_prep_fold_bias(p_bias, g_bias, g_w, OC, C, in_off);
        memset(g_out, 0x55, sizeof g_out);
        bench_start();
        eg_l_conv1x1_w8_ocb4(g_in, g_out, &a);
        t = bench_elapsed();
        bench_report(count ? "conv1x1_64x64_25x5" : "conv1x1_check", "eg_w8_1px4oc", macs, t, g_out, g_ref,
                     H * W * OC);
    }
#endif
#endif
}

/* ---------------------------------------------------------------- (d) FC 640 -> 128 (ad01-like) */
static void test_fc(void)
{
    enum
    {
        K = 640,
        N = 128
    };
    const int32_t in_off = 128, out_zp = 5, amin = -100, amax = 110;
    bench_fill_i8(g_in, K, -128, 127);
    bench_fill_i8(g_w, N * K, -127, 127);
    gen_quant(1, -12, -10);
    for (int o = 0; o < N; o++)
    {
        g_bias[o] = bench_rand_range(-20000, 20000);
        g_mult[o] = g_mult[0]; /* FC is per-tensor in TFLM */
        g_shift[o] = g_shift[0];
    }
    fill_clear();
    const cmsis_nn_fc_params fp = {in_off, 0, out_zp, {amin, amax}};
    const cmsis_nn_per_tensor_quant_params qp = {g_mult[0], g_shift[0]};
    const cmsis_nn_dims id = {1, 1, 1, K}, fd = {K, 1, 1, N}, bd = {1, 1, 1, N}, od = {1, 1, 1, N};
    cmsis_nn_context ctx = {0, 0};
#if defined(EG_PATH_MVE)
    arm_vector_sum_s8(p_ksum, K, N, g_w, in_off, 0, g_bias);
    ctx.buf = p_ksum;
    ctx.size = N * 4;
#endif
    bench_start();
    arm_fully_connected_s8(&ctx, &fp, &qp, &id, g_in, &fd, g_w, &bd, g_bias, &od, g_ref);
    uint32_t t = bench_elapsed();
    bench_report("fc_640x128", BENCH_LIB, K * N, t, g_ref, 0, 0);

    eg_prep_fold_bias(p_bias, g_bias, g_w, N, K, in_off);
    eg_prep_rq(p_rq, g_mult, g_shift, N, out_zp);
    eg_layer_args_t a = {p_w32, p_bias, p_rq, p_rqv, g_w, amin, amax};
#if defined(EG_PATH_MVE)
    eg_prep_rqv(p_rqv, g_mult, g_shift, N, out_zp);
    bench_start();
    eg_l_fc640_mve(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report("fc_640x128", "eg_mve_4oc", K * N, t, g_out, g_ref, N);
#else
    eg_prep_w16s(p_w32, g_w, N, K, 4, 2);
    for (int o = 0; o < N; o++)
    {
        p_bias[o] *= 2;
    }
    bench_start();
    eg_l_fc640_s8(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report("fc_640x128", "eg_s8_w16x2_4oc", K * N, t, g_out, g_ref, N);
#endif
}

/* ---------------------------------------------------------------- (b) depthwise 3x3, 64 ch, 25x5 */
static void test_dw(int32_t in_off, int32_t out_zp, int32_t amin, int32_t amax, int shift_lo, int shift_hi,
                    const char *name)
{
    enum
    {
        H = 25,
        W = 5,
        C = 64
    };
    const uint32_t macs = H * W * C * 9;
    bench_fill_i8(g_in, H * W * C, -128, 127);
    bench_fill_i8(g_w, 9 * C, -127, 127);
    gen_quant(C, shift_lo, shift_hi);
    fill_clear();
    const cmsis_nn_dw_conv_params dp = {in_off, out_zp, 1, {1, 1}, {1, 1}, {1, 1}, {amin, amax}};
    const cmsis_nn_per_channel_quant_params qp = {g_mult, g_shift};
    const cmsis_nn_dims id = {1, H, W, C}, fd = {1, 3, 3, C}, bd = {1, 1, 1, C}, od = {1, H, W, C};
    cmsis_nn_context ctx = {g_scratch, scratch_ok(arm_depthwise_conv_wrapper_s8_get_buffer_size(&dp, &id, &fd, &od))};
    bench_start();
    arm_depthwise_conv_wrapper_s8(&ctx, &dp, &qp, &id, g_in, &fd, g_w, &bd, g_bias, &od, g_ref);
    uint32_t t = bench_elapsed();
    bench_report(name, BENCH_LIB, macs, t, g_ref, 0, 0);

    static int32_t bias9[9 * 64];
    eg_prep_dw_bias(bias9, g_bias, g_w, C, in_off);
    eg_prep_rq(p_rq, g_mult, g_shift, C, out_zp);
#if defined(EG_PATH_MVE)
    eg_prep_dw_w16_mve((int16_t *)(void *)p_w32, g_w, C);
    eg_prep_eo8(p_bias, bias9, 9 * C);
    eg_prep_rqv_eo8(p_rqv, g_mult, g_shift, C, out_zp);
    const char *v = "eg_mve_1px8ch_i16";
#else
    eg_prep_dw_w16(p_w32, g_w, C);
    memcpy(p_bias, bias9, sizeof bias9);
    const char *v = "eg_dsp_1px4ch";
#endif
    eg_layer_args_t a = {p_w32, p_bias, p_rq, p_rqv, g_w, amin, amax};
    bench_start();
    eg_l_dw3x3(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report(name, v, macs, t, g_out, g_ref, H * W * C);
#if defined(EG_PATH_MVE)
    memcpy(p_bias + 1024, bias9, sizeof bias9);
    eg_prep_rqv(p_rqv + 384, g_mult, g_shift, C, out_zp);
    memset(g_out, 0x55, sizeof g_out);
    bench_start();
    eg_l_dw3x3_mve32(g_in, g_out, &a);
    t = bench_elapsed();
    bench_report(name, "eg_mve_1px8ch_i32", macs, t, g_out, g_ref, H * W * C);
#endif
#ifdef BENCH_DEBUG
    for (int i = 0; i < 8; i++) { bench_put_i32(g_out[i]); bench_puts(" "); bench_put_i32(g_ref[i]); bench_puts(" | "); }
    bench_puts("\n");
#endif
}

int main(void)
{
    test_dw(128, -128, -128, 127, -9, -5, "dw3x3_64ch_25x5");
    test_dw(77, 9, -50, 120, -8, 0, "dw3x3_check");
    test_fc();
    /* kws layers 2,4,6,8: input zp -128 (offset 128), output zp -128, ReLU = full int8 range */
    test_conv1x1(128, -128, -128, 127, -10, -6, 1);
    /* exactness-only variant: other offsets, a narrower clamp, shifts including 0 */
    test_conv1x1(101, -20, -20, 100, -9, 0, 0);
    bench_puts(bench_failures ? "BENCH FAIL\n" : "BENCH OK\n");
    return bench_failures ? 1 : 0;
}
