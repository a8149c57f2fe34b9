/* test_cli_faces.c - `instantid faces`, run as the built binary ($IID_BINARY):
 * help, usage errors, every shared photo against the face kit's detect and
 * recognition goldens (JSON output), the model choice in a folder with two
 * detectors and two recognisers, and every file of the bad-inputs folder in one
 * run (each gets its one-line error or its faces; the run goes on; exit 1). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "io/file.h"
#include "io/json.h"
#include "support.h"

static char *dir;
static char out_path[4096], err_path[4096];

/* Run `instantid faces ARGS`; stdout and stderr go to files. */
static int run(const char *args)
{
    char cmd[65536];
    snprintf(cmd, sizeof cmd, "'%s' faces %s >'%s' 2>'%s' </dev/null", iid_test_binary(), args, out_path, err_path);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* stdout parsed as JSON (an array). */
static void load_output(iid_json_t *j)
{
    char *text = iid_test_slurp(out_path);
    iid_error_t err;
    assert_int_equal(iid__json_parse(j, text, strlen(text), "stdout", &err), IID_OK);
    assert_true(cJSON_IsArray(j->root));
    free(text);
}

static int setup(void **state)
{
    (void)state;
    iid_test_binary();
    iid_test_shared();
    dir = iid_test_tempdir();
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

/* Sorted file names of a shared folder, as one shell-quoted argument string. */
static char *shared_files(const char *rel, char names[][256], int *n, int cap)
{
    char *folder = strdup(iid_test_shared_path(rel));
    DIR *d = opendir(folder);
    assert_non_null(d);
    struct dirent *e;
    *n = 0;
    while ((e = readdir(d)) && *n < cap)
        if (e->d_name[0] != '.') snprintf(names[(*n)++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)*n, 256, (int (*)(const void *, const void *))strcmp);
    size_t cap_args = (size_t)*n * 4400 + 1;
    char *args = calloc(1, cap_args);
    for (int i = 0; i < *n; i++) {
        size_t len = strlen(args);
        snprintf(args + len, cap_args - len, " '%s/%s'", folder, names[i]);
    }
    free(folder);
    return args;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    return v;
}

static void test_help_and_usage(void **state)
{
    (void)state;
    assert_int_equal(run("--help"), 0);
    char *out = iid_test_slurp(out_path);
    assert_non_null(strstr(out, "usage: instantid faces"));
    assert_non_null(strstr(out, "as given"));
    assert_non_null(strstr(out, "--json"));
    assert_non_null(strstr(out, "--face-models"));
    free(out);
    assert_int_equal(run(""), 2); /* no images */
    char *e = iid_test_slurp(err_path);
    assert_int_equal(iid_test_count_lines(e), 1);
    assert_non_null(strstr(e, "instantid faces:"));
    free(e);
    assert_int_equal(run("--face-models /nonexistent x.jpg"), 2);
    e = iid_test_slurp(err_path);
    assert_int_equal(iid_test_count_lines(e), 1);
    assert_non_null(strstr(e, "/nonexistent"));
    free(e);
    assert_int_equal(run("--bogus x.jpg"), 2);
}

/* One image object against golden/detect/<model>/<stem>.json (and the raw
 * embedding norm of golden/recog/<stem>.json for recog_model, if given). */
static void check_against_golden(const cJSON *obj, const char *det_model, const char *recog_model)
{
    const char *image = get(obj, "image")->valuestring, *base = strrchr(image, '/');
    char stem[256], rel[1024];
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : image);
    *strrchr(stem, '.') = '\0';
    assert_true(cJSON_IsNull(get(obj, "error")));
    iid_json_t g;
    iid_error_t err;
    snprintf(rel, sizeof rel, "conformance/faces/golden/detect/%s/%s.json", det_model, stem);
    assert_int_equal(iid__json_load(&g, iid_test_shared_path(rel), &err), IID_OK);
    const cJSON *faces = get(obj, "faces"), *gfaces = get(g.root, "faces");
    int n = cJSON_GetArraySize(faces);
    assert_int_equal(n, cJSON_GetArraySize(gfaces));
    assert_int_equal(n, (int)get(g.root, "num_faces")->valuedouble);
    long long largest = (long long)get(g.root, "largest_face")->valuedouble;
    const cJSON *chosen = get(obj, "chosen");
    if (largest < 0) assert_true(cJSON_IsNull(chosen));
    else assert_int_equal((long long)chosen->valuedouble, largest);
    const cJSON *size = get(obj, "size"), *dec = get(g.root, "decoded");
    assert_int_equal(cJSON_GetArrayItem(size, 0)->valueint, get(dec, "width")->valueint);
    assert_int_equal(cJSON_GetArrayItem(size, 1)->valueint, get(dec, "height")->valueint);
    iid_json_t r = {0};
    const cJSON *norms = NULL;
    if (recog_model && n > 0) {
        snprintf(rel, sizeof rel, "conformance/faces/golden/recog/%s.json", stem);
        assert_int_equal(iid__json_load(&r, iid_test_shared_path(rel), &err), IID_OK);
        norms = get(get(get(r.root, "models"), recog_model), "raw_norms");
        assert_int_equal(cJSON_GetArraySize(norms), n);
    }
    for (int i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetArrayItem(faces, i), *gf = cJSON_GetArrayItem(gfaces, i);
        for (int k = 0; k < 4; k++)
            assert_true(fabs(cJSON_GetArrayItem(get(f, "box"), k)->valuedouble -
                             cJSON_GetArrayItem(get(gf, "bbox"), k)->valuedouble) <= 0.01);
        for (int k = 0; k < 5; k++)
            for (int c = 0; c < 2; c++)
                assert_true(fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(get(f, "kps"), k), c)->valuedouble -
                                 cJSON_GetArrayItem(cJSON_GetArrayItem(get(gf, "kps"), k), c)->valuedouble) <= 0.01);
        assert_true(fabs(get(f, "score")->valuedouble - get(gf, "score")->valuedouble) <= 1e-4);
        double norm = get(f, "embedding_norm")->valuedouble;
        assert_true(norm > 0.0);
        if (norms) {
            double want = cJSON_GetArrayItem(norms, i)->valuedouble;
            assert_true(fabs(norm - want) <= 1e-3 * want);
        }
    }
    if (r.root) iid__json_free(&r);
    iid__json_free(&g);
}

