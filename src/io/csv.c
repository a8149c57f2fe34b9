/*
 * csv.c - RFC 4180 records: a quoting writer and a lenient, bounded, streaming
 * reader.
 *
 * The reader is a byte-at-a-time state machine fed in chunks (a whole text, or a
 * file read 64 KiB at a time), so time is linear in the input and memory is the
 * cell text itself plus one pointer per cell: every field is copied, quotes
 * undone, into one growing string store (NUL-separated) and remembered by its
 * offset; offsets become pointers when the input ends. A record that turns out
 * to be partial or of the wrong width is rolled back by resetting the two ends.
 */
#define _POSIX_C_SOURCE 200809L
#include "io/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the streaming reader ---------------------------------------------- */

enum {
    S_REC,    /* at the start of a record */
    S_REC_CR, /* a CR at the start of a record: a blank line if LF follows */
    S_FIELD,  /* a field begun, nothing of it read yet */
    S_UNQ,    /* unquoted text (or stray text after a closing quote) */
    S_Q,      /* inside quotes */
    S_QQ,     /* a quote inside quotes: doubled, or the closing one */
    S_CR,     /* a record ended at CR; one LF may follow */
};

typedef struct csv_reader {
    iid_csv_t *out;
    const char *label;
    iid_error_t *err;
    char *store; /* every kept field, NUL-terminated */
    size_t slen, scap;
    size_t *off; /* where each kept field starts in store */
    size_t noff, offcap;
    size_t rec_off0, rec_store0; /* rollback points: the current record's start */
    int rec_fields;
    int state;
    int have_header;
    long record;
    size_t pos; /* bytes consumed */
} csv_reader_t;

static iid_status oom(csv_reader_t *r)
{
    return iid__fail(r->err, IID_ERR_NOMEM, "%s: out of memory", r->label);
}

static iid_status reserve_store(csv_reader_t *r, size_t more)
{
    if (r->scap - r->slen >= more) return IID_OK;
    size_t cap = r->scap ? r->scap : 4096;
    while (cap - r->slen < more) {
        if (cap > SIZE_MAX / 2) return oom(r);
        cap *= 2;
    }
    char *p = realloc(r->store, cap);
    if (!p) return oom(r);
    r->store = p;
    r->scap = cap;
    return IID_OK;
}

static iid_status append(csv_reader_t *r, const char *s, size_t n)
{
    IID_TRY(reserve_store(r, n));
    memcpy(r->store + r->slen, s, n);
    r->slen += n;
    return IID_OK;
}

static iid_status begin_field(csv_reader_t *r)
{
    if (++r->rec_fields > IID_CSV_MAX_FIELDS)
        return iid__fail(r->err, IID_ERR_RANGE, "%s: row %ld has more than %d fields", r->label, r->record,
                         IID_CSV_MAX_FIELDS);
    if (r->noff == r->offcap) {
        size_t cap = r->offcap ? r->offcap * 2 : 256;
        size_t *p = realloc(r->off, cap * sizeof *p);
        if (!p) return oom(r);
        r->off = p;
        r->offcap = cap;
    }
    r->off[r->noff++] = r->slen;
    return IID_OK;
}

static void rollback(csv_reader_t *r)
{
    r->noff = r->rec_off0;
    r->slen = r->rec_store0;
}

/* The field just read ends; if the record ends too, end is the offset after its
 * terminator (0 otherwise). */
static iid_status end_field(csv_reader_t *r, size_t end)
{
    IID_TRY(append(r, "", 1));
    if (!end) return IID_OK;
    r->out->complete_len = end;
    if (!r->have_header) {
        r->have_header = 1;
        r->out->ncols = r->rec_fields;
    } else if (r->rec_fields != r->out->ncols) {
        r->out->skipped++;
        rollback(r);
    } else {
        r->out->nrows++;
    }
    r->rec_off0 = r->noff;
    r->rec_store0 = r->slen;
    r->rec_fields = 0;
    return IID_OK;
}

static int plain(char c)
{
    return c != ',' && c != '\n' && c != '\r';
}

