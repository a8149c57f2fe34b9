/*
 * jobs.h - the server's job queue, its worker thread, and the job records.
 *
 * Jobs run one at a time, in submission order, on one worker thread that calls
 * the engine. At most `queue` jobs wait; a submission beyond that is refused (the
 * API answers 503). Records of finished jobs are kept in memory for polling, at
 * most `max_records` of them: the oldest finished ones are forgotten first. A job
 * releases its uploaded images as soon as it has run. Every function here is safe
 * to call from the HTTP thread while the worker runs.
 */
#ifndef IID_SERVER_JOBS_H
#define IID_SERVER_JOBS_H

#include <pthread.h>

#include <cjson/cJSON.h>

#include "server/engine.h"

typedef enum iid_job_state { IID_JOB_QUEUED, IID_JOB_RUNNING, IID_JOB_DONE, IID_JOB_ERROR } iid_job_state_t;

/* A job id: 32 hex digits (128 random bits) and the NUL. */
#define IID_JOB_ID_SIZE 33

typedef struct iid_job {
    char id[IID_JOB_ID_SIZE];
    iid_job_state_t state;
    int step, total;
    char result[256]; /* the output file's name inside the output folder, when done */
    iid_error_t error;
    iid_gen_request_t req; /* every pointer owned by the job (malloc'd) */
    struct iid_job *next;
} iid_job_t;

/* Called on the worker thread when a job has run, before its outcome is
 * published (so a client that sees "done" also sees what this did): status and
 * err say how it ended, file_name is its output file's name inside the output
 * folder (written only on success), seconds the time it took. */
typedef void (*iid_job_done_fn)(void *user, const iid_job_t *job, iid_status status, const iid_error_t *err,
                                const char *file_name, double seconds);

typedef struct iid_job_queue {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t worker;
    int initialised, worker_started;
    int stopping;
    iid_job_t *head, *tail; /* all records, oldest first */
    int n_waiting, n_records;
    int queue_cap, max_records;
    iid_server_engine_t engine;
    char output_dir[4096];
    iid_job_done_fn on_done; /* may be NULL; set before the first submission */
    void *on_done_user;
} iid_job_queue_t;

/* A zeroed job with its request's strings set to "" and numbers to zero; the
 * caller fills the request with malloc'd buffers. NULL when out of memory. */
iid_job_t *iid__job_new(void);
/* Free a job and everything its request owns. NULL is a no-op. */
void iid__job_free(iid_job_t *job);

/* Start the worker. output_dir must exist; the engine table is copied. */
iid_status iid__jobs_start(iid_job_queue_t *q, const iid_server_engine_t *engine, const char *output_dir,
                           int queue_cap, int max_records, iid_error_t *err);

/* Queue a job. On IID_OK the queue owns it (the caller must not touch it again:
 * it may already have run) and its id (IID_JOB_ID_SIZE bytes, random) is copied
 * to id; IID_ERR_RANGE means the queue is full, IID_ERR_IO that the kernel gave
 * no random bytes (the caller still owns the job then). */
iid_status iid__jobs_submit(iid_job_queue_t *q, iid_job_t *job, char id[IID_JOB_ID_SIZE], iid_error_t *err);

/* True when a submission now would be refused. */
int iid__jobs_full(iid_job_queue_t *q);

/* The JSON record of job `id` (caller frees with cJSON_Delete) and the HTTP
 * status to answer with: 200, or the error's code for a failed job. NULL when
 * no such job is remembered (or out of memory, with *http_status 500). */
cJSON *iid__jobs_describe(iid_job_queue_t *q, const char *id, int *http_status);

/* The HTTP status for a failed job's status code (engine.h). */
int iid__jobs_http_status(iid_status code);

/* Stop the worker (the running job is asked to stop through its progress
 * callback), join it and free every record. Safe on a queue never started. */
void iid__jobs_stop(iid_job_queue_t *q);

#endif
