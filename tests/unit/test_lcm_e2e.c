/*
 * test_lcm_e2e.c - LCM mode switched per job (issue 13: the web UI's LCM toggle)
 * on the kit's tiny models, with the kit's kohya LoRA standing in for the
 * LCM-LoRA (models/lcm-lora-sdxl/pytorch_lora_weights.safetensors in a folder of
 * links to the kit's models):
 *   - serve: the catalog offers LCM exactly when that file exists (else it names
 *     the file and how to get it, and an LCM job is refused); serve --lcm ticks
 *     the page's toggle; jobs off, on, off give exactly the images of `generate`
 *     without and with --lcm (the LCM job with the demo's 5 steps, guidance 1.5
 *     and the lcm scheduler, which it gave none of), and their PNG metadata and
 *     log rows record the LCM-LoRA for the LCM job only;
 *   - the engine API with an LCM-LoRA that also has text-encoder modules: renders
 *     off, on, off equal a context loaded with and without that LoRA fused,
 *     the text cache is emptied at each switch, and only mode changes reload.
 * Skips (77) without ../shared or curl.
 */
#define _DEFAULT_SOURCE /* realpath, symlink */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/csv.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/png_write.h"
#include "support.h"

static char *dir;   /* the test's scratch folder */
static int heads;   /* the kit's Resampler heads */
static char face[PATH_MAX];

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A models folder of links to the kit's, plus the stand-in LCM-LoRA when lcm is set. */
static char *models_linked(int lcm)
{
    char *m = iid_test_tempdir(), link[PATH_MAX + 64], target[PATH_MAX + 64], models[PATH_MAX];
    const char *parts[] = {"sdxl", "ControlNetModel", "ip-adapter.bin", "antelopev2"};
    assert_non_null(realpath(iid_test_shared_path("conformance/models"), models));
    for (int i = 0; i < 4; i++) {
        snprintf(target, sizeof target, "%s/%s", models, parts[i]);
        snprintf(link, sizeof link, "%s/%s", m, parts[i]);
        assert_int_equal(symlink(target, link), 0);
    }
    if (lcm) iid_test_link_lcm_lora(m);
    return m;
}

static char *read_in(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return iid_test_slurp(path);
}

/* ---- a server ---------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int port;
    char name[32]; /* its files in dir: NAME.out, NAME.err, NAME.csv, NAME/ (output) */
} server_t;

static void server_start(server_t *s, const char *name, const char *models, const char *extra)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec '%s' serve --models '%s' --resampler-heads %d --port 0 --output %s --log %s.csv %s "
             ">%s.out 2>%s.err",
             dir, iid_test_binary(), models, heads, name, name, extra, name, name);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s.out", dir, name);
    for (int i = 0; i < 300 && !s->port; i++) {
        char *text;
        if (iid__file_read_all(path, 1 << 16, &text, NULL, NULL) == IID_OK) {
            const char *p = strstr(text, "http://127.0.0.1:");
            if (p) s->port = atoi(p + strlen("http://127.0.0.1:"));
            free(text);
        }
        if (!s->port) nap(100);
    }
    assert_true(s->port > 0);
}

static void server_stop(server_t *s)
{
    kill(s->pid, SIGINT);
    int status;
    waitpid(s->pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* curl args; the body goes to dir/body; returns the HTTP status. */
static int http(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && curl -s -m 60 -o body -w '%%{http_code}' %s > code", dir, args);
    if (system(cmd) != 0) return -1;
    char *text = read_in("code");
    int code = atoi(text);
    free(text);
    return code;
}

static cJSON *body_json(void)
{
    char *text = read_in("body");
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static cJSON *catalog(const server_t *s)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/styles", s->port);
    assert_int_equal(http(url), 200);
    return body_json();
}

static int flag(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The fields both a web job and `generate` are given. */
#define JOB_FIELDS "-F width=64 -F height=64 -F style=Watercolor -F prompt='a person' -F negative_prompt=blurry -F seed=7"
#define GEN_ARGS "--size 64x64 --style Watercolor -p 'a person' --negative-prompt blurry --seed 7"

/* POST a job (extra: more -F fields); wait for it; returns the job JSON (the
 * HTTP status of the POST in *code when it is refused: NULL then). */
static cJSON *post_job(const server_t *s, const char *extra, int *code)
{
    char args[8192];
    snprintf(args, sizeof args, "-F face=@'%s' " JOB_FIELDS " %s http://127.0.0.1:%d/api/generate", face, extra,
             s->port);
    *code = http(args);
    if (*code != 202) return NULL;
    cJSON *r = body_json();
    char id[128];
    snprintf(id, sizeof id, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    for (int i = 0; i < 1200; i++) {
        snprintf(args, sizeof args, "http://127.0.0.1:%d/api/jobs/%s", s->port, id);
        http(args);
        cJSON *j = body_json();
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "state"));
        if (strcmp(st, "done") == 0 || strcmp(st, "error") == 0) return j;
        cJSON_Delete(j);
        nap(100);
    }
    fail_msg("job did not finish");
    return NULL;
}

/* Whether two PNG files hold the same pixels. */
static int same_pixels(const char *a, const char *b)
{
    iid_image_t x, y;
    assert_int_equal(iid__image_load(&x, a, NULL, NULL), IID_OK);
    assert_int_equal(iid__image_load(&y, b, NULL, NULL), IID_OK);
    int same = x.width == y.width && x.height == y.height && x.channels == y.channels &&
               memcmp(x.data, y.data, (size_t)x.width * x.height * x.channels) == 0;
    iid__image_free(&x);
    iid__image_free(&y);
    return same;
}

static char *png_params(const char *path)
{
    char *params;
    assert_int_equal(iid__png_read_text(path, "parameters", &params, NULL), IID_OK);
    return params;
}

/* The file a finished job wrote, under dir. */
static void job_file(const server_t *s, const cJSON *job, char *out, size_t cap)
{
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "state")), "done");
    const char *result = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "result"));
    assert_non_null(result);
    const char *slash = strrchr(result, '/');
    snprintf(out, cap, "%s/%s/%s", dir, s->name, slash + 1);
}

