/*
 * csv.h - a reader for RFC 4180 CSV files, such as the batch log
 * (generation_log.csv, DESIGN.md section 2).
 *
 * The whole text is parsed into rows of NUL-terminated fields. Quoted fields may
 * hold commas, CR/LF line breaks and doubled quotes (""); records end with LF or
 * CRLF. A UTF-8 byte-order mark at the start is skipped.
 *
 * The log is appended to while it is read (the batch runner flushes one row per
 * job), so a last record that is not terminated by a line break - or that ends
 * inside an open quote - is a row still being written: it is dropped, not
 * reported as an error. Readers therefore only ever see complete rows.
 *
 * Leniency, as Python's csv module: a quote inside an unquoted field is kept as a
 * literal character, and characters after a closing quote are appended to the
 * field. Blank lines are skipped. Rows may have different field counts; callers
 * decide what a short row means.
 *
 *   iid_csv_t csv;
 *   if (iid__csv_load(&csv, "generation_log.csv", 64 << 20, &err) == IID_OK) {
 *       for (size_t r = 0; r < csv.nrows; r++)
 *           printf("%s\n", csv.rows[r].fields[0]);
 *       iid__csv_free(&csv);
 *   }
 */
#ifndef IID_IO_CSV_H
#define IID_IO_CSV_H

#include <stddef.h>

#include "core/status.h"

typedef struct iid_csv_row {
    size_t nfields;
    char **fields; /* nfields NUL-terminated strings, owned by the iid_csv_t */
} iid_csv_row_t;

typedef struct iid_csv {
    size_t nrows;
    iid_csv_row_t *rows;
    char *text; /* one buffer holding every field's text */
} iid_csv_t;

/* Parse len bytes of CSV text (no NUL needed). On success *csv owns its rows and
 * must be released with iid__csv_free; on failure (only allocation failure or a
 * row with more than 4096 fields, which label names) *csv is left empty. */
iid_status iid__csv_parse(iid_csv_t *csv, const char *text, size_t len, const char *label, iid_error_t *err);

/* Read and parse a file of at most max_bytes. Errors name the path. */
iid_status iid__csv_load(iid_csv_t *csv, const char *path, size_t max_bytes, iid_error_t *err);

/* Release the rows; a zeroed or freed iid_csv_t (and NULL) is a no-op. */
void iid__csv_free(iid_csv_t *csv);

/* The index of the field equal to name in row (typically the header), or -1. */
int iid__csv_column(const iid_csv_row_t *row, const char *name);

#endif
