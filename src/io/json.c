/* json.c - typed, error-reporting field access over cJSON. */
#define _POSIX_C_SOURCE 200809L
#include "io/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"

#define IID_JSON_MAX_FILE ((size_t)64 << 20)

iid_status iid__json_parse(iid_json_t *j, const char *text, size_t len, const char *label, iid_error_t *err)
{
    j->path = NULL;
    j->root = cJSON_ParseWithLength(text, len);
    if (!j->root) return iid__fail(err, IID_ERR_FORMAT, "%s: not valid JSON", label);
    j->path = strdup(label);
    if (!j->path) {
        cJSON_Delete(j->root);
        j->root = NULL;
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    }
    return IID_OK;
}

iid_status iid__json_load(iid_json_t *j, const char *path, iid_error_t *err)
{
    j->path = NULL;
    j->root = NULL;
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, IID_JSON_MAX_FILE, &text, &len, err));
    iid_status s = iid__json_parse(j, text, len, path, err);
    free(text);
    return s;
}

void iid__json_free(iid_json_t *j)
{
    if (!j) return;
    cJSON_Delete(j->root);
    free(j->path);
    j->root = NULL;
    j->path = NULL;
}

static const cJSON *field(const iid_json_t *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->root, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static iid_status missing(const iid_json_t *j, const char *key, iid_error_t *err)
{
    return iid__fail(err, IID_ERR_NOT_FOUND, "%s: field '%s' is missing", j->path, key);
}

static iid_status wrong(const iid_json_t *j, const char *key, const char *what, iid_error_t *err)
{
    return iid__fail(err, IID_ERR_FORMAT, "%s: field '%s' must be %s", j->path, key, what);
}

static int as_int(const cJSON *v, long long *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (d != floor(d) || fabs(d) > 9007199254740992.0) return 0;
    *out = (long long)d;
    return 1;
}

iid_status iid__json_int_opt(const iid_json_t *j, const char *key, long long *out, iid_error_t *err)
{
    const cJSON *v = field(j, key);
    if (!v) return IID_OK;
    if (!as_int(v, out)) return wrong(j, key, "an integer", err);
    return IID_OK;
}

iid_status iid__json_int(const iid_json_t *j, const char *key, long long *out, iid_error_t *err)
{
    if (!field(j, key)) return missing(j, key, err);
    return iid__json_int_opt(j, key, out, err);
}

iid_status iid__json_double_opt(const iid_json_t *j, const char *key, double *out, iid_error_t *err)
{
    const cJSON *v = field(j, key);
    if (!v) return IID_OK;
    if (!cJSON_IsNumber(v)) return wrong(j, key, "a number", err);
    *out = v->valuedouble;
    return IID_OK;
}

iid_status iid__json_double(const iid_json_t *j, const char *key, double *out, iid_error_t *err)
{
    if (!field(j, key)) return missing(j, key, err);
    return iid__json_double_opt(j, key, out, err);
}

iid_status iid__json_string_opt(const iid_json_t *j, const char *key, const char **out, iid_error_t *err)
{
    const cJSON *v = field(j, key);
    if (!v) return IID_OK;
    if (!cJSON_IsString(v)) return wrong(j, key, "a string", err);
    *out = v->valuestring;
    return IID_OK;
}

iid_status iid__json_string(const iid_json_t *j, const char *key, const char **out, iid_error_t *err)
{
    if (!field(j, key)) return missing(j, key, err);
    return iid__json_string_opt(j, key, out, err);
}

iid_status iid__json_bool_opt(const iid_json_t *j, const char *key, int *out, iid_error_t *err)
{
    const cJSON *v = field(j, key);
    if (!v) return IID_OK;
    if (!cJSON_IsBool(v)) return wrong(j, key, "true or false", err);
    *out = cJSON_IsTrue(v);
    return IID_OK;
}

iid_status iid__json_bool(const iid_json_t *j, const char *key, int *out, iid_error_t *err)
{
    if (!field(j, key)) return missing(j, key, err);
    return iid__json_bool_opt(j, key, out, err);
}

iid_status iid__json_int_array(const iid_json_t *j, const char *key, long long *out, int cap, int *n,
                               int allow_scalar, iid_error_t *err)
{
    const cJSON *v = field(j, key);
    *n = 0;
    if (!v) return missing(j, key, err);
    if (allow_scalar && cJSON_IsNumber(v)) {
        if (cap < 1 || !as_int(v, &out[0])) return wrong(j, key, "an integer", err);
        *n = 1;
        return IID_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > cap) return wrong(j, key, "a short array of integers", err);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!as_int(e, &out[*n])) return wrong(j, key, "an array of integers", err);
        (*n)++;
    }
    return IID_OK;
}
