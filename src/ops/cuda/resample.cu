/*
 * resample.cu - the "cuda" backend's pooling and resizes: one thread per output
 * value, with the reference's index rules (ops/ref/pool.c, resample.c, and
 * conv_ref.c's nearest 2x) so the sampled positions are the same.
 */
#include <float.h>

#include "ops/cuda/cuda_ctx.cuh"

#define T 256

/* The clipped window of output index o along one axis (pool.c's window()). */
static __device__ void window(int o, int stride, int pad, int k, int in, int *lo, int *hi, int *padded)
{
    int start = o * stride - pad, end = start + k;
    int pend = end < in + pad ? end : in + pad;
    *padded = pend - start;
    *lo = start < 0 ? 0 : start;
    *hi = end > in ? in : end;
}

static __global__ void pool_kernel(float *out, const float *in, iid_pool2d_shape_t s, int OH, int OW, int is_max,
                                   int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int ox = (int)(i % OW), oy = (int)(i / OW % OH);
        const float *src = in + i / ((int64_t)OH * OW) * s.H * s.W;
        int y0, y1, py, x0, x1, px;
        window(oy, s.stride_h, s.pad_t, s.kh, s.H, &y0, &y1, &py);
        window(ox, s.stride_w, s.pad_l, s.kw, s.W, &x0, &x1, &px);
        float acc = is_max ? -FLT_MAX : 0.0f;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                float v = src[y * s.W + x];
                acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
        if (!is_max) {
            int cnt = s.count_include_pad ? py * px : (y1 - y0) * (x1 - x0);
            acc = cnt > 0 ? acc / (float)cnt : 0.0f;
        }
        out[i] = acc;
    }
}

static void pool(float *out, const float *in, const iid_pool2d_shape_t *s, int is_max)
{
    int OH = iid__pool_out_size(s->H, s->kh, s->stride_h, s->pad_t, s->pad_b, s->ceil_mode);
    int OW = iid__pool_out_size(s->W, s->kw, s->stride_w, s->pad_l, s->pad_r, s->ceil_mode);
    int64_t n = (int64_t)s->N * s->C * OH * OW;
    if (n <= 0) return;
    pool_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(out, in, *s, OH, OW, is_max, n);
    IID_CUDA_LAUNCHED("pool");
}

void iid__cuda_maxpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    pool(out, in, s, 1);
}

void iid__cuda_avgpool2d(const iid_backend_t *be, float *out, const float *in, const iid_pool2d_shape_t *s)
{
    pool(out, in, s, 0);
}

static __global__ void upsample2x_kernel(float *out, const float *in, int H, int W, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int x = (int)(i % (2 * W)), y = (int)(i / (2 * W) % (2 * H));
        int64_t p = i / ((int64_t)4 * H * W);
        out[i] = in[(p * H + y / 2) * W + x / 2];
    }
}

void iid__cuda_upsample_nearest2x(const iid_backend_t *be, float *out, const float *in, int N, int C, int H, int W)
{
    int64_t n = (int64_t)N * C * 4 * H * W;
    if (n <= 0) return;
    upsample2x_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(out, in, H, W, n);
    IID_CUDA_LAUNCHED("upsample");
}

/* torch's bilinear source index (align_corners false), resample.c's bilinear_src. */
static __device__ void bilinear_src(int d, int in, int out, int *i0, int *i1, float *l1)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)d + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < in - 1 ? 1 : 0);
    *l1 = src - (float)*i0;
}

static __global__ void resize_kernel(float *out, const float *in, int H, int W, int OH, int OW, int bilinear, float sy,
                                     float sx, int64_t n)
{
    IID_CUDA_FOR(i, n)
    {
        int x = (int)(i % OW), y = (int)(i / OW % OH);
        const float *src = in + i / ((int64_t)OH * OW) * H * W;
        if (bilinear) {
            int y0, y1, x0, x1;
            float ly, lx;
            bilinear_src(y, H, OH, &y0, &y1, &ly);
            bilinear_src(x, W, OW, &x0, &x1, &lx);
            const float *r0 = src + (int64_t)y0 * W, *r1 = src + (int64_t)y1 * W;
            out[i] = (1.0f - ly) * ((1.0f - lx) * r0[x0] + lx * r0[x1]) + ly * ((1.0f - lx) * r1[x0] + lx * r1[x1]);
        } else {
            int iy = (int)floorf((float)y * sy), ix = (int)floorf((float)x * sx);
            if (iy > H - 1) iy = H - 1;
            if (ix > W - 1) ix = W - 1;
            out[i] = src[(int64_t)iy * W + ix];
        }
    }
}

void iid__cuda_resize_plane(const iid_backend_t *be, float *out, const float *in, int64_t P, int H, int W, int OH,
                            int OW, iid_resize_mode_t mode, float sy, float sx)
{
    int64_t n = P * OH * OW;
    if (n <= 0) return;
    resize_kernel<<<iid__cuda_blocks(n, T), T, 0, iid__cuda_ctx()->stream>>>(out, in, H, W, OH, OW,
                                                                           mode == IID_RESIZE_BILINEAR, sy, sx, n);
    IID_CUDA_LAUNCHED("resize");
}
