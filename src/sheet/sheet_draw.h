/*
 * sheet_draw.h - drawing one laid-out contact sheet (sheet_layout.h) into an
 * RGB image, and the JSON that lists its cells for the PNG's text chunk.
 *
 * Per cell: the output image, decoded with the project's decoder (io/image.h)
 * and shrunk with Pillow's bilinear filter (io/image_resize.h) to fit the
 * thumbnail square, centred; a failed job is a dark grey square saying
 * "failed" and its logged reason, wrapped; an output that cannot be read (missing,
 * truncated, not an image, outside the folder) is a light grey square with the
 * decoder's one-line reason. Under each square, the label (sheet_label.h). A
 * grid has its x values above each column and its y values left of each row;
 * panels have their titles; the sheet has a two-line header (its key and counts;
 * the axes or "in job order").
 *
 * The JSON (text chunk IID_SHEET_TEXT_KEY) is
 *   {"format": "instantid-sheet/1", "key", "by", "width", "height", "grid",
 *    "x": {"column", "values"} | null, "y": ... ,
 *    "panels": [{"title", "x", "y", "w", "h"}],
 *    "cells": [{"x", "y", "w", "h", "panel", "gx", "gy", "slot", "job_id",
 *               "image_name", "file", "status": "ok"|"failed"|"unreadable",
 *               "label", "reason"}]}
 * with pixel boxes in sheet coordinates, "label" the lines joined with "\n" and
 * "reason" null for "ok".
 */
#ifndef IID_SHEET_SHEET_DRAW_H
#define IID_SHEET_SHEET_DRAW_H

#include <stddef.h>

#include "io/csv.h"
#include "io/image.h"
#include "sheet/font.h"
#include "sheet/sheet_layout.h"

#define IID_SHEET_TEXT_KEY "instantid-sheet"

/* Turn a log row's new_file_name into a path the sheet may read, or fail with
 * a one-line reason (which becomes the cell's). */
typedef iid_status (*iid_sheet_resolve_fn)(void *user, const char *file_name, char *path, size_t cap,
                                           iid_error_t *err);

/* Draw sheet s of set (laid out from log) into a new *out, and its JSON into a
 * malloc'd *json (caller frees both). Unreadable images never fail the call;
 * only IID_ERR_NOMEM does (*out and *json are then empty). */
iid_status iid__sheet_draw(const iid_sheet_set_t *set, const iid_sheet_t *s, const iid_csv_t *log, iid_font_t *font,
                           iid_sheet_resolve_fn resolve, void *user, iid_image_t *out, char **json,
                           iid_error_t *err);

#endif
