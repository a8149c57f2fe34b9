/*
 * cmd_bench.c - `instantid bench --calibrate`: measure this machine's speed once
 * (batch/estimate.h), so the first batch's estimates are right from the start.
 *
 * It runs a short `generate` (default: the first photo of sample_images/ at
 * 512x512, 4 steps, output to a temporary file that is removed), which records
 * the speed in the cache folder as every generate does; then it prints what that
 * means for a full-size image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/inputs.h"
#include "batch/progress.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/plan_estimate.h"

static const iid_opt_spec_t bench_opts[] = {
    {"calibrate", 0, NULL, "measure this machine's speed and keep it in the cache folder"},
    {"face", 0, "IMG", "face photo to render (default: the first image in sample_images/)"},
    {"size", 0, "WxH", "size of the test render (default 512x512)"},
    {"steps", 0, "N", "steps of the test render (default 4)"},
    IID_CLI_COMMON_OPTS,
};
#define N_BENCH_OPTS ((int)(sizeof bench_opts / sizeof bench_opts[0]))

/* The generate command line: the test render plus every common option given. */
static int run_generate(const iid_opts_t *o, const char *face, const char *out)
{
    char *argv[2 * N_BENCH_OPTS + 16];
    int n = 0;
    argv[n++] = "generate";
    const char *fixed[][2] = {{"--face", face},
                              {"--size", iid_cli_get(o, "size") ? iid_cli_get(o, "size") : "512x512"},
                              {"--steps", iid_cli_get(o, "steps") ? iid_cli_get(o, "steps") : "4"},
                              {"--output", out}};
    for (int i = 0; i < 4; i++) argv[n++] = (char *)fixed[i][0], argv[n++] = (char *)fixed[i][1];
    char names[N_BENCH_OPTS][64];
    for (int i = 4; i < N_BENCH_OPTS; i++) {
        const char *v = o->value[i];
        if (!v) continue;
        snprintf(names[i], sizeof names[i], "--%s", bench_opts[i].name);
        if (!bench_opts[i].metavar && strcmp(v, "1") != 0) continue; /* a flag set false */
        argv[n++] = names[i];
        if (bench_opts[i].metavar) argv[n++] = (char *)v;
    }
    argv[n] = NULL;
    return iid_cmd_generate(n, argv);
}

int iid_cmd_bench(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status st = iid_cli_parse(&o, bench_opts, N_BENCH_OPTS, argc, argv, 0, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid bench --calibrate [options]",
                     "Measure how fast this machine generates, for the time estimates of batch and generate.\n"
                     "The result is kept in $XDG_CACHE_HOME/instantid/speed.tsv (per device, dtype, threads and "
                     "model).",
                     bench_opts, N_BENCH_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK && !iid_cli_flag(&o, "calibrate"))
        st = iid__fail(&err, IID_ERR_INVALID, "nothing to do: give --calibrate");
    iid_path_list_t photos = {0};
    const char *face = iid_cli_get(&o, "face");
    if (st == IID_OK && !face) {
        st = iid__scan_images("sample_images", 0, &photos, &err);
        if (st == IID_OK && photos.count == 0)
            st = iid__fail(&err, IID_ERR_NOT_FOUND, "sample_images: no photos; give --face IMG");
        if (st == IID_OK) face = photos.paths[0];
    }
    if (st != IID_OK) {
        fprintf(stderr, "instantid bench: %s\n", err.msg);
        iid__path_list_free(&photos);
        iid_cli_free(&o);
        return 2;
    }
    char out[64];
    snprintf(out, sizeof out, "/tmp/instantid-bench-%ld.png", (long)getpid());
    int rc = run_generate(&o, face, out);
    remove(out);
    if (rc == 0) {
        iid_speed_t s;
        iid_cli_speed_load(&o, &s);
        char how[512], t1[32], t2[32];
        iid__speed_describe(how, sizeof how, &s);
        iid__fmt_duration(t1, sizeof t1, s.seconds_per_unit * iid__estimate_job_work(1024, 1024, 30));
        iid__fmt_duration(t2, sizeof t2, s.seconds_per_unit * iid__estimate_job_work(1088, 1280, 50));
        printf("instantid bench: %s: %.4g s per unit of work\n"
               "instantid bench: about %s for a 1024x1024 image at 30 steps, %s for 1088x1280 at 50\n",
               how, s.seconds_per_unit, t1, t2);
    }
    iid__path_list_free(&photos);
    iid_cli_free(&o);
    return rc;
}
