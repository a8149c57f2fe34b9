/* fuzz_csv.c - libFuzzer harness: any bytes as a batch log. Parses, writes the
 * parsed rows back out and checks that they parse to the same cells. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csv_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_csv_t t, u;
    iid_error_t err;
    if (iid__csv_parse((const char *)data, size, "fuzz", &t, &err) != IID_OK) return 0;
    if (t.complete_len > size) abort();
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m && t.ncols > 0) {
        iid__csv_write_record(m, (const char *const *)t.header, t.ncols);
        for (long r = 0; r < t.nrows; r++)
            iid__csv_write_record(m, (const char *const *)&t.cells[(size_t)r * (size_t)t.ncols], t.ncols);
    }
    if (m) fclose(m);
    /* Cells holding NUL bytes cannot round-trip through C strings; skip those. */
    if (buf && t.ncols > 0 && !memchr(data, 0, size) && iid__csv_parse(buf, len, "again", &u, &err) == IID_OK) {
        if (u.nrows != t.nrows || u.ncols != t.ncols) abort();
        for (long r = 0; r < t.nrows; r++)
            for (int c = 0; c < t.ncols; c++)
                if (strcmp(iid__csv_cell(&t, r, c), iid__csv_cell(&u, r, c)) != 0) abort();
        iid__csv_free(&u);
    }
    free(buf);
    iid__csv_free(&t);
    return 0;
}
