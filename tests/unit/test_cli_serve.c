/*
 * test_cli_serve.c - `instantid serve` as a user runs it ($IID_BINARY): it prints
 * its URL, serves the page and the batch log, without models answers
 * /api/generate with 503 and the load error (the styles still listed), prints a
 * line per request, refuses a non-loopback host without a token, and stops
 * cleanly on Ctrl-C (SIGINT). Every wait is bounded.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"
#include "support.h"

static const char *binary(void)
{
    const char *b = getenv("IID_BINARY");
    if (!b || access(b, X_OK) != 0) {
        printf("SKIP: IID_BINARY is not set to the built instantid\n");
        exit(77);
    }
    return b;
}

/* Run instantid with args, stdout and stderr to a pipe; returns the pid. */
static pid_t spawn(char *const argv[], int *out_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

/* Read output until a line holding "http://" arrives (5 s at most). */
static int read_port(int fd, char *text, size_t cap)
{
    struct timeval tv = {5, 0};
    size_t n = 0;
    while (n + 1 < cap) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        if (select(fd + 1, &set, NULL, NULL, &tv) <= 0) break;
        ssize_t k = read(fd, text + n, cap - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        text[n] = '\0';
        const char *u = strstr(text, "http://127.0.0.1:");
        if (u && strchr(u, '\n')) return atoi(u + strlen("http://127.0.0.1:"));
    }
    text[n] = '\0';
    return -1;
}

/* Spawn the server and wait for its URL; fails the test (killing it) without one. */
static int start(char *const argv[], pid_t *pid, int *fd, char *text, size_t cap)
{
    *pid = spawn(argv, fd);
    int port = read_port(*fd, text, cap);
    if (port <= 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        fail_msg("no URL printed: %s", text);
    }
    return port;
}

/* GET or POST path; returns the status and copies the body. */
static int request(int port, const char *method, const char *path, char *body, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 6\r\n\r\n--b--\n",
             method, path);
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    static char buf[1 << 18];
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof buf && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
    buf[n] = '\0';
    close(fd);
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return status;
}

static int wait_exit(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("instantid serve did not stop within 5 s");
    return -1;
}

