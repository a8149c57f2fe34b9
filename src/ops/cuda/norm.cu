/*
 * norm.cu - the "cuda" backend's LayerNorm, GroupNorm and inference BatchNorm.
 *
 * LayerNorm: one block per row, two passes over the row (mean, then the
 * centred sum of squares: no E[x^2] - E[x]^2 cancellation).
 *
 * GroupNorm: a group can hold millions of values (the VAE's full-resolution
 * layers: 16 channels x 1M pixels), so one block per group would leave most of
 * the GPU idle. Three passes instead: partial statistics (count, mean, M2) per
 * chunk of CHUNK values, combined per group by Chan's formula, then one
 * element-wise pass that applies (x - mean) * rstd * w + b. The table has no
 * fused GroupNorm+SiLU op (the models call the two ops), so none is fused here.
 */
#include "ops/cuda/cuda_ctx.cuh"

#define CHUNK 16384
#define THREADS 256

typedef struct welford {
    float n, mean, m2;
} welford_t;

static __device__ welford_t combine(welford_t a, welford_t b)
{
    float n = a.n + b.n;
    if (n == 0.0f) return a;
    float d = b.mean - a.mean, f = b.n / n;
    welford_t r = {n, a.mean + d * f, a.m2 + b.m2 + d * d * a.n * f};
    return r;
}

/* The block's combined statistics, valid in thread 0. */
static __device__ welford_t block_combine(welford_t w)
{
    __shared__ welford_t part[THREADS / 32];
    for (int off = 16; off > 0; off /= 2) {
        welford_t o = {__shfl_down_sync(0xffffffffu, w.n, off), __shfl_down_sync(0xffffffffu, w.mean, off),
                       __shfl_down_sync(0xffffffffu, w.m2, off)};
        w = combine(w, o);
    }
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = w;
    __syncthreads();
    if (threadIdx.x == 0)
        for (int i = 1; i < THREADS / 32; i++) w = combine(w, part[i]);
    return w;
}

static __device__ welford_t push(welford_t w, float x)
{
    w.n += 1.0f;
    float d = x - w.mean;
    w.mean += d / w.n;
    w.m2 += d * (x - w.mean);
    return w;
}

/* ---- LayerNorm ---- */

static __global__ void layer_norm_kernel(float *y, const float *x, const float *w, const float *b, int C, float eps)
{
    const float *xr = x + (int64_t)blockIdx.x * C;
    float *yr = y + (int64_t)blockIdx.x * C;
    welford_t s = {0.0f, 0.0f, 0.0f};
    for (int c = threadIdx.x; c < C; c += THREADS) s = push(s, xr[c]);
    s = block_combine(s);
    __shared__ float stats[2];
    if (threadIdx.x == 0) {
        stats[0] = s.mean;
        stats[1] = rsqrtf(s.m2 / (float)C + eps);
    }
    __syncthreads();
    float mean = stats[0], inv = stats[1];
    for (int c = threadIdx.x; c < C; c += THREADS)
        yr[c] = (xr[c] - mean) * inv * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
}

void iid__cuda_layer_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                          int64_t rows, int C, float eps)
{
    cudaStream_t st = iid__cuda_ctx()->stream;
    for (int64_t r0 = 0; r0 < rows; r0 += 65535) { /* grid.x limit kept portable */
        int64_t nr = rows - r0 < 65535 ? rows - r0 : 65535;
        layer_norm_kernel<<<(unsigned)nr, THREADS, 0, st>>>(y + r0 * C, x + r0 * C, w, b, C, eps);
        IID_CUDA_LAUNCHED("layer_norm");
    }
}

/* ---- GroupNorm ---- */

/* part[group * chunks + k] = statistics of values [k CHUNK, (k + 1) CHUNK) of the group. */
static __global__ void group_stats_kernel(welford_t *part, const float *x, int64_t cnt, int chunks)
{
    int64_t grp = blockIdx.y, k = blockIdx.x;
    const float *xg = x + grp * cnt;
    int64_t lo = k * CHUNK, hi = lo + CHUNK < cnt ? lo + CHUNK : cnt;
    welford_t s = {0.0f, 0.0f, 0.0f};
    for (int64_t i = lo + threadIdx.x; i < hi; i += THREADS) s = push(s, xg[i]);
    s = block_combine(s);
    if (threadIdx.x == 0) part[grp * chunks + k] = s;
}

