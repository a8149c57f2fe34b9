/* test_ini.c - the INI reader behind --config. */
#include <stdlib.h>
#include <string.h>

#include "io/ini.h"
#include "support.h"

static void test_parse(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF# comment\r\n"
                       "input = photos \r\n"
                       "  ; another comment\n"
                       "\n"
                       "prompt = \" a man, #1; smiling \"\n"
                       "[batch]\n"
                       "identitynet_strength=1.0:1.5\n"
                       "[ serve ]\n"
                       "port = 8080";
    iid_ini_t ini;
    iid_error_t err;
    assert_int_equal(iid__ini_parse(text, strlen(text), "c.ini", &ini, &err), IID_OK);
    assert_int_equal(ini.count, 4);
    assert_string_equal(ini.items[0].section, "");
    assert_string_equal(ini.items[0].key, "input");
    assert_string_equal(ini.items[0].value, "photos");
    assert_int_equal(ini.items[0].line, 2);
    assert_string_equal(ini.items[1].value, " a man, #1; smiling ");
    assert_string_equal(ini.items[2].section, "batch");
    assert_string_equal(ini.items[2].key, "identitynet_strength");
    assert_string_equal(ini.items[2].value, "1.0:1.5");
    assert_string_equal(ini.items[3].section, "serve");
    assert_string_equal(ini.items[3].value, "8080");
    iid__ini_free(&ini);
    iid__ini_free(NULL);
}

static void test_errors(void **state)
{
    (void)state;
    iid_ini_t ini;
    iid_error_t err;
    const char *a = "a = 1\njust words\n";
    assert_int_equal(iid__ini_parse(a, strlen(a), "c.ini", &ini, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "c.ini:2: expected 'key = value'");
    const char *b = "[batch\n";
    assert_int_equal(iid__ini_parse(b, strlen(b), "c.ini", &ini, &err), IID_ERR_FORMAT);
    const char *c = " = 3\n";
    assert_int_equal(iid__ini_parse(c, strlen(c), "c.ini", &ini, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "c.ini:1: empty key");
    assert_int_equal(iid__ini_parse("a=\0b", 4, "c.ini", &ini, &err), IID_ERR_FORMAT);
    assert_int_not_equal(iid__ini_load("/nonexistent/c.ini", &ini, &err), IID_OK);
}

static void test_load(void **state)
{
    (void)state;
    char *dir = iid_test_tempdir();
    char *path = iid_test_write(dir, "c.ini", "loops = 3\n", 10);
    iid_ini_t ini;
    iid_error_t err;
    assert_int_equal(iid__ini_load(path, &ini, &err), IID_OK);
    assert_int_equal(ini.count, 1);
    assert_string_equal(ini.items[0].value, "3");
    iid__ini_free(&ini);
    free(path);
    iid_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
