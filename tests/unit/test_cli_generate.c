/*
 * test_cli_generate.c - `instantid generate` end to end on the kit's tiny models:
 * the demo pipeline's golden run reproduced from its own inputs (within one level
 * per channel), a run from a real photo, and the failures a user meets (no face,
 * a bad file, missing models, a --backend that cannot run) as one-line errors with
 * the right exit status.
 */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/png_write.h"
#include "io/safetensors.h"
#include "a1111_parse.h"
#include "ops/backend.h"
#include "pipeline/scheduler.h"
#include "support.h"

static char *dir;

/* Run the binary with args; stderr goes to dir/stderr.txt. */
static int run(const char *args)
{
    return iid_test_run_binary(dir, args);
}

static char *read_text(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}


/* The demo pipeline's first unmasked golden run: its name, size and the generate
 * arguments that reproduce it from its own inputs, with `models_args` for the
 * model options (e.g. "--models DIR"). Returns 0 when the kit has no such run. */
typedef struct golden_run {
    char name[256];
    int w, h;
} golden_run_t;

static int golden_args(char *args, size_t cap, const char *models_args, golden_run_t *g)
{
    iid_json_t cfg;
    assert_int_equal(iid__json_load(&cfg, iid_test_shared_path("conformance/golden/pipeline_full.json"), NULL), IID_OK);
    const cJSON *run_cfg = NULL, *it;
    cJSON_ArrayForEach(it, cfg.root)
    {
        const cJSON *mask = cJSON_GetObjectItemCaseSensitive(it, "mask_box");
        if (!mask || cJSON_IsNull(mask)) {
            run_cfg = it;
            break;
        }
    }
    if (!run_cfg) {
        iid__json_free(&cfg);
        return 0;
    }
    char golden[4096];
    int heads = iid_test_kit_resampler_heads();
    snprintf(golden, sizeof golden, "%s", iid_test_shared_path("conformance/golden"));
    const char *name = run_cfg->string;
    snprintf(g->name, sizeof g->name, "%s", name);
    g->w = (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "width")->valuedouble;
    g->h = (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "height")->valuedouble;
    snprintf(args, cap,
             "generate %s --resampler-heads %d --face-embedding '%s/%s.safetensors:input.face_embedding' "
             "--kps '%s/%s.safetensors:input.kps' --latents '%s/%s.safetensors:input.latents' --size %dx%d "
             "--style '%s' --prompt '%s' --negative-prompt '%s' --steps %d --guidance %g "
             "--identitynet-strength %g --adapter-strength %g -o out.png",
             models_args, heads, golden, name, golden, name, golden, name, g->w, g->h,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "style")->valuestring,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "user_prompt")->valuestring,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "user_negative")->valuestring,
             (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "steps")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "guidance")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "cn_scale")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "ip_scale")->valuedouble);
    iid__json_free(&cfg);
    return 1;
}

/* The largest per-channel difference between out.png and the golden run's image. */
static int diff_from_golden(const golden_run_t *g)
{
    char png[4096], st_path[8192];
    snprintf(png, sizeof png, "%s/out.png", dir);
    snprintf(st_path, sizeof st_path, "%s/%s.safetensors", iid_test_shared_path("conformance/golden"), g->name);
    iid_image_t img;
    assert_int_equal(iid__image_load(&img, png, NULL, NULL), IID_OK);
    assert_int_equal(img.width, g->w);
    assert_int_equal(img.height, g->h);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, st_path, NULL), IID_OK);
    const iid_st_tensor_t *ref = iid__st_find(&st, "output.image_uint8");
    assert_non_null(ref);
    assert_int_equal(ref->nbytes, (size_t)g->w * g->h * 3);
    const uint8_t *want = ref->data;
    int max_diff = 0;
    for (size_t i = 0; i < ref->nbytes; i++) {
        int d = abs((int)img.data[i] - (int)want[i]);
        if (d > max_diff) max_diff = d;
    }
    iid__st_close(&st);
    iid__image_free(&img);
    return max_diff;
}

