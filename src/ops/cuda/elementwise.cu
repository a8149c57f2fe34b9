/*
 * elementwise.cu - the "cuda" backend's activations, broadcast arithmetic,
 * row softmax and GEGLU: grid-stride loops, one thread per value, the same
 * expressions as the reference loops (ops/ref/) so the results differ from
 * them only by the device's libm (expf, erff, tanhf within a few ulp).
 */
#include "ops/cuda/cuda_ctx.cuh"

#define T 256

static __device__ float gelu_erf(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

static __global__ void unary_kernel(iid_unary_t op, float *x, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        float v = x[i];
        switch (op) {
        case IID_UNARY_SILU: v = v / (1.0f + expf(-v)); break;
        case IID_UNARY_GELU_ERF: v = gelu_erf(v); break;
        case IID_UNARY_GELU_TANH: v = 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))); break;
        case IID_UNARY_QUICK_GELU: v = v / (1.0f + expf(-1.702f * v)); break;
        case IID_UNARY_RELU: v = v > 0.0f ? v : 0.0f; break;
        case IID_UNARY_SIGMOID: v = 1.0f / (1.0f + expf(-v)); break;
        default: break;
        }
        x[i] = v;
    }
}

void iid__cuda_unary(const iid_backend_t *be, iid_unary_t op, float *x, int64_t n)
{
    if (n <= 0) return;
    unary_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(op, x, n);
    IID_CUDA_LAUNCHED("activation");
}

static __global__ void scale_kernel(float *x, float s, int64_t n)
{
    IID_CUDA_FOR(i, n) x[i] *= s;
}

void iid__cuda_scale(const iid_backend_t *be, float *x, float s, int64_t n)
{
    if (n <= 0) return;
    scale_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(x, s, n);
    IID_CUDA_LAUNCHED("scale");
}

static __global__ void div_scalar_kernel(float *x, float s, int64_t n)
{
    IID_CUDA_FOR(i, n) x[i] = x[i] / s;
}

void iid__cuda_div_scalar(const iid_backend_t *be, float *x, float s, int64_t n)
{
    if (n <= 0) return;
    div_scalar_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(x, s, n);
    IID_CUDA_LAUNCHED("div_scalar");
}

static __global__ void add_kernel(float *y, const float *x, int64_t n)
{
    IID_CUDA_FOR(i, n) y[i] += x[i];
}

void iid__cuda_add(const iid_backend_t *be, float *y, const float *x, int64_t n)
{
    if (n <= 0) return;
    add_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(y, x, n);
    IID_CUDA_LAUNCHED("add");
}

static __global__ void lerp_kernel(float *y, const float *a, const float *b, float s, int64_t n)
{
    IID_CUDA_FOR(i, n) y[i] = a[i] + s * (b[i] - a[i]);
}

void iid__cuda_lerp(const iid_backend_t *be, float *y, const float *a, const float *b, float s, int64_t n)
{
    if (n <= 0) return;
    lerp_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(y, a, b, s, n);
    IID_CUDA_LAUNCHED("lerp");
}

static __global__ void mul_plane_kernel(float *x, const float *m, int64_t hw, int64_t n)
{
    IID_CUDA_FOR(i, n) x[i] *= m[i % hw];
}

void iid__cuda_mul_plane(const iid_backend_t *be, float *x, const float *m, int64_t planes, int64_t hw)
{
    int64_t n = planes * hw;
    if (n <= 0) return;
    mul_plane_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(x, m, hw, n);
    IID_CUDA_LAUNCHED("mul_plane");
}

static __global__ void div_plane_kernel(float *x, const float *d, int64_t hw, int64_t n)
{
    IID_CUDA_FOR(i, n) x[i] /= d[i % hw];
}

void iid__cuda_div_plane(const iid_backend_t *be, float *x, const float *d, int64_t planes, int64_t hw)
{
    int64_t n = planes * hw;
    if (n <= 0) return;
    div_plane_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(x, d, hw, n);
    IID_CUDA_LAUNCHED("div_plane");
}

/* One thread per tile pixel: each owns its output position, so no two collide. */
static __global__ void blend_tile_kernel(float *out, float *wsum, int64_t P, int OH, int OW, const float *tile, int TH,
                                         int TW, int y0, int x0, const float *wy, const float *wx)
{
    IID_CUDA_FOR(i, (int64_t)TH * TW)
    {
        int y = (int)(i / TW), x = (int)(i % TW);
        float wgt = wy[y] * wx[x];
        int64_t o = (int64_t)(y0 + y) * OW + x0 + x;
        wsum[o] += wgt;
        for (int64_t p = 0; p < P; p++) out[p * OH * OW + o] += wgt * tile[(p * TH + y) * TW + x];
    }
}

