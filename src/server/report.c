/*
 * report.c - what the server tells its operator: one line per request and per
 * job on opts.report (stderr under `instantid serve`), and the web job's row in
 * the batch log (web_log.h).
 *
 *   serve: 14:02:11 GET /api/log 200
 *   serve: 14:02:15 POST /api/generate 202
 *   serve: 14:02:31 POST /api/generate 422
 *   serve: 14:03:40 job 5f3ac2e1...b75c done in 85.2 s: web_5f3ac2e1...b75c_42.png (face.png, Watercolor, 30 steps, seed 42)
 *   serve: 14:03:52 job 0c4d91e7...a2f3 failed (503) in 12.0 s: interrupted
 *
 * The status of a request is read back from libmicrohttpd once a response is
 * queued (MHD_CONNECTION_INFO_HTTP_STATUS), so every route is covered without
 * each one reporting. Polls of a job that answer 200 are not reported: a page
 * polls several times a second, and the job line says how each job ended.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/http.h"
#include "server/web_log.h"

static void clock_text(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, cap, "%H:%M:%S", &tm) == 0) snprintf(buf, cap, "?");
}

void iid__report_request(const iid_server_t *s, struct MHD_Connection *c, const char *method, const char *url)
{
    FILE *f = s->opts.report;
    if (!f) return;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = info ? info->http_status : 0;
    if (status == 0) return; /* no answer yet: an upload still streaming */
    if (status == 200 && strncmp(url, "/api/jobs/", 10) == 0) return;
    char now[16];
    clock_text(now, sizeof now);
    fprintf(f, "serve: %s %s %s %u\n", now, method, url, status);
    fflush(f);
}

void iid__server_job_done(void *user, const iid_job_t *job, iid_status status, const iid_error_t *err,
                          const char *file_name, double seconds)
{
    const iid_server_t *s = user;
    FILE *f = s->opts.report;
    const iid_gen_request_t *r = &job->req;
    iid_error_t log_err;
    iid_status logged = iid__web_log_append(s->opts.log_path, s->output_real, job, status, err->msg, file_name,
                                            seconds, &log_err);
    if (!f) return;
    char now[16];
    clock_text(now, sizeof now);
    if (status == IID_OK)
        fprintf(f, "serve: %s job %s done in %.1f s: %s (%s, %s, %d steps, seed %llu)\n", now, job->id, seconds,
                file_name, r->face_name[0] ? r->face_name : "face", r->style, r->steps,
                (unsigned long long)r->seed);
    else
        fprintf(f, "serve: %s job %s failed (%d) in %.1f s: %s\n", now, job->id, iid__jobs_http_status(status),
                seconds, err->msg);
    if (logged != IID_OK) fprintf(f, "serve: %s job %s not logged: %s\n", now, job->id, log_err.msg);
    fflush(f);
}
