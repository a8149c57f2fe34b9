/* sha256.c - SHA-256 of files and buffers through nettle (see sha256.h). */
#include "io/sha256.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

void iid__sha256_bytes(const void *data, size_t size, char hex[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, size, data);
    sha256_digest(&ctx, sizeof digest, digest);
    to_hex(digest, hex);
}

iid_status iid__sha256_file(const char *path, char hex[65], iid_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        fclose(f);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) sha256_update(&ctx, n, buf);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad) return iid__fail(err, IID_ERR_IO, "%s: read error", path);
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    to_hex(digest, hex);
    return IID_OK;
}
