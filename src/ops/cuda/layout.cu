/*
 * layout.cu - the "cuda" backend's layout ops: the (A, B) -> (B, A) transpose
 * through shared-memory tiles, concatenation and strided row copies as 2-D
 * device copies, the embedding lookup and the u8 image conversion (their host
 * inputs, the ids and the pixels, are uploaded to stream-ordered scratch), and
 * the timestep embedding: a few thousand values from host timesteps, computed
 * on the host by the reference loop (so bit-identical to it) and uploaded.
 */
#include "ops/cuda/cuda_ctx.cuh"

#include <cuda_bf16.h>
#include <stdlib.h>

#define TILE 32

/* dst (N, B, A) = src (N, A, B): 32x32 tiles, padded against bank conflicts. */
static __global__ void permute_kernel(float *dst, const float *src, int64_t A, int64_t B)
{
    __shared__ float tile[TILE][TILE + 1];
    int64_t n = blockIdx.z, a0 = (int64_t)blockIdx.y * TILE, b0 = (int64_t)blockIdx.x * TILE;
    const float *s = src + n * A * B;
    float *d = dst + n * A * B;
    for (int r = threadIdx.y; r < TILE; r += blockDim.y) {
        int64_t a = a0 + r, b = b0 + threadIdx.x;
        if (a < A && b < B) tile[r][threadIdx.x] = s[a * B + b];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < TILE; r += blockDim.y) {
        int64_t b = b0 + r, a = a0 + threadIdx.x;
        if (a < A && b < B) d[b * A + a] = tile[threadIdx.x][r];
    }
}

void iid__cuda_permute021(const iid_backend_t *be, float *dst, const float *src, int N, int64_t A, int64_t B)
{
    if (N <= 0 || A <= 0 || B <= 0) return;
    cudaStream_t st = iid__cuda_ctx()->stream;
    for (int n0 = 0; n0 < N; n0 += 65535) { /* grid.z and grid.y stay in range for the models' sizes */
        int nn = N - n0 < 65535 ? N - n0 : 65535;
        dim3 grid((unsigned)((B + TILE - 1) / TILE), (unsigned)((A + TILE - 1) / TILE), (unsigned)nn);
        permute_kernel<<<grid, dim3(TILE, 8), 0, st>>>(dst + (int64_t)n0 * A * B, src + (int64_t)n0 * A * B, A, B);
        IID_CUDA_LAUNCHED("permute");
    }
}

/* rows rows of width bytes, device to device, with byte pitches. */
static void copy2d(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t rows)
{
    if (!width || !rows) return;
    iid__cuda_note(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, rows, cudaMemcpyDefault, /* as copy() */
                                     iid__cuda_ctx()->stream),
                   "2-D copy");
}

void iid__cuda_concat_axis1(const iid_backend_t *be, float *dst, const float *a, int64_t na, const float *b,
                            int64_t nb, int64_t outer, int64_t inner)
{
    size_t row = (size_t)(na + nb) * inner * sizeof(float);
    copy2d(dst, row, a, (size_t)na * inner * sizeof(float), (size_t)na * inner * sizeof(float), (size_t)outer);
    copy2d(dst + na * inner, row, b, (size_t)nb * inner * sizeof(float), (size_t)nb * inner * sizeof(float),
           (size_t)outer);
}

void iid__cuda_copy_rows(const iid_backend_t *be, float *dst, int64_t dst_stride, const float *src,
                         int64_t src_stride, int64_t rows, int64_t len)
{
    if (rows <= 0 || len <= 0) return;
    size_t w = (size_t)len * sizeof(float);
    const char *s0 = (const char *)src, *s1 = (const char *)(src + (rows - 1) * src_stride + len);
    const char *d0 = (const char *)dst, *d1 = (const char *)(dst + (rows - 1) * dst_stride + len);
    if (d0 < s1 && s0 < d1) { /* overlapping spans: memmove semantics through a packed copy */
        float *tmp = (float *)iid__cuda_scratch((size_t)rows * w);
        if (!tmp) return iid__cuda_fail("copy_rows: out of scratch memory");
        copy2d(tmp, w, src, (size_t)src_stride * sizeof(float), w, (size_t)rows);
        copy2d(dst, (size_t)dst_stride * sizeof(float), tmp, w, w, (size_t)rows);
        iid__cuda_scratch_free(tmp);
        return;
    }
    copy2d(dst, (size_t)dst_stride * sizeof(float), src, (size_t)src_stride * sizeof(float), w, (size_t)rows);
}

static __global__ void gather_kernel(float *out, const void *table, int bf16, int cols, const int32_t *ids, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int64_t r = ids[i / cols], c = i % cols;
        out[i] = bf16 ? __bfloat162float(((const __nv_bfloat16 *)table)[r * cols + c])
                      : ((const float *)table)[r * cols + c];
    }
}

int iid__cuda_gather_rows(const iid_backend_t *be, float *out, const iid_wmat_t *table, const int32_t *ids, int n)
{
    for (int i = 0; i < n; i++) /* the ids are on the host: checked before anything is queued */
        if (ids[i] < 0 || ids[i] >= table->rows) return -1;
    if (n <= 0 || table->cols <= 0) return 0;
    int32_t *d = (int32_t *)iid__cuda_scratch((size_t)n * sizeof *ids);
    if (!d) {
        iid__cuda_fail("gather: out of scratch memory");
        return 0;
    }
    iid__cuda_upload(be, d, ids, (size_t)n * sizeof *ids);
    int64_t total = (int64_t)n * table->cols;
    gather_kernel<<<iid__cuda_blocks(total, 256), 256, 0, iid__cuda_ctx()->stream>>>(
        out, table->data, table->dtype == IID_DTYPE_BF16, table->cols, d, total);
    IID_CUDA_LAUNCHED("gather");
    iid__cuda_scratch_free(d);
    return 0;
}

void iid__cuda_timestep_embedding(const iid_backend_t *be, float *emb, const float *host_t, int n, int dim,
                                   int flip_sin_to_cos, float shift)
{
    size_t count = (size_t)n * dim;
    if (!count) return;
    float *h = (float *)malloc(count * sizeof *h);
    if (!h) return iid__cuda_fail("timestep embedding: out of host memory");
    iid__timestep_embedding_ref(h, host_t, n, dim, flip_sin_to_cos, shift);
    iid__cuda_upload(be, emb, h, count * sizeof *h); /* staged before it returns: h may go */
    free(h);
}

static __global__ void image_kernel(float *out, const uint8_t *src, int64_t HW, int stride, int c0, int C, float div,
                                    float offset)
{
    IID_CUDA_FOR(e, HW * C)
    {
        int64_t c = e / HW, i = e % HW;
        out[e] = src[i * stride + c0 + c] / div + offset;
    }
}

void iid__cuda_image_u8_to_f32(const iid_backend_t *be, float *out, const uint8_t *host_src, int64_t HW, int stride,
                               int c0, int C, float div, float offset)
{
    if (HW <= 0 || C <= 0) return;
    size_t bytes = (size_t)(HW - 1) * stride + c0 + C; /* up to the last value read */
    uint8_t *d = (uint8_t *)iid__cuda_scratch(bytes);
    if (!d) return iid__cuda_fail("image conversion: out of scratch memory");
    iid__cuda_upload(be, d, host_src, bytes);
    image_kernel<<<iid__cuda_blocks(HW * C, 256), 256, 0, iid__cuda_ctx()->stream>>>(out, d, HW, stride, c0, C, div,
                                                                                   offset);
    IID_CUDA_LAUNCHED("image conversion");
    iid__cuda_scratch_free(d);
}