/* stats[group] = (mean, rstd) from the group's chunks. */
static __global__ void group_final_kernel(float2 *stats, const welford_t *part, int chunks, float eps)
{
    welford_t s = {0.0f, 0.0f, 0.0f};
    for (int k = threadIdx.x; k < chunks; k += THREADS) s = combine(s, part[(int64_t)blockIdx.x * chunks + k]);
    s = block_combine(s);
    if (threadIdx.x == 0) stats[blockIdx.x] = make_float2(s.mean, rsqrtf(s.m2 / s.n + eps));
}

static __global__ void group_apply_kernel(float *y, const float *x, const float2 *stats, const float *w, const float *b,
                                          int C, int64_t HW, int cpg, int64_t total, int silu)
{
    IID_CUDA_FOR(i, total)
    {
        int64_t nc = i / HW;
        int ch = (int)(nc % C);
        int64_t grp = nc / C * (C / cpg) + ch / cpg;
        float2 st = stats[grp];
        float v = (x[i] - st.x) * st.y * (w ? w[ch] : 1.0f) + (b ? b[ch] : 0.0f);
        y[i] = silu ? v / (1.0f + expf(-v)) : v;
    }
}

/* GroupNorm, then SiLU when silu (the apply kernel does both in one pass). */
static void group_norm(float *y, const float *x, const float *w, const float *b, int N, int C, int64_t HW, int G,
                       float eps, int silu)
{
    cudaStream_t st = iid__cuda_ctx()->stream;
    int cpg = C / G;
    int64_t cnt = (int64_t)cpg * HW, groups = (int64_t)N * G, total = (int64_t)N * C * HW;
    if (total <= 0) return;
    int chunks = (int)((cnt + CHUNK - 1) / CHUNK);
    welford_t *part = (welford_t *)iid__cuda_scratch((size_t)groups * chunks * sizeof *part);
    float2 *stats = (float2 *)iid__cuda_scratch((size_t)groups * sizeof *stats);
    if (!part || !stats) {
        iid__cuda_fail("group_norm: out of scratch memory");
    } else {
        group_stats_kernel<<<dim3((unsigned)chunks, (unsigned)groups), THREADS, 0, st>>>(part, x, cnt, chunks);
        IID_CUDA_LAUNCHED("group_norm statistics");
        group_final_kernel<<<(unsigned)groups, THREADS, 0, st>>>(stats, part, chunks, eps);
        IID_CUDA_LAUNCHED("group_norm statistics");
        group_apply_kernel<<<iid__cuda_blocks(total, THREADS), THREADS, 0, st>>>(y, x, stats, w, b, C, HW, cpg, total,
                                                                                  silu);
        IID_CUDA_LAUNCHED("group_norm");
    }
    iid__cuda_scratch_free(part);
    iid__cuda_scratch_free(stats);
}

void iid__cuda_group_norm(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b, int N,
                          int C, int64_t HW, int G, float eps)
{
    group_norm(y, x, w, b, N, C, HW, G, eps, 0);
}

void iid__cuda_group_norm_silu(const iid_backend_t *be, float *y, const float *x, const float *w, const float *b,
                               int N, int C, int64_t HW, int G, float eps)
{
    group_norm(y, x, w, b, N, C, HW, G, eps, 1);
}

/* ---- BatchNorm (inference) ---- */

static __global__ void batch_norm_kernel(float *y, const float *x, const float *scale, const float *bias,
                                         const float *mean, const float *var, int C, int64_t HW, float eps,
                                         int64_t total)
{
    IID_CUDA_FOR(i, total)
    {
        int c = (int)(i / HW % C);
        float inv = 1.0f / sqrtf(var[c] + eps);
        float a = scale[c] * inv, sh = bias[c] - mean[c] * a;
        y[i] = x[i] * a + sh;
    }
}

void iid__cuda_batch_norm(const iid_backend_t *be, float *y, const float *x, const float *scale, const float *bias,
                          const float *mean, const float *var, int N, int C, int64_t HW, float eps)
{
    int64_t total = (int64_t)N * C * HW;
    if (total <= 0) return;
    batch_norm_kernel<<<iid__cuda_blocks(total, THREADS), THREADS, 0, iid__cuda_ctx()->stream>>>(y, x, scale, bias,
                                                                                                 mean, var, C, HW, eps,
                                                                                                 total);
    IID_CUDA_LAUNCHED("batch_norm");
}
