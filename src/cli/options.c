/*
 * options.c - the option parser and help printer (see options.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"

/* Find a spec by long name, accepting '_' for '-' (for INI keys). */
static int find_long(const iid_opts_t *o, const char *name, size_t len)
{
    for (int i = 0; i < o->n; i++) {
        const char *s = o->specs[i].name;
        if (strlen(s) != len) continue;
        size_t k = 0;
        while (k < len && (s[k] == name[k] || (s[k] == '-' && name[k] == '_'))) k++;
        if (k == len) return i;
    }
    return -1;
}

static int find_short(const iid_opts_t *o, char c)
{
    for (int i = 0; i < o->n; i++)
        if (o->specs[i].short_name && o->specs[i].short_name == c) return i;
    return -1;
}

/* true/false words for flags in the config file; -1 when neither. */
static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return 1;
        if (strcasecmp(v, no[i]) == 0) return 0;
    }
    return -1;
}

/* Options that may be given several times (iid_cli_get_all). */
static int repeatable(const iid_opt_spec_t *s)
{
    static const char *const names[] = {"lora", "face"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s->metavar && strcmp(s->name, names[i]) == 0) return 1;
    return 0;
}

/* Record one value of repeatable option k. */
static iid_status push_multi(iid_opts_t *o, int k, const char *v, iid_error_t *err)
{
    const char **m = realloc(o->multi, (size_t)(o->nmulti + 1) * sizeof *m);
    if (m) o->multi = m;
    int *ms = m ? realloc(o->multi_spec, (size_t)(o->nmulti + 1) * sizeof *ms) : NULL;
    if (!ms) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    o->multi_spec = ms;
    o->multi[o->nmulti] = v;
    o->multi_spec[o->nmulti++] = k;
    return IID_OK;
}

static iid_status apply_config(iid_opts_t *o, const char *path, const char *section, iid_error_t *err)
{
    IID_TRY(iid__ini_load(path, &o->ini, err));
    for (int i = 0; i < o->ini.count; i++) {
        iid_ini_entry_t *e = &o->ini.items[i];
        if (e->section[0] && strcmp(e->section, section) != 0) continue;
        int k = find_long(o, e->key, strlen(e->key));
        if (k < 0)
            return iid__fail(err, IID_ERR_INVALID, "%s:%d: '%s' is not an option of 'instantid %s'", path, e->line,
                             e->key, section);
        if (o->from_cli[k]) continue;
        if (repeatable(&o->specs[k])) IID_TRY(push_multi(o, k, e->value, err));
        if (!o->specs[k].metavar) {
            int b = parse_bool(e->value);
            if (b < 0)
                return iid__fail(err, IID_ERR_INVALID, "%s:%d: %s: '%s' is not true or false", path, e->line, e->key,
                                 e->value);
            o->value[k] = b ? "1" : "0";
        } else {
            o->value[k] = e->value;
        }
    }
    return IID_OK;
}

iid_status iid_cli_parse(iid_opts_t *o, const iid_opt_spec_t *specs, int n, int argc, char **argv,
                         int allow_positional, iid_error_t *err)
{
    memset(o, 0, sizeof *o);
    o->specs = specs;
    o->n = n;
    o->value = calloc((size_t)n + 1, sizeof *o->value);
    o->positional = calloc((size_t)argc + 1, sizeof *o->positional);
    o->from_cli = calloc((size_t)n + 1, 1);
    iid_status st = IID_OK;
    const char *config = NULL;
    if (!o->value || !o->positional || !o->from_cli) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    int only_positional = 0;
    for (int i = 1; i < argc && st == IID_OK; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (!allow_positional) st = iid__fail(err, IID_ERR_INVALID, "unexpected argument '%s'", a);
            else o->positional[o->npositional++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
            continue;
        }
        const char *inline_val = NULL;
        int k;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            inline_val = eq ? eq + 1 : NULL;
            if (len == 6 && strncmp(name, "config", 6) == 0) {
                if (!inline_val && i + 1 >= argc) st = iid__fail(err, IID_ERR_INVALID, "--config: needs a FILE");
                else config = inline_val ? inline_val : argv[++i];
                continue;
            }
            k = find_long(o, name, len);
            if (k >= 0 && memchr(name, '_', len)) k = -1; /* underscores only in config files */
        } else {
            k = a[2] == '\0' ? find_short(o, a[1]) : -1;
        }
        if (k < 0) {
            st = iid__fail(err, IID_ERR_INVALID, "unknown option '%s' (see --help)", a);
            break;
        }
        o->from_cli[k] = 1;
        if (!specs[k].metavar) {
            if (inline_val) st = iid__fail(err, IID_ERR_INVALID, "--%s: takes no value", specs[k].name);
            o->value[k] = "1";
        } else if (inline_val || i + 1 < argc) {
            o->value[k] = inline_val ? inline_val : argv[++i];
            if (repeatable(&specs[k])) st = push_multi(o, k, o->value[k], err);
        } else {
            st = iid__fail(err, IID_ERR_INVALID, "--%s: needs a value (%s)", specs[k].name, specs[k].metavar);
        }
    }
    if (st == IID_OK && config && !o->help) st = apply_config(o, config, argv[0], err);
    return st;
}

