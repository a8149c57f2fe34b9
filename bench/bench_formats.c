/*
 * bench_formats.c - what the checkpoint formats cost on full-size weights
 * (written by bench_make_weights): load time of the SDXL UNet from a single-file
 * (SGM) checkpoint against the diffusers folder, and the peak memory of a UNet
 * step with a LoRA fused against without.
 *
 *   bench_formats MODELS make-sgm          MODELS/sdxl_sgm_unet.safetensors: the UNet under
 *                                          the original (SGM) names (iid__sgm_unet_aliases),
 *                                          same bytes and order
 *   bench_formats MODELS make-lora RANK    MODELS/lora_unet.safetensors: a kohya LoRA of
 *                                          rank RANK on every module LCM-LoRA SDXL targets
 *   bench_formats MODELS load folder|sgm   load the UNet (index + binding), timed
 *   bench_formats MODELS step SIZE [LORA]  load the UNet (fusing LORA at multiplier 1),
 *                                          one UNet call, batch 2, SIZE x SIZE; peak RSS
 *
 * The SGM file only holds the UNet part, so it is opened the way the loader opens
 * a checkpoint's UNet (formats/sgm_names.h) with the folder's config. Run each
 * measurement in its own process: the peak (VmHWM) then belongs to it.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/half.h"
#include "core/mem.h"
#include "formats/sgm_names.h"
#include "models/unet_sdxl.h"
#include "pipeline/model_load.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double gib(size_t b) { return (double)b / (double)(1u << 30); }

static void die(const char *what)
{
    fprintf(stderr, "bench_formats: %s\n", what);
    exit(1);
}

static void check(iid_status s, const iid_error_t *err)
{
    if (s != IID_OK) die(err->msg);
}

static void report(const char *what, double t0)
{
    printf("%-34s %8.2f s   rss %6.2f GiB   peak %6.2f GiB\n", what, now() - t0, gib(iid__mem_rss_bytes()),
           gib(iid__mem_peak_bytes()));
    fflush(stdout);
}

/* Open path and write the 8-byte length and the JSON header (padded so the data
 * starts 8-byte aligned, as real files do). */
