/*
 * test_server_api.c - the web server's JSON API and its security, end to end:
 * iid__server_run on an ephemeral loopback port in a thread, with the fake engine
 * (tests/common/fake_engine.h), spoken to over plain sockets by the tiny HTTP
 * client of tests/common/http_test.h.
 */
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "batch/csv_log.h"
#include "batch/log_meta.h"
#include "http_test.h"
#include "io/png_write.h"
#include "support.h"

/* ---- tests -------------------------------------------------------------- */

static void test_styles_and_page(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    cJSON *j = get_json(t->port, "/api/styles", 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "engine")));
    const cJSON *styles = cJSON_GetObjectItemCaseSensitive(j, "styles");
    assert_int_equal(cJSON_GetArraySize(styles), 9);
    assert_string_equal(cJSON_GetArrayItem(styles, 1)->valuestring, "Watercolor");
    assert_string_equal(jstr(j, "default_style"), "Watercolor");
    assert_string_equal(jstr(j, "default_scheduler"), "euler");
    cJSON_Delete(j);
    response_t r;
    http_get(t->port, "/", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "text/html"));
    assert_non_null(strstr(r.head, "Content-Security-Policy"));
    assert_non_null(strstr(r.body, "/api/generate"));
    response_free(&r);
    /* DNS rebinding: a foreign Host. Cross-site form: a foreign Origin. */
    http_get(t->port, "/api/styles", "Host: evil.example:7860\r\n", &r);
    assert_int_equal(r.status, 403);
    response_free(&r);
    http_get(t->port, "/api/styles", "Host: localhost:7860\r\n", &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    http_get(t->port, "/nope", NULL, &r);
    assert_int_equal(r.status, 404);
    response_free(&r);
    server_free(t);
}

static void test_generate_poll_fetch(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 1);
    size_t n;
    unsigned char *face = iid_fake_png(16, 16, 3, &n);
    const char *fields[] = {"prompt", "a portrait, \"quoted\"", "style", "Neon", "steps", "7", "seed", "1234",
                            "guidance", "6.5", "identitynet_strength", "0.9", "width", "512", "height", "768",
                            NULL};
    char *id = submit(t->port, fields, "me.png", face, n);
    int status;
    cJSON *job = wait_job(t->port, id, &status);
    assert_int_equal(status, 200);
    assert_string_equal(jstr(job, "state"), "done");
    assert_int_equal((int)jnum(job, "step"), 7);
    assert_int_equal((int)jnum(job, "total"), 7);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(job, "error")));
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(job, "params");
    assert_string_equal(jstr(params, "prompt"), "a portrait, \"quoted\"");
    assert_string_equal(jstr(params, "style"), "Neon");
    assert_string_equal(jstr(params, "scheduler"), "euler"); /* the default */
    assert_string_equal(jstr(params, "face_name"), "me.png");
    assert_true(jnum(params, "guidance") == 6.5);
    assert_true(jnum(params, "adapter_strength") == 0.8); /* the default */
    assert_int_equal((int)jnum(params, "seed"), 1234);
    assert_int_equal((int)jnum(params, "height"), 768);
    const char *result = jstr(job, "result");
    assert_non_null(result);
    assert_non_null(strstr(result, "/files/web_"));
    response_t r;
    http_get(t->port, result, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: image/png"));
    assert_true(r.body_len > 8 && memcmp(r.body, "\x89PNG\r\n\x1a\n", 8) == 0);
    response_free(&r);
    assert_int_equal(t->fake.generated, 1);
    cJSON_Delete(job);
    free(id);
    free(face);
    /* An unknown job. */
    cJSON *j = get_json(t->port, "/api/jobs/ffffffff0000", 404);
    assert_non_null(jstr(j, "error"));
    cJSON_Delete(j);
    server_free(t);
}