void iid__cuda_blend_tile(const iid_backend_t *be, float *out, float *wsum, int64_t P, int OH, int OW,
                          const float *tile, int TH, int TW, int y0, int x0, const float *host_wy, const float *host_wx)
{
    if (TH <= 0 || TW <= 0) return;
    float *w = (float *)iid__cuda_scratch((size_t)(TH + TW) * sizeof *w); /* the host ramps, uploaded */
    if (!w) return iid__cuda_fail("blend_tile: out of scratch memory");
    iid__cuda_upload(be, w, host_wy, (size_t)TH * sizeof *w);
    iid__cuda_upload(be, w + TH, host_wx, (size_t)TW * sizeof *w);
    blend_tile_kernel<<<iid__cuda_blocks((int64_t)TH * TW, T), T, 0, iid__cuda_ctx()->stream>>>(
        out, wsum, P, OH, OW, tile, TH, TW, y0, x0, w, w + TH);
    IID_CUDA_LAUNCHED("blend_tile");
    iid__cuda_scratch_free(w);
}

static __global__ void channel_bias_kernel(float *x, const float *bias, int C, int64_t HW, int stride, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int64_t nc = i / HW;
        x[i] += bias[nc / C * stride + nc % C];
    }
}

void iid__cuda_channel_bias(float *x, const float *bias, int N, int C, int64_t HW, int stride, cudaStream_t st)
{
    int64_t n = (int64_t)N * C * HW;
    if (n <= 0) return;
    channel_bias_kernel<<<iid__cuda_blocks(n, T), T, 0, st>>>(x, bias, C, HW, stride, n);
    IID_CUDA_LAUNCHED("channel bias");
}

void iid__cuda_add_channel_bias(const iid_backend_t *be, float *x, const float *bias, int N, int C, int64_t HW,
                                int bias_stride)
{
    iid__cuda_channel_bias(x, bias, N, C, HW, bias_stride, iid__cuda_ctx()->stream);
}

static __global__ void masked_add_kernel(float *y, const float *x, const float *mask, float s, int T_, int C, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        float mk = mask ? mask[(i / C) % T_] : 1.0f;
        y[i] += s * (x[i] * mk);
    }
}

void iid__cuda_masked_add(const iid_backend_t *be, float *y, const float *x, const float *mask, float s, int B, int T_,
                          int C)
{
    int64_t n = (int64_t)B * T_ * C;
    if (n <= 0) return;
    masked_add_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(y, x, mask, s, T_, C, n);
    IID_CUDA_LAUNCHED("masked_add");
}

/* One block per row: max, sum of exponentials, scale. */
static __global__ void softmax_kernel(float *x, int n)
{
    __shared__ float red[T / 32];
    float *row = x + (int64_t)blockIdx.x * n;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += T) m = fmaxf(m, row[i]);
    for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
    __syncthreads();
    m = red[0];
    for (int w = 1; w < T / 32; w++) m = fmaxf(m, red[w]);
    __syncthreads();
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += T) {
        float e = expf(row[i] - m);
        row[i] = e;
        s += e;
    }
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = s;
    __syncthreads();
    s = 0.0f;
    for (int w = 0; w < T / 32; w++) s += red[w];
    float inv = 1.0f / s;
    for (int i = threadIdx.x; i < n; i += T) row[i] *= inv;
}

void iid__cuda_softmax_rows(const iid_backend_t *be, float *x, int64_t rows, int n)
{
    cudaStream_t st = iid__cuda_ctx()->stream;
    for (int64_t r0 = 0; r0 < rows && n > 0; r0 += 65535) {
        int64_t nr = rows - r0 < 65535 ? rows - r0 : 65535;
        softmax_kernel<<<(unsigned)nr, T, 0, st>>>(x + r0 * n, n);
        IID_CUDA_LAUNCHED("softmax");
    }
}

static __global__ void geglu_kernel(float *y, const float *x, int width, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int64_t r = i / width, c = i % width;
        const float *hid = x + r * 2 * width;
        y[i] = hid[c] * gelu_erf(hid[width + c]);
    }
}

void iid__cuda_geglu(const iid_backend_t *be, float *y, const float *x, int64_t M, int width)
{
    int64_t n = M * width;
    if (n <= 0) return;
    geglu_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(y, x, width, n);
    IID_CUDA_LAUNCHED("geglu");
}
