/*
 * plan_sizes.h - the size each input image will be generated at, known before
 * running, so a plan's work (estimate.h) and time can be estimated up front and
 * `--dry-run` can show it.
 */
#ifndef IID_BATCH_PLAN_SIZES_H
#define IID_BATCH_PLAN_SIZES_H

#include "batch/plan.h"
#include "batch/runner.h"

/* Per plan image: size's width x height when fixed, else the demo's resize_img
 * rule applied to the decoded (EXIF-oriented) image; 0 x 0 for an image that
 * cannot be decoded (its jobs will fail at once). *w and *h are malloc'd arrays
 * of plan->image_count entries; fails only when out of memory. */
iid_status iid__plan_sizes(const iid_plan_t *plan, const iid_batch_size_t *size, int **w, int **h, iid_error_t *err);

/* The work units of the jobs with todo[i] set (todo NULL: all). */
double iid__plan_work(const iid_plan_t *plan, const unsigned char *todo, const int *w, const int *h);

#endif