static void test_bad_form_fields(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    static const struct {
        const char *key, *value, *message;
    } cases[] = {{"steps", "abc", "steps"},        {"steps", "0", "steps"},
                 {"guidance", "nan", "guidance"},  {"style", "Nope", "style"},
                 {"width", "500", "width"},        {"identitynet_strength", "9", "identitynet_strength"},
                 {"scheduler", "magic", "scheduler"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *fields[] = {cases[i].key, cases[i].value, NULL};
        buf_t body = form(fields, "me.png", face, n);
        response_t r;
        post_form(t->port, &body, NULL, &r);
        if (r.status != 400 || !strstr(r.body, cases[i].message))
            fail_msg("%s=%s: status %d: %s", cases[i].key, cases[i].value, r.status, r.body);
        response_free(&r);
        free(body.data);
    }
    /* No face at all. */
    const char *fields[] = {"prompt", "x", NULL};
    buf_t body = form(fields, NULL, NULL, 0);
    response_t r;
    post_form(t->port, &body, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "face"));
    response_free(&r);
    free(body.data);
    /* Not a form at all. */
    const char raw[] = "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 5\r\n\r\nhello";
    http_raw(t->port, raw, sizeof raw - 1, &r);
    assert_int_equal(r.status, 400);
    response_free(&r);
    /* GET on the POST endpoint. */
    http_get(t->port, "/api/generate", NULL, &r);
    assert_int_equal(r.status, 405);
    response_free(&r);
    /* A form posted from another site's page. */
    const char *ok_fields[] = {"steps", "2", NULL};
    body = form(ok_fields, "me.png", face, n);
    post_form(t->port, &body, "Origin: http://evil.example\r\n", &r);
    assert_int_equal(r.status, 403);
    response_free(&r);
    free(body.data);
    free(face);
    assert_int_equal(t->fake.generated, 0);
    server_free(t);
}

/* POST a face and fail unless it is refused with status and a JSON error
 * holding want. */
static void expect_refused(int port, const char *name, const void *face, size_t n, int status, const char *want)
{
    const char *fields[] = {"steps", "3", NULL};
    buf_t body = form(fields, name, face, n);
    char why[512];
    int ok = post_refused(port, &body, status, want, why, sizeof why);
    free(body.data);
    if (!ok) fail_msg("%s: %s", name, why);
}

/* Issue 14.6: the upload is decoded (and its face found) before it is queued. */
static void test_corrupt_image_400_and_no_face_422(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    /* Cut before the IEND chunk. */
    expect_refused(t->port, "cut.png", face, n - 12, 400, "truncated PNG");
    /* Text named .png. */
    expect_refused(t->port, "text.png", "hello, world", 12, 400, "not an image");
    /* GIF: a format we do not take. */
    expect_refused(t->port, "anim.gif", "GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14, 415, "GIF");
    /* A valid image without a face. */
    expect_refused(t->port, "noface_cat.png", face, n, 422, "no face");
    /* The refusals did not take the server down, and queued nothing: a good job
     * still runs, and is the only one. */
    const char *fields[] = {"steps", "3", NULL};
    char *id = submit(t->port, fields, "ok.png", face, n);
    int status;
    cJSON *job = wait_job(t->port, id, &status);
    assert_int_equal(status, 200);
    cJSON_Delete(job);
    free(id);
    assert_int_equal(t->fake.generated, 1);
    server_free(t);
    /* An engine without a check: the same photos fail as jobs, with the same
     * codes in GET /api/jobs/ID. */
    t = server_new(1, 0);
    t->engine.check = NULL;
    server_start(t);
    id = submit(t->port, fields, "cut.png", face, n - 12);
    job = wait_job(t->port, id, &status);
    assert_int_equal(status, 400);
    assert_string_equal(jstr(job, "state"), "error");
    assert_non_null(strstr(jstr(job, "error"), "truncated PNG"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(job, "result")));
    cJSON_Delete(job);
    free(id);
    id = submit(t->port, fields, "noface_cat.png", face, n);
    job = wait_job(t->port, id, &status);
    assert_int_equal(status, 422);
    assert_int_equal((int)jnum(job, "http_status"), 422);
    cJSON_Delete(job);
    free(id);
    free(face);
    assert_int_equal(t->fake.generated, 0);
    server_free(t);
}

/* Issue 15 B9: ids are 128 random bits, so one tells nothing about another. */
static void test_job_ids_are_random(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    const char *fields[] = {"steps", "1", NULL};
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = submit(t->port, fields, "me.png", face, n);
        assert_int_equal(strlen(ids[i]), 32);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
    }
    /* Consecutive ids share no more digits than chance (2 of 32 expected; a
     * salt and a counter would share all but the last few). */
    for (int i = 0; i + 1 < 3; i++) {
        int same = 0;
        for (int k = 0; k < 32; k++) same += ids[i][k] == ids[i + 1][k];
        if (same > 12) fail_msg("ids %s and %s share %d of 32 digits", ids[i], ids[i + 1], same);
    }
    for (int i = 0; i < 3; i++) {
        int status;
        cJSON_Delete(wait_job(t->port, ids[i], &status));
        assert_int_equal(status, 200);
        free(ids[i]);
    }
    free(face);
    server_free(t);
}

