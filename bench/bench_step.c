/*
 * bench_step.c - time one guided denoising step and one VAE decode on full-size
 * weights (written by bench_make_weights), with the peak resident memory.
 *
 *   bench_step [--backend NAME] MODELS step SIZE [STEPS]      IdentityNet + UNet, batch 2 (CFG)
 *   bench_step [--backend NAME] MODELS unet SIZE [STEPS]      the UNet alone (no ControlNet residuals)
 *   bench_step [--backend NAME] MODELS vae SIZE [TILE]        one VAE decode, batch 1; TILE latents per
 *                                                             tile (overlap TILE/4), 0 or absent: untiled
 *   bench_step [--backend NAME] MODELS generate SIZE [STEPS]  a whole generation: STEPS (default 30)
 *                                                             guided steps, Euler updates, one VAE decode
 *   after SIZE: [--dtype f32|bf16|auto] (the cpu backend's GEMM/convolution dtype, default f32),
 *   [--threads N] (OpenMP threads, default all), [--runs N] (VAE decodes, default 2)
 *
 * The last line is `RESULT {"what":..,"size":..,"dtype":..,"threads":..,"seconds":..,
 * "peak_rss_gib":..}` as ../shared/bench/torch_baseline.py prints, so a script
 * (bench/pair.sh) can pair the two. seconds is the median of the steps or decodes
 * after the first (the first also prepares the weights for oneDNN: reorders,
 * primitives), or the first when there is only one; for generate, the whole run.
 *
 * A step is what the pipeline does per denoising step: the ControlNet on the 16
 * face tokens and the keypoint image, then the UNet on 77 text + 16 face tokens
 * with its residuals and the IP-Adapter at scale 0.8, then guidance. Inputs are
 * random (the arithmetic does not depend on them). Each measurement should run in
 * its own process, so the peak (VmHWM) belongs to it; the resident set includes
 * the pages of the mapped weight files that were touched, which is real memory.
 *
 * --backend binds the models to that backend (as the CLI's option does, through
 * $IID_BACKEND); inputs are uploaded once, outside the timings, and every timing
 * ends with the backend synchronised. On "cuda" each line also gives the device
 * memory in use (cudaMemGetInfo: total - free, the CUDA context and the
 * allocator's cached blocks included) and its peak over the samples taken at the
 * end of each phase, step by step.
 *
 * A step's memory comes from a step allocator (ops/step_alloc.h): step 1 records
 * and plans, later steps replay the plan and allocate nothing.
 *
 * IID_OP_PROFILE=1 (step, unet, generate): the last step runs through an op
 * profile (ops/op_profile.h) and its table follows the steps: time, calls and
 * GFLOP/s per op and shape, sorted by time, then the GEMM+conv summary against
 * the large-matmul peak (ops/cpu/gemm_peak.h, what test_backend_ops --perf
 * prints), measured in this process after the steps, in the run's dtype and
 * threads. RESULT then also carries "gemm_share" (their fraction of the step's
 * time), "gemm_gflops", "peak_gflops" and "gemm_pct_of_peak" (the last two on
 * host backends only). A profile of step 1 includes each weight's one-time
 * preparation for oneDNN: give STEPS >= 2 for the steady figures.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef IID_CUDA
#include <cuda_runtime.h>

#include "ops/cuda/cuda_ops.h"
#endif

#include "core/mem.h"
#include "models/controlnet.h"
#include "models/unet_sdxl.h"
#include "models/vae_decoder.h"
#include "ops/backend.h"
#include "ops/cpu/gemm_peak.h"
#include "ops/op_profile.h"
#include "ops/ops.h"
#include "ops/step_alloc.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double gib(size_t b) { return (double)b / (double)(1u << 30); }

static void check(iid_status s, const iid_error_t *err)
{
    if (s != IID_OK) {
        fprintf(stderr, "bench_step: %s\n", err->msg);
        exit(1);
    }
}

static float *rnd(size_t n, float scale, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    if (!x) {
        fprintf(stderr, "bench_step: out of memory\n");
        exit(1);
    }
    uint32_t s = seed * 2654435761u | 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        x[i] = scale * ((float)(s >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
    return x;
}

/* The models' backend (they bind to $IID_BACKEND's at load). */
static const iid_backend_t *be_of(void) { return iid__backend_default(); }