void iid_cli_free(iid_opts_t *o)
{
    if (!o) return;
    free(o->value);
    free(o->multi);
    free(o->multi_spec);
    free(o->positional);
    free(o->from_cli);
    iid__ini_free(&o->ini);
    memset(o, 0, sizeof *o);
}

const char *iid_cli_get(const iid_opts_t *o, const char *name)
{
    int k = find_long(o, name, strlen(name));
    return k >= 0 ? o->value[k] : NULL;
}

int iid_cli_given(const iid_opts_t *o, const char *name)
{
    int k = find_long(o, name, strlen(name));
    return k >= 0 && o->from_cli[k];
}

int iid_cli_get_all(const iid_opts_t *o, const char *name, const char **out, int cap)
{
    int k = find_long(o, name, strlen(name)), n = 0;
    for (int i = 0; k >= 0 && i < o->nmulti; i++)
        if (o->multi_spec[i] == k) {
            if (n < cap) out[n] = o->multi[i];
            n++;
        }
    return n;
}

int iid_cli_flag(const iid_opts_t *o, const char *name)
{
    const char *v = iid_cli_get(o, name);
    return v && strcmp(v, "1") == 0;
}

iid_status iid_cli_long(const iid_opts_t *o, const char *name, long min, long max, long *out, iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max)
        return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not a whole number from %ld to %ld", name, v, min,
                         max);
    *out = x;
    return IID_OK;
}

iid_status iid_cli_double(const iid_opts_t *o, const char *name, double min, double max, double *out,
                          iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= min && x <= max))
        return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not a number from %g to %g", name, v, min, max);
    *out = x;
    return IID_OK;
}

iid_status iid_cli_u64(const iid_opts_t *o, const char *name, uint64_t *out, iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-')
        return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not a whole number from 0 to 2^64-1", name, v);
    *out = (uint64_t)x;
    return IID_OK;
}

iid_status iid_cli_choice(const iid_opts_t *o, const char *name, const char *choices, const char **out,
                          iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    size_t vl = strlen(v);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == vl && strncmp(c, v, vl) == 0) {
            *out = v;
            return IID_OK;
        }
        c += cl + (bar ? 1 : 0);
    }
    return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not one of %s", name, v, choices);
}

void iid_cli_help(FILE *f, const char *usage, const char *description, const iid_opt_spec_t *specs, int n)
{
    fprintf(f, "usage: %s\n\n%s\n\noptions:\n", usage, description);
    for (int i = 0; i < n; i++) {
        char head[64];
        if (specs[i].short_name)
            snprintf(head, sizeof head, "-%c, --%s%s%s", specs[i].short_name, specs[i].name,
                     specs[i].metavar ? " " : "", specs[i].metavar ? specs[i].metavar : "");
        else
            snprintf(head, sizeof head, "--%s%s%s", specs[i].name, specs[i].metavar ? " " : "",
                     specs[i].metavar ? specs[i].metavar : "");
        fprintf(f, "  %-34s %s\n", head, specs[i].help);
    }
    fprintf(f, "  %-34s %s\n", "--config FILE",
            "read options from an INI file (keys as the long options without dashes); the command line wins");
    fprintf(f, "  %-34s %s\n", "-h, --help", "show this help");
}

iid_status iid_cli_size(const iid_opts_t *o, const char *name, int *w, int *h, iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    int width, height, used = 0;
    if (sscanf(v, "%dx%d%n", &width, &height, &used) != 2 || v[used] || width < 64 || height < 64 || width > 8192 ||
        height > 8192 || width % 8 || height % 8)
        return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not WxH with sides multiples of 8 from 64 to 8192", name,
                         v);
    *w = width;
    *h = height;
    return IID_OK;
}

iid_status iid_cli_color(const iid_opts_t *o, const char *name, unsigned char rgb[3], iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    unsigned r, g, b;
    int used = 0;
    if (strcmp(v, "white") == 0) r = g = b = 255;
    else if (strcmp(v, "black") == 0) r = g = b = 0;
    else if (!((v[0] == '#' && strlen(v) == 7 && sscanf(v + 1, "%2x%2x%2x%n", &r, &g, &b, &used) == 3 && used == 6) ||
               (sscanf(v, "%u,%u,%u%n", &r, &g, &b, &used) == 3 && !v[used] && r < 256 && g < 256 && b < 256)))
        return iid__fail(err, IID_ERR_INVALID, "--%s: '%s' is not white, black, #RRGGBB or R,G,B", name, v);
    rgb[0] = (unsigned char)r;
    rgb[1] = (unsigned char)g;
    rgb[2] = (unsigned char)b;
    return IID_OK;
}
