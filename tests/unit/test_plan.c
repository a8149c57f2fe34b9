/* test_plan.c - the batch plan: determinism, sweeps, limits, loops, styles, shards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batch/plan.h"
#include "support.h"

static const char *const images[] = {"in/a.jpg", "in/b.png", "in/c.webp", "in/d.jpeg", "in/e.jpg"};
static const char *const styles[] = {"(No style)", "Watercolor", "Film Noir", "Neon"};

static iid_status build(iid_plan_t *p, const iid_plan_options_t *o, int n_images)
{
    iid_error_t err;
    return iid__plan_build(p, images, n_images, styles, 4, o, &err);
}

static void test_deterministic(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.seed = 1234;
    o.loops = 3;
    iid_plan_t a, b, c;
    assert_int_equal(build(&a, &o, 5), IID_OK);
    assert_int_equal(build(&b, &o, 5), IID_OK);
    assert_int_equal(a.count, 15);
    assert_memory_equal(a.jobs, b.jobs, (size_t)a.count * sizeof *a.jobs);
    int seen[5] = {0};
    for (long i = 0; i < a.count; i++) {
        const iid_plan_job_t *j = &a.jobs[i];
        assert_int_equal(j->job_id, i);
        assert_int_equal(j->loop, i / 5);
        assert_int_equal(j->image, a.jobs[i % 5].image); /* the same order every loop */
        if (i < 5) seen[j->image]++;
        assert_true(j->identitynet_strength >= 1.0 && j->identitynet_strength <= 1.5);
        assert_true(j->adapter_strength >= 0.7 && j->adapter_strength <= 1.0);
        assert_true(j->steps >= 40 && j->steps <= 60);
        assert_true(j->guidance >= 7.0 && j->guidance <= 12.0);
        /* draws at a slider's step: 0.01, so they print as 1.23 */
        assert_true(round(j->identitynet_strength * 100) / 100 == j->identitynet_strength);
        assert_true(round(j->guidance * 100) / 100 == j->guidance);
        assert_true(j->style >= 1 && j->style < 4); /* random never draws "(No style)" */
    }
    for (int i = 0; i < 5; i++) assert_int_equal(seen[i], 1); /* a permutation */
    /* More loops keep the earlier jobs exactly: a resumed run can extend a batch. */
    o.loops = 5;
    assert_int_equal(build(&c, &o, 5), IID_OK);
    assert_memory_equal(c.jobs, a.jobs, (size_t)a.count * sizeof *a.jobs);
    iid__plan_free(&c);
    o.loops = 3;
    o.seed = 1235;
    assert_int_equal(build(&c, &o, 5), IID_OK);
    assert_true(memcmp(a.jobs, c.jobs, (size_t)a.count * sizeof *a.jobs) != 0);
    iid__plan_free(&a);
    iid__plan_free(&b);
    iid__plan_free(&c);
    iid__plan_free(NULL);
}

static void test_fixed_values_and_known_draws(void **state)
{
    (void)state;
    /* splitmix64 from state 0 gives the published first output. */
    uint64_t s = 0;
    assert_true(iid__splitmix64(&s) == 0xE220A8397B1DCDAFULL);
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.identitynet = (iid_range_t){0.9, 0.9};
    o.steps = (iid_range_t){30, 30};
    iid_plan_t p;
    assert_int_equal(build(&p, &o, 2), IID_OK);
    for (long i = 0; i < p.count; i++) {
        assert_true(p.jobs[i].identitynet_strength == 0.9);
        assert_int_equal(p.jobs[i].steps, 30);
    }
    iid__plan_free(&p);
}

static void test_random_steps_cover_range(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.seed = 99;
    o.loops = 400;
    o.steps = (iid_range_t){40, 43};
    iid_plan_t p;
    assert_int_equal(build(&p, &o, 5), IID_OK);
    int hits[4] = {0}, style_hits[4] = {0};
    for (long i = 0; i < p.count; i++) {
        hits[p.jobs[i].steps - 40]++;
        style_hits[p.jobs[i].style]++;
    }
    for (int i = 0; i < 4; i++) assert_true(hits[i] > 400); /* 2000 draws, about 500 each */
    assert_int_equal(style_hits[0], 0);                      /* "(No style)" */
    for (int i = 1; i < 4; i++) assert_true(style_hits[i] > 550); /* about 667 each */
    iid__plan_free(&p);
}

