/*
 * cmd_serve.c - `instantid serve`: the local web UI and JSON API (DESIGN.md
 * section 5; src/server/server.h has the endpoints).
 *
 * This file parses the options and loads the models; serve_run.c runs the server.
 * When the models cannot be loaded the server still starts, without generation
 * (the page, the batch log and the output files work; POST /api/generate answers
 * 503), and says why on stderr.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/serve_run.h"
#include "server/server.h"

typedef struct serve_args {
    iid_server_options_t server;
    const char *models, *device;
    int resampler_heads, threads;
} serve_args_t;

/* Create the engine for these options, or NULL (with the reason on stderr and in
 * why, which the page shows). */
static iid_ctx_t *open_engine(const serve_args_t *a, char *why, size_t cap)
{
    iid_cli_models_t m;
    memset(&m, 0, sizeof m);
    m.models = a->models;
    m.device = a->device;
    m.resampler_heads = a->resampler_heads;
    m.threads = a->threads;
    iid_ctx_params_t cp;
    iid_ctx_t *ctx = NULL;
    iid_error_t err;
    if (iid_cli_ctx_params(&m, 1, &cp, &err) != IID_OK || iid_cli_ctx_open(&m, &cp, &ctx, &err) != IID_OK) {
        fprintf(stderr, "instantid serve: generation disabled: %s\n", err.msg);
        snprintf(why, cap, "%s", err.msg);
        return NULL;
    }
    return ctx;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: instantid serve [--host H] [--port P] [--token T] [--output DIR] [--log FILE]\n"
            "                       [--input DIR] [--max-upload BYTES] [--queue N]\n"
            "                       [--max-connections N] [--max-per-client N] [--header-timeout S]\n"
            "                       [--request-timeout S] [--models DIR] [--device cpu|cuda]\n"
            "                       [--threads N] [--resampler-heads N]\n"
            "Serve the web UI and JSON API: generate single images from a face photo, browse a batch log.\n"
            "  --host H             address to bind (default 127.0.0.1); any non-loopback address\n"
            "                       requires --token\n"
            "  --port P             port (default 7860; 0 picks a free one)\n"
            "  --token T            secret every /api/, /files/ and /inputs/ request must carry\n"
            "                       (Authorization: Bearer T, or ?token=T)\n"
            "  --output DIR         where results are written and /files/ serves from\n"
            "                       (default generated_images)\n"
            "  --log FILE           the batch log the 'Batch log' tab shows and web jobs are added to\n"
            "                       (default generation_log.csv)\n"
            "  --input DIR          the batch's face images, for Refine (default: the folder the\n"
            "                       batch recorded in FILE.json)\n"
            "  --max-upload BYTES   largest request body (default 20000000)\n"
            "  --queue N            jobs that may wait behind the running one (default 8)\n"
            "  --max-connections N  open connections in all (default 256)\n"
            "  --max-per-client N   open connections per client address, 0 = no cap (default 16,\n"
            "                       none when --host is a loopback address)\n"
            "  --header-timeout S   seconds a request's headers may take to arrive (default 10)\n"
            "  --request-timeout S  seconds its body and answer may take after that (default 120)\n"
            "  --models DIR         models folder (default models/)\n"
            "  --device D           cpu or cuda\n"
            "  --threads N          CPU threads for the engine\n"
            "  --resampler-heads N  the Resampler's attention heads (default 20)\n"
            "Ctrl-C stops the server; a running job is interrupted.\n");
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "instantid serve: %s: '%s' is not an integer in %ld..%ld\n", opt, s, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int iid_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'H'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"token", required_argument, NULL, 't'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"log", required_argument, NULL, 'l'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"max-upload", required_argument, NULL, 'u'},
                                         {"queue", required_argument, NULL, 'q'},
                                         {"max-connections", required_argument, NULL, 'C'},
                                         {"max-per-client", required_argument, NULL, 'P'},
                                         {"header-timeout", required_argument, NULL, 'T'},
                                         {"request-timeout", required_argument, NULL, 'R'},
                                         {"models", required_argument, NULL, 'm'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"threads", required_argument, NULL, 'j'},
                                         {"resampler-heads", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    serve_args_t a = {.models = "models", .device = NULL, .resampler_heads = 20, .threads = 0};
    iid__server_options_init(&a.server);
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'H': a.server.host = optarg; break;
        case 'p':
            if (!parse_int("--port", optarg, 0, 65535, &v)) return 2;
            a.server.port = (int)v;
            break;
        case 't': a.server.token = optarg; break;
        case 'o': a.server.output_dir = optarg; break;
        case 'l': a.server.log_path = optarg; break;
        case 'i': a.server.input_dir = optarg; break;
        case 'u':
            if (!parse_int("--max-upload", optarg, 1024, 2000000000L, &v)) return 2;
            a.server.max_upload = (size_t)v;
            break;
        case 'q':
            if (!parse_int("--queue", optarg, 1, 1000, &v)) return 2;
            a.server.queue = (int)v;
            break;
        case 'C':
            if (!parse_int("--max-connections", optarg, 1, 10000, &v)) return 2;
            a.server.max_connections = (int)v;
            break;
        case 'P':
            if (!parse_int("--max-per-client", optarg, 0, 10000, &v)) return 2;
            a.server.max_per_client = (int)v;
            break;
        case 'T':
            if (!parse_int("--header-timeout", optarg, 1, 3600, &v)) return 2;
            a.server.header_timeout = (unsigned)v;
            break;
        case 'R':
            if (!parse_int("--request-timeout", optarg, 1, 86400, &v)) return 2;
            a.server.request_timeout = (unsigned)v;
            break;
        case 'm': a.models = optarg; break;
        case 'd':
            if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "cuda") != 0) {
                fprintf(stderr, "instantid serve: --device: '%s' is not cpu or cuda\n", optarg);
                return 2;
            }
            a.device = optarg;
            break;
        case 'j':
            if (!parse_int("--threads", optarg, 1, 4096, &v)) return 2;
            a.threads = (int)v;
            break;
        case 'r':
            if (!parse_int("--resampler-heads", optarg, 1, 1024, &v)) return 2;
            a.resampler_heads = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "instantid serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    char why[IID_ERROR_MSG_MAX];
    iid_ctx_t *ctx = open_engine(&a, why, sizeof why);
    if (!ctx) a.server.engine_error = why;
    iid_render_params_t defaults;
    iid_render_params_init(&defaults);
    int rc = iid_cli_serve(&a.server, ctx, &defaults);
    iid_ctx_free(ctx);
    return rc;
}