static void test_oversized_uploads_413(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    t->opts.max_upload = 64 * 1024;
    server_start(t);
    /* Content-Length over the limit: refused before any body byte is sent. */
    response_t r;
    post_declared(t->port, 64 * 1024 + 1, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "limit"));
    response_free(&r);
    /* Chunked, no length given: counted while streaming, answered 413 when the
     * body ends. */
    static const char head[] = POST_MULTIPART_HEAD "Transfer-Encoding: chunked\r\n\r\n";
    int fd = connect_to(t->port);
    assert_true(send_all(fd, head, sizeof head - 1));
    static char chunk[8192 + 16];
    int len = snprintf(chunk, sizeof chunk, "2000\r\n");
    memset(chunk + len, 'A', 8192);
    memcpy(chunk + len + 8192, "\r\n", 2);
    for (int i = 0; i < 16; i++) assert_true(send_all(fd, chunk, (size_t)len + 8192 + 2));
    assert_true(send_all(fd, "0\r\n\r\n", 5));
    read_response(fd, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "limit"));
    response_free(&r);
    /* A body just under the limit still works. */
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    const char *fields[] = {"steps", "2", NULL};
    char *id = submit(t->port, fields, "ok.png", face, n);
    int status;
    cJSON *job = wait_job(t->port, id, &status);
    assert_int_equal(status, 200);
    cJSON_Delete(job);
    free(id);
    free(face);
    server_free(t);
}

static void test_queue_full_503(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 20);
    t->opts.queue = 2;
    server_start(t);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    const char *fields[] = {"steps", "100", NULL}; /* two seconds per job */
    buf_t body = form(fields, "me.png", face, n);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 20; i++) {
        response_t r;
        post_form(t->port, &body, NULL, &r);
        if (r.status == 202) accepted++;
        else if (r.status == 503) {
            assert_non_null(strstr(r.body, "queue"));
            refused++;
        } else fail_msg("burst request %d: status %d: %s", i, r.status, r.body);
        response_free(&r);
    }
    /* One running and two waiting at most; the rest refused. */
    assert_true(accepted >= 2 && accepted <= 3);
    assert_int_equal(accepted + refused, 20);
    free(body.data);
    free(face);
    /* Stopping interrupts the running job and drops the queue promptly. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    server_free(t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec < 3);
}

static void test_no_engine_503(void **state)
{
    (void)state;
    test_server_t *t = server_up(0, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    buf_t body = form(NULL, "me.png", face, n);
    response_t r;
    post_form(t->port, &body, NULL, &r);
    assert_int_equal(r.status, 503);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(jstr(j, "error"), "generation engine not available in this build");
    cJSON_Delete(j);
    response_free(&r);
    j = get_json(t->port, "/api/styles", 200);
    assert_string_equal(jstr(j, "engine_error"), "generation engine not available in this build");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "lcm")));
    cJSON_Delete(j);
    server_free(t);
    /* The reason the models did not load is what the user sees. */
    t = server_new(0, 0);
    t->opts.engine_error = "models/sdxl/unet: no such folder";
    server_start(t);
    post_form(t->port, &body, NULL, &r);
    assert_int_equal(r.status, 503);
    j = cJSON_Parse(r.body);
    assert_string_equal(jstr(j, "error"), "models/sdxl/unet: no such folder");
    cJSON_Delete(j);
    j = get_json(t->port, "/api/styles", 200);
    assert_string_equal(jstr(j, "engine_error"), "models/sdxl/unet: no such folder");
    assert_string_equal(jstr(j, "lcm_reason"), "models/sdxl/unet: no such folder");
    cJSON_Delete(j);
    response_free(&r);
    free(body.data);
    free(face);
    j = get_json(t->port, "/api/styles", 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "engine")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "styles")), 0);
    cJSON_Delete(j);
    j = get_json(t->port, "/api/log", 200); /* the log tab still works */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "missing")));
    cJSON_Delete(j);
    server_free(t);
}

