/*
 * plan.c - building the batch plan, parsing ranges and sweeps, and shards.
 *
 * See plan.h for the job order and the random number rules. Concretely, job j
 * draws from a splitmix64 stream whose state starts at
 *     plan_seed XOR splitmix64_next(state = j)
 * so a job's values depend on nothing but the plan seed and its id.
 */
#define _POSIX_C_SOURCE 200809L
#include "batch/plan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_MAX_JOBS 10000000L
#define GRID_MAX_K 1000

uint64_t iid__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double draw_uniform(uint64_t *s, iid_range_t r)
{
    double u = (double)(iid__splitmix64(s) >> 11) * 0x1p-53;
    double v = round((r.lo + (r.hi - r.lo) * u) * 100.0) / 100.0;
    return v < r.lo ? r.lo : v > r.hi ? r.hi : v;
}

/* An integer in [lo, hi] (hi - lo < 2^32). */
static uint64_t draw_int(uint64_t *s, uint64_t lo, uint64_t hi)
{
    uint64_t n = hi - lo + 1;
    return lo + (((iid__splitmix64(s) >> 32) * n) >> 32);
}

void iid__plan_options_init(iid_plan_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->loops = 1;
    o->identitynet = (iid_range_t){1.0, 1.5};
    o->adapter = (iid_range_t){0.7, 1.0};
    o->steps = (iid_range_t){40, 60};
    o->guidance = (iid_range_t){7.0, 12.0};
    o->sweep = IID_SWEEP_RANDOM;
    o->grid_k = 1;
    o->styles_mode = IID_STYLES_RANDOM;
}

void iid__plan_free(iid_plan_t *plan)
{
    if (!plan) return;
    for (int i = 0; i < plan->image_count; i++) free(plan->images[i]);
    for (int i = 0; i < plan->style_count; i++) free(plan->styles[i]);
    free(plan->images);
    free(plan->styles);
    free(plan->jobs);
    memset(plan, 0, sizeof *plan);
}

/* Copy n strings into a fresh array; NULL on allocation failure. */
static char **copy_strings(const char *const *src, int n)
{
    char **out = calloc(n > 0 ? (size_t)n : 1, sizeof *out);
    if (!out) return NULL;
    for (int i = 0; i < n; i++) {
        if (!(out[i] = strdup(src[i]))) {
            for (int k = 0; k < i; k++) free(out[k]);
            free(out);
            return NULL;
        }
    }
    return out;
}

/* The grid values of one range: writes up to k values to out, returns how many. */
static int grid_values(iid_range_t r, int k, int integer, double *out)
{
    if (r.lo == r.hi || k == 1) {
        out[0] = integer ? round(r.lo) : r.lo;
        return 1;
    }
    int n = 0;
    for (int i = 0; i < k; i++) {
        double v = r.lo + (r.hi - r.lo) * i / (k - 1);
        if (i == k - 1) v = r.hi;
        if (integer) v = round(v);
        if (n > 0 && out[n - 1] == v) continue;
        out[n++] = v;
    }
    return n;
}

static iid_status check_range(iid_range_t r, const char *opt, int integer, iid_error_t *err)
{
    if (!isfinite(r.lo) || !isfinite(r.hi) || r.lo > r.hi || r.lo < 0)
        return iid__fail(err, IID_ERR_INVALID, "%s: range %g:%g is not a finite, ordered, non-negative range", opt,
                         r.lo, r.hi);
    if (integer && (r.lo < 1 || r.lo != floor(r.lo) || r.hi != floor(r.hi) || r.hi > 100000))
        return iid__fail(err, IID_ERR_INVALID, "%s: %g:%g must be whole numbers from 1 to 100000", opt, r.lo, r.hi);
    return IID_OK;
}

typedef struct grid {
    double *v[4]; /* identitynet, adapter, steps, guidance */
    int n[4];
} grid_t;

static void grid_free(grid_t *g)
{
    for (int i = 0; i < 4; i++) free(g->v[i]);
}