static FILE *write_header(const char *path, cJSON *hdr)
{
    char *json = cJSON_PrintUnformatted(hdr);
    if (!json) die("out of memory");
    size_t hl = strlen(json), pad = (8 - hl % 8) % 8;
    FILE *f = fopen(path, "wb");
    if (!f) die(strerror(errno));
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(((uint64_t)(hl + pad) >> (8 * i)) & 0xff);
    fwrite(len, 1, 8, f);
    fwrite(json, 1, hl, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    free(json);
    cJSON_Delete(hdr);
    return f;
}

/* Write the tensors of st (in their file order) under new names to path. */
static void write_renamed(const char *path, const iid_safetensors_t *st, char **names)
{
    int *order = malloc((size_t)st->count * sizeof *order);
    if (!order) die("out of memory");
    for (int i = 0; i < st->count; i++) order[i] = i;
    for (int i = 1; i < st->count; i++) /* insertion sort by data pointer: the file's order */
        for (int k = i; k > 0 && (const char *)st->tensors[order[k]].data < (const char *)st->tensors[order[k - 1]].data;
             k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    cJSON *hdr = cJSON_CreateObject();
    size_t off = 0;
    for (int k = 0; k < st->count; k++) {
        const iid_st_tensor_t *t = &st->tensors[order[k]];
        cJSON *o = cJSON_AddObjectToObject(hdr, names[order[k]]);
        cJSON_AddStringToObject(o, "dtype", t->dtype == IID_DTYPE_F16 ? "F16" : t->dtype == IID_DTYPE_BF16 ? "BF16" : "F32");
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += t->nbytes;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    FILE *f = write_header(path, hdr);
    for (int k = 0; k < st->count; k++) fwrite(st->tensors[order[k]].data, 1, st->tensors[order[k]].nbytes, f);
    if (fclose(f) != 0) die("write failed");
    free(order);
}

static int make_sgm(const char *models)
{
    char path[4096];
    iid_error_t err;
    iid_safetensors_t st;
    snprintf(path, sizeof path, "%s/sdxl/unet/diffusion_pytorch_model.safetensors", models);
    check(iid__st_open(&st, path, &err), &err);
    char **names;
    check(iid__sgm_unet_aliases(&st, &names, &err), &err);
    for (int i = 0; i < st.count; i++) {
        char n[600];
        if (!names[i]) die(st.tensors[i].name);
        snprintf(n, sizeof n, "model.diffusion_model.%s", names[i]);
        free(names[i]);
        if (!(names[i] = strdup(n))) die("out of memory");
    }
    snprintf(path, sizeof path, "%s/sdxl_sgm_unet.safetensors", models);
    write_renamed(path, &st, names);
    iid__sgm_aliases_free(names, st.count);
    /* the mapping must give the folder's names and bytes back */
    iid_safetensors_t back;
    check(iid__sgm_open(&back, path, IID_SGM_UNET, &err), &err);
    if (back.count != st.count) die("the SGM file does not map back to the folder's tensor count");
    for (int i = 0; i < st.count; i++) {
        const iid_st_tensor_t *t = iid__st_find(&back, st.tensors[i].name);
        if (!t || t->nbytes != st.tensors[i].nbytes || memcmp(t->data, st.tensors[i].data, t->nbytes) != 0)
            die(st.tensors[i].name);
    }
    printf("%s: %d tensors; mapped back, every one equals the folder's\n", path, back.count);
    iid__st_close(&back);
    iid__st_close(&st);
    return 0;
}

/* The module kinds LCM-LoRA SDXL targets (kit README section m). */
static int lora_target(const char *name)
{
    static const char *const ends[] = {".to_q.weight",  ".to_k.weight",  ".to_v.weight",     ".to_out.0.weight",
                                       ".proj_in.weight", ".proj_out.weight", ".ff.net.0.proj.weight", ".ff.net.2.weight",
                                       ".conv1.weight", ".conv2.weight", ".conv_shortcut.weight", ".time_emb_proj.weight",
                                       "samplers.0.conv.weight"};
    size_t l = strlen(name);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t e = strlen(ends[i]);
        if (l > e && strcmp(name + l - e, ends[i]) == 0) return 1;
    }
    return 0;
}

static int make_lora(const char *models, int rank)
{
    char path[4096];
    iid_error_t err;
    iid_safetensors_t st;
    snprintf(path, sizeof path, "%s/sdxl/unet/diffusion_pytorch_model.safetensors", models);
    check(iid__st_open(&st, path, &err), &err);
    cJSON *hdr = cJSON_CreateObject();
    size_t off = 0;
    int n = 0;
    for (int i = 0; i < st.count; i++) {
        const iid_st_tensor_t *t = &st.tensors[i];
        if (!lora_target(t->name) || (t->ndim != 2 && t->ndim != 4)) continue;
        char key[600], stem[512];
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(t->name) - 7), t->name);
        for (char *c = stem; *c; c++)
            if (*c == '.') *c = '_';
        int64_t in = iid__st_numel(t) / t->shape[0];
        struct { const char *suffix; int64_t shape[4]; int nd; } parts[] = {
            {"alpha", {0}, 0},
            {"lora_down.weight", {rank, t->ndim == 4 ? t->shape[1] : in, t->ndim == 4 ? t->shape[2] : 0,
                                  t->ndim == 4 ? t->shape[3] : 0}, t->ndim},
            {"lora_up.weight", {t->shape[0], rank, 1, 1}, t->ndim}};
        for (int p = 0; p < 3; p++) {
            snprintf(key, sizeof key, "lora_unet_%s.%s", stem, parts[p].suffix);
            cJSON *o = cJSON_AddObjectToObject(hdr, key);
            cJSON_AddStringToObject(o, "dtype", "F16");
            cJSON *sh = cJSON_AddArrayToObject(o, "shape");
            int64_t numel = 1;
            for (int d = 0; d < parts[p].nd; d++) {
                cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)parts[p].shape[d]));
                numel *= parts[p].shape[d];
            }
            cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
            cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
            off += 2 * (size_t)numel;
            cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        }
        n++;
    }
    snprintf(path, sizeof path, "%s/lora_unet.safetensors", models);
    FILE *f = write_header(path, hdr);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t k = 0; k < off / 2; k++) { /* small values: alpha 0.01-ish is fine for timing and memory */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint16_t h = iid__f32_to_f16(0.01f * ((float)(x >> 40) * (2.0f / 16777216.0f) - 1.0f));
        fwrite(&h, 2, 1, f);
    }
    if (fclose(f) != 0) die("write failed");
    printf("%s: %d modules, rank %d, %.1f MB\n", path, n, rank, (double)off / 1e6);
    iid__st_close(&st);
    return 0;
}

