/*
 * sheet.c - contact sheets from a log to PNG files or bytes (see sheet.h).
 */
#include "sheet/sheet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/csv_log.h"
#include "io/file.h"
#include "io/png_write.h"

void iid__sheet_options_init(iid_sheet_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->by = IID_SHEET_BY_IMAGE;
    o->x_col = IID_COL_IDENTITYNET;
    o->y_col = IID_COL_ADAPTER;
    o->thumb = IID_SHEET_THUMB_DEFAULT;
}

int iid__sheet_font_size(int thumb)
{
    int px = thumb / 16;
    return px < 9 ? 9 : px > 24 ? 24 : px;
}

iid_sheet_metrics_t iid__sheet_metrics(int thumb, int line_h)
{
    iid_sheet_metrics_t m;
    m.thumb = thumb;
    m.line_h = line_h;
    m.pad = thumb / 16 < 6 ? 6 : thumb / 16;
    m.axis_w = thumb * 2 / 3 < 80 ? 80 : thumb * 2 / 3;
    return m;
}

void iid__sheet_file_name(const char *key, char *buf, size_t cap)
{
    static const char suffix[] = ".sheet.png";
    if (cap < sizeof suffix + 1) {
        if (cap) buf[0] = '\0';
        return;
    }
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p && n + sizeof suffix < cap; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    *p == '-' || *p == '_' || (*p == '.' && n > 0);
        buf[n++] = plain ? (char)*p : '_';
    }
    if (n == 0) buf[n++] = '_';
    memcpy(buf + n, suffix, sizeof suffix);
}

/* A file name from the log inside the images folder: no absolute paths, no "..". */
static iid_status resolve_in_dir(void *user, const char *name, char *path, size_t cap, iid_error_t *err)
{
    const char *dir = user;
    if (!name[0]) return iid__fail(err, IID_ERR_NOT_FOUND, "the log names no output file");
    int climbs = name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 || strstr(name, "/../") ||
                 (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0);
    if (climbs) return iid__fail(err, IID_ERR_INVALID, "%s: outside the images folder", name);
    IID_TRY(iid__path_join(path, cap, dir, name, err));
    if (!iid__is_file(path)) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such file", path);
    return IID_OK;
}

/* The log, the font and the layout every caller starts from. */
typedef struct sheet_job {
    iid_csv_t log;
    iid_font_t *font;
    iid_sheet_set_t set;
} sheet_job_t;

static void job_free(sheet_job_t *j)
{
    iid__sheets_free(&j->set);
    iid__font_free(j->font);
    iid__csv_free(&j->log);
}

static iid_status job_open(sheet_job_t *j, const char *log_path, const iid_sheet_options_t *o, iid_error_t *err)
{
    memset(j, 0, sizeof *j);
    if (o->thumb < IID_SHEET_THUMB_MIN || o->thumb > IID_SHEET_THUMB_MAX)
        return iid__fail(err, IID_ERR_INVALID, "--thumb: %d is outside %d..%d pixels", o->thumb, IID_SHEET_THUMB_MIN,
                         IID_SHEET_THUMB_MAX);
    iid_status st = iid__log_read(log_path, &j->log, err);
    /* A sheet over the side limit is laid out again with thumbnails 3/4 the size. */
    for (int thumb = o->thumb; st == IID_OK; thumb = thumb * 3 / 4) {
        st = iid__font_open(&j->font, o->font_file, iid__sheet_font_size(thumb), err);
        if (st != IID_OK) break;
        iid_sheet_metrics_t m = iid__sheet_metrics(thumb, iid__font_line_height(j->font));
        st = iid__sheets_layout(&j->log, o->by, o->x_col, o->y_col, &m, o->only, &j->set, err);
        if (st != IID_ERR_RANGE || thumb * 3 / 4 < IID_SHEET_THUMB_SHRINK_MIN) break;
        iid__font_free(j->font);
        j->font = NULL;
        st = IID_OK;
    }
    if (st != IID_OK) job_free(j);
    return st;
}

/* Draw sheet i and encode it with its cell list. */
static iid_status encode_one(sheet_job_t *j, int i, iid_sheet_resolve_fn resolve, void *user, const char *path,
                             uint8_t **png, size_t *size, iid_error_t *err)
{
    iid_image_t img = {0};
    char *json = NULL;
    IID_TRY(iid__sheet_draw(&j->set, &j->set.sheets[i], &j->log, j->font, resolve, user, &img, &json, err));
    iid_png_text_t text = {IID_SHEET_TEXT_KEY, json};
    iid_status st = path ? iid__png_write(path, &img, &text, 1, err) : iid__png_encode(&img, &text, 1, png, size, err);
    iid__image_free(&img);
    free(json);
    return st;
}

/* names[i] gets sheet i's file name, made unique with -2, -3, ... */
static void unique_name(char (*names)[512], int i, const char *key)
{
    iid__sheet_file_name(key, names[i], sizeof names[i]);
    for (int k = 2;; k++) {
        int taken = 0;
        for (int p = 0; p < i && !taken; p++) taken = strcmp(names[p], names[i]) == 0;
        if (!taken) return;
        char base[512];
        iid__sheet_file_name(key, base, sizeof base);
        base[strlen(base) - strlen(".sheet.png")] = '\0';
        snprintf(names[i], sizeof names[i], "%.480s-%d.sheet.png", base, k);
    }
}

iid_status iid__sheets_write(const char *log_path, const char *images_dir, const char *out, int out_is_dir,
                             const iid_sheet_options_t *o, int *written, iid_error_t *err)
{
    if (written) *written = 0;
    sheet_job_t j;
    IID_TRY(job_open(&j, log_path, o, err));
    iid_status st = IID_OK;
    if (!out_is_dir && j.set.count > 1)
        st = iid__fail(err, IID_ERR_INVALID, "%s gives %d sheets: give -o a folder, or choose one with --only",
                       log_path, j.set.count);
    if (st == IID_OK && out_is_dir && mkdir(out, 0777) != 0 && errno != EEXIST)
        st = iid__fail(err, IID_ERR_IO, "%s: cannot create the folder: %s", out, strerror(errno));
    if (st == IID_OK && out_is_dir && !iid__is_dir(out)) st = iid__fail(err, IID_ERR_IO, "%s: not a folder", out);
    char(*names)[512] = calloc((size_t)(j.set.count ? j.set.count : 1), sizeof *names);
    if (st == IID_OK && !names) st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
    for (int i = 0; st == IID_OK && i < j.set.count; i++) {
        char path[4096];
        if (out_is_dir) {
            unique_name(names, i, j.set.sheets[i].key);
            st = iid__path_join(path, sizeof path, out, names[i], err);
        } else snprintf(path, sizeof path, "%s", out);
        if (st == IID_OK) st = encode_one(&j, i, resolve_in_dir, (void *)images_dir, path, NULL, NULL, err);
        if (st == IID_OK && written) (*written)++;
    }
    free(names);
    job_free(&j);
    return st;
}

iid_status iid__sheet_encode(const char *log_path, iid_sheet_resolve_fn resolve, void *user,
                             const iid_sheet_options_t *o, uint8_t **png, size_t *size, iid_error_t *err)
{
    *png = NULL;
    *size = 0;
    sheet_job_t j;
    IID_TRY(job_open(&j, log_path, o, err));
    iid_status st = j.set.count == 1 ? encode_one(&j, 0, resolve, user, NULL, png, size, err)
                                     : iid__fail(err, IID_ERR_NOT_FOUND, "%s: no sheet '%s'", log_path,
                                                 o->only ? o->only : "");
    job_free(&j);
    return st;
}
