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

AVX2 static void matvec_float_avx2(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y) {
    for (int r = 0; r < rows; ++r) {
        __m256 total = _mm256_setzero_ps();
        for (int b = 0; b < blocks; ++b) {
            const int8_t *q = w + ((long)r * blocks + b) * 32;
            const float *v = x + b * 32;
            __m256 sum = _mm256_mul_ps(widen8(q), _mm256_loadu_ps(v));
            sum = _mm256_fmadd_ps(widen8(q + 8), _mm256_loadu_ps(v + 8), sum);
            sum = _mm256_fmadd_ps(widen8(q + 16), _mm256_loadu_ps(v + 16), sum);
            sum = _mm256_fmadd_ps(widen8(q + 24), _mm256_loadu_ps(v + 24), sum);
            total = _mm256_fmadd_ps(sum, _mm256_set1_ps(_cvtsh_ss(scales[(long)r * blocks + b])), total);
        }
        y[r] = sum8(total);
    }
}

// One block's 32 products summed to 8 int32 lanes: |w| * (x * sign w), pairs to int16, pairs to int32.
AVX2 static inline __m256i dot_block_avx2(const int8_t *q, const int8_t *xq) {
    __m256i weights = _mm256_loadu_si256((const __m256i *)q), activations = _mm256_loadu_si256((const __m256i *)xq);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(weights, weights), _mm256_sign_epi8(activations, weights));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

AVX2 static void matvec_int8_avx2(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                                  const float *xScales, float *y) {
    for (int r = 0; r < rows; ++r) {
        __m256 total = _mm256_setzero_ps();
        for (int b = 0; b < blocks; ++b) {
            __m256 dot = _mm256_cvtepi32_ps(dot_block_avx2(w + ((long)r * blocks + b) * 32, xq + b * 32));
            float scale = _cvtsh_ss(scales[(long)r * blocks + b]) * xScales[b];
            total = _mm256_fmadd_ps(dot, _mm256_set1_ps(scale), total);
        }
        y[r] = sum8(total);
    }
}

// ---- AVX512-VNNI ----------------------------------------------------------------------------------------

#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

VNNI static void matvec_int8_vnni(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                                  const float *xScales, float *y) {
    for (int r = 0; r < rows; ++r) {
        __m256 total = _mm256_setzero_ps();
        for (int b = 0; b < blocks; ++b) {
            __m256i weights = _mm256_loadu_si256((const __m256i *)(w + ((long)r * blocks + b) * 32));
            __m256i activations = _mm256_loadu_si256((const __m256i *)(xq + b * 32));
            // vpdpbusd: each int32 lane += four u8 x s8 products.
            __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(weights),
                                              _mm256_sign_epi8(activations, weights));
            float scale = _cvtsh_ss(scales[(long)r * blocks + b]) * xScales[b];
            total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(scale), total);
        }
        y[r] = sum8(total);
    }
}
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

void int8_matvec_float(const int8_t *w, const uint16_t *scales, int rows, int blocks, const float *x, float *y) {
#ifdef INT8_X86
    if (int8_current_path() >= INT8_PATH_AVX2) { matvec_float_avx2(w, scales, rows, blocks, x, y); return; }
#endif
    matvec_float_plain(w, scales, rows, blocks, x, y);
}

void int8_matvec_int8(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
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
