/*
 * stage_text_encoders.c - conformance stage 'text_encoders' (kit README, stage b,
 * and the weighted-prompt text of stage h).
 *
 * 1. Per encoder: every case `<case>.te<k>.input_ids` of text_encoders.safetensors
 *    runs through models/sdxl/text_encoder (k = 1) or text_encoder_2 (k = 2); the
 *    outputs the golden file holds for that case (embeddings_output,
 *    hidden_penultimate, last_hidden_state, text_embeds) are compared.
 * 2. encode_prompt: every `encode_prompt.<prompt>.<mode>.prompt_embeds`; the
 *    prompt's ids are `<prompt>.te{1,2}.input_ids`, the negative is chosen by the
 *    mode as the README defines it: neg_none = None (zeros when model_index.json's
 *    force_zeros_for_empty_prompt holds), neg_empty_string = the case whose text in
 *    text_encoders.json is "", neg_text = the case `negative` of that JSON.
 * 3. Weighted prompts: every run of golden/pipeline_full.json, with the token and
 *    weight chunks it logs for the prompt and the negative, against
 *    `cond.prompt_embeds` (batch 0 negative, 1 prompt) and `cond.text_embeds` of
 *    golden/<run>.safetensors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "model_io.h"
#include "io/json.h"
#include "models/clip_text.h"
#include "pipeline/encode_prompt.h"

#define STAGE "text_encoders"

typedef struct te_stage {
    iid_clip_text_t te[2];
    int force_zeros;
    iid_json_t json; /* text_encoders.json, or root NULL when absent */
    int which;       /* encoder of the current case walk: 0 or 1 */
} te_stage_t;

/* A malloc'd int64 copy of an integer tensor of shape (B, T), recorded as used. */
static int64_t *read_ids(const conf_ctx_t *c, const iid_st_tensor_t *t, int *B, int *T)
{
    conf_used(c, t);
    if (!t || t->ndim != 2 || (t->dtype != IID_DTYPE_I64 && t->dtype != IID_DTYPE_I32)) return NULL;
    size_t n = (size_t)iid__st_numel(t);
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) return NULL;
    const unsigned char *p = t->data;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == IID_DTYPE_I64) memcpy(&ids[i], p + 8 * i, 8);
        else {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            ids[i] = v;
        }
    }
    *B = (int)t->shape[0];
    *T = (int)t->shape[1];
    return ids;
}

static const iid_st_tensor_t *findf(const iid_safetensors_t *st, const char *a, const char *b)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", a, b);
    return iid__st_find(st, name);
}

/* ---- 1. each encoder on its own ----------------------------------------------- */

static void encoder_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    te_stage_t *ts = user;
    const iid_clip_text_t *m = &ts->te[ts->which];
    char pre[256];
    snprintf(pre, sizeof pre, "%s.te%d.", kase, ts->which + 1);
    int B, T;
    int64_t *ids = read_ids(c, findf(st, pre, "input_ids"), &B, &T);
    if (!ids) {
        conf_fail(c, STAGE, kase, "input_ids", "'%sinput_ids' is not a 2-D integer tensor", pre);
        return;
    }
    const size_t C = (size_t)m->cfg.hidden, n = (size_t)B * T * C;
    float *emb = malloc(n * sizeof *emb), *hid = malloc(n * sizeof *hid), *last = malloc(n * sizeof *last);
    float *proj = m->proj.m.data ? malloc((size_t)B * m->cfg.projection_dim * sizeof *proj) : NULL;
    const int64_t btc[3] = {B, T, (int64_t)C};
    iid_clip_outputs_t o = {.embeddings = iid__tensor_wrap(NULL, emb, 3, btc), .hidden_index = -2,
                            .hidden = iid__tensor_wrap(NULL, hid, 3, btc), .last_hidden = iid__tensor_wrap(NULL, last, 3, btc),
                            .text_embeds = iid__tensor_wrap(NULL, proj, 2, (int64_t[]){B, m->cfg.projection_dim})};
    iid_error_t err;
    iid_error_clear(&err);
    if (!emb || !hid || !last || (m->proj.m.data && !proj)) {
        conf_fail(c, STAGE, kase, "-", "out of memory");
    } else if (iid__clip_text_forward(m, ids, B, T, &o, &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "-", "%s", err.msg);
    } else {
        char name[512];
        const char *outs[] = {"embeddings_output", "hidden_penultimate", "last_hidden_state"};
        const float *got[] = {emb, hid, last};
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "te%d.%s", ts->which + 1, outs[k]);
            const iid_st_tensor_t *ref = findf(st, pre, outs[k]);
            if (ref) conf_check_f32(c, STAGE, kase, name, got[k], n, ref, CONF_TOL_MODEL);
        }
        const iid_st_tensor_t *ref = findf(st, pre, "text_embeds");
        snprintf(name, sizeof name, "te%d.text_embeds", ts->which + 1);
        if (ref && !proj) conf_fail(c, STAGE, kase, name, "golden has text_embeds but the model has no projection");
        else if (ref) conf_check_f32(c, STAGE, kase, name, proj, (size_t)B * m->cfg.projection_dim, ref, CONF_TOL_MODEL);
    }
    free(ids), free(emb), free(hid), free(last), free(proj);
}

