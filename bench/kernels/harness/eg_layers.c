/* See eg_layers.h. The activation range is passed through the args here only because the bench runs
 * two clamp variants; the kws-like (full range) instances fold it as the generator would. */
#include "eg_layers.h"

#include "eg_conv1x1.h"
#include "eg_dw3x3.h"

#define FULL(a) ((a)->amin == -128 && (a)->amax == 127)

void eg_l_conv1x1_w16_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    if (FULL(a))
        eg_conv1x1_w16(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, -128, 127, 1);
    else
        eg_conv1x1_w16(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, a->amin, a->amax, 1);
}
void eg_l_conv1x1_w16_ocb4_gen(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_conv1x1_w16(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, a->amin, a->amax, 0);
}
void eg_l_conv1x1_w16_ocb8(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    if (FULL(a))
        eg_conv1x1_w16(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 8, -128, 127, 1);
    else
        eg_conv1x1_w16(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 8, a->amin, a->amax, 1);
}
#if defined(EG_PATH_DSP)
void eg_l_conv1x1_w8_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    if (FULL(a))
        eg_conv1x1_w8(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, -128, 127, 1);
    else
        eg_conv1x1_w8(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, a->amin, a->amax, 1);
}
#endif
#if defined(EG_PATH_MVE)
void eg_l_conv1x1_mve_px1(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_conv1x1_mve(in, out, a->w8, a->bias, (const eg_rqv_t *)a->rqv, 64, 64, 125, 1, a->amin, a->amax);
}
void eg_l_conv1x1_mve_px2(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_conv1x1_mve(in, out, a->w8, a->bias, (const eg_rqv_t *)a->rqv, 64, 64, 125, 2, a->amin, a->amax);
}
#endif

/* The chosen kernel (W16x2 layout): kws 1x1 layers and an ad01-like FC 640 -> 128. */
#if !defined(EG_PATH_MVE)
void eg_l_conv1x1_s8_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    if (FULL(a))
        eg_conv1x1_s8(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, -128, 127, 1);
    else
        eg_conv1x1_s8(in, out, a->w32, a->bias, a->rq, 64, 64, 125, 4, a->amin, a->amax, 0);
}
void eg_l_conv1x1_s8_ocb6(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    /* 64 = 10 blocks of 6 + 1 block of 4 */
    eg_conv1x1_s8(in, out, a->w32, a->bias, a->rq, 64, 60, 125, 6, -128, 127, 1);
    (void)out;
}
void eg_l_fc640_s8(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_conv1x1_s8(in, out, a->w32, a->bias, a->rq, 640, 128, 1, 4, -100, 110, 1);
}
#endif
#if defined(EG_PATH_MVE)
void eg_l_fc640_mve(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_conv1x1_mve(in, out, a->w8, a->bias, (const eg_rqv_t *)a->rqv, 640, 128, 1, 1, -100, 110);
}
#endif

/* kws depthwise layers 1,3,5,7: 25x5x64, 3x3, stride 1, SAME */
#if !defined(EG_PATH_MVE)
void eg_l_dw3x3(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    if (FULL(a))
        eg_dw3x3_s8(in, out, a->w32, a->bias, a->rq, 25, 5, 64, -128, 127, 1);
    else
        eg_dw3x3_s8(in, out, a->w32, a->bias, a->rq, 25, 5, 64, a->amin, a->amax, 0);
}
#else
void eg_l_dw3x3(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_dw3x3_mve(in, out, (const int16_t *)(const void *)a->w32, a->bias, a->rqv, 25, 5, 64, a->amin, a->amax);
}
void eg_l_dw3x3_mve32(const int8_t *in, int8_t *out, const eg_layer_args_t *a)
{
    eg_dw3x3_mve32(in, out, a->w8, a->bias + 1024, a->rqv + 384, 25, 5, 64, a->amin, a->amax);
}
#endif
