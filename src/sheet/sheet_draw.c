/*
 * sheet_draw.c - pixels and JSON of one contact sheet (see sheet_draw.h).
 *
 * Colours are fixed: a light background, dark text, dark grey for failed jobs,
 * light grey for outputs that cannot be read. The JSON is built with cJSON as
 * the cells are drawn, so the chunk says exactly what the pixels show.
 */
#include "sheet/sheet_draw.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csv_log.h"
#include "io/image_resize.h"
#include "sheet/sheet_label.h"

static const uint8_t bg_rgb[3] = {246, 246, 244}, ink_rgb[3] = {32, 32, 32}, dim_rgb[3] = {110, 110, 110};
static const uint8_t failed_rgb[3] = {96, 96, 96}, failed_ink[3] = {245, 245, 245};
static const uint8_t unreadable_rgb[3] = {200, 200, 200}, box_rgb[3] = {232, 232, 228};

static void fill(iid_image_t *img, int x, int y, int w, int h, const uint8_t rgb[3])
{
    for (int r = y < 0 ? 0 : y; r < y + h && r < img->height; r++)
        for (int c = x < 0 ? 0 : x; c < x + w && c < img->width; c++)
            memcpy(img->data + ((size_t)r * (size_t)img->width + (size_t)c) * 3, rgb, 3);
}

/* text cut with an ellipsis to max_w, drawn at (x, top). */
static void draw_fit(iid_font_t *f, iid_image_t *img, int x, int top, const char *text, const uint8_t rgb[3],
                     int max_w)
{
    char buf[1024];
    iid__font_fit(f, text, max_w, buf, sizeof buf);
    iid__font_draw(f, img, x, top, buf, rgb, max_w);
}

/* text wrapped at spaces into the box (x, y, w, h); the last line that fits
 * ends with an ellipsis when text remains. */
static void draw_wrapped(iid_font_t *f, iid_image_t *img, int x, int y, int w, int h, const char *text,
                         const uint8_t rgb[3])
{
    int line_h = iid__font_line_height(f), lines = h / line_h;
    for (int i = 0; i < lines && *text; i++) {
        while (*text == ' ') text++;
        size_t n = iid__font_prefix(f, text, w);
        if (i == lines - 1 || !text[n]) {
            draw_fit(f, img, x, y + i * line_h, text, rgb, w);
            return;
        }
        size_t cut = n;
        while (cut > 0 && text[cut] != ' ') cut--;
        if (cut == 0) cut = n ? n : 1; /* one word wider than the box: break inside it */
        char buf[1024];
        size_t m = cut < sizeof buf ? cut : sizeof buf - 1;
        memcpy(buf, text, m);
        buf[m] = '\0';
        iid__font_draw(f, img, x, y + i * line_h, buf, rgb, w);
        text += cut;
    }
}

/* The output image scaled into the thumbnail square at (x, y); IID_OK, or the
 * reason it cannot be shown. */
static iid_status draw_thumb(iid_image_t *img, int x, int y, int side, const char *path, iid_error_t *err)
{
    iid_image_t src = {0}, small = {0};
    IID_TRY(iid__image_load(&src, path, NULL, err));
    int w = side, h = side;
    if (src.width >= src.height) h = (int)((long)side * src.height / src.width);
    else w = (int)((long)side * src.width / src.height);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    iid_status st = iid__image_resize_pil(&src, w, h, IID_PIL_BILINEAR, &small, err);
    iid__image_free(&src);
    if (st != IID_OK) return st;
    int ox = x + (side - w) / 2, oy = y + (side - h) / 2;
    for (int r = 0; r < h; r++)
        memcpy(img->data + ((size_t)(oy + r) * (size_t)img->width + (size_t)ox) * 3,
               small.data + (size_t)r * (size_t)w * 3, (size_t)w * 3);
    iid__image_free(&small);
    return IID_OK;
}

