/*
 * test_serve_e2e.c - `instantid serve` with the real engine on the kit's tiny
 * models, through its JSON API (curl as the client): a face upload generates an
 * image with step progress; a photo without a face, an undecodable, unsupported
 * or oversized one are refused by the POST itself (422, 400, 415, 413) before
 * anything is queued; the server survives them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io/file.h"
#include "io/image.h"
#include "a1111_parse.h"
#include "io/png_write.h"
#include "support.h"

static char *dir;
static pid_t server;
static int port;

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* curl args; the response body goes to dir/body, the status code is returned. */
static int http(const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && curl -s -m 60 -o body -w '%%{http_code}' %s > code", dir, args);
    if (system(cmd) != 0) return -1;
    char path[4200], *text;
    snprintf(path, sizeof path, "%s/code", dir);
    if (iid__file_read_all(path, 64, &text, NULL, NULL) != IID_OK) return -1;
    int code = atoi(text);
    free(text);
    return code;
}

static cJSON *body_json(void)
{
    char path[4200], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/body", dir);
    assert_int_equal(iid__file_read_all(path, 1 << 20, &text, &n, NULL), IID_OK);
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    assert_non_null(j);
    return j;
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
    int heads = iid_test_kit_resampler_heads();
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' serve --models '%s' --resampler-heads %d --port 0 --output out "
             ">stdout 2>stderr", dir, iid_test_binary(), iid_test_shared_path("conformance/models"), heads);
    server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/stdout", dir);
    for (int i = 0; i < 200 && !port; i++) {
        char *text;
        if (iid__file_read_all(path, 1 << 16, &text, NULL, NULL) == IID_OK) {
            const char *p = strstr(text, "http://127.0.0.1:");
            if (p) port = atoi(p + strlen("http://127.0.0.1:"));
            free(text);
        }
        if (!port) nap(100);
    }
    assert_true(port > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (server > 0) {
        kill(server, SIGINT);
        int status;
        waitpid(server, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

/* POST a face; poll the job to its end; returns the final HTTP status and
 * leaves the job JSON in *job. */
static int generate(const char *face, const char *extra, cJSON **job)
{
    char args[8192];
    snprintf(args, sizeof args,
             "-F face=@'%s' -F width=64 -F height=64 -F steps=3 -F style=Watercolor -F prompt='a person' %s "
             "http://127.0.0.1:%d/api/generate",
             face, extra ? extra : "", port);
    int code = http(args);
    if (code != 200 && code != 202) return code;
    cJSON *r = body_json();
    char id[128];
    snprintf(id, sizeof id, "%s", cJSON_GetObjectItemCaseSensitive(r, "id")->valuestring);
    cJSON_Delete(r);
    for (int i = 0; i < 600; i++) {
        snprintf(args, sizeof args, "http://127.0.0.1:%d/api/jobs/%s", port, id);
        code = http(args);
        cJSON *j = body_json();
        const char *st = cJSON_GetObjectItemCaseSensitive(j, "state")->valuestring;
        if (strcmp(st, "done") == 0 || strcmp(st, "error") == 0) {
            *job = j;
            return code;
        }
        cJSON_Delete(j);
        nap(100);
    }
    fail_msg("job did not finish");
    return -1;
}

static void test_generate_from_upload(void **state)
{
    (void)state;
    cJSON *job = NULL;
    char face[4096];
    snprintf(face, sizeof face, "%s", iid_test_shared_path("assets/faces/frontal_astronaut.png"));
    assert_int_equal(generate(face, NULL, &job), 200);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(job, "state")->valuestring, "done");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(job, "step")->valuedouble, 3);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(job, "total")->valuedouble, 3);
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, cJSON_GetObjectItemCaseSensitive(job, "result")->valuestring);
    cJSON_Delete(job);
    assert_int_equal(http(url), 200);
    char path[4200];
    snprintf(path, sizeof path, "%s/body", dir);
    iid_image_t img;
    assert_int_equal(iid__image_load(&img, path, NULL, NULL), IID_OK);
    assert_int_equal(img.width, 64);
    assert_int_equal(img.height, 64);
    iid__image_free(&img);
    /* The web result's metadata, read back by A1111's rules, and the ComfyUI graph. */
    char *params;
    assert_int_equal(iid__png_read_text(path, "parameters", &params, NULL), IID_OK);
    a1111_params_t p;
    a1111_parse(params, &p);
    assert_string_equal(a1111_get(&p, "Steps"), "3");
    assert_string_equal(a1111_get(&p, "Sampler"), "Euler");
    assert_string_equal(a1111_get(&p, "Face image"), "frontal_astronaut.png");
    assert_string_equal(a1111_get(&p, "Style"), "Watercolor");
    assert_int_equal(strlen(a1111_get(&p, "Model hash")), 10);
    a1111_free(&p);
    free(params);
    assert_int_equal(iid__png_read_text(path, "prompt", &params, NULL), IID_OK);
    cJSON *graph = cJSON_Parse(params);
    assert_non_null(graph);
    cJSON_Delete(graph);
    free(params);
}

/* Issue 14.6 and 15 B8: a bad photo is refused by the POST itself, before it
 * is queued, with its 4xx and a JSON reason. */
static void test_bad_uploads(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int status;
        const char *want;
    } cases[] = {{"faces/noface_coffee.png", 422, "no face found"},
                 {"bad-inputs/truncated.png", 400, "truncated PNG data"},
                 {"bad-inputs/text_named.png", 400, "not an image"},
                 {"bad-inputs/animated_2frames.gif", 415, "unsupported format (GIF)"},
                 {"bad-inputs/huge_dims_100000x100000.png", 413, "limit"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256], face[4096];
        snprintf(rel, sizeof rel, "assets/%s", cases[i].file);
        snprintf(face, sizeof face, "%s", iid_test_shared_path(rel));
        cJSON *job = NULL;
        int code = generate(face, NULL, &job);
        if (code != cases[i].status) fail_msg("%s: status %d, want %d", cases[i].file, code, cases[i].status);
        assert_null(job);
        cJSON *r = body_json();
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error"));
        if (!msg || !strstr(msg, cases[i].want)) fail_msg("%s: error %s, want '%s'", cases[i].file, msg, cases[i].want);
        cJSON_Delete(r);
    }
    /* Still serving. */
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/styles", port);
    assert_int_equal(http(url), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_from_upload),
        cmocka_unit_test(test_bad_uploads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
