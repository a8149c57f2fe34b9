/*
 * csv.h - RFC 4180 CSV text: writing records and reading a document whose first
 * record is its header (the batch log, DESIGN.md section 2).
 *
 * Quoted fields may hold commas, CR/LF line breaks and doubled quotes (""); records
 * end with LF or CRLF; a UTF-8 byte-order mark at the start and blank lines are
 * skipped. Leniency, as Python's csv module: a quote inside an unquoted field is
 * literal and text after a closing quote is appended to the field.
 *
 * A log is appended to while it is read (one flushed row per job), so a last record
 * that the text ends inside - no line break yet, or an open quote - is a row still
 * being written: it is dropped and reported through partial_tail, never an error.
 *
 *   iid_csv_t t;
 *   if (iid__csv_load("generation_log.csv", 64 << 20, &t, &err) == IID_OK) {
 *       int c = iid__csv_column(&t, "success");
 *       for (long r = 0; r < t.nrows; r++) puts(iid__csv_cell(&t, r, c));
 *       iid__csv_free(&t);
 *   }
 */
#ifndef IID_IO_CSV_H
#define IID_IO_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

/* Write one record of n fields (NULL counts as "") to f, quoting as needed and
 * ending with CRLF. Returns 0, or -1 when f reports an error. */
int iid__csv_write_record(FILE *f, const char *const *fields, int n);

/* A parsed CSV document. cells is row-major, nrows x ncols; header and cells
 * point into store, which holds every string. */
typedef struct iid_csv {
    char **header; /* ncols names */
    int ncols;
    char **cells;
    char *store;
    long nrows;
    long skipped;         /* complete records whose field count differs from the header's */
    size_t complete_len;  /* bytes up to the end of the last complete record */
    int partial_tail;     /* the text ended inside a record, which was dropped */
} iid_csv_t;

/* Parse text (len bytes, no NUL needed; label names it in errors). The first
 * record is the header. An empty text gives ncols 0 and no rows. Fails only on
 * allocation failure or a record of more than IID_CSV_MAX_FIELDS fields (naming
 * the record); *out is then empty. */
#define IID_CSV_MAX_FIELDS 4096
iid_status iid__csv_parse(const char *text, size_t len, const char *label, iid_csv_t *out, iid_error_t *err);

/* Read and parse a file of at most max_bytes, streaming: memory is the cells'
 * text plus a pointer per cell, never the file twice. The file is opened as
 * iid__file_open_input does (a FIFO or device is refused). Errors name the path. */
iid_status iid__csv_load(const char *path, size_t max_bytes, iid_csv_t *out, iid_error_t *err);

/* The cell of row r, column c. */
const char *iid__csv_cell(const iid_csv_t *t, long r, int c);

/* The index of the column named name, or -1. */
int iid__csv_column(const iid_csv_t *t, const char *name);

/* Release everything; NULL and a zeroed or freed record are fine. */
void iid__csv_free(iid_csv_t *t);

#endif