static void test_grid(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.sweep = IID_SWEEP_GRID;
    o.grid_k = 3;
    iid_plan_t p;
    assert_int_equal(build(&p, &o, 2), IID_OK);
    assert_int_equal(p.count, 2 * 81);
    /* The first image's 81 jobs are the full cross product, guidance fastest. */
    assert_true(p.jobs[0].identitynet_strength == 1.0 && p.jobs[0].guidance == 7.0);
    assert_true(p.jobs[1].guidance == 9.5 && p.jobs[2].guidance == 12.0);
    assert_int_equal(p.jobs[3].steps, 50);
    assert_true(p.jobs[80].identitynet_strength == 1.5 && p.jobs[80].adapter_strength == 1.0);
    assert_int_equal(p.jobs[80].steps, 60);
    for (int a = 0; a < 81; a++)
        for (int b = a + 1; b < 81; b++)
            assert_false(p.jobs[a].identitynet_strength == p.jobs[b].identitynet_strength &&
                         p.jobs[a].adapter_strength == p.jobs[b].adapter_strength &&
                         p.jobs[a].steps == p.jobs[b].steps && p.jobs[a].guidance == p.jobs[b].guidance);
    for (long i = 0; i < p.count; i++) assert_int_equal(p.jobs[i].image, p.jobs[(i / 81) * 81].image);
    iid__plan_free(&p);

    /* Integer steps: 40:42 with K=5 rounds to 40, 41 (or 40.5 -> 41), 42 without repeats. */
    o.grid_k = 5;
    o.steps = (iid_range_t){40, 42};
    o.identitynet = (iid_range_t){1.0, 1.0};
    o.adapter = (iid_range_t){0.8, 0.8};
    o.guidance = (iid_range_t){5, 5};
    assert_int_equal(build(&p, &o, 1), IID_OK);
    assert_int_equal(p.count, 3);
    assert_int_equal(p.jobs[0].steps, 40);
    assert_int_equal(p.jobs[1].steps, 41);
    assert_int_equal(p.jobs[2].steps, 42);
    iid__plan_free(&p);
}

static void test_styles_modes_limit(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.styles_mode = IID_STYLES_ALL;
    o.loops = 2;
    iid_plan_t full, lim;
    assert_int_equal(build(&full, &o, 3), IID_OK);
    assert_int_equal(full.count, 2 * 3 * 3); /* "(No style)" is left out */
    for (long i = 0; i < full.count; i++) assert_int_equal(full.jobs[i].style, 1 + i % 3);
    o.limit = 7;
    assert_int_equal(build(&lim, &o, 3), IID_OK);
    assert_int_equal(lim.count, 7);
    assert_memory_equal(lim.jobs, full.jobs, 7 * sizeof *lim.jobs); /* a prefix */
    iid__plan_free(&lim);
    iid__plan_free(&full);

    const char *list[] = {"Neon", "(No style)"};
    o.limit = 0;
    o.loops = 1;
    o.styles_mode = IID_STYLES_LIST;
    o.style_list = list;
    o.style_list_count = 2;
    assert_int_equal(build(&full, &o, 2), IID_OK);
    assert_int_equal(full.count, 4);
    assert_int_equal(full.jobs[0].style, 3);
    assert_int_equal(full.jobs[1].style, 0);
    iid__plan_free(&full);
    const char *bad[] = {"Nope"};
    o.style_list = bad;
    o.style_list_count = 1;
    iid_error_t err;
    assert_int_equal(iid__plan_build(&full, images, 2, styles, 4, &o, &err), IID_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "Nope"));
}

/* random and all skip "(No style)" unless it is the only style; a list may name it. */
static void test_no_style_only_when_named(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.loops = 200;
    iid_plan_t p;
    assert_int_equal(build(&p, &o, 5), IID_OK);
    long per_style[4] = {0};
    for (long i = 0; i < p.count; i++) per_style[p.jobs[i].style]++;
    assert_int_equal(per_style[0], 0);
    for (int k = 1; k < 4; k++) assert_true(per_style[k] > 200); /* ~333 each of 1000 */
    iid__plan_free(&p);
    const char *only[] = {"(No style)"};
    iid_error_t err;
    assert_int_equal(iid__plan_build(&p, images, 2, only, 1, &o, &err), IID_OK);
    for (long i = 0; i < p.count; i++) assert_int_equal(p.jobs[i].style, 0);
    iid__plan_free(&p);
}

static void test_bad_options(void **state)
{
    (void)state;
    iid_plan_options_t o;
    iid_plan_t p;
    iid_error_t err;
    iid__plan_options_init(&o);
    assert_int_equal(iid__plan_build(&p, images, 0, styles, 4, &o, &err), IID_ERR_INVALID);
    o.steps = (iid_range_t){40.5, 50};
    assert_int_equal(iid__plan_build(&p, images, 2, styles, 4, &o, &err), IID_ERR_INVALID);
    iid__plan_options_init(&o);
    o.guidance = (iid_range_t){9, 3};
    assert_int_equal(iid__plan_build(&p, images, 2, styles, 4, &o, &err), IID_ERR_INVALID);
    iid__plan_options_init(&o);
    o.sweep = IID_SWEEP_GRID;
    o.grid_k = 200;
    o.loops = 1000; /* 2 * 1000 * 200^4 jobs */
    assert_int_equal(iid__plan_build(&p, images, 2, styles, 4, &o, &err), IID_ERR_RANGE);
}

