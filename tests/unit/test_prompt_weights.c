/* test_prompt_weights.c - the weighted-prompt parser, its chunking, and the demo
 * pipeline's own log of both (golden/pipeline_full.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "io/json.h"
#include "support.h"
#include "text/prompt_weights.h"

typedef struct want_seg {
    const char *text;
    double weight;
} want_seg_t;

static void expect_parse(const char *prompt, const want_seg_t *want, int n_want)
{
    iid_prompt_segment_t *segs;
    int n;
    iid_error_t err;
    assert_int_equal(iid__prompt_parse(prompt, &segs, &n, &err), IID_OK);
    if (n != n_want) fail_msg("\"%s\": %d segments, want %d", prompt, n, n_want);
    for (int i = 0; i < n; i++) {
        if (strcmp(segs[i].text, want[i].text) != 0 || segs[i].weight != want[i].weight)
            fail_msg("\"%s\" segment %d: (\"%s\", %.17g), want (\"%s\", %.17g)", prompt, i, segs[i].text,
                     segs[i].weight, want[i].text, want[i].weight);
    }
    iid__prompt_segments_free(segs, n);
}

#define EXPECT(prompt, ...)                                                  \
    do {                                                                     \
        static const want_seg_t w_[] = {__VA_ARGS__};                        \
        expect_parse(prompt, w_, (int)(sizeof w_ / sizeof w_[0]));           \
    } while (0)

static void test_plain_and_brackets(void **state)
{
    (void)state;
    EXPECT("normal text", {"normal text", 1.0});
    EXPECT("", {"", 1.0});
    EXPECT("an (important) word", {"an ", 1.0}, {"important", 1.1}, {" word", 1.0});
    EXPECT("(a:1.5)", {"a", 1.5});
    EXPECT("(a [b] c)", {"a ", 1.1}, {"b", 1.0}, {" c", 1.1});
    /* Nesting multiplies, in double precision as Python does. */
    EXPECT("((a)) [[b]] (c:1.5) [d:2.0]", {"a", 1.2100000000000002}, {" ", 1.0}, {"b", 0.8264462809917354},
           {" ", 1.0}, {"c", 1.5}, {" ", 1.0}, {"d:2.0", 1 / 1.1});
    EXPECT("((a:0.5):2)", {"a", 1.0});
    EXPECT("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", {"a ", 1.0}, {"house", 1.5730000000000004},
           {" ", 1.1}, {"on", 1.0}, {" a ", 1.1}, {"hill", 0.55}, {", sun, ", 1.1}, {"sky", 1.4641000000000006},
           {".", 1.1});
    /* Equal neighbours merge; unclosed brackets apply to the end. */
    EXPECT("(unnecessary)(parens)", {"unnecessaryparens", 1.1});
    EXPECT("(unbalanced", {"unbalanced", 1.1});
    EXPECT("(a:1.5", {"a:1.5", 1.1});
    EXPECT("(a:-0.5)", {"a", -0.5});
    EXPECT("(a:+.5)", {"a", 0.5});
    EXPECT("(a:1.)", {"a", 1.0});
    /* Arabic-Indic digits are digits to Python's regex and float(). */
    EXPECT("(a:\xd9\xa1.\xd9\xa5)", {"a", 1.5});
}

static void test_escapes_and_stray_syntax(void **state)
{
    (void)state;
    EXPECT("\\(literal\\]", {"(literal]", 1.0});
    EXPECT("\\\\(x)", {"\\", 1.0}, {"x", 1.1});
    /* A backslash before anything else is dropped. */
    EXPECT("a\\b\\", {"ab", 1.0});
    EXPECT(")]:1.2) :", {")]:1.2) :", 1.0});
    EXPECT("caf\xc3\xa9 (\xe6\x97\xa5\xe6\x9c\xac)", {"caf\xc3\xa9 ", 1.0}, {"\xe6\x97\xa5\xe6\x9c\xac", 1.1});
}

static void test_break(void **state)
{
    (void)state;
    EXPECT("x BREAK y", {"x", 1.0}, {"BREAK", -1.0}, {"y", 1.0});
    EXPECT("aBREAK BREAKb (z BREAK w)", {"aBREAK BREAKb ", 1.0}, {"z", 1.1}, {"BREAK", -1.1}, {"w", 1.1});
    EXPECT("BREAK", {"", 1.0}, {"BREAK", -1.0}, {"", 1.0});
}