/* Device memory in use now, folded into *peak (0 off the GPU). */
static size_t device_used(size_t *peak)
{
    size_t used = 0;
#ifdef IID_CUDA
    size_t free_b = 0, total_b = 0;
    if (!be_of()->host_memory && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) used = total_b - free_b;
#endif
    if (used > *peak) *peak = used;
    return used;
}

static void sync_backend(void)
{
    const iid_backend_t *be = be_of();
    if (be->i->synchronize(be) != 0) {
        const char *why = "";
#ifdef IID_CUDA
        why = iid__cuda_first_error();
#endif
        fprintf(stderr, "bench_step: backend '%s': a queued op failed %s\n", be->name, why);
        exit(1);
    }
}

/* The median of t[1..n-1], or t[0] when n == 1. */
static double steady(double *t, int n)
{
    if (n <= 1) return n ? t[0] : 0.0;
    t++, n--;
    for (int i = 1; i < n; i++) /* insertion sort: a handful of values */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1], t[j - 1] = x;
        }
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* extra: more JSON members, each starting with a comma ("" for none). */
static void result(const char *what, int size, const char *dtype, double seconds, const char *extra)
{
    printf("RESULT {\"what\":\"%s\",\"size\":%d,\"dtype\":\"%s\",\"threads\":%d,\"seconds\":%.3f,"
           "\"peak_rss_gib\":%.3f%s}\n", what, size, dtype, omp_get_max_threads(), seconds, gib(iid__mem_peak_bytes()),
           extra);
}

static void report(const char *what, double t0)
{
    static size_t peak_dev; /* the bench's entry point owns its process state */
    sync_backend();
    double t = now() - t0;
    size_t used = device_used(&peak_dev);
    printf("%-28s %8.3f s   rss %6.2f GiB   peak %6.2f GiB", what, t, gib(iid__mem_rss_bytes()),
           gib(iid__mem_peak_bytes()));
    if (peak_dev) printf("   gpu %6.2f GiB   gpu peak %6.2f GiB", gib(used), gib(peak_dev));
    printf("\n");
    fflush(stdout);
}

/* host values uploaded to a new buffer on the models' backend */
static float *dev(const float *host, size_t n)
{
    float *d = iid__upload_new(be_of(), host, n);
    if (!d) {
        fprintf(stderr, "bench_step: backend '%s': out of memory\n", be_of()->name);
        exit(1);
    }
    return d;
}

static void load_vae(const char *models, iid_vae_decoder_t **v)
{
    char path[4096];
    iid_error_t err;
    snprintf(path, sizeof path, "%s/sdxl/vae", models);
    check(iid__vae_load(v, path, &err), &err);
}

/* The profiled step's table and its GEMM+conv summary against the peak measured
 * now; the figures go to extra as RESULT members. */
static void profile_report(const iid_op_profile_t *p, int step, double step_seconds, char *extra, size_t cap)
{
    iid_error_t err;
    printf("op profile of step %d%s\n", step,
           step == 1 ? " (it includes each weight's preparation for oneDNN: give STEPS >= 2 for steady figures)" : "");
    check(iid__op_profile_print(p, stdout, step_seconds, 40, &err), &err);
    iid_prof_summary_t s = iid__op_profile_summary(p);
    double share = step_seconds > 0 ? s.gemm_seconds / step_seconds : 0.0;
    double gflops = s.gemm_seconds > 0 ? s.gemm_flops / s.gemm_seconds * 1e-9 : 0.0;
    printf("GEMM+conv: %.3f s = %.1f%% of the step's %.3f s, %.1f GFLOP/s", s.gemm_seconds, 100.0 * share,
           step_seconds, gflops);
    int n = snprintf(extra, cap, ",\"gemm_share\":%.4f,\"gemm_gflops\":%.2f", share, gflops);
    if (!be_of()->host_memory) { /* the yardstick is the cpu backend's */
        printf(" (no CPU peak for a device backend)\n");
        return;
    }
    iid_gemm_peak_t g;
    check(iid__gemm_peak(iid__compute_dtype_default(), 1.0, &g, &err), &err);
    double pct = 100.0 * gflops / g.gflops;
    printf(" = %.1f%% of the peak: %.1f GFLOP/s, %s large matmul M=%d K=%d N=%d (%s), %d threads\n", pct, g.gflops,
           iid__dtype_name(g.dtype), g.M, g.K, g.N, g.impl, omp_get_max_threads());
    if (n > 0 && (size_t)n < cap)
        snprintf(extra + n, cap - (size_t)n, ",\"peak_gflops\":%.2f,\"gemm_pct_of_peak\":%.2f", g.gflops, pct);
}