static void test_reproduces_golden_demo_run(void **state)
{
    (void)state;
    /* The watercolor run of the demo pipeline: its settings are in pipeline_full.json. */
    char models[4096], args[32768];
    golden_run_t g;
    snprintf(models, sizeof models, "--models '%s'", iid_test_shared_path("conformance/models"));
    if (!golden_args(args, sizeof args, models, &g)) iid_test_skip("the kit's pipeline_full.json has no run without a mask box");
    iid_json_t cfg;
    assert_int_equal(iid__json_load(&cfg, iid_test_shared_path("conformance/golden/pipeline_full.json"), NULL), IID_OK);
    const cJSON *run_cfg = cJSON_GetObjectItemCaseSensitive(cfg.root, g.name);
    int rc = run(args);
    if (rc != 0) fail_msg("generate failed: %s", read_text("stderr.txt"));
    assert_true(diff_from_golden(&g) <= 1);
    char png[4096];
    snprintf(png, sizeof png, "%s/out.png", dir);
    char *params;
    assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
    assert_non_null(strstr(params, cJSON_GetObjectItemCaseSensitive(run_cfg, "prompt")->valuestring));
    assert_non_null(strstr(params, "Steps: 4, Sampler: Euler, Schedule type: Uniform, CFG scale: "));
    free(params);
    iid__json_free(&cfg);
}

static void test_from_photo_and_failures(void **state)
{
    (void)state;
    char args[16384], models_copy[4096], face[4096];
    int heads = iid_test_kit_resampler_heads(); /* before the paths: iid_test_shared_path reuses one buffer */
    snprintf(models_copy, sizeof models_copy, "%s", iid_test_shared_path("conformance/models"));
    snprintf(face, sizeof face, "%s", iid_test_shared_path("assets/faces/frontal_astronaut.png"));
    snprintf(args, sizeof args,
             "generate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 2 --seed 5 -o photo.png",
             models_copy, heads, face);
    if (run(args) != 0) fail_msg("generate from a photo failed: %s", read_text("stderr.txt"));
    /* Off a terminal: the estimate, then a plain line per 10% with elapsed and remaining time. */
    char *progress = read_text("stderr.txt");
    assert_non_null(strstr(progress, "instantid generate: 64x64, 2 steps, seed 5, style Watercolor; estimated "));
    assert_non_null(strstr(progress, "\nstep 1/2 (50%), elapsed "));
    assert_non_null(strstr(progress, "\nstep 2/2 (100%), elapsed "));
    assert_non_null(strstr(progress, ", left ~"));
    assert_null(strchr(progress, '\r'));
    free(progress);
    char png[4096];
    snprintf(png, sizeof png, "%s/photo.png", dir);
    iid_image_t img;
    assert_int_equal(iid__image_load(&img, png, NULL, NULL), IID_OK);
    assert_int_equal(img.width, 64);
    iid__image_free(&img);

    /* No face: exit 1, one line naming the file. */
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 1 -o x.png",
             models_copy, heads, iid_test_shared_path("assets/faces/noface_coffee.png"));
    assert_int_equal(run(args), 1);
    char *e = read_text("stderr.txt");
    assert_non_null(strstr(e, "noface_coffee.png: no face found"));
    assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e));
    free(e);
    /* A broken file: exit 2, the reason. */
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --face '%s' --steps 1 -o x.png",
             models_copy, heads, iid_test_shared_path("assets/bad-inputs/truncated.png"));
    assert_int_equal(run(args), 2);
    e = read_text("stderr.txt");
    assert_non_null(strstr(e, "truncated.png: truncated PNG data"));
    free(e);
    /* Missing models: exit 2, the path. */
    assert_int_equal(run("generate --models nowhere --face x.png -o x.png"), 2);
    e = read_text("stderr.txt");
    assert_non_null(strstr(e, "nowhere/"));
    free(e);
    char x[4096];
    snprintf(x, sizeof x, "%s/x.png", dir);
    assert_false(iid__is_file(x)); /* nothing written on failure */
}

/* --backend cuda where it cannot run: exit 2 and one line saying why, before any
 * file is read. Without -DIID_CUDA: "not compiled in"; with it but no GPU: the
 * CUDA runtime's cudaGetDeviceCount error. With a GPU there is nothing to refuse. */
static void test_backend_cuda_refused_in_one_line(void **state)
{
    (void)state;
#ifdef IID_CUDA
    if (iid__backend_find("cuda")) skip(); /* a GPU answers: the refusal cannot happen here */
    const char *want = "cudaGetDeviceCount";
#else
    const char *want = "backend 'cuda' is not compiled in";
#endif
    assert_int_equal(run("generate --backend cuda --face nothing.png -o x.png"), 2);
    char *e = read_text("stderr.txt");
    if (!strstr(e, want)) fail_msg("expected '%s' in: %s", want, e);
    assert_null(strstr(e, "nothing.png")); /* refused before the face is read */
    assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e));
    free(e);
}

