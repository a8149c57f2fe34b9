/*
 * csv.c - the RFC 4180 reader (see csv.h for the accepted dialect).
 *
 * One pass over the input with a three-state machine (field start, unquoted,
 * quoted). Unescaped field text is written into a single buffer of len + 1 bytes:
 * a field never grows when unescaped and each terminating NUL takes the place of
 * the separator that ended it, so the buffer cannot overflow. Each finished record
 * becomes a row whose field pointers point into that buffer.
 */
#include "io/csv.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"

#define CSV_MAX_FIELDS 4096

enum { AT_FIELD_START, IN_UNQUOTED, IN_QUOTED, AFTER_QUOTE };

typedef struct csv_builder {
    iid_csv_t *csv;
    size_t rows_cap;
    char **fields; /* the current record's field starts */
    size_t nfields, fields_cap;
} csv_builder_t;

static iid_status push_field(csv_builder_t *b, char *start, const char *label, iid_error_t *err)
{
    if (b->nfields == CSV_MAX_FIELDS)
        return iid__fail(err, IID_ERR_RANGE, "%s: row %zu has more than %d fields", label, b->csv->nrows + 1,
                         CSV_MAX_FIELDS);
    if (b->nfields == b->fields_cap) {
        size_t cap = b->fields_cap ? b->fields_cap * 2 : 32;
        char **f = realloc(b->fields, cap * sizeof *f);
        if (!f) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
        b->fields = f;
        b->fields_cap = cap;
    }
    b->fields[b->nfields++] = start;
    return IID_OK;
}

static iid_status push_row(csv_builder_t *b, const char *label, iid_error_t *err)
{
    iid_csv_t *csv = b->csv;
    if (csv->nrows == b->rows_cap) {
        size_t cap = b->rows_cap ? b->rows_cap * 2 : 64;
        iid_csv_row_t *r = realloc(csv->rows, cap * sizeof *r);
        if (!r) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
        csv->rows = r;
        b->rows_cap = cap;
    }
    char **fields = malloc(b->nfields * sizeof *fields);
    if (!fields) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    memcpy(fields, b->fields, b->nfields * sizeof *fields);
    csv->rows[csv->nrows].nfields = b->nfields;
    csv->rows[csv->nrows].fields = fields;
    csv->nrows++;
    b->nfields = 0;
    return IID_OK;
}

static iid_status parse(csv_builder_t *b, const char *text, size_t len, const char *label, iid_error_t *err)
{
    char *out = b->csv->text;
    char *field = out;
    int state = AT_FIELD_START;
    size_t record_chars = 0; /* input bytes consumed by the current record */
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) i = 3;
    for (; i < len; i++) {
        char c = text[i];
        if (state == IN_QUOTED) {
            record_chars++;
            if (c != '"') *out++ = c;
            else if (i + 1 < len && text[i + 1] == '"') {
                *out++ = '"';
                i++;
                record_chars++;
            } else state = AFTER_QUOTE;
            continue;
        }
        if (c == ',' || c == '\n' || (c == '\r' && i + 1 < len && text[i + 1] == '\n')) {
            *out++ = '\0';
            IID_TRY(push_field(b, field, label, err));
            field = out;
            state = AT_FIELD_START;
            if (c == ',') {
                record_chars++;
                continue;
            }
            if (c == '\r') i++;
            if (record_chars == 0) b->nfields = 0; /* a blank line */
            else IID_TRY(push_row(b, label, err));
            record_chars = 0;
            continue;
        }
        record_chars++;
        if (c == '"' && state == AT_FIELD_START) state = IN_QUOTED;
        else {
            *out++ = c;
            if (state == AT_FIELD_START) state = IN_UNQUOTED;
        }
    }
    /* Whatever follows the last line break is a record still being written. */
    b->nfields = 0;
    return IID_OK;
}

iid_status iid__csv_parse(iid_csv_t *csv, const char *text, size_t len, const char *label, iid_error_t *err)
{
    memset(csv, 0, sizeof *csv);
    if (!label) label = "csv";
    csv->text = malloc(len + 1);
    if (!csv->text) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for %zu bytes", label, len);
    csv_builder_t b = {.csv = csv};
    iid_status s = parse(&b, text, len, label, err);
    free(b.fields);
    if (s != IID_OK) iid__csv_free(csv);
    return s;
}

iid_status iid__csv_load(iid_csv_t *csv, const char *path, size_t max_bytes, iid_error_t *err)
{
    memset(csv, 0, sizeof *csv);
    char *text = NULL;
    size_t size = 0;
    IID_TRY(iid__file_read_all(path, max_bytes, &text, &size, err));
    iid_status s = iid__csv_parse(csv, text, size, path, err);
    free(text);
    return s;
}

void iid__csv_free(iid_csv_t *csv)
{
    if (!csv) return;
    for (size_t r = 0; r < csv->nrows; r++) free(csv->rows[r].fields);
    free(csv->rows);
    free(csv->text);
    memset(csv, 0, sizeof *csv);
}

int iid__csv_column(const iid_csv_row_t *row, const char *name)
{
    for (size_t i = 0; row && i < row->nfields; i++)
        if (strcmp(row->fields[i], name) == 0) return (int)i;
    return -1;
}