static void test_invalid(void **state)
{
    (void)state;
    iid_prompt_segment_t *segs;
    int n;
    iid_error_t err;
    assert_int_equal(iid__prompt_parse("(a:1.2.3)", &segs, &n, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "1.2.3"));
    assert_null(segs);
    assert_int_equal(iid__prompt_parse("(a:.)", &segs, &n, &err), IID_ERR_INVALID);
    assert_int_equal(iid__prompt_parse("a \xff b", &segs, &n, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "byte 2"));
    /* Outside brackets the same text is harmless. */
    assert_int_equal(iid__prompt_parse("a:1.2.3)", &segs, &n, &err), IID_OK);
    iid__prompt_segments_free(segs, n);
}

static iid_clip_tokenizer_t *load_tokenizer(void)
{
    iid_clip_tokenizer_t *tok;
    iid_error_t err;
    if (iid__clip_tokenizer_load(&tok, iid_test_shared_path("conformance/models/sdxl/tokenizer"), &err) != IID_OK)
        fail_msg("%s", err.msg);
    return tok;
}

static void test_chunking(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *tok = load_tokenizer();
    /* "a " is one token: 150 tokens = two full chunks and a BOS+EOS chunk. */
    char *text = malloc(2 * 150 + 1);
    for (int i = 0; i < 150; i++) memcpy(text + 2 * i, "a ", 2);
    text[300] = '\0';
    iid_weighted_prompt_t pos, neg;
    iid_error_t err;
    assert_int_equal(iid__weighted_prompts(tok, text, "(b:1.2) c", &pos, &neg, &err), IID_OK);
    assert_int_equal(pos.n_chunks, 3);
    assert_int_equal(neg.n_chunks, 3);
    int want_n[3] = {77, 77, 2};
    for (int c = 0; c < 3; c++) {
        assert_int_equal(pos.chunks[c].n, want_n[c]);
        assert_int_equal(neg.chunks[c].n, want_n[c]);
        assert_int_equal(pos.chunks[c].ids[0], 49406);
        assert_int_equal(pos.chunks[c].ids[want_n[c] - 1], 49407);
        assert_true(pos.chunks[c].weights[0] == 1.0f);
    }
    assert_int_equal(pos.chunks[1].ids[75], 320); /* "a</w>" */
    /* The negative: b (weight 1.2 in float16), c, then EOS padding of weight 1. */
    assert_true(neg.chunks[0].weights[1] == 1.2001953125f);
    assert_true(neg.chunks[0].weights[2] == 1.0f);
    assert_int_equal(neg.chunks[0].ids[3], 49407);
    assert_int_equal(neg.chunks[1].ids[1], 49407);
    iid__weighted_prompt_free(&pos);
    iid__weighted_prompt_free(&neg);

    /* 80 tokens: the last chunk is not padded. Empty prompts: one BOS+EOS chunk. */
    text[160] = '\0';
    assert_int_equal(iid__weighted_prompts(tok, text, "", &pos, &neg, &err), IID_OK);
    assert_int_equal(pos.n_chunks, 2);
    assert_int_equal(pos.chunks[1].n, 7);
    iid__weighted_prompt_free(&pos);
    iid__weighted_prompt_free(&neg);
    assert_int_equal(iid__weighted_prompts(tok, "", "", &pos, &neg, &err), IID_OK);
    assert_int_equal(pos.n_chunks, 1);
    assert_int_equal(pos.chunks[0].n, 2);
    iid__weighted_prompt_free(&pos);
    iid__weighted_prompt_free(&neg);
    assert_int_equal(iid__weighted_prompts(tok, "(a:x1)", "(b:1..2)", &pos, &neg, &err), IID_ERR_INVALID);
    assert_int_equal(pos.n_chunks, 0);
    iid__weighted_prompt_free(&pos); /* safe on the emptied struct */
    free(text);
    iid__clip_tokenizer_free(tok);
}

/* One logged group against our chunks: ids exactly, weights as float16. The
 * reference's text_encoder_2 weight lists may run past the tokens (it pads them
 * from the wrong list); those extra entries must be 1, which the encoder skips. */
