/* The CPU engine's kernels: one whole frame of the seeing generator in wasm32 SIMD128.
 *
 * A frame is: RGBA camera frame -> degradation (centre crop, luma, area pool to grid x grid,
 * bicubic back up, brightness/contrast about the mean, to [-1, 1]) -> U-Net (down convs 4x4 s2 p1
 * + bias + LeakyReLU, transposed convs 4x4 s2 p1 + bias + ReLU reading the skip from a second
 * buffer in place, the last one + tanh) -> RGBA with temporal smoothing.
 *
 * Layouts
 *   activations  NHWC float32 with a one-pixel zero border: (side+2) x (side+2) x C. The border is
 *                never written, so every tap reads valid memory and padding costs no branches.
 *   down weights per block of 8 output channels (the last block 4 or 8 wide, zero padded):
 *                [ky 4][kx 4][cin][8], so one output row segment of 4 pixels reads the weights
 *                of a kernel row as one contiguous stream (kx and cin together).
 *   up weights   per block: [phase py,px 4][tap row a 2][(tap col b 2 x cin_a) then (b 2 x cin_b)][8]:
 *                each output parity class of a transposed conv is a 2x2 conv of the input; the
 *                skip channels (cin_b, from the mirrored down layer) follow the up channels.
 * Register blocking: NPW (4) output pixels x 8 output channels (8 f32x4 accumulators) or 8 x 4;
 * wider blocks spill in V8 (5 and 6 pixels measured twice as slow in Chromium).
 * Taps that fall entirely in the zero border are skipped, so the 1x1 and 2x2 layers of the deep
 * end read only the weights that matter.
 *
 * Threads (THREADS build, shared memory): the page calls net_begin(net), then every worker calls
 * frame_run(net, tid, nthreads). Each stage (pooling, upsampling, each layer, the RGBA output) is cut
 * into units (rows, output channel blocks) that threads claim from a shared counter; a thread moves on
 * to the next stage once every unit of this one is done. No thread waits for another that holds no
 * work, so a worker that the OS deschedules (a loaded machine) delays nothing, and a tiny layer is
 * done by whichever thread gets there first. The whole frame is one call: no per-layer JS.
 * The code uses no shadow stack (no address-taken locals), so workers can share one memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

#ifdef RELAXED
#define FMA(acc, a, b) wasm_f32x4_relaxed_madd(a, b, acc)
#else
#define FMA(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#endif

#ifndef NPW
#define NPW 4 /* pixels per block of the 8-channel micro kernel */
#endif
#define MAXL 40 /* layers: resolution up to 2^20 */
#define NSTAGES (MAXL + 4) /* pool, upsample rows, expand, layers, RGBA */

/* Per-stage work counters, each on its own cache line. A counter holds the frame generation in its
 * high bits and a count of units in the low GEN_SHIFT bits, so a late thread from an earlier frame
 * sees that its frame is over and neither claims nor waits. */
#define GEN_SHIFT 20
#define COUNT_MASK ((1u << GEN_SHIFT) - 1)
#define GEN_MAX ((1u << (32 - GEN_SHIFT)) - 1)
typedef struct {
    unsigned claim, done;
    unsigned pad[14];
} Sync;

typedef struct {
    int kind, act;         /* kind 0 down, 1 up; act 0 leaky, 1 relu, 2 tanh */
    float slope;           /* LeakyReLU slope */
    int in_side, out_side; /* unpadded sides */
    int cin_a, cin_b, cout;
    int ostride;           /* channels per output pixel: cout, or cout rounded up to 4 for the last layer */
    float *in_a, *in_b, *out, *w, *bias;
} Layer;

typedef struct {
    int n_down, n_layers, res, grid;
    double luma[3];
    int *u_idx;        /* res x 4 bicubic taps (clamped indices) */
    double *u_w;       /* res x 4 bicubic weights */
    double *u_colsum;  /* grid: column sums of U, for the mean */
    double *pooled;    /* grid x grid: P X P^T */
    double *tmp;       /* grid x res: pooled U^T */
    int max_threads;
    float *x0;         /* padded degraded input (res+2)^2 */
    float *hist;       /* res x res x 4 smoothed output (4th channel unused) */
    uint8_t *rgba_out; /* res x res x 4 */
    uint8_t *deg_rgba; /* res x res x 4: the degraded input as grey, when want_degraded */
    int want_degraded;
    uint8_t *rgba_in;  /* the frame */
    int in_w, in_h, in_cap;
    float brightness, contrast, smooth; /* smooth: weight of the previous output (0 = none) */
    int mirror; /* mirror the pictures (not the network's input), as the WebGPU engine does */
    Layer layers[MAXL];
    unsigned gen;          /* frame generation (1..GEN_MAX), set by net_begin */
    double *rowmean;       /* grid: per pooled row, sum over columns of pooled * colsum */
    Sync sync[NSTAGES];
} Net;

/* ------------------------------------------------------------------ memory */

extern unsigned char __heap_base;
static size_t heap_top;

static int ensure(size_t end) {
    size_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end <= have) return 1;
    return __builtin_wasm_memory_grow(0, (end - have + 65535u) / 65536u) != (size_t)-1;
}

/* Zeroed, 64-byte aligned memory from a bump allocator (the engine frees everything at once by
 * dropping the memory). Returns 0 when the memory cannot grow. */
EXPORT(alloc) void *alloc(size_t n) {
    if (!heap_top) heap_top = (size_t)&__heap_base;
    size_t p = (heap_top + 63) & ~(size_t)63;
    if (p + n < p || !ensure(p + n)) return 0;
    heap_top = p + n;
    __builtin_memset((void *)p, 0, n);
    return (void *)p;
}

