/*
 * jobs.c - the job queue and its worker (see jobs.h).
 *
 * One mutex guards the record list and every job's state, step and result; the
 * worker holds it only to pick a job and to publish progress, never while the
 * engine computes. Records form a singly linked list in submission order, so the
 * oldest waiting job is the first QUEUED one and eviction walks from the head.
 * Job ids are 128 random bits from the kernel (getrandom), so one id tells
 * nothing about any other, and ids from an earlier run of the server do not name
 * a new job.
 */
#include "server/jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/status.h"

static char *dup_empty(void)
{
    return calloc(1, 1);
}

iid_job_t *iid__job_new(void)
{
    iid_job_t *job = calloc(1, sizeof *job);
    if (!job) return NULL;
    char **strings[] = {(char **)&job->req.face_name, (char **)&job->req.pose_name,
                        (char **)&job->req.prompt,    (char **)&job->req.negative_prompt,
                        (char **)&job->req.style,     (char **)&job->req.scheduler,
                        (char **)&job->req.lora_tags};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        *strings[i] = dup_empty();
        if (!*strings[i]) {
            iid__job_free(job);
            return NULL;
        }
    }
    return job;
}

static void free_images(iid_job_t *job)
{
    free((void *)job->req.face);
    free((void *)job->req.pose);
    job->req.face = job->req.pose = NULL;
    job->req.face_size = job->req.pose_size = 0;
}

void iid__job_free(iid_job_t *job)
{
    if (!job) return;
    free_images(job);
    free((void *)job->req.face_name);
    free((void *)job->req.pose_name);
    free((void *)job->req.prompt);
    free((void *)job->req.negative_prompt);
    free((void *)job->req.style);
    free((void *)job->req.scheduler);
    free((void *)job->req.lora_tags);
    free(job);
}

int iid__jobs_http_status(iid_status code)
{
    switch (code) {
    case IID_ERR_FORMAT:
    case IID_ERR_INVALID: return 400;
    case IID_ERR_NO_FACE: return 422;
    case IID_ERR_INTERRUPTED: return 503;
    default: return 500;
    }
}

typedef struct progress_ctx {
    iid_job_queue_t *q;
    iid_job_t *job;
} progress_ctx_t;

static int on_progress(void *user, int step, int total)
{
    progress_ctx_t *p = user;
    pthread_mutex_lock(&p->q->lock);
    p->job->step = step;
    p->job->total = total;
    int stop = p->q->stopping;
    pthread_mutex_unlock(&p->q->lock);
    return stop;
}

/* Forget the oldest finished records beyond the cap. Called with the lock held. */
static void evict(iid_job_queue_t *q)
{
    iid_job_t **link = &q->head, *prev = NULL;
    while (*link && q->n_records > q->max_records) {
        iid_job_t *j = *link;
        if (j->state == IID_JOB_DONE || j->state == IID_JOB_ERROR) {
            *link = j->next;
            if (q->tail == j) q->tail = prev;
            iid__job_free(j);
            q->n_records--;
        } else {
            prev = j;
            link = &j->next;
        }
    }
}

