// The int8 products of Int8Kernels.h: a plain loop, AVX2 and AVX512-VNNI, chosen at run time.
//
// This file is compiled for whatever the package targets (x86-64-v3, or baseline x86-64 in a portable
// build); the AVX2 and VNNI functions ask for their instructions with a `target` attribute, and run only
// when the CPU reports them. The idea of both fast paths, for one block of 32 weights w and activations x:
//
//   float x:  widen w to 4 x 8 floats, FMA with x, sum: the block's dot product; times its scale.
//   int8 x:   |w| (unsigned) times x * sign(w) (signed) with maddubs (pairs summed to int16) and madd
//             (pairs summed to int32), or with vpdpbusd in one instruction (4 products summed per int32
//             lane); the 32-term sum is exact, then converted once and multiplied by the two scales.
#include "Int8Kernels.h"
#include "Int8Sharing.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define INT8_X86 1
#endif

// ---- half precision --------------------------------------------------------------------------------

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;                                          // +-0
        } else {                                                  // subnormal: mantissa * 2^-24
            float value = (float)mantissa * (1.0f / 16777216.0f);
            return sign ? -value : value;
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000u | (mantissa << 13);             // infinity or NaN
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

// ---- the plain loops ----------------------------------------------------------------------------------

static void matvec_float_plain(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y) {
    for (int r = 0; r < rows; ++r) {
        float total = 0;
        for (int b = 0; b < blocks; ++b) {
            const int8_t *q = w + ((long)r * blocks + b) * 32;
            float sum = 0;
            for (int i = 0; i < 32; ++i) sum += (float)q[i] * x[b * 32 + i];
            total += half_to_float(scales[(long)r * blocks + b]) * sum;
        }
        y[r] = total;
    }
}

static void matvec_int8_plain(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                              const float *xScales, float *y) {
    for (int r = 0; r < rows; ++r) {
        float total = 0;
        for (int b = 0; b < blocks; ++b) {
            const int8_t *q = w + ((long)r * blocks + b) * 32;
            int32_t dot = 0;
            for (int i = 0; i < 32; ++i) dot += (int32_t)q[i] * xq[b * 32 + i];
            total += half_to_float(scales[(long)r * blocks + b]) * xScales[b] * (float)dot;
        }
        y[r] = total;
    }
}

#ifdef INT8_X86
// ---- AVX2 -----------------------------------------------------------------------------------------------

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float sum8(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}

AVX2 static inline __m256 widen8(const int8_t *q) {   // 8 int8 -> 8 floats
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q)));
}

// One block of one row against x: the 32 products summed into 8 lanes, times the block's scale, added to total.
AVX2 static inline __m256 float_block_avx2(const int8_t *q, const __m256 x[4], uint16_t scale, __m256 total) {
    __m256 sum = _mm256_mul_ps(widen8(q), x[0]);
    sum = _mm256_fmadd_ps(widen8(q + 8), x[1], sum);
    sum = _mm256_fmadd_ps(widen8(q + 16), x[2], sum);
    sum = _mm256_fmadd_ps(widen8(q + 24), x[3], sum);
    return _mm256_fmadd_ps(sum, _mm256_set1_ps(_cvtsh_ss(scale)), total);
}

// Four rows at a time: each block of x is loaded once for the four, and the four running sums are
// independent, so their FMAs overlap instead of waiting on one another.
AVX2 static void matvec_float_avx2(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y) {
    const long stride = (long)blocks * 32;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        __m256 t0 = _mm256_setzero_ps(), t1 = t0, t2 = t0, t3 = t0;
        const int8_t *q = w + r * stride;
        const uint16_t *d = scales + (long)r * blocks;
        for (int b = 0; b < blocks; ++b) {
            const __m256 v[4] = {_mm256_loadu_ps(x + b * 32), _mm256_loadu_ps(x + b * 32 + 8), _mm256_loadu_ps(x + b * 32 + 16),
                                 _mm256_loadu_ps(x + b * 32 + 24)};
            t0 = float_block_avx2(q + b * 32, v, d[b], t0);
            t1 = float_block_avx2(q + stride + b * 32, v, d[blocks + b], t1);
            t2 = float_block_avx2(q + 2 * stride + b * 32, v, d[2 * blocks + b], t2);
            t3 = float_block_avx2(q + 3 * stride + b * 32, v, d[3 * blocks + b], t3);
        }
        y[r] = sum8(t0); y[r + 1] = sum8(t1); y[r + 2] = sum8(t2); y[r + 3] = sum8(t3);
    }
    for (; r < rows; ++r) {
        __m256 total = _mm256_setzero_ps();
        for (int b = 0; b < blocks; ++b) {
            const __m256 v[4] = {_mm256_loadu_ps(x + b * 32), _mm256_loadu_ps(x + b * 32 + 8), _mm256_loadu_ps(x + b * 32 + 16),
                                 _mm256_loadu_ps(x + b * 32 + 24)};
            total = float_block_avx2(w + r * stride + b * 32, v, scales[(long)r * blocks + b], total);
        }
        y[r] = sum8(total);
    }
}

