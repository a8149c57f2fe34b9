/*
 * face_align.c - the similarity fit, OpenCV-exact affine warp, and the
 * recogniser blob (see face_align.h for the derivation and the contracts).
 */
#include "pipeline/face_align.h"

#include <math.h>
#include <string.h>

/* insightface's arcface_dst for a 112x112 crop. */
static const float arcface_112[5][2] = {
    {38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f},
};

void iid__arcface_template(int image_size, float dst[5][2])
{
    float ratio, diff_x = 0.0f;
    if (image_size % 112 == 0) {
        ratio = (float)image_size / 112.0f;
    } else {
        ratio = (float)image_size / 128.0f;
        diff_x = 8.0f * ratio;
    }
    for (int i = 0; i < 5; i++) {
        dst[i][0] = arcface_112[i][0] * ratio + diff_x;
        dst[i][1] = arcface_112[i][1] * ratio;
    }
}

/* A float32 product that the compiler may not fuse into a neighbouring add (numpy
 * rounds every product and sum to float32). */
static float mul32(float a, float b)
{
    volatile float p = a * b;
    return p;
}

iid_status iid__similarity_fit(const float (*src)[2], const float (*dst)[2], int n, double M[6], iid_error_t *err)
{
    if (n < 2) return iid__fail(err, IID_ERR_INVALID, "similarity fit: %d points, need at least 2", n);
    /* scikit-image's _umeyama on float32 points, as numpy evaluates it: the means,
     * the centred points, A = dst_c^T src_c / n and the variances in float32 (sums
     * in point order); the SVD part in double from that float32 A. */
    float ms[2] = {0, 0}, md[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) ms[k] += src[i][k], md[k] += dst[i][k];
    for (int k = 0; k < 2; k++) ms[k] /= (float)n, md[k] /= (float)n;
    float A[2][2]; /* A = dst_c^T src_c / n */
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
            float sum = 0.0f;
            for (int i = 0; i < n; i++) sum += mul32(dst[i][r] - md[r], src[i][c] - ms[c]);
            A[r][c] = sum / (float)n;
        }
    float var = 0.0f; /* src_c.var(axis=0).sum(): numpy re-centres the centred points */
    for (int k = 0; k < 2; k++) {
        float m = 0.0f, v = 0.0f;
        for (int i = 0; i < n; i++) m += src[i][k] - ms[k];
        m /= (float)n;
        for (int i = 0; i < n; i++) {
            float x = (src[i][k] - ms[k]) - m;
            v += mul32(x, x);
        }
        var += v / (float)n;
    }
    double cs = (double)A[0][0] + A[1][1], sn = (double)A[1][0] - A[0][1];
    double norm = sqrt(cs * cs + sn * sn); /* = S0*d0 + S1*d1 */
    if (!(var > 0.0f) || !(norm > 0.0) || !isfinite(norm / var))
        return iid__fail(err, IID_ERR_INVALID, "similarity fit: degenerate points (all equal or no spread)");
    double c = 1.0 / (double)var * norm, cosv = cs / norm, sinv = sn / norm;
    /* t = mean_dst - c R mean_src, then the linear part is scaled. */
    M[2] = md[0] - c * (cosv * ms[0] + -sinv * ms[1]);
    M[5] = md[1] - c * (sinv * ms[0] + cosv * ms[1]);
    M[0] = cosv * c, M[1] = -sinv * c;
    M[3] = sinv * c, M[4] = cosv * c;
    return IID_OK;
}

iid_status iid__face_align_matrix(const float kps[5][2], int image_size, double M[6], iid_error_t *err)
{
    float dst[5][2];
    if (image_size < 16 || image_size > 4096)
        return iid__fail(err, IID_ERR_INVALID, "alignment: image size %d out of range", image_size);
    iid__arcface_template(image_size, dst);
    return iid__similarity_fit((const float (*)[2])kps, (const float (*)[2])dst, 5, M, err);
}

