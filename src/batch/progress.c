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

void iid__stats_init(iid_batch_stats_t *s, long total, double work_total)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    s->work_total = work_total;
}

void iid__stats_free(iid_batch_stats_t *s)
{
    if (!s) return;
    count_free(&s->reasons);
    count_free(&s->styles);
}

iid_status iid__stats_add(iid_batch_stats_t *s, const char *style, double identitynet, double adapter, int steps,
                          double guidance, double work, int ok, const char *reason, double seconds,
                          iid_error_t *err)
{
    s->done++;
    if (ok) {
        s->ok++;
        s->ok_work += work;
        s->ok_time += seconds;
        if (s->ok == 1 || seconds < s->ok_min) s->ok_min = seconds;
        if (s->ok == 1 || seconds > s->ok_max) s->ok_max = seconds;
    } else {
        s->failed++;
        s->failed_time += seconds;
    }
    s->work_done += work;
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

double iid__stats_eta(const iid_batch_stats_t *s, double running_done, double prior)
{
    double rate = s->ok_work > 0 && s->ok_time > 0 ? s->ok_time / s->ok_work : prior;
    if (!(rate > 0)) return -1.0;
    double left = s->work_total - s->work_done - running_done;
    return left > 0 ? rate * left : 0.0;
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

void iid__progress_status_line(char *buf, size_t cap, const iid_batch_stats_t *s, double elapsed, double left,
                               const iid_progress_now_t *now)
{
    char el[32], lf[32];
    iid__fmt_duration(el, sizeof el, elapsed);
    iid__fmt_duration(lf, sizeof lf, left);
    double pct = s->total > 0 ? 100.0 * (double)s->done / (double)s->total : 100.0;
    int n = snprintf(buf, cap, "[%ld/%ld %.0f%%] elapsed %s, left ~%s", s->done, s->total, pct, el, lf);
    if (n < 0 || (size_t)n >= cap) return;
    if (s->ok > 0) n += snprintf(buf + n, cap - (size_t)n, ", %.1f s/image", s->ok_time / (double)s->ok);
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
    if (s->ok) {
        fprintf(f, "time per image (successful jobs): min %.2fs, mean %.2fs, max %.2fs\n", s->ok_min,
                s->ok_time / (double)s->ok, s->ok_max);
        double hours = elapsed / 3600.0;
        if (hours > 0) fprintf(f, "images per hour: %.1f\n", (double)s->ok / hours);
    }
    if (s->failed) fprintf(f, "time spent on failed jobs: %.2fs\n", s->failed_time);
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

void iid__reporter_init(iid_progress_reporter_t *r, const iid_reporter_setup_t *setup)
{
    memset(r, 0, sizeof *r);
    r->set = *setup;
    r->start = r->last_plain = setup->clock(setup->clock_user);
    iid__stats_init(&r->stats, setup->total, setup->work_total);
}

static double reporter_now(const iid_progress_reporter_t *r)
{
    return r->set.clock(r->set.clock_user);
}

static void image_size(const iid_progress_reporter_t *r, int image, int *w, int *h)
{
    *w = r->set.width ? r->set.width[image] : 0;
    *h = r->set.height ? r->set.height[image] : 0;
}

double iid__reporter_eta(const iid_progress_reporter_t *r)
{
    double prior = r->set.speed ? r->set.speed->seconds_per_unit : -1.0, done = 0.0;
    if (r->now.image && r->now.step > 0) {
        done = r->now.step * r->job_step_work;
        /* two timed steps measure this machine better than any prior */
        if (r->now.step > 1 && r->job_step_work > 0)
            prior = (reporter_now(r) - r->step1_at) / ((r->now.step - 1) * r->job_step_work);
    }
    return iid__stats_eta(&r->stats, done, prior);
}

static void status(iid_progress_reporter_t *r, int force_plain)
{
    if (r->set.quiet) return;
    double now = reporter_now(r);
    int plain = !r->set.tty && r->set.interval > 0 && (force_plain || now - r->last_plain >= r->set.interval);
    if (!r->set.tty && !plain) return;
    char line[512];
    iid__progress_status_line(line, sizeof line, &r->stats, now - r->start, iid__reporter_eta(r),
                              r->now.image ? &r->now : NULL);
    if (plain) {
        fprintf(r->set.out, "%s\n", line);
        r->last_plain = now;
    } else {
        fprintf(r->set.out, "\r\033[K%s", line);
    }
    fflush(r->set.out);
}

static void on_start(void *user, const iid_batch_event_t *ev)
{
    iid_progress_reporter_t *r = user;
    const iid_plan_job_t *j = ev->job;
    snprintf(r->image, sizeof r->image, "%s", ev->image_name);
    snprintf(r->style, sizeof r->style, "%s", ev->style_name);
    r->now = (iid_progress_now_t){r->image, r->style, j->identitynet_strength, j->adapter_strength, j->guidance,
                                  j->steps, 0};
    int w, h;
    image_size(r, j->image, &w, &h);
    r->job_step_work = iid__estimate_step_work(w, h);
    status(r, 0);
}

static void on_step(void *user, int step, int total)
{
    iid_progress_reporter_t *r = user;
    if (step == 1) r->step1_at = reporter_now(r);
    r->now.step = step;
    r->now.steps = total;
    status(r, 0);
}

/* The first successful job measures this machine's speed for later estimates. */
static void measure_speed(iid_progress_reporter_t *r, const iid_plan_job_t *j, double seconds)
{
    int w, h;
    image_size(r, j->image, &w, &h);
    double work = iid__estimate_job_work(w, h, j->steps);
    if (r->speed_measured || !r->set.speed || !(work > 0) || !(seconds > 0)) return;
    r->speed_measured = 1;
    if (r->set.save_speed) iid__speed_save(r->set.speed, seconds / work, NULL); /* a cache is optional */
    else r->set.speed->seconds_per_unit = seconds / work;
}

static void on_end(void *user, const iid_batch_event_t *ev)
{
    iid_progress_reporter_t *r = user;
    const iid_plan_job_t *j = ev->job;
    iid_error_t err;
    int w, h;
    image_size(r, j->image, &w, &h);
    if (iid__stats_add(&r->stats, ev->style_name, j->identitynet_strength, j->adapter_strength, j->steps,
                       j->guidance, iid__estimate_job_work(w, h, j->steps), ev->ok, ev->error, ev->seconds,
                       &err) != IID_OK)
        r->status = IID_ERR_NOMEM;
    if (ev->ok) measure_speed(r, j, ev->seconds);
    r->now.image = NULL;
    if (r->set.quiet) return;
    char line[1024];
    iid__progress_job_line(line, sizeof line, r->stats.done, r->stats.total, j->job_id, ev->image_name,
                           ev->style_name, j->identitynet_strength, j->adapter_strength, j->steps, j->guidance,
                           (unsigned long)j->seed, ev->ok, ev->ok ? ev->file_name : ev->error, ev->seconds);
    fprintf(r->set.out, "%s%s\n", r->set.tty ? "\r\033[K" : "", line);
    status(r, 0);
}

iid_batch_observer_t iid__reporter_observer(iid_progress_reporter_t *r)
{
    return (iid_batch_observer_t){r, on_start, on_step, on_end};
}

void iid__reporter_finish(iid_progress_reporter_t *r, int interrupted)
{
    if (r->set.quiet) return;
    if (r->set.tty) fprintf(r->set.out, "\r\033[K");
    iid__progress_summary(r->set.out, &r->stats, reporter_now(r) - r->start, interrupted);
    fflush(r->set.out);
}

void iid__reporter_free(iid_progress_reporter_t *r)
{
    if (r) iid__stats_free(&r->stats);
}
