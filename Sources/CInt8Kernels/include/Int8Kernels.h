// Matrix-vector products with int8 weights in blocks of 32 (llama.cpp's Q8_0 layout), for streaming
// generation (chapter 08). The readable versions of what these compute are Int8Matrix.plainProduct,
// plainInt8Product and quantizeActivations (Swift, Sources/Quantization); the tests hold every path here to them.
//
// A (rows, columns) matrix is stored row by row, each row as `blocks` = ceil(columns / 32) blocks of 32
// int8 weights, the last block padded with zeros, and one scale per block as IEEE half-precision bits:
// weight[r][c] = scale[r][c / 32] * q[r][c].
#pragma once
#include <stdint.h>

/// Which code runs the products: the plain loop, AVX2, or AVX512-VNNI (its int8 dot product instruction,
/// vpdpbusd). Chosen once from the CPU's features; a test may force a slower one.
typedef enum { INT8_PATH_PLAIN = 0, INT8_PATH_AVX2 = 1, INT8_PATH_VNNI = 2 } Int8Path;

/// The fastest path this CPU runs.
Int8Path int8_best_path(void);
/// The path the products use now (the best one unless `int8_use_path` chose another).
Int8Path int8_current_path(void);
/// Uses `path` from now on, if this CPU has it; returns the path in use afterwards.
Int8Path int8_use_path(Int8Path path);

/// y[r] = sum over c of weight[r][c] * x[c], for rows 0 ..< rows, with x in float32 (blocks * 32 values,
/// zero past the columns): each block of weights is widened to float and multiplied with FMA.
/// With `threads` 2, a product of at least 128 KB of weights shares its rows with a helper thread
/// (Int8Sharing.c); with 1 it runs on the calling thread alone. Each row is computed the same way either way.
void int8_matvec_float(const int8_t *weights, const uint16_t *scales, int rows, int blocks, const float *x, float *y,
                       int threads);

/// The same product with x quantized too, block by block (xq: blocks * 32 int8 values, xScales: blocks
/// floats): each block's dot product is exact in int32, then scaled by the two scales.
void int8_matvec_int8(const int8_t *weights, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                      const float *xScales, float *y, int threads);

/// How many products the helper thread has taken half of, since the process started: lets a test tell a
/// shared product from one that quietly ran on the caller alone.
unsigned long int8_shared_products(void);

/// Quantizes x (blocks * 32 floats) block by block as the int8 product needs it: scale = max|x| / 127, and
/// q = round(x * 127 / max|x|), rounding halves away from zero (Int8Matrix.quantizeActivations, in C).
void int8_quantize_activations(const float *x, int blocks, int8_t *xq, float *xScales);