/* The single-file checkpoint (configs from the kit folder) reproduces the golden
 * run; with a LoRA the run goes through, changes the image, and the PNG records
 * the LoRA as AUTOMATIC1111 does. */
static void test_single_file_and_lora(void **state)
{
    (void)state;
    char models[16384], args[49152];
    golden_run_t g;
    size_t n = (size_t)snprintf(models, sizeof models, "--models '%s'", iid_test_shared_path("conformance/models"));
    n += (size_t)snprintf(models + n, sizeof models - n, " --sdxl '%s'",
                          iid_test_shared_path("conformance/single_file/sdxl_sgm.safetensors"));
    n += (size_t)snprintf(models + n, sizeof models - n, " --sdxl-config '%s'", iid_test_shared_path("conformance/models/sdxl"));
    if (!golden_args(args, sizeof args, models, &g)) iid_test_skip("the kit's pipeline_full.json has no run without a mask box");
    if (run(args) != 0) fail_msg("generate from the single file failed: %s", read_text("stderr.txt"));
    assert_true(diff_from_golden(&g) <= 1);

    snprintf(models + n, sizeof models - n, " --lora '%s:0.7'", iid_test_shared_path("conformance/lora/lora_kohya.safetensors"));
    assert_true(golden_args(args, sizeof args, models, &g));
    if (run(args) != 0) fail_msg("generate with --lora failed: %s", read_text("stderr.txt"));
    assert_true(diff_from_golden(&g) > 1);
    char png[4096], *params;
    snprintf(png, sizeof png, "%s/out.png", dir);
    assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
    char *neg = strstr(params, "\nNegative prompt:");
    assert_non_null(neg);
    assert_non_null(strstr(params, " <lora:lora_kohya:0.7>\nNegative prompt:"));
    free(params);
    /* --lora twice: both fused, one after the other (0.35 + 0.35 is the 0.7 above) */
    iid_image_t once, twice;
    assert_int_equal(iid__image_load(&once, png, NULL, NULL), IID_OK);
    char lora[4200];
    snprintf(lora, sizeof lora, "%s", iid_test_shared_path("conformance/lora/lora_kohya.safetensors"));
    snprintf(models + n, sizeof models - n, " --lora '%s:0.35' --lora '%s:0.35'", lora, lora);
    assert_true(golden_args(args, sizeof args, models, &g));
    if (run(args) != 0) fail_msg("generate with two --lora failed: %s", read_text("stderr.txt"));
    assert_int_equal(iid__image_load(&twice, png, NULL, NULL), IID_OK);
    int max_diff = 0;
    for (size_t i = 0; i < (size_t)g.w * g.h * 3; i++)
        if (abs((int)once.data[i] - (int)twice.data[i]) > max_diff) max_diff = abs((int)once.data[i] - (int)twice.data[i]);
    assert_true(max_diff <= 1);
    assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
    assert_non_null(strstr(params, " <lora:lora_kohya:0.35> <lora:lora_kohya:0.35>\nNegative prompt:"));
    free(params);
    iid__image_free(&once);
    iid__image_free(&twice);
}

static char *models_linked(int lcm, int single);

/* models/sdxl as a single file finds models/sdxl-config by itself, and the
 * IdentityNet as one config-less file runs exactly as from its folder. */
static void test_single_file_models_folder(void **state)
{
    (void)state;
    char *models = models_linked(0, 1), models_args[4200], args[32768];
    golden_run_t g;
    snprintf(models_args, sizeof models_args, "--models '%s'", models);
    assert_true(golden_args(args, sizeof args, models_args, &g));
    if (run(args) != 0) fail_msg("generate from models/sdxl as one file failed: %s", read_text("stderr.txt"));
    assert_true(diff_from_golden(&g) <= 1);
    iid_test_rmtree(models);
    free(models);
}

/* A models folder of links to the kit's, plus the LCM-LoRA when lcm is set; with
 * single, models/sdxl is the kit's single-file checkpoint, models/sdxl-config the
 * kit's diffusers folder (what download-models.sh --only sdxl-config gives) and the
 * IdentityNet the weights file alone, models/ControlNetModel.safetensors. */
