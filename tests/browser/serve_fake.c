/*
 * serve_fake.c - the server as `instantid serve` runs it, but with the test
 * double engine (tests/common/fake_engine.h), for the browser test. Test-only:
 * never installed, never part of the product.
 *
 *   serve_fake --output DIR --log FILE [--input DIR] [--port P] [--step-delay MS]
 *
 * Prints "serve_fake: URL" on stdout once listening, and the server's request
 * and job lines on stderr; SIGINT/SIGTERM stop it.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "server/server.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_ready(void *user, const char *url, int port)
{
    (void)user;
    (void)port;
    printf("serve_fake: %s\n", url);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    iid_server_options_t o;
    iid__server_options_init(&o);
    o.port = 0;
    int delay = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--output") == 0) o.output_dir = argv[i + 1];
        else if (strcmp(argv[i], "--log") == 0) o.log_path = argv[i + 1];
        else if (strcmp(argv[i], "--input") == 0) o.input_dir = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0) o.port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--step-delay") == 0) delay = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "serve_fake: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    o.on_ready = on_ready;
    o.report = stderr;
    iid_fake_engine_t fake;
    iid_server_engine_t engine;
    iid_fake_engine_init(&fake, delay, &engine);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    iid_error_t err;
    if (iid__server_run(&o, &engine, &stop_flag, &err) != IID_OK) {
        fprintf(stderr, "serve_fake: %s\n", err.msg);
        return 2;
    }
    printf("serve_fake: stopped after %d images\n", fake.generated);
    return 0;
}