/* A temporary area of n bytes past the heap top, not reserved: valid until the next alloc. */
EXPORT(scratch) void *scratch(size_t n) {
    if (!heap_top) heap_top = (size_t)&__heap_base;
    size_t p = (heap_top + 63) & ~(size_t)63;
    if (p + n < p || !ensure(p + n)) return 0;
    return (void *)p;
}

/* ------------------------------------------------------------------ threads */

INLINE void split(int total, int tid, int nt, int *lo, int *hi) {
    *lo = (int)((long long)total * tid / nt);
    *hi = (int)((long long)total * (tid + 1) / nt);
}

/* ------------------------------------------------------------------ math */

static double cubic(double x, double a) {
    x = x < 0 ? -x : x;
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

static double floor_d(double x) {
    double t = (double)(long long)x;
    return t > x ? t - 1 : t;
}

/* tanh(x) as an odd rational function of the clamped input (the minimax fit used by Eigen and XLA):
 * max |error| 4e-7 over the reals, |result| <= 1. Two short polynomials and one division. The
 * coefficients are read from memory (one splat load each): V8 builds every v128.const from
 * immediates in several instructions, which made tanh cost as much as the last layer's convolution. */
float seeing_tanh_k[13] = {7.90531110763549805f, -2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f,
                           5.12229709037114e-08f, 1.48572235717979e-05f, 6.37261928875436e-04f, 4.89352455891786e-03f,
                           1.19825839466702e-06f, 1.18534705686654e-04f, 2.26843463243900e-03f, 4.89352518554385e-03f,
                           -7.90531110763549805f};
INLINE v128_t vtanh(v128_t x) {
    const float *k = seeing_tanh_k;
#define K(i) wasm_v128_load32_splat(k + (i))
    x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, K(12)), K(0));
    v128_t x2 = wasm_f32x4_mul(x, x);
    v128_t p = K(1);
    for (int i = 2; i <= 7; i++) p = wasm_f32x4_add(wasm_f32x4_mul(p, x2), K(i));
    p = wasm_f32x4_mul(p, x);
    v128_t q = K(8);
    for (int i = 9; i <= 11; i++) q = wasm_f32x4_add(wasm_f32x4_mul(q, x2), K(i));
#undef K
    return wasm_f32x4_div(p, q);
}

INLINE v128_t activate(v128_t x, int act, v128_t slope) {
    if (act == 0) return wasm_v128_bitselect(x, wasm_f32x4_mul(x, slope), wasm_f32x4_gt(x, wasm_f32x4_splat(0.0f)));
    if (act == 1) return wasm_f32x4_max(x, wasm_f32x4_splat(0.0f));
    return vtanh(x);
}

/* Store the first `valid` lanes (all four when valid >= 4): the last block may be narrower. */
INLINE void store_lanes(float *o, v128_t v, int valid) {
    if (valid >= 4) {
        wasm_v128_store(o, v);
        return;
    }
    o[0] = wasm_f32x4_extract_lane(v, 0);
    if (valid > 1) o[1] = wasm_f32x4_extract_lane(v, 1);
    if (valid > 2) o[2] = wasm_f32x4_extract_lane(v, 2);
}

/* ------------------------------------------------------------------ micro kernel
 * acc[p][v] += sum_j x[p*ps + j] * w[j][4v..4v+3] for NP pixels and NV vectors of channels. */
INLINE void mk(v128_t *acc, const float *x, int ps, const float *w, int J, const int NP, const int NV) {
    for (int j = 0; j < J; j++) {
        v128_t w0 = wasm_v128_load(w + j * 4 * NV);
        v128_t w1 = NV > 1 ? wasm_v128_load(w + j * 4 * NV + 4) : w0;
#pragma clang loop unroll(full)
        for (int p = 0; p < NP; p++) {
            v128_t a = wasm_v128_load32_splat(x + p * ps + j);
            acc[p * NV] = FMA(acc[p * NV], a, w0);
            if (NV > 1) acc[p * NV + 1] = FMA(acc[p * NV + 1], a, w1);
        }
    }
}

/* The same for 2 x 2 pixels at offsets 0, ps, rs, rs + ps (8 channels): a whole 2 x 2 output of the
 * deep end in one pass over its weights. */
INLINE void mk_quad(v128_t *acc, const float *x, int ps, int rs, const float *w, int J) {
    for (int j = 0; j < J; j++) {
        v128_t w0 = wasm_v128_load(w + j * 8), w1 = wasm_v128_load(w + j * 8 + 4), a;
        a = wasm_v128_load32_splat(x + j);
        acc[0] = FMA(acc[0], a, w0), acc[1] = FMA(acc[1], a, w1);
        a = wasm_v128_load32_splat(x + ps + j);
        acc[2] = FMA(acc[2], a, w0), acc[3] = FMA(acc[3], a, w1);
        a = wasm_v128_load32_splat(x + rs + j);
        acc[4] = FMA(acc[4], a, w0), acc[5] = FMA(acc[5], a, w1);
        a = wasm_v128_load32_splat(x + rs + ps + j);
        acc[6] = FMA(acc[6], a, w0), acc[7] = FMA(acc[7], a, w1);
    }
}

INLINE void epilogue(const Layer *L, v128_t *acc, float *o, int ostride, int valid, const int NP, const int NV) {
    v128_t slope = wasm_f32x4_splat(L->slope);
#pragma clang loop unroll(full)
    for (int p = 0; p < NP; p++)
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) store_lanes(o + p * ostride + 4 * v, activate(acc[p * NV + v], L->act, slope), valid - 4 * v);
}