// One block's 32 products: |w| * (x * sign w), pairs summed to 16 int16 (maddubs), pairs of those to 8 int32
// (madd), converted to float and scaled by `scale` (the two scales' product) into the row's running sum.
AVX2 static inline __m256 int8_block_avx2(const int8_t *q, __m256i activations, const float *scale, __m256 total) {
    __m256i weights = _mm256_loadu_si256((const __m256i *)q);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(weights, weights), _mm256_sign_epi8(activations, weights));
    __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    return _mm256_fmadd_ps(dot, _mm256_broadcast_ss(scale), total);
}

// The two scales of blocks first ..< first + count (at most 8) of four rows, multiplied: combined[k][j] =
// scales[k][first + j] * xScales[first + j]. Eight half-precision scales convert in one instruction, so
// the blocks' inner loop reads each product ready-made instead of converting one scale at a time.
AVX2 static inline void combine_scales(const uint16_t *d, int blocks, int first, int count, const float *xScales,
                                       float combined[4][8]) {
    if (count == 8) {
        __m256 xs = _mm256_loadu_ps(xScales + first);
        for (int k = 0; k < 4; ++k) {
            __m128i halves = _mm_loadu_si128((const __m128i *)(d + (long)k * blocks + first));
            _mm256_storeu_ps(combined[k], _mm256_mul_ps(_mm256_cvtph_ps(halves), xs));
        }
    } else {
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < count; ++j) combined[k][j] = _cvtsh_ss(d[(long)k * blocks + first + j]) * xScales[first + j];
    }
}

// The row loop of the int8 x int8 product, the same for every instruction set: four rows at a time (as in
// matvec_float_avx2), eight blocks' scales combined at a time, then the rows left over. BLOCK is one block
// of one row (int8_block_avx2 or _vnni), and TARGET the instructions the function may use.
#define INT8_MATVEC_ROWS(NAME, TARGET, BLOCK)                                                                    \
    TARGET static void NAME(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,      \
                            const float *xScales, float *y) {                                                    \
        const long stride = (long)blocks * 32;                                                                   \
        int r = 0;                                                                                               \
        for (; r + 4 <= rows; r += 4) {                                                                          \
            __m256 t0 = _mm256_setzero_ps(), t1 = t0, t2 = t0, t3 = t0;                                          \
            const int8_t *q = w + r * stride;                                                                    \
            for (int first = 0; first < blocks; first += 8) {                                                    \
                const int count = blocks - first < 8 ? blocks - first : 8;                                       \
                float s[4][8];                                                                                   \
                combine_scales(scales + (long)r * blocks, blocks, first, count, xScales, s);                     \
                for (int j = 0; j < count; ++j) {                                                                \
                    const int b = first + j;                                                                     \
                    __m256i a = _mm256_loadu_si256((const __m256i *)(xq + b * 32));                              \
                    t0 = BLOCK(q + b * 32, a, &s[0][j], t0);                                                     \
                    t1 = BLOCK(q + stride + b * 32, a, &s[1][j], t1);                                            \
                    t2 = BLOCK(q + 2 * stride + b * 32, a, &s[2][j], t2);                                        \
                    t3 = BLOCK(q + 3 * stride + b * 32, a, &s[3][j], t3);                                        \
                }                                                                                                \
            }                                                                                                    \
            y[r] = sum8(t0); y[r + 1] = sum8(t1); y[r + 2] = sum8(t2); y[r + 3] = sum8(t3);                      \
        }                                                                                                        \
        for (; r < rows; ++r) {                                                                                  \
            __m256 total = _mm256_setzero_ps();                                                                  \
            for (int b = 0; b < blocks; ++b) {                                                                   \
                const float s = _cvtsh_ss(scales[(long)r * blocks + b]) * xScales[b];                            \
                total = BLOCK(w + r * stride + b * 32, _mm256_loadu_si256((const __m256i *)(xq + b * 32)), &s,   \
                              total);                                                                            \
            }                                                                                                    \
            y[r] = sum8(total);                                                                                  \
        }                                                                                                        \
    }

