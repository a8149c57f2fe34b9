/*
 * progress.c - counting finished jobs and formatting status lines, job lines and
 * the final summary. Nothing here reads a clock or writes to a terminal on its
 * own; see progress.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "batch/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static iid_status count_add(iid_count_map_t *m, const char *key, iid_error_t *err)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) {
            m->items[i].count++;
            return IID_OK;
        }
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 8;
        iid_count_entry_t *p = realloc(m->items, (size_t)cap * sizeof *p);
        if (!p) return iid__fail(err, IID_ERR_NOMEM, "progress: out of memory");
        m->items = p;
        m->cap = cap;
    }
    char *k = strdup(key);
    if (!k) return iid__fail(err, IID_ERR_NOMEM, "progress: out of memory");
    m->items[m->n++] = (iid_count_entry_t){k, 1};
    return IID_OK;
}

static void count_free(iid_count_map_t *m)
{
    for (int i = 0; i < m->n; i++) free(m->items[i].key);
    free(m->items);
    memset(m, 0, sizeof *m);
}

static void range_add(iid_value_range_t *r, double v)
{
    if (!r->seen || v < r->min) r->min = v;
    if (!r->seen || v > r->max) r->max = v;
    r->seen = 1;
}

void iid__stats_init(iid_batch_stats_t *s, long total, long steps_total)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    s->steps_total = steps_total;
}

void iid__stats_free(iid_batch_stats_t *s)
{
    if (!s) return;
    count_free(&s->reasons);
    count_free(&s->styles);
}

iid_status iid__stats_add(iid_batch_stats_t *s, const char *style, double identitynet, double adapter, int steps,
                          double guidance, int ok, const char *reason, double seconds, iid_error_t *err)
{
    s->done++;
    if (ok) {
        s->ok++;
        s->ok_steps += steps;
        s->ok_time += seconds;
    } else {
        s->failed++;
    }
    s->steps_done += steps;
    s->time_sum += seconds;
    if (s->done == 1 || seconds < s->time_min) s->time_min = seconds;
    if (s->done == 1 || seconds > s->time_max) s->time_max = seconds;
    range_add(&s->identitynet, identitynet);
    range_add(&s->adapter, adapter);
    range_add(&s->steps, steps);
    range_add(&s->guidance, guidance);
    IID_TRY(count_add(&s->styles, style ? style : "", err));
    if (!ok) {
        const char *r = reason && *reason ? reason : "unknown error";
        for (const char *p = strstr(r, ": "); p; p = strstr(p + 2, ": "))
            if (p[2]) r = p + 2;
        IID_TRY(count_add(&s->reasons, r, err));
    }
    return IID_OK;
}

double iid__stats_eta(const iid_batch_stats_t *s)
{
    if (s->done == 0 || s->steps_done <= 0) return -1.0;
    long left = s->steps_total - s->steps_done;
    double rate = s->ok_steps > 0 ? s->ok_time / (double)s->ok_steps : s->time_sum / (double)s->steps_done;
    return left > 0 ? rate * (double)left : 0.0;
}

void iid__fmt_duration(char *buf, size_t cap, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = lround(seconds);
    if (t < 60) snprintf(buf, cap, "%lds", t);
    else if (t < 3600) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, cap, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
}

void iid__progress_status_line(char *buf, size_t cap, const iid_batch_stats_t *s, double elapsed,
                               const iid_progress_now_t *now)
{
    char el[32], left[32];
    iid__fmt_duration(el, sizeof el, elapsed);
    iid__fmt_duration(left, sizeof left, iid__stats_eta(s));
    double pct = s->total > 0 ? 100.0 * (double)s->done / (double)s->total : 100.0;
    int n = snprintf(buf, cap, "[%ld/%ld %.0f%%] elapsed %s, left ~%s", s->done, s->total, pct, el, left);
    if (n < 0 || (size_t)n >= cap) return;
    if (s->done > 0) n += snprintf(buf + n, cap - (size_t)n, ", %.1f s/image", s->time_sum / (double)s->done);
    if (n < 0 || (size_t)n >= cap) return;
    n += snprintf(buf + n, cap - (size_t)n, ", ok %ld failed %ld", s->ok, s->failed);
    if (n < 0 || (size_t)n >= cap || !now || !now->image) return;
    snprintf(buf + n, cap - (size_t)n, " | %s %s idn=%.2f ad=%.2f cfg=%.2f step %d/%d", now->image, now->style,
             now->identitynet, now->adapter, now->guidance, now->step, now->steps);
}

void iid__progress_job_line(char *buf, size_t cap, long done, long total, long job_id, const char *image,
                            const char *style, double identitynet, double adapter, int steps, double guidance,
                            unsigned long seed, int ok, const char *detail, double seconds)
{
    if (ok)
        snprintf(buf, cap, "[%ld/%ld] job %ld %s %s idn=%.2f ad=%.2f steps=%d cfg=%.2f seed=%lu: ok %.2fs -> %s",
                 done, total, job_id, image, style, identitynet, adapter, steps, guidance, seed, seconds,
                 detail ? detail : "");
    else
        snprintf(buf, cap, "[%ld/%ld] job %ld %s %s idn=%.2f ad=%.2f steps=%d cfg=%.2f seed=%lu: FAILED %.2fs: %s",
                 done, total, job_id, image, style, identitynet, adapter, steps, guidance, seed, seconds,
                 detail ? detail : "");
}

static void range_line(FILE *f, const char *name, const iid_value_range_t *r, int integer)
{
    if (!r->seen) return;
    if (integer) fprintf(f, "  %-22s %.0f .. %.0f\n", name, r->min, r->max);
    else fprintf(f, "  %-22s %.4g .. %.4g\n", name, r->min, r->max);
}

void iid__progress_summary(FILE *f, const iid_batch_stats_t *s, double elapsed, int interrupted)
{
    char el[32];
    iid__fmt_duration(el, sizeof el, elapsed);
    fprintf(f, "=== batch summary%s ===\n", interrupted ? " (interrupted)" : "");
    fprintf(f, "jobs: %ld of %ld attempted, %ld ok, %ld failed, in %s\n", s->done, s->total, s->ok, s->failed, el);
    if (s->reasons.n) {
        fprintf(f, "failures by reason:\n");
        for (int i = 0; i < s->reasons.n; i++)
            fprintf(f, "  %6ld  %s\n", s->reasons.items[i].count, s->reasons.items[i].key);
    }
    if (s->done) {
        fprintf(f, "time per image: min %.2fs, mean %.2fs, max %.2fs\n", s->time_min, s->time_sum / (double)s->done,
                s->time_max);
        double hours = elapsed / 3600.0;
        if (hours > 0) fprintf(f, "images per hour: %.1f\n", (double)s->ok / hours);
    }
    if (s->styles.n) {
        fprintf(f, "jobs per style:\n");
        for (int i = 0; i < s->styles.n; i++)
            fprintf(f, "  %6ld  %s\n", s->styles.items[i].count, s->styles.items[i].key);
    }
    if (s->done) {
        fprintf(f, "values used:\n");
        range_line(f, "identitynet_strength", &s->identitynet, 0);
        range_line(f, "adapter_strength", &s->adapter, 0);
        range_line(f, "num_inference_steps", &s->steps, 1);
        range_line(f, "guidance_scale", &s->guidance, 0);
    }
}

/* ---- the console reporter ---------------------------------------------- */