static void test_token(void **state)
{
    (void)state;
    /* A non-loopback host without a token: refused before binding anything. */
    test_server_t *t = server_new(1, 0);
    t->opts.host = "0.0.0.0";
    iid_error_t err;
    volatile sig_atomic_t stop = 1;
    assert_int_equal(iid__server_run(&t->opts, &t->engine, &stop, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "--token"));
    t->opts.host = "::";
    assert_int_equal(iid__server_run(&t->opts, &t->engine, &stop, &err), IID_ERR_INVALID);
    t->opts.host = "my-laptop";
    assert_int_equal(iid__server_run(&t->opts, &t->engine, &stop, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "--host"));
    /* With a token, every /api/ and /files/ call must carry it. */
    t->opts.host = "127.0.0.1";
    t->opts.token = "s3cret-T0ken";
    server_start(t);
    response_t r;
    static const char *const denied[][2] = {{"/api/styles", NULL},
                                            {"/api/styles", "Authorization: Bearer wrong\r\n"},
                                            {"/api/styles", "Authorization: Bearer s3cret-T0ke\r\n"},
                                            {"/api/styles", "Authorization: Basic s3cret-T0ken\r\n"},
                                            {"/api/styles?token=s3cret-T0ken1", NULL},
                                            {"/api/log", NULL},
                                            {"/api/jobs/x", NULL},
                                            {"/files/x.png", NULL},
                                            {"/inputs/x.png", NULL},
                                            {"/sheets/x.png", NULL}};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        http_get(t->port, denied[i][0], denied[i][1], &r);
        if (r.status != 401) fail_msg("%s with %s: status %d", denied[i][0], denied[i][1], r.status);
        assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
        response_free(&r);
    }
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    buf_t body = form(NULL, "me.png", face, n);
    post_form(t->port, &body, NULL, &r);
    assert_int_equal(r.status, 401);
    response_free(&r);
    post_form(t->port, &body, "Authorization: Bearer s3cret-T0ken\r\n", &r);
    assert_int_equal(r.status, 202);
    response_free(&r);
    free(body.data);
    free(face);
    http_get(t->port, "/api/styles", "Authorization: Bearer s3cret-T0ken\r\n", &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    http_get(t->port, "/api/styles?token=s3cret-T0ken", NULL, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    http_get(t->port, "/", NULL, &r); /* the page itself is public */
    assert_int_equal(r.status, 200);
    response_free(&r);
    server_free(t);
}

static void test_path_escapes(void **state)
{
    (void)state;
    test_server_t *t = server_up(0, 0);
    char *secret = iid_test_write(t->dir, "secret.txt", "TOPSECRET", 9);
    char sub[4200], link[4200];
    snprintf(sub, sizeof sub, "%s/sub", t->out);
    assert_int_equal(mkdir(sub, 0755), 0);
    free(iid_test_write(sub, "ok.txt", "fine", 4));
    free(iid_test_write(t->out, "face one.png", "\x89PNG\r\n\x1a\n", 8));
    snprintf(link, sizeof link, "%s/etc", t->out);
    assert_int_equal(symlink("/etc", link), 0);
    snprintf(link, sizeof link, "%s/secret-link.txt", t->out);
    assert_int_equal(symlink(secret, link), 0);
    snprintf(link, sizeof link, "%s/inner-link.txt", t->out);
    assert_int_equal(symlink("sub/ok.txt", link), 0);
    static const char *const bad[] = {"/files/../secret.txt",
                                      "/files/%2e%2e/secret.txt",
                                      "/files/%2E%2E%2Fsecret.txt",
                                      "/files/sub/../../secret.txt",
                                      "/files/sub/%2e%2e/%2e%2e/secret.txt",
                                      "/files//etc/passwd",
                                      "/files/%2Fetc%2Fpasswd",
                                      "/files/etc/passwd",
                                      "/files/etc/hostname",
                                      "/files/secret-link.txt",
                                      "/files/..%5csecret.txt",
                                      "/files/sub",
                                      "/files/",
                                      "/files/missing.png"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        response_t r;
        http_get(t->port, bad[i], NULL, &r);
        if (r.status != 403 && r.status != 404) fail_msg("%s: status %d", bad[i], r.status);
        if (strstr(r.body, "TOPSECRET") || strstr(r.body, "root:")) fail_msg("%s leaked content", bad[i]);
        response_free(&r);
    }
    response_t r;
    http_get(t->port, "/files/sub/ok.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "fine");
    assert_non_null(strstr(r.head, "text/plain"));
    response_free(&r);
    http_get(t->port, "/files/inner-link.txt", NULL, &r); /* a link that stays inside is fine */
    assert_int_equal(r.status, 200);
    response_free(&r);
    http_get(t->port, "/files/face%20one.png", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "image/png"));
    response_free(&r);
    free(secret);
    server_free(t);
}

static void test_log_json(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0); /* creates out/ */
    free(iid_test_write(t->out, "a_Neon_0_7.png", "\x89PNG\r\n\x1a\n", 8));
    free(iid_test_write(t->out, "a.png", "\x89PNG\r\n\x1a\n", 8));
    free(iid_test_write(t->dir, "secret.png", "\x89PNG\r\n\x1a\n", 8));
    free(iid_test_write(t->out, "face #1.png", "\x89PNG\r\n\x1a\n", 8));
    char abs_new[4200];
    snprintf(abs_new, sizeof abs_new, "%s/a_Neon_0_7.png", t->out);
    char csv[8192];
    snprintf(csv, sizeof csv,
             "image_name,new_file_name,identitynet_strength_ratio,success,error_message,style_name,prompt\r\n"
             "a.png,a_Neon_0_7.png,1.2,True,,Neon,\"human, sharp focus\"\r\n"
             "/elsewhere/b.jpg,,1.0,False,\"no face found in \"\"b.jpg\"\", sorry\",Snow,\"two\r\nlines\"\r\n"
             "a.png,%s,1.3,True,,Mars,p\r\n"
             "c.png,../secret.png,1.3,True,,Mars,p\r\n"
             "face #1.png,,1.0,False,oops,Mars,p\r\n"
             "d.png,half-written-row,1.",
             abs_new);
    free(iid_test_write(t->dir, "generation_log.csv", csv, strlen(csv)));
    cJSON *j = get_json(t->port, "/api/log", 200);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "columns");
    assert_int_equal(cJSON_GetArraySize(cols), 7);
    assert_string_equal(cJSON_GetArrayItem(cols, 6)->valuestring, "prompt");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 5); /* the half-written row is not shown */
    const cJSON *r0 = cJSON_GetArrayItem(rows, 0), *r1 = cJSON_GetArrayItem(rows, 1);
    const cJSON *v0 = cJSON_GetObjectItemCaseSensitive(r0, "values");
    const cJSON *v1 = cJSON_GetObjectItemCaseSensitive(r1, "values");
    assert_string_equal(jstr(v0, "prompt"), "human, sharp focus");
    assert_string_equal(jstr(r0, "result"), "/files/a_Neon_0_7.png");
    assert_string_equal(jstr(r0, "source"), "/files/a.png");
    assert_string_equal(jstr(v1, "error_message"), "no face found in \"b.jpg\", sorry");
    assert_string_equal(jstr(v1, "prompt"), "two\r\nlines");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "result")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r1, "source")));
    /* An absolute path inside the output folder becomes a /files/ URL ... */
    assert_string_equal(jstr(cJSON_GetArrayItem(rows, 2), "result"), "/files/a_Neon_0_7.png");
    /* ... and one leading outside it does not. */
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 3), "result")));
    /* URLs are percent-encoded, and the server serves what they name. */
    const char *source = jstr(cJSON_GetArrayItem(rows, 4), "source");
    assert_string_equal(source, "/files/face%20%231.png");
    response_t r;
    http_get(t->port, source, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "image/png"));
    response_free(&r);
    cJSON_Delete(j);
    server_free(t);
}

