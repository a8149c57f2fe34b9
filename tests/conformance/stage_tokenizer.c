/*
 * stage_tokenizer.c - conformance stage 'tokenizer': both SDXL tokenizers against
 * golden/tokenizer.{json,safetensors}.
 *
 * Tokenizers are discovered from the safetensors file's "<name>.input_ids"
 * tensors ([n_prompts, L], rows in the order of the JSON's "cases") and loaded from
 * <kit>/models/sdxl/<name>. For every case and tokenizer three lines are printed:
 * input_ids (BOS + truncated ids + EOS, padded to L, against the tensor row),
 * untruncated_ids and tokens (the token strings of the untruncated ids), both
 * against the case's JSON entry for that tokenizer. When the file holds
 * "<name>.attention_mask" (unused by SDXL) it is checked too: 1 over BOS, the
 * kept tokens and EOS, 0 over the padding, which is the length we kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "io/json.h"
#include "text/clip_tokenizer.h"

#define STAGE "tokenizer"
#define MAX_TOKENIZERS 8

typedef struct names {
    char *name[MAX_TOKENIZERS];
    int n;
} names_t;

static void collect(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    names_t *names = user;
    if (names->n < MAX_TOKENIZERS) names->name[names->n++] = strdup(kase);
}

/* A 1-D int64 tensor view of n values, for conf_check_int. */
static iid_st_tensor_t int_view(const int64_t *data, size_t n)
{
    iid_st_tensor_t v;
    memset(&v, 0, sizeof v);
    v.name = "view";
    v.dtype = IID_DTYPE_I64;
    v.ndim = 1;
    v.shape[0] = (int64_t)n;
    v.data = data;
    v.nbytes = n * sizeof *data;
    return v;
}

/* A JSON integer array as malloc'd int64 values (NULL when not an int array). */
static int64_t *json_ids(const cJSON *arr, size_t *n)
{
    *n = 0;
    if (!cJSON_IsArray(arr)) return NULL;
    size_t count = (size_t)cJSON_GetArraySize(arr);
    int64_t *ids = malloc((count ? count : 1) * sizeof *ids);
    if (!ids) return NULL;
    for (const cJSON *e = arr->child; e; e = e->next) {
        if (!cJSON_IsNumber(e)) {
            free(ids);
            return NULL;
        }
        ids[(*n)++] = (int64_t)e->valuedouble;
    }
    return ids;
}

static void check_tokens(conf_ctx_t *c, const char *kase, const iid_clip_tokenizer_t *tok, const int64_t *ids,
                         size_t n, const cJSON *want)
{
    if (!cJSON_IsArray(want) || (size_t)cJSON_GetArraySize(want) != n) {
        conf_fail(c, STAGE, kase, "tokens", "golden has %d tokens, we have %zu",
                  cJSON_IsArray(want) ? cJSON_GetArraySize(want) : -1, n);
        return;
    }
    size_t i = 0;
    for (const cJSON *e = want->child; e; e = e->next, i++) {
        const char *got = iid__clip_token_str(tok, ids[i]);
        if (!cJSON_IsString(e) || !got || strcmp(got, e->valuestring) != 0) {
            conf_fail(c, STAGE, kase, "tokens", "token %zu: got \"%s\", want \"%s\"", i, got ? got : "(none)",
                      cJSON_IsString(e) ? e->valuestring : "(not a string)");
            return;
        }
    }
    printf("PASS %s %s tokens count=%zu\n", STAGE, kase, n);
    c->passed++;
}

/* Row `index` of the golden mask against 1 for the first `kept` of len positions. */
static void check_mask(conf_ctx_t *c, const char *kase, const iid_st_tensor_t *mask, int index, int64_t len,
                       int64_t kept)
{
    int64_t *want = malloc((size_t)len * sizeof *want);
    if (!want) return;
    for (int64_t i = 0; i < len; i++) want[i] = i < kept;
    iid_st_tensor_t row = int_view((const int64_t *)mask->data + (size_t)index * (size_t)len, (size_t)len);
    conf_check_int(c, STAGE, kase, "attention_mask", want, (size_t)len, &row);
    free(want);
}

