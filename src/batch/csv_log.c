/*
 * csv_log.c - RFC 4180 records, the log file's open/append/read cycle, merging
 * shard logs, and the number formats the log uses.
 *
 * The parser is a single pass over the text that copies each field out (quotes
 * undone) and groups fields into records; a record is complete only when its
 * terminator (LF, CRLF or a lone CR) was seen outside quotes, which is how a row
 * cut short by a crash is told apart from a finished one.
 */
#define _POSIX_C_SOURCE 200809L
#include "batch/csv_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"

#define LOG_MAX_FILE ((size_t)1 << 31)
#define CSV_MAX_FIELDS (1 << 24)

const char *const iid__log_columns[IID_LOG_NCOLS] = {
    "image_name", "new_file_name", "identitynet_strength_ratio", "adapter_strength_ratio", "num_inference_steps",
    "guidance_scale", "seed", "success", "error_message", "style_name", "prompt", "negative_prompt",
    "time_taken", "current_timestamp", "job_id", "width", "height", "scheduler", "face_count", "face_score",
    "device", "shard",
};

int iid__csv_write_record(FILE *f, const char *const *fields, int n)
{
    for (int i = 0; i < n; i++) {
        const char *s = fields[i] ? fields[i] : "";
        if (i) fputc(',', f);
        if (strpbrk(s, ",\"\r\n")) {
            fputc('"', f);
            for (const char *p = s; *p; p++) {
                if (*p == '"') fputc('"', f);
                fputc(*p, f);
            }
            fputc('"', f);
        } else {
            fputs(s, f);
        }
    }
    fputs("\r\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec_t;

static int strvec_push(strvec_t *s, char *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **p = realloc(s->v, cap * sizeof *p);
        if (!p) return -1;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static void strvec_free(strvec_t *s, size_t from)
{
    for (size_t i = from; i < s->n; i++) free(s->v[i]);
    s->n = from;
}

/* Parse one field starting at *pos. Returns a malloc'd copy in *out and sets *end
 * to the character that ended it: ',' / '\n' (any line end) / 0 (text ended
 * outside quotes) / -1 (text ended inside quotes). NULL *out means no memory. */
static void parse_field(const char *t, size_t len, size_t *pos, char **out, int *end)
{
    size_t i = *pos;
    char *buf = malloc(len - i + 1);
    size_t w = 0;
    *out = buf;
    *end = 0;
    int quoted = i < len && t[i] == '"';
    if (quoted) {
        i++;
        for (;;) {
            if (i >= len) {
                *end = -1;
                break;
            }
            if (t[i] == '"') {
                if (i + 1 < len && t[i + 1] == '"') {
                    if (buf) buf[w++] = '"';
                    i += 2;
                    continue;
                }
                i++;
                break;
            }
            if (buf) buf[w++] = t[i];
            i++;
        }
    }
    /* Unquoted text (or stray text after a closing quote, kept leniently). */
    while (*end != -1 && i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r') {
        if (buf) buf[w++] = t[i];
        i++;
    }
    if (*end != -1 && i < len) {
        if (t[i] == ',') *end = ',';
        else {
            *end = '\n';
            if (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n') i++;
        }
        i++;
    }
    if (buf) buf[w] = '\0';
    *pos = i;
}

iid_status iid__csv_parse(const char *text, size_t len, const char *label, iid_csv_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    strvec_t cells = {0}, rec = {0};
    size_t pos = 0;
    iid_status st = IID_OK;
    int have_header = 0;
    while (pos < len && st == IID_OK) {
        int end = ',';
        strvec_free(&rec, 0);
        while (end == ',') {
            char *f;
            parse_field(text, len, &pos, &f, &end);
            if (!f || strvec_push(&rec, f) != 0) {
                free(f);
                st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
                break;
            }
            if (rec.n > CSV_MAX_FIELDS) {
                st = iid__fail(err, IID_ERR_RANGE, "%s: a record has more than %d fields", label, CSV_MAX_FIELDS);
                break;
            }
        }
        if (st != IID_OK) break;
        if (end != '\n') { /* the text ended inside this record: a partial row */
            out->partial_tail = 1;
            break;
        }
        out->complete_len = pos;
        if (!have_header) {
            have_header = 1;
            out->header = rec.v;
            out->ncols = (int)rec.n;
            rec = (strvec_t){0};
        } else if ((int)rec.n != out->ncols) {
            out->skipped++;
        } else {
            for (size_t k = 0; k < rec.n && st == IID_OK; k++) {
                if (strvec_push(&cells, rec.v[k]) != 0) {
                    strvec_free(&rec, k); /* 0..k-1 now belong to cells */
                    rec.n = 0;
                    st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
                }
            }
            if (st == IID_OK) {
                rec.n = 0;
                out->nrows++;
            }
        }
    }
    strvec_free(&rec, 0);
    free(rec.v);
    out->cells = cells.v;
    if (st != IID_OK) {
        out->nrows = (long)(cells.n / (out->ncols ? (size_t)out->ncols : 1));
        for (size_t k = (size_t)out->nrows * (size_t)out->ncols; k < cells.n; k++) free(cells.v[k]);
        iid__csv_free(out);
    }
    return st;
}

const char *iid__csv_cell(const iid_csv_t *t, long r, int c)
{
    return t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
}

int iid__csv_column(const iid_csv_t *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->header[i], name) == 0) return i;
    return -1;
}

void iid__csv_free(iid_csv_t *t)
{
    if (!t) return;
    for (int i = 0; i < t->ncols; i++) free(t->header[i]);
    size_t n = (size_t)t->nrows * (size_t)t->ncols;
    for (size_t i = 0; i < n; i++) free(t->cells[i]);
    free(t->header);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

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
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, LOG_MAX_FILE, &text, &len, err));
    iid_status st = iid__csv_parse(text, len, path, out, err);
    free(text);
    if (st == IID_OK && (st = check_header(out, path, err)) != IID_OK) iid__csv_free(out);
    return st;
}

