/*
 * log_meta.c - writing and reading the log's sidecar, LOG.json (log_meta.h).
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "batch/log_meta.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io/file.h"

#define META_MAX_BYTES ((size_t)64 << 10)

iid_status iid__log_meta_path(char *buf, size_t cap, const char *log_path, iid_error_t *err)
{
    if (snprintf(buf, cap, "%s.json", log_path) >= (int)cap)
        return iid__fail(err, IID_ERR_RANGE, "%s: path too long", log_path);
    return IID_OK;
}

iid_status iid__log_meta_write(const char *log_path, const char *input_dir, int recursive, iid_error_t *err)
{
    char path[PATH_MAX + 8], real[PATH_MAX];
    IID_TRY(iid__log_meta_path(path, sizeof path, log_path, err));
    if (!realpath(input_dir, real)) return iid__fail(err, IID_ERR_IO, "%s: %s", input_dir, strerror(errno));
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "input", real) && cJSON_AddBoolToObject(o, "recursive", recursive != 0))
        text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: the file ends in a newline */
    iid_status st = iid__file_write_atomic(path, text, n + 1, err);
    free(text);
    return st;
}

iid_status iid__log_meta_read(const char *log_path, char *input, size_t cap, int *recursive, iid_error_t *err)
{
    char path[PATH_MAX + 8];
    IID_TRY(iid__log_meta_path(path, sizeof path, log_path, err));
    if (!iid__is_file(path)) return iid__fail(err, IID_ERR_NOT_FOUND, "%s: no such file", path);
    char *text;
    size_t len;
    IID_TRY(iid__file_read_all(path, META_MAX_BYTES, &text, &len, err));
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(o, "input");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(o, "recursive");
    iid_status st = IID_OK;
    if (!cJSON_IsString(in) || !in->valuestring[0] || (rec && !cJSON_IsBool(rec)))
        st = iid__fail(err, IID_ERR_FORMAT, "%s: expected {\"input\": \"FOLDER\", \"recursive\": true|false}", path);
    else if (snprintf(input, cap, "%s", in->valuestring) >= (int)cap)
        st = iid__fail(err, IID_ERR_RANGE, "%s: the input path is too long", path);
    else *recursive = cJSON_IsTrue(rec);
    cJSON_Delete(o);
    return st;
}