static iid_status grid_make(grid_t *g, const iid_plan_options_t *o, iid_error_t *err)
{
    memset(g, 0, sizeof *g);
    const iid_range_t r[4] = {o->identitynet, o->adapter, o->steps, o->guidance};
    int k = o->sweep == IID_SWEEP_GRID ? o->grid_k : 1;
    for (int i = 0; i < 4; i++) {
        if (!(g->v[i] = malloc((size_t)k * sizeof(double)))) {
            grid_free(g);
            return iid__fail(err, IID_ERR_NOMEM, "plan: out of memory");
        }
        g->n[i] = o->sweep == IID_SWEEP_GRID ? grid_values(r[i], k, i == 2, g->v[i]) : 1;
    }
    return IID_OK;
}

/* Resolve the style set: indices into names for all/list mode. */
static iid_status style_set(const iid_plan_options_t *o, const char *const *names, int n_names, int **set,
                            int *n_set, iid_error_t *err)
{
    int n = o->styles_mode == IID_STYLES_LIST ? o->style_list_count : n_names;
    if (n < 1) return iid__fail(err, IID_ERR_INVALID, "--styles: no styles to run");
    int *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return iid__fail(err, IID_ERR_NOMEM, "plan: out of memory");
    if (o->styles_mode != IID_STYLES_LIST) {
        /* all/random: every style but the plain template, unless it is all there is */
        int kept = 0;
        for (int i = 0; i < n_names; i++)
            if (strcmp(names[i], IID_STYLE_NONE) != 0) idx[kept++] = i;
        for (int i = 0; kept == 0 && i < n_names; i++) idx[i] = i;
        *set = idx;
        *n_set = kept ? kept : n_names;
        return IID_OK;
    }
    for (int i = 0; i < n; i++) {
        idx[i] = -1;
        for (int k = 0; k < n_names; k++)
            if (strcmp(names[k], o->style_list[i]) == 0) idx[i] = k;
        if (idx[i] < 0) {
            free(idx);
            return iid__fail(err, IID_ERR_NOT_FOUND, "--styles: '%s' is not a style (see 'instantid styles')",
                             o->style_list[i]);
        }
    }
    *set = idx;
    *n_set = n;
    return IID_OK;
}

/* Job id -> (loop, image, style, grid point) is a mixed-radix decomposition with
 * the guidance index fastest and the loop slowest. */
static void fill_jobs(iid_plan_t *p, const iid_plan_options_t *o, const int *order, const int *set, int n_set,
                      const grid_t *g)
{
    long per_image = o->styles_mode == IID_STYLES_RANDOM ? 1 : n_set;
    for (long id = 0; id < p->count; id++) {
        long x = id, idx[4];
        for (int k = 3; k >= 0; k--) {
            idx[k] = x % g->n[k];
            x /= g->n[k];
        }
        long si = x % per_image;
        x /= per_image;
        iid_plan_job_t *j = &p->jobs[id];
        uint64_t t = (uint64_t)id;
        uint64_t s = p->seed ^ iid__splitmix64(&t);
        j->job_id = id;
        j->image = order[x % p->image_count];
        j->loop = (int)(x / p->image_count);
        j->style = o->styles_mode == IID_STYLES_RANDOM ? set[draw_int(&s, 0, (uint64_t)n_set - 1)] : set[si];
        if (o->sweep == IID_SWEEP_RANDOM) {
            j->identitynet_strength = draw_uniform(&s, o->identitynet);
            j->adapter_strength = draw_uniform(&s, o->adapter);
            j->steps = (int)draw_int(&s, (uint64_t)o->steps.lo, (uint64_t)o->steps.hi);
            j->guidance = draw_uniform(&s, o->guidance);
        } else {
            j->identitynet_strength = g->v[0][idx[0]];
            j->adapter_strength = g->v[1][idx[1]];
            j->steps = (int)g->v[2][idx[2]];
            j->guidance = g->v[3][idx[3]];
        }
        j->seed = (uint32_t)draw_int(&s, 0, UINT32_MAX);
    }
}

