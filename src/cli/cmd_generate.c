/*
 * cmd_generate.c - `instantid generate`: one image from a face photo (or a face
 * embedding and keypoints), as InstantID's demo makes it.
 *
 *   instantid generate --face me.jpg [--pose pose.jpg] --prompt "..." --style Watercolor -o out.png
 *
 * Defaults follow the demo (gradio_demo/app.py): 30 steps, guidance 5, both
 * strengths 0.8, style Watercolor, weighted prompts, the face-region mask on.
 * Several --face photos of one person are combined (iid_prepare_identity: the
 * mean of their raw embeddings, the pose of the largest face).
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
#include "cli/model_names.h"
#include "cli/options.h"
#include "cli/plan_estimate.h"
#include "batch/progress.h"
#include "core/mem.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "text/styles.h"

static const iid_opt_spec_t gen_opts[] = {
    {"face", 0, "IMG", "face photo (PNG, JPEG or WebP); repeat for several photos of one person (embeddings averaged)"},
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
    IID_CLI_RENDER_OPTS,
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

/* The face from --face-embedding with --kps at --size (no photo, no mask), or
 * with the pose photo already prepared in *pose (its keypoints, size and mask). */
static iid_status face_from_files(iid_ctx_t *ctx, const iid_opts_t *o, iid_face_prep_t *pose, iid_face_prep_t *face,
                                  iid_error_t *err)
{
    float *emb = NULL, *kps = NULL;
    size_t n_emb = 0, n_kps = 0;
    int w = 0, h = 0;
    if (!iid_cli_get(o, "kps") && !pose->embedding)
        return iid__fail(err, IID_ERR_INVALID, "--face-embedding needs --kps (with --size) or --pose");
    if (!pose->embedding && !iid_cli_get(o, "size"))
        return iid__fail(err, IID_ERR_INVALID, "--kps needs --size WxH, the output size");
    IID_TRY(read_floats("--face-embedding", iid_cli_get(o, "face-embedding"), &emb, &n_emb, err));
    iid_status s = IID_OK;
    if (pose->embedding) {
        s = iid_prepare_face_embedding(ctx, emb, (int)n_emb, pose->kps, pose->width, pose->height, face, err);
        if (s == IID_OK) iid_face_prep_use_pose(face, pose);
    } else {
        s = iid_cli_size(o, "size", &w, &h, err);
        if (s == IID_OK) s = read_floats("--kps", iid_cli_get(o, "kps"), &kps, &n_kps, err);
        if (s == IID_OK && n_kps != 10)
            s = iid__fail(err, IID_ERR_INVALID, "--kps: expected 5 (x, y) points, got %zu values", n_kps);
        if (s == IID_OK) s = iid_prepare_face_embedding(ctx, emb, (int)n_emb, kps, w, h, face, err);
    }
    free(emb);
    free(kps);
    return s;
}

#define MAX_FACES 256

/* The face of --face (one photo, or several of one person), then --pose. */
static iid_status face_from_photos(iid_ctx_t *ctx, const iid_opts_t *o, const iid_face_opts_t *fo, int quiet,
                                   iid_face_prep_t *pose, iid_face_prep_t *face, iid_error_t *err)
{
    const char *photos[MAX_FACES];
    int n = iid_cli_get_all(o, "face", photos, MAX_FACES);
    if (n > MAX_FACES) return iid__fail(err, IID_ERR_INVALID, "--face: at most %d photos", MAX_FACES);
    if (n == 1) IID_TRY(iid_prepare_face_file(ctx, photos[0], fo, face, err));
    else IID_TRY(iid_prepare_identity(ctx, photos, n, fo, face, err));
    if (!quiet && face->sources)
        fprintf(stderr, "instantid generate: one person from %s%s%s\n", face->sources,
                face->left_out ? "; left out: " : "", face->left_out ? face->left_out : "");
    if (pose->embedding) iid_face_prep_use_pose(face, pose);
    return IID_OK;
}


/* Step progress with elapsed and remaining time on stderr: one updating line on
 * a terminal, a plain line per 10% otherwise (logs stay short). Remaining time
 * comes from the machine's speed until two steps are timed, then from them. */
