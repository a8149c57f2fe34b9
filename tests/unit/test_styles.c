/* test_styles.c - the built-in style table, styles files, apply_style and slugs. */
#include <stdlib.h>
#include <string.h>

#include "text/styles.h"
#include "support.h"

static const char *const art_styles[20] = {
    "Art Nouveau", "Cubism", "Minimalism", "Baroque", "Expressionism", "Digital Glitch", "Psychedelic",
    "Victorian", "Graffiti", "Ukiyo-e", "Retro Futurism", "Steampunk", "Cyberpunk", "Impressionist",
    "Art Deco", "Fantasy", "Gothic", "Pop Art", "Surrealism", "Abstract",
};

static void test_builtin_table(void **state)
{
    (void)state;
    iid_styles_t s;
    iid_error_t err;
    assert_int_equal(iid__styles_load_builtin(&s, &err), IID_OK);
    assert_int_equal(s.count, 29);
    assert_string_equal(s.default_name, "Watercolor");
    assert_string_equal(s.items[0].name, "(No style)");
    assert_string_equal(s.items[0].prompt, "{prompt}");
    for (int i = 0; i < 20; i++) {
        const iid_style_t *st = iid__styles_find(&s, art_styles[i]);
        assert_non_null(st);
        assert_non_null(strstr(st->prompt, "{prompt}"));
        assert_true(strlen(st->negative) > 0);
    }
    assert_null(iid__styles_find(&s, "watercolor")); /* names are exact */
    iid__styles_free(&s);
    iid__styles_free(NULL);
}

static void test_apply(void **state)
{
    (void)state;
    iid_styles_t s;
    iid_error_t err;
    assert_int_equal(iid__styles_load_builtin(&s, &err), IID_OK);
    char *p, *n;
    assert_int_equal(iid__styles_apply(&s, "(No style)", "a man", "", &p, &n, &err), IID_OK);
    assert_string_equal(p, "a man");
    assert_string_equal(n, " "); /* always one space */
    free(p);
    free(n);
    assert_int_equal(iid__styles_apply(&s, "Unknown!", "a cat", "blurry", &p, &n, &err), IID_OK);
    assert_string_equal(p, "watercolor painting, a cat. vibrant, beautiful, painterly, detailed, textural, artistic");
    assert_non_null(strstr(n, "low contrast, noisy blurry"));
    free(p);
    free(n);
    iid__styles_free(&s);
}

static void test_merge_file(void **state)
{
    (void)state;
    iid_styles_t s;
    iid_error_t err;
    assert_int_equal(iid__styles_load_builtin(&s, &err), IID_OK);
    const char *doc = "{\"default_style\": \"Mine\", \"styles\": ["
                      "{\"name\": \"Mine\", \"prompt\": \"{prompt} and {prompt}\", \"negative_prompt\": \"bad\"},"
                      "{\"name\": \"Neon\", \"prompt\": \"neon {prompt}\", \"negative_prompt\": \"\"}]}";
    assert_int_equal(iid__styles_merge_text(&s, doc, strlen(doc), "x.json", &err), IID_OK);
    assert_int_equal(s.count, 30);
    assert_string_equal(s.default_name, "Mine");
    assert_string_equal(iid__styles_find(&s, "Neon")->prompt, "neon {prompt}");
    assert_string_equal(s.items[3].name, "Neon"); /* replaced in place */
    char *p, *n;
    assert_int_equal(iid__styles_apply(&s, NULL, "x", "y", &p, &n, &err), IID_OK);
    assert_string_equal(p, "x and x");
    assert_string_equal(n, "bad y");
    free(p);
    free(n);
    /* Bad documents change nothing and name the file. */
    const char *bad[] = {
        "[{\"name\": \"A\", \"prompt\": \"no placeholder\", \"negative_prompt\": \"\"}]",
        "[{\"name\": \"A\", \"prompt\": \"{prompt}\"}]",
        "{\"default_style\": \"Nope\", \"styles\": []}",
        "{\"styles\": 3}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(iid__styles_merge_text(&s, bad[i], strlen(bad[i]), "bad.json", &err), IID_OK);
        assert_non_null(strstr(err.msg, "bad.json"));
        assert_int_equal(s.count, 30);
        assert_string_equal(s.default_name, "Mine");
    }
    assert_int_not_equal(iid__styles_merge_file(&s, "/nonexistent/styles.json", &err), IID_OK);
    iid__styles_free(&s);
}

static void test_slug(void **state)
{
    (void)state;
    char b[64];
    iid__style_slug("(No style)", b, sizeof b);
    assert_string_equal(b, "no-style");
    iid__style_slug("Ukiyo-e", b, sizeof b);
    assert_string_equal(b, "ukiyo-e");
    iid__style_slug("Film  Noir!", b, sizeof b);
    assert_string_equal(b, "film-noir");
    iid__style_slug("***", b, sizeof b);
    assert_string_equal(b, "style");
    iid__style_slug("Retro Futurism", b, 6);
    assert_string_equal(b, "retro");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_table),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_merge_file),
        cmocka_unit_test(test_slug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