/* Run to its end (5 s at most); its output (one read) goes to text. */
static int run_to_exit(char *const argv[], char *text, size_t cap)
{
    int fd;
    pid_t pid = spawn(argv, &fd);
    int rc = wait_exit(pid);
    ssize_t n = read(fd, text, cap - 1);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static void test_serve_starts_serves_and_stops(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char out[4200], log[4200];
    snprintf(out, sizeof out, "%s/results", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    const char csv[] = "image_name,new_file_name,success,error_message\r\na.png,,False,\"no face, sorry\"\r\n";
    free(iid_test_write(dir, "log.csv", csv, sizeof csv - 1));
    char *argv[] = {(char *)binary(), "serve", "--port", "0", "--output", out, "--log", log, NULL};
    int fd;
    pid_t pid;
    char text[4096];
    int port = start(argv, &pid, &fd, text, sizeof text);
    char body[1 << 16]; /* the whole page */
    assert_int_equal(request(port, "GET", "/", body, sizeof body), 200);
    assert_non_null(strstr(body, "Enhance non-face region"));
    assert_int_equal(request(port, "GET", "/api/log", body, sizeof body), 200);
    assert_non_null(strstr(body, "no face, sorry"));
    /* Without models: the reason they did not load, and the lists still there. */
    assert_int_equal(request(port, "POST", "/api/generate", body, sizeof body), 503);
    if (!strstr(body, "\"error\":\"models/")) fail_msg("503 without the load error: %s", body);
    assert_int_equal(request(port, "GET", "/api/styles", body, sizeof body), 200);
    if (!strstr(body, "\"engine_error\":\"models/") || !strstr(body, "\"Watercolor\"") || !strstr(body, "\"euler\""))
        fail_msg("/api/styles without models: %s", body);
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(wait_exit(pid), 0);
    /* One line per request on the server's output. */
    size_t n = strlen(text);
    ssize_t k;
    while (n + 1 < sizeof text && (k = read(fd, text + n, sizeof text - 1 - n)) > 0) n += (size_t)k;
    text[n] = '\0';
    if (!strstr(text, " GET /api/log 200\n") || !strstr(text, " POST /api/generate 503\n") ||
        !strstr(text, " GET /api/styles 200\n") || !strstr(text, " GET / 200\n"))
        fail_msg("the request lines are missing: %s", text);
    close(fd);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_serve_refuses_public_host_without_token(void **state)
{
    (void)state;
    char *argv[] = {(char *)binary(), "serve", "--host", "0.0.0.0", "--port", "0", NULL};
    char text[4096];
    assert_int_equal(run_to_exit(argv, text, sizeof text), 2);
    assert_non_null(strstr(text, "--token"));
    static const char *const bad[][2] = {{"--port", "70000"},          {"--max-connections", "0"},
                                         {"--max-per-client", "-1"},   {"--header-timeout", "0"},
                                         {"--request-timeout", "x"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *args[] = {(char *)binary(), "serve", (char *)bad[i][0], (char *)bad[i][1], NULL};
        assert_int_equal(run_to_exit(args, text, sizeof text), 2);
        if (!strstr(text, bad[i][0])) fail_msg("serve %s %s: no error naming the option: %s", bad[i][0], bad[i][1], text);
        assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1); /* one line */
    }
}

/* serve --config: the [serve] section (and keys outside any section) set the
 * address, folders and models like the command line; other sections are ignored;
 * an unknown key is a one-line error naming file:line. */
static void test_serve_reads_config(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    const char csv[] = "image_name,new_file_name,success,error_message\r\na.png,,False,from the config log\r\n";
    free(iid_test_write(dir, "mine.csv", csv, sizeof csv - 1));
    char ini[8192];
    snprintf(ini, sizeof ini,
             "models = %s/no-models\n[batch]\nport = 1\n[serve]\nport = 0\noutput = %s/out\nlog = %s/mine.csv\n"
             "no_face_mask = yes\n",
             dir, dir, dir);
    char *cfg = iid_test_write(dir, "serve.ini", ini, strlen(ini));
    char *argv[] = {(char *)binary(), "serve", "--config", cfg, NULL};
    int fd;
    pid_t pid;
    char text[4096];
    int port = start(argv, &pid, &fd, text, sizeof text);
    assert_non_null(strstr(text, "no-models")); /* the models folder came from the config */
    char body[8192];
    assert_int_equal(request(port, "GET", "/api/log", body, sizeof body), 200);
    assert_non_null(strstr(body, "from the config log"));
    assert_int_equal(kill(pid, SIGINT), 0);
    assert_int_equal(wait_exit(pid), 0);
    close(fd);
    char out[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    assert_true(iid__is_dir(out)); /* --output from the config */

    const char bad_ini[] = "[serve]\nprot = 1\n";
    char *bad = iid_test_write(dir, "bad.ini", bad_ini, sizeof bad_ini - 1);
    char *argv2[] = {(char *)binary(), "serve", "--config", bad, NULL};
    assert_int_equal(run_to_exit(argv2, text, sizeof text), 2);
    assert_non_null(strstr(text, "bad.ini:2: 'prot' is not an option of 'instantid serve'"));
    assert_int_equal(strchr(text, '\n') - text, (long)strlen(text) - 1); /* one line */
    free(bad);
    free(cfg);
    iid_test_rmtree(dir);
    free(dir);
}

/* batch --then-serve on a port already taken fails before any job runs. */
static void test_then_serve_port_in_use_fails_first(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char *dir = iid_test_tempdir();
    char port[16], log[4200], input[4200];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    snprintf(log, sizeof log, "%s/log.csv", dir);
    iid_test_shared();
    snprintf(input, sizeof input, "%s", iid_test_shared_path("assets/faces"));
    char *argv[] = {(char *)binary(), "batch", "--input", input, "--log", log, "--then-serve", "--port", port, NULL};
    char text[4096];
    assert_int_equal(run_to_exit(argv, text, sizeof text), 2);
    assert_non_null(strstr(text, "already in use"));
    assert_non_null(strstr(text, port));
    assert_false(iid__is_file(log)); /* nothing ran */
    close(s);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_starts_serves_and_stops),
        cmocka_unit_test(test_serve_refuses_public_host_without_token),
        cmocka_unit_test(test_serve_reads_config),
        cmocka_unit_test(test_then_serve_port_in_use_fails_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
