// One product's rows shared with a second thread (int8_matvec_* with threads 2). Streaming one token at
// config M runs 25 matrix-vector products of 0.1 to 0.6 MB of int8 weights, tens of microseconds each:
// too short to wake a sleeping thread for each. So the helper is one thread that keeps polling for the next share for 0.5 ms after each one,
// longer than the gaps between a token's products, and only then sleeps on a condition variable.
//
// The caller takes the first rows (a multiple of the kernels' four), the helper the rest; each row is
// computed whole by one thread exactly as it would be alone, so a shared product is bit for bit the
// unshared one (Tests/ModelTests/Int8Tests.swift compares them).
#include "Int8Sharing.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#else
#define PAUSE() ((void)0)
#endif

// Products with fewer weights than this stay on the calling thread. Config M's are 147 to 590 KB (all but
// the output head, 25 KB) and streamed 1.3x to 1.7x as fast shared; config S's are at most 64 KB, and streamed 0.77x
// as fast when those were shared (bench --int8, 2-core EPYC): the handing over costs more than it saves.
enum { SMALLEST_SHARED_BYTES = 128 * 1024 };
// How long the helper polls for the next share before it sleeps: longer than the gaps between a token's
// products and between two tokens, shorter than a window refill (about 19 ms at config M), which runs on
// OpenBLAS's threads.
static const long POLLING_NANOSECONDS = 500000;

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

// The helper's share of one product: rows first ..< rows.
typedef struct {
    const int8_t *w;
    const uint16_t *scales;
    int rows, blocks;
    const int8_t *xq;       // int8 activations with their scales, or NULL for float ones (x)
    const float *xScales;
    const float *x;
    float *y;
} Share;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_once_t once;
    int running;            // the helper thread started
    atomic_flag taken;      // a caller is sharing a product now; any other computes its own alone
    atomic_uint posted;     // shares handed over so far
    atomic_uint finished;   // the number of the last share the helper finished
    atomic_int sleeping;
    Share share;
    atomic_ulong computed;  // shares the helper has computed since the process started (for the tests)
} helper = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_ONCE_INIT, 0, ATOMIC_FLAG_INIT};

unsigned long int8_shared_products(void) { return atomic_load(&helper.computed); }

static void compute(const Share *s) {
    if (s->xq) int8_matvec_int8_unshared(s->w, s->scales, s->rows, s->blocks, s->xq, s->xScales, s->y);
    else int8_matvec_float_unshared(s->w, s->scales, s->rows, s->blocks, s->x, s->y);
    atomic_fetch_add(&helper.computed, 1);   // before `finished`: the caller sees it once its product returns
}

static void *helper_loop(void *unused) {
    (void)unused;
    unsigned done = 0;
    for (;;) {
        const long since = now_nanoseconds();
        for (int polls = 0; atomic_load(&helper.posted) == done;) {
            if (++polls % 64 != 0 || now_nanoseconds() - since < POLLING_NANOSECONDS) { PAUSE(); continue; }
            pthread_mutex_lock(&helper.lock);
            atomic_store(&helper.sleeping, 1);   // then reads `posted` again: a share posted meanwhile is seen
            while (atomic_load(&helper.posted) == done) pthread_cond_wait(&helper.wake, &helper.lock);
            atomic_store(&helper.sleeping, 0);
            pthread_mutex_unlock(&helper.lock);
        }
        done = atomic_load(&helper.posted);
        compute(&helper.share);
        atomic_store(&helper.finished, done);
    }
    return NULL;
}

static void start_helper(void) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    helper.running = pthread_create(&thread, &attributes, helper_loop, NULL) == 0;
    pthread_attr_destroy(&attributes);
}

int int8_share_rows(const int8_t *w, const uint16_t *scales, int rows, int blocks, const int8_t *xq,
                    const float *xScales, const float *x, float *y) {
    if ((long)rows * blocks * 32 < SMALLEST_SHARED_BYTES) return 0;
    pthread_once(&helper.once, start_helper);
    if (!helper.running || atomic_flag_test_and_set(&helper.taken)) return 0;
    const int mine = (rows / 2) & ~3;
    const long stride = (long)blocks * 32;
    helper.share = (Share){w + mine * stride, scales + (long)mine * blocks, rows - mine, blocks, xq, xScales, x, y + mine};
    const unsigned number = atomic_fetch_add(&helper.posted, 1) + 1;   // publishes the share
    if (atomic_load(&helper.sleeping)) {
        pthread_mutex_lock(&helper.lock);
        pthread_cond_signal(&helper.wake);
        pthread_mutex_unlock(&helper.lock);
    }
    if (xq) int8_matvec_int8_unshared(w, scales, mine, blocks, xq, xScales, y);
    else int8_matvec_float_unshared(w, scales, mine, blocks, x, y);
    while (atomic_load(&helper.finished) != number) PAUSE();
    atomic_flag_clear(&helper.taken);
    return 1;
}
