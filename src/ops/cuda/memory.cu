/*
 * memory.cu - the "cuda" backend's device, memory and weights.
 *
 * Device: the first visible one (CUDA_VISIBLE_DEVICES picks another), found on
 * first use. Without one, iid__cuda_available says why in one line naming the
 * cudaGetDeviceCount error, and the registry (backend.c) leaves the backend out.
 *
 * Memory: activations come from the stream-ordered allocator (cudaMallocAsync
 * on the backend's stream, pool release threshold raised so freed blocks are
 * kept), so the models' many short-lived buffers cost no device synchronisation.
 * Uploads from pageable host memory return once the source is staged, so the
 * caller may free it at once.
 *
 * Weights are uploaded once at bind time and converted on the device to bf16
 * (the default: range of f32, so no overflow where f16 activations would; the
 * GEMMs convert their f32 activations to bf16 and accumulate in f32). With
 * $IID_CUDA_WEIGHTS=f32 they stay f32 and the GEMMs run in full f32: slower,
 * for comparing with the f32 reference at its tolerances.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cuda/cuda_ctx.cuh"

#define LT_WORKSPACE ((size_t)32 << 20) /* cuBLASLt's advice for Hopper */
#define STAGE_BYTES ((size_t)64 << 20)  /* host -> device staging for weight conversion */

static iid_cuda_ctx_t g_ctx;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_err_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_failed;
static char g_error[256];

static void say(const char *what, cudaError_t e)
{
    snprintf(g_ctx.why, sizeof g_ctx.why, "%s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
}

static void init_once(void)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) return say("no usable CUDA device: cudaGetDeviceCount", e);
    if (n < 1) {
        snprintf(g_ctx.why, sizeof g_ctx.why, "no CUDA device: cudaGetDeviceCount found 0");
        return;
    }
    if ((e = cudaSetDevice(0)) != cudaSuccess) return say("cudaSetDevice(0)", e);
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, 0)) != cudaSuccess) return say("cudaGetDeviceProperties", e);
    g_ctx.sm_count = p.multiProcessorCount;
    g_ctx.smem_optin = p.sharedMemPerBlockOptin;
    if ((e = cudaStreamCreateWithFlags(&g_ctx.stream, cudaStreamNonBlocking)) != cudaSuccess)
        return say("cudaStreamCreate", e);
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;
    if ((e = cudaDeviceGetDefaultMemPool(&pool, 0)) != cudaSuccess ||
        (e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep)) != cudaSuccess)
        return say("the stream-ordered memory pool", e);
    if (cublasLtCreate(&g_ctx.lt) != CUBLAS_STATUS_SUCCESS) {
        snprintf(g_ctx.why, sizeof g_ctx.why, "cublasLtCreate failed");
        return;
    }
    if ((e = cudaMalloc(&g_ctx.lt_ws, LT_WORKSPACE)) != cudaSuccess) return say("the cuBLASLt workspace", e);
    g_ctx.lt_ws_bytes = LT_WORKSPACE;
    const char *w = getenv("IID_CUDA_WEIGHTS");
    g_ctx.wdtype = w && strcmp(w, "f32") == 0 ? IID_DTYPE_F32 : IID_DTYPE_BF16;
    g_ctx.ready = 1;
}

iid_cuda_ctx_t *iid__cuda_ctx(void)
{
    pthread_once(&g_once, init_once);
    return &g_ctx;
}

static void record(const char *what)
{
    pthread_mutex_lock(&g_err_mu);
    if (!g_failed) snprintf(g_error, sizeof g_error, "%s", what);
    g_failed = 1;
    pthread_mutex_unlock(&g_err_mu);
}

void iid__cuda_note(cudaError_t e, const char *what)
{
    if (e == cudaSuccess) return;
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, cudaGetErrorString(e));
    record(msg);
}

void iid__cuda_fail(const char *what) { record(what); }

const char *iid__cuda_first_error(void) { return g_failed ? g_error : ""; }

void *iid__cuda_scratch(size_t bytes)
{
    void *p = NULL;
    cudaError_t e = cudaMallocAsync(&p, bytes ? bytes : 1, iid__cuda_ctx()->stream);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* an allocation failure is not sticky; the caller reports it */
        return NULL;
    }
    return p;
}

void iid__cuda_scratch_free(void *p)
{
    if (p) iid__cuda_note(cudaFreeAsync(p, iid__cuda_ctx()->stream), "cudaFreeAsync");
}

/* ---- the table's memory entries ---- */

int iid__cuda_available(const iid_backend_t *be, char *why, size_t cap)
{
    iid_cuda_ctx_t *c = iid__cuda_ctx();
    if (!c->ready && why && cap) snprintf(why, cap, "%s", c->why);
    return c->ready;
}