/* Every shared photo with the antelopev2 stand-in (det_2.5g + tiny_iresnet). */
static void test_photos_match_goldens(void **state)
{
    (void)state;
    static char names[64][256];
    int n;
    char *files = shared_files("assets/faces", names, &n, 64);
    assert_true(n >= 10);
    char *args = malloc(strlen(files) + 4200);
    sprintf(args, "--json --face-models '%s'%s", iid_test_shared_path("conformance/models/antelopev2"), files);
    assert_int_equal(run(args), 0);
    iid_json_t j;
    load_output(&j);
    assert_int_equal(cJSON_GetArraySize(j.root), n);
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(j.root, i);
        assert_non_null(strstr(get(o, "image")->valuestring, names[i]));
        check_against_golden(o, "det_2.5g", "tiny_iresnet");
    }
    iid__json_free(&j);

    /* The text report: a line per face, the chosen one marked, "no face found". */
    char *folder = strdup(iid_test_shared_path("assets/faces"));
    sprintf(args, "--face-models '%s' '%s/noface_coffee.png' '%s/group_solvay_1927_gray.jpg' '%s/two_faces_obama_biden.jpg'",
            iid_test_shared_path("conformance/models/antelopev2"), folder, folder, folder);
    free(folder);
    assert_int_equal(run(args), 0);
    char *out = iid_test_slurp(out_path);
    assert_non_null(strstr(out, "noface_coffee.png: 600x400, no face found"));
    assert_non_null(strstr(out, "  * face 17: box [634.21, 156.38, 665.95, 197.68]"));
    assert_non_null(strstr(out, "    face 1: box"));
    assert_null(strstr(out, "error"));
    free(out);
    free(args);
    free(files);
}

/* A folder with two detectors and two recognisers: insightface's choice (sorted
 * names, first of each role: det_2.5g, mbf128_paddle), and the overrides. */
static void test_model_choice(void **state)
{
    (void)state;
    char args[20480], models[4096], photo[4096];
    snprintf(models, sizeof models, "%s", iid_test_shared_path("conformance/faces/models"));
    snprintf(photo, sizeof photo, "%s", iid_test_shared_path("assets/faces/two_faces_obama_biden.jpg"));
    iid_json_t j;
    snprintf(args, sizeof args, "--json --face-models '%s' '%s'", models, photo);
    assert_int_equal(run(args), 0);
    load_output(&j);
    check_against_golden(cJSON_GetArrayItem(j.root, 0), "det_2.5g", "mbf128_paddle");
    iid__json_free(&j);
    snprintf(args, sizeof args, "--json --face-models '%s' --detector '%s/det_500m.onnx' --recognizer '%s/tiny_iresnet.onnx' '%s'",
             models, models, models, photo);
    assert_int_equal(run(args), 0);
    load_output(&j);
    /* The recognition goldens are of det_2.5g's crops: here only the recogniser's
     * scale shows (tiny_iresnet's raw norms are 28-69, mbf128's 13-21). */
    check_against_golden(cJSON_GetArrayItem(j.root, 0), "det_500m", NULL);
    const cJSON *f0 = cJSON_GetArrayItem(get(cJSON_GetArrayItem(j.root, 0), "faces"), 0);
    assert_true(get(f0, "embedding_norm")->valuedouble > 25.0);
    iid__json_free(&j);
    /* Both files given: no folder needed. */
    snprintf(args, sizeof args, "--json --face-models /nonexistent --detector '%s/det_2.5g.onnx' --recognizer '%s/mbf128_paddle.onnx' '%s'",
             models, models, photo);
    assert_int_equal(run(args), 0);
    load_output(&j);
    check_against_golden(cJSON_GetArrayItem(j.root, 0), "det_2.5g", "mbf128_paddle");
    iid__json_free(&j);
    /* A recogniser passed as the detector is refused. */
    snprintf(args, sizeof args, "--face-models '%s' --detector '%s/tiny_iresnet.onnx' '%s'", models, models, photo);
    assert_int_equal(run(args), 2);
    char *e = iid_test_slurp(err_path);
    assert_int_equal(iid_test_count_lines(e), 1);
    assert_non_null(strstr(e, "not a face detector"));
    free(e);
}

