/*
 * test_infotext.c - the PNG metadata (pipeline/infotext.h) read back by
 * AUTOMATIC1111's rules (a1111_parse.h) for every scheduler: the sampler and
 * schedule A1111 ends up running, numbers that read back to the same double,
 * values holding ',', ':', '"' and newlines, the ControlNet units; and the
 * ComfyUI graph: valid JSON whose nodes are ComfyUI_InstantID's and ComfyUI's
 * own, wired to nodes that exist.
 */
#include <stdlib.h>
#include <string.h>

#include "a1111_parse.h"
#include "pipeline/infotext.h"
#include "pipeline/scheduler.h"
#include "support.h"

/* ComfyUI's names for each of ours. */
static const struct {
    const char *ours, *comfy_sampler, *comfy_scheduler;
} expected[] = {
    {"euler", "euler", "normal"},
    {"heun", "heun", "normal"},
    {"deis", "deis", "normal"},
    {"dpmpp_2m", "dpmpp_2m", "normal"},
    {"dpmpp_2m_karras", "dpmpp_2m", "karras"},
    {"dpmpp_2m_sde_karras", "dpmpp_2m_sde", "karras"},
    {"lcm", "lcm", "sgm_uniform"},
};
#define N_EXPECTED ((int)(sizeof expected / sizeof expected[0]))

static void assert_same_double(const char *text, double want)
{
    assert_non_null(text);
    char *end;
    double got = strtod(text, &end);
    if (*end || got != want) fail_msg("'%s' does not read back as %.17g", text, want);
}

static iid_model_names_t models = {.checkpoint = "sd_xl_base_1.0", .hash = "31e35c80fc"};

static void make(iid_render_params_t *r, iid_infotext_t *t, const char *scheduler)
{
    iid_render_params_init(r);
    r->prompt = "Noir portrait, dramatic: light\nsecond line";
    r->negative = "blurry, \"ugly\": no";
    r->steps = 45;
    r->guidance = 7.3;
    r->identitynet_strength = 1.2345678901234567;
    r->adapter_strength = 0.8;
    r->seed = 18446744073709551615ULL;
    r->scheduler = scheduler;
    *t = (iid_infotext_t){r, 1024, 1280, "Noir, v2: \"dark\"", "my photo, 1.jpg", 17, &models};
}

static void test_every_scheduler_round_trips(void **state)
{
    (void)state;
    int seen = 0;
    for (int i = 0; iid__sched_name_at(i); i++) {
        const char *name = iid__sched_name_at(i);
        const char *want_schedule, *want_sampler = a1111_expected(name, &want_schedule);
        if (!want_sampler) fail_msg("scheduler %s has no expected A1111 name in this test", name);
        seen++;
        iid_render_params_t r;
        iid_infotext_t t;
        make(&r, &t, name);
        char *text = iid__infotext_a1111(&t);
        assert_non_null(text);
        a1111_params_t p;
        a1111_parse(text, &p);
        assert_string_equal(p.prompt, r.prompt);
        assert_string_equal(p.negative, r.negative);
        char sampler[64];
        const char *schedule;
        a1111_sampler_and_schedule(a1111_get(&p, "Sampler"), a1111_get(&p, "Schedule type"), sampler, sizeof sampler,
                                   &schedule);
        if (strcmp(sampler, want_sampler) != 0 || strcmp(schedule, want_schedule) != 0)
            fail_msg("%s pastes into A1111 as %s / %s, expected %s / %s\n%s", name, sampler, schedule, want_sampler,
                     want_schedule, text);
        assert_string_equal(a1111_get(&p, "Steps"), "45");
        assert_same_double(a1111_get(&p, "CFG scale"), 7.3);
        assert_string_equal(a1111_get(&p, "Seed"), "18446744073709551615");
        assert_string_equal(a1111_get(&p, "Size-1"), "1024");
        assert_string_equal(a1111_get(&p, "Size-2"), "1280");
        assert_string_equal(a1111_get(&p, "Model hash"), "31e35c80fc");
        assert_string_equal(a1111_get(&p, "Model"), "sd_xl_base_1.0");
        assert_string_equal(a1111_get(&p, "Style"), "Noir, v2: \"dark\"");
        assert_string_equal(a1111_get(&p, "Face image"), "my photo, 1.jpg");
        assert_string_equal(a1111_get(&p, "Job id"), "17");
        assert_string_equal(a1111_get(&p, "Enhance non-face region"), "True");
        assert_same_double(a1111_get(&p, "IdentityNet strength"), r.identitynet_strength);
        assert_same_double(a1111_get(&p, "Adapter strength"), 0.8);
        assert_non_null(strstr(text, "Adapter strength: 0.8,")); /* shortest, not 0.800000011920929 */
        assert_string_equal(a1111_get(&p, "Version"), "instantid " IID_VERSION);
        char v[128];
        assert_non_null(a1111_get(&p, "ControlNet 0"));
        assert_int_equal(a1111_controlnet_unit(a1111_get(&p, "ControlNet 0"), "Module", v, sizeof v), 0);
        assert_string_equal(v, "instant_id_face_embedding");
        a1111_controlnet_unit(a1111_get(&p, "ControlNet 0"), "Weight", v, sizeof v);
        assert_same_double(v, 0.8);
        assert_int_equal(a1111_controlnet_unit(a1111_get(&p, "ControlNet 1"), "Module", v, sizeof v), 0);
        assert_string_equal(v, "instant_id_face_keypoints");
        a1111_controlnet_unit(a1111_get(&p, "ControlNet 1"), "Weight", v, sizeof v);
        assert_same_double(v, r.identitynet_strength);
        a1111_free(&p);
        free(text);
    }
    assert_int_equal(seen, N_EXPECTED);
}