iid_status iid__log_open(iid_log_writer_t *w, const char *path, iid_error_t *err)
{
    w->f = NULL;
    w->path = NULL;
    size_t keep = 0;
    int fresh = 1;
    if (access(path, F_OK) == 0) {
        char *text;
        size_t len;
        IID_TRY(iid__file_read_all(path, LOG_MAX_FILE, &text, &len, err));
        iid_csv_t t;
        iid_status st = iid__csv_parse(text, len, path, &t, err);
        free(text);
        if (st != IID_OK) return st;
        fresh = len == 0;
        if (!fresh && t.ncols == 0) /* only a partial header: start over */
            fresh = 1;
        else if (!fresh) st = check_header(&t, path, err);
        keep = fresh ? 0 : t.complete_len;
        iid__csv_free(&t);
        if (st != IID_OK) return st;
        if (truncate(path, (off_t)keep) != 0)
            return iid__fail(err, IID_ERR_IO, "%s: cannot cut off a partial last row: %s", path, strerror(errno));
    }
    w->f = fopen(path, "ab");
    if (!w->f) return iid__fail(err, IID_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    w->path = strdup(path);
    if (!w->path) {
        iid__log_close(w);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    }
    if (fresh) return iid__log_append(w, iid__log_columns, err);
    return IID_OK;
}

iid_status iid__log_append(iid_log_writer_t *w, const char *const *fields, iid_error_t *err)
{
    int bad = iid__csv_write_record(w->f, fields, IID_LOG_NCOLS) != 0;
    bad = fflush(w->f) != 0 || bad;
    bad = fsync(fileno(w->f)) != 0 || bad;
    if (bad) {
        clearerr(w->f);
        return iid__fail(err, IID_ERR_IO, "%s: cannot write a row: %s", w->path, strerror(errno));
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
            if (parse_job_id(id, &rows[n].job_id) != 0) {
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

void iid__fmt_double(char *buf, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void iid__fmt_timestamp(char *buf, size_t cap, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0) snprintf(buf, cap, "?");
}
