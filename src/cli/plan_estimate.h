/*
 * plan_estimate.h - what a batch plan will cost, said before it runs: the
 * generation sizes, the steps and the estimated time on this machine
 * (batch/estimate.h), for `batch --dry-run` and the start of a run.
 */
#ifndef IID_CLI_PLAN_ESTIMATE_H
#define IID_CLI_PLAN_ESTIMATE_H

#include <stdio.h>

#include "batch/estimate.h"
#include "batch/plan.h"
#include "cli/options.h"

/* A monotonic clock in seconds (the argument is unused: the reporter's clock type). */
double iid_cli_clock(void *unused);

/* This machine's speed for the options' --device, --dtype, --threads and SDXL
 * model (the key of estimate.h), from the cache or the reference. */
void iid_cli_speed_load(const iid_opts_t *o, iid_speed_t *s);

/* Lines to f: "sizes: 1088x1280 (2 images), 1024x1024 (1 image), 1 unreadable",
 * "steps: N in M jobs (A to B per job)", "estimated time: 9h12m (...)". todo
 * NULL: every job. */
void iid_cli_print_estimate(FILE *f, const char *prefix, const iid_plan_t *plan, const unsigned char *todo,
                            const int *w, const int *h, const iid_speed_t *speed);

#endif
