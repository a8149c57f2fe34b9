/*
 * files.c - path confinement and content types for the served folders (files.h).
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "server/files.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Refuse what needs no file system look-up: absolute, empty segments, dot
 * segments, backslashes. */
static int well_formed(const char *rel)
{
    if (!rel[0] || rel[0] == '/' || strchr(rel, '\\')) return 0;
    const char *seg = rel;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return 0;
        if (!end) return 1;
        seg = end + 1;
    }
}

/* 1 when real (a realpath result) is root_real itself or below it. */
static int inside(const char *root_real, const char *real)
{
    size_t n = strlen(root_real);
    if (strncmp(real, root_real, n) != 0) return 0;
    if (n == 1 && root_real[0] == '/') return 1;
    return real[n] == '/' || real[n] == '\0';
}

iid_status iid__files_resolve(const char *root_real, const char *rel, char *out, size_t cap, iid_error_t *err)
{
    if (!well_formed(rel)) return iid__fail(err, IID_ERR_INVALID, "%s: not a relative path", rel);
    char joined[PATH_MAX + 1], real[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s/%s", root_real, rel) >= (int)sizeof joined)
        return iid__fail(err, IID_ERR_INVALID, "%s: path too long", rel);
    if (!realpath(joined, real)) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such file", rel);
    if (!inside(root_real, real)) return iid__fail(err, IID_ERR_INVALID, "%s: leads outside the folder", rel);
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return iid__fail(err, IID_ERR_NOT_FOUND, "%s: not a regular file", rel);
    if (snprintf(out, cap, "%s", real) >= (int)cap) return iid__fail(err, IID_ERR_INVALID, "%s: path too long", rel);
    return IID_OK;
}

int iid__files_url(const char *root_real, const char *prefix, const char *path, char *url, size_t cap)
{
    if (!path || !path[0]) return 0;
    char joined[PATH_MAX + 1], real[PATH_MAX];
    if (path[0] == '/') {
        if (snprintf(joined, sizeof joined, "%s", path) >= (int)sizeof joined) return 0;
    } else if (snprintf(joined, sizeof joined, "%s/%s", root_real, path) >= (int)sizeof joined) return 0;
    if (!realpath(joined, real) || !inside(root_real, real)) return 0;
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    const char *rel = real + strlen(root_real);
    while (*rel == '/') rel++;
    if (!*rel) return 0;
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const char *p = prefix; *p; p++) {
        if (n + 1 >= cap) return 0;
        url[n++] = *p;
    }
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~/", *p);
        if (n + (plain ? 1 : 3) >= cap) return 0;
        if (plain) url[n++] = (char)*p;
        else {
            url[n++] = '%';
            url[n++] = hex[*p >> 4];
            url[n++] = hex[*p & 15];
        }
    }
    url[n] = '\0';
    return 1;
}

const char *iid__files_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{"png", "image/png"},      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
                 {"webp", "image/webp"},    {"gif", "image/gif"},  {"csv", "text/csv; charset=utf-8"},
                 {"json", "application/json"}, {"txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}
