/* compare.c - PASS/FAIL/SKIP lines and the tensor comparisons behind them. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "io/json.h"

const char *conf_path(const conf_ctx_t *c, const char *rel, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", c->kit, rel);
    return buf;
}

/* The stage as printed: "single_file/<stage>" while the single_file stage runs. */
static const char *variant(const conf_ctx_t *c) { return c->sdxl_file ? "single_file/" : ""; }

static void vline(const conf_ctx_t *c, const char *verdict, const char *stage, const char *kase, const char *tensor,
                  const char *fmt, va_list ap)
{
    printf("%s %s%s %s %s ", verdict, variant(c), stage, kase && *kase ? kase : "-", tensor && *tensor ? tensor : "-");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

void conf_skip(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(c, "SKIP", stage, kase, tensor, fmt, ap);
    va_end(ap);
    c->skipped++;
}

void conf_fail(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(c, "FAIL", stage, kase, tensor, fmt, ap);
    va_end(ap);
    c->failed++;
}

static void verdict(conf_ctx_t *c, int ok, const char *stage, const char *kase, const char *tensor, double max_abs,
                    double rel)
{
    printf("%s %s%s %s %s max_abs=%.3g rel=%.3g\n", ok ? "PASS" : "FAIL", variant(c), stage, kase, tensor, max_abs, rel);
    fflush(stdout);
    if (ok) c->passed++;
    else c->failed++;
}

void conf_result(conf_ctx_t *c, int ok, const char *stage, const char *kase, const char *tensor, double max_abs,
                 double rel)
{
    verdict(c, ok, stage, kase, tensor, max_abs, rel);
}

static float *golden_f32(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, size_t n,
                         const iid_st_tensor_t *ref)
{
    if (!ref) {
        conf_fail(c, stage, kase, tensor, "golden tensor missing");
        return NULL;
    }
    conf_used(c, ref);
    if ((size_t)iid__st_numel(ref) != n) {
        conf_fail(c, stage, kase, tensor, "size mismatch: got %zu values, golden '%s' has %lld", n, ref->name,
                  (long long)iid__st_numel(ref));
        return NULL;
    }
    float *buf = malloc((n ? n : 1) * sizeof *buf);
    iid_error_t err;
    if (!buf || iid__st_read_f32(ref, buf, &err) != IID_OK) {
        conf_fail(c, stage, kase, tensor, "cannot read golden tensor");
        free(buf);
        return NULL;
    }
    return buf;
}

int conf_check_f32(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const float *got,
                   size_t n, const iid_st_tensor_t *ref, double tol)
{
    float *want = golden_f32(c, stage, kase, tensor, n, ref);
    if (!want) return 0;
    double max_abs = 0.0, max_ref = 0.0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (isnan(d) || isinf(d)) nan = 1;
        else if (d > max_abs) max_abs = d;
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    free(want);
    double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
    if (nan) max_abs = rel = INFINITY;
    tol = conf_tol(c, stage, tol);
    int ok = !nan && max_abs <= tol * (max_ref > 0 ? max_ref : 1.0);
    verdict(c, ok, stage, kase, tensor, max_abs, rel);
    return ok;
}

int conf_check_f32_abs(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const float *got,
                       size_t n, const iid_st_tensor_t *ref, double tol)
{
    float *want = golden_f32(c, stage, kase, tensor, n, ref);
    if (!want) return 0;
    double max_abs = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= max_abs)) max_abs = d; /* NaN sticks */
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    free(want);
    int ok = max_abs <= tol;
    verdict(c, ok, stage, kase, tensor, max_abs, max_ref > 0 ? max_abs / max_ref : max_abs);
    return ok;
}

int conf_check_f32_elementwise(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor,
                               const float *got, size_t n, const iid_st_tensor_t *ref, double tol)
{
    float *want = golden_f32(c, stage, kase, tensor, n, ref);
    if (!want) return 0;
    double max_abs = 0.0, max_rel = 0.0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double scale = fabs(want[i]) > 1e-30 ? fabs(want[i]) : 1e-30;
        if (!(d <= tol * scale) && !(d == 0.0)) ok = 0;
        if (d > max_abs || isnan(d)) max_abs = d;
        if (d / scale > max_rel || isnan(d)) max_rel = d / scale;
    }
    free(want);
    verdict(c, ok, stage, kase, tensor, max_abs, max_rel);
    return ok;
}