static void test_empty_negative_and_unknowns(void **state)
{
    (void)state;
    iid_render_params_t r;
    iid_infotext_t t;
    make(&r, &t, "euler");
    r.negative = "";
    r.face_mask = 0;
    t.style = NULL;
    t.face_name = "\"quoted\"";  /* whole-value quotes: A1111 would strip them unless we quote */
    t.job_id = -1;
    t.models = NULL;
    char *text = iid__infotext_a1111(&t);
    assert_null(strstr(text, "Negative prompt"));
    a1111_params_t p;
    a1111_parse(text, &p);
    assert_string_equal(p.negative, "");
    assert_string_equal(p.prompt, r.prompt);
    assert_null(a1111_get(&p, "Style"));
    assert_string_equal(a1111_get(&p, "Face image"), "\"quoted\"");
    assert_null(a1111_get(&p, "Model hash"));
    assert_null(a1111_get(&p, "Job id"));
    assert_string_equal(a1111_get(&p, "Enhance non-face region"), "False");
    a1111_free(&p);
    free(text);
}

/* The node of the graph named by a link ["id", slot]; fails unless it exists. */
static const cJSON *linked(const cJSON *g, const cJSON *inputs, const char *name)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(inputs, name);
    if (!cJSON_IsArray(l) || cJSON_GetArraySize(l) != 2 || !cJSON_IsString(cJSON_GetArrayItem(l, 0)) ||
        !cJSON_IsNumber(cJSON_GetArrayItem(l, 1)))
        fail_msg("input %s is not a link", name);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(g, cJSON_GetArrayItem(l, 0)->valuestring);
    if (!n) fail_msg("input %s links to a missing node", name);
    return n;
}

static const char *class_of(const cJSON *n) { return cJSON_GetObjectItemCaseSensitive(n, "class_type")->valuestring; }

static const cJSON *find_class(const cJSON *g, const char *cls)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, g) if (strcmp(class_of(n), cls) == 0) return n;
    fail_msg("no %s node", cls);
    return NULL;
}

static void test_comfyui_graph(void **state)
{
    (void)state;
    for (int e = 0; e < N_EXPECTED; e++) {
        iid_render_params_t r;
        iid_infotext_t t;
        make(&r, &t, expected[e].ours);
        char *json = iid__infotext_comfyui(&t);
        cJSON *g = cJSON_Parse(json);
        if (!g) fail_msg("not JSON: %s", json);
        const cJSON *n;
        cJSON_ArrayForEach(n, g)
        {
            assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(n, "class_type")));
            assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(n, "inputs")));
        }
        const cJSON *apply = cJSON_GetObjectItemCaseSensitive(find_class(g, "ApplyInstantIDAdvanced"), "inputs");
        assert_string_equal(class_of(linked(g, apply, "instantid")), "InstantIDModelLoader");
        assert_string_equal(class_of(linked(g, apply, "insightface")), "InstantIDFaceAnalysis");
        assert_string_equal(class_of(linked(g, apply, "control_net")), "ControlNetLoader");
        assert_string_equal(class_of(linked(g, apply, "image")), "LoadImage");
        assert_string_equal(class_of(linked(g, apply, "model")), "CheckpointLoaderSimple");
        assert_string_equal(class_of(linked(g, apply, "positive")), "CLIPTextEncode");
        assert_true(cJSON_GetObjectItemCaseSensitive(apply, "ip_weight")->valuedouble == 0.8);
        assert_true(cJSON_GetObjectItemCaseSensitive(apply, "cn_strength")->valuedouble == r.identitynet_strength);
        const cJSON *image = cJSON_GetObjectItemCaseSensitive(linked(g, apply, "image"), "inputs");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(image, "image")->valuestring, "my photo, 1.jpg");
        const cJSON *ks = cJSON_GetObjectItemCaseSensitive(find_class(g, "KSampler"), "inputs");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(ks, "sampler_name")->valuestring, expected[e].comfy_sampler);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(ks, "scheduler")->valuestring, expected[e].comfy_scheduler);
        assert_string_equal(class_of(linked(g, ks, "model")), "ApplyInstantIDAdvanced");
        assert_string_equal(class_of(linked(g, ks, "latent_image")), "EmptyLatentImage");
        assert_non_null(strstr(json, "\"seed\":18446744073709551615")); /* exact, not through a double */
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(linked(g, apply, "positive"), "inputs");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(text, "text")->valuestring, r.prompt);
        const cJSON *save = cJSON_GetObjectItemCaseSensitive(find_class(g, "SaveImage"), "inputs");
        assert_string_equal(class_of(linked(g, save, "images")), "VAEDecode");
        cJSON_Delete(g);
        free(json);
    }
}