/* ---- 2. encode_prompt ----------------------------------------------------------- */

/* The text_encoders.json key naming the negative of a mode; "" for None, NULL when
 * the mode is unknown or the JSON lacks the entry. */
static const char *negative_case(const te_stage_t *ts, const char *mode)
{
    if (strcmp(mode, "neg_none") == 0) return "";
    if (!ts->json.root) return NULL;
    if (strcmp(mode, "neg_text") == 0)
        return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ts->json.root, "negative")) ? "negative" : NULL;
    if (strcmp(mode, "neg_empty_string") == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, ts->json.root)
        {
            if (cJSON_IsString(e) && e->valuestring[0] == '\0') return e->string;
        }
    }
    return NULL;
}

static void prompt_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user)
{
    te_stage_t *ts = user;
    static const char head[] = "encode_prompt.";
    if (strncmp(kase, head, sizeof head - 1) != 0) return;
    const char *rest = kase + sizeof head - 1;
    const char *dot = strrchr(rest, '.');
    if (!dot || dot == rest) {
        conf_fail(c, STAGE, kase, "-", "expected encode_prompt.<prompt>.<mode>");
        return;
    }
    char prompt[256];
    snprintf(prompt, sizeof prompt, "%.*s", (int)(dot - rest), rest);
    const char *mode = dot + 1;
    const char *neg = negative_case(ts, mode);
    if (!neg) {
        conf_skip(c, STAGE, kase, "-", "unknown mode '%s' or its negative is not in text_encoders.json", mode);
        return;
    }
    char pre[300];
    int B, T, B2, T2, nB1 = 0, nT1 = 0, nB2 = 0, nT2 = 0;
    snprintf(pre, sizeof pre, "%s.te1.", prompt);
    int64_t *ids1 = read_ids(c, findf(st, pre, "input_ids"), &B, &T);
    snprintf(pre, sizeof pre, "%s.te2.", prompt);
    int64_t *ids2 = read_ids(c, findf(st, pre, "input_ids"), &B2, &T2);
    int64_t *nids1 = NULL, *nids2 = NULL;
    if (*neg) {
        snprintf(pre, sizeof pre, "%s.te1.", neg);
        nids1 = read_ids(c, findf(st, pre, "input_ids"), &nB1, &nT1);
        snprintf(pre, sizeof pre, "%s.te2.", neg);
        nids2 = read_ids(c, findf(st, pre, "input_ids"), &nB2, &nT2);
    }
    iid_prompt_embeds_t p = {0}, n = {0};
    iid_error_t err;
    iid_error_clear(&err);
    if (!ids1 || !ids2 || B != 1 || B2 != 1 || T2 != T || (*neg && (!nids1 || !nids2 || nT1 != T || nT2 != T))) {
        conf_fail(c, STAGE, kase, "-", "the prompt or negative ids are missing or not (1, %d)", T);
    } else if (iid__encode_prompt(&ts->te[0], &ts->te[1], ids1, ids2, nids1, nids2, T, ts->force_zeros, &p, &n,
                                  &err) != IID_OK) {
        conf_fail(c, STAGE, kase, "-", "%s", err.msg);
    } else {
        const char *outs[] = {"prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds",
                              "negative_pooled_prompt_embeds"};
        const float *got[] = {p.embeds, n.embeds, p.pooled, n.pooled};
        size_t cnt[] = {(size_t)p.tokens * p.dim, (size_t)n.tokens * n.dim, (size_t)p.pooled_dim,
                        (size_t)n.pooled_dim};
        for (int k = 0; k < 4; k++) {
            char dotted[300];
            snprintf(dotted, sizeof dotted, "%s.", kase);
            conf_check_f32(c, STAGE, kase, outs[k], got[k], cnt[k], findf(st, dotted, outs[k]), CONF_TOL_MODEL);
        }
    }
    iid__prompt_embeds_free(&p);
    iid__prompt_embeds_free(&n);
    free(ids1), free(ids2), free(nids1), free(nids2);
}

