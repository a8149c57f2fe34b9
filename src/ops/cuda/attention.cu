/*
 * attention.cu - the "cuda" backend's attention: a flash-attention kernel
 * (online softmax over key tiles; no Tq x Tk score matrix exists anywhere).
 *
 * One block per (batch, head, tile of BQ queries); TPR threads share a query
 * row. Per key tile of BK keys (K and V staged in shared memory):
 *   s = q . k * scale (in log2 units, so exp2f), each thread BK/TPR keys;
 *   m' = max(m, max s); p = 2^(s - m'); l = l 2^(m - m') + sum p;
 *   o = o 2^(m - m') + p V, each thread DPT of the head's dims.
 * The row's TPR threads are consecutive lanes of one warp, so their max and
 * sum are warp shuffles and the shared probabilities need only __syncwarp.
 * Arithmetic is f32 on the CUDA cores (activations are f32 in this table).
 *
 * Three instantiations cover the heads the models use: D <= 64 (SDXL, CLIP,
 * the Resampler: 64-query tiles), D <= 128, and D <= 512 (the VAE's single
 * 512-wide head: 16-query tiles, ~100 KB of shared memory, opted in once).
 * Wider heads are refused (-1, recorded).
 */
#include <math.h>

#include "ops/cuda/cuda_ctx.cuh"

template <int BQ, int BK, int TPR, int DPT>
static __global__ void __launch_bounds__(BQ *TPR) flash_kernel(float *out, const float *q, const float *k,
                                                                const float *v, iid_attn_shape_t s, float scale_log2)
{
    extern __shared__ float sm[];
    const int D = s.D, Dp = D + 1; /* padded rows: column reads of K/V hit distinct banks */
    float *Qs = sm, *Ks = Qs + BQ * Dp, *Vs = Ks + BK * Dp, *Ps = Vs + BK * Dp; /* Ps (BQ, BK + 1) */
    const int bh = blockIdx.y, b = bh / s.H, h = bh % s.H;
    const int q0 = blockIdx.x * BQ;
    const int tid = threadIdx.x, row = tid / TPR, lane = tid % TPR;
    const int qi = q0 + row;
    const size_t HD = (size_t)s.H * D;

    for (int e = tid; e < BQ * D; e += BQ * TPR) {
        int r = e / D, d = e % D, i = q0 + r;
        Qs[r * Dp + d] = i < s.Tq ? q[((size_t)b * s.Tq + i) * s.q_stride + (size_t)h * D + d] * scale_log2 : 0.0f;
    }
    float o[DPT];
#pragma unroll
    for (int j = 0; j < DPT; j++) o[j] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    int nk = s.Tk;
    if (s.causal) { /* keys past the block's last query are never seen */
        int last = q0 + BQ < s.Tq ? q0 + BQ : s.Tq;
        nk = last < s.Tk ? last : s.Tk;
    }
    for (int k0 = 0; k0 < nk; k0 += BK) {
        __syncthreads(); /* the previous tile is consumed */
        for (int e = tid; e < BK * D; e += BQ * TPR) {
            int r = e / D, d = e % D, j = k0 + r;
            size_t off = ((size_t)b * s.Tk + j) * s.kv_stride + (size_t)h * D + d;
            Ks[r * Dp + d] = j < s.Tk ? k[off] : 0.0f;
            Vs[r * Dp + d] = j < s.Tk ? v[off] : 0.0f;
        }
        __syncthreads();
        float sc[BK / TPR], tmax = -INFINITY;
#pragma unroll
        for (int t = 0; t < BK / TPR; t++) {
            int r = lane + t * TPR, j = k0 + r;
            float acc = 0.0f;
            for (int d = 0; d < D; d++) acc += Qs[row * Dp + d] * Ks[r * Dp + d];
            int masked = j >= s.Tk || (s.causal && j > qi);
            sc[t] = masked ? -INFINITY : acc;
            tmax = fmaxf(tmax, sc[t]);
        }
#pragma unroll
        for (int off = TPR / 2; off > 0; off /= 2) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, off));
        float mn = fmaxf(m, tmax);
        /* a row with no visible key yet keeps m = -inf: scale 1, probabilities 0 */
        float alpha = mn == -INFINITY ? 1.0f : exp2f(m - mn), psum = 0.0f;
#pragma unroll
        for (int t = 0; t < BK / TPR; t++) {
            float p = mn == -INFINITY ? 0.0f : exp2f(sc[t] - mn);
            Ps[row * (BK + 1) + lane + t * TPR] = p;
            psum += p;
        }
#pragma unroll
        for (int off = TPR / 2; off > 0; off /= 2) psum += __shfl_xor_sync(0xffffffffu, psum, off);
        l = l * alpha + psum;
        m = mn;
        __syncwarp();
#pragma unroll
        for (int j = 0; j < DPT; j++) {
            int d = lane + j * TPR;
            float acc = o[j] * alpha;
            if (d < D)
                for (int r = 0; r < BK; r++) acc += Ps[row * (BK + 1) + r] * Vs[r * Dp + d];
            o[j] = acc;
        }
    }
    if (qi < s.Tq) {
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        float *orow = out + ((size_t)b * s.Tq + qi) * HD + (size_t)h * D;
#pragma unroll
        for (int j = 0; j < DPT; j++) {
            int d = lane + j * TPR;
            if (d < D) orow[d] = o[j] * inv;
        }
    }
}

template <int BQ, int BK, int TPR, int DPT>
static int launch(float *out, const float *q, const float *k, const float *v, const iid_attn_shape_t *s)
{
    iid_cuda_ctx_t *c = iid__cuda_ctx();
    size_t Dp = (size_t)s->D + 1, smem = ((BQ + 2 * BK) * Dp + (size_t)BQ * (BK + 1)) * sizeof(float);
    if (smem > c->smem_optin) {
        iid__cuda_fail("attention: head too wide for shared memory");
        return -1;
    }
    if (smem > 48 * 1024)
        iid__cuda_note(cudaFuncSetAttribute(flash_kernel<BQ, BK, TPR, DPT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            (int)smem),
                       "attention shared memory");
    dim3 grid((unsigned)((s->Tq + BQ - 1) / BQ), (unsigned)(s->B * s->H));
    const float log2e = 1.4426950408889634f;
    flash_kernel<BQ, BK, TPR, DPT><<<grid, BQ * TPR, smem, c->stream>>>(out, q, k, v, *s, s->scale * log2e);
    IID_CUDA_LAUNCHED("attention");
    return 0;
}

int iid__cuda_attention(const iid_backend_t *be, float *out, const float *q, const float *k, const float *v,
                        const iid_attn_shape_t *s)
{
    if (s->B <= 0 || s->H <= 0 || s->Tq <= 0 || s->D <= 0) return 0;
    if (s->Tk <= 0) { /* softmax over nothing: the reference writes zeros */
        iid__cuda_fill(be, out, 0.0f, (int64_t)s->B * s->Tq * s->H * s->D);
        return 0;
    }
    if (s->D <= 64) return launch<64, 32, 4, 16>(out, q, k, v, s);
    if (s->D <= 128) return launch<32, 32, 8, 16>(out, q, k, v, s);
    if (s->D <= 512) return launch<16, 16, 16, 32>(out, q, k, v, s);
    iid__cuda_fail("attention: head dimension above 512");
    return -1;
}
