/* csv.c - RFC 4180 records: a quoting writer and a lenient, bounded reader. */
#include "io/csv.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"

int iid__csv_write_record(FILE *f, const char *const *fields, int n)
{
    for (int i = 0; i < n; i++) {
        const char *s = fields[i] ? fields[i] : "";
        if (i) fputc(',', f);
        /* A lone empty field is quoted, or the record would read as a blank line; so
         * is a field starting with a byte-order mark, which a reader skips. */
        if (strpbrk(s, ",\"\r\n") || (n == 1 && !*s) || strncmp(s, "\xEF\xBB\xBF", 3) == 0) {
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
    size_t pos = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    iid_status st = IID_OK;
    int have_header = 0;
    long record = 0;
    while (pos < len && st == IID_OK) {
        if (text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')) {
            pos += text[pos] == '\r' ? 2 : 1; /* a blank line */
            out->complete_len = pos;
            continue;
        }
        int end = ',';
        record++;
        strvec_free(&rec, 0);
        while (end == ',') {
            char *f;
            parse_field(text, len, &pos, &f, &end);
            if (!f || strvec_push(&rec, f) != 0) {
                free(f);
                st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
                break;
            }
            if (rec.n > IID_CSV_MAX_FIELDS) {
                st = iid__fail(err, IID_ERR_RANGE, "%s: row %ld has more than %d fields", label, record,
                               IID_CSV_MAX_FIELDS);
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
    if (!t->header && !t->cells) return;
    for (int i = 0; i < t->ncols; i++) free(t->header[i]);
    size_t n = (size_t)t->nrows * (size_t)t->ncols;
    for (size_t i = 0; i < n; i++) free(t->cells[i]);
    free(t->header);
    free(t->cells);
    memset(t, 0, sizeof *t);
}


iid_status iid__csv_load(const char *path, size_t max_bytes, iid_csv_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, max_bytes, &text, &len, err));
    iid_status s = iid__csv_parse(text, len, path, out, err);
    free(text);
    return s;
}
