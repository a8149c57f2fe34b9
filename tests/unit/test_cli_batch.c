/* test_cli_batch.c - the `batch`, `styles` and `merge` commands, run as the
 * built binary ($IID_BINARY): help, dry-run plans, config files, shards from the
 * environment, exit codes and one-line errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "batch/csv_log.h"
#include "batch/estimate.h"
#include "batch/progress.h"
#include "io/file.h"
#include "support.h"

static char *dir;
static char out_path[4096], err_path[4096];

/* Run `instantid ARGS` with env prefix; stdout and stderr go to files. */
static int run(const char *env, const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >'%s' 2>'%s' </dev/null", dir, env ? env : "", iid_test_binary(), args,
             out_path, err_path);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int setup(void **state)
{
    (void)state;
    iid_test_binary();
    dir = iid_test_tempdir();
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/faces/sub' && cd '%s/faces' && touch a.jpg B.JPEG c.Png d.webp notes.txt sub/e.jpg",
             dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    iid_test_rmtree(dir);
    free(dir);
    return 0;
}

static void assert_one_line_error(const char *prefix)
{
    char *e = iid_test_slurp(err_path);
    assert_int_equal(iid_test_count_lines(e), 1);
    assert_int_equal(strncmp(e, prefix, strlen(prefix)), 0);
    free(e);
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(run(NULL, "--help"), 0);
    char *o = iid_test_slurp(out_path);
    assert_non_null(strstr(o, "batch"));
    assert_non_null(strstr(o, "styles"));
    assert_non_null(strstr(o, "merge"));
    free(o);
    assert_int_equal(run(NULL, "batch --help"), 0);
    o = iid_test_slurp(out_path);
    const char *opts[] = {"--input", "--recursive", "--output", "--log", "--seed", "--loops", "--limit", "--size",
                          "--pad-color", "--identitynet-strength", "--adapter-strength", "--steps", "--guidance",
                          "--sweep", "--styles", "--styles-file", "--prompt", "--negative-prompt", "--resume",
                          "--shard", "--shards", "--dry-run", "--then-serve", "--config", "--models", "--device",
                          "--threads", "--dtype", "--scheduler", "--quiet"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) assert_non_null(strstr(o, opts[i]));
    free(o);
    assert_int_equal(run(NULL, "merge --help"), 0);
    assert_int_equal(run(NULL, "styles --help"), 0);
}

static void test_dry_run(void **state)
{
    (void)state;
    assert_int_equal(run(NULL, "batch --input faces --dry-run --seed 5 --styles all --loops 2"), 0);
    char *a = iid_test_slurp(out_path);
    iid_csv_t t;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(a, strlen(a), "stdout", &t, &err), IID_OK);
    assert_int_equal(t.ncols, IID_LOG_NCOLS);
    for (int i = 0; i < IID_LOG_NCOLS; i++) assert_string_equal(t.header[i], iid__log_columns[i]);
    assert_int_equal(t.nrows, 4 * 28 * 2); /* 4 images (not sub/, not .txt) x 28 styles ("(No style)" only
                                              when named) x 2 loops */
    for (long r = 0; r < t.nrows; r++) {
        char id[32];
        snprintf(id, sizeof id, "%ld", r);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_JOB_ID), id);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_PROMPT), "human, sharp focus");
    }
    iid__csv_free(&t);
    char *e = iid_test_slurp(err_path);
    assert_non_null(strstr(e, "seed 5"));
    free(e);
    /* The same seed gives the same plan; --recursive finds sub/e.jpg too. */
    assert_int_equal(run(NULL, "batch --input faces --dry-run --seed 5 --styles all --loops 2"), 0);
    char *b = iid_test_slurp(out_path);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(run(NULL, "batch -i faces -n --seed 5 --recursive --limit 3 --sweep grid:2"), 0);
    a = iid_test_slurp(out_path);
    assert_int_equal(iid_test_count_lines(a), 1 + 3);
    free(a);
    /* Without --seed a random one is chosen and printed. */
    assert_int_equal(run(NULL, "batch --input faces --dry-run"), 0);
    e = iid_test_slurp(err_path);
    assert_non_null(strstr(e, "instantid batch: seed "));
    free(e);
    /* Nothing was generated or logged. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test ! -e '%s/generation_log.csv' && test ! -e '%s/generated_images'", dir, dir);
    assert_int_equal(system(cmd), 0);
}

/* The dry run's estimate, on stderr under a pipe: sizes, steps and the time at
 * the reference speed (a fresh cache has no measurement). */