INLINE void init_acc(v128_t *acc, const float *bias, const int NP, const int NV) {
#pragma clang loop unroll(full)
    for (int p = 0; p < NP; p++)
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) acc[p * NV + v] = wasm_v128_load(bias + 4 * v);
}

/* ------------------------------------------------------------------ down conv 4x4 s2 p1 */

/* NP output pixels from ox, full kernel rows ky0..ky1 (kx 0..3 as one stream). */
INLINE void down_block(const Layer *L, const float *w, int co, int oy, int ox, int ky0, int ky1, const int NP, const int NV) {
    v128_t acc[2 * NPW];
    int cin = L->cin_a, W2 = L->in_side + 2, J = 4 * cin;
    init_acc(acc, L->bias + co, NP, NV);
    for (int ky = ky0; ky < ky1; ky++)
        mk(acc, L->in_a + ((2 * oy + ky) * W2 + 2 * ox) * cin, 2 * cin, w + ky * J * 4 * NV, J, NP, NV);
    epilogue(L, acc, L->out + ((oy + 1) * (L->out_side + 2) + ox + 1) * L->ostride + co, L->ostride, L->ostride - co, NP, NV);
}

/* One output pixel, only the taps inside the image. */
INLINE void down_pixel(const Layer *L, const float *w, int co, int oy, int ox, int ky0, int ky1, const int NV) {
    v128_t acc[2];
    int cin = L->cin_a, W2 = L->in_side + 2;
    int kx0 = 2 * ox < 1 ? 1 - 2 * ox : 0, kx1 = L->in_side + 1 - 2 * ox < 4 ? L->in_side + 1 - 2 * ox : 4;
    init_acc(acc, L->bias + co, 1, NV);
    for (int ky = ky0; ky < ky1; ky++)
        mk(acc, L->in_a + ((2 * oy + ky) * W2 + 2 * ox + kx0) * cin, 0, w + (ky * 4 + kx0) * cin * 4 * NV, (kx1 - kx0) * cin, 1, NV);
    epilogue(L, acc, L->out + ((oy + 1) * (L->out_side + 2) + ox + 1) * L->ostride + co, 0, L->ostride - co, 1, NV);
}

/* A 2 x 2 output (input 4 x 4), 8 channels from co: every kernel row once for the four pixels; the
 * taps that fall in the zero border are multiplied by zero instead of re-reading the weights. */
static void down_quad(const Layer *L, int co) {
    v128_t acc[8];
    int cin = L->cin_a, W2 = L->in_side + 2, J = 4 * cin, OW2 = L->out_side + 2, st = L->ostride;
    const float *w = L->w + (size_t)co * 16 * cin;
    init_acc(acc, L->bias + co, 4, 2);
    for (int ky = 0; ky < 4; ky++) mk_quad(acc, L->in_a + (size_t)ky * W2 * cin, 2 * cin, 2 * W2 * cin, w + ky * J * 8, J);
    float *o = L->out + ((size_t)OW2 + 1) * st + co;
    epilogue(L, acc, o, st, st - co, 2, 2);
    epilogue(L, acc + 4, o + (size_t)OW2 * st, st, st - co, 2, 2);
}

static void down_row(const Layer *L, int co, int oy) {
    const float *w = L->w + (size_t)co * 16 * L->cin_a;
    int ky0 = 2 * oy < 1 ? 1 - 2 * oy : 0;
    int ky1 = L->in_side + 1 - 2 * oy < 4 ? L->in_side + 1 - 2 * oy : 4;
    int wo = L->out_side, ox = 0;
    if (L->cout - co > 4) {
        for (; ox + NPW <= wo; ox += NPW) down_block(L, w, co, oy, ox, ky0, ky1, NPW, 2);
        /* a 2-wide row (the deep end) as one block: its weights are read once, not once per pixel */
        if (ox + 2 <= wo) down_block(L, w, co, oy, ox, ky0, ky1, 2, 2), ox += 2;
        for (; ox < wo; ox++) down_pixel(L, w, co, oy, ox, ky0, ky1, 2);
    } else {
        for (; ox + 8 <= wo; ox += 8) down_block(L, w, co, oy, ox, ky0, ky1, 8, 1);
        if (ox + 4 <= wo) down_block(L, w, co, oy, ox, ky0, ky1, 4, 1), ox += 4;
        if (ox + 2 <= wo) down_block(L, w, co, oy, ox, ky0, ky1, 2, 1), ox += 2;
        for (; ox < wo; ox++) down_pixel(L, w, co, oy, ox, ky0, ky1, 1);
    }
}

/* ------------------------------------------------------------------ transposed conv 4x4 s2 p1
 * Output (oy, ox) = (2m + py, 2n + px) reads padded input rows m+py+a and cols n+px+b (a, b in
 * {0, 1}) with kernel tap (3-py-2a, 3-px-2b). */

