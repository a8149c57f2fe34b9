/*
 * gemm.cu - the "cuda" backend's matrix products, through cuBLASLt.
 *
 * Activations are row-major f32; cuBLASLt is column-major, so each product is
 * computed transposed: row-major C (M, N) is column-major C^T (N, M), and
 * C = A W^T becomes C^T = W A^T with W read transposed. With bf16 weights the
 * f32 activation operand is first converted to bf16 in stream-ordered scratch;
 * the product accumulates in f32 and writes f32. The products of two
 * activations (matmul_nt/nn) run in full f32. linear's bias rides in the
 * BIAS epilogue (the table has no activation argument, so no GELU/ReLU epilogue).
 *
 * cuBLASLt's heuristic query costs more than a small GEMM, so the chosen
 * algorithm is cached per problem (shape, types, transposes, pointer alignment,
 * epilogue) in a small table under a mutex.
 */
#include <cuda_bf16.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ops/cuda/cuda_ctx.cuh"

/* ---- f32 -> bf16 ---- */

static __global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, int64_t n)
{
    IID_CUDA_FOR(i, n) dst[i] = __float2bfloat16_rn(src[i]);
}

void iid__cuda_to_bf16(void *dst, const float *src, int64_t n, cudaStream_t st)
{
    if (n <= 0) return;
    to_bf16_kernel<<<iid__cuda_blocks(n, 256), 256, 0, st>>>((__nv_bfloat16 *)dst, src, n);
    IID_CUDA_LAUNCHED("f32 -> bf16");
}

/* ---- the algorithm cache ---- */

typedef struct gemm_key {
    int ta, tb, m, n, k, ab, bias;
    int64_t lda, ldb, ldc;
    unsigned align; /* smallest alignment (bytes) of the four pointers, capped at 256 */
} gemm_key_t;

#define CACHE_SLOTS 1024
typedef struct gemm_slot {
    int used;
    gemm_key_t key;
    cublasLtMatmulAlgo_t algo;
} gemm_slot_t;

static gemm_slot_t g_cache[CACHE_SLOTS];
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned align_of(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    unsigned al = 256;
    while (al > 1 && a % al) al /= 2;
    return al;
}

static unsigned key_hash(const gemm_key_t *k)
{
    const unsigned char *b = (const unsigned char *)k;
    unsigned h = 2166136261u;
    for (size_t i = 0; i < sizeof *k; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* The cached algorithm for key into *algo: 1 found, 0 not. */
static int cache_get(const gemm_key_t *key, cublasLtMatmulAlgo_t *algo)
{
    int found = 0;
    pthread_mutex_lock(&g_cache_mu);
    for (unsigned i = key_hash(key) % CACHE_SLOTS, probes = 0; probes < 16 && g_cache[i].used; i = (i + 1) % CACHE_SLOTS, probes++)
        if (memcmp(&g_cache[i].key, key, sizeof *key) == 0) {
            *algo = g_cache[i].algo;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&g_cache_mu);
    return found;
}

static void cache_put(const gemm_key_t *key, const cublasLtMatmulAlgo_t *algo)
{
    pthread_mutex_lock(&g_cache_mu);
    unsigned i = key_hash(key) % CACHE_SLOTS;
    for (int probes = 0; probes < 16 && g_cache[i].used; probes++) i = (i + 1) % CACHE_SLOTS;
    g_cache[i].used = 1; /* a full run of 16 overwrites its last slot */
    g_cache[i].key = *key;
    g_cache[i].algo = *algo;
    pthread_mutex_unlock(&g_cache_mu);
}

/* ---- one cuBLASLt product ---- */

/* C (m, n) column-major = beta C + bias[i] per row (beta 0: C not read). The
 * bias when no epilogue algorithm exists, and products with k = 0. */
static __global__ void scale_bias_kernel(float *C, int64_t ldc, int m, int n, float beta, const float *bias)
{
    IID_CUDA_FOR(e, (int64_t)m * n)
    {
        int64_t i = e % m, j = e / m;
        float *p = C + j * ldc + i;
        *p = (beta != 0.0f ? beta * *p : 0.0f) + (bias ? bias[i] : 0.0f);
    }
}

#define LT(call)                                          \
    do {                                                  \
        if (ok && (call) != CUBLAS_STATUS_SUCCESS) ok = 0; \
    } while (0)

/* One product with an optional BIAS epilogue; 0, or -1 when cuBLASLt has no
 * algorithm for it or fails (nothing noted: the caller decides). */
static int lt_run(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, cudaDataType_t ab, const void *A,
                  int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc, float beta, const float *bias,
                  unsigned *align)
{
    iid_cuda_ctx_t *c = iid__cuda_ctx();
    int ok = 1;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    if (bias) {
        cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
        cudaDataType_t bt = CUDA_R_32F;
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
    }
    LT(cublasLtMatrixLayoutCreate(&la, ab, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda));
    LT(cublasLtMatrixLayoutCreate(&lb, ab, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb));
    LT(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, ldc));
    gemm_key_t key;
    memset(&key, 0, sizeof key); /* padding bytes take part in the hash */
    key.ta = ta, key.tb = tb, key.m = m, key.n = n, key.k = k, key.ab = ab, key.bias = bias != NULL;
    key.lda = lda, key.ldb = ldb, key.ldc = ldc;
    unsigned al = align_of(A), t;
    if ((t = align_of(B)) < al) al = t;
    if ((t = align_of(C)) < al) al = t;
    if (bias && (t = align_of(bias)) < al) al = t;
    key.align = *align = al;
    cublasLtMatmulAlgo_t algo;
    if (ok && !cache_get(&key, &algo)) {
        uint32_t a32 = al;
        LT(cublasLtMatmulPreferenceCreate(&pref));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &c->lt_ws_bytes,
                                                sizeof c->lt_ws_bytes));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a32, sizeof a32));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &a32, sizeof a32));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &a32, sizeof a32));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &a32, sizeof a32));
        cublasLtMatmulHeuristicResult_t res;
        int found = 0;
        LT(cublasLtMatmulAlgoGetHeuristic(c->lt, op, la, lb, lc, lc, pref, 1, &res, &found));
        if (ok && found > 0) {
            algo = res.algo;
            cache_put(&key, &algo);
        } else {
            ok = 0;
        }
    }
    const float alpha = 1.0f;
    LT(cublasLtMatmul(c->lt, op, &alpha, A, la, B, lb, &beta, C, lc, C, lc, &algo, c->lt_ws, c->lt_ws_bytes,
                      c->stream));
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    return ok ? 0 : -1;
}

