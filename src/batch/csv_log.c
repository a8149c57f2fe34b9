/*
 * csv_log.c - RFC 4180 records, the log file's open/append/read cycle, merging
 * shard logs, and the number formats the log uses.
 *
 * Parsing is io/csv.c's streaming reader: a record is complete only when its
 * terminator (LF, CRLF or a lone CR) was seen outside quotes, which is how a row
 * cut short by a crash is told apart from a finished one.
 */
#define _DEFAULT_SOURCE /* flock */
#include "batch/csv_log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"

#define LOG_MAX_FILE ((size_t)1 << 31)

const char *const iid__log_columns[IID_LOG_NCOLS] = {
    "image_name", "new_file_name", "identitynet_strength_ratio", "adapter_strength_ratio", "num_inference_steps",
    "guidance_scale", "seed", "success", "error_message", "style_name", "prompt", "negative_prompt",
    "time_taken", "current_timestamp", "job_id", "width", "height", "scheduler", "face_count", "face_score",
    "device", "shard",
};

/* ---- the log file ------------------------------------------------------ */

static iid_status check_header(const iid_csv_t *t, const char *path, iid_error_t *err)
{
    int ok = t->ncols == IID_LOG_NCOLS;
    for (int i = 0; ok && i < IID_LOG_NCOLS; i++) ok = strcmp(t->header[i], iid__log_columns[i]) == 0;
    if (!ok)
        return iid__fail(err, IID_ERR_FORMAT, "%s: not an instantid log (the header is not the %d log columns)",
                         path, IID_LOG_NCOLS);
    return IID_OK;
}

iid_status iid__log_read(const char *path, iid_csv_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (access(path, F_OK) != 0) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such log", path);
    iid_status st = iid__csv_load(path, LOG_MAX_FILE, out, err);
    if (st == IID_OK && (st = check_header(out, path, err)) != IID_OK) iid__csv_free(out);
    return st;
}

/* flock(LOCK_EX) with a deadline. Every writer of a log (a batch's rows, the
 * web server's rows) takes it for one row at a time, so a long wait means a
 * writer is stuck. */