static iid_unet_t *load(const char *models, const char *how, const char *lora, iid_error_t *err)
{
    char path[4096];
    iid_unet_t *u = NULL;
    if (strcmp(how, "sgm") == 0) {
        iid_json_t cfg;
        iid_safetensors_t st;
        snprintf(path, sizeof path, "%s/sdxl/unet/config.json", models);
        check(iid__json_load(&cfg, path, err), err);
        snprintf(path, sizeof path, "%s/sdxl_sgm_unet.safetensors", models);
        check(iid__sgm_open(&st, path, IID_SGM_UNET, err), err);
        check(iid__unet_load_parts(&u, &cfg, &st, err), err);
        iid__json_free(&cfg);
        return u;
    }
    iid_sdxl_source_t src;
    iid_lora_set_t set = {0};
    snprintf(path, sizeof path, "%s/sdxl", models);
    memset(&src, 0, sizeof src);
    snprintf(src.path, sizeof src.path, "%s", path); /* the bench folder has no text encoders: no source checks */
    if (lora) {
        const char *specs[] = {lora};
        check(iid__lora_set_open(&set, specs, 1, err), err);
    }
    check(iid__load_unet(&u, &src, &set, err), err);
    iid__lora_set_close(&set);
    return u;
}

static int step(const char *models, int size, const char *lora)
{
    iid_error_t err;
    int B = 2, h = size / 8, w = size / 8, T = 77, D = 2048;
    double t0 = now();
    iid_unet_t *u = load(models, "folder", lora, &err);
    report(lora ? "load + fuse LoRA" : "load", t0);
    float *x = malloc((size_t)B * 4 * h * w * sizeof *x), *ctx = malloc((size_t)B * T * D * sizeof *ctx);
    float *pooled = malloc((size_t)B * 1280 * sizeof *pooled), *out = malloc((size_t)B * 4 * h * w * sizeof *out);
    float ids[12] = {(float)size, (float)size, 0, 0, (float)size, (float)size,
                     (float)size, (float)size, 0, 0, (float)size, (float)size};
    if (!x || !ctx || !pooled || !out) die("out of memory");
    for (size_t i = 0; i < (size_t)B * 4 * h * w; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (size_t i = 0; i < (size_t)B * T * D; i++) ctx[i] = (float)((i * 40503u) % 1000) / 500.0f - 1.0f;
    for (size_t i = 0; i < (size_t)B * 1280; i++) pooled[i] = (float)((i * 7919u) % 1000) / 500.0f - 1.0f;
    double t1 = now();
    iid_unet_inputs_t in;
    iid__unet_inputs_init(&in);
    in.sample = iid__tensor_wrap(NULL, x, 4, (int64_t[]){B, 4, h, w});
    in.cond = (iid_unet_cond_t){801.0f, iid__tensor_wrap(NULL, ctx, 3, (int64_t[]){B, T, D}),
                                iid__tensor_wrap(NULL, pooled, 2, (int64_t[]){B, 1280}),
                                iid__tensor_wrap(NULL, ids, 2, (int64_t[]){B, 6}), NULL};
    iid_tensor_t out_t = iid__tensor_wrap(NULL, out, 4, (int64_t[]){B, 4, h, w});
    check(iid__unet_forward(u, &in, &out_t, &err), &err);
    report("unet (batch 2)", t1);
    iid__unet_free(u);
    free(x), free(ctx), free(pooled), free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[2], "make-sgm") == 0) return make_sgm(argv[1]);
    if (argc >= 4 && strcmp(argv[2], "make-lora") == 0) return make_lora(argv[1], atoi(argv[3]));
    if (argc >= 4 && strcmp(argv[2], "load") == 0) {
        iid_error_t err;
        double t0 = now();
        iid_unet_t *u = load(argv[1], argv[3], NULL, &err);
        report(strcmp(argv[3], "sgm") == 0 ? "load UNet from the SGM single file" : "load UNet from the folder", t0);
        iid__unet_free(u);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[2], "step") == 0) return step(argv[1], atoi(argv[3]), argc >= 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: bench_formats MODELS make-sgm | make-lora RANK | load folder|sgm | step SIZE [LORA]\n");
    return 2;
}
