/*
 * cmd_generate.c - `instantid generate`: one image from a face photo (or a face
 * embedding and keypoints), as InstantID's demo makes it.
 *
 *   instantid generate --face me.jpg [--pose pose.jpg] --prompt "..." --style Watercolor -o out.png
 *
 * Defaults follow the demo (gradio_demo/app.py): 30 steps, guidance 5, both
 * strengths 0.8, style Watercolor, weighted prompts, the face-region mask on.
 * Instead of a photo, --face-embedding and --kps (with --size) give the identity
 * and the pose directly; --latents fixes the initial noise. Those read a
 * safetensors tensor (FILE:NAME, or the file's only tensor) or a JSON array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "core/mem.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "pipeline/draw_kps.h"
#include "text/styles.h"

static const iid_opt_spec_t gen_opts[] = {
    {"face", 0, "IMG", "face photo (PNG, JPEG or WebP)"},
    {"pose", 0, "IMG", "optional photo whose face gives the pose and the output size"},
    {"prompt", 'p', "TEXT", "prompt (default 'a person')"},
    {"negative-prompt", 0, "TEXT", "negative prompt (default the demo's)"},
    {"style", 0, "NAME", "style template (default Watercolor; see instantid styles)"},
    {"styles-file", 0, "FILE", "JSON styles that add to or replace the built-in ones"},
    {"identitynet-strength", 0, "X", "IdentityNet strength (default 0.8)"},
    {"adapter-strength", 0, "X", "face adapter strength (default 0.8)"},
    {"steps", 0, "N", "denoising steps (default 30)"},
    {"guidance", 0, "X", "guidance scale; 1 turns classifier-free guidance off (default 5)"},
    {"seed", 0, "N", "seed of the initial noise (default: random, printed)"},
    {"size", 0, "WxH", "resize and pad the face photo to W x H (default: the demo's resize_img rule)"},
    {"pad-color", 0, "COLOR", "padding for --size (default white)"},
    {"face-embedding", 0, "FILE[:T]", "a 512-value face embedding instead of --face (safetensors or JSON)"},
    {"kps", 0, "FILE[:T]", "5 keypoints (x, y) in output pixels, with --face-embedding and --size"},
    {"latents", 0, "FILE[:T]", "initial latents (1, C, H/8, W/8) before the scheduler's scaling"},
    {"plain-prompts", 0, NULL, "SDXL's encode_prompt (77 tokens, no weights) instead of weighted prompts"},
    {"no-face-mask", 0, NULL, "do not confine IdentityNet and the adapter to the face region"},
    {"output", 'o', "FILE", "output PNG (default instantid.png)"},
    IID_CLI_COMMON_OPTS,
};
#define N_GEN_OPTS ((int)(sizeof gen_opts / sizeof gen_opts[0]))

static const char *const demo_negative =
    "(lowres, low quality, worst quality:1.2), (text:1.2), watermark, (frame:1.2), deformed, ugly, deformed eyes, "
    "blur, out of focus, blurry, deformed cat, deformed, photo, anthropomorphic cat, monochrome, pet collar, gun, "
    "weapon, blue, 3d, drones, drone, buildings in background, green";

/* Floats from "FILE:TENSOR", "FILE" (a safetensors file's only tensor), or a JSON
 * file holding a (nested) array of numbers. *n receives the count. */
static iid_status read_floats(const char *opt, const char *spec, float **out, size_t *n, iid_error_t *err)
{
    *out = NULL;
    *n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s", spec);
    const char *tensor = NULL;
    char *colon = strrchr(path, ':');
    if (colon && !iid__is_file(path)) {
        *colon = '\0';
        tensor = colon + 1;
    }
    size_t len = strlen(path);
    if (len >= 5 && strcmp(path + len - 5, ".json") == 0) {
        iid_json_t j;
        IID_TRY(iid__json_load(&j, path, err));
        const cJSON *it = j.root;
        /* Numbers, or arrays of numbers flattened in order (keypoints are [[x, y], ...]). */
        size_t count = 0, cap = 16;
        float *v = malloc(cap * sizeof *v);
        iid_status s = v ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
        const cJSON *outer;
        if (s == IID_OK && !cJSON_IsArray(it)) s = iid__fail(err, IID_ERR_FORMAT, "%s %s: not a JSON array", opt, path);
        cJSON_ArrayForEach(outer, it)
        {
            if (s != IID_OK) break;
            const cJSON *inner;
            int single = cJSON_IsNumber(outer);
            for (inner = single ? outer : outer->child; inner && s == IID_OK; inner = single ? NULL : inner->next) {
                if (!cJSON_IsNumber(inner)) {
                    s = iid__fail(err, IID_ERR_FORMAT, "%s %s: expected numbers", opt, path);
                    break;
                }
                if (count == cap) {
                    float *g = realloc(v, (cap *= 2) * sizeof *v);
                    if (!g) {
                        s = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
                        break;
                    }
                    v = g;
                }
                v[count++] = (float)inner->valuedouble;
            }
        }
        iid__json_free(&j);
        if (s != IID_OK) {
            free(v);
            return s;
        }
        *out = v;
        *n = count;
        return IID_OK;
    }
    iid_safetensors_t st;
    IID_TRY(iid__st_open(&st, path, err));
    iid_status s = IID_OK;
    const iid_st_tensor_t *t = tensor ? iid__st_find(&st, tensor) : (st.count == 1 ? &st.tensors[0] : NULL);
    if (!t)
        s = iid__fail(err, IID_ERR_NOT_FOUND, "%s %s: %s", opt, path,
                      tensor ? "no such tensor" : "holds several tensors; name one as FILE:TENSOR");
    float *v = NULL;
    if (s == IID_OK) {
        size_t count = (size_t)iid__st_numel(t);
        v = malloc((count ? count : 1) * sizeof *v);
        s = v ? iid__st_read_f32(t, v, err) : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
        *n = count;
    }
    iid__st_close(&st);
    if (s != IID_OK) {
        free(v);
        *n = 0;
        return s;
    }
    *out = v;
    return IID_OK;
}

