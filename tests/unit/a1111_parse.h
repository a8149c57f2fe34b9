/*
 * a1111_parse.h - AUTOMATIC1111's reading of a PNG's `parameters` text, redone
 * in C for the tests, so that what we write is checked by A1111's rules rather
 * than by our own writer:
 *
 *  - modules/infotext_utils.py parse_generation_parameters(): the text is
 *    stripped and split on '\n'; the last line holds the pairs when
 *    re_param = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)' finds at
 *    least 3 in it, else it is a prompt line; lines after one starting
 *    "Negative prompt:" are the negative prompt; a value in double quotes is
 *    json.loads'ed (unquote); "WxH" values become "Key-1" and "Key-2"; a missing
 *    "Schedule type" is "Automatic".
 *  - modules/sd_samplers.py get_sampler_and_scheduler(): a scheduler label at the
 *    end of the sampler name is split off; an unknown sampler is the default
 *    (the first, "DPM++ 2M"); a schedule equal to the sampler's own default is
 *    shown as "Automatic". The samplers and their default schedules are those of
 *    A1111 1.9/1.10 (sd_samplers_kdiffusion.py, sd_samplers_timesteps.py,
 *    sd_samplers_lcm.py), the schedule labels those of sd_schedulers.py.
 *  - sd-webui-controlnet's scripts/infotext.py parse_unit(): a "ControlNet N"
 *    value splits on ',' into items, each of which must split on ": " into
 *    exactly a key and a value.
 *
 * Header-only (static functions) so the unit test of the writer and the
 * end-to-end tests of generate and batch share one implementation.
 */
#ifndef IID_TEST_A1111_PARSE_H
#define IID_TEST_A1111_PARSE_H

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A1111_MAX_PAIRS 64

typedef struct a1111_params {
    char *prompt, *negative;
    int n;
    char *key[A1111_MAX_PAIRS], *value[A1111_MAX_PAIRS];
} a1111_params_t;

static inline char *a1111_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static inline int a1111_word(int c) { return isalnum(c) || c == '_' || (unsigned char)c >= 0x80; }
static inline int a1111_keych(int c) { return a1111_word(c) || c == ' ' || c == '-' || c == '/'; }

/* One re_param match at s (re.match semantics); returns its end, or NULL. */
static inline const char *a1111_match(const char *s, const char **k, size_t *kl, const char **v, size_t *vl)
{
    while (isspace((unsigned char)*s)) s++;
    if (!a1111_word((unsigned char)*s)) return NULL;
    const char *p = s + 1;
    while (a1111_keych((unsigned char)*p)) p++;
    if (p - s < 2 || *p != ':') return NULL;
    *k = s;
    *kl = (size_t)(p - s);
    p++;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '"') { /* "(?:\\.|[^\\"])+" followed by ',' or the end */
        const char *q = p + 1;
        int ok = 1;
        while (ok && *q && *q != '"') {
            if (*q != '\\') q++;
            else if (q[1] && q[1] != '\n') q += 2;
            else ok = 0;
        }
        if (ok && *q == '"' && q > p + 1 && (q[1] == ',' || q[1] == '\0')) {
            *v = p;
            *vl = (size_t)(q + 1 - p);
            return q[1] == ',' ? q + 2 : q + 1;
        }
    }
    const char *q = p;
    while (*q && *q != ',') q++;
    *v = p;
    *vl = (size_t)(q - p);
    return *q == ',' ? q + 1 : q;
}