iid_status iid__plan_build(iid_plan_t *plan, const char *const *images, int n_images,
                           const char *const *style_names, int n_styles, const iid_plan_options_t *o,
                           iid_error_t *err)
{
    memset(plan, 0, sizeof *plan);
    if (n_images < 1) return iid__fail(err, IID_ERR_INVALID, "plan: no input images");
    if (n_styles < 1) return iid__fail(err, IID_ERR_INVALID, "plan: no styles");
    if (o->loops < 1) return iid__fail(err, IID_ERR_INVALID, "--loops: %d must be at least 1", o->loops);
    if (o->limit < 0) return iid__fail(err, IID_ERR_INVALID, "--limit: %ld must not be negative", o->limit);
    if (o->sweep == IID_SWEEP_GRID && (o->grid_k < 1 || o->grid_k > GRID_MAX_K))
        return iid__fail(err, IID_ERR_INVALID, "--sweep: grid:%d must have K from 1 to %d", o->grid_k, GRID_MAX_K);
    IID_TRY(check_range(o->identitynet, "--identitynet-strength", 0, err));
    IID_TRY(check_range(o->adapter, "--adapter-strength", 0, err));
    IID_TRY(check_range(o->steps, "--steps", 1, err));
    IID_TRY(check_range(o->guidance, "--guidance", 0, err));

    int *set = NULL, n_set = 0;
    IID_TRY(style_set(o, style_names, n_styles, &set, &n_set, err));
    grid_t g;
    iid_status st = grid_make(&g, o, err);
    if (st != IID_OK) {
        free(set);
        return st;
    }
    double total = (double)o->loops * n_images * (o->styles_mode == IID_STYLES_RANDOM ? 1 : n_set);
    for (int i = 0; i < 4; i++) total *= g.n[i];
    if (o->limit > 0 && total > (double)o->limit) total = (double)o->limit;
    if (total > PLAN_MAX_JOBS)
        st = iid__fail(err, IID_ERR_RANGE, "plan: %.0f jobs exceeds the limit of %ld (use --limit)", total,
                       PLAN_MAX_JOBS);

    plan->seed = o->seed;
    plan->count = (long)total;
    plan->image_count = n_images;
    plan->style_count = n_styles;
    int *order = NULL;
    if (st == IID_OK) {
        plan->images = copy_strings(images, n_images);
        plan->styles = copy_strings(style_names, n_styles);
        plan->jobs = calloc((size_t)plan->count, sizeof *plan->jobs);
        order = malloc((size_t)n_images * sizeof *order);
        if (!plan->images || !plan->styles || !plan->jobs || !order)
            st = iid__fail(err, IID_ERR_NOMEM, "plan: out of memory for %ld jobs", plan->count);
    }
    if (st == IID_OK) {
        /* Fisher-Yates over the sorted images, from the plan seed's stream. */
        uint64_t s = o->seed;
        for (int i = 0; i < n_images; i++) order[i] = i;
        for (int i = n_images - 1; i > 0; i--) {
            int k = (int)draw_int(&s, 0, (uint64_t)i);
            int t = order[i];
            order[i] = order[k];
            order[k] = t;
        }
        fill_jobs(plan, o, order, set, n_set, &g);
    }
    free(order);
    free(set);
    grid_free(&g);
    if (st != IID_OK) {
        /* copy_strings failures leave NULL arrays; counts must not outrun them. */
        if (!plan->images) plan->image_count = 0;
        if (!plan->styles) plan->style_count = 0;
        iid__plan_free(plan);
    }
    return st;
}

/* strtod over the whole token; 0 on success. */
static int parse_double(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return (errno || *end || end == buf || !isfinite(*out)) ? -1 : 0;
}

