/* support.c - shared-folder lookup, temp dirs, and float helpers for tests. */
#define _XOPEN_SOURCE 700
#include "support.h"
#include "io/file.h"
#include "io/json.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/json.h"

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

int iid_test_kit_heads(void)
{
    iid_json_t j;
    iid_error_t err;
    if (iid__json_load(&j, iid_test_shared_path("conformance/golden/ip_adapter_layout.json"), &err) != IID_OK)
        fail_msg("%s", err.msg);
    const cJSON *hp = cJSON_GetObjectItemCaseSensitive(j.root, "resampler_hyperparameters");
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(hp, "heads");
    assert_true(cJSON_IsNumber(heads));
    int n = (int)heads->valuedouble;
    iid__json_free(&j);
    return n;
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

/* SHA-256 (FIPS 180-4), written for the tests' golden hashes; not fast. */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void iid_test_sha256_hex(const void *data, size_t n, char hex[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; left -= 64, p += 64) sha_block(h, p);
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", h[i]);
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