/* The face from --face-embedding + --kps at --size: no photo, no mask. */
static iid_status face_from_files(const iid_opts_t *o, iid_face_prep_t *face, iid_error_t *err)
{
    float *kps = NULL;
    size_t n_emb = 0, n_kps = 0;
    IID_TRY(read_floats("--face-embedding", iid_cli_get(o, "face-embedding"), &face->embedding, &n_emb, err));
    face->embedding_dim = (int)n_emb;
    if (!iid_cli_get(o, "kps") && !iid_cli_get(o, "pose"))
        return iid__fail(err, IID_ERR_INVALID, "--face-embedding needs --kps (with --size) or --pose");
    if (iid_cli_get(o, "pose")) return IID_OK;
    if (!iid_cli_get(o, "size")) return iid__fail(err, IID_ERR_INVALID, "--kps needs --size WxH, the output size");
    IID_TRY(iid_cli_size(o, "size", &face->width, &face->height, err));
    IID_TRY(read_floats("--kps", iid_cli_get(o, "kps"), &kps, &n_kps, err));
    iid_status s = n_kps == 10 ? IID_OK : iid__fail(err, IID_ERR_INVALID, "--kps: expected 5 (x, y) points, got %zu values", n_kps);
    if (s == IID_OK) {
        memcpy(face->kps, kps, sizeof face->kps);
        face->kps_image = malloc((size_t)face->width * face->height * 3);
        s = face->kps_image ? iid__draw_kps(kps, face->width, face->height, face->kps_image, err)
                            : iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    free(kps);
    return s;
}

/* One updating line on a terminal; nothing per step otherwise (logs stay short). */
static int progress(void *user, int step, int total)
{
    if (!*(int *)user && isatty(fileno(stderr))) {
        fprintf(stderr, "\rstep %d/%d", step, total);
        if (step == total) fputc('\n', stderr);
    }
    return 0;
}

static iid_status generate(const iid_opts_t *o, iid_error_t *err)
{
    iid_cli_models_t m;
    IID_TRY(iid_cli_models_read(o, &m, err));
    int quiet = iid_cli_flag(o, "quiet");
    if (!iid_cli_get(o, "face") && !iid_cli_get(o, "face-embedding"))
        return iid__fail(err, IID_ERR_INVALID, "give --face IMG (or --face-embedding FILE with --kps)");
    iid_render_params_t r;
    iid__render_params_init(&r);
    size_t activation_peak = 0;
    r.activation_peak = &activation_peak;
    long steps = 30;
    IID_TRY(iid_cli_long(o, "steps", 1, 1000, &steps, err));
    r.steps = (int)steps;
    double *values[] = {&r.guidance, &r.identitynet_strength, &r.adapter_strength};
    const char *names[] = {"guidance", "identitynet-strength", "adapter-strength"};
    for (int i = 0; i < 3; i++) {
        const char *v = iid_cli_get(o, names[i]);
        char *end;
        if (!v) continue;
        *values[i] = strtod(v, &end);
        if (end == v || *end || *values[i] < 0 || *values[i] > 100)
            return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not a number in 0..100", names[i], v);
    }
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    IID_TRY(iid_cli_u64(o, "seed", &seed, err));
    r.seed = seed;
    if (iid_cli_get(o, "scheduler")) r.scheduler = iid_cli_get(o, "scheduler");
    iid_render_options_t ro = iid_cli_render_options(o, &m);
    r.prompt_mode = ro.prompt_mode;
    r.face_mask = ro.face_mask;
    r.vae_tile = ro.vae_tile;
    iid_face_prep_opts_t po;
    iid__face_prep_opts_init(&po);
    IID_TRY(iid_cli_size(o, "size", &po.width, &po.height, err));
    IID_TRY(iid_cli_color(o, "pad-color", po.pad_rgb, err));
    const char *out_path = iid_cli_get(o, "output") ? iid_cli_get(o, "output") : "instantid.png";

    iid_styles_t styles = {0};
    char *prompt = NULL, *negative = NULL, *params = NULL;
    float *latents = NULL;
    iid_engine_t *e = NULL;
    iid_face_prep_t face = {0}, pose = {0};
    const char *style = iid_cli_get(o, "style") ? iid_cli_get(o, "style") : "Watercolor";
    iid_status s = iid__styles_load_builtin(&styles, err);
    if (s == IID_OK && iid_cli_get(o, "styles-file")) s = iid__styles_merge_file(&styles, iid_cli_get(o, "styles-file"), err);
    if (s == IID_OK && !iid__styles_find(&styles, style))
        s = iid__fail(err, IID_ERR_INVALID, "--style: unknown style '%s' (see instantid styles)", style);
    if (s == IID_OK)
        s = iid__styles_apply(&styles, style, iid_cli_get(o, "prompt") ? iid_cli_get(o, "prompt") : "a person",
                              iid_cli_get(o, "negative-prompt") ? iid_cli_get(o, "negative-prompt") : demo_negative,
                              &prompt, &negative, err);
    int need_faces = iid_cli_get(o, "face") || iid_cli_get(o, "pose");
    if (s == IID_OK) s = iid_cli_engine_open(&m, need_faces, &e, NULL, err);
    if (s == IID_OK && iid_cli_get(o, "face")) s = iid__engine_prepare_file(e, iid_cli_get(o, "face"), &po, &face, err);
    else if (s == IID_OK) s = face_from_files(o, &face, err);
    if (s == IID_OK && iid_cli_get(o, "pose")) {
        s = iid__engine_prepare_file(e, iid_cli_get(o, "pose"), &po, &pose, err);
        if (s == IID_OK) iid__face_prep_use_pose(&face, &pose);
    }
    if (s == IID_OK && iid_cli_get(o, "latents")) {
        size_t n;
        s = read_floats("--latents", iid_cli_get(o, "latents"), &latents, &n, err);
        size_t want = (size_t)e->pipeline->vae->latent_channels * (size_t)(face.width / e->pipeline->vae->upscale) *
                      (size_t)(face.height / e->pipeline->vae->upscale);
        if (s == IID_OK && n != want)
            s = iid__fail(err, IID_ERR_INVALID, "--latents: %zu values, a %dx%d image needs %zu", n, face.width,
                          face.height, want);
        r.latents = latents;
    }
    if (s == IID_OK) {
        r.prompt = prompt;
        r.negative = negative;
        r.on_step = progress;
        r.user = &quiet;
        char extra[256];
        snprintf(extra, sizeof extra, "Style: %s", style);
        params = iid__render_parameters_text(&r, face.width, face.height, extra);
        if (!quiet)
            fprintf(stderr, "instantid generate: %dx%d, %d steps, seed %llu, style %s\n", face.width, face.height,
                    r.steps, (unsigned long long)r.seed, style);
        s = params ? iid__engine_render(e, &face, &r, out_path, params, err)
                   : iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    if (s == IID_OK && !quiet) printf("%s\n", out_path);
    if (m.verbose && activation_peak)
        fprintf(stderr, "instantid: peak activation memory of a step %.1f MiB\n", activation_peak / 1048576.0);
    if (m.verbose) fprintf(stderr, "instantid: peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
    free(params), free(prompt), free(negative), free(latents);
    iid__face_prep_free(&face);
    iid__face_prep_free(&pose);
    iid__engine_free(e);
    iid__styles_free(&styles);
    return s;
}

int iid_cmd_generate(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status s = iid_cli_parse(&o, gen_opts, N_GEN_OPTS, argc, argv, 0, &err);
    if (s == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid generate --face IMG [--pose IMG] [--prompt TEXT] [--style NAME] [-o FILE]",
                     "Generate one image of the person in --face, as InstantID's demo does.", gen_opts, N_GEN_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (s == IID_OK) s = generate(&o, &err);
    iid_cli_free(&o);
    if (s != IID_OK) {
        fprintf(stderr, "instantid generate: %s\n", err.msg);
        return s == IID_ERR_NO_FACE || s == IID_ERR_INTERRUPTED ? 1 : 2;
    }
    return 0;
}