/* re.findall over line: the count, and the pairs when out is not NULL. */
static inline int a1111_findall(const char *line, a1111_params_t *out)
{
    int count = 0;
    const char *s = line;
    while (*s) {
        const char *k, *v;
        size_t kl, vl;
        const char *e = a1111_match(s, &k, &kl, &v, &vl);
        if (!e || e == s) {
            s++;
            continue;
        }
        if (out && out->n < A1111_MAX_PAIRS) {
            char *val = a1111_dup(v, vl);
            if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') { /* unquote: json.loads, else as is */
                cJSON *j = cJSON_Parse(val);
                if (j && cJSON_IsString(j)) {
                    free(val);
                    val = strdup(j->valuestring);
                }
                cJSON_Delete(j);
            }
            size_t d1 = strspn(val, "0123456789"), d2 = val[d1] == 'x' ? strspn(val + d1 + 1, "0123456789") : 0;
            if (d1 && d2 && !val[d1 + 1 + d2]) { /* re_imagesize ^(\d+)x(\d+)$ */
                char *x = strchr(val, 'x');
                for (int part = 1; part <= 2; part++) {
                    out->key[out->n] = malloc(kl + 3);
                    snprintf(out->key[out->n], kl + 3, "%.*s-%d", (int)kl, k, part);
                    out->value[out->n++] = part == 1 ? a1111_dup(val, (size_t)(x - val)) : strdup(x + 1);
                }
                free(val);
            } else {
                out->key[out->n] = a1111_dup(k, kl);
                out->value[out->n++] = val;
            }
        }
        count++;
        s = e;
    }
    return count;
}

static inline char *a1111_strip(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* acc += ("" if acc == "" else "\n") + line */
static inline void a1111_append(char **acc, const char *line)
{
    size_t a = strlen(*acc), b = strlen(line);
    char *r = malloc(a + b + 2);
    memcpy(r, *acc, a);
    if (a) r[a++] = '\n';
    memcpy(r + a, line, b + 1);
    free(*acc);
    *acc = r;
}

/* parse_generation_parameters(text), without the UI-only defaults. */
static inline void a1111_parse(const char *text, a1111_params_t *out)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(text), *all = a1111_strip(copy);
    char *last = strrchr(all, '\n');
    char *lastline = last ? last + 1 : all;
    if (last) *last = '\0';
    int has_lines = last != NULL;
    if (a1111_findall(lastline, NULL) < 3) {
        has_lines = 1;
        if (last) *last = '\n';
        lastline = NULL;
    }
    out->prompt = strdup("");
    out->negative = strdup("");
    int neg = 0;
    for (char *line = has_lines ? all : NULL, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *l = a1111_strip(line);
        if (strncmp(l, "Negative prompt:", 16) == 0) {
            neg = 1;
            l = a1111_strip(l + 16);
        }
        a1111_append(neg ? &out->negative : &out->prompt, l);
    }
    if (lastline) a1111_findall(lastline, out);
    free(copy);
}

/* The value of key (the last one written, as a Python dict keeps), or NULL. */
static inline const char *a1111_get(const a1111_params_t *p, const char *key)
{
    for (int i = p->n - 1; i >= 0; i--)
        if (strcmp(p->key[i], key) == 0) return p->value[i];
    return NULL;
}

static inline void a1111_free(a1111_params_t *p)
{
    for (int i = 0; i < p->n; i++) free(p->key[i]), free(p->value[i]);
    free(p->prompt);
    free(p->negative);
    memset(p, 0, sizeof *p);
}

/* get_sampler_and_scheduler(sampler, schedule) as A1111 pastes them, then the
 * schedule the sampler really runs with ("Automatic" resolved to its default). */