INLINE void up_block(const Layer *L, const float *wp, int co, int oy, int n0, int px, int a0, int a1, const int NP, const int NV) {
    v128_t acc[2 * NPW];
    int ca = L->cin_a, cb = L->cin_b, W2 = L->in_side + 2, m = oy >> 1, py = oy & 1;
    int ct = ca + cb;
    init_acc(acc, L->bias + co, NP, NV);
    for (int a = a0; a < a1; a++) {
        int r = m + py + a;
        const float *w = wp + a * 2 * ct * 4 * NV;
        mk(acc, L->in_a + ((size_t)r * W2 + n0 + px) * ca, ca, w, 2 * ca, NP, NV);
        if (cb) mk(acc, L->in_b + ((size_t)r * W2 + n0 + px) * cb, cb, w + 2 * ca * 4 * NV, 2 * cb, NP, NV);
    }
    epilogue(L, acc, L->out + ((oy + 1) * (L->out_side + 2) + 2 * n0 + px + 1) * L->ostride + co, 2 * L->ostride, L->ostride - co, NP, NV);
}

INLINE void up_pixel(const Layer *L, const float *wp, int co, int oy, int n, int px, int a0, int a1, const int NV) {
    v128_t acc[2];
    int ca = L->cin_a, cb = L->cin_b, W2 = L->in_side + 2, m = oy >> 1, py = oy & 1;
    int ct = ca + cb;
    int b0 = n + px < 1 ? 1 : 0, b1 = n + px + 1 > L->in_side ? 1 : 2;
    init_acc(acc, L->bias + co, 1, NV);
    for (int a = a0; a < a1; a++) {
        int r = m + py + a;
        const float *w = wp + a * 2 * ct * 4 * NV;
        for (int b = b0; b < b1; b++) {
            mk(acc, L->in_a + ((size_t)r * W2 + n + px + b) * ca, 0, w + b * ca * 4 * NV, ca, 1, NV);
            if (cb) mk(acc, L->in_b + ((size_t)r * W2 + n + px + b) * cb, 0, w + (2 * ca + b * cb) * 4 * NV, cb, 1, NV);
        }
    }
    epilogue(L, acc, L->out + ((oy + 1) * (L->out_side + 2) + 2 * n + px + 1) * L->ostride + co, 0, L->ostride - co, 1, NV);
}

/* Input 2 x 2 (output 4 x 4): the four pixels of one parity class (py, px) in one pass over its weights. */
static void up_quad(const Layer *L, int co, int py, int px) {
    v128_t acc[8];
    int ca = L->cin_a, cb = L->cin_b, ct = ca + cb, W2 = L->in_side + 2, OW2 = L->out_side + 2, st = L->ostride;
    const float *wp = L->w + (size_t)co * 16 * ct + (size_t)(py * 2 + px) * 2 * 2 * ct * 8;
    init_acc(acc, L->bias + co, 4, 2);
    for (int a = 0; a < 2; a++) {
        int r = py + a;
        const float *w = wp + a * 2 * ct * 8;
        mk_quad(acc, L->in_a + ((size_t)r * W2 + px) * ca, ca, W2 * ca, w, 2 * ca);
        if (cb) mk_quad(acc, L->in_b + ((size_t)r * W2 + px) * cb, cb, W2 * cb, w + 2 * ca * 8, 2 * cb);
    }
    float *o = L->out + ((size_t)(py + 1) * OW2 + px + 1) * st + co;
    epilogue(L, acc, o, 2 * st, st - co, 2, 2);
    epilogue(L, acc + 4, o + (size_t)2 * OW2 * st, 2 * st, st - co, 2, 2);
}

static void up_row(const Layer *L, int co, int oy) {
    int ct = L->cin_a + L->cin_b, side = L->in_side, m = oy >> 1, py = oy & 1;
    int a0 = m + py < 1 ? 1 : 0, a1 = m + py + 1 > side ? 1 : 2;
    int wide = L->cout - co > 4;
    for (int px = 0; px < 2; px++) {
        const float *wp = L->w + (size_t)co * 16 * ct + (size_t)(py * 2 + px) * 2 * 2 * ct * (wide ? 8 : 4);
        int n = 0;
        if (wide) {
            for (; n + NPW <= side; n += NPW) up_block(L, wp, co, oy, n, px, a0, a1, NPW, 2);
            if (n + 2 <= side) up_block(L, wp, co, oy, n, px, a0, a1, 2, 2), n += 2;
            for (; n < side; n++) up_pixel(L, wp, co, oy, n, px, a0, a1, 2);
        } else {
            for (; n + 8 <= side; n += 8) up_block(L, wp, co, oy, n, px, a0, a1, 8, 1);
            if (n + 4 <= side) up_block(L, wp, co, oy, n, px, a0, a1, 4, 1), n += 4;
            if (n + 2 <= side) up_block(L, wp, co, oy, n, px, a0, a1, 2, 1), n += 2;
            for (; n < side; n++) up_pixel(L, wp, co, oy, n, px, a0, a1, 1);
        }
    }
}

/* ------------------------------------------------------------------ building the net */