/* Issue 15 B2: GET /api/log answers a page of rows and the total. */
static void test_log_pages(void **state)
{
    (void)state;
    test_server_t *t = server_up(0, 0);
    enum { ROWS = 1203 };
    buf_t csv = {0};
    buf_str(&csv, "image_name,success,prompt\r\n");
    for (int i = 0; i < ROWS; i++) {
        char line[64];
        snprintf(line, sizeof line, "face%d.png,True,\"p, %d\"\r\n", i, i);
        buf_str(&csv, line);
    }
    free(iid_test_write(t->dir, "generation_log.csv", csv.data, csv.len));
    free(csv.data);
    static const struct {
        const char *query;
        int total, offset, limit, rows, first;
    } pages[] = {{"", ROWS, 0, 500, 500, 0},
                 {"?offset=1200&limit=10", ROWS, 1200, 10, 3, 1200},
                 {"?offset=500", ROWS, 500, 500, 500, 500},
                 {"?limit=5000", ROWS, 0, 5000, ROWS, 0},
                 {"?offset=5000", ROWS, 5000, 500, 0, -1},
                 {"?limit=0", ROWS, 0, 0, 0, -1}};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/log%s", pages[i].query);
        cJSON *j = get_json(t->port, path, 200);
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
        if ((int)jnum(j, "total") != pages[i].total || (int)jnum(j, "offset") != pages[i].offset ||
            (int)jnum(j, "limit") != pages[i].limit || cJSON_GetArraySize(rows) != pages[i].rows)
            fail_msg("%s: total %g offset %g limit %g rows %d", path, jnum(j, "total"), jnum(j, "offset"),
                     jnum(j, "limit"), cJSON_GetArraySize(rows));
        if (pages[i].first >= 0) {
            char want[32];
            snprintf(want, sizeof want, "face%d.png", pages[i].first);
            const cJSON *values = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, 0), "values");
            assert_string_equal(jstr(values, "image_name"), want);
        }
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "columns")), 3);
        cJSON_Delete(j);
    }
    static const char *const bad[][2] = {{"?limit=5001", "limit"}, {"?offset=-1", "offset"}, {"?offset=abc", "offset"},
                                         {"?limit=", "limit"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/log%s", bad[i][0]);
        cJSON *j = get_json(t->port, path, 400);
        assert_non_null(strstr(jstr(j, "error"), bad[i][1]));
        cJSON_Delete(j);
    }
    server_free(t);
}