/* One cell: its square, its label, and its JSON object (NULL when out of memory). */
static cJSON *draw_cell(const iid_sheet_set_t *set, const iid_sheet_cell_t *c,
                        const iid_csv_t *log, iid_font_t *font, iid_sheet_resolve_fn resolve, void *user,
                        iid_image_t *img)
{
    int side = set->m.thumb, line_h = iid__font_line_height(font), inset = set->m.pad / 2;
    const char *file = iid__csv_cell(log, c->row, IID_COL_NEW_FILE_NAME);
    int ok = strcmp(iid__csv_cell(log, c->row, IID_COL_SUCCESS), "True") == 0;
    const char *status = "ok";
    char reason[1024] = "";
    if (!ok) {
        status = "failed";
        snprintf(reason, sizeof reason, "%s", *iid__csv_cell(log, c->row, IID_COL_ERROR)
                                                  ? iid__csv_cell(log, c->row, IID_COL_ERROR)
                                                  : "no reason logged");
        fill(img, c->px, c->py, side, side, failed_rgb);
        iid__font_draw(font, img, c->px + inset, c->py + inset, "failed", failed_ink, side - 2 * inset);
        draw_wrapped(font, img, c->px + inset, c->py + inset + line_h + line_h / 2, side - 2 * inset,
                     side - 2 * inset - line_h - line_h / 2, reason, failed_ink);
    } else {
        char path[4096];
        iid_error_t e;
        iid_error_clear(&e);
        fill(img, c->px, c->py, side, side, box_rgb);
        iid_status st = resolve(user, file, path, sizeof path, &e);
        if (st == IID_OK) st = draw_thumb(img, c->px, c->py, side, path, &e);
        if (st == IID_ERR_NOMEM) return NULL;
        if (st != IID_OK) {
            status = "unreadable";
            snprintf(reason, sizeof reason, "%s", e.msg[0] ? e.msg : "cannot read the image");
            fill(img, c->px, c->py, side, side, unreadable_rgb);
            iid__font_draw(font, img, c->px + inset, c->py + inset, "image unreadable", ink_rgb, side - 2 * inset);
            draw_wrapped(font, img, c->px + inset, c->py + inset + line_h + line_h / 2, side - 2 * inset,
                         side - 2 * inset - line_h - line_h / 2, reason, ink_rgb);
        }
    }
    iid_sheet_label_t label;
    iid__sheet_label(log, c->row, set->by != IID_SHEET_BY_IMAGE, &label);
    for (int i = 0; i < IID_SHEET_LABEL_LINES; i++)
        draw_fit(font, img, c->px, c->py + side + 2 + i * line_h, label.lines[i], i ? dim_rgb : ink_rgb, c->pw);
    char text[IID_SHEET_LABEL_LINES * 200];
    iid__sheet_label_join(&label, text, sizeof text);
    cJSON *o = cJSON_CreateObject();
    int good = o && cJSON_AddNumberToObject(o, "x", c->px) && cJSON_AddNumberToObject(o, "y", c->py) &&
               cJSON_AddNumberToObject(o, "w", c->pw) && cJSON_AddNumberToObject(o, "h", c->ph) &&
               cJSON_AddNumberToObject(o, "panel", c->panel) && cJSON_AddNumberToObject(o, "gx", c->gx) &&
               cJSON_AddNumberToObject(o, "gy", c->gy) && cJSON_AddNumberToObject(o, "slot", c->slot) &&
               cJSON_AddStringToObject(o, "job_id", iid__csv_cell(log, c->row, IID_COL_JOB_ID)) &&
               cJSON_AddStringToObject(o, "image_name", iid__csv_cell(log, c->row, IID_COL_IMAGE_NAME)) &&
               cJSON_AddStringToObject(o, "file", file) && cJSON_AddStringToObject(o, "status", status) &&
               cJSON_AddStringToObject(o, "label", text) &&
               (reason[0] ? cJSON_AddStringToObject(o, "reason", reason) : cJSON_AddNullToObject(o, "reason"));
    if (!good) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {"column", "values"} of an axis, or null for a list. */
static cJSON *axis_json(const iid_sheet_t *s, int col, char **values, int n)
{
    if (!s->grid) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateStringArray((const char *const *)values, n);
    if (!o || !a || !cJSON_AddStringToObject(o, "column", iid__log_columns[col])) {
        cJSON_Delete(o);
        cJSON_Delete(a);
        return NULL;
    }
    cJSON_AddItemToObject(o, "values", a);
    return o;
}

/* Header, panel titles and axis labels. */
static void draw_frame(const iid_sheet_set_t *set, const iid_sheet_t *s, iid_font_t *font, iid_image_t *img)
{
    const iid_sheet_metrics_t *m = &set->m;
    int line_h = iid__font_line_height(font), pad = m->pad;
    char line[1024];
    snprintf(line, sizeof line, "%s \xe2\x80\x94 %d job%s, %d failed", s->key, s->ncells, s->ncells == 1 ? "" : "s",
             s->nfailed);
    draw_fit(font, img, pad, pad, line, ink_rgb, s->width - 2 * pad);
    if (s->grid)
        snprintf(line, sizeof line, "x: %s \xc2\xb7 y: %s%s", iid__sheet_column_title(set->x_col),
                 iid__sheet_column_title(set->y_col), s->npanels > 1 ? " \xc2\xb7 one grid per panel" : "");
    else snprintf(line, sizeof line, "in job order (not a grid sweep of %s and %s)", iid__sheet_column_title(set->x_col),
                  iid__sheet_column_title(set->y_col));
    draw_fit(font, img, pad, pad + line_h, line, dim_rgb, s->width - 2 * pad);
    int pos_w = s->slots * m->thumb + (s->slots - 1) * (pad / 2);
    int cell_h = m->thumb + IID_SHEET_LABEL_LINES * m->line_h + pad / 2;
    for (int p = 0; p < s->npanels; p++) {
        const iid_sheet_panel_t *pn = &s->panels[p];
        int top = pn->py;
        if (pn->title[0]) {
            draw_fit(font, img, pn->px, top, pn->title, ink_rgb, pn->pw - pad);
            top += line_h + pad / 2;
        }
        if (!s->grid) continue;
        char v[256];
        for (int i = 0; i < s->nx; i++) {
            iid__sheet_value_text(s->x_values[i], v, sizeof v);
            snprintf(line, sizeof line, "%s %s", iid__sheet_column_title(set->x_col), v);
            draw_fit(font, img, pn->px + m->axis_w + i * (pos_w + pad), top, line, ink_rgb, pos_w);
        }
        top += line_h + pad / 2;
        for (int j = 0; j < s->ny; j++) {
            iid__sheet_value_text(s->y_values[j], v, sizeof v);
            int y = top + j * (cell_h + pad) + m->thumb / 2 - line_h;
            draw_fit(font, img, pn->px, y, iid__sheet_column_title(set->y_col), dim_rgb, m->axis_w - pad);
            draw_fit(font, img, pn->px, y + line_h, v, ink_rgb, m->axis_w - pad);
        }
    }
}

iid_status iid__sheet_draw(const iid_sheet_set_t *set, const iid_sheet_t *s, const iid_csv_t *log, iid_font_t *font,
                           iid_sheet_resolve_fn resolve, void *user, iid_image_t *out, char **json,
                           iid_error_t *err)
{
    *json = NULL;
    IID_TRY(iid__image_alloc(out, s->width, s->height, 3, err));
    fill(out, 0, 0, s->width, s->height, bg_rgb);
    draw_frame(set, s, font, out);
    static const char *const by_names[] = {"image", "style", "sweep"};
    cJSON *root = cJSON_CreateObject(), *panels = cJSON_CreateArray(), *cells = cJSON_CreateArray();
    int good = root && panels && cells && cJSON_AddStringToObject(root, "format", "instantid-sheet/1") &&
               cJSON_AddStringToObject(root, "key", s->key) && cJSON_AddStringToObject(root, "by", by_names[set->by]) &&
               cJSON_AddNumberToObject(root, "width", s->width) && cJSON_AddNumberToObject(root, "height", s->height) &&
               cJSON_AddBoolToObject(root, "grid", s->grid);
    if (good) {
        cJSON *x = axis_json(s, set->x_col, s->x_values, s->nx), *y = axis_json(s, set->y_col, s->y_values, s->ny);
        good = x && y;
        if (good) {
            cJSON_AddItemToObject(root, "x", x);
            cJSON_AddItemToObject(root, "y", y);
        } else {
            cJSON_Delete(x);
            cJSON_Delete(y);
        }
    }
    for (int p = 0; good && p < s->npanels; p++) {
        const iid_sheet_panel_t *pn = &s->panels[p];
        cJSON *o = cJSON_CreateObject();
        good = o && cJSON_AddStringToObject(o, "title", pn->title) && cJSON_AddNumberToObject(o, "x", pn->px) &&
               cJSON_AddNumberToObject(o, "y", pn->py) && cJSON_AddNumberToObject(o, "w", pn->pw) &&
               cJSON_AddNumberToObject(o, "h", pn->ph);
        if (good) cJSON_AddItemToArray(panels, o);
        else cJSON_Delete(o);
    }
    for (int i = 0; good && i < s->ncells; i++) {
        cJSON *o = draw_cell(set, &s->cells[i], log, font, resolve, user, out);
        good = o != NULL;
        if (good) cJSON_AddItemToArray(cells, o);
    }
    if (good) {
        cJSON_AddItemToObject(root, "panels", panels);
        cJSON_AddItemToObject(root, "cells", cells);
        panels = cells = NULL;
        *json = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(root);
    cJSON_Delete(panels);
    cJSON_Delete(cells);
    if (!*json) {
        iid__image_free(out);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    return IID_OK;
}
