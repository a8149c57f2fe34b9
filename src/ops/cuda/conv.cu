/*
 * conv.cu - the "cuda" backend's 2-D convolution: im2col into stream-ordered
 * scratch (converted to the weight's dtype on the way, so the f32 -> bf16 pass
 * costs nothing extra), then one cuBLASLt product per image, group and pixel
 * chunk writing straight into the NCHW output; the bias is one pass at the end.
 *
 * For image n, group g and output pixels [p0, p0 + pc):
 *   out[n, g kg + o, p0 + p] = sum_r W[g kg + o, r] col[r, p],  r over (c, ky, kx)
 * which is matmul_wn's shape: column-major D (pc, kg) with leading dimension
 * OH*OW = col^T (pc, CRS) . W_g^T (CRS, kg). A 1x1, stride 1, unpadded
 * convolution skips im2col (its input plane is col already).
 *
 * The chunk keeps the column matrix under COL_BYTES whatever the image size (the
 * VAE's last convolutions see a million pixels). cuDNN would save the im2col
 * traffic (about as much again as the product's own for a 3x3); that is a
 * measured follow-up, not a correctness matter.
 */
#include <cuda_bf16.h>

#include "ops/cuda/cuda_ctx.cuh"

#define COL_BYTES ((size_t)128 << 20)

/* col (CRS, pc) for pixels [p0, p0 + pc) of one image and group: in_g (cg, H, W). */
template <typename T>
static __global__ void im2col_kernel(T *col, const float *in_g, int H, int W, int R, int S, int OW, int stride_h,
                                     int stride_w, int pad_h, int pad_w, int dil_h, int dil_w, int64_t p0, int pc,
                                     int64_t crs)
{
    IID_CUDA_FOR(e, crs * pc)
    {
        int64_t r = e / pc;
        int p = (int)(e % pc);
        int q = (int)(r % S), ry = (int)((r / S) % R);
        int64_t c = r / ((int64_t)R * S);
        int64_t pix = p0 + p;
        int oy = (int)(pix / OW), ox = (int)(pix % OW);
        int iy = oy * stride_h - pad_h + ry * dil_h, ix = ox * stride_w - pad_w + q * dil_w;
        float v = iy >= 0 && iy < H && ix >= 0 && ix < W ? in_g[(c * H + iy) * W + ix] : 0.0f;
        col[e] = (T)v;
    }
}

int iid__cuda_conv2d(const iid_backend_t *be, float *out, const float *in, const iid_wmat_t *w, const float *b,
                     const iid_conv2d_shape_t *s)
{
    iid_cuda_ctx_t *c = iid__cuda_ctx();
    int OH = iid__conv_out_size(s->H, s->R, s->stride_h, s->pad_h, s->dil_h);
    int OW = iid__conv_out_size(s->W, s->S, s->stride_w, s->pad_w, s->dil_w);
    int64_t P = (int64_t)OH * OW;
    if (s->N <= 0 || s->K <= 0 || P <= 0) return 0;
    int cg = s->C / s->groups, kg = s->K / s->groups;
    int64_t crs = (int64_t)cg * s->R * s->S;
    int f32 = w->dtype == IID_DTYPE_F32;
    size_t es = f32 ? 4 : 2;
    cudaDataType_t ab = f32 ? CUDA_R_32F : CUDA_R_16BF;
    int direct = s->R == 1 && s->S == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 && s->pad_w == 0;
    /* pixels per chunk: the whole image when it fits, else as many as COL_BYTES holds */
    int64_t chunk = direct && f32 ? P : (int64_t)(COL_BYTES / ((size_t)crs * es));
    if (chunk < 1) chunk = 1;
    if (chunk > P) chunk = P;
    void *col = direct && f32 ? NULL : iid__cuda_scratch((size_t)crs * chunk * es);
    if (!(direct && f32) && !col) return -1;
    for (int n = 0; n < s->N; n++) {
        for (int g = 0; g < s->groups; g++) {
            const float *in_g = in + ((int64_t)n * s->C + (int64_t)g * cg) * s->H * s->W;
            const char *w_g = (const char *)w->data + (size_t)g * kg * crs * es;
            float *out_g = out + ((int64_t)n * s->K + (int64_t)g * kg) * P;
            for (int64_t p0 = 0; p0 < P; p0 += chunk) {
                int pc = (int)(P - p0 < chunk ? P - p0 : chunk);
                const void *src = col;
                int64_t ld = pc;
                if (direct && f32) { /* the input plane is the column matrix */
                    src = in_g;
                    ld = P;
                } else if (direct) {
                    /* rows of the chunk: (cg, pc) from (cg, P) */
                    im2col_kernel<__nv_bfloat16><<<iid__cuda_blocks(crs * pc, 256), 256, 0, c->stream>>>(
                        (__nv_bfloat16 *)col, in_g, s->H, s->W, 1, 1, OW, 1, 1, 0, 0, 1, 1, p0, pc, crs);
                } else if (f32) {
                    im2col_kernel<float><<<iid__cuda_blocks(crs * pc, 256), 256, 0, c->stream>>>(
                        (float *)col, in_g, s->H, s->W, s->R, s->S, OW, s->stride_h, s->stride_w, s->pad_h, s->pad_w,
                        s->dil_h, s->dil_w, p0, pc, crs);
                } else {
                    im2col_kernel<__nv_bfloat16><<<iid__cuda_blocks(crs * pc, 256), 256, 0, c->stream>>>(
                        (__nv_bfloat16 *)col, in_g, s->H, s->W, s->R, s->S, OW, s->stride_h, s->stride_w, s->pad_h,
                        s->pad_w, s->dil_h, s->dil_w, p0, pc, crs);
                }
                IID_CUDA_LAUNCHED("im2col");
                if (direct && f32) src = (const float *)src + p0;
                iid__cuda_gemm(CUBLAS_OP_N, CUBLAS_OP_N, pc, kg, (int)crs, ab, src, ld, w_g, crs, out_g + p0, P, 0.0f,
                               NULL);
            }
        }
    }
    iid__cuda_scratch_free(col);
    if (b) iid__cuda_channel_bias(out, b, s->N, s->K, P, 0, c->stream);
    return 0;
}