EXPORT(net_create) Net *net_create(int n_down, int res, int grid, double bicubic_a, double l0, double l1, double l2, int max_threads) {
    /* res: any multiple of 2^n_down (a 256 model runs at 512 too: fully convolutional) */
    if (n_down < 1 || 2 * n_down > MAXL || res < 1 << n_down || res % (1 << n_down) || res > 4096 || grid < 1 || grid > res ||
        max_threads < 1) return 0;
    Net *n = alloc(sizeof(Net));
    if (!n) return 0;
    n->n_down = n_down;
    n->n_layers = 2 * n_down;
    n->res = res;
    n->grid = grid;
    n->luma[0] = l0, n->luma[1] = l1, n->luma[2] = l2;
    n->max_threads = max_threads;
    n->u_idx = alloc(sizeof(int) * 4 * res);
    n->u_w = alloc(sizeof(double) * 4 * res);
    n->u_colsum = alloc(sizeof(double) * grid);
    n->pooled = alloc(sizeof(double) * grid * grid);
    n->tmp = alloc(sizeof(double) * grid * res);
    n->rowmean = alloc(sizeof(double) * grid);
    n->x0 = alloc(sizeof(float) * (res + 2) * (res + 2));
    n->hist = alloc(sizeof(float) * res * res * 4);
    n->rgba_out = alloc((size_t)res * res * 4);
    n->deg_rgba = alloc((size_t)res * res * 4);
    if (!n->deg_rgba || !n->rowmean || !n->u_idx || !n->u_w || !n->u_colsum || !n->pooled || !n->tmp || !n->x0 || !n->hist || !n->rgba_out) return 0;
    /* bicubic_matrix(grid, res): torch's align_corners=False source coordinate, edges clamped */
    double scale = (double)grid / res;
    for (int i = 0; i < res; i++) {
        double x = scale * (i + 0.5) - 0.5, x0 = floor_d(x), t = x - x0;
        double ws[4] = {cubic(t + 1, bicubic_a), cubic(t, bicubic_a), cubic(1 - t, bicubic_a), cubic(2 - t, bicubic_a)};
        for (int k = 0; k < 4; k++) {
            int idx = (int)x0 + k - 1;
            idx = idx < 0 ? 0 : idx > grid - 1 ? grid - 1 : idx;
            n->u_idx[i * 4 + k] = idx;
            n->u_w[i * 4 + k] = ws[k];
            n->u_colsum[idx] += ws[k];
        }
    }
    return n;
}

/* Declare layer i (in forward order); channels and wiring follow the U-Net. Returns 0 when out of memory. */
EXPORT(net_layer) int net_layer(Net *n, int i, int cout, float slope) {
    if (i < 0 || i >= n->n_layers || cout < 1) return 0;
    Layer *L = &n->layers[i];
    int nd = n->n_down;
    L->cout = cout;
    L->slope = slope;
    if (i < nd) {
        L->kind = 0, L->act = 0;
        L->in_side = n->res >> i;
        L->out_side = L->in_side / 2;
        L->in_a = i == 0 ? n->x0 : n->layers[i - 1].out;
        L->cin_a = i == 0 ? 1 : n->layers[i - 1].cout;
    } else {
        int j = i - nd;
        L->kind = 1;
        L->act = i == n->n_layers - 1 ? 2 : 1;
        L->in_side = n->res >> (nd - j);
        L->out_side = 2 * L->in_side;
        L->in_a = n->layers[i - 1].out;
        L->cin_a = n->layers[i - 1].cout;
        if (j > 0) {
            L->in_b = n->layers[nd - 1 - j].out;
            L->cin_b = n->layers[nd - 1 - j].cout;
        }
    }
    int ct = L->cin_a + L->cin_b, cpad = (cout + 7) / 8 * 8;
    size_t wsize = (size_t)cout / 8 * 8 * 16 * ct + (cout % 8 ? (cout % 8 > 4 ? 8 : 4) : 0) * 16 * (size_t)ct;
    L->w = alloc(sizeof(float) * wsize);
    L->bias = alloc(sizeof(float) * cpad);
    /* the last layer's pixels are padded to 4 channels so its (tanh) stores are whole vectors */
    L->ostride = i == n->n_layers - 1 ? (cout + 3) / 4 * 4 : cout;
    L->out = alloc(sizeof(float) * (L->out_side + 2) * (L->out_side + 2) * L->ostride);
    return L->w && L->bias && L->out;
}

static float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) bits = s | 0x7f800000u | (m << 13);
    else if (e) bits = s | ((e + 112) << 23) | (m << 13);
    else if (!m) bits = s;
    else { /* subnormal: normalise */
        e = 113;
        while (!(m & 0x400)) m <<= 1, e--;
        bits = s | (e << 23) | ((m & 0x3ff) << 13);
    }
    union { uint32_t u; float f; } c = {bits};
    return c.f;
}

/* Load layer i's weights from the file's layout (cout, cin, 4, 4) in dtype 0 float32, 1 float16,
 * 2 uint8 (w = scale * (q - zero), per output channel), dequantized into the packed layout. */
EXPORT(net_load) void net_load(Net *n, int i, const void *raw, int dtype, const float *scale, const float *zero, const float *bias) {
    Layer *L = &n->layers[i];
    int cout = L->cout, ca = L->cin_a, cb = L->cin_b, ct = ca + cb;
    for (int c = 0; c < cout; c++) L->bias[c] = bias[c];
    for (int co = 0; co < cout; co += 8) {
        int bw = cout - co > 4 ? 8 : 4;
        float *dst = L->w + (size_t)co * 16 * ct;
        for (int l = 0; l < bw; l++) {
            int c = co + l;
            if (c >= cout) continue;
            for (int ci = 0; ci < ct; ci++)
                for (int k = 0; k < 16; k++) {
                    size_t src = ((size_t)c * ct + ci) * 16 + k;
                    float v = dtype == 0 ? ((const float *)raw)[src]
                            : dtype == 1 ? half_to_float(((const uint16_t *)raw)[src])
                                         : scale[c] * ((float)((const uint8_t *)raw)[src] - zero[c]);
                    int ky = k >> 2, kx = k & 3;
                    size_t at;
                    if (L->kind == 0) {
                        at = (size_t)(ky * 4 + kx) * ct + ci;
                    } else {
                        int py = (3 - ky) & 1, a = (3 - ky) >> 1, px = (3 - kx) & 1, b = (3 - kx) >> 1;
                        size_t part = ci < ca ? (size_t)b * ca + ci : 2 * (size_t)ca + (size_t)b * cb + (ci - ca);
                        at = ((size_t)((py * 2 + px) * 2 + a)) * 2 * ct + part;
                    }
                    dst[at * bw + l] = v;
                }
        }
    }
}

