/*
 * sheet.h - contact sheets from a batch log, end to end: read the log, lay the
 * sheets out (sheet_layout.h), draw them (sheet_draw.h) and write each as a PNG
 * with its cell list in an `instantid-sheet` text chunk. What `instantid
 * sheet`, `batch --contact-sheet` and the web UI's /sheets/ route share.
 *
 * Output names. A folder gets one file per sheet, named after the sheet's key
 * with every byte outside [A-Za-z0-9._-] replaced by '_' (a leading '.' too) and
 * ".sheet.png" appended: astronaut.png -> astronaut.png.sheet.png, an identity
 * folder alice -> alice.sheet.png, style "Film Noir" -> Film_Noir.sheet.png,
 * --by sweep -> sweep.sheet.png; when two keys give the same name, the later
 * ones get -2, -3, ... before ".sheet.png". A single file is written only when
 * the log gives exactly one sheet. Every file is written atomically (a temporary
 * name, then rename).
 *
 * Thumbnails are the log's new_file_name looked up in the images folder (the
 * batch's --output); a name that is absolute or climbs out with ".." is refused
 * like a missing file: its cell turns grey with the reason.
 */
#ifndef IID_SHEET_SHEET_H
#define IID_SHEET_SHEET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "sheet/sheet_draw.h"
#include "sheet/sheet_layout.h"

typedef struct iid_sheet_options {
    iid_sheet_by_t by;     /* default image */
    int x_col, y_col;      /* default IdentityNet and adapter strength */
    int thumb;             /* thumbnail side in pixels, 32..1024; default 192 (see IID_SHEET_THUMB_SHRINK_MIN) */
    const char *font_file; /* NULL: DejaVu Sans (font.h) */
    const char *only;      /* just this sheet's key, or NULL for every sheet */
} iid_sheet_options_t;

#define IID_SHEET_THUMB_DEFAULT 192
#define IID_SHEET_THUMB_MIN 32
#define IID_SHEET_THUMB_MAX 1024
/* Sheets over IID_SHEET_MAX_SIDE are redrawn with thumbnails 3/4 the size, all
 * sheets of the call together, but not below this side. */
#define IID_SHEET_THUMB_SHRINK_MIN 48

void iid__sheet_options_init(iid_sheet_options_t *o);

/* The layout metrics for a thumbnail side and a font's line height. */
iid_sheet_metrics_t iid__sheet_metrics(int thumb, int line_h);

/* The font size that goes with a thumbnail side. */
int iid__sheet_font_size(int thumb);

/* The file name of a sheet key (without collision suffix) into buf. */
void iid__sheet_file_name(const char *key, char *buf, size_t cap);

/* Draw the sheets of the log at log_path, thumbnails from images_dir, into out:
 * a folder (created when missing, its parent must exist) when out_is_dir, else
 * the one PNG file (fails with IID_ERR_INVALID when the log gives several
 * sheets, naming how many). *written (when non-NULL) receives the count. A
 * log that cannot be read or is not a batch log fails naming the file; a log
 * without rows writes nothing and succeeds with *written 0. */
iid_status iid__sheets_write(const char *log_path, const char *images_dir, const char *out, int out_is_dir,
                             const iid_sheet_options_t *o, int *written, iid_error_t *err);

/* Draw the one sheet o->only of the log at log_path as PNG bytes in a malloc'd
 * *png (caller frees), reading thumbnails through resolve. IID_ERR_NOT_FOUND
 * when the log has no such key. */
iid_status iid__sheet_encode(const char *log_path, iid_sheet_resolve_fn resolve, void *user,
                             const iid_sheet_options_t *o, uint8_t **png, size_t *size, iid_error_t *err);

#endif