static iid_status lock_log(FILE *f, const char *path, iid_error_t *err)
{
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (int waited = 0;; waited += 20) {
        if (flock(fileno(f), LOCK_EX | LOCK_NB) == 0) return IID_OK;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return iid__fail(err, IID_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
        if (waited >= IID_LOG_LOCK_WAIT_MS)
            return iid__fail(err, IID_ERR_IO, "%s: still locked by another writer after %d s", path,
                             IID_LOG_LOCK_WAIT_MS / 1000);
        nanosleep(&nap, NULL);
    }
}

/* With the lock held: check the header, cut off a partial last record, and
 * write the header when the file is new or empty. */
static iid_status prepare_locked(iid_log_writer_t *w, iid_error_t *err)
{
    iid_csv_t t;
    IID_TRY(iid__csv_load(w->path, LOG_MAX_FILE, &t, err)); /* refuses a FIFO or device too */
    int fresh = t.ncols == 0; /* empty, blank lines or a partial header: start over */
    iid_status st = fresh ? IID_OK : check_header(&t, w->path, err);
    size_t keep = fresh ? 0 : t.complete_len;
    iid__csv_free(&t);
    IID_TRY(st);
    if (ftruncate(fileno(w->f), (off_t)keep) != 0)
        return iid__fail(err, IID_ERR_IO, "%s: cannot cut off a partial last row: %s", w->path, strerror(errno));
    if (fresh && iid__csv_write_record(w->f, iid__log_columns, IID_LOG_NCOLS) != 0)
        return iid__fail(err, IID_ERR_IO, "%s: cannot write the header: %s", w->path, strerror(errno));
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        return iid__fail(err, IID_ERR_IO, "%s: cannot write the header: %s", w->path, strerror(errno));
    return IID_OK;
}

iid_status iid__log_open(iid_log_writer_t *w, const char *path, iid_error_t *err)
{
    w->f = NULL;
    w->path = NULL;
    if (access(path, F_OK) == 0) {
        /* Not a regular file (a FIFO, a device): refuse before opening it. */
        iid_csv_t t;
        IID_TRY(iid__csv_load(path, LOG_MAX_FILE, &t, err));
        iid__csv_free(&t);
    }
    w->f = fopen(path, "ab");
    if (!w->f) return iid__fail(err, IID_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    w->path = strdup(path);
    if (!w->path) {
        iid__log_close(w);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    }
    iid_status st = lock_log(w->f, path, err);
    if (st == IID_OK) {
        st = prepare_locked(w, err);
        flock(fileno(w->f), LOCK_UN);
    }
    if (st != IID_OK) iid__log_close(w);
    return st;
}

iid_status iid__log_append(iid_log_writer_t *w, const char *const *fields, iid_error_t *err)
{
    IID_TRY(lock_log(w->f, w->path, err));
    int bad = iid__csv_write_record(w->f, fields, IID_LOG_NCOLS) != 0;
    bad = fflush(w->f) != 0 || bad;
    bad = fsync(fileno(w->f)) != 0 || bad;
    int saved = errno;
    flock(fileno(w->f), LOCK_UN);
    if (bad) {
        clearerr(w->f);
        return iid__fail(err, IID_ERR_IO, "%s: cannot write a row: %s", w->path, strerror(saved));
    }
    return IID_OK;
}

void iid__log_close(iid_log_writer_t *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    free(w->path);
    w->f = NULL;
    w->path = NULL;
}

/* ---- merging ----------------------------------------------------------- */

typedef struct merge_row {
    long long job_id;
    long order; /* global input order, for stability */
    const iid_csv_t *t;
    long r;
} merge_row_t;

static int cmp_rows(const void *a, const void *b)
{
    const merge_row_t *x = a, *y = b;
    if (x->job_id != y->job_id) return x->job_id < y->job_id ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int parse_job_id(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0) return -1;
    *out = v;
    return 0;
}

/* Write the merged rows to a memory stream and then atomically to out_path. */
static iid_status write_merged(const merge_row_t *rows, long n, const char *out_path, iid_error_t *err)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *m = open_memstream(&buf, &size);
    if (!m) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", out_path);
    int bad = iid__csv_write_record(m, iid__log_columns, IID_LOG_NCOLS);
    for (long i = 0; i < n && !bad; i++)
        bad = iid__csv_write_record(m, (const char *const *)&rows[i].t->cells[(size_t)rows[i].r * IID_LOG_NCOLS],
                                    IID_LOG_NCOLS);
    bad = fclose(m) != 0 || bad;
    iid_status st = bad ? iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", out_path)
                        : iid__file_write_atomic(out_path, buf, size, err);
    free(buf);
    return st;
}

iid_status iid__log_merge(const char *const *inputs, int n_inputs, const char *out_path, long *rows_out,
                          iid_error_t *err)
{
    if (n_inputs < 1) return iid__fail(err, IID_ERR_INVALID, "merge: no input logs");
    iid_csv_t *logs = calloc((size_t)n_inputs, sizeof *logs);
    if (!logs) return iid__fail(err, IID_ERR_NOMEM, "merge: out of memory");
    iid_status st = IID_OK;
    long total = 0;
    int loaded = 0;
    for (; loaded < n_inputs && st == IID_OK; loaded++) {
        st = iid__log_read(inputs[loaded], &logs[loaded], err);
        if (st == IID_OK) total += logs[loaded].nrows;
    }
    merge_row_t *rows = NULL;
    if (st == IID_OK && !(rows = malloc((size_t)(total ? total : 1) * sizeof *rows)))
        st = iid__fail(err, IID_ERR_NOMEM, "merge: out of memory");
    long n = 0;
    for (int i = 0; i < n_inputs && st == IID_OK; i++) {
        for (long r = 0; r < logs[i].nrows; r++) {
            const char *id = iid__csv_cell(&logs[i], r, IID_COL_JOB_ID);
            /* Web jobs (server/web_log.h) have no plan id: they go last, in order. */
            if (strcmp(iid__csv_cell(&logs[i], r, IID_COL_SHARD), "web") == 0) rows[n].job_id = LLONG_MAX;
            else if (parse_job_id(id, &rows[n].job_id) != 0) {
                st = iid__fail(err, IID_ERR_FORMAT, "%s: row %ld: job_id '%s' is not a number", inputs[i], r + 1,
                               id);
                break;
            }
            rows[n].order = n;
            rows[n].t = &logs[i];
            rows[n].r = r;
            n++;
        }
    }
    if (st == IID_OK) {
        qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
        st = write_merged(rows, n, out_path, err);
    }
    if (st == IID_OK && rows_out) *rows_out = n;
    free(rows);
    for (int i = 0; i < loaded; i++) iid__csv_free(&logs[i]);
    free(logs);
    return st;
}

/* ---- formats ----------------------------------------------------------- */


void iid__fmt_timestamp(char *buf, size_t cap, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0) snprintf(buf, cap, "?");
}
