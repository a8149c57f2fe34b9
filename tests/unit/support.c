/* support.c - shared-folder lookup, temp dirs, and float helpers for tests. */
#define _XOPEN_SOURCE 700
#include "support.h"
#include "io/file.h"
#include "io/json.h"

#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/json.h"

/* Set when a case skipped; read once, by iid_test_exit_code at the end of main. */
static int skipped_cases;

void iid_test_note_skip(void) { skipped_cases++; }

int iid_test_exit_code(int failed)
{
    if (failed == 0 && skipped_cases) {
        printf("SKIP: %d test case(s) skipped (see the SKIP lines above)\n", skipped_cases);
        return 77;
    }
    return failed;
}

const char *iid_test_shared(void)
{
    static char path[4096];
    const char *env = getenv("IID_SHARED");
    snprintf(path, sizeof path, "%s", env && *env ? env : "../shared");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: the shared folder '%s' is absent (set IID_SHARED)\n", path);
        exit(77);
    }
    return path;
}

const char *iid_test_binary(void)
{
    const char *b = getenv("IID_BINARY");
    if (!b || !*b) {
        printf("SKIP: IID_BINARY is not set (run under CTest)\n");
        exit(77);
    }
    return b;
}

int iid_test_run_binary(const char *dir, const char *args)
{
    const char *bin = iid_test_binary();
    size_t n = strlen(dir) + strlen(bin) + strlen(args) + 64;
    char *cmd = malloc(n);
    assert_non_null(cmd);
    snprintf(cmd, n, "cd '%s' && '%s' %s >stdout.txt 2>stderr.txt </dev/null", dir, bin, args);
    int rc = system(cmd);
    free(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

double iid_test_time_scale(void)
{
    const char *env = getenv("IID_TEST_TIME_SCALE");
    double s = env ? strtod(env, NULL) : 0.0;
    return s > 0.0 ? s : 1.0;
}

char *iid_test_slurp(const char *path)
{
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)(n > 0 ? n : 0) + 1);
    assert_non_null(text);
    size_t got = fread(text, 1, (size_t)(n > 0 ? n : 0), f);
    text[got] = '\0';
    fclose(f);
    return text;
}

int iid_test_count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    return n;
}

const char *iid_test_shared_path(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", iid_test_shared(), rel);
    return path;
}

char *iid_test_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/iid-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    return dir ? strdup(dir) : NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void iid_test_rmtree(const char *dir)
{
    if (dir) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *iid_test_write(const char *dir, const char *name, const void *data, size_t size)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (!path) return NULL;
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(path);
        return NULL;
    }
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

char *iid_test_copy_shared(const char *rel, const char *dir, const char *as)
{
    char *data;
    size_t n;
    iid_error_t err;
    if (iid__file_read_all(iid_test_shared_path(rel), (size_t)1 << 26, &data, &n, &err) != IID_OK)
        fail_msg("%s", err.msg);
    mkdir(dir, 0755);
    char *path = iid_test_write(dir, as, data, n);
    assert_non_null(path);
    free(data);
    return path;
}

float iid_test_max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

void iid_test_fill_random(float *x, size_t n, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
}

static size_t test_dtype_size(const char *dtype)
{
    if (strcmp(dtype, "F64") == 0 || strcmp(dtype, "I64") == 0) return 8;
    if (strcmp(dtype, "F32") == 0 || strcmp(dtype, "I32") == 0) return 4;
    if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0) return 2;
    return 1;
}

char *iid_test_write_safetensors(const char *dir, const char *name, const iid_test_tensor_t *t, int n)
{
    size_t cap = 64 + (size_t)n * 256, hl = 0, off = 0;
    char *hdr = malloc(cap);
    if (!hdr) return NULL;
    hl += (size_t)snprintf(hdr + hl, cap - hl, "{");
    size_t *bytes = calloc((size_t)(n ? n : 1), sizeof *bytes);
    for (int i = 0; i < n && bytes; i++) {
        size_t numel = 1;
        char shape[128];
        size_t sl = (size_t)snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < t[i].ndim; d++) {
            numel *= (size_t)t[i].shape[d];
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        }
        snprintf(shape + sl, sizeof shape - sl, "]");
        bytes[i] = numel * test_dtype_size(t[i].dtype);
        hl += (size_t)snprintf(hdr + hl, cap - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                               i ? "," : "", t[i].name, t[i].dtype, shape, off, off + bytes[i]);
        off += bytes[i];
    }
    hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
    unsigned char *buf = bytes ? malloc(8 + hl + (off ? off : 1)) : NULL;
    char *path = NULL;
    if (buf) {
        for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(((uint64_t)hl >> (8 * i)) & 0xff);
        memcpy(buf + 8, hdr, hl);
        size_t at = 8 + hl;
        for (int i = 0; i < n; i++) {
            if (bytes[i]) memcpy(buf + at, t[i].data, bytes[i]);
            at += bytes[i];
        }
        path = iid_test_write(dir, name, buf, at);
    }
    free(buf);
    free(bytes);
    free(hdr);
    return path;
}

int iid_test_kit_resampler_heads(void)
{
    iid_json_t j;
    if (iid__json_load(&j, iid_test_shared_path("conformance/golden/ip_adapter_layout.json"), NULL) != IID_OK)
        fail_msg("cannot read the kit's ip_adapter_layout.json");
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j.root, "resampler_hyperparameters");
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(hp, "heads");
    int n = cJSON_IsNumber(heads) ? (int)heads->valuedouble : 0;
    iid__json_free(&j);
    if (n <= 0) fail_msg("ip_adapter_layout.json: no resampler_hyperparameters.heads");
    return n;
}

void iid_test_link_lcm_lora(const char *models_dir)
{
    char link[PATH_MAX + 64], target[PATH_MAX];
    snprintf(link, sizeof link, "%s/lcm-lora-sdxl", models_dir);
    assert_int_equal(mkdir(link, 0755), 0);
    snprintf(link, sizeof link, "%s/lcm-lora-sdxl/pytorch_lora_weights.safetensors", models_dir);
    assert_non_null(realpath(iid_test_shared_path("conformance/lora/lora_kohya.safetensors"), target));
    assert_int_equal(symlink(target, link), 0);
}

long iid_test_mapping_rss_kb(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    long kb = -1;
    int in = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) in = lo == (uintptr_t)p;
        else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1) break;
    }
    fclose(f);
    return kb;
}
