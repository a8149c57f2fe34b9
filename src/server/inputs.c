/*
 * inputs.c - the batch's input folder: where it is, and which file a log row's
 * image_name names in it (http.h).
 *
 * The log keeps only each image's base name. In a flat input folder that is the
 * file's path below the folder; after a --recursive batch the file may sit in a
 * subfolder, so the folder is scanned once per GET /api/log (the batch's own
 * scanner, batch/inputs.h) and the names are looked up in that list, sorted by
 * base name. When two subfolders hold the same name the first path in byte
 * order wins, as it came first in the batch's plan.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch/inputs.h"
#include "batch/log_meta.h"
#include "io/file.h"
#include "server/files.h"
#include "server/http.h"

static iid_status use_folder(iid_server_t *s, const char *dir, const char *from, iid_error_t *err)
{
    if (!realpath(dir, s->input_real) || !iid__is_dir(s->input_real)) {
        s->input_real[0] = '\0';
        return iid__fail(err, IID_ERR_IO, "%s: %s: not a folder", from, dir);
    }
    return IID_OK;
}

iid_status iid__server_inputs_open(iid_server_t *s, iid_error_t *err)
{
    s->input_real[0] = '\0';
    s->input_recursive = 0;
    if (s->opts.input_dir && *s->opts.input_dir) {
        s->input_recursive = 1; /* the user's folder: look in subfolders too */
        return use_folder(s, s->opts.input_dir, "--input", err);
    }
    char dir[PATH_MAX], meta[PATH_MAX + 8];
    iid_error_t why;
    iid_status st = iid__log_meta_read(s->opts.log_path, dir, sizeof dir, &s->input_recursive, &why);
    if (st == IID_OK) {
        iid__log_meta_path(meta, sizeof meta, s->opts.log_path, &why);
        st = use_folder(s, dir, meta, &why);
    }
    /* No sidecar: a log written by web jobs only, or an older batch. A broken
     * one costs only Refine's face: say so and serve on. */
    if (st != IID_OK && st != IID_ERR_NOT_FOUND && s->opts.report)
        fprintf(s->opts.report, "serve: no input folder: %s\n", why.msg);
    return IID_OK;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int cmp_base(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int c = strcmp(base_name(x), base_name(y));
    return c ? c : strcmp(x, y);
}

iid_status iid__input_index_build(const iid_server_t *s, iid_input_index_t *ix, iid_error_t *err)
{
    memset(ix, 0, sizeof *ix);
    if (!s->input_real[0] || !s->input_recursive) return IID_OK;
    IID_TRY(iid__scan_images(s->input_real, 1, &ix->list, err));
    /* A stable order among equal names: the scan's byte order, kept by sorting
     * on (base name, full path) - full paths are distinct. */
    qsort(ix->list.paths, (size_t)ix->list.count, sizeof *ix->list.paths, cmp_base);
    return IID_OK;
}

void iid__input_index_free(iid_input_index_t *ix)
{
    iid__path_list_free(&ix->list);
}

int iid__server_input_url(const iid_server_t *s, const iid_input_index_t *ix, const char *image_name, char *url,
                          size_t cap)
{
    if (!s->input_real[0] || !image_name || !image_name[0]) return 0;
    if (iid__files_url(s->input_real, "/inputs/", image_name, url, cap)) return 1;
    if (!ix || !ix->list.count || strchr(image_name, '/')) return 0;
    /* The first path with this base name (lower bound). */
    int lo = 0, hi = ix->list.count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(base_name(ix->list.paths[mid]), image_name) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == ix->list.count || strcmp(base_name(ix->list.paths[lo]), image_name) != 0) return 0;
    return iid__files_url(s->input_real, "/inputs/", ix->list.paths[lo], url, cap);
}
