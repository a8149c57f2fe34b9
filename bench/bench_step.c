/*
 * bench_step.c - time one guided denoising step and one VAE decode on full-size
 * weights (written by bench_make_weights), with the peak resident memory.
 *
 *   bench_step MODELS step SIZE [STEPS]     IdentityNet + UNet, batch 2 (CFG), SIZE x SIZE pixels
 *   bench_step MODELS unet SIZE [STEPS]     the UNet alone (no ControlNet residuals)
 *   bench_step MODELS vae SIZE [TILE]       one VAE decode, batch 1; TILE latents per tile
 *                                           (overlap TILE/4), 0 or absent: untiled
 *
 * A step is what the pipeline does per denoising step: the ControlNet on the 16
 * face tokens and the keypoint image, then the UNet on 77 text + 16 face tokens
 * with its residuals and the IP-Adapter at scale 0.8, then guidance. Inputs are
 * random (the arithmetic does not depend on them). Each measurement should run in
 * its own process, so the peak (VmHWM) belongs to it; the resident set includes
 * the pages of the mapped weight files that were touched, which is real memory.
 * A step's memory comes from a step allocator (ops/step_alloc.h): step 1 records
 * and plans, later steps replay the plan and allocate nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "models/controlnet.h"
#include "models/unet_sdxl.h"
#include "models/vae_decoder.h"
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

static void report(const char *what, double t0)
{
    printf("%-28s %8.2f s   rss %6.2f GiB   peak %6.2f GiB\n", what, now() - t0, gib(iid__mem_rss_bytes()),
           gib(iid__mem_peak_bytes()));
    fflush(stdout);
}

static int run_step(const char *models, int size, int steps, int with_cn)
{
    char path[4096];
    iid_error_t err;
    int B = 2, h = size / 8, w = size / 8, TT = 77, TF = 16, D = 2048;
    double t0 = now();
    iid_unet_t *unet = NULL;
    iid_controlnet_t *cn = NULL;
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
    report("load (index + small params)", t0);

    float *latents = rnd((size_t)B * 4 * h * w, 1.0f, 1);
    float *ctx = rnd((size_t)B * (TT + TF) * D, 1.0f, 2);
    float *faces = malloc((size_t)B * TF * D * sizeof *faces); /* the last 16 tokens of each context */
    for (int b = 0; b < B; b++)
        memcpy(faces + (size_t)b * TF * D, ctx + ((size_t)b * (TT + TF) + TT) * D, (size_t)TF * D * sizeof *faces);
    float *pooled = rnd((size_t)B * 1280, 1.0f, 3);
    float ids[12] = {(float)size, (float)size, 0, 0, (float)size, (float)size,
                     (float)size, (float)size, 0, 0, (float)size, (float)size};
    float *kps = rnd((size_t)B * 3 * size * size, 0.5f, 4);
    for (size_t i = 0; i < (size_t)B * 3 * size * size; i++) kps[i] += 0.5f;
    float *noise = malloc((size_t)B * 4 * h * w * sizeof *noise), *guided = malloc((size_t)4 * h * w * sizeof *guided);
    if (!faces || !noise || !guided) return 1;
    iid_step_alloc_t sa;
    iid__step_alloc_init(&sa, unet->trunk.be);
    for (int k = 0; k < steps; k++) {
        double ts = now();
        long allocs = sa.parent_allocs;
        iid__step_alloc_begin(&sa);
        iid_residuals_t res = {0};
        if (cn) {
            iid_controlnet_inputs_t ci = {latents, B,    h,    w,   {801.0f, faces, TF, pooled, 1280, ids, 6},
                                          kps,     size, size, 0.8f, &sa.be};
            check(iid__controlnet_forward(cn, &ci, &res, &err), &err);
            report("  controlnet (batch 2)", ts);
        }
        double tu = now();
        iid_unet_inputs_t in;
        iid__unet_inputs_init(&in);
        in.sample = latents;
        in.batch = B;
        in.height = h;
        in.width = w;
        in.cond = (iid_unet_cond_t){801.0f, ctx, TT + TF, pooled, 1280, ids, 6};
        in.residuals = cn ? &res : NULL;
        in.ip = (iid_ip_args_t){TF, 0.8f, NULL, 0, 0};
        in.be = &sa.be;
        check(iid__unet_forward(unet, &in, noise, &err), &err);
        iid__residuals_free(&res);
        report("  unet (batch 2)", tu);
        /* guidance 5: uncond + 5 (cond - uncond) */
        iid__lerp_out(guided, noise, noise + (size_t)4 * h * w, 5.0f, (int64_t)4 * h * w);
        check(iid__step_alloc_end(&sa, &err), &err);
        char label[64];
        snprintf(label, sizeof label, "step %d at %dx%d", k + 1, size, size);
        report(label, ts);
        printf("  step memory: %.2f GiB planned, %ld backend allocations in the step\n", gib(sa.block_bytes),
               sa.parent_allocs - allocs);
    }
    iid__step_alloc_free(&sa);
    iid__controlnet_free(cn);
    iid__unet_free(unet);
    iid__st_close(&ip);
    free(latents), free(ctx), free(faces), free(pooled), free(kps), free(noise), free(guided);
    return 0;
}

static int run_vae(const char *models, int size, int tile)
{
    char path[4096];
    iid_error_t err;
    int h = size / 8, w = size / 8;
    double t0 = now();
    iid_vae_decoder_t *v = NULL;
    snprintf(path, sizeof path, "%s/sdxl/vae", models);
    check(iid__vae_load(&v, path, &err), &err);
    report("vae load", t0);
    float *z = rnd((size_t)4 * h * w, 1.0f, 5);
    float *img = malloc((size_t)3 * size * size * sizeof *img);
    if (!img) return 1;
    double td = now();
    if (tile > 0) check(iid__vae_decode_tiled(v, z, 1, h, w, tile, tile / 4, img, &err), &err);
    else check(iid__vae_decode(v, z, 1, h, w, img, &err), &err);
    char label[64];
    snprintf(label, sizeof label, "vae decode %dx%d %s", size, size, tile > 0 ? "tiled" : "untiled");
    report(label, td);
    iid__vae_free(v);
    free(z), free(img);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_step MODELS step|unet|vae SIZE [STEPS|TILE]\n");
        return 2;
    }
    int size = atoi(argv[3]), extra = argc > 4 ? atoi(argv[4]) : -1;
    if (size < 64 || size % 64) {
        fprintf(stderr, "bench_step: SIZE must be a positive multiple of 64\n");
        return 2;
    }
    if (strcmp(argv[2], "step") == 0) return run_step(argv[1], size, extra > 0 ? extra : 1, 1);
    if (strcmp(argv[2], "unet") == 0) return run_step(argv[1], size, extra > 0 ? extra : 1, 0);
    if (strcmp(argv[2], "vae") == 0) return run_vae(argv[1], size, extra > 0 ? extra : 0);
    fprintf(stderr, "bench_step: unknown mode '%s'\n", argv[2]);
    return 2;
}
