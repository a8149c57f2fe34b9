/*
 * inputs.c - scanning an input folder for images (see inputs.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "batch/inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"

#define SCAN_MAX_DEPTH 32
#define SCAN_MAX_FILES 10000000

int iid__is_image_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".webp"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

void iid__path_list_free(iid_path_list_t *l)
{
    if (!l) return;
    for (int i = 0; i < l->count; i++) free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->count = 0;
}

typedef struct scan {
    iid_path_list_t *out;
    int cap;
    int folders; /* collect the sub-folders (identities) instead of the images */
    iid_error_t *err;
} scan_t;

static iid_status push(scan_t *s, const char *path)
{
    if (s->out->count >= SCAN_MAX_FILES)
        return iid__fail(s->err, IID_ERR_RANGE, "%s: more than %d images", path, SCAN_MAX_FILES);
    if (s->out->count == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        char **p = realloc(s->out->paths, (size_t)cap * sizeof *p);
        if (!p) return iid__fail(s->err, IID_ERR_NOMEM, "%s: out of memory", path);
        s->out->paths = p;
        s->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) return iid__fail(s->err, IID_ERR_NOMEM, "%s: out of memory", path);
    s->out->paths[s->out->count++] = copy;
    return IID_OK;
}

static iid_status scan_dir(scan_t *s, const char *dir, int recursive, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return iid__fail(s->err, e == ENOENT ? IID_ERR_NOT_FOUND : IID_ERR_IO, "%s: cannot read the folder: %s",
                         dir, strerror(e));
    }
    iid_status st = IID_OK;
    struct dirent *ent;
    char path[4096];
    while (st == IID_OK && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        if (iid__path_join(path, sizeof path, dir, ent->d_name, s->err) != IID_OK) {
            st = IID_ERR_RANGE;
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) continue; /* vanished while scanning */
        if (S_ISLNK(sb.st_mode) && stat(path, &sb) != 0) continue;
        if (s->folders) {
            if (S_ISDIR(sb.st_mode)) st = push(s, path);
        } else if (S_ISREG(sb.st_mode) && iid__is_image_name(ent->d_name)) st = push(s, path);
        else if (recursive && S_ISDIR(sb.st_mode) && depth < SCAN_MAX_DEPTH) {
            struct stat lsb;
            if (lstat(path, &lsb) == 0 && !S_ISLNK(lsb.st_mode)) st = scan_dir(s, path, recursive, depth + 1);
        }
    }
    closedir(d);
    return st;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static iid_status scan(const char *dir, int recursive, int folders, iid_path_list_t *out, iid_error_t *err)
{
    out->paths = NULL;
    out->count = 0;
    if (!iid__is_dir(dir)) {
        if (access(dir, F_OK) != 0)
            return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such input folder", dir);
        return iid__fail(err, IID_ERR_INVALID, "%s: not a folder", dir);
    }
    scan_t s = {out, 0, folders, err};
    iid_status st = scan_dir(&s, dir, recursive, 0);
    if (st != IID_OK) {
        iid__path_list_free(out);
        return st;
    }
    if (out->count > 1) qsort(out->paths, (size_t)out->count, sizeof *out->paths, cmp_paths);
    return IID_OK;
}

iid_status iid__scan_images(const char *dir, int recursive, iid_path_list_t *out, iid_error_t *err)
{
    return scan(dir, recursive, 0, out, err);
}

iid_status iid__scan_identities(const char *dir, iid_path_list_t *out, iid_error_t *err)
{
    return scan(dir, 0, 1, out, err);
}
