/*
 * styles.c - the style table: the compiled-in data/styles.json, styles files
 * merged over it, and apply_style().
 *
 * Merging is two-phase so a bad file changes nothing: the document is parsed and
 * validated into a scratch table first, then its entries replace or extend the
 * live table. Names are matched exactly, as the demo's dict lookup does.
 */
#define _POSIX_C_SOURCE 200809L
#include "text/styles.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"
#include "styles_json.h"

#define STYLES_MAX_FILE ((size_t)16 << 20)
#define STYLES_MAX_COUNT 10000

static void style_clear(iid_style_t *st)
{
    free(st->name);
    free(st->prompt);
    free(st->negative);
    st->name = st->prompt = st->negative = NULL;
}

void iid__styles_free(iid_styles_t *s)
{
    if (!s) return;
    for (int i = 0; i < s->count; i++) style_clear(&s->items[i]);
    free(s->items);
    free(s->default_name);
    memset(s, 0, sizeof *s);
}

const iid_style_t *iid__styles_find(const iid_styles_t *s, const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0) return &s->items[i];
    return NULL;
}

const iid_style_t *iid__styles_resolve(const iid_styles_t *s, const char *name)
{
    const iid_style_t *st = iid__styles_find(s, name);
    return st ? st : iid__styles_find(s, s->default_name);
}

static iid_status reserve(iid_styles_t *s, int extra, iid_error_t *err)
{
    if (s->count + extra <= s->cap) return IID_OK;
    int cap = s->cap ? s->cap : 32;
    while (cap < s->count + extra) cap *= 2;
    iid_style_t *p = realloc(s->items, (size_t)cap * sizeof *p);
    if (!p) return iid__fail(err, IID_ERR_NOMEM, "styles: out of memory");
    s->items = p;
    s->cap = cap;
    return IID_OK;
}

/* Read one entry {"name", "prompt", "negative_prompt"} into out (owned copies). */
static iid_status parse_entry(const cJSON *e, int index, const char *label, iid_style_t *out, iid_error_t *err)
{
    static const char *const keys[3] = {"name", "prompt", "negative_prompt"};
    const char *val[3];
    if (!cJSON_IsObject(e)) return iid__fail(err, IID_ERR_FORMAT, "%s: styles[%d] is not an object", label, index);
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, keys[k]);
        if (!cJSON_IsString(v))
            return iid__fail(err, IID_ERR_FORMAT, "%s: styles[%d].%s is missing or not a string", label, index,
                             keys[k]);
        val[k] = v->valuestring;
    }
    if (!val[0][0]) return iid__fail(err, IID_ERR_FORMAT, "%s: styles[%d].name is empty", label, index);
    if (!strstr(val[1], "{prompt}"))
        return iid__fail(err, IID_ERR_FORMAT, "%s: style '%s': prompt has no {prompt} placeholder", label, val[0]);
    out->name = strdup(val[0]);
    out->prompt = strdup(val[1]);
    out->negative = strdup(val[2]);
    if (!out->name || !out->prompt || !out->negative) {
        style_clear(out);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    }
    return IID_OK;
}

iid_status iid__styles_merge_text(iid_styles_t *s, const char *text, size_t len, const char *label,
                                  iid_error_t *err)
{
    iid_json_t j;
    IID_TRY(iid__json_parse(&j, text, len, label, err));
    const cJSON *list = j.root;
    const char *def = NULL;
    if (cJSON_IsObject(j.root)) {
        list = cJSON_GetObjectItemCaseSensitive(j.root, "styles");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j.root, "default_style");
        if (d && !cJSON_IsString(d)) {
            iid__json_free(&j);
            return iid__fail(err, IID_ERR_FORMAT, "%s: default_style is not a string", label);
        }
        def = d ? d->valuestring : NULL;
    }
    if (!cJSON_IsArray(list)) {
        iid__json_free(&j);
        return iid__fail(err, IID_ERR_FORMAT, "%s: expected an array of styles or an object with \"styles\"",
                         label);
    }
    int n = cJSON_GetArraySize(list);
    if (n > STYLES_MAX_COUNT) {
        iid__json_free(&j);
        return iid__fail(err, IID_ERR_RANGE, "%s: %d styles exceeds the limit of %d", label, n, STYLES_MAX_COUNT);
    }
    /* Phase 1: parse every entry into a scratch array. */
    iid_styles_t scratch = {0};
    iid_status st = reserve(&scratch, n > 0 ? n : 1, err);
    int index = 0;
    for (const cJSON *e = list->child; st == IID_OK && e; e = e->next, index++) {
        st = parse_entry(e, index, label, &scratch.items[scratch.count], err);
        if (st == IID_OK) scratch.count++;
    }
    char *new_default = NULL;
    if (st == IID_OK && def) {
        int known = iid__styles_find(s, def) || iid__styles_find(&scratch, def);
        if (!known) st = iid__fail(err, IID_ERR_FORMAT, "%s: default_style '%s' names no style", label, def);
        else if (!(new_default = strdup(def))) st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    }
    if (st == IID_OK) st = reserve(s, scratch.count, err);
    iid__json_free(&j);
    if (st != IID_OK) {
        free(new_default);
        iid__styles_free(&scratch);
        return st;
    }
    /* Phase 2: nothing below can fail. Replace same-named styles, append others. */
    for (int i = 0; i < scratch.count; i++) {
        iid_style_t *old = (iid_style_t *)iid__styles_find(s, scratch.items[i].name);
        if (old) {
            style_clear(old);
            *old = scratch.items[i];
        } else {
            s->items[s->count++] = scratch.items[i];
        }
    }
    scratch.count = 0;
    iid__styles_free(&scratch);
    if (new_default) {
        free(s->default_name);
        s->default_name = new_default;
    }
    return IID_OK;
}