static void test_dry_run_estimate(void **state)
{
    (void)state;
    char env[4200];
    snprintf(env, sizeof env, "IID_CACHE_DIR='%s/fresh-cache'", dir);
    assert_int_equal(run(env, "batch --input faces --dry-run --seed 5 --styles Watercolor,Neon --size 1024x1280 "
                              "--steps 50"), 0);
    char *e = iid_test_slurp(err_path), *o = iid_test_slurp(out_path);
    assert_non_null(strstr(e, "instantid batch: sizes: 1024x1280 (8 jobs)\n"));
    assert_non_null(strstr(e, "instantid batch: steps: 400 in 8 jobs (50 to 50 per job)\n"));
    char want[128], t[32];
    iid__fmt_duration(t, sizeof t, IID_REFERENCE_SECONDS_PER_UNIT * 8 * iid__estimate_job_work(1024, 1280, 50));
    snprintf(want, sizeof want, "instantid batch: estimated time: %s (speed of the 2-core reference machine", t);
    assert_non_null(strstr(e, want));
    assert_non_null(strstr(o, ",1024,1280,")); /* the CSV holds the sizes */
    free(e);
    free(o);
    /* Without --size the empty test files cannot be sized: said, not guessed. */
    assert_int_equal(run(env, "batch --input faces --dry-run --seed 5 --styles Neon"), 0);
    e = iid_test_slurp(err_path);
    assert_non_null(strstr(e, "sizes: 4 jobs on unreadable images (they will fail at once)"));
    assert_non_null(strstr(e, "estimated time: 0s"));
    free(e);
}

static void test_config_and_env_shards(void **state)
{
    (void)state;
    const char *ini = "# test\nseed = 5\nstyles = Neon, Watercolor\nloops = 1\nrecursive = yes\nport = 8000\n"
                      "[serve]\nport = 1\n[batch]\ndry_run = true\n"; /* a port shared with serve is fine */
    free(iid_test_write(dir, "b.ini", ini, strlen(ini)));
    assert_int_equal(run(NULL, "batch --input faces --config b.ini --loops 2"), 0);
    char *a = iid_test_slurp(out_path);
    assert_int_equal(iid_test_count_lines(a), 1 + 5 * 2 * 2); /* the command line's 2 loops win */
    assert_non_null(strstr(a, ",Neon,"));
    assert_null(strstr(a, ",Film Noir,"));
    free(a);
    assert_int_equal(run("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3", "batch --input faces --config b.ini"), 0);
    a = iid_test_slurp(out_path);
    iid_csv_t t;
    iid_error_t err;
    assert_int_equal(iid__csv_parse(a, strlen(a), "stdout", &t, &err), IID_OK);
    assert_int_equal(t.nrows, 3); /* jobs 1, 4, 7 of 10 */
    for (long r = 0; r < t.nrows; r++) {
        assert_int_equal(atol(iid__csv_cell(&t, r, IID_COL_JOB_ID)) % 3, 1);
        assert_string_equal(iid__csv_cell(&t, r, IID_COL_SHARD), "1/3");
    }
    iid__csv_free(&t);
    free(a);
    assert_int_equal(run("JOB_COMPLETION_INDEX=0", "batch --input faces --config b.ini --shards 5"), 0);
    a = iid_test_slurp(out_path);
    assert_int_equal(iid_test_count_lines(a), 1 + 2);
    free(a);
    const char *bad_ini = "seed = 5\nnot_an_option = 3\n";
    free(iid_test_write(dir, "bad.ini", bad_ini, strlen(bad_ini)));
    assert_int_equal(run(NULL, "batch --input faces --dry-run --config bad.ini"), 2);
    assert_one_line_error("instantid batch: bad.ini:2: 'not_an_option' is not an option");
}

