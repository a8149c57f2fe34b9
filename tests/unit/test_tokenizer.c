/* test_tokenizer.c - the CLIP tokenizers: BPE ranking on a hand-made folder, load
 * errors, and the kit's SDXL vocabularies on the cases that distinguish a faithful
 * implementation (added-token splits, normalisation, truncation, bad input). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "text/clip_tokenizer.h"

static void expect_ids(const iid_clip_tokenizer_t *t, const char *text, const int64_t *want, int n_want)
{
    int64_t *ids;
    int n;
    iid_error_t err;
    if (iid__clip_tokenize(t, text, &ids, &n, &err) != IID_OK) fail_msg("\"%s\": %s", text, err.msg);
    int same = n == n_want;
    for (int i = 0; same && i < n; i++) same = ids[i] == want[i];
    if (!same) {
        fprintf(stderr, "\"%s\": got", text);
        for (int i = 0; i < n; i++) fprintf(stderr, " %lld", (long long)ids[i]);
        fprintf(stderr, "\n");
        fail_msg("\"%s\": %d ids, want %d (or different values)", text, n, n_want);
    }
    free(ids);
}

#define EXPECT(t, text, ...)                                             \
    do {                                                                 \
        static const int64_t w_[] = {__VA_ARGS__};                       \
        expect_ids(t, text, w_, (int)(sizeof w_ / sizeof w_[0]));        \
    } while (0)

/* A folder with a six-token vocabulary and two merges. */
static char *tiny_folder(const char *vocab, const char *config)
{
    char *dir = iid_test_tempdir();
    assert_non_null(dir);
    const char *merges = "#version: 0.2\na b</w>\na b\n";
    free(iid_test_write(dir, "vocab.json", vocab, strlen(vocab)));
    free(iid_test_write(dir, "merges.txt", merges, strlen(merges)));
    free(iid_test_write(dir, "tokenizer_config.json", config, strlen(config)));
    return dir;
}

static const char *tiny_vocab = "{\"a\":0,\"b\":1,\"a</w>\":2,\"b</w>\":3,\"ab</w>\":4,\"ab\":5,"
                                "\"<|startoftext|>\":6,\"<|endoftext|>\":7}";

static void test_tiny_bpe(void **state)
{
    (void)state;
    char *dir = tiny_folder(tiny_vocab, "{\"model_max_length\": 6, \"pad_token\": \"<pad>\"}");
    iid_clip_tokenizer_t *t;
    iid_error_t err;
    assert_int_equal(iid__clip_tokenizer_load(&t, dir, &err), IID_OK);
    assert_int_equal(iid__clip_bos_id(t), 6);
    assert_int_equal(iid__clip_eos_id(t), 7);
    assert_int_equal(iid__clip_unk_id(t), 7);
    assert_int_equal(iid__clip_pad_id(t), 8); /* not in the vocabulary: appended */
    assert_int_equal(iid__clip_max_length(t), 6);
    assert_string_equal(iid__clip_token_str(t, 4), "ab</w>");
    assert_string_equal(iid__clip_token_str(t, 8), "<pad>");
    assert_null(iid__clip_token_str(t, 9));
    assert_null(iid__clip_token_str(t, -1));
    /* "a b</w>" has the lower rank, so it merges before "a b". */
    EXPECT(t, "abab", 5, 4);
    EXPECT(t, "ab", 4);
    EXPECT(t, "b", 3);
    /* Unknown symbols become the unk id; the pad token is an added token, cut out
     * before BPE, so the pieces around it are separate words. */
    EXPECT(t, "c", 7);
    EXPECT(t, "a<pad>b", 2, 8, 3);
    int64_t ids[6];
    assert_int_equal(iid__clip_encode(t, "bbbbbb", 6, ids, &err), IID_OK);
    int64_t want[6] = {6, 1, 1, 1, 1, 7};
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(iid__clip_encode(t, "b", 6, ids, &err), IID_OK);
    int64_t want_pad[6] = {6, 3, 7, 8, 8, 8};
    assert_memory_equal(ids, want_pad, sizeof want_pad);
    assert_int_equal(iid__clip_encode(t, "b", 1, ids, &err), IID_ERR_INVALID);
    iid__clip_tokenizer_free(t);
    iid__clip_tokenizer_free(NULL);
    iid_test_rmtree(dir);
    free(dir);
}

static void test_load_errors(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *t;
    iid_error_t err;
    assert_int_not_equal(iid__clip_tokenizer_load(&t, "/nonexistent/tokenizer", &err), IID_OK);
    assert_null(t);
    assert_non_null(strstr(err.msg, "/nonexistent/tokenizer/vocab.json"));

    char *dir = tiny_folder("{\"a\": \"zero\"}", "{}");
    assert_int_equal(iid__clip_tokenizer_load(&t, dir, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "vocab.json"));
    iid_test_rmtree(dir);
    free(dir);

    dir = tiny_folder("{\"a\": 99999999999}", "{}");
    assert_int_equal(iid__clip_tokenizer_load(&t, dir, &err), IID_ERR_FORMAT);
    iid_test_rmtree(dir);
    free(dir);

    dir = tiny_folder(tiny_vocab, "{\"model_max_length\": 1e30}");
    assert_int_equal(iid__clip_tokenizer_load(&t, dir, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "model_max_length"));
    iid_test_rmtree(dir);
    free(dir);

    dir = tiny_folder(tiny_vocab, "{\"bos_token\": 5}");
    assert_int_equal(iid__clip_tokenizer_load(&t, dir, &err), IID_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "bos_token"));
    iid_test_rmtree(dir);
    free(dir);
}