int iid__cuda_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, cudaDataType_t ab, const void *A,
                   int64_t lda, const void *B, int64_t ldb, float *C, int64_t ldc, float beta, const float *bias)
{
    if (m <= 0 || n <= 0) return 0;
    cudaStream_t st = iid__cuda_ctx()->stream;
    if (k <= 0) { /* empty sums: cuBLASLt wants k >= 1 */
        scale_bias_kernel<<<iid__cuda_blocks((int64_t)m * n, 256), 256, 0, st>>>(C, ldc, m, n, beta, bias);
        IID_CUDA_LAUNCHED("gemm with k = 0");
        return 0;
    }
    unsigned al = 0;
    if (lt_run(ta, tb, m, n, k, ab, A, lda, B, ldb, C, ldc, beta, bias, &al) == 0) return 0;
    /* no epilogue algorithm for this alignment: the bias as its own pass */
    if (bias && lt_run(ta, tb, m, n, k, ab, A, lda, B, ldb, C, ldc, beta, NULL, &al) == 0) {
        scale_bias_kernel<<<iid__cuda_blocks((int64_t)m * n, 256), 256, 0, st>>>(C, ldc, m, n, 1.0f, bias);
        IID_CUDA_LAUNCHED("gemm bias");
        return 0;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "cuBLASLt: no product for m=%d n=%d k=%d (type %d, alignment %u)", m, n, k, (int)ab, al);
    iid__cuda_fail(msg);
    return -1;
}

/* ---- the table's entries ---- */

/* The activation operand in the weight's type: x itself for f32 weights, else a
 * bf16 copy in scratch (*tmp, freed by the caller). NULL when out of memory. */
static const void *as_weight_type(const iid_wmat_t *W, const float *x, int64_t n, void **tmp)
{
    *tmp = NULL;
    if (W->dtype == IID_DTYPE_F32) return x;
    if (!(*tmp = iid__cuda_scratch((size_t)n * 2))) return NULL;
    iid__cuda_to_bf16(*tmp, x, n, iid__cuda_ctx()->stream);
    return *tmp;
}

static cudaDataType_t lt_type(const iid_wmat_t *W) { return W->dtype == IID_DTYPE_F32 ? CUDA_R_32F : CUDA_R_16BF; }

int iid__cuda_matmul_wt(const iid_backend_t *be, float *C, const float *A, const iid_wmat_t *W, int M, int accumulate)
{
    /* C^T (N, M) = W (N, K) . A^T: W stored (K, N) column-major, read transposed */
    void *tmp;
    const void *a = as_weight_type(W, A, (int64_t)M * W->cols, &tmp);
    if (!a) return -1;
    iid__cuda_gemm(CUBLAS_OP_T, CUBLAS_OP_N, W->rows, M, W->cols, lt_type(W), W->data, W->cols, a, W->cols, C, W->rows,
                   accumulate ? 1.0f : 0.0f, NULL);
    iid__cuda_scratch_free(tmp);
    return 0;
}

int iid__cuda_matmul_wn(const iid_backend_t *be, float *C, const iid_wmat_t *W, const float *B, int N, int accumulate)
{
    /* C^T (N, rows) = B^T (N, cols) . W^T (cols, rows): both stored column-major as they are */
    void *tmp;
    const void *b = as_weight_type(W, B, (int64_t)W->cols * N, &tmp);
    if (!b) return -1;
    iid__cuda_gemm(CUBLAS_OP_N, CUBLAS_OP_N, N, W->rows, W->cols, lt_type(W), b, N, W->data, W->cols, C, N,
                   accumulate ? 1.0f : 0.0f, NULL);
    iid__cuda_scratch_free(tmp);
    return 0;
}

void iid__cuda_matmul_nt(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate)
{
    iid__cuda_gemm(CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, CUDA_R_32F, B, K, A, K, C, N, accumulate ? 1.0f : 0.0f, NULL);
}

void iid__cuda_matmul_nn(const iid_backend_t *be, float *C, const float *A, const float *B, int M, int N, int K,
                         int accumulate)
{
    iid__cuda_gemm(CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, CUDA_R_32F, B, N, A, K, C, N, accumulate ? 1.0f : 0.0f, NULL);
}

int iid__cuda_linear(const iid_backend_t *be, float *y, const float *x, const iid_wmat_t *W, const float *b, int M)
{
    void *tmp;
    const void *a = as_weight_type(W, x, (int64_t)M * W->cols, &tmp);
    if (!a) return -1;
    iid__cuda_gemm(CUBLAS_OP_T, CUBLAS_OP_N, W->rows, M, W->cols, lt_type(W), W->data, W->cols, a, W->cols, y, W->rows,
                   0.0f, b);
    iid__cuda_scratch_free(tmp);
    return 0;
}
