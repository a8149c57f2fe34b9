/* test_scheduler.c - scheduler table, schedules, config handling and denoising behaviour. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "io/json.h"
#include "pipeline/scheduler.h"
#include "support.h"

/* The SDXL config the kit ships (the real SDXL values). */
static const char *sdxl_config =
    "{\"_class_name\": \"EulerDiscreteScheduler\", \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\","
    " \"beta_start\": 0.00085, \"clip_sample\": false, \"interpolation_type\": \"linear\","
    " \"num_train_timesteps\": 1000, \"prediction_type\": \"epsilon\", \"sample_max_value\": 1.0,"
    " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1,"
    " \"timestep_spacing\": \"leading\", \"trained_betas\": null, \"use_karras_sigmas\": false}";

static iid_sched_t *make(const char *name, const char *json)
{
    iid_json_t j;
    iid_error_t err;
    assert_int_equal(iid__json_parse(&j, json, strlen(json), "test config", &err), IID_OK);
    iid_sched_t *s = NULL;
    iid_status st = iid__sched_create(&s, name, &j, &err);
    iid__json_free(&j);
    if (st != IID_OK) print_message("create %s: %s\n", name, err.msg);
    assert_int_equal(st, IID_OK);
    return s;
}

static void test_table(void **state)
{
    (void)state;
    int count = 0;
    for (const char *name; (name = iid__sched_name_at(count)); count++) {
        iid_sched_t *s = make(name, sdxl_config);
        assert_string_equal(iid__sched_name(s), name);
        assert_string_equal(iid__sched_name_for_class(iid__sched_class(s)), name);
        iid__sched_free(s);
    }
    assert_int_equal(count, 7);
    assert_string_equal(iid__sched_name_at(0), "euler");
    assert_null(iid__sched_name_at(-1));
    assert_null(iid__sched_name_for_class("PNDMScheduler"));
    assert_string_equal(iid__sched_name_for_class("DPMSolverMultistepScheduler-Karras-SDE"), "dpmpp_2m_sde_karras");
    iid_json_t j;
    iid_error_t err;
    iid_sched_t *s = (iid_sched_t *)1;
    assert_int_equal(iid__json_parse(&j, sdxl_config, strlen(sdxl_config), "cfg", &err), IID_OK);
    assert_int_equal(iid__sched_create(&s, "ddim", &j, &err), IID_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.msg, "ddim"));
    iid__json_free(&j);
    iid__sched_free(NULL);
}

static void test_overrides_resolved(void **state)
{
    (void)state;
    iid_sched_info_t info;
    iid_sched_t *s = make("dpmpp_2m_sde_karras", sdxl_config);
    iid__sched_info(s, &info);
    assert_int_equal(info.use_karras_sigmas, 1);
    assert_string_equal(info.algorithm_type, "sde-dpmsolver++");
    assert_string_equal(info.timestep_spacing, "leading");
    assert_int_equal(info.steps_offset, 1);
    assert_int_equal(info.solver_order, 2);
    iid__sched_free(s);
    s = make("deis", sdxl_config);
    iid__sched_info(s, &info);
    assert_string_equal(info.algorithm_type, "deis");
    assert_int_equal(info.use_karras_sigmas, 0);
    iid__sched_free(s);
}

static void test_unsupported_config(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"beta_schedule\": \"squaredcos_cap_v2\"}", "{\"trained_betas\": [0.1, 0.2]}",
        "{\"interpolation_type\": \"log_linear\"}", "{\"thresholding\": true}", "{\"timestep_spacing\": \"karras\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iid_json_t j;
        iid_error_t err;
        iid_sched_t *s;
        assert_int_equal(iid__json_parse(&j, bad[i], strlen(bad[i]), "bad.json", &err), IID_OK);
        assert_int_equal(iid__sched_create(&s, "dpmpp_2m", &j, &err), IID_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "bad.json"));
        iid__json_free(&j);
    }
}