/* Consume one chunk of the text. */
static iid_status feed(csv_reader_t *r, const char *t, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = t[i];
        size_t at = r->pos + i; /* the absolute offset of c */
        switch (r->state) {
        case S_REC:
            if (c == '\n') {
                r->out->complete_len = at + 1; /* a blank line */
                i++;
            } else if (c == '\r') {
                r->state = S_REC_CR;
                i++;
            } else {
                r->record++;
                IID_TRY(begin_field(r));
                r->state = S_FIELD;
            }
            continue;
        case S_REC_CR:
            if (c == '\n') { /* CRLF: a blank line */
                r->out->complete_len = at + 1;
                r->state = S_REC;
                i++;
            } else { /* a lone CR ended a record of one empty field; c starts the next */
                r->record++;
                IID_TRY(begin_field(r));
                IID_TRY(end_field(r, at));
                r->state = S_REC;
            }
            continue;
        case S_CR:
            if (c == '\n') {
                r->out->complete_len = at + 1;
                i++;
            }
            r->state = S_REC;
            continue;
        case S_Q: {
            const char *q = memchr(t + i, '"', n - i);
            size_t k = q ? (size_t)(q - t) : n;
            IID_TRY(append(r, t + i, k - i));
            i = k;
            if (q) {
                r->state = S_QQ;
                i++;
            }
            continue;
        }
        case S_QQ:
            if (c == '"') {
                IID_TRY(append(r, "\"", 1));
                r->state = S_Q;
                i++;
            } else {
                r->state = S_UNQ; /* the quote closed; c is read as unquoted text */
            }
            continue;
        default: /* S_FIELD, S_UNQ */
            break;
        }
        if (c == '"' && r->state == S_FIELD) {
            r->state = S_Q;
            i++;
        } else if (c == ',') {
            IID_TRY(end_field(r, 0));
            IID_TRY(begin_field(r));
            r->state = S_FIELD;
            i++;
        } else if (c == '\n' || c == '\r') {
            IID_TRY(end_field(r, at + 1));
            r->state = c == '\r' ? S_CR : S_REC;
            i++;
        } else { /* a run of ordinary text; a quote mid-field is literal */
            size_t k = i + 1;
            while (k < n && plain(t[k])) k++;
            IID_TRY(append(r, t + i, k - i));
            r->state = S_UNQ;
            i = k;
        }
    }
    r->pos += n;
    return IID_OK;
}

/* The input ended: drop a record still open, then turn offsets into pointers. */
static iid_status finish(csv_reader_t *r)
{
    iid_csv_t *o = r->out;
    if (r->state == S_REC_CR) {
        r->record++;
        IID_TRY(begin_field(r));
        IID_TRY(end_field(r, r->pos));
    } else if (r->state != S_REC && r->state != S_CR) {
        o->partial_tail = 1;
        rollback(r);
    }
    if (!r->have_header) return IID_OK;
    size_t ncells = (size_t)o->nrows * (size_t)o->ncols;
    o->header = malloc((size_t)o->ncols * sizeof *o->header);
    o->cells = malloc((ncells ? ncells : 1) * sizeof *o->cells);
    if (!o->header || !o->cells) return oom(r);
    for (int c = 0; c < o->ncols; c++) o->header[c] = r->store + r->off[c];
    for (size_t k = 0; k < ncells; k++) o->cells[k] = r->store + r->off[(size_t)o->ncols + k];
    return IID_OK;
}

static void reader_init(csv_reader_t *r, iid_csv_t *out, const char *label, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    memset(r, 0, sizeof *r);
    r->out = out;
    r->label = label;
    r->err = err;
}

/* Hand the store to *out on success; on failure leave *out empty. */
static iid_status reader_done(csv_reader_t *r, iid_status st)
{
    if (st == IID_OK) st = finish(r);
    free(r->off);
    r->out->store = r->store;
    if (st != IID_OK) iid__csv_free(r->out);
    return st;
}

static size_t bom_len(const char *t, size_t n)
{
    return n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

iid_status iid__csv_parse(const char *text, size_t len, const char *label, iid_csv_t *out, iid_error_t *err)
{
    csv_reader_t r;
    reader_init(&r, out, label, err);
    /* The store never outgrows the text plus one terminator. */
    iid_status st = reserve_store(&r, len + 1);
    size_t skip = bom_len(text, len);
    r.pos = skip;
    if (st == IID_OK) st = feed(&r, text + skip, len - skip);
    return reader_done(&r, st);
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
    free(t->header);
    free(t->cells);
    free(t->store);
    memset(t, 0, sizeof *t);
}

#define CHUNK ((size_t)64 << 10)

iid_status iid__csv_load(const char *path, size_t max_bytes, iid_csv_t *out, iid_error_t *err)
{
    csv_reader_t r;
    reader_init(&r, out, path, err);
    size_t size;
    int fd;
    IID_TRY(iid__file_open_bounded(path, max_bytes, &fd, &size, err));
    char *buf = malloc(CHUNK);
    iid_status st = buf ? reserve_store(&r, size + 1) : oom(&r);
    /* Read the size seen at open: rows appended meanwhile are left for next time. */
    for (size_t done = 0; st == IID_OK && done < size;) {
        size_t want = size - done < CHUNK ? size - done : CHUNK;
        size_t got = iid__file_read_full(fd, buf, want);
        if (got != want) {
            st = iid__fail(err, IID_ERR_IO, "%s: short read", path);
            break;
        }
        size_t skip = done == 0 ? bom_len(buf, got) : 0;
        r.pos += skip;
        st = feed(&r, buf + skip, got - skip);
        done += got;
    }
    free(buf);
    close(fd);
    return reader_done(&r, st);
}