static void test_parse_ranges(void **state)
{
    (void)state;
    iid_range_t r;
    iid_error_t err;
    assert_int_equal(iid__range_parse("1.0:1.5", "--x", 0, &r, &err), IID_OK);
    assert_true(r.lo == 1.0 && r.hi == 1.5);
    assert_int_equal(iid__range_parse("0.8", "--x", 0, &r, &err), IID_OK);
    assert_true(r.lo == 0.8 && r.hi == 0.8);
    assert_int_equal(iid__range_parse("30", "--steps", 1, &r, &err), IID_OK);
    const char *bad[] = {"", "a", "1:", ":2", "2:1", "1:2:3", "nan", "-1", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(iid__range_parse(bad[i], "--x", 0, &r, &err), IID_ERR_INVALID);
    assert_int_equal(iid__range_parse("30.5", "--steps", 1, &r, &err), IID_ERR_INVALID);
    assert_int_equal(iid__range_parse("0:10", "--steps", 1, &r, &err), IID_ERR_INVALID);
    assert_non_null(strstr(err.msg, "--steps"));
    iid_sweep_t sw;
    int k;
    assert_int_equal(iid__sweep_parse("grid:4", &sw, &k, &err), IID_OK);
    assert_int_equal(sw, IID_SWEEP_GRID);
    assert_int_equal(k, 4);
    assert_int_equal(iid__sweep_parse("random", &sw, &k, &err), IID_OK);
    assert_int_equal(sw, IID_SWEEP_RANDOM);
    assert_int_equal(iid__sweep_parse("grid:0", &sw, &k, &err), IID_ERR_INVALID);
    assert_int_equal(iid__sweep_parse("grid:", &sw, &k, &err), IID_ERR_INVALID);
    assert_int_equal(iid__sweep_parse("grid", &sw, &k, &err), IID_ERR_INVALID);
}

static void test_shards(void **state)
{
    (void)state;
    iid_shard_t s;
    iid_error_t err;
    assert_int_equal(iid__shard_resolve(NULL, 0, NULL, NULL, NULL, NULL, &s, &err), IID_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(iid__shard_resolve("2/5", 0, "1", "3", NULL, NULL, &s, &err), IID_OK);
    assert_int_equal(s.index, 2); /* the option wins over the environment */
    assert_int_equal(s.count, 5);
    assert_int_equal(iid__shard_resolve(NULL, 0, "4", "3", "3", NULL, &s, &err), IID_OK);
    assert_int_equal(s.index, 1);
    assert_int_equal(s.count, 3);
    assert_int_equal(iid__shard_resolve(NULL, 4, NULL, NULL, NULL, "3", &s, &err), IID_OK);
    assert_int_equal(s.index, 3);
    assert_int_equal(s.count, 4);
    const char *bad[] = {"5/5", "1/0", "x/2", "1", "/2", "1/", "-1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(iid__shard_resolve(bad[i], 0, NULL, NULL, NULL, NULL, &s, &err), IID_ERR_INVALID);
    assert_int_equal(iid__shard_resolve(NULL, 0, "3", "3", NULL, NULL, &s, &err), IID_ERR_INVALID);
    assert_int_equal(iid__shard_resolve(NULL, 2, NULL, NULL, NULL, NULL, &s, &err), IID_ERR_INVALID);

    /* Shards of a plan cover every job exactly once. */
    iid_plan_options_t o;
    iid__plan_options_init(&o);
    o.loops = 7;
    iid_plan_t p;
    assert_int_equal(build(&p, &o, 5), IID_OK);
    int *hits = calloc((size_t)p.count, sizeof *hits);
    for (int i = 0; i < 4; i++) {
        iid_shard_t sh = {i, 4};
        for (long j = 0; j < p.count; j++) hits[j] += iid__shard_has(&sh, j);
    }
    for (long j = 0; j < p.count; j++) assert_int_equal(hits[j], 1);
    free(hits);
    iid__plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_fixed_values_and_known_draws),
        cmocka_unit_test(test_random_steps_cover_range),
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_styles_modes_limit),
        cmocka_unit_test(test_no_style_only_when_named),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_parse_ranges),
        cmocka_unit_test(test_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