static void test_euler_schedule(void **state)
{
    (void)state;
    iid_sched_t *s = make("euler", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    assert_int_equal(iid__sched_num_timesteps(s), 4);
    const float want[4] = {751, 501, 251, 1};
    assert_memory_equal(iid__sched_timesteps(s), want, sizeof want);
    assert_int_equal(iid__sched_num_sigmas(s), 5);
    assert_true(iid__sched_sigmas(s)[4] == 0.0f);
    assert_true(fabsf(iid__sched_init_noise_sigma(s) - 4.2364f) < 1e-4f);
    float one = 1.0f, scaled;
    iid__sched_scale_model_input(s, 0, &one, &scaled, 1);
    float sig = iid__sched_sigmas(s)[0];
    assert_true(fabsf(scaled - 1.0f / sqrtf(sig * sig + 1.0f)) < 1e-7f);
    assert_false(iid__sched_timesteps_are_int(s));
    /* betas: scaled_linear endpoints */
    assert_true(fabsf(iid__sched_betas(s)[0] - 0.00085f) < 1e-9f);
    assert_true(fabsf(iid__sched_betas(s)[999] - 0.012f) < 1e-8f);
    iid__sched_free(s);

    /* trailing spacing: arange(1000, 0, -250) - 1 */
    s = make("euler", "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                      " \"timestep_spacing\": \"trailing\"}");
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    const float trailing[4] = {999, 749, 499, 249};
    assert_memory_equal(iid__sched_timesteps(s), trailing, sizeof trailing);
    /* "trailing" returns max sigma itself */
    assert_true(iid__sched_init_noise_sigma(s) == iid__sched_sigmas(s)[0]);
    iid__sched_free(s);
}

static void test_other_schedules(void **state)
{
    (void)state;
    iid_sched_t *s = make("heun", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 3, NULL), IID_OK);
    const float heun[5] = {667, 334, 334, 1, 1};
    assert_int_equal(iid__sched_num_timesteps(s), 5);
    assert_memory_equal(iid__sched_timesteps(s), heun, sizeof heun);
    assert_int_equal(iid__sched_num_sigmas(s), 6);
    iid__sched_free(s);

    /* DPM-Solver "leading": (n+1)-point grid, last dropped, + offset */
    s = make("dpmpp_2m", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    const float dpm[4] = {801, 601, 401, 201};
    assert_memory_equal(iid__sched_timesteps(s), dpm, sizeof dpm);
    assert_true(iid__sched_init_noise_sigma(s) == 1.0f);
    assert_true(iid__sched_timesteps_are_int(s));
    iid__sched_free(s);

    /* "linspace": round half to even (499.5 -> 500) */
    s = make("dpmpp_2m", "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012}");
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    const float lin[4] = {999, 749, 500, 250};
    assert_memory_equal(iid__sched_timesteps(s), lin, sizeof lin);
    iid__sched_free(s);

    /* Karras: starts at the top of the training range and ends at its bottom */
    s = make("dpmpp_2m_karras", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    assert_true(iid__sched_timesteps(s)[0] == 999.0f && iid__sched_timesteps(s)[3] == 0.0f);
    assert_true(iid__sched_sigmas(s)[3] == iid__sched_sigmas(s)[4]);
    iid__sched_free(s);

    /* Euler with Karras sigmas: same end points, inverted fractional timesteps. */
    s = make("euler", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    float first = iid__sched_sigmas(s)[0], last = iid__sched_sigmas(s)[3];
    iid__sched_free(s);
    s = make("euler", "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                      " \"timestep_spacing\": \"leading\", \"steps_offset\": 1, \"use_karras_sigmas\": true}");
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    assert_true(fabsf(iid__sched_sigmas(s)[0] - first) <= 1e-6f * first);
    assert_true(fabsf(iid__sched_sigmas(s)[3] - last) <= 1e-6f * last);
    assert_true(fabsf(iid__sched_timesteps(s)[0] - 751.0f) < 1e-3f);
    assert_true(iid__sched_timesteps(s)[1] != floorf(iid__sched_timesteps(s)[1]));
    assert_true(iid__sched_sigmas(s)[1] < iid__sched_sigmas(s)[0] && iid__sched_sigmas(s)[2] < iid__sched_sigmas(s)[1]);
    iid__sched_free(s);

    s = make("lcm", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    const float lcm[4] = {999, 759, 499, 259};
    assert_memory_equal(iid__sched_timesteps(s), lcm, sizeof lcm);
    assert_null(iid__sched_sigmas(s));
    iid_error_t err;
    assert_int_equal(iid__sched_set_timesteps(s, 51, &err), IID_ERR_INVALID);
    assert_int_equal(iid__sched_set_timesteps(s, 0, &err), IID_ERR_INVALID);
    iid__sched_free(s);
}

static void test_step_contract(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4}, eps[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    iid_error_t err;
    iid_sched_t *s = make("dpmpp_2m", sdxl_config);
    assert_int_equal(iid__sched_step(s, 0, eps, x, x, 4, NULL, NULL, &err), IID_ERR_INVALID); /* no schedule */
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    assert_int_equal(iid__sched_step(s, 1, eps, x, x, 4, NULL, NULL, &err), IID_ERR_INVALID); /* out of order */
    assert_non_null(strstr(err.msg, "out of order"));
    assert_int_equal(iid__sched_step(s, 0, eps, x, x, 4, NULL, NULL, &err), IID_OK);
    assert_int_equal(iid__sched_step(s, 1, eps, x, x, 3, NULL, NULL, &err), IID_ERR_INVALID); /* size changed */
    iid__sched_free(s);

    /* SDE and LCM need a noise source */
    s = make("dpmpp_2m_sde_karras", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 4, NULL), IID_OK);
    assert_int_equal(iid__sched_step(s, 0, eps, x, x, 4, NULL, NULL, &err), IID_ERR_INVALID);
    iid__sched_free(s);
    s = make("lcm", sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, 1, NULL), IID_OK);
    float den[4];
    assert_int_equal(iid__sched_step(s, 0, eps, x, x, 4, NULL, den, &err), IID_OK); /* last step: no draw */
    assert_memory_equal(x, den, sizeof den);
    iid__sched_free(s);
}

/* With the ideal noise prediction for a single clean image x0, the samplers must
 * land where the exact solution does. Euler and Heun work in sigma space
 * (x = x0 + sigma n) and end at sigma 0, on x0. The others work in
 * variance-preserving space (x = alpha x0 + sigma_t n): the deterministic solvers
 * are exact for a constant prediction and end on alpha x0 + sigma_t n0 at the last
 * sigma (ode = 1); LCM's last step returns its x0 estimate; the SDE solver ends
 * within a few final sigmas of x0. */
static void run_ideal(const char *name, int steps, int ode, float tol)
{
    enum { N = 64 };
    float x0[N], x[N], n0[N], in[N], eps[N];
    iid_sched_t *s = make(name, sdxl_config);
    assert_int_equal(iid__sched_set_timesteps(s, steps, NULL), IID_OK);
    iid_rng_t r;
    iid__rng_init(&r, 99);
    iid_noise_source_t noise = iid__rng_noise_source(&r);
    iid__rng_normal_fill(&r, n0, N);
    for (int k = 0; k < N; k++) x0[k] = 0.5f * sinf((float)k);
    int vp = strcmp(name, "euler") != 0 && strcmp(name, "heun") != 0;
    const float *acp = iid__sched_alphas_cumprod(s);
    for (int i = 0; i < iid__sched_num_timesteps(s); i++) {
        float a, sg;
        if (!vp) {
            a = 1.0f, sg = iid__sched_sigmas(s)[i];
        } else if (iid__sched_sigmas(s)) {
            float sig = iid__sched_sigmas(s)[i];
            a = 1.0f / sqrtf(sig * sig + 1.0f), sg = sig * a;
        } else {
            int t = (int)iid__sched_timesteps(s)[i];
            a = sqrtf(acp[t]), sg = sqrtf(1.0f - acp[t]);
        }
        if (i == 0) /* start on the trajectory through x0 and n0 */
            for (int k = 0; k < N; k++) x[k] = a * x0[k] + sg * n0[k];
        iid__sched_scale_model_input(s, i, x, in, N);
        for (int k = 0; k < N; k++) eps[k] = (x[k] - a * x0[k]) / sg;
        assert_int_equal(iid__sched_step(s, i, eps, x, x, N, &noise, NULL, NULL), IID_OK);
    }
    float a_end = 1.0f, s_end = 0.0f;
    if (ode) {
        float sig = iid__sched_sigmas(s)[iid__sched_num_sigmas(s) - 1];
        a_end = 1.0f / sqrtf(sig * sig + 1.0f), s_end = sig * a_end;
    }
    float worst = 0;
    for (int k = 0; k < N; k++) worst = fmaxf(worst, fabsf(x[k] - (a_end * x0[k] + s_end * n0[k])));
    if (worst > tol) print_message("%s: max |x - x0| = %g\n", name, worst);
    assert_true(worst <= tol);
    iid__sched_free(s);
}

static void test_ideal_denoiser(void **state)
{
    (void)state;
    run_ideal("euler", 30, 0, 1e-4f);
    run_ideal("heun", 10, 0, 1e-4f);
    run_ideal("dpmpp_2m", 20, 1, 1e-4f);
    run_ideal("dpmpp_2m_karras", 20, 1, 1e-4f);
    run_ideal("deis", 20, 1, 1e-4f);
    run_ideal("lcm", 4, 0, 1e-4f);
    run_ideal("dpmpp_2m_sde_karras", 20, 0, 0.15f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_overrides_resolved),
        cmocka_unit_test(test_unsupported_config), cmocka_unit_test(test_euler_schedule),
        cmocka_unit_test(test_other_schedules), cmocka_unit_test(test_step_contract),
        cmocka_unit_test(test_ideal_denoiser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
