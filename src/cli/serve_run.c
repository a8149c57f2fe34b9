/* serve_run.c - signals, the engine adapter and the server's run loop. */
#include "cli/serve_run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/server_engine.h"

/* Set by SIGINT/SIGTERM: the one piece of mutable global state, as the CLI entry
 * point may have. */
static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

static void print_ready(void *user, const char *url, int port)
{
    const char *token = user;
    (void)port;
    if (token && *token) printf("instantid serve: %s?token=%s\n", url, token);
    else printf("instantid serve: %s\n", url);
    printf("Press Ctrl-C to stop.\n");
    fflush(stdout);
}

int iid_cli_serve(const iid_server_options_t *so, iid_engine_t *e, const iid_render_options_t *ro)
{
    iid_server_options_t opts = *so;
    opts.on_ready = print_ready;
    opts.on_ready_user = (void *)opts.token;
    opts.report = stderr;
    iid_error_t err;
    iid_error_clear(&err);
    iid_styles_t styles = {0};
    iid_server_engine_t engine;
    memset(&engine, 0, sizeof engine);
    /* The styles and schedulers are listed with or without an engine. */
    if (iid__styles_load_builtin(&styles, &err) != IID_OK ||
        iid__server_engine_open(e, &styles, ro, &engine, &err) != IID_OK) {
        fprintf(stderr, "instantid serve: %s\n", err.msg);
        iid__styles_free(&styles);
        return 2;
    }
    serve_stop = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    iid_status s = iid__server_run(&opts, &engine, &serve_stop, &err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    iid__server_engine_close(&engine);
    iid__styles_free(&styles);
    if (s != IID_OK) {
        fprintf(stderr, "instantid serve: %s\n", err.msg);
        return 2;
    }
    printf("instantid serve: stopped\n");
    return 0;
}
