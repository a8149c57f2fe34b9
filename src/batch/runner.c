/*
 * runner.c - selecting, running and logging the jobs of a plan.
 *
 * One loop in job-id order: check the stop flag, get the image's prepared handle
 * (from a small LRU cache, or prepare() it; an image that failed to prepare is
 * remembered with its reason), apply the style, have the engine write the PNG to
 * "<final>.tmp.<pid>", rename it into place, append the log row. The log row is
 * the commit point: a crash before it leaves at worst a stray .tmp file and a
 * job that --resume runs again.
 */
#define _POSIX_C_SOURCE 200809L
#include "batch/runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch/log_lock.h"
#include "io/file.h"

#define RUNNER_PATH_MAX 4096

const char *const iid__batch_default_prompt = "human, sharp focus";
const char *const iid__batch_default_negative =
    "(blurry, blur, text, abstract, glitch, lowres, low quality, worst quality:1.2), (text:1.2), watermark, "
    "painting, drawing, illustration, glitch, deformed, mutated, cross-eyed, ugly, disfigured";

void iid__batch_options_init(iid_batch_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->output_dir = "generated_images";
    o->log_path = "generation_log.csv";
    o->prompt = iid__batch_default_prompt;
    o->negative_prompt = iid__batch_default_negative;
    o->scheduler = "euler";
    o->size.pad_rgb[0] = o->size.pad_rgb[1] = o->size.pad_rgb[2] = 255;
    o->shard = (iid_shard_t){0, 1};
    o->cache_images = 4;
    o->face_mask = 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void iid__batch_output_name(char *buf, size_t cap, const char *image_path, const char *style, long job_id,
                            unsigned long seed)
{
    const char *base = base_name(image_path);
    const char *dot = strrchr(base, '.');
    int stem_len = (int)(dot && dot != base ? (size_t)(dot - base) : strlen(base));
    char slug[128];
    iid__style_slug(style, slug, sizeof slug);
    snprintf(buf, cap, "%.*s_%s_%ld_%lu.png", stem_len, base, slug, job_id, seed);
}

void iid__batch_render_params(const iid_batch_request_t *req, iid_render_params_t *r)
{
    iid_render_params_init(r);
    r->prompt = req->prompt;
    r->negative = req->negative_prompt;
    r->steps = req->job->steps;
    r->guidance = req->job->guidance;
    r->identitynet_strength = req->job->identitynet_strength;
    r->adapter_strength = req->job->adapter_strength;
    r->scheduler = req->scheduler;
    r->seed = req->job->seed;
}

iid_status iid__batch_metadata(const iid_batch_request_t *req, int width, int height, const iid_model_names_t *models,
                               int face_mask, char **parameters, char **prompt, iid_error_t *err)
{
    iid_render_params_t r;
    iid__batch_render_params(req, &r);
    r.face_mask = face_mask;
    iid_infotext_t t = {&r, width, height, req->style_name, base_name(req->image_path), req->job->job_id, models};
    *parameters = iid__infotext_a1111(&t);
    *prompt = iid__infotext_comfyui(&t);
    if (*parameters && *prompt) return IID_OK;
    free(*parameters);
    free(*prompt);
    *parameters = *prompt = NULL;
    return iid__fail(err, IID_ERR_NOMEM, "job %ld: out of memory", req->job->job_id);
}

/* ---- log rows ---------------------------------------------------------- */

typedef struct row {
    const char *f[IID_LOG_NCOLS];
    char idn[32], ad[32], steps[16], cfg[32], seed[24], job[24], width[16], height[16], shard[32];
    char time[32], stamp[32], faces[16], score[32];
    char name[RUNNER_PATH_MAX];
    char lora_tags[IID_MAX_LORA_NAMES * 176], sched[IID_MAX_LORA_NAMES * 176 + 64];
} row_t;

/* The columns known before a job runs. */
static void row_plan(row_t *r, const iid_plan_t *plan, const iid_plan_job_t *j, const iid_batch_options_t *o)
{
    memset(r->f, 0, sizeof r->f);
    const char *image = plan->images[j->image], *style = plan->styles[j->style];
    iid__batch_output_name(r->name, sizeof r->name, image, style, j->job_id, j->seed);
    iid__fmt_double(r->idn, sizeof r->idn, j->identitynet_strength);
    iid__fmt_double(r->ad, sizeof r->ad, j->adapter_strength);
    iid__fmt_double(r->cfg, sizeof r->cfg, j->guidance);
    snprintf(r->steps, sizeof r->steps, "%d", j->steps);
    snprintf(r->seed, sizeof r->seed, "%lu", (unsigned long)j->seed);
    snprintf(r->job, sizeof r->job, "%ld", j->job_id);
    r->f[IID_COL_IMAGE_NAME] = base_name(image);
    r->f[IID_COL_NEW_FILE_NAME] = r->name;
    r->f[IID_COL_IDENTITYNET] = r->idn;
    r->f[IID_COL_ADAPTER] = r->ad;
    r->f[IID_COL_STEPS] = r->steps;
    r->f[IID_COL_GUIDANCE] = r->cfg;
    r->f[IID_COL_SEED] = r->seed;
    r->f[IID_COL_STYLE] = style;
    r->f[IID_COL_PROMPT] = o->prompt;
    r->f[IID_COL_NEGATIVE] = o->negative_prompt;
    r->f[IID_COL_JOB_ID] = r->job;
    iid__infotext_lora_tags(o->models, r->lora_tags, sizeof r->lora_tags); /* LoRAs as A1111 writes them */
    snprintf(r->sched, sizeof r->sched, "%s%s", o->scheduler, r->lora_tags);
    r->f[IID_COL_SCHEDULER] = r->sched;
    if (o->shard.count > 1) {
        snprintf(r->shard, sizeof r->shard, "%d/%d", o->shard.index, o->shard.count);
        r->f[IID_COL_SHARD] = r->shard;
    }
    if (o->size.width > 0) {
        snprintf(r->width, sizeof r->width, "%d", o->size.width);
        snprintf(r->height, sizeof r->height, "%d", o->size.height);
        r->f[IID_COL_WIDTH] = r->width;
        r->f[IID_COL_HEIGHT] = r->height;
    }
}

/* ---- selection --------------------------------------------------------- */

static iid_status check_logged_row(const iid_plan_t *plan, const iid_csv_t *t, long r, long id, const char *path,
                                   iid_error_t *err)
{
    const iid_plan_job_t *j = &plan->jobs[id];
    char seed[24];
    snprintf(seed, sizeof seed, "%lu", (unsigned long)j->seed);
    if (strcmp(iid__csv_cell(t, r, IID_COL_IMAGE_NAME), base_name(plan->images[j->image])) != 0 ||
        strcmp(iid__csv_cell(t, r, IID_COL_STYLE), plan->styles[j->style]) != 0 ||
        strcmp(iid__csv_cell(t, r, IID_COL_SEED), seed) != 0)
        return iid__fail(err, IID_ERR_INVALID,
                         "%s: job %ld was logged as %s/%s/seed %s but this plan has %s/%s/seed %s; resume with "
                         "the same --seed, inputs and options",
                         path, id, iid__csv_cell(t, r, IID_COL_IMAGE_NAME), iid__csv_cell(t, r, IID_COL_STYLE),
                         iid__csv_cell(t, r, IID_COL_SEED), base_name(plan->images[j->image]),
                         plan->styles[j->style], seed);
    return IID_OK;
}

static iid_status mark_done(const iid_plan_t *plan, const iid_batch_options_t *o, unsigned char *todo,
                            iid_error_t *err)
{
    iid_csv_t t;
    iid_status st = iid__log_read(o->log_path, &t, err);
    if (st == IID_ERR_NOT_FOUND) return IID_OK;
    IID_TRY(st);
    for (long r = 0; r < t.nrows && st == IID_OK; r++) {
        char *end;
        errno = 0;
        long id = strtol(iid__csv_cell(&t, r, IID_COL_JOB_ID), &end, 10);
        if (errno || *end || end == iid__csv_cell(&t, r, IID_COL_JOB_ID) || id < 0 || id >= plan->count) continue;
        st = check_logged_row(plan, &t, r, id, o->log_path, err);
        if (st == IID_OK && strcmp(iid__csv_cell(&t, r, IID_COL_SUCCESS), "True") == 0) todo[id] = 0;
    }
    iid__csv_free(&t);
    return st;
}

iid_status iid__batch_select(const iid_plan_t *plan, const iid_batch_options_t *o, unsigned char *todo,
                             iid_batch_result_t *res, iid_error_t *err)
{
    memset(res, 0, sizeof *res);
    for (long i = 0; i < plan->count; i++) {
        todo[i] = (unsigned char)iid__shard_has(&o->shard, i);
        res->selected += todo[i];
    }
    if (o->resume) IID_TRY(mark_done(plan, o, todo, err));
    long left = 0;
    for (long i = 0; i < plan->count; i++) left += todo[i];
    res->skipped = res->selected - left;
    return IID_OK;
}

iid_status iid__batch_dry_run(FILE *out, const iid_plan_t *plan, const iid_batch_options_t *o, const int *width,
                              const int *height, iid_error_t *err)
{
    unsigned char *todo = malloc(plan->count ? (size_t)plan->count : 1);
    row_t *r = malloc(sizeof *r);
    iid_batch_result_t res;
    iid_status st = (!todo || !r) ? iid__fail(err, IID_ERR_NOMEM, "dry run: out of memory")
                                  : iid__batch_select(plan, o, todo, &res, err);
    if (st == IID_OK && iid__csv_write_record(out, iid__log_columns, IID_LOG_NCOLS) != 0)
        st = iid__fail(err, IID_ERR_IO, "dry run: cannot write the plan");
    for (long i = 0; st == IID_OK && i < plan->count; i++) {
        if (!todo[i]) continue;
        row_plan(r, plan, &plan->jobs[i], o);
        int image = plan->jobs[i].image;
        if (width && height && width[image] > 0 && !r->f[IID_COL_WIDTH]) {
            snprintf(r->width, sizeof r->width, "%d", width[image]);
            snprintf(r->height, sizeof r->height, "%d", height[image]);
            r->f[IID_COL_WIDTH] = r->width;
            r->f[IID_COL_HEIGHT] = r->height;
        }
        if (iid__csv_write_record(out, r->f, IID_LOG_NCOLS) != 0)
            st = iid__fail(err, IID_ERR_IO, "dry run: cannot write the plan");
    }
    free(r);
    free(todo);
    return st;
}

/* ---- running ----------------------------------------------------------- */

typedef struct slot {
    int image; /* -1: empty */
    void *prepared;
    iid_prepared_info_t info;
    long last_use;
} slot_t;

typedef struct runner {
    const iid_plan_t *plan;
    const iid_styles_t *styles;
    const iid_batch_engine_t *engine;
    const iid_batch_options_t *o;
    slot_t *slots;
    int nslots;
    long tick;
    char **failed; /* per image: why prepare() failed, or NULL */
    iid_log_writer_t log;
    iid_log_lock_t lock; /* held from before the log is read until the end */
    row_t row;
} runner_t;

static iid_status mkdir_p(const char *dir, iid_error_t *err)
{
    char path[RUNNER_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path) return iid__fail(err, IID_ERR_RANGE, "%s: path too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return iid__fail(err, IID_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return iid__fail(err, IID_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return iid__fail(err, IID_ERR_IO, "%s: not a folder", path);
    if (access(path, W_OK) != 0) return iid__fail(err, IID_ERR_IO, "%s: not writable", path);
    return IID_OK;
}

/* The prepared handle of an image, from the cache or prepare(). Job-level
 * failures return non-OK with err filled; they are logged, not fatal. */
static iid_status get_prepared(runner_t *R, int image, slot_t **out, iid_error_t *err)
{
    if (R->failed[image]) return iid__fail(err, IID_ERR_INVALID, "%s", R->failed[image]);
    slot_t *victim = &R->slots[0];
    for (int i = 0; i < R->nslots; i++) {
        slot_t *s = &R->slots[i];
        if (s->image == image) {
            s->last_use = ++R->tick;
            *out = s;
            return IID_OK;
        }
        if (s->image < 0 || (victim->image >= 0 && s->last_use < victim->last_use)) victim = s;
    }
    if (victim->image >= 0 && R->engine->release) R->engine->release(R->engine->ctx, victim->prepared);
    victim->image = -1;
    victim->prepared = NULL;
    iid_error_clear(err);
    iid_status st = R->engine->prepare(R->engine->ctx, R->plan->images[image], &R->o->size, &victim->prepared,
                                       &victim->info, err);
    if (st != IID_OK) {
        if (!err->msg[0]) iid__fail(err, st, "%s: %s", R->plan->images[image], iid_status_str(st));
        R->failed[image] = strdup(err->msg); /* NULL (no memory) only loses the memo */
        return st;
    }
    victim->image = image;
    victim->last_use = ++R->tick;
    *out = victim;
    return IID_OK;
}

/* Prepare, style, generate and rename one job. Returns the job's status. */
static iid_status attempt(runner_t *R, const iid_plan_job_t *j, slot_t **slot_out, iid_error_t *err)
{
    const iid_batch_options_t *o = R->o;
    slot_t *slot = NULL;
    IID_TRY(get_prepared(R, j->image, &slot, err));
    *slot_out = slot;
    char final_path[RUNNER_PATH_MAX], tmp_path[RUNNER_PATH_MAX + 32];
    IID_TRY(iid__path_join(final_path, sizeof final_path, o->output_dir, R->row.name, err));
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp.%ld", final_path, (long)getpid());
    char *prompt = NULL, *negative = NULL, *params = NULL, *graph = NULL;
    const char *style = R->plan->styles[j->style];
    iid_status st = iid__styles_apply(R->styles, style, o->prompt, o->negative_prompt, &prompt, &negative, err);
    iid_batch_request_t req = {j, R->plan->images[j->image], style, prompt, negative, o->scheduler, tmp_path,
                               NULL, NULL};
    if (st == IID_OK)
        st = iid__batch_metadata(&req, slot->info.width, slot->info.height, o->models, o->face_mask, &params, &graph,
                                 err);
    req.png_parameters = params;
    req.png_prompt = graph;
    if (st == IID_OK) {
        const iid_batch_observer_t *ob = o->observer;
        iid_error_clear(err);
        st = R->engine->generate(R->engine->ctx, slot->prepared, &req, ob ? ob->job_step : NULL,
                                 ob ? ob->user : NULL, err);
        if (st != IID_OK && !err->msg[0]) iid__fail(err, st, "%s", iid_status_str(st));
    }
    if (st == IID_OK && rename(tmp_path, final_path) != 0)
        st = iid__fail(err, IID_ERR_IO, "%s: cannot rename into place: %s", final_path, strerror(errno));
    if (st != IID_OK) remove(tmp_path);
    free(prompt);
    free(negative);
    free(params);
    free(graph);
    return st;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run one job and log it; fails only when the log cannot be written. */
static iid_status run_job(runner_t *R, const iid_plan_job_t *j, iid_batch_result_t *res, iid_error_t *err)
{
    row_t *r = &R->row;
    row_plan(r, R->plan, j, R->o);
    const iid_batch_observer_t *ob = R->o->observer;
    iid_batch_event_t ev = {j, r->f[IID_COL_IMAGE_NAME], R->plan->styles[j->style], r->name, 0, NULL, 0.0};
    if (ob && ob->job_start) ob->job_start(ob->user, &ev);

    double t0 = now_seconds();
    slot_t *slot = NULL;
    iid_error_t jerr;
    iid_error_clear(&jerr);
    int ok = attempt(R, j, &slot, &jerr) == IID_OK;
    double seconds = now_seconds() - t0;

    res->attempted++;
    if (ok) res->ok++;
    else res->failed++;
    r->f[IID_COL_SUCCESS] = ok ? "True" : "False";
    r->f[IID_COL_ERROR] = ok ? (slot && slot->info.note ? slot->info.note : "") : jerr.msg;
    if (!ok) r->f[IID_COL_NEW_FILE_NAME] = "";
    snprintf(r->time, sizeof r->time, "%.2f", seconds);
    r->f[IID_COL_TIME_TAKEN] = r->time;
    iid__fmt_timestamp(r->stamp, sizeof r->stamp, (long long)time(NULL));
    r->f[IID_COL_TIMESTAMP] = r->stamp;
    r->f[IID_COL_DEVICE] = R->engine->device;
    if (slot) {
        snprintf(r->width, sizeof r->width, "%d", slot->info.width);
        snprintf(r->height, sizeof r->height, "%d", slot->info.height);
        snprintf(r->faces, sizeof r->faces, "%d", slot->info.face_count);
        iid__fmt_double(r->score, sizeof r->score, slot->info.face_score);
        r->f[IID_COL_WIDTH] = r->width;
        r->f[IID_COL_HEIGHT] = r->height;
        r->f[IID_COL_FACE_COUNT] = r->faces;
        r->f[IID_COL_FACE_SCORE] = r->score;
    }
    IID_TRY(iid__log_append(&R->log, r->f, err));
    ev.ok = ok;
    ev.error = ok ? NULL : jerr.msg;
    ev.seconds = seconds;
    if (ob && ob->job_end) ob->job_end(ob->user, &ev);
    return IID_OK;
}

static void runner_free(runner_t *R)
{
    for (int i = 0; R->slots && i < R->nslots; i++)
        if (R->slots[i].image >= 0 && R->engine->release) R->engine->release(R->engine->ctx, R->slots[i].prepared);
    for (int i = 0; R->failed && i < R->plan->image_count; i++) free(R->failed[i]);
    free(R->slots);
    free(R->failed);
    iid__log_close(&R->log);
    iid__log_unlock(&R->lock);
}

iid_status iid__batch_run(const iid_plan_t *plan, const iid_styles_t *styles, const iid_batch_engine_t *engine,
                          const iid_batch_options_t *o, iid_batch_result_t *res, iid_error_t *err)
{
    memset(res, 0, sizeof *res);
    IID_TRY(mkdir_p(o->output_dir, err));
    unsigned char *todo = malloc(plan->count ? (size_t)plan->count : 1);
    if (!todo) return iid__fail(err, IID_ERR_NOMEM, "batch: out of memory");
    iid_status st = IID_OK;
    runner_t *R = calloc(1, sizeof *R);
    if (!R) st = iid__fail(err, IID_ERR_NOMEM, "batch: out of memory");
    if (st == IID_OK) {
        R->plan = plan;
        R->styles = styles;
        R->engine = engine;
        R->o = o;
        R->nslots = o->cache_images > 0 ? o->cache_images : 1;
        R->slots = calloc((size_t)R->nslots, sizeof *R->slots);
        R->failed = calloc((size_t)plan->image_count, sizeof *R->failed);
        if (!R->slots || !R->failed) st = iid__fail(err, IID_ERR_NOMEM, "batch: out of memory");
        for (int i = 0; R->slots && i < R->nslots; i++) R->slots[i].image = -1;
    }
    /* Lock the log before reading what it says is done, so that no other batch
     * can run those jobs meanwhile. */
    if (st == IID_OK) st = iid__log_lock(&R->lock, o->log_path, err);
    if (st == IID_OK) st = iid__log_open(&R->log, o->log_path, err);
    if (st == IID_OK) st = iid__batch_select(plan, o, todo, res, err);
    for (long i = 0; st == IID_OK && i < plan->count; i++) {
        if (!todo[i]) continue;
        if (o->stop && *o->stop) {
            res->interrupted = 1;
            break;
        }
        st = run_job(R, &plan->jobs[i], res, err);
    }
    if (R) runner_free(R);
    free(R);
    free(todo);
    return st;
}