/* ------------------------------------------------------------------ degradation */

/* Pooled row gy: pooled = P X P^T straight from the RGBA frame (centre square crop). Sums of R, G,
 * B are exact integers; luma is applied per cell. Also the row's share of the mean. */
static void pool_row(Net *n, int gy) {
    int g = n->grid, w = n->in_w, h = n->in_h, S = w < h ? w : h;
    int top = (h - S) / 2, left = (w - S) / 2;
    int ys = gy * S / g, ye = ((gy + 1) * S + g - 1) / g;
    double rm = 0;
    for (int gx = 0; gx < g; gx++) {
        int xs = gx * S / g, xe = ((gx + 1) * S + g - 1) / g;
        double sr = 0, sg = 0, sb = 0;
        for (int y = ys; y < ye; y++) {
            const uint8_t *row = n->rgba_in + ((size_t)(top + y) * w + left) * 4;
            int x = xs;
            uint32_t r = 0, gg = 0, b = 0;
            while (x + 4 <= xe) { /* 16-bit lanes hold up to 128 steps of two pixels each */
                v128_t acc = wasm_i16x8_splat(0);
                for (int k = 0; k < 128 && x + 4 <= xe; k++, x += 4) {
                    v128_t v = wasm_v128_load(row + 4 * x);
                    acc = wasm_i16x8_add(acc, wasm_i16x8_add(wasm_u16x8_extend_low_u8x16(v), wasm_u16x8_extend_high_u8x16(v)));
                }
                v128_t lo32 = wasm_u32x4_extend_low_u16x8(acc), hi32 = wasm_u32x4_extend_high_u16x8(acc);
                v128_t s4 = wasm_i32x4_add(lo32, hi32);
                r += (uint32_t)wasm_i32x4_extract_lane(s4, 0);
                gg += (uint32_t)wasm_i32x4_extract_lane(s4, 1);
                b += (uint32_t)wasm_i32x4_extract_lane(s4, 2);
            }
            for (; x < xe; x++) r += row[4 * x], gg += row[4 * x + 1], b += row[4 * x + 2];
            sr += r, sg += gg, sb += b;
        }
        double v = (n->luma[0] * sr + n->luma[1] * sg + n->luma[2] * sb) / (255.0 * (ye - ys) * (xe - xs));
        n->pooled[gy * g + gx] = v;
        rm += v * n->u_colsum[gx];
    }
    n->rowmean[gy] = rm;
}

/* Row gy of t = pooled U^T (g x R). */
static void upsample_row(Net *n, int gy) {
    int g = n->grid, R = n->res;
    double *t = n->tmp + (size_t)gy * R;
    const double *pr = n->pooled + gy * g;
    for (int c = 0; c < R; c++) {
        double s = 0;
        for (int k = 0; k < 4; k++) s += pr[n->u_idx[c * 4 + k]] * n->u_w[c * 4 + k];
        t[c] = s;
    }
}

#define EXPAND_ROWS 8 /* rows of the degraded input (and of the RGBA output) per unit */

/* Rows r0..r1 of x = U t, brightness/contrast about the mean, clip, to [-1, 1] into x0. */
static void expand_rows(Net *n, int r0, int r1) {
    int g = n->grid, R = n->res;
    const double *t = n->tmp;
    double mean = 0;
    for (int gy = 0; gy < g; gy++) mean += n->u_colsum[gy] * n->rowmean[gy];
    mean /= (double)R * R;
    double b = n->brightness, c = n->contrast;
    for (int r = r0; r < r1; r++) {
        const int *idx = n->u_idx + r * 4;
        const double *uw = n->u_w + r * 4;
        float *o = n->x0 + (size_t)(r + 1) * (R + 2) + 1;
        for (int col = 0; col < R; col++) {
            double x = uw[0] * t[idx[0] * R + col] + uw[1] * t[idx[1] * R + col] + uw[2] * t[idx[2] * R + col] + uw[3] * t[idx[3] * R + col];
            double y = b * ((x - mean) * c + mean);
            y = y < 0 ? 0 : y > 1 ? 1 : y;
            o[col] = (float)(y * 2 - 1);
        }
    }
}

/* ------------------------------------------------------------------ output */

/* (v + 1) * 127.5 clamped to [0, 255], rounded half to even, as int32 lanes. */
INLINE v128_t to_bytes4(v128_t v) {
    v128_t q = wasm_f32x4_mul(wasm_f32x4_add(v, wasm_f32x4_splat(1.0f)), wasm_f32x4_splat(127.5f));
    q = wasm_f32x4_pmin(wasm_f32x4_pmax(q, wasm_f32x4_splat(0.0f)), wasm_f32x4_splat(255.0f));
    return wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(q));
}

INLINE uint8_t to_byte(float v) {
    return (uint8_t)wasm_i32x4_extract_lane(to_bytes4(wasm_f32x4_splat(v)), 0);
}

/* Four pixels of int32 lanes (R, G, B, x) -> 16 RGBA bytes with alpha 255. */
INLINE v128_t pack4(v128_t a, v128_t b, v128_t c, v128_t d) {
    v128_t p = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, d));
    return wasm_v128_or(p, wasm_i32x4_splat((int)0xff000000u));
}

