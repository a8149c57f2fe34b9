/*
 * test_cli_generate.c - `instantid generate` end to end on the kit's tiny models:
 * the demo pipeline's golden run reproduced from its own inputs (within one level
 * per channel), a run from a real photo, and the failures a user meets (no face,
 * a bad file, missing models) as one-line errors with the right exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "io/png_write.h"
#include "io/safetensors.h"
#include "support.h"

static char *dir;

/* Run the binary with args; stderr goes to dir/err. */
static int run(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out 2>err </dev/null", dir, iid_test_binary(), args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
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

/* The kit's resampler head count (golden/ip_adapter_layout.json). */
static int kit_heads(void)
{
    iid_json_t j;
    assert_int_equal(iid__json_load(&j, iid_test_shared_path("conformance/golden/ip_adapter_layout.json"), NULL), IID_OK);
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j.root, "resampler_hyperparameters");
    int heads = (int)cJSON_GetObjectItemCaseSensitive(hp, "heads")->valuedouble;
    iid__json_free(&j);
    return heads;
}

static void test_reproduces_golden_demo_run(void **state)
{
    (void)state;
    /* The watercolor run of the demo pipeline: its settings are in pipeline_full.json. */
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
    if (!run_cfg) iid_test_skip("the kit's pipeline_full.json has no run without a mask box");
    char golden[4096], models[4096], args[32768];
    int heads = kit_heads();
    snprintf(golden, sizeof golden, "%s", iid_test_shared_path("conformance/golden"));
    snprintf(models, sizeof models, "%s", iid_test_shared_path("conformance/models"));
    const char *name = run_cfg->string;
    int w = (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "width")->valuedouble;
    int h = (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "height")->valuedouble;
    snprintf(args, sizeof args,
             "generate --models '%s' --resampler-heads %d --face-embedding '%s/%s.safetensors:input.face_embedding' "
             "--kps '%s/%s.safetensors:input.kps' --latents '%s/%s.safetensors:input.latents' --size %dx%d "
             "--style '%s' --prompt '%s' --negative-prompt '%s' --steps %d --guidance %g "
             "--identitynet-strength %g --adapter-strength %g -o out.png",
             models, heads, golden, name, golden, name, golden, name, w, h,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "style")->valuestring,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "user_prompt")->valuestring,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "user_negative")->valuestring,
             (int)cJSON_GetObjectItemCaseSensitive(run_cfg, "steps")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "guidance")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "cn_scale")->valuedouble,
             cJSON_GetObjectItemCaseSensitive(run_cfg, "ip_scale")->valuedouble);
    int rc = run(args);
    if (rc != 0) fail_msg("generate failed: %s", read_text("err"));
    char png[4096], st_path[8192];
    snprintf(png, sizeof png, "%s/out.png", dir);
    snprintf(st_path, sizeof st_path, "%s/%s.safetensors", golden, name);
    iid_image_t img;
    assert_int_equal(iid__image_load(&img, png, NULL, NULL), IID_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    iid_safetensors_t st;
    assert_int_equal(iid__st_open(&st, st_path, NULL), IID_OK);
    const iid_st_tensor_t *ref = iid__st_find(&st, "output.image_uint8");
    assert_non_null(ref);
    assert_int_equal(ref->nbytes, (size_t)w * h * 3);
    const uint8_t *want = ref->data;
    int max_diff = 0;
    for (size_t i = 0; i < ref->nbytes; i++) {
        int d = abs((int)img.data[i] - (int)want[i]);
        if (d > max_diff) max_diff = d;
    }
    assert_true(max_diff <= 1);
    char *params;
    assert_int_equal(iid__png_read_text(png, "parameters", &params, NULL), IID_OK);
    assert_non_null(strstr(params, cJSON_GetObjectItemCaseSensitive(run_cfg, "prompt")->valuestring));
    assert_non_null(strstr(params, "Steps: 4, Sampler: euler, CFG scale: 5"));
    free(params);
    iid__st_close(&st);
    iid__image_free(&img);
    iid__json_free(&cfg);
}

static void test_from_photo_and_failures(void **state)
{
    (void)state;
    char args[16384], models_copy[4096], face[4096];
    int heads = kit_heads(); /* before the paths: iid_test_shared_path reuses one buffer */
    snprintf(models_copy, sizeof models_copy, "%s", iid_test_shared_path("conformance/models"));
    snprintf(face, sizeof face, "%s", iid_test_shared_path("assets/faces/frontal_astronaut.png"));
    snprintf(args, sizeof args,
             "generate --models '%s' --resampler-heads %d --face '%s' --size 64x64 --steps 2 --seed 5 -o photo.png",
             models_copy, heads, face);
    if (run(args) != 0) fail_msg("generate from a photo failed: %s", read_text("err"));
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
    char *e = read_text("err");
    assert_non_null(strstr(e, "noface_coffee.png: no face found"));
    assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e));
    free(e);
    /* A broken file: exit 2, the reason. */
    snprintf(args, sizeof args, "generate --models '%s' --resampler-heads %d --face '%s' --steps 1 -o x.png",
             models_copy, heads, iid_test_shared_path("assets/bad-inputs/truncated.png"));
    assert_int_equal(run(args), 2);
    e = read_text("err");
    assert_non_null(strstr(e, "truncated.png: truncated PNG data"));
    free(e);
    /* Missing models: exit 2, the path. */
    assert_int_equal(run("generate --models nowhere --face x.png -o x.png"), 2);
    e = read_text("err");
    assert_non_null(strstr(e, "nowhere/"));
    free(e);
    char x[4096];
    snprintf(x, sizeof x, "%s/x.png", dir);
    assert_false(iid__is_file(x)); /* nothing written on failure */
}

int main(void)
{
    iid_test_shared();
    dir = iid_test_tempdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproduces_golden_demo_run),
        cmocka_unit_test(test_from_photo_and_failures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    iid_test_rmtree(dir);
    free(dir);
    return rc;
}