static void check_group(const char *run, int g, const cJSON *group, const iid_weighted_prompt_t *w)
{
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(group, "token_groups");
    const cJSON *wg = cJSON_GetObjectItemCaseSensitive(group, "weight_groups");
    if (cJSON_GetArraySize(tg) != w->n_chunks || cJSON_GetArraySize(wg) != w->n_chunks)
        fail_msg("%s group %d: %d chunks logged, we made %d", run, g, cJSON_GetArraySize(tg), w->n_chunks);
    for (int c = 0; c < w->n_chunks; c++) {
        const cJSON *ids = cJSON_GetArrayItem(tg, c), *ws = cJSON_GetArrayItem(wg, c);
        const iid_prompt_chunk_t *ch = &w->chunks[c];
        if (cJSON_GetArraySize(ids) != ch->n || cJSON_GetArraySize(ws) < ch->n)
            fail_msg("%s group %d chunk %d: %d ids / %d weights logged, we have %d", run, g, c,
                     cJSON_GetArraySize(ids), cJSON_GetArraySize(ws), ch->n);
        for (int j = 0; j < cJSON_GetArraySize(ws); j++) {
            double lw = cJSON_GetArrayItem(ws, j)->valuedouble;
            if (j >= ch->n) {
                if (lw != 1.0) fail_msg("%s group %d chunk %d: extra weight %d is %g", run, g, c, j, lw);
                continue;
            }
            long long id = (long long)cJSON_GetArrayItem(ids, j)->valuedouble;
            float want = iid__f16_to_f32(iid__f32_to_f16((float)lw));
            if (id != ch->ids[j] || want != ch->weights[j])
                fail_msg("%s group %d chunk %d token %d: (%lld, %.10g) logged, we have (%lld, %.10g)", run, g, c, j,
                         id, want, (long long)ch->ids[j], ch->weights[j]);
        }
    }
}

static void test_pipeline_full_log(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *tok = load_tokenizer();
    iid_json_t j;
    iid_error_t err;
    if (iid__json_load(&j, iid_test_shared_path("conformance/golden/pipeline_full.json"), &err) != IID_OK)
        fail_msg("%s", err.msg);
    int runs = 0, parses = 0, groups = 0;
    for (const cJSON *run = j.root->child; run; run = run->next) {
        const cJSON *log = cJSON_GetObjectItemCaseSensitive(run, "long_prompt_weight_log_fp32_run");
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(run, "prompt");
        const cJSON *negative = cJSON_GetObjectItemCaseSensitive(run, "negative_prompt");
        if (!log || !cJSON_IsString(prompt) || !cJSON_IsString(negative)) continue;
        runs++;
        const cJSON *parsed = cJSON_GetObjectItemCaseSensitive(log, "parse_prompt_attention");
        for (const cJSON *p = parsed ? parsed->child : NULL; p; p = p->next, parses++) {
            const cJSON *segs = cJSON_GetObjectItemCaseSensitive(p, "segments");
            int n_want = cJSON_GetArraySize(segs);
            want_seg_t *want = calloc((size_t)n_want, sizeof *want);
            for (int i = 0; i < n_want; i++) {
                want[i].text = cJSON_GetArrayItem(cJSON_GetArrayItem(segs, i), 0)->valuestring;
                want[i].weight = cJSON_GetArrayItem(cJSON_GetArrayItem(segs, i), 1)->valuedouble;
            }
            expect_parse(cJSON_GetObjectItemCaseSensitive(p, "text")->valuestring, want, n_want);
            free(want);
        }
        iid_weighted_prompt_t pos, neg;
        assert_int_equal(iid__weighted_prompts(tok, prompt->valuestring, negative->valuestring, &pos, &neg, &err),
                         IID_OK);
        /* The order list names each group "prompt ..." or "negative ...". */
        const cJSON *order = cJSON_GetObjectItemCaseSensitive(log, "group_tokens_and_weights_order");
        const cJSON *grp = cJSON_GetObjectItemCaseSensitive(log, "group_tokens_and_weights");
        assert_int_equal(cJSON_GetArraySize(order), cJSON_GetArraySize(grp));
        for (int g = 0; g < cJSON_GetArraySize(grp); g++, groups++) {
            const char *what = cJSON_GetArrayItem(order, g)->valuestring;
            int is_neg = strncmp(what, "negative", 8) == 0;
            assert_true(is_neg || strncmp(what, "prompt", 6) == 0);
            check_group(run->string, g, cJSON_GetArrayItem(grp, g), is_neg ? &neg : &pos);
        }
        iid__weighted_prompt_free(&pos);
        iid__weighted_prompt_free(&neg);
    }
    printf("pipeline_full.json: %d runs, %d parsed prompts, %d token groups checked\n", runs, parses, groups);
    assert_true(runs > 0 && parses > 0 && groups > 0);
    iid__json_free(&j);
    iid__clip_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_brackets), cmocka_unit_test(test_escapes_and_stray_syntax),
        cmocka_unit_test(test_break), cmocka_unit_test(test_invalid),
        /* These need the kit's tokenizer and skip the rest without it. */
        cmocka_unit_test(test_chunking), cmocka_unit_test(test_pipeline_full_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
