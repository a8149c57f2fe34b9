/* file_hash.c - streamed SHA-256 of a file (see file_hash.h). */
#include "io/file_hash.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_CHUNK ((size_t)1 << 20)

iid_status iid__file_sha256_hex(const char *path, char hex[65], iid_error_t *err)
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char *buf = malloc(HASH_CHUNK);
    if (!buf) {
        fclose(f);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    size_t n;
    while ((n = fread(buf, 1, HASH_CHUNK, f)) > 0) sha256_update(&ctx, n, buf);
    int bad = ferror(f);
    fclose(f);
    free(buf);
    if (bad) return iid__fail(err, IID_ERR_IO, "%s: read error", path);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return IID_OK;
}

iid_status iid__a1111_model_hash(const char *path, char out[11], iid_error_t *err)
{
    char hex[65];
    out[0] = '\0';
    IID_TRY(iid__file_sha256_hex(path, hex, err));
    memcpy(out, hex, 10);
    out[10] = '\0';
    return IID_OK;
}