static iid_clip_tokenizer_t *kit_tokenizer(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "conformance/models/sdxl/%s", name);
    iid_clip_tokenizer_t *t;
    iid_error_t err;
    if (iid__clip_tokenizer_load(&t, iid_test_shared_path(rel), &err) != IID_OK) fail_msg("%s", err.msg);
    return t;
}

static void test_kit_special_tokens(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *t1 = kit_tokenizer("tokenizer"), *t2 = kit_tokenizer("tokenizer_2");
    assert_int_equal(iid__clip_bos_id(t1), 49406);
    assert_int_equal(iid__clip_eos_id(t1), 49407);
    assert_int_equal(iid__clip_pad_id(t1), 49407);
    assert_int_equal(iid__clip_pad_id(t2), 0);
    assert_int_equal(iid__clip_max_length(t2), 77);
    assert_string_equal(iid__clip_token_str(t1, 748), "!!</w>");
    assert_string_equal(iid__clip_token_str(t2, 0), "!");
    /* "!" is tokenizer 2's pad token, so it is split off: id 0 each, no "</w>". */
    EXPECT(t1, "wow!! hi!", 2781, 748, 1883, 256);
    EXPECT(t2, "wow!! hi!", 2781, 0, 0, 1883, 0);
    /* A literal special token is its id, mid-sequence. */
    EXPECT(t1, "a <|endoftext|> b", 320, 49407, 321);
    EXPECT(t2, "a <|endoftext|> b", 320, 49407, 321);
    iid__clip_tokenizer_free(t1);
    iid__clip_tokenizer_free(t2);
}

static void test_kit_normalisation(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *t = kit_tokenizer("tokenizer");
    /* CJK ideographs are spaced apart, so each ends its own word. */
    EXPECT(t, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 37156, 19277, 361, 34002, 508);
    /* Accents are kept (café != cafe); NFC makes e + combining acute equal to é. */
    EXPECT(t, "caf\xc3\xa9 cafe", 15304, 4979);
    EXPECT(t, "e\xcc\x81", 4166);
    EXPECT(t, "\xc3\xa9", 4166);
    /* Tab, no-break space and line separator split words; a control char vanishes. */
    EXPECT(t, "a\tb\x01" "c\xc2\xa0" "d\xe2\x80\xa8" "e", 320, 2162, 323, 324);
    EXPECT(t, "   a   b c  \n ", 320, 321, 322);
    /* Python lower-casing: final sigma, and U+0130 becoming i + U+0307. */
    EXPECT(t, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", 138, 123, 138, 112, 138, 123, 139, 480);
    EXPECT(t, "\xce\xbf\xce\xb4\xce\xbf\xcf\x83", 138, 123, 138, 112, 138, 123, 139, 481);
    EXPECT(t, "\xc4\xb0", 328, 16384);
    EXPECT(t, "it's IT'S", 585, 568, 585, 568);
    iid__clip_tokenizer_free(t);
}

static void test_kit_edges(void **state)
{
    (void)state;
    iid_clip_tokenizer_t *t = kit_tokenizer("tokenizer_2");
    iid_error_t err;
    int64_t *ids;
    int n;
    /* The empty string: no ids, but still an array to free; encoded as BOS EOS pad. */
    assert_int_equal(iid__clip_tokenize(t, "", &ids, &n, &err), IID_OK);
    assert_int_equal(n, 0);
    assert_non_null(ids);
    free(ids);
    int64_t enc[77];
    assert_int_equal(iid__clip_encode(t, "", 77, enc, &err), IID_OK);
    assert_int_equal(enc[0], 49406);
    assert_int_equal(enc[1], 49407);
    assert_int_equal(enc[2], 0);
    assert_int_equal(enc[76], 0);

    /* 100 words: truncation keeps BOS, the first 75 and EOS. */
    char text[301];
    for (int i = 0; i < 100; i++) memcpy(text + 3 * i, "ab ", 3);
    text[300] = '\0';
    assert_int_equal(iid__clip_tokenize(t, text, &ids, &n, &err), IID_OK);
    assert_int_equal(n, 100);
    assert_int_equal(iid__clip_encode(t, text, 77, enc, &err), IID_OK);
    assert_int_equal(enc[0], 49406);
    assert_memory_equal(enc + 1, ids, 75 * sizeof *ids);
    assert_int_equal(enc[76], 49407);
    free(ids);

    /* Invalid UTF-8: a bad continuation, an overlong NUL, a surrogate, a cut
     * sequence. Each is refused with the byte offset. */
    const char *bad[] = {"ok \xc3\x28", "\xc0\x80", "a\xed\xa0\x80", "ok\xe6\x97"};
    const char *where[] = {"byte 3", "byte 0", "byte 1", "byte 2"};
    for (int i = 0; i < 4; i++) {
        ids = (int64_t *)1;
        assert_int_equal(iid__clip_tokenize(t, bad[i], &ids, &n, &err), IID_ERR_INVALID);
        assert_null(ids);
        if (!strstr(err.msg, where[i])) fail_msg("\"%s\" does not name %s", err.msg, where[i]);
        assert_int_equal(iid__clip_encode(t, bad[i], 77, enc, &err), IID_ERR_INVALID);
    }
    iid__clip_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_bpe), cmocka_unit_test(test_load_errors),
        /* These need the kit's vocabularies and skip the rest without them. */
        cmocka_unit_test(test_kit_special_tokens), cmocka_unit_test(test_kit_normalisation),
        cmocka_unit_test(test_kit_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
