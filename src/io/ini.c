/*
 * ini.c - a line-oriented INI reader (see ini.h for the accepted format).
 */
#define _POSIX_C_SOURCE 200809L
#include "io/ini.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"

#define INI_MAX_FILE ((size_t)1 << 20)

void iid__ini_free(iid_ini_t *ini)
{
    if (!ini) return;
    for (int i = 0; i < ini->count; i++) {
        free(ini->items[i].section);
        free(ini->items[i].key);
        free(ini->items[i].value);
    }
    free(ini->items);
    free(ini->path);
    memset(ini, 0, sizeof *ini);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* A malloc'd copy of [b, e) with blanks trimmed on both sides. */
static char *trimmed(const char *b, const char *e)
{
    while (b < e && is_blank(*b)) b++;
    while (e > b && is_blank(e[-1])) e--;
    char *s = malloc((size_t)(e - b) + 1);
    if (s) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = '\0';
    }
    return s;
}

static iid_status add(iid_ini_t *ini, int *cap, const char *section, char *key, char *value, int line,
                      iid_error_t *err)
{
    if (ini->count == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        iid_ini_entry_t *p = realloc(ini->items, (size_t)ncap * sizeof *p);
        if (!p) goto nomem;
        ini->items = p;
        *cap = ncap;
    }
    char *sec = strdup(section);
    if (!sec) goto nomem;
    size_t vl = strlen(value);
    if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
        memmove(value, value + 1, vl - 2);
        value[vl - 2] = '\0';
    }
    ini->items[ini->count++] = (iid_ini_entry_t){sec, key, value, line};
    return IID_OK;
nomem:
    free(key);
    free(value);
    return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", ini->path);
}

iid_status iid__ini_parse(const char *text, size_t len, const char *label, iid_ini_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!(out->path = strdup(label))) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    if (memchr(text, '\0', len)) {
        iid__ini_free(out);
        return iid__fail(err, IID_ERR_FORMAT, "%s: contains a NUL byte", label);
    }
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    char *section = strdup("");
    int cap = 0, line = 0;
    iid_status st = section ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    while (st == IID_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *b = p;
        while (b < le && is_blank(*b)) b++;
        p = nl ? nl + 1 : end;
        if (b == le || *b == '#' || *b == ';') continue;
        if (*b == '[') {
            const char *close = memchr(b, ']', (size_t)(le - b));
            if (!close) {
                st = iid__fail(err, IID_ERR_FORMAT, "%s:%d: unterminated [section]", label, line);
                break;
            }
            free(section);
            if (!(section = trimmed(b + 1, close))) st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
            continue;
        }
        const char *eq = memchr(b, '=', (size_t)(le - b));
        if (!eq) {
            st = iid__fail(err, IID_ERR_FORMAT, "%s:%d: expected 'key = value'", label, line);
            break;
        }
        char *key = trimmed(b, eq), *value = trimmed(eq + 1, le);
        if (!key || !value) {
            free(key);
            free(value);
            st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
        } else if (!key[0]) {
            free(key);
            free(value);
            st = iid__fail(err, IID_ERR_FORMAT, "%s:%d: empty key", label, line);
        } else {
            st = add(out, &cap, section, key, value, line, err);
        }
    }
    free(section);
    if (st != IID_OK) iid__ini_free(out);
    return st;
}

iid_status iid__ini_load(const char *path, iid_ini_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, INI_MAX_FILE, &text, &len, err));
    iid_status st = iid__ini_parse(text, len, path, out, err);
    free(text);
    return st;
}