int conf_check_int(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const int64_t *got,
                   size_t n, const iid_st_tensor_t *ref)
{
    if (!ref) {
        conf_fail(c, stage, kase, tensor, "golden tensor missing");
        return 0;
    }
    conf_used(c, ref);
    if ((size_t)iid__st_numel(ref) != n) {
        conf_fail(c, stage, kase, tensor, "size mismatch: got %zu values, golden has %lld", n,
                  (long long)iid__st_numel(ref));
        return 0;
    }
    const unsigned char *p = ref->data;
    size_t es = iid__dtype_size(ref->dtype);
    double max_abs = 0.0;
    size_t first_bad = n;
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        if (ref->dtype == IID_DTYPE_I64) memcpy(&v, p + i * 8, 8);
        else if (ref->dtype == IID_DTYPE_I32) {
            int32_t w;
            memcpy(&w, p + i * 4, 4);
            v = w;
        } else if (es == 1) v = p[i];
        else {
            conf_fail(c, stage, kase, tensor, "golden dtype %s is not an integer type", iid__dtype_name(ref->dtype));
            return 0;
        }
        double d = fabs((double)(got[i] - v));
        if (d > max_abs) max_abs = d;
        if (d != 0 && first_bad == n) first_bad = i;
    }
    int ok = first_bad == n;
    verdict(c, ok, stage, kase, tensor, max_abs, 0.0);
    if (!ok) printf("  first difference at index %zu\n", first_bad);
    return ok;
}

int conf_check_u8(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const uint8_t *got,
                  size_t n, const iid_st_tensor_t *ref, int max_levels, double max_fraction)
{
    if (!ref || ref->dtype != IID_DTYPE_U8 || (size_t)iid__st_numel(ref) != n) {
        conf_fail(c, stage, kase, tensor, "golden uint8 tensor missing or of another size");
        return 0;
    }
    conf_used(c, ref);
    const uint8_t *want = ref->data;
    int max_d = 0;
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)want[i]);
        if (d > max_d) max_d = d;
        if (d) differ++;
    }
    double frac = n ? (double)differ / (double)n : 0.0;
    conf_tol_u8(c, stage, &max_levels, &max_fraction);
    int ok = max_d <= max_levels && frac <= max_fraction;
    verdict(c, ok, stage, kase, tensor, (double)max_d, frac);
    return ok;
}

int conf_open_golden(conf_ctx_t *c, const char *stage, const char *file, iid_safetensors_t *st)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "golden/%s", file);
    iid_error_t err;
    iid_error_clear(&err);
    if (conf_open_st(c, rel, st, &err) != IID_OK) {
        conf_skip(c, stage, "-", "-", "%s", err.msg);
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int conf_for_each_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *suffix, conf_case_fn fn, void *user)
{
    size_t ls = strlen(suffix);
    char **cases = calloc((size_t)(st->count ? st->count : 1), sizeof *cases);
    int n = 0;
    if (!cases) return 0;
    for (int i = 0; i < st->count; i++) {
        const char *name = st->tensors[i].name;
        size_t ln = strlen(name);
        if (ln > ls && strcmp(name + ln - ls, suffix) == 0) {
            cases[n] = malloc(ln - ls + 1);
            if (!cases[n]) break;
            memcpy(cases[n], name, ln - ls);
            cases[n][ln - ls] = '\0';
            n++;
        }
    }
    qsort(cases, (size_t)n, sizeof *cases, cmp_str);
    for (int i = 0; i < n; i++) {
        fn(c, st, cases[i], user);
        free(cases[i]);
    }
    free(cases);
    return n;
}

int conf_resampler_heads(conf_ctx_t *c, const char *stage, int *heads)
{
    iid_json_t j;
    iid_error_t err;
    if (conf_load_json(c, "golden/ip_adapter_layout.json", &j, &err) != IID_OK) {
        conf_skip(c, stage, "-", "-", "%s", err.msg);
        return -1;
    }
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j.root, "resampler_hyperparameters");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(hp, "heads");
    int ok = cJSON_IsNumber(h) && h->valuedouble >= 1;
    if (ok) *heads = (int)h->valuedouble;
    else conf_fail(c, stage, "-", "-", "golden/ip_adapter_layout.json: resampler_hyperparameters.heads missing");
    iid__json_free(&j);
    return ok ? 0 : -1;
}