/* Jobs off, on, off on a server started with --lcm: each equals `generate`'s
 * image for its mode; the catalog, metadata and log rows say which mode ran. */
static void test_serve_switches_per_job(void **state)
{
    (void)state;
    char *models = models_linked(1);
    char args[16384];
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --face '%s' " GEN_ARGS " --steps 2 -o plain.png",
             models, heads, face);
    if (iid_test_run_binary(dir, args) != 0) fail_msg("generate failed: %s", read_in("stderr.txt"));
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --face '%s' " GEN_ARGS " --lcm -o lcm.png",
             models, heads, face);
    if (iid_test_run_binary(dir, args) != 0) fail_msg("generate --lcm failed: %s", read_in("stderr.txt"));
    char plain_png[PATH_MAX + 64], lcm_png[PATH_MAX + 64];
    snprintf(plain_png, sizeof plain_png, "%s/plain.png", dir);
    snprintf(lcm_png, sizeof lcm_png, "%s/lcm.png", dir);
    assert_false(same_pixels(plain_png, lcm_png)); /* the LoRA and the scheduler change the image */

    server_t s;
    server_start(&s, "on", models, "--lcm");
    cJSON *cat = catalog(&s);
    assert_true(flag(cat, "lcm"));
    assert_true(flag(cat, "lcm_default"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cat, "lcm_reason")));
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cat, "lcm_steps")), 5);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cat, "lcm_guidance")) == 1.5);
    cJSON_Delete(cat);

    /* the engine starts in LCM mode (--lcm), so each job here switches */
    static const struct {
        const char *fields;
        int lcm;
    } jobs[] = {{"-F steps=2 -F lcm=0", 0}, {"-F lcm=1 -F scheduler=heun", 1}, {"-F steps=2", 0}};
    for (int i = 0; i < 3; i++) {
        int code;
        cJSON *job = post_job(&s, jobs[i].fields, &code);
        if (!job) fail_msg("job %d: POST answered %d: %s", i, code, read_in("body"));
        cJSON *params = cJSON_GetObjectItemCaseSensitive(job, "params");
        assert_int_equal(flag(params, "lcm"), jobs[i].lcm);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "scheduler")),
                            jobs[i].lcm ? "lcm" : "euler");
        char png[PATH_MAX + 256];
        job_file(&s, job, png, sizeof png);
        cJSON_Delete(job);
        if (!same_pixels(png, jobs[i].lcm ? lcm_png : plain_png))
            fail_msg("job %d (lcm %d) differs from generate%s", i, jobs[i].lcm, jobs[i].lcm ? " --lcm" : "");
        char *p = png_params(png), *want = png_params(jobs[i].lcm ? lcm_png : plain_png);
        if (jobs[i].lcm && (!strstr(p, "Steps: 5, Sampler: LCM, Schedule type: Uniform, CFG scale: 1.5") ||
                            !strstr(p, " <lora:lcm-lora-sdxl:1>\n")))
            fail_msg("LCM job's parameters: %s", p);
        if (!jobs[i].lcm && strstr(p, "<lora:")) fail_msg("plain job's parameters: %s", p);
        assert_non_null(strstr(want, jobs[i].lcm ? " <lora:lcm-lora-sdxl:1>\n" : "\nNegative prompt:"));
        free(p);
        free(want);
    }
    server_stop(&s);

    /* the log: the LoRA after the LCM job's scheduler, as a batch row has it */
    char log[PATH_MAX + 64];
    snprintf(log, sizeof log, "%s/on.csv", dir);
    iid_csv_t t;
    iid_error_t err;
    if (iid__csv_load(log, 1 << 20, &t, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(t.nrows, 3);
    int sched = iid__csv_column(&t, "scheduler"), steps = iid__csv_column(&t, "num_inference_steps"),
        cfg = iid__csv_column(&t, "guidance_scale");
    assert_true(sched >= 0 && steps >= 0 && cfg >= 0);
    assert_string_equal(iid__csv_cell(&t, 0, sched), "euler");
    assert_string_equal(iid__csv_cell(&t, 1, sched), "lcm <lora:lcm-lora-sdxl:1>");
    assert_string_equal(iid__csv_cell(&t, 1, steps), "5");
    assert_string_equal(iid__csv_cell(&t, 1, cfg), "1.5");
    assert_string_equal(iid__csv_cell(&t, 2, sched), "euler");
    iid__csv_free(&t);
    iid_test_rmtree(models);
    free(models);
}

/* Without the file: no LCM mode, the reason names the file and the script;
 * an LCM job is refused, a plain one runs. */
static void test_serve_without_lcm_lora(void **state)
{
    (void)state;
    char *models = models_linked(0);
    server_t s;
    server_start(&s, "off", models, "--lcm");
    cJSON *cat = catalog(&s);
    assert_false(flag(cat, "lcm"));
    assert_false(flag(cat, "lcm_default"));
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cat, "lcm_reason"));
    assert_non_null(why);
    if (!strstr(why, "lcm-lora-sdxl/pytorch_lora_weights.safetensors") || !strstr(why, "download-models.sh --lcm"))
        fail_msg("lcm_reason: %s", why);
    cJSON_Delete(cat);
    int code;
    assert_null(post_job(&s, "-F lcm=1", &code));
    assert_int_equal(code, 400);
    cJSON *r = body_json();
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error")), "LCM mode is not available"));
    cJSON_Delete(r);
    cJSON *job = post_job(&s, "-F steps=1", &code);
    assert_non_null(job);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "state")), "done");
    cJSON_Delete(job);
    server_stop(&s);
    char *err = read_in("off.err");
    assert_non_null(strstr(err, "LCM mode unavailable"));
    free(err);
    iid_test_rmtree(models);
    free(models);
}