iid_status iid__range_parse(const char *text, const char *opt, int integer, iid_range_t *out, iid_error_t *err)
{
    const char *colon = strchr(text, ':');
    double lo, hi;
    int bad = colon ? (parse_double(text, (size_t)(colon - text), &lo) ||
                       parse_double(colon + 1, strlen(colon + 1), &hi))
                    : parse_double(text, strlen(text), &lo);
    if (bad) return iid__fail(err, IID_ERR_INVALID, "%s: '%s' is not a number A or a range A:B", opt, text);
    if (!colon) hi = lo;
    iid_range_t r = {lo, hi};
    IID_TRY(check_range(r, opt, integer, err));
    *out = r;
    return IID_OK;
}

/* A non-negative decimal integer over the whole string; -1 when malformed. */
static long parse_count(const char *s)
{
    if (!s || !*s) return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000L) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

iid_status iid__sweep_parse(const char *text, iid_sweep_t *sweep, int *grid_k, iid_error_t *err)
{
    if (strcmp(text, "random") == 0) {
        *sweep = IID_SWEEP_RANDOM;
        *grid_k = 1;
        return IID_OK;
    }
    if (strncmp(text, "grid:", 5) == 0) {
        long k = parse_count(text + 5);
        if (k >= 1 && k <= GRID_MAX_K) {
            *sweep = IID_SWEEP_GRID;
            *grid_k = (int)k;
            return IID_OK;
        }
    }
    return iid__fail(err, IID_ERR_INVALID, "--sweep: '%s' is not 'random' or 'grid:K' (K from 1 to %d)", text,
                     GRID_MAX_K);
}

static iid_status shard_check(long index, long count, const char *what, iid_shard_t *out, iid_error_t *err)
{
    if (count < 1 || index < 0 || index >= count || count > 1000000)
        return iid__fail(err, IID_ERR_INVALID, "%s: shard %ld of %ld is not a shard I/N with 0 <= I < N", what,
                         index, count);
    out->index = (int)index;
    out->count = (int)count;
    return IID_OK;
}

iid_status iid__shard_resolve(const char *opt_shard, int opt_shards, const char *slurm_id, const char *slurm_count,
                              const char *slurm_min, const char *completion_index, iid_shard_t *out,
                              iid_error_t *err)
{
    out->index = 0;
    out->count = 1;
    if (opt_shard) {
        const char *slash = strchr(opt_shard, '/');
        char head[32];
        size_t hl = slash ? (size_t)(slash - opt_shard) : 0;
        if (!slash || hl == 0 || hl >= sizeof head)
            return iid__fail(err, IID_ERR_INVALID, "--shard: '%s' is not I/N", opt_shard);
        memcpy(head, opt_shard, hl);
        head[hl] = '\0';
        long i = parse_count(head), n = parse_count(slash + 1);
        if (i < 0 || n < 0) return iid__fail(err, IID_ERR_INVALID, "--shard: '%s' is not I/N", opt_shard);
        return shard_check(i, n, "--shard", out, err);
    }
    if (slurm_id && slurm_count) {
        long i = parse_count(slurm_id), n = parse_count(slurm_count);
        long m = slurm_min ? parse_count(slurm_min) : 0;
        if (i < 0 || n < 0 || m < 0 || i < m)
            return iid__fail(err, IID_ERR_INVALID,
                             "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT/SLURM_ARRAY_TASK_MIN: '%s'/'%s'/'%s' are "
                             "not shard numbers",
                             slurm_id, slurm_count, slurm_min ? slurm_min : "");
        return shard_check(i - m, n, "SLURM_ARRAY_TASK_ID", out, err);
    }
    if (completion_index && opt_shards > 0) {
        long i = parse_count(completion_index);
        if (i < 0)
            return iid__fail(err, IID_ERR_INVALID, "JOB_COMPLETION_INDEX: '%s' is not a number", completion_index);
        return shard_check(i, opt_shards, "JOB_COMPLETION_INDEX with --shards", out, err);
    }
    if (opt_shards > 1)
        return iid__fail(err, IID_ERR_INVALID, "--shards %d: needs JOB_COMPLETION_INDEX in the environment",
                         opt_shards);
    return IID_OK;
}

int iid__shard_has(const iid_shard_t *s, long job_id)
{
    return s->count <= 1 || job_id % s->count == s->index;
}