static char *models_linked(int lcm, int single)
{
    char *m = iid_test_tempdir(), link[PATH_MAX + 64], target[PATH_MAX + 64], models[PATH_MAX];
    const char *parts[] = {"sdxl", "ControlNetModel", "ip-adapter.bin", "antelopev2"};
    assert_non_null(realpath(iid_test_shared_path("conformance/models"), models)); /* links resolve from their folder */
    for (int i = 0; i < 4; i++) {
        snprintf(target, sizeof target, "%s/%s", models, parts[i]);
        if (i == 1 && single) {
            snprintf(target, sizeof target, "%s/ControlNetModel/diffusion_pytorch_model.safetensors", models);
            snprintf(link, sizeof link, "%s/ControlNetModel.safetensors", m);
        } else
            snprintf(link, sizeof link, "%s/%s", m, i == 0 && single ? "sdxl-config" : parts[i]);
        assert_int_equal(symlink(target, link), 0);
    }
    if (single) {
        assert_non_null(realpath(iid_test_shared_path("conformance/single_file/sdxl_sgm.safetensors"), target));
        snprintf(link, sizeof link, "%s/sdxl", m);
        assert_int_equal(symlink(target, link), 0);
    }
    if (lcm) iid_test_link_lcm_lora(m);
    return m;
}

/* --lcm: the demo's LCM toggle (scheduler, 5 steps, guidance 1.5, the LCM-LoRA). */
static void test_lcm_mode(void **state)
{
    (void)state;
    char *models = models_linked(1, 0), *bare = models_linked(0, 0);
    char golden[4096], args[32768];
    int heads = iid_test_kit_resampler_heads();
    golden_run_t g;
    snprintf(golden, sizeof golden, "%s", iid_test_shared_path("conformance/golden"));
    char models_args[4200];
    snprintf(models_args, sizeof models_args, "--models '%s'", models);
    assert_true(golden_args(args, sizeof args, models_args, &g));
    snprintf(args, sizeof args,
             "generate --models '%s' --lcm --resampler-heads %d --face-embedding '%s/%s.safetensors:input.face_embedding' "
             "--kps '%s/%s.safetensors:input.kps' --size %dx%d --seed 3 -o out.png",
             models, heads, golden, g.name, golden, g.name, g.w, g.h);
    if (run(args) != 0) fail_msg("generate --lcm failed: %s", read_text("stderr.txt"));
    char png[4096], *params;
    snprintf(png, sizeof png, "%s/out.png", dir);
    assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
    if (!strstr(params, "Steps: 5, Sampler: LCM, Schedule type: Uniform, CFG scale: 1.5") ||
        !strstr(params, "<lora:lcm-lora-sdxl:1>\n"))
        fail_msg("parameters: %s", params);
    free(params);
    /* another scheduler contradicts --lcm; a models folder without the LoRA says how to get it */
    char *with_sched = malloc(strlen(args) + 32);
    snprintf(with_sched, strlen(args) + 32, "%s --scheduler heun", args);
    assert_int_equal(run(with_sched), 2);
    char *e = read_text("stderr.txt");
    assert_non_null(strstr(e, "--lcm"));
    free(e);
    free(with_sched);
    char *at = strstr(args, models);
    assert_non_null(at);
    char *bare_args = malloc(strlen(args) + strlen(bare) + 1);
    snprintf(bare_args, strlen(args) + strlen(bare) + 1, "%.*s%s%s", (int)(at - args), args, bare, at + strlen(models));
    assert_int_equal(run(bare_args), 2);
    e = read_text("stderr.txt");
    assert_non_null(strstr(e, "lcm-lora-sdxl/pytorch_lora_weights.safetensors"));
    assert_non_null(strstr(e, "download-models.sh --lcm"));
    free(e);
    free(bare_args);
    iid_test_rmtree(models);
    iid_test_rmtree(bare);
    free(models);
    free(bare);
}