/* steps guided steps; with_cn: IdentityNet first; generate: Euler updates of the
 * latents between steps and one VAE decode at the end, timed as a whole. */
static int run_steps(const char *models, int size, int steps, int with_cn, int generate, const char *dtype,
                     int profile)
{
    char path[4096];
    iid_error_t err;
    const iid_backend_t *be = be_of();
    int B = 2, h = size / 8, w = size / 8, TT = 77, TF = 16, D = 2048;
    size_t nl = (size_t)4 * h * w; /* one latent */
    double t0 = now();
    iid_unet_t *unet = NULL;
    iid_controlnet_t *cn = NULL;
    iid_vae_decoder_t *vae = NULL;
    iid_safetensors_t ip;
    snprintf(path, sizeof path, "%s/sdxl/unet", models);
    check(iid__unet_load(&unet, path, &err), &err);
    snprintf(path, sizeof path, "%s/ip-adapter.safetensors", models);
    check(iid__st_open(&ip, path, &err), &err);
    check(iid__unet_load_ip(unet, &ip, "ip_adapter.", &err), &err);
    if (with_cn) {
        snprintf(path, sizeof path, "%s/ControlNetModel", models);
        check(iid__controlnet_load(&cn, path, &err), &err);
    }
    if (generate) load_vae(models, &vae);
    report("load", t0);

    float *h_lat = rnd((size_t)B * nl, 1.0f, 1), *h_ctx = rnd((size_t)B * (TT + TF) * D, 1.0f, 2);
    float *h_faces = malloc((size_t)B * TF * D * sizeof *h_faces); /* the last 16 tokens of each context */
    float *h_pooled = rnd((size_t)B * 1280, 1.0f, 3), *h_kps = rnd((size_t)B * 3 * size * size, 0.5f, 4);
    if (!h_faces) return 1;
    for (int b = 0; b < B; b++)
        memcpy(h_faces + (size_t)b * TF * D, h_ctx + ((size_t)b * (TT + TF) + TT) * D, (size_t)TF * D * sizeof *h_faces);
    for (size_t i = 0; i < (size_t)B * 3 * size * size; i++) h_kps[i] += 0.5f;
    memcpy(h_lat + nl, h_lat, nl * sizeof *h_lat); /* both halves of the CFG batch see one latent */
    float ids[12] = {(float)size, (float)size, 0, 0, (float)size, (float)size,
                     (float)size, (float)size, 0, 0, (float)size, (float)size};
    float *latents = dev(h_lat, (size_t)B * nl), *ctx = dev(h_ctx, (size_t)B * (TT + TF) * D);
    float *faces = dev(h_faces, (size_t)B * TF * D), *pooled = dev(h_pooled, (size_t)B * 1280);
    float *kps = dev(h_kps, (size_t)B * 3 * size * size);
    float *noise = iid__op_alloc(be, (size_t)B * nl * sizeof *noise), *guided = iid__op_alloc(be, nl * sizeof *guided);
    float *img = generate ? iid__op_alloc(be, (size_t)3 * size * size * sizeof *img) : NULL;
    if (!noise || !guided || (generate && !img)) {
        fprintf(stderr, "bench_step: backend '%s': out of memory\n", be->name);
        return 1;
    }
    report("inputs uploaded", t0);
    double *times = calloc((size_t)steps, sizeof *times);
    if (!times) return 1;
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, be);
    iid_op_profile_t prof; /* off: run is the step allocator itself */
    check(iid__op_profile_init(&prof, &sa.be, profile, &err), &err);
    const iid_backend_t *run = iid__op_profile_backend(&prof);
    double tg = now();
    for (int k = 0; k < steps; k++) {
        double ts = now();
        long allocs = sa.parent_allocs;
        iid__step_alloc_begin(&sa);
        iid__op_profile_reset(&prof); /* the table shows the last step */
        iid_residuals_t res = {0};
        iid_tensor_t lat_t = iid__tensor_wrap(be, latents, 4, (int64_t[]){B, 4, h, w});
        iid_unet_cond_t cond = {801.0f, iid__tensor_wrap(be, faces, 3, (int64_t[]){B, TF, D}),
                                iid__tensor_wrap(be, pooled, 2, (int64_t[]){B, 1280}),
                                iid__tensor_wrap(NULL, ids, 2, (int64_t[]){B, 6})};
        if (cn) {
            iid_controlnet_inputs_t ci = {lat_t, cond, iid__tensor_wrap(be, kps, 4, (int64_t[]){B, 3, size, size}),
                                          0.8f, run};
            check(iid__controlnet_forward(cn, &ci, &res, &err), &err);
            if (!generate) report("  controlnet (batch 2)", ts);
        }
        double tu = now();
        iid_unet_inputs_t in;
        iid__unet_inputs_init(&in);
        in.sample = lat_t;
        in.cond = cond;
        in.cond.context = iid__tensor_wrap(be, ctx, 3, (int64_t[]){B, TT + TF, D});
        in.residuals = cn ? &res : NULL;
        in.ip = (iid_ip_args_t){TF, 0.8f, {0}};
        in.be = run;
        iid_tensor_t noise_t = iid__tensor_wrap(be, noise, 4, lat_t.shape);
        check(iid__unet_forward(unet, &in, &noise_t, &err), &err);
        iid__residuals_free(&res);
        if (!generate) report("  unet (batch 2)", tu);
        /* guidance 5: uncond + 5 (cond - uncond) */
        check(iid__op_lerp(run, guided, noise, noise + nl, 5.0f, (int64_t)nl, &err), &err);
        if (generate) { /* an Euler step of -1/steps, the same latent into both halves */
            check(iid__op_scale(run, guided, -1.0f / (float)steps, (int64_t)nl, &err), &err);
            check(iid__op_add(run, latents, guided, (int64_t)nl, &err), &err);
            iid__op_copy(run, latents + nl, latents, nl * sizeof *latents);
        }
        check(iid__step_alloc_end(&sa, &err), &err);
        char label[64];
        snprintf(label, sizeof label, "step %d at %dx%d", k + 1, size, size);
        times[k] = now() - ts;
        report(label, ts);
        if (!generate)
            printf("  step memory: %.2f GiB planned, %ld backend allocations in the step\n", gib(sa.block_bytes),
                   sa.parent_allocs - allocs);
    }
    iid__step_alloc_free(&sa);
    if (generate) {
        double td = now();
        check(iid__op_scale(be, latents, 1.0f / vae->scaling_factor, (int64_t)nl, &err), &err);
        iid_tensor_t z = iid__tensor_wrap(be, latents, 4, (int64_t[]){1, 4, h, w});
        iid_tensor_t img_t = iid__tensor_wrap(be, img, 4, (int64_t[]){1, 3, size, size});
        check(iid__vae_decode(vae, &z, &img_t, &err), &err);
        report("vae decode", td);
        char label[96];
        snprintf(label, sizeof label, "generation: %d steps + decode at %dx%d", steps, size, size);
        report(label, tg);
    }
    double seconds = generate ? now() - tg : steady(times, steps);
    char extra[256] = "";
    if (profile) profile_report(&prof, steps, times[steps - 1], extra, sizeof extra);
    iid__op_profile_free(&prof);
    result(generate ? "generate" : with_cn ? "step" : "unet", size, dtype, seconds, extra);
    free(times);
    iid__op_free(be, latents), iid__op_free(be, ctx), iid__op_free(be, faces), iid__op_free(be, pooled);
    iid__op_free(be, kps), iid__op_free(be, noise), iid__op_free(be, guided), iid__op_free(be, img);
    iid__vae_free(vae);
    iid__controlnet_free(cn);
    iid__unet_free(unet);
    iid__st_close(&ip);
    free(h_lat), free(h_ctx), free(h_faces), free(h_pooled), free(h_kps);
    return 0;
}

