/*
 * sheet_label.c - the four label lines of a sheet cell (see sheet_label.h).
 */
#include "sheet/sheet_label.h"

#include <stdio.h>

#include "batch/csv_log.h"

static void value(const iid_csv_t *log, long r, int col, char *buf, size_t cap)
{
    iid__sheet_value_text(iid__csv_cell(log, r, col), buf, cap);
}

void iid__sheet_label(const iid_csv_t *log, long r, int with_image, iid_sheet_label_t *out)
{
    char a[64], b[64];
    const char *dot = " \xc2\xb7 ";
    const char *style = iid__csv_cell(log, r, IID_COL_STYLE);
    if (with_image)
        snprintf(out->lines[0], sizeof out->lines[0], "%s%s%s", iid__csv_cell(log, r, IID_COL_IMAGE_NAME), dot, style);
    else snprintf(out->lines[0], sizeof out->lines[0], "%s", style);
    value(log, r, IID_COL_IDENTITYNET, a, sizeof a);
    snprintf(out->lines[1], sizeof out->lines[1], "IdentityNet %s", a);
    value(log, r, IID_COL_ADAPTER, b, sizeof b);
    snprintf(out->lines[2], sizeof out->lines[2], "adapter %s", b);
    value(log, r, IID_COL_STEPS, a, sizeof a);
    value(log, r, IID_COL_GUIDANCE, b, sizeof b);
    snprintf(out->lines[3], sizeof out->lines[3], "%s steps%scfg %s", a, dot, b);
    snprintf(out->lines[4], sizeof out->lines[4], "seed %s%sjob %s", iid__csv_cell(log, r, IID_COL_SEED), dot,
             iid__csv_cell(log, r, IID_COL_JOB_ID));
}

void iid__sheet_label_join(const iid_sheet_label_t *l, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < IID_SHEET_LABEL_LINES && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? "\n" : "", l->lines[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}