/* Checkpoints of other families and LoRAs for other models fail in one line. */
static void test_unusable_checkpoints(void **state)
{
    (void)state;
    static float z[4];
    iid_test_tensor_t sd15[] = {{"model.diffusion_model.out.0.weight", "F32", 1, {4}, z},
                                {"cond_stage_model.transformer.text_model.final_layer_norm.weight", "F32", 1, {4}, z}};
    char *ckpt = iid_test_write_safetensors(dir, "v1-5.safetensors", sd15, 2);
    iid_test_tensor_t lora[] = {{"lora_unet_mid_block_nothing_here.lora_down.weight", "F32", 2, {1, 4}, z},
                                {"lora_unet_mid_block_nothing_here.lora_up.weight", "F32", 2, {4, 1}, z}};
    char *lpath = iid_test_write_safetensors(dir, "other.safetensors", lora, 2);
    char models[4096], args[16384];
    int heads = iid_test_kit_resampler_heads();
    snprintf(models, sizeof models, "%s", iid_test_shared_path("conformance/models"));
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --sdxl '%s' --face x.png -o x.png", models,
             heads, ckpt);
    assert_int_equal(run(args), 2);
    char *e = read_text("stderr.txt");
    if (!strstr(e, "v1-5.safetensors: a Stable Diffusion 1.x checkpoint")) fail_msg("%s", e);
    assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e));
    free(e);
    snprintf(args, sizeof args,
             "generate --models '%s' --resampler-heads %d --lora '%s' --face-embedding '%s:input.face_embedding' "
             "--kps '%s:input.kps' --size 64x64 -o x.png",
             models, heads, lpath, iid_test_shared_path("conformance/golden/pipeline_h64_w64.safetensors"),
             iid_test_shared_path("conformance/golden/pipeline_h64_w64.safetensors"));
    assert_int_equal(run(args), 2);
    e = read_text("stderr.txt");
    if (!strstr(e, "other.safetensors") || !strstr(e, "mid_block_nothing_here")) fail_msg("%s", e);
    free(e);
    free(ckpt);
    free(lpath);
}

/* Every scheduler's PNG read back by A1111's rules and as a ComfyUI graph. */
static void test_metadata_every_scheduler(void **state)
{
    (void)state;
    char args[16384], models_copy[4096], face[4096], png[4200];
    int heads = iid_test_kit_resampler_heads();
    snprintf(models_copy, sizeof models_copy, "%s", iid_test_shared_path("conformance/models"));
    snprintf(face, sizeof face, "%s", iid_test_shared_path("assets/faces/frontal_astronaut.png"));
    snprintf(png, sizeof png, "%s/sched.png", dir);
    for (int i = 0; iid__sched_name_at(i); i++) {
        const char *name = iid__sched_name_at(i), *want_schedule = NULL, *want = a1111_expected(name, &want_schedule);
        assert_non_null(want);
        snprintf(args, sizeof args,
                 "generate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 2 --seed %d "
                 "--scheduler %s --guidance 7.3 --identitynet-strength 0.85 --adapter-strength 1.2345678901 "
                 "--style 'Film Noir' --prompt 'a man, outdoors: sunny' --negative-prompt '' -o sched.png",
                 models_copy, heads, face, 1000 + i, name);
        if (run(args) != 0) fail_msg("generate --scheduler %s failed: %s", name, read_text("stderr.txt"));
        char *params, *graph;
        assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
        assert_int_equal(iid__png_read_text(png, "prompt", &graph, NULL), IID_OK);
        a1111_params_t p;
        a1111_parse(params, &p);
        char sampler[64];
        const char *schedule;
        a1111_sampler_and_schedule(a1111_get(&p, "Sampler"), a1111_get(&p, "Schedule type"), sampler, sizeof sampler,
                                   &schedule);
        if (strcmp(sampler, want) || strcmp(schedule, want_schedule))
            fail_msg("%s: A1111 reads %s / %s, expected %s / %s", name, sampler, schedule, want, want_schedule);
        assert_string_equal(a1111_get(&p, "CFG scale"), "7.3");
        assert_string_equal(a1111_get(&p, "IdentityNet strength"), "0.85");
        assert_string_equal(a1111_get(&p, "Adapter strength"), "1.2345678901");
        assert_string_equal(a1111_get(&p, "Steps"), "2");
        assert_string_equal(a1111_get(&p, "Size-1"), "64");
        assert_string_equal(a1111_get(&p, "Style"), "Film Noir");
        assert_string_equal(a1111_get(&p, "Face image"), "frontal_astronaut.png");
        assert_string_equal(a1111_get(&p, "Model"), "sdxl"); /* the kit's folder name */
        const char *hash = a1111_get(&p, "Model hash");
        assert_non_null(hash);
        assert_int_equal(strspn(hash, "0123456789abcdef"), 10);
        assert_int_equal(strlen(hash), 10);
        assert_non_null(strstr(p.prompt, "a man, outdoors: sunny"));
        a1111_free(&p);
        cJSON *g = cJSON_Parse(graph);
        if (!g) fail_msg("%s: the prompt chunk is not JSON: %s", name, graph);
        int instantid_nodes = 0;
        const cJSON *n;
        cJSON_ArrayForEach(n, g)
        {
            const char *cls = cJSON_GetObjectItemCaseSensitive(n, "class_type")->valuestring;
            instantid_nodes += !strcmp(cls, "InstantIDModelLoader") + !strcmp(cls, "InstantIDFaceAnalysis") +
                               !strcmp(cls, "ApplyInstantIDAdvanced");
        }
        assert_int_equal(instantid_nodes, 3);
        cJSON_Delete(g);
        free(graph);
        free(params);
    }
}