INT8_MATVEC_ROWS(matvec_int8_avx2, AVX2, int8_block_avx2)

// ---- AVX512-VNNI ----------------------------------------------------------------------------------------

#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

VNNI static inline __m256 int8_block_vnni(const int8_t *q, __m256i activations, const float *scale, __m256 total) {
    __m256i weights = _mm256_loadu_si256((const __m256i *)q);
    // vpdpbusd: each int32 lane += four u8 x s8 products.
    __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(weights), _mm256_sign_epi8(activations, weights));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(scale), total);
}

INT8_MATVEC_ROWS(matvec_int8_vnni, VNNI, int8_block_vnni)
#endif

// ---- choosing the path --------------------------------------------------------------------------------

static int chosen = -1;

Int8Path int8_best_path(void) {
#ifdef INT8_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    int vnni = avx2 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")
               && __builtin_cpu_supports("avx512bw");
    return vnni ? INT8_PATH_VNNI : avx2 ? INT8_PATH_AVX2 : INT8_PATH_PLAIN;
#else
    return INT8_PATH_PLAIN;
#endif
}

Int8Path int8_current_path(void) {
    if (chosen < 0) chosen = int8_best_path();
    return (Int8Path)chosen;
}

Int8Path int8_use_path(Int8Path path) {
    chosen = path <= int8_best_path() ? path : int8_best_path();
    return (Int8Path)chosen;
}

void int8_matvec_float(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y,
                       int threads) {
    if (threads < 2 || !int8_share_rows(w, scales, rows, blocks, NULL, NULL, x, y))
        int8_matvec_float_unshared(w, scales, rows, blocks, x, y);
}

void int8_matvec_int8(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                      const float *xScales, float *y, int threads) {
    if (threads < 2 || !int8_share_rows(w, scales, rows, blocks, xq, xScales, NULL, y))
        int8_matvec_int8_unshared(w, scales, rows, blocks, xq, xScales, y);
}

void int8_matvec_float_unshared(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y) {
#ifdef INT8_X86
    if (int8_current_path() >= INT8_PATH_AVX2) { matvec_float_avx2(w, scales, rows, blocks, x, y); return; }
#endif
    matvec_float_plain(w, scales, rows, blocks, x, y);
}

void int8_matvec_int8_unshared(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                               const float *xScales, float *y) {
#ifdef INT8_X86
    switch (int8_current_path()) {
    case INT8_PATH_VNNI: matvec_int8_vnni(w, scales, rows, blocks, xq, xScales, y); return;
    case INT8_PATH_AVX2: matvec_int8_avx2(w, scales, rows, blocks, xq, xScales, y); return;
    default: break;
    }
#endif
    matvec_int8_plain(w, scales, rows, blocks, xq, xScales, y);
}

// Quantizing x, written once and compiled twice: for any x86-64, where roundf is a call into libm, and for
// AVX2 machines, where the rounding below is two instructions and the loop vectorizes. roundf's rounding
// (halves away from zero, as Swift's rounded()): v - trunc(v) is exact in float, and a half or more moves
// the value one step out.
#define QUANTIZE_ACTIVATIONS(NAME, TARGET)                                                                       \
    TARGET static void NAME(const float *x, int blocks, int8_t *xq, float *xScales) {                           \
        for (int b = 0; b < blocks; ++b) {                                                                       \
            const float *block = x + b * 32;                                                                     \
            float largest = 0;                                                                                   \
            for (int i = 0; i < 32; ++i) largest = fmaxf(largest, fabsf(block[i]));                             \
            float inverse = largest > 0 ? 127 / largest : 0;                                                     \
            for (int i = 0; i < 32; ++i) {                                                                       \
                float v = block[i] * inverse, whole = truncf(v);                                                 \
                float q = fabsf(v - whole) >= 0.5f ? whole + copysignf(1.0f, v) : whole;                         \
                xq[b * 32 + i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);                                  \
            }                                                                                                    \
            xScales[b] = largest / 127;                                                                          \
        }                                                                                                        \
    }

QUANTIZE_ACTIVATIONS(quantize_plain, )
#ifdef INT8_X86
QUANTIZE_ACTIVATIONS(quantize_avx2, AVX2)
#endif

void int8_quantize_activations(const float *x, int blocks, int8_t *xq, float *xScales) {
#ifdef INT8_X86
    if (int8_current_path() >= INT8_PATH_AVX2) { quantize_avx2(x, blocks, xq, xScales); return; }
#endif
    quantize_plain(x, blocks, xq, xScales);
}
