/* test_cli_info.c - `instantid info` on the kit's models folder and on broken ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "io/file.h"
#include "support.h"

static char *dir;

static int run(const char *args, char **out)
{
    const char *b = iid_test_binary();
    char cmd[16384], path[4200];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out 2>&1 </dev/null", dir, b, args);
    int rc = system(cmd);
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_equal(iid__file_read_all(path, 1 << 20, out, NULL, NULL), IID_OK);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_kit_models(void **state)
{
    (void)state;
    char args[8192], *out;
    snprintf(args, sizeof args, "info --models '%s'", iid_test_shared_path("conformance/models"));
    assert_int_equal(run(args, &out), 0);
    static const char *const expect[] = {
        "sdxl/text_encoder:", "sdxl/text_encoder_2:", "sdxl/tokenizer:", "sdxl/tokenizer_2:", "sdxl/unet:",
        "sdxl/vae:", "sdxl/scheduler:", "ControlNetModel:", "torch zip pickle", "face detector", "face recogniser",
        "hidden_act=\"quick_gelu\"", "block_out_channels=", "EulerDiscreteScheduler", "parameters: F32",
        "backends: cpu (default) ref", "    ref: plain C loops",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strstr(out, expect[i])) fail_msg("info output lacks '%s':\n%s", expect[i], out);
    assert_null(strstr(out, "missing"));
    free(out);
}

static void test_broken_folders(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run("info --models nowhere", &out), 2);
    assert_non_null(strstr(out, "nowhere: models folder not found"));
    free(out);
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    mkdir(empty, 0755);
    assert_int_equal(run("info --models empty", &out), 1); /* everything missing, each said */
    assert_non_null(strstr(out, "missing"));
    free(out);
    /* A lying weight file is named with its reason; the rest is still described. */
    free(iid_test_write(dir, "bad.bin", "PK\x03\x04garbage", 11));
    char args[8192];
    snprintf(args, sizeof args, "info --models '%s' --ip-adapter bad.bin", iid_test_shared_path("conformance/models"));
    assert_int_equal(run(args, &out), 1);
    assert_non_null(strstr(out, "bad.bin"));
    assert_non_null(strstr(out, "sdxl/unet:"));
    free(out);
}

/* A component that is present but unreadable (a config that is not JSON, an
 * ONNX file that is not ONNX) makes info exit 1, as its help says. */
static void test_unreadable_component_exits_1(void **state)
{
    (void)state;
    const char *kit = iid_test_shared_path("conformance/models");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -rf m && mkdir -p m/ControlNetModel m/antelopev2 && ln -s '%s/sdxl' m/sdxl && "
             "ln -s '%s/ip-adapter.bin' m/ip-adapter.bin && "
             "ln -s '%s/ControlNetModel/diffusion_pytorch_model.safetensors' m/ControlNetModel/ && "
             "cp '%s'/antelopev2/*.onnx m/antelopev2/",
             dir, kit, kit, kit, kit);
    assert_int_equal(system(cmd), 0);
    char *out;
    free(iid_test_write(dir, "m/ControlNetModel/config.json", "{\"in_channels\": 4,", 18));
    assert_int_equal(run("info --models m", &out), 1);
    assert_non_null(strstr(out, "config.json"));
    free(out);
    snprintf(cmd, sizeof cmd, "cp '%s/ControlNetModel/config.json' '%s/m/ControlNetModel/config.json'", kit, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("info --models m", &out), 0); /* the repaired folder is whole again */
    free(out);
    free(iid_test_write(dir, "m/antelopev2/broken.onnx", "\x08\x07garbage", 9));
    assert_int_equal(run("info --models m", &out), 1);
    assert_non_null(strstr(out, "broken.onnx"));
    free(out);
}

/* info reads --config like every command: keys outside a section and in [info];
 * the shared model options (a serve or batch config's) are accepted. */
static void test_config(void **state)
{
    (void)state;
    char ini[8192], *out;
    snprintf(ini, sizeof ini, "threads = 1\nscheduler = euler\n[batch]\nmodels = nowhere\n[info]\nmodels = %s\n",
             iid_test_shared_path("conformance/models"));
    free(iid_test_write(dir, "info.ini", ini, strlen(ini)));
    assert_int_equal(run("info --config info.ini", &out), 0);
    assert_non_null(strstr(out, "sdxl/unet:"));
    free(out);
    assert_int_equal(run("info --config info.ini --models nowhere", &out), 2); /* the command line wins */
    free(out);
    assert_int_equal(run("info --frobnicate", &out), 2);
    assert_string_equal(out, "instantid info: unknown option '--frobnicate' (see --help)\n");
    free(out);
}

int main(void)
{
    iid_test_shared();
    dir = iid_test_tempdir();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kit_models), cmocka_unit_test(test_broken_folders),
                                       cmocka_unit_test(test_unreadable_component_exits_1),
                                       cmocka_unit_test(test_config)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    iid_test_rmtree(dir);
    free(dir);
    return rc;
}