static void test_job_records_are_capped(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    t->opts.queue = 1;
    t->opts.max_records = 2; /* raised to queue + 1 = 2 anyway */
    server_start(t);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    const char *fields[] = {"steps", "1", NULL};
    char *ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = submit(t->port, fields, "me.png", face, n);
        int status;
        cJSON_Delete(wait_job(t->port, ids[i], &status));
        assert_int_equal(status, 200);
    }
    char path[128];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/api/jobs/%s", ids[i]);
        cJSON_Delete(get_json(t->port, path, i < 2 ? 404 : 200)); /* the oldest are forgotten */
        free(ids[i]);
    }
    free(face);
    assert_int_equal(t->fake.generated, 4);
    server_free(t);
}

/* The body of a job's record, "params" object. */
static const cJSON *params_of(const cJSON *job)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(job, "params");
    assert_non_null(p);
    return p;
}

/* POST fields with a small face; the response status, its body in *body. */
static int post_fields(int port, const char *const *fields, char **body)
{
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    buf_t b = form(fields, "me.png", face, n);
    response_t r;
    post_form(port, &b, NULL, &r);
    free(b.data);
    free(face);
    *body = r.body;
    return r.status;
}

static void test_face_region_and_lcm_fields(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    cJSON *j = get_json(t->port, "/api/styles", 200);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "engine_error")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "lcm"))); /* the double has no LCM */
    assert_non_null(jstr(j, "lcm_reason"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "inputs")));
    cJSON_Delete(j);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    static const struct {
        const char *value;
        int type; /* cJSON_True, cJSON_False or cJSON_NULL (the server's default) */
    } cases[] = {{"0", cJSON_False}, {"off", cJSON_False}, {"true", cJSON_True}, {"1", cJSON_True}, {NULL, cJSON_NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *fields[] = {"steps", "1", "lcm", "0", cases[i].value ? "enhance_face_region" : NULL, cases[i].value,
                                NULL};
        char *id = submit(t->port, fields, "me.png", face, n);
        int status;
        cJSON *job = wait_job(t->port, id, &status);
        assert_int_equal(status, 200);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params_of(job), "enhance_face_region");
        if (!v || (v->type & 0xff) != cases[i].type)
            fail_msg("enhance_face_region=%s: params say %s", cases[i].value ? cases[i].value : "(absent)",
                     v ? cJSON_PrintUnformatted(v) : "nothing");
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(params_of(job), "lcm")));
        cJSON_Delete(job);
        free(id);
    }
    free(face);
    /* Not a check box value; LCM asked of an engine without it. */
    const char *bad_bool[] = {"enhance_face_region", "maybe", NULL};
    char *body;
    assert_int_equal(post_fields(t->port, bad_bool, &body), 400);
    assert_non_null(strstr(body, "enhance_face_region"));
    free(body);
    const char *lcm[] = {"lcm", "1", NULL};
    assert_int_equal(post_fields(t->port, lcm, &body), 400);
    assert_non_null(strstr(body, "lcm: LCM mode is not available"));
    free(body);
    server_free(t);
}