iid_status iid__styles_merge_file(iid_styles_t *s, const char *path, iid_error_t *err)
{
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, STYLES_MAX_FILE, &text, &len, err));
    iid_status st = iid__styles_merge_text(s, text, len, path, err);
    free(text);
    return st;
}

iid_status iid__styles_load_builtin(iid_styles_t *s, iid_error_t *err)
{
    memset(s, 0, sizeof *s);
    const char *text = (const char *)iid__styles_json;
    iid_status st = iid__styles_merge_text(s, text, strlen(text), "data/styles.json (built in)", err);
    if (st == IID_OK && !s->default_name)
        st = iid__fail(err, IID_ERR_FORMAT, "data/styles.json (built in): no default_style");
    if (st != IID_OK) iid__styles_free(s);
    return st;
}

/* Replace every occurrence of "{prompt}" in tmpl with prompt; malloc'd. */
static char *substitute(const char *tmpl, const char *prompt)
{
    static const char key[] = "{prompt}";
    const size_t klen = sizeof key - 1, plen = strlen(prompt);
    size_t n = 0;
    for (const char *p = strstr(tmpl, key); p; p = strstr(p + klen, key)) n++;
    size_t tlen = strlen(tmpl);
    size_t total = tlen - n * klen + n * plen + 1;
    char *out = malloc(total);
    if (!out) return NULL;
    char *w = out;
    const char *r = tmpl;
    for (const char *p = strstr(r, key); p; p = strstr(r, key)) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, prompt, plen);
        w += plen;
        r = p + klen;
    }
    strcpy(w, r);
    return out;
}

iid_status iid__styles_apply(const iid_styles_t *s, const char *name, const char *prompt, const char *negative,
                             char **prompt_out, char **negative_out, iid_error_t *err)
{
    *prompt_out = *negative_out = NULL;
    const iid_style_t *st = iid__styles_resolve(s, name);
    if (!st) return iid__fail(err, IID_ERR_NOT_FOUND, "style '%s': no such style and no default", name ? name : "");
    if (!prompt) prompt = "";
    if (!negative) negative = "";
    char *p = substitute(st->prompt, prompt);
    size_t nlen = strlen(st->negative) + 1 + strlen(negative) + 1;
    char *n = malloc(nlen);
    if (!p || !n) {
        free(p);
        free(n);
        return iid__fail(err, IID_ERR_NOMEM, "style '%s': out of memory", st->name);
    }
    snprintf(n, nlen, "%s %s", st->negative, negative);
    *prompt_out = p;
    *negative_out = n;
    return IID_OK;
}

void iid__style_slug(const char *name, char *buf, size_t cap)
{
    if (cap == 0) return;
    size_t w = 0;
    int pending_dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && w + 1 < cap; p++) {
        if (*p < 128 && isalnum(*p)) {
            if (pending_dash && w > 0 && w + 2 < cap) buf[w++] = '-';
            pending_dash = 0;
            buf[w++] = (char)tolower(*p);
        } else {
            pending_dash = 1;
        }
    }
    buf[w] = '\0';
    if (w == 0) snprintf(buf, cap, "style");
}
