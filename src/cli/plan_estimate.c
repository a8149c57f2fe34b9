/* plan_estimate.c - a plan's sizes, steps and estimated time (see plan_estimate.h). */
#include "cli/plan_estimate.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/plan_sizes.h"
#include "batch/progress.h"
#include "cli/model_names.h"
#include "ops/backend.h"

double iid_cli_clock(void *unused)
{
    (void)unused;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void iid_cli_speed_load(const iid_opts_t *o, iid_speed_t *s)
{
    long threads = omp_get_max_threads();
    iid_cli_long(o, "threads", 1, 4096, &threads, NULL); /* validated with the other model options */
    const char *device = iid_cli_get(o, "device"), *dtype = iid_cli_get(o, "dtype");
    /* keyed on what --dtype resolves to: "auto" is f32 on one CPU and bf16 on another */
    iid_compute_dtype_t chosen;
    iid_error_t ignored;
    if (iid__compute_dtype_choose(dtype, &chosen, &ignored) == IID_OK)
        dtype = chosen.dtype == IID_DTYPE_BF16 ? "bf16" : "f32";
    /* the models matter too: the test kit's tiny ones must not set the speed of SDXL */
    iid_cli_models_t m;
    iid_model_names_t names = {0};
    if (iid_cli_models_read(o, &m, NULL) == IID_OK) iid_cli_model_names(&m, &names);
    char key[64];
    iid__speed_key(key, sizeof key, device ? device : "cpu", dtype ? dtype : "f32", (int)threads,
                   names.hash[0] ? names.hash : "no-model");
    iid__speed_load(s, key);
}

void iid_cli_print_estimate(FILE *f, const char *prefix, const iid_plan_t *plan, const unsigned char *todo,
                            const int *w, const int *h, const iid_speed_t *speed)
{
    /* jobs per distinct size, in the order first seen */
    enum { MAX_SIZES = 8 };
    int sw[MAX_SIZES], sh[MAX_SIZES], distinct = 0;
    long count[MAX_SIZES] = {0}, jobs = 0, steps = 0, unknown = 0, more = 0;
    int smin = 0, smax = 0;
    for (long i = 0; i < plan->count; i++) {
        if (todo && !todo[i]) continue;
        const iid_plan_job_t *j = &plan->jobs[i];
        jobs++;
        steps += j->steps;
        if (jobs == 1 || j->steps < smin) smin = j->steps;
        if (jobs == 1 || j->steps > smax) smax = j->steps;
        int x = w[j->image], y = h[j->image], k = 0;
        if (x <= 0) {
            unknown++;
            continue;
        }
        while (k < distinct && !(sw[k] == x && sh[k] == y)) k++;
        if (k == distinct && distinct < MAX_SIZES) sw[distinct] = x, sh[distinct++] = y;
        if (k < distinct) count[k]++;
        else more++;
    }
    fprintf(f, "%ssizes:", prefix);
    for (int k = 0; k < distinct; k++)
        fprintf(f, "%s %dx%d (%ld job%s)", k ? "," : "", sw[k], sh[k], count[k], count[k] == 1 ? "" : "s");
    if (more) fprintf(f, ", %ld jobs at other sizes", more);
    if (unknown)
        fprintf(f, "%s %ld job%s on unreadable images (they will fail at once)", distinct ? "," : "", unknown,
                unknown == 1 ? "" : "s");
    fprintf(f, "\n%ssteps: %ld in %ld jobs (%d to %d per job)\n", prefix, steps, jobs, smin, smax);
    char t[32], how[512];
    iid__fmt_duration(t, sizeof t, speed->seconds_per_unit * iid__plan_work(plan, todo, w, h));
    iid__speed_describe(how, sizeof how, speed);
    fprintf(f, "%sestimated time: %s (%s)\n", prefix, t, how);
}
