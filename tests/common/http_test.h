/*
 * http_test.h - the web server in a thread and a tiny HTTP client over plain
 * sockets, shared by the server's API test (tests/unit/test_server_api.c) and
 * the serve abuse suite (tests/robustness/test_serve_abuse.c).
 *
 * server_new() makes a temp folder (out/ for results, generation_log.csv beside
 * it) and options with port 0 and the test double engine (fake_engine.h); tweak
 * t->opts, then server_start(). Every request has a 5-second receive timeout and
 * every loop a bound, so a hung server fails the test instead of hanging it.
 * Failures go through cmocka's asserts.
 */
#ifndef IID_TEST_HTTP_TEST_H
#define IID_TEST_HTTP_TEST_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "fake_engine.h"
#include "server/server.h"

typedef struct test_server {
    iid_server_options_t opts;
    iid_server_engine_t engine;
    iid_fake_engine_t fake;
    volatile sig_atomic_t stop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready, port;
    iid_status status;
    iid_error_t err;
    char *dir;
    char out[4096], log[4096];
} test_server_t;

/* A fresh temp folder and default options; the fake engine when with_engine. */
test_server_t *server_new(int with_engine, int step_delay_ms);
/* Run iid__server_run in a thread and wait until it listens (t->port). */
void server_start(test_server_t *t);
/* server_new then server_start: a test that keeps the default options. */
test_server_t *server_up(int with_engine, int step_delay_ms);
/* Stop it, check it returned IID_OK, remove the folder. */
void server_free(test_server_t *t);

typedef struct response {
    int status; /* -1: no HTTP answer (closed, reset, or timed out) */
    char head[4096];
    char *body; /* NUL-terminated */
    size_t body_len;
} response_t;

/* A connected socket to 127.0.0.1:port with 5-second send/receive timeouts. */
int connect_to(int port);
/* Send what fits; returns 0 when the peer stopped reading. */
int send_all(int fd, const void *data, size_t n);
/* Read until the server closes (or the timeout), close fd, split the answer. */
void read_response(int fd, response_t *r);
void response_free(response_t *r);
/* Send a whole raw request on a fresh connection and read the answer. */
void http_raw(int port, const char *request, size_t n, response_t *r);
/* GET path with Host: 127.0.0.1 (unless extra_headers has one) and Connection: close. */
void http_get(int port, const char *path, const char *extra_headers, response_t *r);
/* GET path, fail unless the status is expect_status, and parse the JSON body. */
cJSON *get_json(int port, const char *path, int expect_status);

/* A growable byte buffer. */
typedef struct buf {
    char *data;
    size_t len;
} buf_t;
void buf_add(buf_t *b, const void *data, size_t n);
void buf_str(buf_t *b, const char *s);

#define BOUNDARY "----iid-test-boundary-7MA4YWxk"
/* The request line and headers of a multipart POST to /api/generate, less its
 * length (Content-Length or Transfer-Encoding) and the blank line. */
#define POST_MULTIPART_HEAD                                                                                            \
    "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"                                       \
    "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"

/* A multipart body: the NULL-terminated name/value pairs in order (a name may
 * repeat), then the face file when face is not NULL. */
buf_t form(const char *const *fields, const char *face_name, const void *face, size_t face_n);
/* POST body to /api/generate as multipart/form-data. */
void post_form(int port, const buf_t *body, const char *extra_headers, response_t *r);
/* POST only the headers of an upload that claims content_length bytes: a limit
 * on the declared length must answer before any body byte is sent. */
void post_declared(int port, size_t content_length, response_t *r);
/* POST body; 1 when the answer has status and a JSON error holding want, else 0
 * with what came back written to why. */
int post_refused(int port, const buf_t *body, int status, const char *want, char *why, size_t why_n);
/* POST a face with fields; returns the job id (malloc'd) or fails the test. */
char *submit(int port, const char *const *fields, const char *face_name, const void *face, size_t n);
/* Poll the job until it is done or failed (at most 10 s); returns its record
 * and the HTTP status it came with. */
cJSON *wait_job(int port, const char *id, int *status);

/* A string or number member of a JSON object (the number fails the test when
 * missing). */
const char *jstr(const cJSON *j, const char *key);
double jnum(const cJSON *j, const char *key);

#endif
