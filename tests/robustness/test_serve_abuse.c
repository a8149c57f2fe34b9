/*
 * test_serve_abuse.c - `serve` under hostile HTTP clients (issue 15 B1, B7, B8,
 * C), with the test double engine, on 127.0.0.1 only:
 *   - 100 slow clients trickling header lines do not keep a normal request
 *     from being answered within 2 s (the daemon's connection limit, its pool);
 *   - header and body tricklers are cut at their total deadline, though each of
 *     their bytes would restart an idle timeout;
 *   - one client address gets at most max_per_client connections;
 *   - a slow upload check holds up no other request (the thread pool);
 *   - duplicate form fields, undecodable, unsupported, oversized uploads, a
 *     faceless photo and path escapes each get their 4xx with a JSON reason.
 * Every case is counted; the summary line says how many ended as expected.
 * The timings are the behaviour under test (deadlines of 1-2 s, the 2-s answer
 * the issue asks for), each with a wide margin; the bounds on how long to wait
 * for a cut grow with $IID_TEST_TIME_SCALE (the sanitizer build), and CTest runs
 * this test under the lock that keeps it from sharing the cores with the heavy
 * tests (tests/CMakeLists.txt). The whole run takes ~10 s.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_test.h"
#include "io/file.h"
#include "support.h"

static int cases_run, cases_expected;
/* The bounds on waits (iid_test_time_scale), set in main. */
static double scale = 1.0;