void iid__affine_invert(const double M[6], double inv[6])
{
    double D = M[0] * M[4] - M[1] * M[3];
    D = D != 0.0 ? 1.0 / D : 0.0;
    double a11 = M[4] * D, a22 = M[0] * D, a12 = -M[1] * D, a21 = -M[3] * D;
    inv[0] = a11, inv[1] = a12, inv[2] = -a11 * M[2] - a12 * M[5];
    inv[3] = a21, inv[4] = a22, inv[5] = -a21 * M[2] - a22 * M[5];
}

/* OpenCV's saturate_cast<int>(double): round half to even, clamped. */
static int round_sat(double v)
{
    v = nearbyint(v);
    return v > 2147483647.0 ? 2147483647 : v < -2147483648.0 ? (-2147483647 - 1) : (int)v;
}

/* Floor division by 2^s without relying on the sign behaviour of >>. */
static int floor_shift(int v, int s)
{
    return v >= 0 ? v >> s : -(int)((((unsigned)-(v + 1)) >> s) + 1);
}

#define AB_SCALE 1024 /* 1 << 10 */
#define TAB_BITS 5    /* 1/32 pixel */

void iid__warp_affine_u8(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh, int ch, const double M[6])
{
    double iv[6];
    iid__affine_invert(M, iv);
    int w[32][32][4];   /* [fy][fx]: top-left, top-right, bottom-left, bottom-right */
    for (int fy = 0; fy < 32; fy++)
        for (int fx = 0; fx < 32; fx++) {
            float ay = (float)fy / 32.0f, ax = (float)fx / 32.0f;
            w[fy][fx][0] = (int)lrintf(32768.0f * (1.0f - ay) * (1.0f - ax));
            w[fy][fx][1] = (int)lrintf(32768.0f * (1.0f - ay) * ax);
            w[fy][fx][2] = (int)lrintf(32768.0f * ay * (1.0f - ax));
            w[fy][fx][3] = (int)lrintf(32768.0f * ay * ax);
        }
    for (int y = 0; y < dh; y++) {
        int X0 = round_sat((iv[1] * y + iv[2]) * AB_SCALE) + AB_SCALE / 64;
        int Y0 = round_sat((iv[4] * y + iv[5]) * AB_SCALE) + AB_SCALE / 64;
        for (int x = 0; x < dw; x++) {
            int X = floor_shift(X0 + round_sat(iv[0] * x * AB_SCALE), 10 - TAB_BITS);
            int Y = floor_shift(Y0 + round_sat(iv[3] * x * AB_SCALE), 10 - TAB_BITS);
            int sx = floor_shift(X, TAB_BITS), sy = floor_shift(Y, TAB_BITS);
            const int *wt = w[Y & 31][X & 31];
            uint8_t *o = dst + ((size_t)y * dw + x) * ch;
            for (int c = 0; c < ch; c++) {
                int sum = 0;
                for (int k = 0; k < 4; k++) {
                    int px = sx + (k & 1), py = sy + (k >> 1);
                    if (px >= 0 && px < sw && py >= 0 && py < sh) sum += wt[k] * src[((size_t)py * sw + px) * ch + c];
                }
                int v = (sum + (1 << 14)) >> 15;
                o[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }
}

iid_status iid__face_recog_blob(const uint8_t *crop_bgr, int w, int h, float mean, float std, iid_tensor_t *blob,
                                iid_error_t *err)
{
    if (w <= 0 || h <= 0 || w > 4096 || h > 4096 || !(std != 0.0f))
        return iid__fail(err, IID_ERR_INVALID, "recogniser blob: bad size %dx%d or std %g", w, h, (double)std);
    int64_t shape[4] = {1, 3, h, w};
    IID_TRY(iid__tensor_alloc(blob, IID_DTYPE_F32, 4, shape, err));
    float *b = blob->data;
    float scale = (float)(1.0 / std); /* OpenCV's blobFromImage: subtract, then scale in float */
    for (int c = 0; c < 3; c++)
        for (int64_t i = 0; i < (int64_t)w * h; i++)
            b[c * (int64_t)w * h + i] = ((float)crop_bgr[i * 3 + (2 - c)] - mean) * scale;
    return IID_OK;
}
