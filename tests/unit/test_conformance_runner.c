/*
 * test_conformance_runner.c - the conformance runner cannot pass by accident.
 *
 * A small kit is built in a temporary folder from the real kit's draw_kps case
 * (the one stage that needs no model), then damaged the ways a kit can be: a file
 * the manifest lists is missing, a golden tensor no stage compares, a golden file no
 * stage reads, a face-kit file of the wrong size, a tensor the manifest lists that
 * the file lacks. The runner must exit 1 and name each; a file its PENDING list
 * names is printed as PENDING; and a kit where every file is used passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "io/file.h"
#include "io/safetensors.h"
#include "support.h"

static char *dir;

static const char *runner(void)
{
    const char *r = getenv("IID_CONFORMANCE");
    if (!r || !*r) {
        printf("SKIP: IID_CONFORMANCE is not set (run under CTest)\n");
        exit(77);
    }
    return r;
}

/* Run the runner on dir/kit with dir/PENDING; its output in *out, its exit code returned. */
static int run(char **out)
{
    char cmd[16384], path[4200];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' --kit kit --pending PENDING >out 2>&1 </dev/null", dir, runner());
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_equal(iid__file_read_all(path, 1 << 22, out, NULL, NULL), IID_OK);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void expect(const char *out, const char *line)
{
    if (!strstr(out, line)) fail_msg("runner output lacks '%s':\n%s", line, out);
}

/* kit/golden/draw_kps.safetensors with case0 of the real kit, plus `extra` tensors. */
static void write_draw_kps(int with_extra)
{
    iid_safetensors_t real;
    assert_int_equal(iid__st_open(&real, iid_test_shared_path("conformance/golden/draw_kps.safetensors"), NULL), IID_OK);
    const iid_st_tensor_t *kps = iid__st_find(&real, "case0.kps"), *img = iid__st_find(&real, "case0.image");
    assert_non_null(kps);
    assert_non_null(img);
    float extra = 1.0f;
    iid_test_tensor_t t[3] = {
        {"case0.image", "U8", 3, {img->shape[0], img->shape[1], img->shape[2]}, img->data},
        {"case0.kps", "F32", 2, {kps->shape[0], kps->shape[1]}, kps->data},
        {"case0.unread", "F32", 1, {1}, &extra},
    };
    char golden[4200];
    snprintf(golden, sizeof golden, "%s/kit/golden", dir);
    free(iid_test_write_safetensors(golden, "draw_kps.safetensors", t, with_extra ? 3 : 2));
    iid__st_close(&real);
}

static void write_manifests(const char *golden_manifest, const char *faces_manifest)
{
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/kit/golden", dir);
    free(iid_test_write(sub, "MANIFEST.json", golden_manifest, strlen(golden_manifest)));
    snprintf(sub, sizeof sub, "%s/kit/faces", dir);
    free(iid_test_write(sub, "MANIFEST.json", faces_manifest, strlen(faces_manifest)));
}

static int setup(void **state)
{
    (void)state;
    iid_test_shared();
    dir = iid_test_tempdir();
    assert_non_null(dir);
    char sub[4200];
    const char *dirs[] = {"kit", "kit/golden", "kit/faces", "kit/faces/golden"};
    for (int i = 0; i < 4; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, dirs[i]);
        assert_int_equal(mkdir(sub, 0755), 0);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

static const char DRAW_KPS_ENTRY[] =
    "\"draw_kps.safetensors\":{\"tensors\":{\"case0.kps\":{\"dtype\":\"float32\",\"shape\":[5,2]},"
    "\"case0.image\":{\"dtype\":\"uint8\",\"shape\":[64,64,3]}}}";

static void test_damaged_kit_fails_naming_each_defect(void **state)
{
    (void)state;
    char golden[4200], faces[4200], manifest[2048];
    snprintf(golden, sizeof golden, "%s/kit/golden", dir);
    snprintf(faces, sizeof faces, "%s/kit/faces/golden", dir);
    write_draw_kps(1);
    snprintf(manifest, sizeof manifest,
             "{%s,\"gone.safetensors\":{\"tensors\":{}},"
             "\"listed.safetensors\":{\"tensors\":{\"absent\":{\"dtype\":\"float32\",\"shape\":[1]}}}}",
             DRAW_KPS_ENTRY);
    write_manifests(manifest, "{\"files\":[{\"path\":\"golden/short.json\",\"bytes\":999,\"sha256\":\"00\"}]}");
    free(iid_test_write(faces, "short.json", "{}", 2));
    float one = 1.0f;
    iid_test_tensor_t t = {"other", "F32", 1, {1}, &one};
    free(iid_test_write_safetensors(golden, "listed.safetensors", &t, 1));
    free(iid_test_write(golden, "unknown.bin", "x", 1));
    free(iid_test_write(golden, "waiting.bin", "x", 1));
    free(iid_test_write(dir, "PENDING", "# comment\ngolden/waiting.bin  its stage comes later\n", 52));

    char *out;
    assert_int_equal(run(&out), 1);
    expect(out, "PASS draw_kps case0 image");
    expect(out, "FAIL kit golden/gone.safetensors - listed in golden/MANIFEST.json but missing or unreadable");
    expect(out, "FAIL kit golden/listed.safetensors absent listed in golden/MANIFEST.json but not in the file");
    expect(out, "FAIL kit golden/draw_kps.safetensors case0.unread never compared nor used");
    expect(out, "FAIL kit golden/unknown.bin - no stage reads this golden file");
    expect(out, "FAIL kit golden/listed.safetensors - no stage reads this golden file");
    expect(out, "FAIL kit faces/golden/short.json - 2 bytes, faces/MANIFEST.json says 999");
    expect(out, "PENDING golden/waiting.bin its stage comes later");
    assert_null(strstr(out, "FAIL kit golden/waiting.bin"));
    free(out);
}

/* The same small kit with nothing unused: the runner's own checks pass, and a
 * PENDING entry for a file a stage reads fails so that the list only shrinks. */
static void test_clean_kit_and_stale_pending(void **state)
{
    (void)state;
    write_draw_kps(0);
    char manifest[2048];
    snprintf(manifest, sizeof manifest, "{%s}", DRAW_KPS_ENTRY);
    write_manifests(manifest, "{\"files\":[]}");
    free(iid_test_write(dir, "PENDING", "", 0));
    char *out;
    run(&out);
    expect(out, "PASS draw_kps case0 image");
    assert_null(strstr(out, "FAIL kit"));
    free(out);

    free(iid_test_write(dir, "PENDING", "golden/draw_kps.safetensors later\n", 35));
    assert_int_equal(run(&out), 1);
    expect(out, "FAIL kit golden/draw_kps.safetensors - a stage reads it now: remove its line");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_damaged_kit_fails_naming_each_defect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_kit_and_stale_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