/* ---- the engine API ----------------------------------------------------- */

/* A kohya LoRA with modules on both text encoders' first query projections
 * (the case a kohya file brings and the LCM-LoRA SDXL does not): the switch must
 * reload the text encoders and drop the cached embeddings. */
static char *text_lora(void)
{
    iid_json_t c1, c2;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", iid_test_shared_path("conformance/models/sdxl/text_encoder/config.json"));
    assert_int_equal(iid__json_load(&c1, path, NULL), IID_OK);
    snprintf(path, sizeof path, "%s", iid_test_shared_path("conformance/models/sdxl/text_encoder_2/config.json"));
    assert_int_equal(iid__json_load(&c2, path, NULL), IID_OK);
    int w1 = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c1.root, "hidden_size"));
    int w2 = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c2.root, "hidden_size"));
    iid__json_free(&c1);
    iid__json_free(&c2);
    enum { RANK = 2 };
    float *d1 = malloc(sizeof(float) * RANK * w1), *d2 = malloc(sizeof(float) * RANK * w2);
    assert_true(d1 && d2);
    iid_test_fill_random(d1, (size_t)RANK * w1, 11);
    iid_test_fill_random(d2, (size_t)RANK * w2, 12);
    const char *q1 = "lora_te1_text_model_encoder_layers_0_self_attn_q_proj",
               *q2 = "lora_te2_text_model_encoder_layers_0_self_attn_q_proj";
    char k[4][128];
    snprintf(k[0], sizeof k[0], "%s.lora_down.weight", q1);
    snprintf(k[1], sizeof k[1], "%s.lora_up.weight", q1);
    snprintf(k[2], sizeof k[2], "%s.lora_down.weight", q2);
    snprintf(k[3], sizeof k[3], "%s.lora_up.weight", q2);
    iid_test_tensor_t t[4] = {{k[0], "F32", 2, {RANK, w1}, d1}, {k[1], "F32", 2, {w1, RANK}, d1},
                              {k[2], "F32", 2, {RANK, w2}, d2}, {k[3], "F32", 2, {w2, RANK}, d2}};
    char *p = iid_test_write_safetensors(dir, "text_lora.safetensors", t, 4);
    assert_non_null(p);
    free(d1);
    free(d2);
    return p;
}