static void run_case(conf_ctx_t *c, int index, const cJSON *kase_json, const char *name,
                     const iid_clip_tokenizer_t *tok, const iid_st_tensor_t *golden, const iid_st_tensor_t *mask)
{
    char kase[256];
    snprintf(kase, sizeof kase, "case%d.%s", index, name);
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(kase_json, "prompt");
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(kase_json, name);
    if (!cJSON_IsString(prompt) || !cJSON_IsObject(entry)) {
        conf_fail(c, STAGE, kase, "-", "tokenizer.json case has no prompt string or no \"%s\" entry", name);
        return;
    }
    iid_error_t err;
    iid_error_clear(&err);

    int64_t len = golden->shape[1];
    int64_t *padded = malloc((size_t)len * sizeof *padded);
    if (!padded || iid__clip_encode(tok, prompt->valuestring, (int)len, padded, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "input_ids", "%s", padded ? err.msg : "out of memory");
    } else {
        iid_st_tensor_t row = int_view((const int64_t *)golden->data + (size_t)index * (size_t)len, (size_t)len);
        conf_check_int(c, STAGE, kase, "input_ids", padded, (size_t)len, &row);
    }
    free(padded);

    int64_t *ids = NULL;
    int n = 0;
    if (iid__clip_tokenize(tok, prompt->valuestring, &ids, &n, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "untruncated_ids", "%s", err.msg);
        return;
    }
    if (mask) check_mask(c, kase, mask, index, len, (int64_t)n + 2 < len ? (int64_t)n + 2 : len);
    int64_t *full = malloc(((size_t)n + 2) * sizeof *full);
    size_t n_want;
    int64_t *want = json_ids(cJSON_GetObjectItemCaseSensitive(entry, "untruncated_ids"), &n_want);
    if (!full || !want) {
        conf_fail(c, STAGE, kase, "untruncated_ids", "golden untruncated_ids missing or not integers");
    } else {
        full[0] = iid__clip_bos_id(tok);
        memcpy(full + 1, ids, (size_t)n * sizeof *ids);
        full[n + 1] = iid__clip_eos_id(tok);
        iid_st_tensor_t ref = int_view(want, n_want);
        conf_check_int(c, STAGE, kase, "untruncated_ids", full, (size_t)n + 2, &ref);
        check_tokens(c, kase, tok, full, (size_t)n + 2, cJSON_GetObjectItemCaseSensitive(entry, "tokens"));
    }
    free(want);
    free(full);
    free(ids);
}

void stage_tokenizer(conf_ctx_t *c)
{
    char path[4096];
    iid_json_t j;
    iid_error_t err;
    iid_error_clear(&err);
    if (conf_load_json(c, "golden/tokenizer.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        return;
    }
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "tokenizer.safetensors", &st) != 0) {
        iid__json_free(&j);
        return;
    }
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(j.root, "cases");
    names_t names = {{0}, 0};
    conf_for_each_case(c, &st, ".input_ids", collect, &names);
    if (!cJSON_IsArray(cases) || names.n == 0)
        conf_fail(c, STAGE, "-", "-", "tokenizer.json has no \"cases\" array or tokenizer.safetensors no *.input_ids");
    int n_cases = cJSON_IsArray(cases) ? cJSON_GetArraySize(cases) : 0;
    for (int k = 0; k < names.n; k++) {
        const iid_st_tensor_t *golden = NULL;
        char tname[512], rel[512];
        snprintf(tname, sizeof tname, "%s.input_ids", names.name[k]);
        golden = iid__st_find(&st, tname);
        snprintf(tname, sizeof tname, "%s.attention_mask", names.name[k]);
        const iid_st_tensor_t *mask = iid__st_find(&st, tname);
        if (mask && (mask->dtype != IID_DTYPE_I64 || mask->ndim != 2 || golden == NULL ||
                     mask->shape[0] != golden->shape[0] || mask->shape[1] != golden->shape[1])) {
            conf_fail(c, STAGE, names.name[k], "attention_mask", "expected an int64 tensor shaped as input_ids");
            mask = NULL;
        }
        if (!golden || golden->dtype != IID_DTYPE_I64 || golden->ndim != 2 || golden->shape[0] != n_cases ||
            golden->shape[1] < 2) {
            conf_fail(c, STAGE, names.name[k], "input_ids", "expected an int64 [%d, L] tensor %s", n_cases, tname);
            continue;
        }
        snprintf(rel, sizeof rel, "models/sdxl/%s", names.name[k]);
        iid_clip_tokenizer_t *tok;
        if (iid__clip_tokenizer_load(&tok, conf_path(c, rel, path, sizeof path), &err) != IID_OK) {
            conf_fail(c, STAGE, names.name[k], "-", "%s", err.msg);
            continue;
        }
        int i = 0;
        for (const cJSON *e = cases->child; e; e = e->next, i++) run_case(c, i, e, names.name[k], tok, golden, mask);
        /* The rows went through views of these tensors: record the tensors themselves. */
        conf_used(c, golden);
        conf_used(c, mask);
        iid__clip_tokenizer_free(tok);
    }
    for (int k = 0; k < names.n; k++) free(names.name[k]);
    conf_close(c, &st);
    iid__json_free(&j);
}
