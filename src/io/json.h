/*
 * json.h - reading model config.json files with cJSON, with errors that name the
 * file and the field.
 *
 * cJSON (Debian's libcjson) was chosen for being small, C89, and fuzzed upstream;
 * we only read configs, so its mutable-tree API is all we need.
 */
#ifndef IID_IO_JSON_H
#define IID_IO_JSON_H

#include <cjson/cJSON.h>

#include "core/status.h"

typedef struct iid_json {
    char *path;  /* for messages */
    cJSON *root;
} iid_json_t;

/* Parse a JSON file (at most 64 MiB). */
iid_status iid__json_load(iid_json_t *j, const char *path, iid_error_t *err);
/* Parse a buffer; label names it in errors. */
iid_status iid__json_parse(iid_json_t *j, const char *text, size_t len, const char *label, iid_error_t *err);
void iid__json_free(iid_json_t *j);

/* Required fields of the root object (or of `obj` for the _in variants). */
iid_status iid__json_int(const iid_json_t *j, const char *key, long long *out, iid_error_t *err);
iid_status iid__json_double(const iid_json_t *j, const char *key, double *out, iid_error_t *err);
iid_status iid__json_string(const iid_json_t *j, const char *key, const char **out, iid_error_t *err);
iid_status iid__json_bool(const iid_json_t *j, const char *key, int *out, iid_error_t *err);
/* An integer array of at most cap entries; *n receives its length. A scalar
 * integer is accepted as an array of one when allow_scalar is set. */
iid_status iid__json_int_array(const iid_json_t *j, const char *key, long long *out, int cap, int *n,
                               int allow_scalar, iid_error_t *err);

/* Optional variants: leave *out unchanged and return IID_OK when the key is absent
 * or null; a present value of the wrong type is still an error. */
iid_status iid__json_int_opt(const iid_json_t *j, const char *key, long long *out, iid_error_t *err);
iid_status iid__json_double_opt(const iid_json_t *j, const char *key, double *out, iid_error_t *err);
iid_status iid__json_string_opt(const iid_json_t *j, const char *key, const char **out, iid_error_t *err);
iid_status iid__json_bool_opt(const iid_json_t *j, const char *key, int *out, iid_error_t *err);

#endif