/* Each web job lands in the log the Log tab shows, marked as a web row. */
static void test_web_jobs_are_logged(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    const char *fields[] = {"steps", "2", "seed", "99", "style", "Snow", "prompt", "me, \"smiling\"", NULL};
    char *ids[2];
    for (int i = 0; i < 2; i++) {
        ids[i] = submit(t->port, fields, "me.png", face, n);
        int status;
        cJSON_Delete(wait_job(t->port, ids[i], &status)); /* done: its row is written */
    }
    cJSON *j = get_json(t->port, "/api/log", 200);
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "columns");
    assert_int_equal(cJSON_GetArraySize(cols), 22);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i), *v = cJSON_GetObjectItemCaseSensitive(row, "values");
        char want_id[64], want_file[128];
        snprintf(want_id, sizeof want_id, "web-%s", ids[i]);
        snprintf(want_file, sizeof want_file, "/files/web_%s_99.png", ids[i]);
        assert_string_equal(jstr(v, "job_id"), want_id);
        assert_string_equal(jstr(v, "shard"), "web");
        assert_string_equal(jstr(v, "success"), "True");
        assert_string_equal(jstr(v, "style_name"), "Snow");
        assert_string_equal(jstr(v, "prompt"), "me, \"smiling\"");
        assert_string_equal(jstr(v, "num_inference_steps"), "2");
        assert_string_equal(jstr(row, "result"), want_file); /* its thumbnail */
        free(ids[i]);
    }
    cJSON_Delete(j);
    free(face);
    server_free(t);
}

static void test_inputs_folder(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    char photos[4200], sub[4300], csv[8192];
    snprintf(photos, sizeof photos, "%s/photos", t->dir);
    snprintf(sub, sizeof sub, "%s/sub", photos);
    assert_int_equal(mkdir(photos, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    free(iid_test_write(photos, "a.png", "\x89PNG\r\n\x1a\nA", 9));
    free(iid_test_write(sub, "b.png", "\x89PNG\r\n\x1a\nB", 9));
    free(iid_test_write(t->dir, "secret.txt", "TOPSECRET", 9));
    snprintf(csv, sizeof csv,
             "image_name,new_file_name,success\r\na.png,,True\r\nb.png,,True\r\nmissing.png,,False\r\n"
             "%s/a.png,,True\r\n/elsewhere/a.png,,True\r\n",
             photos);
    free(iid_test_write(t->dir, "generation_log.csv", csv, strlen(csv)));
    /* --input: a flat look-up, then the subfolders by base name. */
    t->opts.input_dir = photos;
    server_start(t);
    cJSON *j = get_json(t->port, "/api/styles", 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "inputs")));
    cJSON_Delete(j);
    j = get_json(t->port, "/api/log", 200);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    static const char *const want[] = {"/inputs/a.png", "/inputs/sub/b.png", NULL, "/inputs/a.png", NULL};
    for (int i = 0; i < 5; i++) {
        const char *got = jstr(cJSON_GetArrayItem(rows, i), "source");
        if (want[i] ? !got || strcmp(got, want[i]) != 0 : got != NULL)
            fail_msg("row %d: source %s, expected %s", i, got ? got : "null", want[i] ? want[i] : "null");
    }
    cJSON_Delete(j);
    response_t r;
    http_get(t->port, "/inputs/sub/b.png", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "image/png"));
    assert_int_equal(r.body_len, 9);
    assert_int_equal(r.body[8], 'B');
    response_free(&r);
    static const char *const bad[] = {"/inputs/../secret.txt", "/inputs/%2e%2e/secret.txt", "/inputs/sub/../../secret.txt",
                                      "/inputs//etc/passwd", "/inputs/missing.png", "/inputs/sub"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_get(t->port, bad[i], NULL, &r);
        if ((r.status != 403 && r.status != 404) || strstr(r.body, "TOPSECRET") || strstr(r.body, "root:"))
            fail_msg("%s: status %d: %s", bad[i], r.status, r.body);
        response_free(&r);
    }
    server_free(t);

    /* No --input: the folder the batch recorded beside its log, not recursive. */
    t = server_new(1, 0);
    snprintf(photos, sizeof photos, "%s/photos", t->dir);
    snprintf(sub, sizeof sub, "%s/sub", photos);
    assert_int_equal(mkdir(photos, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    free(iid_test_write(photos, "a.png", "\x89PNG\r\n\x1a\nA", 9));
    free(iid_test_write(sub, "b.png", "\x89PNG\r\n\x1a\nB", 9));
    free(iid_test_write(t->dir, "generation_log.csv", csv, strlen(csv)));
    iid_error_t err;
    assert_int_equal(iid__log_meta_write(t->log, photos, 0, &err), IID_OK);
    server_start(t);
    j = get_json(t->port, "/api/log", 200);
    rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    assert_string_equal(jstr(cJSON_GetArrayItem(rows, 0), "source"), "/inputs/a.png");
    assert_null(jstr(cJSON_GetArrayItem(rows, 1), "source")); /* not a recursive batch */
    cJSON_Delete(j);
    server_free(t);

    /* Neither: /inputs/ says how to get one; a bad --input stops the start. */
    t = server_up(1, 0);
    http_get(t->port, "/inputs/a.png", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "--input"));
    response_free(&r);
    iid_server_options_t o = t->opts;
    o.input_dir = "/no/such/photos";
    volatile sig_atomic_t stop = 1;
    assert_int_equal(iid__server_run(&o, &t->engine, &stop, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "--input"));
    server_free(t);
}