/* Final layer output (padded HWC, 1 or 3 channels, 4 floats per pixel) -> smoothed history -> RGBA
 * bytes (mirrored if asked); the degraded input as grey RGBA too when the page shows it. */
static void to_rgba_rows(Net *n, int r0, int r1) {
    int R = n->res;
    const Layer *L = &n->layers[n->n_layers - 1];
    int grey = L->cout == 1;
    v128_t s = wasm_f32x4_splat(n->smooth), s1 = wasm_f32x4_splat(1 - n->smooth);
    for (int r = r0; r < r1; r++) {
        const float *src = L->out + ((size_t)(r + 1) * (R + 2) + 1) * 4;
        const float *deg = n->x0 + (size_t)(r + 1) * (R + 2) + 1;
        float *hrow = n->hist + (size_t)r * R * 4;
        uint8_t *o = n->rgba_out + (size_t)r * R * 4, *d = n->deg_rgba + (size_t)r * R * 4;
        int c = 0;
        for (; c + 4 <= R; c += 4) {
            v128_t px[4];
            for (int k = 0; k < 4; k++) {
                v128_t v = wasm_v128_load(src + 4 * (c + k));
                if (grey) v = wasm_i32x4_shuffle(v, v, 0, 0, 0, 0);
                v = wasm_f32x4_add(wasm_f32x4_mul(s, wasm_v128_load(hrow + 4 * (c + k))), wasm_f32x4_mul(s1, v));
                wasm_v128_store(hrow + 4 * (c + k), v);
                px[k] = to_bytes4(v);
            }
            v128_t p = pack4(px[0], px[1], px[2], px[3]);
            v128_t gq = n->want_degraded ? wasm_v128_or(wasm_i32x4_mul(to_bytes4(wasm_v128_load(deg + c)), wasm_i32x4_splat(0x010101)),
                                                        wasm_i32x4_splat((int)0xff000000u)) : p;
            if (n->mirror) {
                p = wasm_i32x4_shuffle(p, p, 3, 2, 1, 0);
                gq = wasm_i32x4_shuffle(gq, gq, 3, 2, 1, 0);
                wasm_v128_store(o + 4 * (R - 4 - c), p);
                if (n->want_degraded) wasm_v128_store(d + 4 * (R - 4 - c), gq);
            } else {
                wasm_v128_store(o + 4 * c, p);
                if (n->want_degraded) wasm_v128_store(d + 4 * c, gq);
            }
        }
        for (; c < R; c++) { /* R < 4 */
            int oc = n->mirror ? R - 1 - c : c;
            for (int k = 0; k < 3; k++) {
                float v = n->smooth * hrow[4 * c + k] + (1 - n->smooth) * src[4 * c + (grey ? 0 : k)];
                hrow[4 * c + k] = v;
                o[4 * oc + k] = to_byte(v);
            }
            o[4 * oc + 3] = 255;
            if (n->want_degraded) {
                uint8_t gv = to_byte(deg[c]);
                d[4 * oc] = d[4 * oc + 1] = d[4 * oc + 2] = gv;
                d[4 * oc + 3] = 255;
            }
        }
    }
}

/* ------------------------------------------------------------------ the frame */

/* Room for a width x height RGBA frame; returns its address (0 when out of memory). */
EXPORT(net_input) uint8_t *net_input(Net *n, int width, int height) {
    size_t need = (size_t)width * height * 4;
    if (width < 1 || height < 1) return 0;
    if (need > (size_t)n->in_cap) {
        n->rgba_in = alloc(need);
        if (!n->rgba_in) return 0;
        n->in_cap = (int)need;
    }
    n->in_w = width, n->in_h = height;
    return n->rgba_in;
}

EXPORT(net_params) void net_params(Net *n, float brightness, float contrast, float smooth, int mirror, int want_degraded) {
    n->brightness = brightness, n->contrast = contrast, n->smooth = smooth, n->mirror = mirror;
    n->want_degraded = want_degraded;
}

/* A layer's units: each is one block of 8 output channels over a run of rows, about UNITS_PER_LAYER
 * of them, so that a thread reads a block's weights once for many rows (the deep layers are bound by
 * reading weights) and two threads rarely read the same block. */
#define UNITS_PER_LAYER 32
static int layer_rows_per_unit(const Layer *L) {
    int rows = L->out_side, total = rows * ((L->cout + 7) / 8), r = total / UNITS_PER_LAYER;
    if (rows <= 4) return rows; /* the deep end: whole outputs, see layer_unit */
    return r < 1 ? 1 : r > rows ? rows : r;
}
static int layer_chunks(const Layer *L) {
    int r = layer_rows_per_unit(L);
    return (L->out_side + r - 1) / r;
}

/* Layer unit u: block-major, so consecutive units share their weights. */
static void layer_unit(const Layer *L, int u) {
    int chunks = layer_chunks(L), rpu = layer_rows_per_unit(L), co = (u / chunks) * 8, r0 = (u % chunks) * rpu;
    int r1 = r0 + rpu < L->out_side ? r0 + rpu : L->out_side;
    if (r0 == 0 && r1 == L->out_side && L->cout - co > 4) {
        if (L->kind == 0 && L->out_side == 2) {
            down_quad(L, co);
            return;
        }
        if (L->kind == 1 && L->in_side == 2) {
            for (int q = 0; q < 4; q++) up_quad(L, co, q >> 1, q & 1);
            return;
        }
    }
    for (int row = r0; row < r1; row++) {
        if (L->kind == 0) down_row(L, co, row);
        else up_row(L, co, row);
    }
}