static inline void a1111_sampler_and_schedule(const char *sampler_in, const char *schedule_in, char *sampler,
                                              size_t scap, const char **schedule)
{
    static const char *const sched[][3] = {{"automatic", "Automatic", NULL},
                                           {"uniform", "Uniform", NULL},
                                           {"karras", "Karras", NULL},
                                           {"exponential", "Exponential", NULL},
                                           {"polyexponential", "Polyexponential", NULL},
                                           {"sgm_uniform", "SGM Uniform", "SGMUniform"},
                                           {"kl_optimal", "KL Optimal", NULL},
                                           {"align_your_steps", "Align Your Steps", NULL},
                                           {"simple", "Simple", NULL},
                                           {"normal", "Normal", NULL},
                                           {"ddim", "DDIM", NULL},
                                           {"beta", "Beta", NULL}};
    static const char *const samplers[][2] = {
        {"DPM++ 2M", "karras"},        {"DPM++ SDE", "karras"},     {"DPM++ 2M SDE", "exponential"},
        {"DPM++ 2M SDE Heun", "exponential"}, {"DPM++ 2S a", "karras"}, {"DPM++ 3M SDE", "exponential"},
        {"Euler a", NULL},             {"Euler", NULL},             {"LMS", NULL},
        {"Heun", NULL},                {"DPM2", "karras"},          {"DPM2 a", "karras"},
        {"DPM fast", NULL},            {"DPM adaptive", NULL},      {"Restart", "karras"},
        {"DDIM", NULL},                {"DDIM CFG++", NULL},        {"PLMS", NULL},
        {"UniPC", NULL},               {"LCM", NULL}};
    const int ns = (int)(sizeof sched / sizeof sched[0]), nsam = (int)(sizeof samplers / sizeof samplers[0]);
    int found = 0;
    for (int i = 0; schedule_in && i < ns; i++)
        if (strcmp(schedule_in, sched[i][0]) == 0 || strcmp(schedule_in, sched[i][1]) == 0) found = i;
    char name[128];
    snprintf(name, sizeof name, "%s", sampler_in && *sampler_in ? sampler_in : samplers[0][0]);
    for (int i = 0; i < ns; i++)
        for (int o = 0; o < 3; o++) {
            const char *opt = o == 0 ? sched[i][1] : o == 1 ? sched[i][0] : sched[i][2];
            size_t nl = strlen(name), ol = opt ? strlen(opt) : 0;
            if (opt && nl > ol && name[nl - ol - 1] == ' ' && strcmp(name + nl - ol, opt) == 0) {
                found = i;
                name[nl - ol - 1] = '\0';
                break;
            }
        }
    int s = 0;
    for (int i = 0; i < nsam; i++)
        if (strcmp(samplers[i][0], name) == 0) s = i;
    if (samplers[s][1] && strcmp(samplers[s][1], sched[found][0]) == 0) found = 0; /* convert_automatic */
    snprintf(sampler, scap, "%s", samplers[s][0]);
    if (found == 0) { /* Automatic: the sampler's default, else the model's own (uniform) timesteps */
        found = 1;
        for (int i = 0; samplers[s][1] && i < ns; i++)
            if (strcmp(sched[i][0], samplers[s][1]) == 0) found = i;
    }
    *schedule = sched[found][1];
}

/* sd-webui-controlnet's parse_unit: 0 when every item is "Key: value". */
static inline int a1111_controlnet_unit(const char *text, const char *key, char *value, size_t cap)
{
    char *copy = strdup(text), *save = NULL;
    int bad = 0;
    value[0] = '\0';
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *it = a1111_strip(item), *sep = strstr(it, ": ");
        if (!sep || strstr(sep + 2, ": ")) bad = 1;
        else if ((size_t)(sep - it) == strlen(key) && strncmp(it, key, strlen(key)) == 0)
            snprintf(value, cap, "%s", sep + 2);
    }
    free(copy);
    return bad;
}

/* The sampler and schedule A1111 must end up running for each of our
 * schedulers (pipeline/infotext.h explains why): the expectation the writer's
 * unit test and the end-to-end tests share. NULL for an unknown name. */
static inline const char *a1111_expected(const char *ours, const char **schedule)
{
    static const char *const table[][3] = {
        {"euler", "Euler", "Uniform"},       {"heun", "Heun", "Uniform"},
        {"deis", "DPM++ 2M", "Uniform"}, /* A1111 has no DEIS: its default sampler */
        {"dpmpp_2m", "DPM++ 2M", "Uniform"}, {"dpmpp_2m_karras", "DPM++ 2M", "Karras"},
        {"dpmpp_2m_sde_karras", "DPM++ 2M SDE", "Karras"}, {"lcm", "LCM", "Uniform"}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i][0], ours) == 0) {
            *schedule = table[i][2];
            return table[i][1];
        }
    return NULL;
}

#endif