/* GET /sheets/IMAGE: the image's contact sheet, drawn from the log; thumbnails
 * only from inside the output folder. */
static void test_sheet_route(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0); /* creates out/ */
    iid_image_t img;
    assert_int_equal(iid__image_alloc(&img, 8, 8, 3, NULL), IID_OK);
    char png[4200];
    snprintf(png, sizeof png, "%s/a_0.png", t->out);
    assert_int_equal(iid__png_write(png, &img, NULL, 0, NULL), IID_OK);
    snprintf(png, sizeof png, "%s/secret.png", t->dir);
    assert_int_equal(iid__png_write(png, &img, NULL, 0, NULL), IID_OK);
    iid__image_free(&img);
    static const char *const rows[][5] = {{"a.png", "a_0.png", "True", "", "0"},
                                          {"a.png", "../secret.png", "True", "", "1"},
                                          {"a.png", "", "False", "a.png: no face found", "2"},
                                          {"b.png", "a_0.png", "True", "", "3"}};
    iid_log_writer_t w;
    assert_int_equal(iid__log_open(&w, t->log, NULL), IID_OK);
    for (int i = 0; i < 4; i++) {
        const char *f[IID_LOG_NCOLS] = {0};
        f[IID_COL_IMAGE_NAME] = rows[i][0];
        f[IID_COL_NEW_FILE_NAME] = rows[i][1];
        f[IID_COL_SUCCESS] = rows[i][2];
        f[IID_COL_ERROR] = rows[i][3];
        f[IID_COL_JOB_ID] = rows[i][4];
        f[IID_COL_STYLE] = "Neon";
        assert_int_equal(iid__log_append(&w, f, NULL), IID_OK);
    }
    iid__log_close(&w);
    response_t r;
    http_get(t->port, "/sheets/a.png", NULL, &r);
    if (r.status != 200) fail_msg("GET /sheets/a.png: %d %s", r.status, r.body);
    assert_non_null(strstr(r.head, "image/png"));
    char *text = NULL;
    assert_int_equal(iid__png_text_decode(r.body, r.body_len, "sheet", "instantid-sheet", &text, NULL), IID_OK);
    response_free(&r);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    assert_string_equal(jstr(j, "key"), "a.png");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(j, "cells");
    assert_int_equal(cJSON_GetArraySize(cells), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(cells, 0), "status"), "ok");
    assert_string_equal(jstr(cJSON_GetArrayItem(cells, 1), "status"), "unreadable");
    assert_non_null(strstr(jstr(cJSON_GetArrayItem(cells, 1), "reason"), "outside the output folder"));
    assert_string_equal(jstr(cJSON_GetArrayItem(cells, 2), "status"), "failed");
    cJSON_Delete(j);
    http_get(t->port, "/sheets/zz.png", NULL, &r);
    assert_int_equal(r.status, 404);
    response_free(&r);
    server_free(t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_styles_and_page),
        cmocka_unit_test(test_generate_poll_fetch),
        cmocka_unit_test(test_bad_form_fields),
        cmocka_unit_test(test_corrupt_image_400_and_no_face_422),
        cmocka_unit_test(test_job_ids_are_random),
        cmocka_unit_test(test_oversized_uploads_413),
        cmocka_unit_test(test_queue_full_503),
        cmocka_unit_test(test_no_engine_503),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_path_escapes),
        cmocka_unit_test(test_log_json),
        cmocka_unit_test(test_log_pages),
        cmocka_unit_test(test_job_records_are_capped),
        cmocka_unit_test(test_face_region_and_lcm_fields),
        cmocka_unit_test(test_web_jobs_are_logged),
        cmocka_unit_test(test_inputs_folder),
        cmocka_unit_test(test_sheet_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
