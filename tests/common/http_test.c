/* http_test.c - the server in a thread and a tiny HTTP client (http_test.h). */
#define _XOPEN_SOURCE 700
#include "http_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

/* ---- the server in a thread -------------------------------------------- */

static void on_ready(void *user, const char *url, int port)
{
    test_server_t *t = user;
    pthread_mutex_lock(&t->lock);
    t->port = port;
    t->ready = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void *server_main(void *arg)
{
    test_server_t *t = arg;
    t->status = iid__server_run(&t->opts, &t->engine, &t->stop, &t->err);
    pthread_mutex_lock(&t->lock);
    t->ready = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* A fresh temp folder with out/ for results; options with port 0 and the fake
 * engine (no engine when with_engine is 0). Call server_start after tweaking. */
test_server_t *server_new(int with_engine, int step_delay_ms)
{
    test_server_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->dir = iid_test_tempdir();
    assert_non_null(t->dir);
    snprintf(t->out, sizeof t->out, "%s/out", t->dir);
    snprintf(t->log, sizeof t->log, "%s/generation_log.csv", t->dir);
    iid__server_options_init(&t->opts);
    t->opts.port = 0;
    t->opts.output_dir = t->out;
    t->opts.log_path = t->log;
    t->opts.on_ready = on_ready;
    t->opts.on_ready_user = t;
    if (with_engine) iid_fake_engine_init(&t->fake, step_delay_ms, &t->engine);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    return t;
}

void server_start(test_server_t *t)
{
    assert_int_equal(pthread_create(&t->thread, NULL, server_main, t), 0);
    pthread_mutex_lock(&t->lock);
    while (!t->ready) pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
    if (t->port <= 0) fail_msg("the server did not start: %s", t->err.msg);
}

test_server_t *server_up(int with_engine, int step_delay_ms)
{
    test_server_t *t = server_new(with_engine, step_delay_ms);
    server_start(t);
    return t;
}

void server_free(test_server_t *t)
{
    t->stop = 1;
    pthread_join(t->thread, NULL);
    assert_int_equal(t->status, IID_OK);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    iid_test_rmtree(t->dir);
    free(t->dir);
    free(t);
}

/* ---- a tiny HTTP client ------------------------------------------------- */

int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send what fits; returns 0 when the peer stopped reading. */
int send_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* Read until the server closes, then split status, head and body. */
void read_response(int fd, response_t *r)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        ssize_t k = recv(fd, buf + n, cap - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    memset(r, 0, sizeof *r);
    r->status = -1;
    char *end = strstr(buf, "\r\n\r\n");
    if (n < 12 || !end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        r->body = buf;
        r->body_len = n;
        return;
    }
    size_t head_n = (size_t)(end - buf);
    snprintf(r->head, sizeof r->head, "%.*s", (int)head_n, buf);
    r->body_len = n - head_n - 4;
    memmove(buf, end + 4, r->body_len + 1);
    r->body = buf;
}

void response_free(response_t *r)
{
    free(r->body);
    r->body = NULL;
}

void http_raw(int port, const char *request, size_t n, response_t *r)
{
    int fd = connect_to(port);
    assert_true(send_all(fd, request, n));
    read_response(fd, r);
}

void http_get(int port, const char *path, const char *extra_headers, response_t *r)
{
    char req[4096];
    int own_host = extra_headers && strstr(extra_headers, "Host:");
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n%sConnection: close\r\n%s\r\n", path,
             own_host ? "" : "Host: 127.0.0.1\r\n", extra_headers ? extra_headers : "");
    http_raw(port, req, strlen(req), r);
}

cJSON *get_json(int port, const char *path, int expect_status)
{
    response_t r;
    http_get(port, path, NULL, &r);
    if (r.status != expect_status) fail_msg("GET %s: status %d, expected %d: %s", path, r.status, expect_status, r.body);
    assert_non_null(strstr(r.head, "application/json"));
    cJSON *j = cJSON_Parse(r.body);
    if (!j) fail_msg("GET %s: not JSON: %s", path, r.body);
    response_free(&r);
    return j;
}

/* A multipart body: NULL-terminated name/value pairs, then the face file. */

void buf_add(buf_t *b, const void *data, size_t n)
{
    b->data = realloc(b->data, b->len + n + 1);
    assert_non_null(b->data);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_str(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}


buf_t form(const char *const *fields, const char *face_name, const void *face, size_t face_n)
{
    buf_t b = {0};
    for (int i = 0; fields && fields[i]; i += 2) {
        buf_str(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
        buf_str(&b, fields[i]);
        buf_str(&b, "\"\r\n\r\n");
        buf_str(&b, fields[i + 1]);
        buf_str(&b, "\r\n");
    }
    if (face) {
        buf_str(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"face\"; filename=\"");
        buf_str(&b, face_name);
        buf_str(&b, "\"\r\nContent-Type: image/png\r\n\r\n");
        buf_add(&b, face, face_n);
        buf_str(&b, "\r\n");
    }
    buf_str(&b, "--" BOUNDARY "--\r\n");
    return b;
}

void post_form(int port, const buf_t *body, const char *extra_headers, response_t *r)
{
    char head[1024];
    snprintf(head, sizeof head, POST_MULTIPART_HEAD "Content-Length: %zu\r\n%s\r\n", body->len,
             extra_headers ? extra_headers : "");
    int fd = connect_to(port);
    assert_true(send_all(fd, head, strlen(head)));
    send_all(fd, body->data, body->len);
    read_response(fd, r);
}

void post_declared(int port, size_t content_length, response_t *r)
{
    char head[512];
    snprintf(head, sizeof head, POST_MULTIPART_HEAD "Content-Length: %zu\r\n\r\n", content_length);
    http_raw(port, head, strlen(head), r);
}

int post_refused(int port, const buf_t *body, int status, const char *want, char *why, size_t why_n)
{
    response_t r;
    post_form(port, body, NULL, &r);
    cJSON *j = cJSON_Parse(r.body);
    const char *msg = j ? jstr(j, "error") : NULL;
    int ok = r.status == status && msg && strstr(msg, want);
    snprintf(why, why_n, "status %d (want %d with '%s'), body %.300s", r.status, status, want, r.body);
    cJSON_Delete(j);
    response_free(&r);
    return ok;
}

/* POST a face with fields; returns the job id (malloc'd) or fails the test. */
char *submit(int port, const char *const *fields, const char *face_name, const void *face, size_t n)
{
    buf_t body = form(fields, face_name, face, n);
    response_t r;
    post_form(port, &body, NULL, &r);
    free(body.data);
    if (r.status != 202) fail_msg("POST /api/generate: status %d: %s", r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    assert_true(cJSON_IsString(id));
    char *out = strdup(id->valuestring);
    cJSON_Delete(j);
    response_free(&r);
    return out;
}

/* Poll the job until it is done or failed (at most 10 s); returns its record
 * and the HTTP status it came with. */
cJSON *wait_job(int port, const char *id, int *status)
{
    char path[256];
    snprintf(path, sizeof path, "/api/jobs/%s", id);
    for (int i = 0; i < 1000; i++) {
        response_t r;
        http_get(port, path, NULL, &r);
        cJSON *j = cJSON_Parse(r.body);
        if (!j) fail_msg("GET %s: not JSON (%d): %s", path, r.status, r.body);
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "state"));
        *status = r.status;
        response_free(&r);
        if (state && (strcmp(state, "done") == 0 || strcmp(state, "error") == 0)) return j;
        cJSON_Delete(j);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    fail_msg("job %s did not finish in time", id);
    return NULL;
}

const char *jstr(const cJSON *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, key));
}

double jnum(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) fail_msg("field %s is not a number", key);
    return v->valuedouble;
}