/* Count one hostile case; print it when it did not end as expected. */
static int expect_case(int ok, const char *what)
{
    cases_run++;
    cases_expected += ok != 0;
    if (!ok) {
        printf("UNEXPECTED: %s\n", what);
        fflush(stdout);
    }
    return ok;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 1 when the server has closed (or reset) fd; 0 while it is open and silent;
 * -1 when it answered something. Never blocks. */
static int peer_closed(int fd)
{
    char c[256];
    ssize_t k = recv(fd, c, sizeof c, MSG_DONTWAIT);
    if (k == 0) return 1;
    if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    return -1;
}

/* Open n connections that each send the start of a request and no more. */
static void open_slow(int port, int *fds, int n, const char *start)
{
    for (int i = 0; i < n; i++) {
        fds[i] = connect_to(port);
        assert_true(send_all(fds[i], start, strlen(start)));
    }
}

/* Send every open slow client one more line (a header line or body bytes). */
static void trickle(const int *fds, const int *closed, int n, const char *line)
{
    for (int i = 0; i < n; i++)
        if (!closed[i]) send(fds[i], line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++) close(fds[i]);
}

#define SLOW_GET "GET /api/styles HTTP/1.1\r\nHost: 127.0.0.1\r\n"

/* GET path on a fresh connection; the status, or -1 when no answer came within
 * limit_s seconds (*took_s: how long it took). */
static int timed_get(int port, const char *path, double limit_s, double *took_s)
{
    double t0 = now_s();
    int fd = connect_to(port);
    struct timeval tv = {(time_t)limit_s, (suseconds_t)((limit_s - (time_t)limit_s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    response_t r;
    if (!send_all(fd, req, strlen(req))) {
        close(fd);
        *took_s = now_s() - t0;
        return -1;
    }
    read_response(fd, &r);
    *took_s = now_s() - t0;
    int status = r.status;
    response_free(&r);
    return status;
}

/* ---- slow clients ------------------------------------------------------- */

static void test_slow_clients_do_not_starve(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0); /* the default limits */
    enum { N = 100 };
    int fds[N], closed[N] = {0};
    open_slow(t->port, fds, N, SLOW_GET);
    nap_ms(200);
    trickle(fds, closed, N, "X-Slow: 1\r\n");
    double took;
    int status = timed_get(t->port, "/api/styles", 2.0, &took);
    char what[160];
    snprintf(what, sizeof what, "%d slow clients: GET /api/styles answered %d after %.2f s (want 200 within 2 s)", N,
             status, took);
    int ok = expect_case(status == 200 && took < 2.0, what);
    status = timed_get(t->port, "/", 2.0, &took);
    ok &= expect_case(status == 200 && took < 2.0, "100 slow clients: the page answered within 2 s");
    close_all(fds, N);
    server_free(t);
    if (!ok) fail_msg("the server starved under slow clients");
}

/* Trickle to every client until all are closed or limit_s passes; returns how
 * many were closed, and counts any that got an answer in *answered. */
static int wait_cut(int *fds, int *closed, int n, const char *line, double limit_s, int *answered)
{
    double t0 = now_s();
    int n_closed = 0;
    *answered = 0;
    while (n_closed < n && now_s() - t0 < limit_s) {
        trickle(fds, closed, n, line);
        nap_ms(200);
        for (int i = 0; i < n; i++) {
            if (closed[i]) continue;
            int c = peer_closed(fds[i]);
            if (c != 0) {
                closed[i] = 1;
                n_closed++;
                *answered += c < 0;
            }
        }
    }
    return n_closed;
}

static void test_deadlines_cut_tricklers(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    t->opts.header_timeout = 1;
    t->opts.request_timeout = 2;
    server_start(t);
    /* Headers, one line every 200 ms: each line restarts libmicrohttpd's idle
     * timeout, not the header deadline. */
    enum { N = 10 };
    int fds[N], closed[N] = {0}, answered;
    open_slow(t->port, fds, N, SLOW_GET);
    double t0 = now_s();
    int n = wait_cut(fds, closed, N, "X-Slow: 1\r\n", 6.0 * scale, &answered);
    double took = now_s() - t0;
    char what[160];
    snprintf(what, sizeof what, "header tricklers: %d of %d cut after %.1f s (deadline 1 s), %d answered", n, N, took,
             answered);
    int ok = expect_case(n == N && answered == 0 && took >= 0.9, what);
    close_all(fds, N);
    /* A body, ten bytes every 200 ms, of an upload that claims 100 kB. */
    enum { M = 3 };
    int bfds[M], bclosed[M] = {0};
    open_slow(t->port, bfds, M, POST_MULTIPART_HEAD "Content-Length: 100000\r\n\r\n--" BOUNDARY "\r\n");
    t0 = now_s();
    n = wait_cut(bfds, bclosed, M, "AAAAAAAAAA", 8.0 * scale, &answered);
    took = now_s() - t0;
    snprintf(what, sizeof what, "body tricklers: %d of %d cut after %.1f s (deadline 2 s)", n, M, took);
    ok &= expect_case(n == M && took >= 1.9, what);
    close_all(bfds, M);
    double get_took;
    ok &= expect_case(timed_get(t->port, "/api/styles", 5.0 * scale, &get_took) == 200, "after the cuts: a normal request");
    server_free(t);
    if (!ok) fail_msg("slow clients were not cut at their deadline");
}

static void test_per_client_cap(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    t->opts.max_per_client = 4; /* on loopback the default is no cap: see server.h */
    /* Long enough that a loaded machine still finds the four open before it. */
    unsigned header_s = (unsigned)(3 * scale);
    t->opts.header_timeout = header_s;
    server_start(t);
    int fds[4], closed[4] = {0};
    open_slow(t->port, fds, 4, SLOW_GET);
    nap_ms(300);
    int open_n = 0;
    for (int i = 0; i < 4; i++) open_n += peer_closed(fds[i]) == 0;
    int ok = expect_case(open_n == 4, "per-client cap 4: four connections stay open");
    /* A fifth from the same address is closed unanswered, at once (not timed out). */
    double took;
    int status = timed_get(t->port, "/api/styles", header_s, &took);
    ok &= expect_case(status == -1 && took < header_s - 0.5, "per-client cap 4: the fifth connection is refused");
    int answered;
    int n = wait_cut(fds, closed, 4, "X-Slow: 1\r\n", 2.0 * header_s + 2.0, &answered);
    ok &= expect_case(n == 4, "per-client cap 4: the four slow ones are cut at the header deadline");
    status = timed_get(t->port, "/api/styles", 5.0 * scale, &took);
    ok &= expect_case(status == 200, "per-client cap 4: then a normal request is answered");
    close_all(fds, 4);
    server_free(t);
    if (!ok) fail_msg("the per-client cap did not hold");
}

typedef struct post_arg {
    int port;
    buf_t body;
    response_t r;
} post_arg_t;

static void *post_thread(void *arg)
{
    post_arg_t *p = arg;
    post_form(p->port, &p->body, NULL, &p->r);
    return NULL;
}

static void test_slow_check_blocks_no_one(void **state)
{
    (void)state;
    test_server_t *t = server_new(1, 0);
    /* The check holds until released below; this only bounds it. */
    t->fake.slow_check_ms = (int)(30000 * scale);
    server_start(t);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    post_arg_t p = {.port = t->port};
    p.body = form(NULL, "slow.png", face, n);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, post_thread, &p), 0);
    for (double t0 = now_s(); atomic_load(&t->fake.checking) == 0 && now_s() - t0 < 5.0 * scale;) nap_ms(10);
    int checking = atomic_load(&t->fake.checking);
    double took;
    int status = timed_get(t->port, "/api/styles", 5.0 * scale, &took);
    int still = atomic_load(&t->fake.checking);
    atomic_store(&t->fake.release_slow, 1);
    int ok = expect_case(checking == 1 && status == 200 && still == 1,
                         "a held upload check: another request is answered while it runs");
    pthread_join(th, NULL);
    ok &= expect_case(p.r.status == 202, "a held upload check: the upload itself is then queued");
    response_free(&p.r);
    free(p.body.data);
    free(face);
    server_free(t);
    if (!ok) fail_msg("a slow check held up other requests (checking %d, then %d; status %d)", checking, still, status);
}

/* ---- hostile requests --------------------------------------------------- */

/* An animated WebP's headers: RIFF, VP8X with the animation flag, ANIM. */
static unsigned char *animated_webp(size_t *n)
{
    static const unsigned char bytes[] = {
        'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0, 0x02, 0, 0, 0,
        7,   0,   0,   7,   0,  0, 'A', 'N', 'I', 'M', 6, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    unsigned char *p = malloc(sizeof bytes);
    assert_non_null(p);
    memcpy(p, bytes, sizeof bytes);
    *n = sizeof bytes;
    return p;
}

/* POST body; 1 when the answer has the status and a JSON error naming want. */
static int refused(int port, const buf_t *body, int status, const char *want, const char *label)
{
    char why[512], what[700];
    int ok = post_refused(port, body, status, want, why, sizeof why);
    snprintf(what, sizeof what, "%s: %s", label, why);
    return expect_case(ok, what);
}

static void test_duplicate_fields(void **state)
{
    (void)state;
    test_server_t *t = server_up(1, 0);
    size_t n;
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    static const char *const dups[][5] = {{"prompt", "AAA", "prompt", "BBB", "prompt"},
                                          {"steps", "2", "steps", "5", "steps"},
                                          {"style", "Neon", "style", "Neon", "style"},
                                          {"seed", "", "seed", "7", "seed"},
                                          {"prompt", "AAA", "prompt", "", "prompt"}};
    int ok = 1;
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
        const char *fields[] = {dups[i][0], dups[i][1], dups[i][2], dups[i][3], NULL};
        buf_t body = form(fields, "me.png", face, n);
        char label[128];
        snprintf(label, sizeof label, "%s=%s and %s=%s", dups[i][0], dups[i][1], dups[i][2], dups[i][3]);
        ok &= refused(t->port, &body, 400, dups[i][4], label);
        free(body.data);
    }
    /* Two face files. */
    buf_t body = form(NULL, "one.png", face, n);
    body.len -= strlen("--" BOUNDARY "--\r\n");
    buf_t second = form(NULL, "two.png", face, n);
    buf_add(&body, second.data, second.len);
    ok &= refused(t->port, &body, 400, "face", "two face files");
    free(second.data);
    free(body.data);
    /* The same in a URL-encoded form. */
    static const char urlenc[] = "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\n"
                                 "steps=2&steps=5";
    response_t r;
    http_raw(t->port, urlenc, sizeof urlenc - 1, &r);
    ok &= expect_case(r.status == 400 && strstr(r.body, "steps: given more than once"),
                      "steps=2&steps=5 URL-encoded");
    response_free(&r);
    free(face);
    assert_int_equal(t->fake.generated, 0);
    server_free(t);
    if (!ok) fail_msg("a repeated field was not refused");
}

static void test_bad_uploads(void **state)
{
    (void)state;
    iid_test_shared();
    test_server_t *t = server_new(1, 0);
    t->opts.max_upload = 1 << 20;
    server_start(t);
    static const struct {
        const char *file;
        int status;
        const char *want;
    } cases[] = {{"zero_bytes.jpg", 400, "face"},
                 {"truncated_header.jpg", 400, "face"},
                 {"truncated_half.jpg", 400, "face"},
                 {"truncated.png", 400, "face"},
                 {"text_named.png", 400, "not an image"},
                 {"animated_2frames.gif", 415, "GIF"},
                 {"huge_dims_100000x100000.png", 413, "limit"}};
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "assets/bad-inputs/%s", cases[i].file);
        char *data;
        size_t n;
        iid_error_t err;
        if (iid__file_read_all(iid_test_shared_path(rel), 1 << 20, &data, &n, &err) != IID_OK) fail_msg("%s", err.msg);
        buf_t body = form(NULL, cases[i].file, data, n);
        ok &= refused(t->port, &body, cases[i].status, cases[i].want, cases[i].file);
        free(body.data);
        free(data);
    }
    size_t n;
    unsigned char *webp = animated_webp(&n);
    buf_t body = form(NULL, "anim.webp", webp, n);
    ok &= refused(t->port, &body, 415, "animated WebP", "an animated WebP");
    free(body.data);
    free(webp);
    unsigned char *face = iid_fake_png(8, 8, 1, &n);
    body = form(NULL, "noface_wall.png", face, n);
    ok &= refused(t->port, &body, 422, "no face", "a photo without a face");
    free(body.data);
    /* Over max_upload by its Content-Length: answered before any body byte. */
    response_t r;
    post_declared(t->port, (1 << 20) + 1, &r);
    ok &= expect_case(r.status == 413 && strstr(r.body, "limit"), "a Content-Length over --max-upload");
    response_free(&r);
    free(face);
    assert_int_equal(t->fake.generated, 0);
    server_free(t);
    if (!ok) fail_msg("a bad upload was not refused with its 4xx");
}