/* ---- 3. weighted prompts of the demo pipeline ------------------------------------ */

/* One logged prompt: its token_groups / weight_groups as chunks. Returns the
 * number of chunks (0 on a malformed entry); the caller frees with free_chunks. */
static int parse_chunks(const cJSON *group, iid_prompt_chunk_t **out)
{
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(group, "token_groups");
    const cJSON *wg = cJSON_GetObjectItemCaseSensitive(group, "weight_groups");
    int n = cJSON_GetArraySize(tg);
    if (!cJSON_IsArray(tg) || !cJSON_IsArray(wg) || n <= 0 || cJSON_GetArraySize(wg) != n) return 0;
    iid_prompt_chunk_t *ch = calloc((size_t)n, sizeof *ch);
    if (!ch) return 0;
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(tg, i), *w = cJSON_GetArrayItem(wg, i);
        int len = cJSON_GetArraySize(t);
        int64_t *ids = calloc((size_t)(len ? len : 1), sizeof *ids);
        float *ws = calloc((size_t)(len ? len : 1), sizeof *ws);
        ch[i].ids = ids;
        ch[i].weights = ws;
        ch[i].n = len;
        if (!ids || !ws || cJSON_GetArraySize(w) != len) goto bad;
        for (int j = 0; j < len; j++) {
            const cJSON *tj = cJSON_GetArrayItem(t, j), *wj = cJSON_GetArrayItem(w, j);
            if (!cJSON_IsNumber(tj) || !cJSON_IsNumber(wj)) goto bad;
            ids[j] = (int64_t)tj->valuedouble;
            ws[j] = (float)wj->valuedouble;
        }
    }
    *out = ch;
    return n;
bad:
    for (int i = 0; i < n; i++) free((void *)ch[i].ids), free((void *)ch[i].weights);
    free(ch);
    return 0;
}

static void free_chunks(iid_prompt_chunk_t *ch, int n)
{
    for (int i = 0; i < n; i++) free((void *)ch[i].ids), free((void *)ch[i].weights);
    free(ch);
}

/* The logged group whose label in group_tokens_and_weights_order starts with `what`. */
static const cJSON *find_group(const cJSON *log, const char *what)
{
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(log, "group_tokens_and_weights_order");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(log, "group_tokens_and_weights");
    for (int i = 0; i < cJSON_GetArraySize(order); i++) {
        const cJSON *o = cJSON_GetArrayItem(order, i);
        if (cJSON_IsString(o) && strncmp(o->valuestring, what, strlen(what)) == 0) return cJSON_GetArrayItem(groups, i);
    }
    return NULL;
}

