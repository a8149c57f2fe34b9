/*
 * sheet_label.h - the text under a contact sheet's thumbnail, from its log row:
 *
 *   Watercolor                       (image · style when the sheet spans images)
 *   IdentityNet 1.25
 *   adapter 0.85
 *   40 steps · cfg 7.5
 *   seed 1234567 · job 17
 *
 * Numbers are shown to 4 significant digits (iid__sheet_value_text); the log
 * keeps the exact values. The same lines go into the sheet's text chunk.
 */
#ifndef IID_SHEET_SHEET_LABEL_H
#define IID_SHEET_SHEET_LABEL_H

#include "io/csv.h"
#include "sheet/sheet_layout.h"

typedef struct iid_sheet_label {
    char lines[IID_SHEET_LABEL_LINES][192];
} iid_sheet_label_t;

/* Fill *out for log row r; with_image puts the image name before the style. */
void iid__sheet_label(const iid_csv_t *log, long r, int with_image, iid_sheet_label_t *out);

/* The lines joined with '\n' into buf (truncated to cap). */
void iid__sheet_label_join(const iid_sheet_label_t *l, char *buf, size_t cap);

#endif