/* Stages: 0 pooling (grid rows), 1 upsampling along rows (grid rows), 2 expand (row chunks),
 * 3 + i layer i (channel block x row), then the RGBA output (row chunks). */
static int stage_count(const Net *n) { return n->n_layers + 4; }

static unsigned stage_units(const Net *n, int s) {
    if (s < 2) return (unsigned)n->grid;
    if (s == 2 || s == n->n_layers + 3) return (unsigned)((n->res + EXPAND_ROWS - 1) / EXPAND_ROWS);
    const Layer *L = &n->layers[s - 3];
    return (unsigned)(((L->cout + 7) / 8) * layer_chunks(L));
}

static void stage_unit(Net *n, int s, int u) {
    if (s == 0) pool_row(n, u);
    else if (s == 1) upsample_row(n, u);
    else if (s == 2 || s == n->n_layers + 3) {
        int r0 = u * EXPAND_ROWS, r1 = r0 + EXPAND_ROWS < n->res ? r0 + EXPAND_ROWS : n->res;
        if (s == 2) expand_rows(n, r0, r1);
        else to_rgba_rows(n, r0, r1);
    } else layer_unit(&n->layers[s - 3], u);
}

/* Claim and run units of stage s until none is left. Returns 1 when this thread finished the
 * stage's last unit, 0 otherwise, -1 when the frame `tag` is no longer the current one. */
static int run_stage(Net *n, int s, unsigned tag) {
    Sync *y = &n->sync[s];
    unsigned units = stage_units(n, s);
    int last = 0;
    for (;;) {
        unsigned c = __atomic_load_n(&y->claim, __ATOMIC_ACQUIRE);
        if ((c & ~COUNT_MASK) != tag) return -1;
        if ((c & COUNT_MASK) >= units) return last;
        if (!__atomic_compare_exchange_n(&y->claim, &c, c + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        stage_unit(n, s, (int)(c & COUNT_MASK));
        if (__atomic_add_fetch(&y->done, 1, __ATOMIC_ACQ_REL) == (tag | units)) {
            last = 1;
#ifdef THREADS
            __builtin_wasm_memory_atomic_notify((int *)&y->done, 0xffffffffu);
#endif
        }
    }
}

/* Wait until every unit of stage s is done: 0, or -1 when the frame is no longer the current one. */
static int wait_stage(Net *n, int s, unsigned tag) {
    Sync *y = &n->sync[s];
    unsigned want = tag | stage_units(n, s);
    for (int spin = 0;; spin++) {
        unsigned v = __atomic_load_n(&y->done, __ATOMIC_ACQUIRE);
        if (v == want) return 0;
        if ((v & ~COUNT_MASK) != tag) return -1;
#ifdef THREADS
        /* spin first: a unit lasts microseconds; then sleep until the stage's last unit notifies */
        if (spin > 20000) __builtin_wasm_memory_atomic_wait32((int *)&y->done, (int)v, 1000000);
#endif
    }
}

/* Start a frame: a new generation, every stage's counters at zero. The page calls it once per frame
 * before the workers' frame_run calls; returns the generation. */
EXPORT(net_begin) unsigned net_begin(Net *n) {
    unsigned g = n->gen % GEN_MAX + 1, tag = g << GEN_SHIFT;
    for (int s = 0; s < NSTAGES; s++) {
        __atomic_store_n(&n->sync[s].claim, tag, __ATOMIC_RELEASE);
        __atomic_store_n(&n->sync[s].done, tag, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&n->gen, g, __ATOMIC_RELEASE);
    return g;
}

static unsigned run_frame(Net *n, int nt) {
    unsigned g = __atomic_load_n(&n->gen, __ATOMIC_ACQUIRE), tag = g << GEN_SHIFT;
    int S = stage_count(n);
    for (int s = 0; s < S; s++) {
        int r = run_stage(n, s, tag);
        if (r < 0) return 0;
        if (s == S - 1) return r ? g : 0;
        if (nt > 1 && wait_stage(n, s, tag) < 0) return 0;
    }
    return 0;
}

/* Run the frame started by net_begin on one of nt threads (nt = 1: begins the frame itself).
 * Returns the frame's generation on the thread that finished it, else 0. */
EXPORT(frame_run) unsigned frame_run(Net *n, int tid, int nt) {
    (void)tid;
    if (nt <= 1) net_begin(n);
    return run_frame(n, nt);
}

/* Test and profiling entries, one thread: the degradation alone, one layer alone. */
EXPORT(degrade_run) void degrade_run(Net *n, int tid, int nt) {
    (void)tid, (void)nt;
    for (int s = 0; s < 3; s++)
        for (unsigned u = 0; u < stage_units(n, s); u++) stage_unit(n, s, (int)u);
}

EXPORT(layer_run) void layer_run(Net *n, int i, int tid, int nt) {
    const Layer *L = &n->layers[i];
    int lo, hi;
    split((int)stage_units(n, 3 + i), tid, nt, &lo, &hi);
    for (int u = lo; u < hi; u++) layer_unit(L, u);
}

/* Addresses for the JS side and the tests. */
EXPORT(net_x0) float *net_x0(Net *n) { return n->x0; }
EXPORT(net_rgba) uint8_t *net_rgba(Net *n) { return n->rgba_out; }
EXPORT(net_deg_rgba) uint8_t *net_deg_rgba(Net *n) { return n->deg_rgba; }
EXPORT(net_out) float *net_out(Net *n, int i) { return n->layers[i].out; }
EXPORT(net_in) float *net_in(Net *n, int i, int which) { return which ? n->layers[i].in_b : n->layers[i].in_a; }