static void weighted_run(conf_ctx_t *c, te_stage_t *ts, const char *run, const cJSON *entry)
{
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(entry, "long_prompt_weight_log_fp32_run");
    if (!log) return; /* not a weighted-prompt run */
    char file[512];
    snprintf(file, sizeof file, "%s.safetensors", run);
    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, file, &st) != 0) return;
    iid_prompt_chunk_t *pc = NULL, *nc = NULL;
    const cJSON *pg = find_group(log, "prompt"), *ng = find_group(log, "negative");
    int np = pg ? parse_chunks(pg, &pc) : 0, nn = ng ? parse_chunks(ng, &nc) : 0;
    iid_prompt_embeds_t p = {0}, n = {0};
    iid_error_t err;
    iid_error_clear(&err);
    if (!np || !nn) {
        conf_fail(c, STAGE, run, "-", "pipeline_full.json: no readable prompt/negative token and weight groups");
    } else if (iid__encode_prompt_weighted(&ts->te[0], &ts->te[1], nc, nn, &n, &err) != IID_OK ||
               iid__encode_prompt_weighted(&ts->te[0], &ts->te[1], pc, np, &p, &err) != IID_OK) {
        conf_fail(c, STAGE, run, "-", "%s", err.msg);
    } else if (p.tokens != n.tokens) {
        conf_fail(c, STAGE, run, "-", "prompt has %d tokens, negative %d", p.tokens, n.tokens);
    } else {
        /* (2, T, D) and (2, P): batch 0 the negative, 1 the prompt. */
        size_t ne = (size_t)p.tokens * p.dim, npd = (size_t)p.pooled_dim;
        float *emb = malloc(2 * ne * sizeof *emb), *pool = malloc(2 * npd * sizeof *pool);
        if (!emb || !pool) conf_fail(c, STAGE, run, "-", "out of memory");
        else {
            memcpy(emb, n.embeds, ne * sizeof *emb);
            memcpy(emb + ne, p.embeds, ne * sizeof *emb);
            memcpy(pool, n.pooled, npd * sizeof *pool);
            memcpy(pool + npd, p.pooled, npd * sizeof *pool);
            conf_check_f32(c, STAGE, run, "cond.prompt_embeds", emb, 2 * ne, iid__st_find(&st, "cond.prompt_embeds"),
                           CONF_TOL_MODEL);
            conf_check_f32(c, STAGE, run, "cond.text_embeds", pool, 2 * npd, iid__st_find(&st, "cond.text_embeds"),
                           CONF_TOL_MODEL);
        }
        free(emb), free(pool);
    }
    iid__prompt_embeds_free(&p);
    iid__prompt_embeds_free(&n);
    if (pc) free_chunks(pc, np);
    if (nc) free_chunks(nc, nn);
    conf_close(c, &st);
}

static void weighted_runs(conf_ctx_t *c, te_stage_t *ts)
{
    iid_json_t j;
    iid_error_t err;
    if (conf_load_json(c, "golden/pipeline_full.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "weighted", "-", "%s", err.msg);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j.root)
    {
        if (cJSON_IsObject(e)) weighted_run(c, ts, e->string, e);
    }
    iid__json_free(&j);
}

/* ---- the stage ----------------------------------------------------------------- */

void stage_text_encoders(conf_ctx_t *c)
{
    te_stage_t ts;
    memset(&ts, 0, sizeof ts);
    char path[4096];
    iid_error_t err;
    iid_error_clear(&err);
    const char *dirs[] = {"models/sdxl/text_encoder", "models/sdxl/text_encoder_2"};
    iid_sdxl_source_t src;
    for (int k = 0; k < 2; k++)
        if (conf_sdxl_source(c, &src, &err) != IID_OK || iid__load_text_encoder(&ts.te[k], &src, NULL, k, &err) != IID_OK) {
            conf_fail(c, STAGE, "-", dirs[k], "%s", err.msg);
            goto out;
        }
    if (iid__sdxl_force_zeros(conf_path(c, "models/sdxl", path, sizeof path), &ts.force_zeros, &err) != IID_OK) {
        conf_fail(c, STAGE, "-", "model_index.json", "%s", err.msg);
        goto out;
    }
    if (conf_load_json(c, "golden/text_encoders.json", &ts.json, &err) != IID_OK)
        ts.json.root = NULL; /* modes that need it are then skipped with a reason */

    iid_safetensors_t st;
    if (conf_open_golden(c, STAGE, "text_encoders.safetensors", &st) == 0) {
        ts.which = 0;
        conf_for_each_case(c, &st, ".te1.input_ids", encoder_case, &ts);
        ts.which = 1;
        conf_for_each_case(c, &st, ".te2.input_ids", encoder_case, &ts);
        conf_for_each_case(c, &st, ".prompt_embeds", prompt_case, &ts);
        conf_close(c, &st);
    }
    weighted_runs(c, &ts);
out:
    iid__json_free(&ts.json);
    iid__clip_text_free(&ts.te[0]);
    iid__clip_text_free(&ts.te[1]);
}
