/* See eg_prep.h. SPDX-License-Identifier: Apache-2.0 */
#include "eg_prep.h"

static uint32_t pair16(int32_t lo, int32_t hi)
{
    return ((uint32_t)(uint16_t)(int16_t)lo) | ((uint32_t)(uint16_t)(int16_t)hi << 16);
}

void eg_prep_fold_bias(int32_t *dst, const int32_t *bias, const int8_t *w, int OC, int K, int32_t in_off)
{
    for (int o = 0; o < OC; o++)
    {
        int32_t s = 0;
        for (int k = 0; k < K; k++)
        {
            s += w[o * K + k];
        }
        dst[o] = (bias != 0 ? bias[o] : 0) + in_off * s;
    }
}

void eg_prep_rq(eg_rq_t *dst, const int32_t *mult, const int32_t *shift, int OC, int32_t out_zp)
{
    for (int o = 0; o < OC; o++)
    {
        dst[o] = eg_rq_make(mult[o], shift[o], out_zp);
    }
}

int eg_prep_e_pos(const int32_t *shift, int OC)
{
    for (int o = 0; o < OC; o++)
    {
        if (shift[o] >= 0)
        {
            return 0;
        }
    }
    return 1;
}

void eg_prep_w16(int32_t *dst, const int8_t *w, int OC, int K, int OCB)
{
    eg_prep_w16s(dst, w, OC, K, OCB, 1);
}

void eg_prep_w16s(int32_t *dst, const int8_t *w, int OC, int K, int OCB, int scale)
{
    for (int b = 0; b < OC; b += OCB)
    {
        for (int q = 0; q < K / 4; q++)
        {
            for (int j = 0; j < OCB; j++)
            {
                const int8_t *r = w + (b + j) * K + 4 * q;
                *dst++ = (int32_t)pair16(scale * r[0], scale * r[2]);
                *dst++ = (int32_t)pair16(scale * r[1], scale * r[3]);
            }
        }
    }
}

void eg_prep_w8(int32_t *dst, const int8_t *w, int OC, int K, int OCB)
{
    for (int b = 0; b < OC; b += OCB)
    {
        for (int q = 0; q < K / 4; q++)
        {
            for (int j = 0; j < OCB; j++)
            {
                const uint8_t *r = (const uint8_t *)(w + (b + j) * K + 4 * q);
                *dst++ = (int32_t)((uint32_t)r[0] | ((uint32_t)r[1] << 8) | ((uint32_t)r[2] << 16) |
                                   ((uint32_t)r[3] << 24));
            }
        }
    }
}

void eg_prep_rqv(int32_t *dst, const int32_t *mult, const int32_t *shift, int OC, int32_t out_zp)
{
    for (int b = 0; b < OC; b += 4)
    {
        for (int j = 0; j < 4; j++)
        {
            const int32_t e = -shift[b + j];
            dst[j] = mult[b + j];
            dst[4 + j] = (int32_t)((uint32_t)out_zp * (1u << (uint32_t)e));
            dst[8 + j] = -e;
        }
        dst += 12;
    }
}

void eg_prep_dw_w16(int32_t *dst, const int8_t *w, int C)
{
    for (int c = 0; c < C; c += 4)
    {
        for (int t = 0; t < 9; t++)
        {
            const int8_t *r = w + t * C + c;
            *dst++ = (int32_t)pair16(r[0], r[2]);
            *dst++ = (int32_t)pair16(r[1], r[3]);
        }
    }
}

void eg_prep_dw_bias(int32_t *dst, const int32_t *bias, const int8_t *w, int C, int32_t in_off)
{
    for (int rc = 0; rc < 3; rc++)
    {
        for (int cc = 0; cc < 3; cc++)
        {
            for (int c = 0; c < C; c++)
            {
                int32_t s = 0;
                for (int ky = 0; ky < 3; ky++)
                {
                    for (int kx = 0; kx < 3; kx++)
                    {
                        if ((rc == 0 && ky == 0) || (rc == 2 && ky == 2) || (cc == 0 && kx == 0) ||
                            (cc == 2 && kx == 2))
                        {
                            continue;
                        }
                        s += w[(ky * 3 + kx) * C + c];
                    }
                }
                dst[(rc * 3 + cc) * C + c] = bias[c] + in_off * s;
            }
        }
    }
}

void eg_prep_dw_w16_mve(int16_t *dst, const int8_t *w, int C)
{
    for (int i = 0; i < 9 * C; i++)
    {
        dst[i] = w[i];
    }
}

void eg_prep_eo8(int32_t *dst, const int32_t *src, int n)
{
    for (int b = 0; b < n; b += 8)
    {
        for (int j = 0; j < 4; j++)
        {
            dst[b + j] = src[b + 2 * j];
            dst[b + 4 + j] = src[b + 2 * j + 1];
        }
    }
}

void eg_prep_rqv_eo8(int32_t *dst, const int32_t *mult, const int32_t *shift, int C, int32_t out_zp)
{
    for (int b = 0; b < C; b += 8)
    {
        for (int half = 0; half < 2; half++)
        {
            int32_t m[4], s[4];
            for (int j = 0; j < 4; j++)
            {
                m[j] = mult[b + 2 * j + half];
                s[j] = shift[b + 2 * j + half];
            }
            eg_prep_rqv(dst, m, s, 4, out_zp);
            dst += 12;
        }
    }
}