void iid__reporter_init(iid_progress_reporter_t *r, FILE *out, int tty, int quiet, double (*clock)(void *),
                        void *clock_user, long total, long steps_total)
{
    memset(r, 0, sizeof *r);
    r->out = out;
    r->tty = tty;
    r->quiet = quiet;
    r->clock = clock;
    r->clock_user = clock_user;
    r->start = clock(clock_user);
    iid__stats_init(&r->stats, total, steps_total);
}

static double reporter_elapsed(const iid_progress_reporter_t *r)
{
    return r->clock(r->clock_user) - r->start;
}

static void draw_status(iid_progress_reporter_t *r)
{
    if (!r->tty || r->quiet) return;
    char line[512];
    iid__progress_status_line(line, sizeof line, &r->stats, reporter_elapsed(r), r->now.image ? &r->now : NULL);
    fprintf(r->out, "\r\033[K%s", line);
    fflush(r->out);
}

static void on_start(void *user, const iid_batch_event_t *ev)
{
    iid_progress_reporter_t *r = user;
    const iid_plan_job_t *j = ev->job;
    snprintf(r->image, sizeof r->image, "%s", ev->image_name);
    snprintf(r->style, sizeof r->style, "%s", ev->style_name);
    r->now = (iid_progress_now_t){r->image, r->style, j->identitynet_strength, j->adapter_strength, j->guidance,
                                  j->steps, 0};
    draw_status(r);
}

static void on_step(void *user, int step, int total)
{
    iid_progress_reporter_t *r = user;
    r->now.step = step;
    r->now.steps = total;
    draw_status(r);
}

static void on_end(void *user, const iid_batch_event_t *ev)
{
    iid_progress_reporter_t *r = user;
    const iid_plan_job_t *j = ev->job;
    iid_error_t err;
    if (iid__stats_add(&r->stats, ev->style_name, j->identitynet_strength, j->adapter_strength, j->steps,
                       j->guidance, ev->ok, ev->error, ev->seconds, &err) != IID_OK)
        r->status = IID_ERR_NOMEM;
    r->now.image = NULL;
    if (r->quiet) return;
    char line[1024];
    iid__progress_job_line(line, sizeof line, r->stats.done, r->stats.total, j->job_id, ev->image_name,
                           ev->style_name, j->identitynet_strength, j->adapter_strength, j->steps, j->guidance,
                           (unsigned long)j->seed, ev->ok, ev->ok ? ev->file_name : ev->error, ev->seconds);
    fprintf(r->out, "%s%s\n", r->tty ? "\r\033[K" : "", line);
    draw_status(r);
}

iid_batch_observer_t iid__reporter_observer(iid_progress_reporter_t *r)
{
    return (iid_batch_observer_t){r, on_start, on_step, on_end};
}

void iid__reporter_finish(iid_progress_reporter_t *r, int interrupted)
{
    if (r->quiet) return;
    if (r->tty) fprintf(r->out, "\r\033[K");
    iid__progress_summary(r->out, &r->stats, reporter_elapsed(r), interrupted);
    fflush(r->out);
}

void iid__reporter_free(iid_progress_reporter_t *r)
{
    if (r) iid__stats_free(&r->stats);
}