static void run_job(iid_job_queue_t *q, iid_job_t *job)
{
    char name[256], path[4096 + 256];
    snprintf(name, sizeof name, "web_%s_%llu.png", job->id, (unsigned long long)job->req.seed);
    snprintf(path, sizeof path, "%s/%s", q->output_dir, name);
    progress_ctx_t pc = {q, job};
    iid_error_t err;
    iid_error_clear(&err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    iid_status s = q->engine.generate(q->engine.ctx, &job->req, on_progress, &pc, path, &err);
    if (s == IID_OK && access(path, R_OK) != 0)
        s = iid__fail(&err, IID_ERR_IO, "the engine reported success but wrote no %s", name);
    if (s != IID_OK && !err.msg[0]) snprintf(err.msg, sizeof err.msg, "%s", iid_status_str(s));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (q->on_done) q->on_done(q->on_done_user, job, s, &err, name, seconds);
    pthread_mutex_lock(&q->lock);
    if (s == IID_OK) {
        job->state = IID_JOB_DONE;
        snprintf(job->result, sizeof job->result, "%s", name);
        if (job->total == 0) job->total = job->step = job->req.steps;
    } else {
        job->state = IID_JOB_ERROR;
        job->error = err;
        job->error.code = s;
    }
    free_images(job);
    evict(q);
    pthread_mutex_unlock(&q->lock);
}

static void *worker_main(void *arg)
{
    iid_job_queue_t *q = arg;
    pthread_mutex_lock(&q->lock);
    while (!q->stopping) {
        iid_job_t *job = q->head;
        while (job && job->state != IID_JOB_QUEUED) job = job->next;
        if (!job) {
            pthread_cond_wait(&q->wake, &q->lock);
            continue;
        }
        job->state = IID_JOB_RUNNING;
        q->n_waiting--;
        pthread_mutex_unlock(&q->lock);
        run_job(q, job);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* A fresh id: 16 random bytes as 32 lower-case hex digits. */
static iid_status random_id(char id[IID_JOB_ID_SIZE], iid_error_t *err)
{
    unsigned char bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return iid__fail(err, IID_ERR_IO, "jobs: no random bytes for a job id: %s", strerror(errno));
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof bytes; i++) {
        id[2 * i] = hex[bytes[i] >> 4];
        id[2 * i + 1] = hex[bytes[i] & 15];
    }
    id[2 * sizeof bytes] = '\0';
    return IID_OK;
}

iid_status iid__jobs_start(iid_job_queue_t *q, const iid_server_engine_t *engine, const char *output_dir,
                           int queue_cap, int max_records, iid_error_t *err)
{
    memset(q, 0, sizeof *q);
    if (queue_cap < 1) return iid__fail(err, IID_ERR_INVALID, "--queue: %d must be at least 1", queue_cap);
    if (max_records < 1) return iid__fail(err, IID_ERR_INVALID, "max_records: %d must be at least 1", max_records);
    if (snprintf(q->output_dir, sizeof q->output_dir, "%s", output_dir) >= (int)sizeof q->output_dir)
        return iid__fail(err, IID_ERR_RANGE, "--output: path too long");
    q->engine = *engine;
    q->queue_cap = queue_cap;
    q->max_records = max_records < queue_cap + 1 ? queue_cap + 1 : max_records;
    if (pthread_mutex_init(&q->lock, NULL) != 0) return iid__fail(err, IID_ERR_NOMEM, "jobs: cannot create a mutex");
    if (pthread_cond_init(&q->wake, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        return iid__fail(err, IID_ERR_NOMEM, "jobs: cannot create a condition variable");
    }
    if (engine->generate) {
        if (pthread_create(&q->worker, NULL, worker_main, q) != 0) {
            pthread_cond_destroy(&q->wake);
            pthread_mutex_destroy(&q->lock);
            return iid__fail(err, IID_ERR_NOMEM, "jobs: cannot start the worker thread");
        }
        q->worker_started = 1;
    }
    q->initialised = 1;
    return IID_OK;
}

int iid__jobs_full(iid_job_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    int full = q->n_waiting >= q->queue_cap;
    pthread_mutex_unlock(&q->lock);
    return full;
}

iid_status iid__jobs_submit(iid_job_queue_t *q, iid_job_t *job, char id[IID_JOB_ID_SIZE], iid_error_t *err)
{
    IID_TRY(random_id(job->id, err));
    pthread_mutex_lock(&q->lock);
    if (q->n_waiting >= q->queue_cap || q->stopping || !q->worker_started) {
        int cap = q->queue_cap;
        pthread_mutex_unlock(&q->lock);
        return iid__fail(err, IID_ERR_RANGE, "the queue is full (%d jobs waiting); try again later", cap);
    }
    memcpy(id, job->id, sizeof job->id);
    job->state = IID_JOB_QUEUED;
    job->next = NULL;
    if (q->tail) q->tail->next = job;
    else q->head = job;
    q->tail = job;
    q->n_waiting++;
    q->n_records++;
    evict(q);
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    return IID_OK;
}

static const char *state_name(iid_job_state_t s)
{
    switch (s) {
    case IID_JOB_QUEUED: return "queued";
    case IID_JOB_RUNNING: return "running";
    case IID_JOB_DONE: return "done";
    case IID_JOB_ERROR: return "error";
    }
    return "error";
}

/* Build the record; called with the lock held. NULL when out of memory. */
static cJSON *job_json(const iid_job_queue_t *q, const iid_job_t *job)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *params = cJSON_CreateObject();
    if (!o || !params) {
        cJSON_Delete(o);
        cJSON_Delete(params);
        return NULL;
    }
    cJSON_AddItemToObject(o, "params", params);
    int ahead = 0;
    for (const iid_job_t *j = q->head; j && j != job; j = j->next) ahead += j->state == IID_JOB_QUEUED;
    char url[300];
    snprintf(url, sizeof url, "/files/%s", job->result);
    const iid_gen_request_t *r = &job->req;
    int ok = cJSON_AddStringToObject(o, "id", job->id) && cJSON_AddStringToObject(o, "state", state_name(job->state)) &&
             cJSON_AddNumberToObject(o, "step", job->step) && cJSON_AddNumberToObject(o, "total", job->total) &&
             (job->state == IID_JOB_QUEUED ? cJSON_AddNumberToObject(o, "queue_position", ahead) != NULL : 1) &&
             (job->state == IID_JOB_DONE ? cJSON_AddStringToObject(o, "result", url) : cJSON_AddNullToObject(o, "result")) &&
             (job->state == IID_JOB_ERROR ? cJSON_AddStringToObject(o, "error", job->error.msg)
                                          : cJSON_AddNullToObject(o, "error")) &&
             cJSON_AddStringToObject(params, "face_name", r->face_name) &&
             cJSON_AddStringToObject(params, "prompt", r->prompt) &&
             cJSON_AddStringToObject(params, "negative_prompt", r->negative_prompt) &&
             cJSON_AddStringToObject(params, "style", r->style) &&
             cJSON_AddNumberToObject(params, "identitynet_strength", r->identitynet_strength) &&
             cJSON_AddNumberToObject(params, "adapter_strength", r->adapter_strength) &&
             cJSON_AddNumberToObject(params, "steps", r->steps) &&
             cJSON_AddNumberToObject(params, "guidance", r->guidance) &&
             cJSON_AddNumberToObject(params, "seed", (double)r->seed) &&
             cJSON_AddNumberToObject(params, "width", r->width) &&
             cJSON_AddNumberToObject(params, "height", r->height) &&
             cJSON_AddStringToObject(params, "scheduler", r->scheduler) &&
             (r->face_mask < 0 ? cJSON_AddNullToObject(params, "enhance_face_region")
                               : cJSON_AddBoolToObject(params, "enhance_face_region", r->face_mask)) &&
             cJSON_AddBoolToObject(params, "lcm", r->lcm);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *iid__jobs_describe(iid_job_queue_t *q, const char *id, int *http_status)
{
    pthread_mutex_lock(&q->lock);
    iid_job_t *job = q->head;
    while (job && strcmp(job->id, id) != 0) job = job->next;
    cJSON *o = NULL;
    *http_status = 404;
    if (job) {
        o = job_json(q, job);
        *http_status = !o ? 500 : job->state == IID_JOB_ERROR ? iid__jobs_http_status(job->error.code) : 200;
        if (o && job->state == IID_JOB_ERROR) cJSON_AddNumberToObject(o, "http_status", *http_status);
    }
    pthread_mutex_unlock(&q->lock);
    return o;
}

void iid__jobs_stop(iid_job_queue_t *q)
{
    if (!q->initialised) return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    if (q->worker_started) pthread_join(q->worker, NULL);
    for (iid_job_t *j = q->head, *next; j; j = next) {
        next = j->next;
        iid__job_free(j);
    }
    q->head = q->tail = NULL;
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    q->worker_started = q->initialised = 0;
}
