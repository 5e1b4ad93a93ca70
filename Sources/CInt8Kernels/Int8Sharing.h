// Between Int8Kernels.c and Int8Sharing.c: the products on the calling thread alone, and the split of one
// product's rows between the calling thread and the helper.
#pragma once
#include <stdint.h>

void int8_matvec_float_unshared(const int8_t *weights, const uint16_t *scales, int rows, int blocks, const float *x,
                                float *y);
void int8_matvec_int8_unshared(const int8_t *weights, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                               const float *xScales, float *y);

/// Computes the product on two threads and returns 1, if it is large enough and the helper thread runs;
/// else does nothing and returns 0. xq and xScales (int8 activations), or x (float ones).
int int8_share_rows(const int8_t *weights, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                    const float *xScales, const float *x, float *y);