static iid_ctx_t *open_ctx(const char *const *loras, int n, const char *lcm_lora)
{
    iid_ctx_params_t cp;
    iid_ctx_params_init(&cp);
    cp.models = iid_test_shared_path("conformance/models");
    cp.resampler_heads = heads;
    cp.loras = loras;
    cp.n_loras = n;
    cp.lcm_lora = lcm_lora;
    iid_ctx_t *ctx;
    iid_error_t err;
    if (iid_ctx_create(&ctx, &cp, &err) != IID_OK) fail_msg("%s", err.msg);
    return ctx;
}

static unsigned char *render(iid_ctx_t *ctx, int lcm)
{
    iid_face_opts_t fo;
    iid_face_opts_init(&fo);
    fo.width = fo.height = 64;
    iid_face_prep_t f;
    iid_error_t err;
    if (iid_prepare_face_file(ctx, face, &fo, &f, &err) != IID_OK) fail_msg("%s", err.msg);
    iid_render_params_t r;
    iid_render_params_init(&r);
    r.prompt = "a person";
    r.negative = "blurry";
    r.steps = 2;
    r.seed = 3;
    r.lcm = lcm;
    unsigned char *rgb = malloc((size_t)f.width * f.height * 3);
    assert_non_null(rgb);
    if (iid_render(ctx, &f, &r, rgb, &err) != IID_OK) fail_msg("%s", err.msg);
    iid_face_prep_free(&f);
    return rgb;
}

static void test_engine_switch_with_text_modules(void **state)
{
    (void)state;
    char *lora = text_lora();
    const char *fused[] = {lora};
    size_t n = 64 * 64 * 3;
    iid_ctx_t *plain = open_ctx(NULL, 0, NULL);
    unsigned char *want_off = render(plain, 0);
    iid_error_t err;
    iid_face_prep_t f = {0};
    assert_false(iid_ctx_lcm(plain)); /* no LCM-LoRA: asking for LCM mode fails, naming it */
    assert_int_equal(iid_prepare_face_file(plain, face, NULL, &f, &err), IID_OK);
    iid_render_params_t r;
    iid_render_params_init(&r);
    r.prompt = "a person";
    r.lcm = 1;
    unsigned char *rgb = malloc((size_t)f.width * f.height * 3);
    assert_int_equal(iid_render(plain, &f, &r, rgb, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "LCM"));
    iid_ctx_stats_t st;
    iid_ctx_get_stats(plain, &st);
    assert_int_equal(st.lcm_switches, 0);
    free(rgb);
    iid_face_prep_free(&f);
    iid_ctx_free(plain);
    iid_ctx_t *lcm_fused = open_ctx(fused, 1, NULL);
    unsigned char *want_on = render(lcm_fused, 0);
    iid_ctx_free(lcm_fused);
    assert_true(memcmp(want_off, want_on, n) != 0); /* the text LoRA changes the image */

    iid_ctx_t *ctx = open_ctx(NULL, 0, lora);
    assert_true(iid_ctx_lcm(ctx));
    static const int modes[] = {0, 1, 1, 0};
    for (int i = 0; i < 4; i++) {
        unsigned char *got = render(ctx, modes[i]);
        if (memcmp(got, modes[i] ? want_on : want_off, n) != 0)
            fail_msg("render %d (lcm %d) differs from a context loaded %s the LoRA", i, modes[i],
                     modes[i] ? "with" : "without");
        free(got);
    }
    iid_ctx_get_stats(ctx, &st);
    assert_int_equal(st.lcm_switches, 2); /* off -> on, on -> off; on -> on keeps the UNet */
    assert_int_equal(st.text_encodes, 3); /* each switch dropped the cached embeddings */
    assert_int_equal(st.text_hits, 1);
    iid_ctx_free(ctx);
    free(want_off);
    free(want_on);
    free(lora);
}

static int setup(void **state)
{
    (void)state;
    iid_test_shared();
    if (system("curl --version >/dev/null 2>&1") != 0) {
        printf("SKIP: curl is not installed\n");
        exit(77);
    }
    dir = iid_test_tempdir();
    heads = iid_test_kit_resampler_heads();
    assert_non_null(realpath(iid_test_shared_path("assets/faces/frontal_astronaut.png"), face));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_switches_per_job),
        cmocka_unit_test(test_serve_without_lcm_lora),
        cmocka_unit_test(test_engine_switch_with_text_modules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
