/* The layer functions the code generator would emit: one per layer, literal shapes and constants. */
#ifndef EG_LAYERS_H
#define EG_LAYERS_H

#include <stdint.h>

#include "eg_rq.h"

/* Stand-in for the generated const arrays (the prototype prepares them in RAM at start-up). */
typedef struct
{
    const int32_t *w32;
    const int32_t *bias;
    const eg_rq_t *rq;
    const int32_t *rqv;
    const int8_t *w8;
    int32_t amin;
    int32_t amax;
} eg_layer_args_t;

void eg_l_conv1x1_w16_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_w16_ocb4_gen(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_w16_ocb8(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_w8_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_mve_px1(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_mve_px2(const int8_t *in, int8_t *out, const eg_layer_args_t *a);

void eg_l_conv1x1_s8_ocb4(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_conv1x1_s8_ocb6(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_fc640_s8(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_fc640_mve(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_dw3x3(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
void eg_l_dw3x3_mve32(const int8_t *in, int8_t *out, const eg_layer_args_t *a);
#endif