static void test_bad_options_exit_2(void **state)
{
    (void)state;
    const char *bad[] = {
        "batch --bogus",
        "batch --input faces --dry-run --steps 0:x",
        "batch --input faces --dry-run --steps 40.5",
        "batch --input faces --dry-run --sweep grid:0",
        "batch --input faces --dry-run --styles Nope",
        "batch --input faces --dry-run --size 100x7",
        "batch --input faces --dry-run --pad-color purple",
        "batch --input faces --dry-run --shard 3/3",
        "batch --input faces --dry-run --loops 0",
        "batch --input faces --dry-run --resume",
        "batch --input faces --dry-run --device tpu",
        "batch --input faces --dry-run --styles-file nowhere.json",
        "batch --input nowhere --dry-run",
        "batch --input faces/sub/e.jpg --dry-run",
        "batch --input faces --dry-run --seed",
        "batch --input faces --seed 1",
        "batch --input faces --dry-run --port 8000", /* only with --then-serve */
        "batch --input faces --dry-run --progress-interval -1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(NULL, bad[i]), 2);
        assert_one_line_error("instantid batch: ");
        char *o = iid_test_slurp(out_path);
        assert_string_equal(o, "");
        free(o);
    }
    run(NULL, "batch --input faces --seed 1");
    char *e = iid_test_slurp(err_path);
    assert_non_null(strstr(e, "models/")); /* no models folder here: the message names what is missing */
    free(e);
    assert_int_equal(run(NULL, "nosuchcommand"), 2);
}

static void test_styles(void **state)
{
    (void)state;
    assert_int_equal(run(NULL, "styles"), 0);
    char *o = iid_test_slurp(out_path);
    assert_int_equal(iid_test_count_lines(o), 29 + 1);
    assert_non_null(strstr(o, "Watercolor      * watercolor painting, {prompt}."));
    assert_non_null(strstr(o, "Ukiyo-e"));
    free(o);
    const char *extra = "[{\"name\": \"Mine\", \"prompt\": \"my {prompt}\", \"negative_prompt\": \"x\"}]";
    free(iid_test_write(dir, "extra.json", extra, strlen(extra)));
    assert_int_equal(run(NULL, "styles --json --styles-file extra.json"), 0);
    o = iid_test_slurp(out_path);
    cJSON *root = cJSON_Parse(o);
    assert_non_null(root);
    cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "styles");
    assert_int_equal(cJSON_GetArraySize(list), 30);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 29), "name")->valuestring, "Mine");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "default_style")->valuestring, "Watercolor");
    cJSON_Delete(root);
    free(o);
    /* The batch can use the added style. */
    assert_int_equal(run(NULL, "batch -i faces -n --seed 1 --styles Mine --styles-file extra.json"), 0);
    o = iid_test_slurp(out_path);
    assert_non_null(strstr(o, "_mine_0_"));
    free(o);
    free(iid_test_write(dir, "broken.json", "{", 1));
    assert_int_equal(run(NULL, "styles --styles-file broken.json"), 2);
    assert_one_line_error("instantid styles: broken.json: ");
}

static void write_log(const char *name, const char *const *ids, int n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    iid__csv_write_record(f, iid__log_columns, IID_LOG_NCOLS);
    for (int i = 0; i < n; i++) {
        const char *row[IID_LOG_NCOLS] = {"a.jpg"};
        row[IID_COL_JOB_ID] = ids[i];
        row[IID_COL_SUCCESS] = "True";
        row[IID_COL_PROMPT] = "multi\nline, \"quoted\"";
        iid__csv_write_record(f, row, IID_LOG_NCOLS);
    }
    fclose(f);
}

static void test_merge(void **state)
{
    (void)state;
    const char *a[] = {"0", "2", "4"}, *b[] = {"5", "1", "3"};
    write_log("s0.csv", a, 3);
    write_log("s1.csv", b, 3);
    assert_int_equal(run(NULL, "merge s0.csv s1.csv -o all.csv"), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/all.csv", dir);
    iid_csv_t t;
    iid_error_t err;
    assert_int_equal(iid__log_read(path, &t, &err), IID_OK);
    assert_int_equal(t.nrows, 6);
    for (long r = 0; r < 6; r++) assert_int_equal(atol(iid__csv_cell(&t, r, IID_COL_JOB_ID)), r);
    assert_string_equal(iid__csv_cell(&t, 3, IID_COL_PROMPT), "multi\nline, \"quoted\"");
    iid__csv_free(&t);
    assert_int_equal(run(NULL, "merge s0.csv s1.csv"), 2);
    assert_one_line_error("instantid merge: ");
    assert_int_equal(run(NULL, "merge -o x.csv"), 2);
    assert_one_line_error("instantid merge: ");
    assert_int_equal(run(NULL, "merge s0.csv missing.csv -o x.csv"), 2);
    assert_one_line_error("instantid merge: missing.csv");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_dry_run_estimate),
        cmocka_unit_test(test_config_and_env_shards),
        cmocka_unit_test(test_bad_options_exit_2),
        cmocka_unit_test(test_styles),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
