/*
 * sheet_layout.h - contact sheets from a batch log: which rows go on which sheet,
 * in which panel and grid position, and where each cell lands in pixels. Pure:
 * nothing here reads an image or a font (sheet_draw.h draws the result), so the
 * layout is unit-tested from a log alone.
 *
 * Rows. The log may hold several rows per job (a resumed or re-run batch, merged
 * shard logs): per job_id the latest successful row wins, else the latest failed
 * one. A row without a job_id stands for itself. Cells follow the job order
 * (numeric job ids ascending, other ids such as the web UI's "web-..." after
 * them, in text order), which for a batch plan is image, style, then the sweep.
 *
 * Sheets (--by). image: one sheet per image_name (an identity's folder name under
 * `batch --identities`); style: one per style_name; sweep: one sheet for the
 * whole log. Sheets are sorted by their key.
 *
 * The X/Y grid. Two log columns are the axes (--x, --y; default IdentityNet and
 * adapter strength). Every other descriptive column that varies on the sheet
 * (image_name, style_name, the two strengths, steps, guidance, scheduler, width,
 * height, less the axes and the sheet's own key) splits the sheet into panels:
 * each panel is one X/Y grid with a title naming its values ("Neon · steps 30
 * · cfg 5"), and the panels flow left to right, top to bottom, about as many
 * panels across as down (a list's panels: that divided by their width in cells). Cells that share a
 * panel and a grid position (loops, or several seeds of the same values) stand
 * side by side in that position. The sheet is drawn as a grid when its axis
 * values span at least two positions and at least one panel fills every position
 * of the grid, which is what `--sweep grid:K` plans produce (a --limit may leave
 * the last panel with empty positions); a random sweep, whose values never repeat,
 * gives a plain list instead: one panel per image (a single one under --by
 * image), its cells in job order, wrapped to about a square (at most 20 wide).
 *
 * Geometry (pixels; m = the metrics): a header of two text lines; panels of a
 * title line (when they have one); in a grid, a row of x-axis labels above the
 * positions and a column of y-axis labels (m.axis_w wide) on their left; a cell
 * is m.thumb wide and m.thumb + IID_SHEET_LABEL_LINES * m.line_h + m.pad / 2 high.
 */
#ifndef IID_SHEET_SHEET_LAYOUT_H
#define IID_SHEET_SHEET_LAYOUT_H

#include <stddef.h>

#include "core/status.h"
#include "io/csv.h"

typedef enum { IID_SHEET_BY_IMAGE, IID_SHEET_BY_STYLE, IID_SHEET_BY_SWEEP } iid_sheet_by_t;

/* Text lines under each thumbnail (sheet_label.h writes them). */
#define IID_SHEET_LABEL_LINES 5
/* A sheet larger than this on either side is refused (viewers and decoders
 * give up around here); sheet.h then retries with smaller thumbnails. */
#define IID_SHEET_MAX_SIDE 16384

typedef struct iid_sheet_metrics {
    int thumb;  /* side of the square a thumbnail is fitted into */
    int line_h; /* height of a text line */
    int pad;    /* gap between cells and around the sheet */
    int axis_w; /* width of the y-axis labels' column */
} iid_sheet_metrics_t;

typedef struct iid_sheet_cell {
    long row;          /* the log row */
    int panel;         /* index into the sheet's panels */
    int gx, gy, slot;  /* grid: x and y value index and place within the position; list: column, row, 0 */
    int px, py, pw, ph; /* the cell's box in the sheet */
} iid_sheet_cell_t;

typedef struct iid_sheet_panel {
    char *title; /* "" when nothing splits the sheet */
    int px, py, pw, ph;
} iid_sheet_panel_t;

typedef struct iid_sheet {
    char *key;         /* the image name, style name, or "sweep" */
    int grid;          /* 1: X/Y grid; 0: list */
    char **x_values;   /* grid: the distinct x values in axis order (nx); list: NULL */
    char **y_values;
    int nx, ny, slots; /* slots: cells per grid position (the most any has) */
    iid_sheet_panel_t *panels;
    int npanels;
    iid_sheet_cell_t *cells;
    int ncells, nfailed;
    int width, height;
} iid_sheet_t;

typedef struct iid_sheet_set {
    iid_sheet_by_t by;
    int x_col, y_col; /* log column indices of the axes */
    iid_sheet_metrics_t m;
    iid_sheet_t *sheets;
    int count;
} iid_sheet_set_t;

/* The log column an axis name means: a log column name (guidance_scale), or
 * one of the short names identitynet_strength, adapter_strength, steps,
 * guidance, style, image, seed; -1 for anything else. */
int iid__sheet_axis_column(const char *name);

/* "image", "style", "sweep" -> *by; fails naming the value otherwise. */
iid_status iid__sheet_by_parse(const char *text, iid_sheet_by_t *by, iid_error_t *err);

/* Lay out the sheets of a log (read with iid__log_read, so it has the 22 log
 * columns). only: when non-NULL, just the sheet whose key is only (none is
 * IID_ERR_NOT_FOUND naming it). A log without rows gives no sheets. Fails
 * with IID_ERR_INVALID when x_col == y_col, IID_ERR_RANGE when a sheet would
 * exceed IID_SHEET_MAX_SIDE (naming the sheet and its size), IID_ERR_NOMEM. On
 * failure *set is empty. */
iid_status iid__sheets_layout(const iid_csv_t *log, iid_sheet_by_t by, int x_col, int y_col,
                              const iid_sheet_metrics_t *m, const char *only, iid_sheet_set_t *set,
                              iid_error_t *err);

void iid__sheets_free(iid_sheet_set_t *set);

/* An axis or panel value as shown: numbers to 4 significant digits (1.25,
 * 0.85, 7.5, 40), anything else as it is. */
void iid__sheet_value_text(const char *value, char *buf, size_t cap);

/* A column's name on a sheet ("IdentityNet", "adapter", "steps", "cfg", ...). */
const char *iid__sheet_column_title(int col);

#endif