/* bench --calibrate records this machine's speed for the kit's models in a fresh
 * cache folder, and a later dry run of a batch on those models uses it. */
static void test_bench_calibrate(void **state)
{
    (void)state;
    char args[16384], models_copy[4096], face[4096], cache[4200];
    int heads = iid_test_kit_resampler_heads();
    snprintf(models_copy, sizeof models_copy, "%s", iid_test_shared_path("conformance/models"));
    snprintf(face, sizeof face, "%s", iid_test_shared_path("assets/faces/frontal_astronaut.png"));
    const char *old = getenv("IID_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    snprintf(cache, sizeof cache, "%s/bench-cache", dir);
    setenv("IID_CACHE_DIR", cache, 1);
    snprintf(args, sizeof args, "bench --calibrate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 3",
             models_copy, heads, face);
    if (run(args) != 0) fail_msg("bench --calibrate failed: %s", read_text("stderr.txt"));
    char *out = read_text("stdout.txt");
    assert_non_null(strstr(out, "measured on this machine"));
    assert_non_null(strstr(out, "s per unit of work"));
    free(out);
    char path[4300];
    snprintf(path, sizeof path, "%s/speed.tsv", cache);
    char *tsv = iid_test_slurp(path);
    assert_int_equal(iid_test_count_lines(tsv), 1);
    assert_int_equal(strncmp(tsv, "cpu f32 ", 8), 0);
    free(tsv);
    snprintf(args, sizeof args, "batch --dry-run --models '%s' --input '%s' --size 64x64", models_copy,
             iid_test_shared_path("assets/faces"));
    assert_int_equal(run(args), 0);
    char *e = read_text("stderr.txt");
    assert_non_null(strstr(e, "measured on this machine"));
    free(e);
    /* --dtype auto keeps its speed under what it resolves to here ("auto" is f32
     * on one CPU and bf16 on another), and uses the f32 one where that is f32 */
    iid_compute_dtype_t c;
    iid_error_t err;
    assert_int_equal(iid__compute_dtype_choose("auto", &c, &err), IID_OK);
    const char *resolved = c.dtype == IID_DTYPE_BF16 ? "bf16" : "f32";
    snprintf(args, sizeof args, "batch --dry-run --models '%s' --input '%s' --size 64x64 --dtype auto", models_copy,
             iid_test_shared_path("assets/faces"));
    assert_int_equal(run(args), 0);
    e = read_text("stderr.txt");
    if ((strstr(e, "measured on this machine") != NULL) != (c.dtype == IID_DTYPE_F32))
        fail_msg("--dtype auto (%s here) and the f32 speed: %s", c.why, e);
    free(e);
    snprintf(args, sizeof args,
             "bench --calibrate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 3 --dtype auto",
             models_copy, heads, face);
    if (run(args) != 0) fail_msg("bench --calibrate --dtype auto failed: %s", read_text("stderr.txt"));
    tsv = iid_test_slurp(path);
    char want[32];
    snprintf(want, sizeof want, "cpu %s ", resolved);
    if (strstr(tsv, " auto ") || !strstr(tsv, want))
        fail_msg("speed.tsv after --dtype auto (%s here): %s", c.why, tsv);
    free(tsv);
    if (saved) setenv("IID_CACHE_DIR", saved, 1);
    else unsetenv("IID_CACHE_DIR");
    free(saved);
}

int main(void)
{
    iid_test_shared();
    dir = iid_test_tempdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproduces_golden_demo_run),
        cmocka_unit_test(test_from_photo_and_failures),
        cmocka_unit_test(test_single_file_and_lora),
        cmocka_unit_test(test_lcm_mode),
        cmocka_unit_test(test_single_file_models_folder),
        cmocka_unit_test(test_unusable_checkpoints),
        cmocka_unit_test(test_metadata_every_scheduler),
        cmocka_unit_test(test_bench_calibrate),
        cmocka_unit_test(test_backend_cuda_refused_in_one_line),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    iid_test_rmtree(dir);
    free(dir);
    return rc;
}
