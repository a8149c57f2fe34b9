/* cache.c - the cache folder and the file-hash cache (see cache.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "io/cache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file.h"
#include "io/sha256.h"

#define HASHES_MAX (1 << 20) /* a hashes file larger than this is started afresh */

static iid_status make_dirs(char *path, iid_error_t *err)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
        *p = '/';
        if (bad) break;
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return iid__fail(err, IID_ERR_IO, "%s: cannot create the cache folder: %s", path, strerror(errno));
    if (!iid__is_dir(path)) return iid__fail(err, IID_ERR_IO, "%s: the cache folder is not a folder", path);
    return IID_OK;
}

iid_status iid__cache_dir(char *buf, size_t cap, iid_error_t *err)
{
    const char *own = getenv("IID_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (own && *own) n = snprintf(buf, cap, "%s", own);
    else if (xdg && xdg[0] == '/') n = snprintf(buf, cap, "%s/instantid", xdg); /* XDG: relative ones are ignored */
    else if (home && *home) n = snprintf(buf, cap, "%s/.cache/instantid", home);
    else return iid__fail(err, IID_ERR_NOT_FOUND, "no cache folder: set XDG_CACHE_HOME or HOME");
    if (n < 0 || (size_t)n >= cap) return iid__fail(err, IID_ERR_RANGE, "cache folder path too long");
    return make_dirs(buf, err);
}

/* The key of a file: its absolute path, size and modification time. */
static int file_key(const char *path, char *key, size_t cap)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0) return 0;
    int n = snprintf(key, cap, "%lld\t%lld.%09ld\t%s", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                     (long)st.st_mtim.tv_nsec, real);
    return n > 0 && (size_t)n < cap && !strchr(real, '\n') && !strchr(real, '\t');
}

iid_status iid__cached_sha256(const char *path, char hex[65], iid_error_t *err)
{
    char dir[PATH_MAX], file[PATH_MAX + 16], key[PATH_MAX + 64];
    int cacheable = file_key(path, key, sizeof key) && iid__cache_dir(dir, sizeof dir, NULL) == IID_OK &&
                    iid__path_join(file, sizeof file, dir, "hashes.tsv", NULL) == IID_OK;
    char *text = NULL;
    size_t size = 0;
    if (cacheable && iid__file_read_all(file, HASHES_MAX, &text, &size, NULL) != IID_OK) text = NULL;
    /* lines: "<sha256>\t<key>\n" */
    size_t klen = strlen(key);
    for (char *line = text; cacheable && line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len == 65 + klen && line[64] == '\t' && memcmp(line + 65, key, klen) == 0) {
            memcpy(hex, line, 64);
            hex[64] = '\0';
            free(text);
            return IID_OK;
        }
        line = nl ? nl + 1 : NULL;
    }
    iid_status st = iid__sha256_file(path, hex, err);
    if (st == IID_OK && cacheable) {
        size_t cap = (text ? size : 0) + klen + 68;
        char *out = malloc(cap);
        if (out) {
            int n = snprintf(out, cap, "%s%s\t%s\n", text ? text : "", hex, key);
            if (n > 0 && (size_t)n < cap) iid__file_write_atomic(file, out, (size_t)n, NULL); /* best effort */
            free(out);
        }
    }
    free(text);
    return st;
}