/* What each bad input must give: its faces (count, observed reference score) or
 * an error. Files not listed (README.md, observed.json) are not images. */
typedef struct expect {
    const char *name;
    int faces; /* -1: an error */
    double score;
} expect_t;

static const expect_t expected[] = {
    {"UPPERCASE_EXT.JPG", 1, 0.7785},      {"animated_2frames.gif", -1, 0},     {"cmyk.jpg", 1, 0.7782},
    {"exif_orientation_6.jpg", 1, 0.7783}, {"face.webp", 1, 0.7758},            {"grayscale.jpg", 1, 0.8088},
    {"huge_dims_100000x100000.png", -1, 0}, {"one_pixel.png", 0, 0},             {"palette_256.png", 1, 0.7735},
    {"png_named.jpg", 1, 0.7801},          {"progressive.jpg", 1, 0.7785},      {"rgb_16bit.png", 1, 0.7801},
    {"rgba_transparent_bg.png", 1, 0.7801}, {"text_named.png", -1, 0},           {"thin_3000x1.png", -1, 0},
    {"truncated.png", -1, 0},              {"truncated_half.jpg", -1, 0},       {"truncated_header.jpg", -1, 0},
    {"zero_bytes.jpg", -1, 0},
};

static const expect_t *expectation(const char *name)
{
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (strcmp(expected[i].name, name) == 0) return &expected[i];
    return NULL;
}

static void test_bad_inputs(void **state)
{
    (void)state;
    static char names[64][256];
    int n;
    char *files = shared_files("assets/bad-inputs", names, &n, 64);
    char *args = malloc(strlen(files) + 4200);
    sprintf(args, "--json --face-models '%s'%s", iid_test_shared_path("conformance/models/antelopev2"), files);
    assert_int_equal(run(args), 1);
    iid_json_t j;
    load_output(&j);
    assert_int_equal(cJSON_GetArraySize(j.root), n);
    int listed = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(j.root, i), *error = get(o, "error");
        const char *image = get(o, "image")->valuestring;
        const expect_t *x = expectation(names[i]);
        int want_faces = x ? x->faces : -1;
        listed += x != NULL;
        if (want_faces < 0) {
            assert_true(cJSON_IsString(error));
            /* One line that names the file. */
            assert_null(strchr(error->valuestring, '\n'));
            assert_int_equal(strncmp(error->valuestring, image, strlen(image)), 0);
            assert_int_equal(cJSON_GetArraySize(get(o, "faces")), 0);
            assert_true(cJSON_IsNull(get(o, "chosen")));
        } else {
            if (!cJSON_IsNull(error)) fail_msg("%s: unexpected error %s", names[i], error->valuestring);
            const cJSON *faces = get(o, "faces");
            assert_int_equal(cJSON_GetArraySize(faces), want_faces);
            if (want_faces > 0) {
                assert_int_equal(get(o, "chosen")->valueint, 0);
                double s = get(cJSON_GetArrayItem(faces, 0), "score")->valuedouble;
                if (fabs(s - x->score) > 0.005) fail_msg("%s: score %.4f, reference %.4f", names[i], s, x->score);
            } else {
                assert_true(cJSON_IsNull(get(o, "chosen")));
            }
        }
    }
    assert_int_equal(listed, (int)(sizeof expected / sizeof expected[0]));
    iid__json_free(&j);

    /* The text report: one "error: <file>: <reason>" line per bad file, and the
     * run goes on past them. */
    char *folder = strdup(iid_test_shared_path("assets/bad-inputs"));
    sprintf(args, "--face-models '%s' '%s/zero_bytes.jpg' '%s/one_pixel.png' '%s/thin_3000x1.png' '%s/grayscale.jpg'",
            iid_test_shared_path("conformance/models/antelopev2"), folder, folder, folder, folder);
    free(folder);
    assert_int_equal(run(args), 1);
    char *out = iid_test_slurp(out_path);
    int lines = 0;
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        lines += strncmp(p, "error: ", 7) == 0;
    assert_int_equal(lines, 2);
    assert_non_null(strstr(out, "grayscale.jpg: 256x300, 1 face"));
    assert_non_null(strstr(out, "zero_bytes.jpg: empty file"));
    assert_non_null(strstr(out, "one_pixel.png: 1x1, no face found"));
    assert_non_null(strstr(out, "thin_3000x1.png"));
    free(out);
    free(args);
    free(files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_photos_match_goldens),
        cmocka_unit_test(test_model_choice),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