static void test_path_escapes(void **state)
{
    (void)state;
    test_server_t *t = server_up(0, 0);
    free(iid_test_write(t->dir, "secret.txt", "TOPSECRET", 9));
    static const char *const paths[] = {"/files/../secret.txt", "/files/%2e%2e/secret.txt",
                                        "/files/%2E%2E%2Fsecret.txt", "/files//etc/passwd", "/files/..%5csecret.txt"};
    int ok = 1;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        response_t r;
        http_get(t->port, paths[i], NULL, &r);
        char what[256];
        snprintf(what, sizeof what, "GET %s: status %d", paths[i], r.status);
        ok &= expect_case((r.status == 403 || r.status == 404) && !strstr(r.body, "TOPSECRET") &&
                              !strstr(r.body, "root:"),
                          what);
        response_free(&r);
    }
    server_free(t);
    if (!ok) fail_msg("a path escaped the output folder");
}

static int summary(void **state)
{
    (void)state;
    printf("serve abuse: %d hostile cases run, %d ended as expected\n", cases_run, cases_expected);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    scale = iid_test_time_scale();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_clients_do_not_starve), cmocka_unit_test(test_deadlines_cut_tricklers),
        cmocka_unit_test(test_per_client_cap),             cmocka_unit_test(test_slow_check_blocks_no_one),
        cmocka_unit_test(test_duplicate_fields),           cmocka_unit_test(test_bad_uploads),
        cmocka_unit_test(test_path_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, summary);
}
