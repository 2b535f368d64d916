/*
 * edgegen specialized kernels (issue 14 prototype): the build-time half. Everything here is what
 * the Python code generator computes and emits as const arrays; it is C only so the prototype can
 * run it on the target before the timed call. Nothing here runs in generated firmware.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EG_PREP_H
#define EG_PREP_H

#include <stdint.h>

#include "eg_rq.h"

/* bias'[o] = bias[o] + in_off * sum_k w[o][k] (w: [OC][K], OHWI flattened). */
void eg_prep_fold_bias(int32_t *dst, const int32_t *bias, const int8_t *w, int OC, int K, int32_t in_off);
/* Per-channel requantization records (eg_rq_t) from TFLM multipliers and shifts. */
void eg_prep_rq(eg_rq_t *dst, const int32_t *mult, const int32_t *shift, int OC, int32_t out_zp);
/* 1 if every shift is < 0 (the kernels' e_pos fast path). */
int eg_prep_e_pos(const int32_t *shift, int OC);
/* DSP W16: [OC/OCB][K/4][OCB]{(w[4q],w[4q+2]),(w[4q+1],w[4q+3])} int16 pairs, K % 4 == 0. */
void eg_prep_w16(int32_t *dst, const int8_t *w, int OC, int K, int OCB);
/* The same with every weight multiplied by scale (2: the W16x2 layout of eg_conv1x1_s8). */
void eg_prep_w16s(int32_t *dst, const int8_t *w, int OC, int K, int OCB, int scale);
/* DSP W8: [OC/OCB][K/4][OCB]{w[4q..4q+3]}. */
void eg_prep_w8(int32_t *dst, const int8_t *w, int OC, int K, int OCB);
/* MVE: per 4 channels {m[4], zp << e [4], -e [4]}. */
void eg_prep_rqv(int32_t *dst, const int32_t *mult, const int32_t *shift, int OC, int32_t out_zp);

/* Depthwise 3x3, channel quads: [C/4][tap 0..8]{(w[c0],w[c2]),(w[c1],w[c3])} int16 pairs.
 * w: TFLite [1][3][3][C]. */
void eg_prep_dw_w16(int32_t *dst, const int8_t *w, int C);
/* Depthwise folded bias per region: 9 regions (row class 0 top / 1 middle / 2 bottom, column class
 * likewise; region = 3 * rowclass + colclass), each bias[c] + in_off * sum of the taps inside. */
void eg_prep_dw_bias(int32_t *dst, const int32_t *bias, const int8_t *w, int C, int32_t in_off);

/* MVE depthwise: weights [9][C] int16; biases / requantization in even/odd channel order per 8:
 * bias9e [9][C/8]{even4, odd4} from bias9 ([9][C]); rqv [C/8]{m,czp,-e for even4; same for odd4}. */
void eg_prep_dw_w16_mve(int16_t *dst, const int8_t *w, int C);
void eg_prep_eo8(int32_t *dst, const int32_t *src, int n);
void eg_prep_rqv_eo8(int32_t *dst, const int32_t *mult, const int32_t *shift, int C, int32_t out_zp);

#endif /* EG_PREP_H */