typedef struct gen_progress {
    int quiet, tty, tenth;
    double start, step1, step_work, job_work;
    const iid_speed_t *speed;
} gen_progress_t;
static int progress(void *user, int step, int total)
{
    gen_progress_t *p = user;
    double now = iid_cli_clock(NULL);
    if (step == 1) p->step1 = now;
    if (p->quiet) return 0;
    double rate = step > 1 && p->step_work > 0 ? (now - p->step1) / ((step - 1) * p->step_work)
                                               : p->speed->seconds_per_unit;
    char el[32], left[32];
    iid__fmt_duration(el, sizeof el, now - p->start);
    iid__fmt_duration(left, sizeof left, rate * (p->job_work - step * p->step_work));
    if (p->tty) {
        fprintf(stderr, "\r\033[Kstep %d/%d, elapsed %s, left ~%s", step, total, el, left);
        if (step == total) fputc('\n', stderr);
    } else if (step * 10 / total > p->tenth) {
        p->tenth = step * 10 / total;
        fprintf(stderr, "step %d/%d (%d%%), elapsed %s, left ~%s\n", step, total, step * 100 / total, el, left);
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
    iid_cli_render_defaults(o, &m, &r);
    long steps = m.lcm ? IID_LCM_STEPS : 30;
    IID_TRY(iid_cli_long(o, "steps", 1, 1000, &steps, err));
    r.steps = (int)steps;
    if (m.lcm) r.guidance = IID_LCM_GUIDANCE;
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
    if (m.lcm) {
        const char *sched = iid_cli_get(o, "scheduler");
        IID_TRY(iid_cli_lcm_scheduler(&m, &sched, err));
        r.scheduler = sched;
    }
    iid_face_opts_t fo;
    iid_face_opts_init(&fo);
    IID_TRY(iid_cli_size(o, "size", &fo.width, &fo.height, err));
    IID_TRY(iid_cli_color(o, "pad-color", fo.pad_rgb, err));
    const char *out_path = iid_cli_get(o, "output") ? iid_cli_get(o, "output") : "instantid.png";
    /* -o may not be any input: every --face, --pose and the other files. */
    static const char *const other_inputs[] = {"pose", "styles-file", "face-embedding", "kps", "latents"};
    const char *inputs[MAX_FACES + 5];
    int n_in = iid_cli_get_all(o, "face", inputs, MAX_FACES);
    if (n_in > MAX_FACES) n_in = MAX_FACES;
    for (int i = 0; i < 5; i++) inputs[n_in++] = iid_cli_get(o, other_inputs[i]);
    IID_TRY(iid__file_check_output(out_path, inputs, n_in, err));

    iid_styles_t styles = {0};
    char *prompt = NULL, *negative = NULL, *params = NULL, *graph = NULL;
    float *latents = NULL;
    iid_ctx_t *ctx = NULL;
    iid_ctx_params_t cp;
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
    if (s == IID_OK) s = iid_cli_ctx_params(&m, need_faces, &cp, err);
    if (s == IID_OK) s = iid_cli_ctx_open(&m, &cp, &ctx, err);
    if (s == IID_OK && iid_cli_get(o, "pose")) s = iid_prepare_face_file(ctx, iid_cli_get(o, "pose"), &fo, &pose, err);
    if (s == IID_OK && iid_cli_get(o, "face")) s = face_from_photos(ctx, o, &fo, quiet, &pose, &face, err);
    else if (s == IID_OK) s = face_from_files(ctx, o, &pose, &face, err);
    if (s == IID_OK && iid_cli_get(o, "latents")) {
        s = read_floats("--latents", iid_cli_get(o, "latents"), &latents, &r.latents_count, err);
        r.latents = latents;
    }
    if (s == IID_OK) {
        r.prompt = prompt;
        r.negative = negative;
        iid_speed_t speed;
        iid_cli_speed_load(o, &speed);
        gen_progress_t gp = {quiet, isatty(fileno(stderr)), 0, 0.0, 0.0,
                             iid__estimate_step_work(face.width, face.height),
                             iid__estimate_job_work(face.width, face.height, r.steps), &speed};
        r.on_step = progress;
        r.user = &gp;
        iid_model_names_t model_names;
        iid_cli_model_names(&m, &model_names);
        /* the photo's name, or the names of the photos of one person */
        const char *face_path = iid_cli_get(o, "face"), *slash = face_path ? strrchr(face_path, '/') : NULL;
        const char *face_name = face.sources ? face.sources : slash ? slash + 1 : face_path;
        iid_infotext_t t = {&r, face.width, face.height, style, face_name, -1, &model_names};
        params = iid__infotext_a1111(&t);
        graph = iid__infotext_comfyui(&t);
        char eta[32], how[512];
        iid__fmt_duration(eta, sizeof eta, speed.seconds_per_unit * gp.job_work);
        iid__speed_describe(how, sizeof how, &speed);
        if (!quiet)
            fprintf(stderr, "instantid generate: %dx%d, %d steps, seed %llu, style %s; estimated %s (%s)\n",
                    face.width, face.height, r.steps, (unsigned long long)r.seed, style, eta, how);
        gp.start = iid_cli_clock(NULL);
        iid_png_chunk_t texts[2] = {{"parameters", params}, {"prompt", graph}};
        s = params && graph ? iid_render_png(ctx, &face, &r, out_path, texts, 2, err)
                            : iid__fail(err, IID_ERR_NOMEM, "out of memory");
        /* this render measures the machine for later estimates (a cache is optional) */
        if (s == IID_OK && gp.job_work > 0)
            iid__speed_save(&speed, (iid_cli_clock(NULL) - gp.start) / gp.job_work, NULL);
    }
    if (s == IID_OK && !quiet) printf("%s\n", out_path);
    if (m.verbose && ctx) iid_cli_print_stats("generate", ctx);
    if (m.verbose) fprintf(stderr, "instantid: peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
    free(params), free(graph), free(prompt), free(negative), free(latents);
    iid_face_prep_free(&face);
    iid_face_prep_free(&pose);
    iid_ctx_free(ctx);
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