void *iid__cuda_alloc(const iid_backend_t *be, size_t bytes)
{
    /* 64-byte alignment as the table promises: the pool's blocks are 256-aligned */
    return iid__cuda_scratch(bytes);
}

void iid__cuda_free(const iid_backend_t *be, void *p) { iid__cuda_scratch_free(p); }

void iid__cuda_upload(const iid_backend_t *be, void *dst, const void *host_src, size_t bytes)
{
    if (bytes)
        iid__cuda_note(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, iid__cuda_ctx()->stream),
                       "upload");
}

void iid__cuda_download(const iid_backend_t *be, void *host_dst, const void *src, size_t bytes)
{
    cudaStream_t st = iid__cuda_ctx()->stream;
    if (bytes) iid__cuda_note(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, st), "download");
    iid__cuda_note(cudaStreamSynchronize(st), "download");
}

void iid__cuda_copy(const iid_backend_t *be, void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        /* cudaMemcpyDefault: the pointers say the direction (unified addressing), so
         * a host pointer the pipeline still hands a device backend copies too */
        iid__cuda_note(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, iid__cuda_ctx()->stream), "copy");
}

static __global__ void fill_kernel(float *dst, float v, int64_t n)
{
    IID_CUDA_FOR(i, n) dst[i] = v;
}

void iid__cuda_fill(const iid_backend_t *be, float *dst, float value, int64_t n)
{
    if (n <= 0) return;
    fill_kernel<<<iid__cuda_blocks(n, 256), 256, 0, iid__cuda_ctx()->stream>>>(dst, value, n);
    IID_CUDA_LAUNCHED("fill");
}

int iid__cuda_synchronize(const iid_backend_t *be)
{
    iid__cuda_note(cudaStreamSynchronize(iid__cuda_ctx()->stream), "synchronize");
    return g_failed ? -1 : 0;
}

/* ---- weights ---- */

/* n values of dtype from (F32, F16 or BF16 bits) -> to (BF16 or F32). */
static __global__ void convert_kernel(void *dst, int to_bf16, const void *src, iid_dtype_t from, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        float v;
        if (from == IID_DTYPE_F16) v = __half2float(((const __half *)src)[i]);
        else if (from == IID_DTYPE_BF16) v = __bfloat162float(((const __nv_bfloat16 *)src)[i]);
        else v = ((const float *)src)[i];
        if (to_bf16) ((__nv_bfloat16 *)dst)[i] = __float2bfloat16_rn(v);
        else ((float *)dst)[i] = v;
    }
}

int iid__cuda_bind_weight(const iid_backend_t *be, const iid_wmat_t *host, iid_wmat_t *dev, void **owned)
{
    iid_cuda_ctx_t *c = iid__cuda_ctx();
    iid_dtype_t from = host->dtype, to = c->wdtype;
    if (from != IID_DTYPE_F32 && from != IID_DTYPE_F16 && from != IID_DTYPE_BF16) return -1;
    size_t n = (size_t)host->rows * host->cols, es_from = from == IID_DTYPE_F32 ? 4 : 2, es_to = to == IID_DTYPE_F32 ? 4 : 2;
    void *d = NULL;
    if (cudaMalloc(&d, (n ? n : 1) * es_to) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    if (from == to) {
        iid__cuda_upload(be, d, host->data, n * es_to);
    } else {
        size_t chunk = STAGE_BYTES / es_from;
        void *stage = iid__cuda_scratch((n < chunk ? n : chunk) * es_from);
        if (!stage) {
            cudaFree(d);
            return -1;
        }
        for (size_t i = 0; i < n; i += chunk) {
            size_t m = n - i < chunk ? n - i : chunk;
            iid__cuda_upload(be, stage, (const unsigned char *)host->data + i * es_from, m * es_from);
            convert_kernel<<<iid__cuda_blocks((int64_t)m, 256), 256, 0, c->stream>>>(
                (unsigned char *)d + i * es_to, to == IID_DTYPE_BF16, stage, from, (int64_t)m);
            IID_CUDA_LAUNCHED("weight conversion");
        }
        iid__cuda_scratch_free(stage);
    }
    dev->data = d;
    dev->dtype = to;
    dev->rows = host->rows;
    dev->cols = host->cols;
    *owned = d;
    return 0;
}

void iid__cuda_release_weight(const iid_backend_t *be, void *owned)
{
    /* cudaFree waits for queued work that may still read the weight */
    if (owned) iid__cuda_note(cudaFree(owned), "release_weight");
}
