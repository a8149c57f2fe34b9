/* serve_run.c - signals, the engine binding and the server's run loop. */
#include "cli/serve_run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "front/engine_bind.h"

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

iid_status iid_cli_serve_options(const iid_opts_t *o, iid_server_options_t *so, iid_error_t *err)
{
    long port = so->port;
    IID_TRY(iid_cli_long(o, "port", 0, 65535, &port, err));
    so->port = (int)port;
    if (iid_cli_get(o, "host")) so->host = iid_cli_get(o, "host");
    if (iid_cli_get(o, "token")) so->token = iid_cli_get(o, "token");
    return IID_OK;
}

int iid_cli_serve(const iid_server_options_t *so, iid_ctx_t *ctx, const iid_render_params_t *defaults,
                  const iid_model_names_t *models, const iid_cli_lcm_t *lcm)
{
    iid_server_options_t opts = *so;
    opts.on_ready = print_ready;
    opts.on_ready_user = (void *)opts.token;
    opts.report = stderr;
    iid_error_t err;
    iid_error_clear(&err);
    iid_styles_t styles = {0};
    iid_engine_binding_t *binding = NULL;
    iid_server_engine_t engine;
    /* The styles and schedulers are listed with or without an engine. */
    if (iid__styles_load_builtin(&styles, &err) != IID_OK ||
        iid__engine_bind(ctx, &styles, defaults, &binding, &err) != IID_OK) {
        fprintf(stderr, "instantid serve: %s\n", err.msg);
        iid__styles_free(&styles);
        return 2;
    }
    if (models) iid__binding_set_models(binding, models);
    if (lcm) iid__binding_set_lcm(binding, lcm->models, lcm->why_not, lcm->on);
    engine = iid__binding_server(binding);
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
    iid__engine_unbind(binding);
    iid__styles_free(&styles);
    if (s != IID_OK) {
        fprintf(stderr, "instantid serve: %s\n", err.msg);
        return 2;
    }
    printf("instantid serve: stopped\n");
    return 0;
}