static int run_vae(const char *models, int size, int tile, int runs, const char *dtype)
{
    iid_error_t err;
    const iid_backend_t *be = be_of();
    int h = size / 8, w = size / 8;
    double t0 = now();
    iid_vae_decoder_t *v = NULL;
    load_vae(models, &v);
    report("vae load", t0);
    float *z = rnd((size_t)4 * h * w, 1.0f, 5);
    float *img = malloc((size_t)3 * size * size * sizeof *img);
    double times[16];
    if (!img) return 1;
    for (int r = 0; r < runs; r++) {
        double td = now();
        if (tile > 0) {
            iid_tensor_t zt = iid__tensor_wrap(NULL, z, 4, (int64_t[]){1, 4, h, w});
            iid_tensor_t it = iid__tensor_wrap(NULL, img, 4, (int64_t[]){1, 3, size, size});
            check(iid__vae_decode_tiled(v, &zt, tile, tile / 4, &it, &err), &err); /* host in, host out */
            times[r] = now() - td;
        } else { /* device in, device out: the transfers stay outside the timing */
            float *dz = dev(z, (size_t)4 * h * w), *dimg = iid__op_alloc(be, (size_t)3 * size * size * sizeof *dimg);
            if (!dimg) return 1;
            iid_tensor_t zt = iid__tensor_wrap(be, dz, 4, (int64_t[]){1, 4, h, w});
            iid_tensor_t it = iid__tensor_wrap(be, dimg, 4, (int64_t[]){1, 3, size, size});
            td = now();
            check(iid__vae_decode(v, &zt, &it, &err), &err);
            times[r] = now() - td;
            report("  (decode)", td);
            check(iid__op_download(be, img, dimg, (size_t)3 * size * size * sizeof *img, &err), &err);
            iid__op_free(be, dz), iid__op_free(be, dimg);
        }
        char label[64];
        snprintf(label, sizeof label, "vae decode %dx%d %s", size, size, tile > 0 ? "tiled" : "untiled");
        report(label, td);
    }
    iid__vae_free(v);
    free(z), free(img);
    result("vae", size, dtype, steady(times, runs), "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--backend") == 0) {
        const iid_backend_t *be;
        iid_error_t err;
        if (iid__backend_lookup(argv[2], &be, &err) != IID_OK) {
            fprintf(stderr, "bench_step: %s\n", err.msg);
            return 2;
        }
        setenv(IID_BACKEND_ENV, argv[2], 1); /* the models bind to it at load */
        argc -= 2, argv += 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: bench_step [--backend NAME] MODELS step|unet|vae|generate SIZE [STEPS|TILE] "
                        "[--dtype f32|bf16|auto] [--threads N] [--runs N]\n");
        return 2;
    }
    int size = atoi(argv[3]), extra = -1, threads = 0, runs = 2;
    const char *dtype = NULL;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) dtype = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (argv[i][0] != '-' && extra < 0) extra = atoi(argv[i]);
        else {
            fprintf(stderr, "bench_step: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (size < 64 || size % 64) {
        fprintf(stderr, "bench_step: SIZE must be a positive multiple of 64\n");
        return 2;
    }
    if (runs < 1 || runs > 16 || threads < 0) {
        fprintf(stderr, "bench_step: --runs takes 1..16, --threads a positive count\n");
        return 2;
    }
    iid_compute_dtype_t dt;
    iid_error_t derr;
    check(iid__compute_dtype_choose(dtype, &dt, &derr), &derr);
    const char *dname = dt.dtype == IID_DTYPE_BF16 ? "bf16" : "f32";
    if (setenv(IID_DTYPE_ENV, dname, 1) != 0) return 1; /* the models bind with it at load */
    if (threads > 0) omp_set_num_threads(threads);
    int profile = iid__op_profile_requested(); /* read once, here */
    printf("backend: %s; compute dtype: %s; %d threads\n", be_of()->name, dt.why, omp_get_max_threads());
    if (strcmp(argv[2], "step") == 0) return run_steps(argv[1], size, extra > 0 ? extra : 1, 1, 0, dname, profile);
    if (strcmp(argv[2], "unet") == 0) return run_steps(argv[1], size, extra > 0 ? extra : 1, 0, 0, dname, profile);
    if (strcmp(argv[2], "generate") == 0) return run_steps(argv[1], size, extra > 0 ? extra : 30, 1, 1, dname, profile);
    if (strcmp(argv[2], "vae") == 0) return run_vae(argv[1], size, extra > 0 ? extra : 0, runs, dname);
    fprintf(stderr, "bench_step: unknown mode '%s'\n", argv[2]);
    return 2;
}
