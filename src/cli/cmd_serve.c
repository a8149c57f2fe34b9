/*
 * cmd_serve.c - `instantid serve`: the local web UI and JSON API (DESIGN.md
 * section 5; src/server/server.h has the endpoints).
 *
 * This file reads the options (cli/options.c, as every command) and loads the
 * models; serve_run.c runs the server.
 * When the models cannot be loaded the server still starts, without generation
 * (the page, the batch log and the output files work; POST /api/generate answers
 * 503), and says why on stderr.
 *
 * LCM mode is chosen per job, as the demo's check box: when the models folder
 * has the LCM-LoRA the engine gets it to switch on for LCM jobs
 * (iid_ctx_params_t.lcm_lora), else the page's toggle is off and says which
 * file is missing. --lcm ticks the toggle by default (and loads in LCM mode).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/model_names.h"
#include "cli/options.h"
#include "cli/serve_run.h"
#include "server/server.h"

static const iid_opt_spec_t serve_opts[] = {
    IID_CLI_SERVE_OPTS,
    {"output", 'o', "DIR", "where results are written and /files/ serves from (default generated_images)"},
    {"log", 0, "FILE", "the batch log the Log tab shows and web jobs are added to (default generation_log.csv)"},
    {"input", 0, "DIR", "the batch's face images, for Refine (default: the folder the batch recorded in FILE.json)"},
    {"max-upload", 0, "BYTES", "largest request body (default 20000000)"},
    {"queue", 0, "N", "jobs that may wait behind the running one (default 8)"},
    {"max-connections", 0, "N", "open connections in all (default 256)"},
    {"max-per-client", 0, "N", "open connections per client address, 0 = no cap (default 16; none on loopback)"},
    {"header-timeout", 0, "S", "seconds a request's headers may take to arrive (default 10)"},
    {"request-timeout", 0, "S", "seconds its body and answer may take after that (default 120)"},
    IID_CLI_RENDER_OPTS,
    IID_CLI_COMMON_OPTS,
};
#define N_SERVE_OPTS ((int)(sizeof serve_opts / sizeof serve_opts[0]))

/* Create the engine for these options, or NULL (with the reason on stderr and in
 * why, which the page shows). Without the LCM-LoRA file, lcm_why says so. */
static iid_ctx_t *open_engine(iid_cli_models_t *m, char *why, size_t cap, char *lcm_why, size_t lcm_cap)
{
    iid_ctx_params_t cp;
    iid_ctx_t *ctx = NULL;
    iid_error_t err;
    int lcm_on = m->lcm;
    m->lcm = 0; /* iid_cli_ctx_params would fuse the LCM-LoRA for good; here it is switched per job */
    iid_status s = iid_cli_ctx_params(m, 1, &cp, &err);
    m->lcm = lcm_on;
    if (s == IID_OK) {
        iid_error_t lcm_err;
        if (iid_cli_lcm_lora_path(m, m->lcm_lora, sizeof m->lcm_lora, &lcm_err) == IID_OK) {
            cp.lcm_lora = m->lcm_lora;
            cp.lcm = lcm_on;
        } else {
            snprintf(lcm_why, lcm_cap, "%s", lcm_err.msg);
            if (lcm_on) fprintf(stderr, "instantid serve: --lcm: LCM mode unavailable: %s\n", lcm_err.msg);
        }
        s = iid_cli_ctx_open(m, &cp, &ctx, &err);
    }
    if (s != IID_OK) {
        fprintf(stderr, "instantid serve: generation disabled: %s\n", err.msg);
        snprintf(why, cap, "%s", err.msg);
        return NULL;
    }
    return ctx;
}

static iid_status read_options(const iid_opts_t *o, iid_server_options_t *so, iid_cli_models_t *m, iid_error_t *err)
{
    iid__server_options_init(so);
    IID_TRY(iid_cli_serve_options(o, so, err));
    if (iid_cli_get(o, "output")) so->output_dir = iid_cli_get(o, "output");
    if (iid_cli_get(o, "log")) so->log_path = iid_cli_get(o, "log");
    if (iid_cli_get(o, "input")) so->input_dir = iid_cli_get(o, "input");
    long max_upload = (long)so->max_upload, queue = so->queue, conns = so->max_connections,
         per_client = so->max_per_client, header = so->header_timeout, request = so->request_timeout;
    IID_TRY(iid_cli_long(o, "max-upload", 1024, 2000000000L, &max_upload, err));
    IID_TRY(iid_cli_long(o, "queue", 1, 1000, &queue, err));
    IID_TRY(iid_cli_long(o, "max-connections", 1, 10000, &conns, err));
    IID_TRY(iid_cli_long(o, "max-per-client", 0, 10000, &per_client, err));
    IID_TRY(iid_cli_long(o, "header-timeout", 1, 3600, &header, err));
    IID_TRY(iid_cli_long(o, "request-timeout", 1, 86400, &request, err));
    so->max_upload = (size_t)max_upload;
    so->queue = (int)queue;
    so->max_connections = (int)conns;
    so->max_per_client = (int)per_client;
    so->header_timeout = (unsigned)header;
    so->request_timeout = (unsigned)request;
    return iid_cli_models_read(o, m, err);
}

int iid_cmd_serve(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    iid_server_options_t so;
    iid_cli_models_t m;
    iid_status st = iid_cli_parse(&o, serve_opts, N_SERVE_OPTS, argc, argv, 0, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid serve [options]",
                     "Serve the web UI and JSON API: generate single images from a face photo, browse a batch "
                     "log.\nCtrl-C stops the server; a running job is interrupted.",
                     serve_opts, N_SERVE_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK) st = read_options(&o, &so, &m, &err);
    if (st != IID_OK) {
        fprintf(stderr, "instantid serve: %s\n", err.msg);
        iid_cli_free(&o);
        return 2;
    }
    char why[IID_ERROR_MSG_MAX], lcm_why[IID_ERROR_MSG_MAX] = "";
    iid_ctx_t *ctx = open_engine(&m, why, sizeof why, lcm_why, sizeof lcm_why);
    if (!ctx) so.engine_error = why;
    iid_render_params_t defaults;
    iid_cli_render_defaults(&o, &m, &defaults);
    iid_model_names_t names, lcm_names; /* a plain job's LoRAs, and an LCM job's (the LCM-LoRA last) */
    int lcm_on = m.lcm;
    if (ctx) {
        m.lcm = 0;
        iid_cli_model_names(&m, &names);
        m.lcm = 1;
        iid_cli_model_names(&m, &lcm_names);
    }
    iid_cli_lcm_t lcm = {ctx ? &lcm_names : NULL, lcm_why[0] ? lcm_why : NULL, lcm_on};
    int rc = iid_cli_serve(&so, ctx, &defaults, ctx ? &names : NULL, &lcm);
    iid_ctx_free(ctx);
    iid_cli_free(&o);
    return rc;
}
