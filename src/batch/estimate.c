/* estimate.c - the job cost model and the cached speed (see estimate.h). */
#define _XOPEN_SOURCE 700 /* gmtime_r */
#include "batch/estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fmt.h"
#include "io/cache.h"
#include "io/file.h"

#define C_ATTN 0.18
#define C_DECODE 1.98
#define SPEED_FILE_MAX (1 << 16)

double iid__estimate_step_work(int width, int height)
{
    if (width <= 0 || height <= 0) return 0.0;
    double m = (double)width * (double)height / 1e6;
    return m + C_ATTN * m * m;
}

double iid__estimate_job_work(int width, int height, int steps)
{
    if (width <= 0 || height <= 0 || steps <= 0) return 0.0;
    return steps * iid__estimate_step_work(width, height) + C_DECODE * (double)width * (double)height / 1e6;
}

double iid__speed_from_steps(int width, int height, int steps, double seconds)
{
    double w = iid__estimate_step_work(width, height) * steps;
    return w > 0 && seconds > 0 ? seconds / w : -1.0;
}

void iid__speed_key(char *buf, size_t cap, const char *backend, const char *dtype, int threads, const char *model)
{
    snprintf(buf, cap, "%s %s %d %s", backend, dtype, threads, model);
}

static iid_status speed_path(char *buf, size_t cap, iid_error_t *err)
{
    char dir[4096];
    IID_TRY(iid__cache_dir(dir, sizeof dir, err));
    return iid__path_join(buf, cap, dir, "speed.tsv", err);
}

/* speed.tsv lines: "<key>\t<seconds per unit>\t<when>\n". */
void iid__speed_load(iid_speed_t *s, const char *key)
{
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", key);
    s->seconds_per_unit = IID_REFERENCE_SECONDS_PER_UNIT;
    char path[4200], *text = NULL;
    size_t size;
    if (speed_path(path, sizeof path, NULL) != IID_OK ||
        iid__file_read_all(path, SPEED_FILE_MAX, &text, &size, NULL) != IID_OK)
        return;
    size_t klen = strlen(key);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *end;
        if (strncmp(line, key, klen) == 0 && line[klen] == '\t') {
            double v = strtod(line + klen + 1, &end);
            if (end != line + klen + 1 && *end == '\t' && v > 0 && v < 1e9) {
                s->seconds_per_unit = v;
                s->measured = 1;
                snprintf(s->when, sizeof s->when, "%s", end + 1);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

iid_status iid__speed_save(iid_speed_t *s, double seconds_per_unit, iid_error_t *err)
{
    char path[4200], *text = NULL;
    size_t size = 0;
    IID_TRY(speed_path(path, sizeof path, err));
    if (iid__file_read_all(path, SPEED_FILE_MAX, &text, &size, NULL) != IID_OK) text = NULL;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->when, sizeof s->when, "%Y-%m-%d %H:%M:%S", &tm);
    s->seconds_per_unit = seconds_per_unit;
    s->measured = 1;
    /* the other keys' lines, then this one */
    size_t cap = size + 256, n = 0, klen = strlen(s->key);
    char *out = malloc(cap);
    if (!out) {
        free(text);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (!(strncmp(line, s->key, klen) == 0 && line[klen] == '\t')) {
            memcpy(out + n, line, len);
            n += len;
            out[n++] = '\n';
        }
        line = nl ? nl + 1 : NULL;
    }
    char v[40];
    iid__fmt_double(v, sizeof v, seconds_per_unit);
    n += (size_t)snprintf(out + n, cap - n, "%s\t%s\t%s\n", s->key, v, s->when);
    iid_status st = iid__file_write_atomic(path, out, n, err);
    free(out);
    free(text);
    return st;
}

void iid__speed_describe(char *buf, size_t cap, const iid_speed_t *s)
{
    if (s->measured)
        snprintf(buf, cap, "speed of %s measured on this machine %s UTC", s->key, s->when);
    else
        snprintf(buf, cap,
                 "speed of the 2-core reference machine in bench/RESULTS.md; not measured here yet "
                 "(the first finished job measures it, or run 'instantid bench --calibrate')");
}
