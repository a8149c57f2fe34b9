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

/* Load the engine for these options, or NULL (with the reason on stderr and in
 * why, which the page shows). */
static iid_engine_t *open_engine(const serve_args_t *a, char *why, size_t cap)
{
    iid_cli_models_t m;
    memset(&m, 0, sizeof m);
    m.models = a->models;
    m.device = a->device;
    m.resampler_heads = a->resampler_heads;
    m.threads = a->threads;
    iid_engine_t *e = NULL;
    iid_error_t err;
    if (iid_cli_engine_open(&m, 1, &e, NULL, &err) != IID_OK) {
        fprintf(stderr, "instantid serve: generation disabled: %s\n", err.msg);
        snprintf(why, cap, "%s", err.msg);
        return NULL;
    }
    return e;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: instantid serve [--host H] [--port P] [--token T] [--output DIR] [--log FILE]\n"
            "                       [--input DIR] [--max-upload BYTES] [--queue N] [--models DIR]\n"
            "                       [--device cpu|cuda] [--threads N] [--resampler-heads N]\n"
            "Serve the web UI and JSON API: generate single images from a face photo, browse a batch log.\n"
            "  --host H             address to bind (default 127.0.0.1); any non-loopback address\n"
            "                       requires --token\n"
            "  --port P             port (default 7860; 0 picks a free one)\n"
            "  --token T            secret every /api/ and /files/ request must carry\n"
            "                       (Authorization: Bearer T, or ?token=T)\n"
            "  --output DIR         where results are written and /files/ serves from\n"
            "                       (default generated_images)\n"
            "  --log FILE           the batch log the 'Batch log' tab shows and web jobs are added to\n"
            "                       (default generation_log.csv)\n"
            "  --input DIR          the batch's face images, for Refine (default: the folder the\n"
            "                       batch recorded in FILE.json)\n"
            "  --max-upload BYTES   largest request body (default 20000000)\n"
            "  --queue N            jobs that may wait behind the running one (default 8)\n"
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
    iid_engine_t *e = open_engine(&a, why, sizeof why);
    if (!e) a.server.engine_error = why;
    iid_render_options_t ro = {IID_PROMPT_WEIGHTED, 1, 0};
    int rc = iid_cli_serve(&a.server, e, &ro);
    iid__engine_free(e);
    return rc;
}
