/*
 * plan.h - the batch plan: which image, style, values and seed each job gets.
 *
 * The plan is a pure function of (the sorted list of input image paths, the
 * style names, the options), so every shard and every resumed run computes the
 * same jobs with the same ids 0..N-1, and `--dry-run` shows exactly what a run
 * will do.
 *
 * Job order: the images are shuffled once with the seed; then for each loop, for
 * each image in that order, for each style of the job's style set (every chosen
 * style with --styles all or NAME,...; one drawn style with random), for each
 * value combination (one random draw, or every point of the grid), one job.
 * `--styles all` and `random` leave out IID_STYLE_NONE, the demo's plain
 * "(No style)" template (unless it is the only style): it is run only when named.
 * `--limit N` keeps the first N jobs, so a limited plan is a prefix of the full
 * one. Since a job's draws depend only on the plan seed and its id, raising
 * --limit or --loops keeps every earlier job unchanged: a resumed run can extend
 * a batch.
 *
 * Random numbers: splitmix64 (Steele, Lea and Flood 2014; the 64-bit golden-ratio
 * increment and the two multiply-xorshift rounds of its finaliser), which is
 * fixed, portable and needs only 64-bit integer arithmetic. The image shuffle is
 * Fisher-Yates driven by the stream seeded with the plan seed. Every job then
 * draws from its own stream, seeded by mixing the plan seed with the job id, in a
 * fixed order: style (random mode), identitynet, adapter, steps, guidance (random
 * sweep), seed. A uniform double in [lo, hi] is lo + (hi - lo) * (x >> 11) / 2^53,
 * rounded to 0.01 (the step a UI slider would set, so logs and PNG metadata say
 * 1.23, not 1.2345678901234567) and kept inside [lo, hi];
 * an integer in [lo, hi] is lo + ((x >> 32) * (hi - lo + 1) >> 32). Job seeds are
 * 32-bit (0 .. 2^32-1) as the original preprocess.py drew them.
 *
 * Grid sweep (`grid:K`): each range gives K evenly spaced values lo + i (hi - lo)
 * / (K - 1), i = 0..K-1; a one-value range `A` gives one value; step values are
 * rounded to integers and repeats removed. The combinations run identitynet
 * slowest, then adapter, steps, guidance fastest.
 */
#ifndef IID_BATCH_PLAN_H
#define IID_BATCH_PLAN_H

#include <stdint.h>

#include "core/status.h"

/* The plain template's name, which all/random skip. */
#define IID_STYLE_NONE "(No style)"

/* A closed range [lo, hi]; lo == hi is a fixed value. */
typedef struct iid_range {
    double lo, hi;
} iid_range_t;

typedef enum { IID_SWEEP_RANDOM = 0, IID_SWEEP_GRID = 1 } iid_sweep_t;
typedef enum { IID_STYLES_RANDOM = 0, IID_STYLES_ALL = 1, IID_STYLES_LIST = 2 } iid_styles_mode_t;

typedef struct iid_plan_options {
    uint64_t seed;
    int loops;  /* >= 1 */
    long limit; /* 0: no limit */
    iid_range_t identitynet, adapter, steps, guidance;
    iid_sweep_t sweep;
    int grid_k; /* >= 1 for IID_SWEEP_GRID */
    iid_styles_mode_t styles_mode;
    /* IID_STYLES_LIST: the names to run, each for every image; otherwise unused. */
    const char *const *style_list;
    int style_list_count;
} iid_plan_options_t;

/* Defaults of `instantid batch` (the original preprocess.py's): ranges 1.0:1.5,
 * 0.7:1.0, 40:60, 7.0:12.0, random sweep, random styles, one loop, no limit,
 * seed 0 (the CLI draws a random one when --seed is absent). */
void iid__plan_options_init(iid_plan_options_t *o);

typedef struct iid_plan_job {
    long job_id;
    int image;      /* index into iid_plan_t.images */
    int style;      /* index into iid_plan_t.styles */
    int loop;       /* 0-based */
    double identitynet_strength;
    double adapter_strength;
    int steps;
    double guidance;
    uint32_t seed;
} iid_plan_job_t;

typedef struct iid_plan {
    iid_plan_job_t *jobs; /* jobs[i].job_id == i */
    long count;
    char **images; /* the input paths, in the caller's (sorted) order */
    int image_count;
    char **styles; /* the style names jobs refer to */
    int style_count;
    uint64_t seed;
} iid_plan_t;

/* Build the plan. images: n_images paths, already sorted by the caller (the
 * scan sorts them); style_names: every available style in listing order (used by
 * random and all; list mode's names must be among them). Fails on an empty image
 * list, a list-mode name that is not a style, bad ranges (lo > hi, steps below 1
 * or not integers), or a plan of more than 100 million jobs. */
iid_status iid__plan_build(iid_plan_t *plan, const char *const *images, int n_images,
                           const char *const *style_names, int n_styles, const iid_plan_options_t *o,
                           iid_error_t *err);

void iid__plan_free(iid_plan_t *plan);

/* Parse a range "A" or "A:B" (A <= B) for the option named opt (used in
 * messages). integer: both ends must be whole numbers >= 1. */
iid_status iid__range_parse(const char *text, const char *opt, int integer, iid_range_t *out, iid_error_t *err);

/* Parse `--sweep random|grid:K` (1 <= K <= 1000). */
iid_status iid__sweep_parse(const char *text, iid_sweep_t *sweep, int *grid_k, iid_error_t *err);

/* A shard: the jobs with job_id % count == index. count 1 is the whole plan. */
typedef struct iid_shard {
    int index, count;
} iid_shard_t;

/* Decide the shard, in this order: `--shard I/N` (opt_shard, non-NULL); else
 * SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN when set) with
 * SLURM_ARRAY_TASK_COUNT; else JOB_COMPLETION_INDEX with `--shards N`
 * (opt_shards > 0); else the whole plan. The environment values are passed in
 * (NULL when unset) so the rule is testable. Fails on malformed numbers, N < 1
 * or I outside 0..N-1, naming the option or variable. */
iid_status iid__shard_resolve(const char *opt_shard, int opt_shards, const char *slurm_id, const char *slurm_count,
                              const char *slurm_min, const char *completion_index, iid_shard_t *out,
                              iid_error_t *err);

/* True when job_id belongs to shard s. */
int iid__shard_has(const iid_shard_t *s, long job_id);

/* The 64-bit splitmix64 step: advances *state and returns the next value. Also
 * used by the CLI to turn the clock into a seed when --seed is absent. */
uint64_t iid__splitmix64(uint64_t *state);

#endif