/* LoRAs: A1111's <lora:NAME:M> after the prompt; in ComfyUI a LoraLoader chain
 * feeding the model and the text encoders, the prompt text itself untouched. */
static void test_loras(void **state)
{
    (void)state;
    iid_model_names_t with = models;
    with.n_loras = 2;
    snprintf(with.loras[0].name, sizeof with.loras[0].name, "detail");
    snprintf(with.loras[0].multiplier, sizeof with.loras[0].multiplier, "0.7");
    snprintf(with.loras[1].name, sizeof with.loras[1].name, "lcm-lora-sdxl");
    snprintf(with.loras[1].multiplier, sizeof with.loras[1].multiplier, "1");
    iid_render_params_t r;
    iid_infotext_t t;
    make(&r, &t, "lcm");
    t.models = &with;
    char *text = iid__infotext_a1111(&t);
    assert_non_null(strstr(text, "second line <lora:detail:0.7> <lora:lcm-lora-sdxl:1>\nNegative prompt: "));
    free(text);
    char *json = iid__infotext_comfyui(&t);
    cJSON *g = cJSON_Parse(json);
    assert_non_null(g);
    const cJSON *apply = cJSON_GetObjectItemCaseSensitive(find_class(g, "ApplyInstantIDAdvanced"), "inputs");
    const cJSON *last = linked(g, apply, "model");
    assert_string_equal(class_of(last), "LoraLoader");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(last, "inputs");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(in, "lora_name")->valuestring, "lcm-lora-sdxl.safetensors");
    const cJSON *first = linked(g, in, "model");
    in = cJSON_GetObjectItemCaseSensitive(first, "inputs");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(in, "lora_name")->valuestring, "detail.safetensors");
    assert_true(cJSON_GetObjectItemCaseSensitive(in, "strength_model")->valuedouble == 0.7);
    assert_true(cJSON_GetObjectItemCaseSensitive(in, "strength_clip")->valuedouble == 0.7);
    assert_string_equal(class_of(linked(g, in, "clip")), "CheckpointLoaderSimple");
    const cJSON *enc = linked(g, apply, "positive");
    assert_true(linked(g, cJSON_GetObjectItemCaseSensitive(enc, "inputs"), "clip") == last);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(enc, "inputs"), "text")->valuestring,
                        r.prompt);
    cJSON_Delete(g);
    free(json);
}

/* The parser itself against A1111's documented behaviour on its own example. */
static void test_parser_on_a1111_example(void **state)
{
    (void)state;
    a1111_params_t p;
    a1111_parse("girl, blue eyes\nNegative prompt: ugly, fat\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
                "Seed: 965400086, Size: 512x512, Model hash: 45dee52b, Lora hashes: \"a: 1, b: 2\"",
                &p);
    assert_string_equal(p.prompt, "girl, blue eyes");
    assert_string_equal(p.negative, "ugly, fat");
    assert_string_equal(a1111_get(&p, "Lora hashes"), "a: 1, b: 2");
    assert_string_equal(a1111_get(&p, "Size-2"), "512");
    char sampler[64];
    const char *schedule;
    a1111_sampler_and_schedule("DPM++ 2M Karras", NULL, sampler, sizeof sampler, &schedule); /* old infotexts */
    assert_string_equal(sampler, "DPM++ 2M");
    assert_string_equal(schedule, "Karras");
    a1111_sampler_and_schedule("DPM++ 2M", "Automatic", sampler, sizeof sampler, &schedule);
    assert_string_equal(schedule, "Karras"); /* why we always write the schedule */
    a1111_free(&p);
    a1111_parse("only a prompt, with: colons", &p); /* fewer than 3 pairs: a prompt line */
    assert_string_equal(p.prompt, "only a prompt, with: colons");
    assert_int_equal(p.n, 0);
    a1111_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_on_a1111_example),
        cmocka_unit_test(test_every_scheduler_round_trips),
        cmocka_unit_test(test_empty_negative_and_unknowns),
        cmocka_unit_test(test_comfyui_graph),
        cmocka_unit_test(test_loras),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
