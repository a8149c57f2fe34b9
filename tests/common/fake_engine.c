/* fake_engine.c - the test double engine (fake_engine.h). */
#define _POSIX_C_SOURCE 200809L
#include "fake_engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "io/file.h"
#include "io/image.h"

static const char *const fake_styles[] = {"(No style)", "Watercolor", "Film Noir", "Neon", "Jungle",
                                          "Mars",       "Vibrant Color", "Snow", "Line art"};
static const char *const fake_schedulers[] = {"euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras"};

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

/* Write a chunk (length, type, data, CRC) at p; returns the end. */
static unsigned char *chunk(unsigned char *p, const char *type, const unsigned char *data, size_t n)
{
    p = put32(p, (uint32_t)n);
    memcpy(p, type, 4);
    if (n) memcpy(p + 4, data, n);
    uint32_t crc = crc32_of(p, n + 4);
    return put32(p + 4 + n, crc);
}

unsigned char *iid_fake_png(int w, int h, uint32_t seed, size_t *size)
{
    size_t row = (size_t)w * 3 + 1, raw_n = row * (size_t)h;
    size_t blocks = raw_n / 65535 + 1;
    size_t z_n = 2 + raw_n + blocks * 5 + 4;
    unsigned char *raw = malloc(raw_n), *z = malloc(z_n), *png = malloc(8 + 25 + 12 + z_n + 12);
    if (!raw || !z || !png) {
        free(raw);
        free(z);
        free(png);
        return NULL;
    }
    for (int y = 0; y < h; y++) {
        unsigned char *r = raw + (size_t)y * row;
        r[0] = 0;
        for (int x = 0; x < w; x++) {
            r[1 + 3 * x] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            r[2 + 3 * x] = (unsigned char)(y * 255 / (h > 1 ? h - 1 : 1));
            r[3 + 3 * x] = (unsigned char)(seed * 37u);
        }
    }
    unsigned char *q = z;
    *q++ = 0x78;
    *q++ = 0x01;
    uint32_t a = 1, b = 0;
    for (size_t off = 0; off < raw_n;) {
        size_t n = raw_n - off > 65535 ? 65535 : raw_n - off;
        *q++ = off + n == raw_n ? 1 : 0;
        *q++ = (unsigned char)n;
        *q++ = (unsigned char)(n >> 8);
        *q++ = (unsigned char)~n;
        *q++ = (unsigned char)(~n >> 8);
        memcpy(q, raw + off, n);
        q += n;
        for (size_t i = 0; i < n; i++) {
            a = (a + raw[off + i]) % 65521u;
            b = (b + a) % 65521u;
        }
        off += n;
    }
    q = put32(q, (b << 16) | a);
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    memcpy(ihdr + 8, "\x08\x02\x00\x00\x00", 5);
    unsigned char *p = png;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p = chunk(p + 8, "IHDR", ihdr, 13);
    p = chunk(p, "IDAT", z, (size_t)(q - z));
    p = chunk(p, "IEND", NULL, 0);
    *size = (size_t)(p - png);
    free(raw);
    free(z);
    return png;
}

static int has_bytes(const unsigned char *d, size_t n, const char *what, size_t wn)
{
    for (size_t i = 0; i + wn <= n; i++)
        if (memcmp(d + i, what, wn) == 0) return 1;
    return 0;
}

/* The fake's own quick verdicts (with the messages the API test looks for),
 * then the real decoder's for the rest: GIF, animated WebP, too many pixels,
 * text. */
static iid_status check_image(const char *field, const unsigned char *d, size_t n, iid_error_t *err)
{
    if (n == 0) return iid__fail(err, IID_ERR_FORMAT, "%s: empty file", field);
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0 && !has_bytes(d, n, "IEND", 4))
        return iid__fail(err, IID_ERR_FORMAT, "%s: truncated PNG (no IEND chunk)", field);
    if (n >= 3 && memcmp(d, "\xff\xd8\xff", 3) == 0 &&
        !has_bytes(d + (n > 64 ? n - 64 : 0), n > 64 ? 64 : n, "\xff\xd9", 2))
        return iid__fail(err, IID_ERR_FORMAT, "%s: truncated JPEG (no end marker)", field);
    iid_image_t img;
    iid_status s = iid__image_decode(&img, d, n, field, NULL, err);
    iid__image_free(&img);
    return s;
}

/* What a real engine would say about the request's images. */
static iid_status verdict(const iid_gen_request_t *req, iid_error_t *err)
{
    IID_TRY(check_image("face", req->face, req->face_size, err));
    if (req->pose) IID_TRY(check_image("pose", req->pose, req->pose_size, err));
    if (strncmp(req->face_name, "noface", 6) == 0)
        return iid__fail(err, IID_ERR_NO_FACE, "face: no face detected in %s", req->face_name);
    return IID_OK;
}

static iid_status fake_check(void *ctx, const iid_gen_request_t *req, iid_error_t *err)
{
    iid_fake_engine_t *f = ctx;
    atomic_fetch_add(&f->checking, 1);
    if (strncmp(req->face_name, "slow", 4) == 0) {
        struct timespec nap = {0, 10 * 1000000L};
        for (int waited = 0; waited < f->slow_check_ms && !atomic_load(&f->release_slow); waited += 10)
            nanosleep(&nap, NULL);
    }
    iid_status s = verdict(req, err);
    atomic_fetch_sub(&f->checking, 1);
    return s;
}

static iid_status fake_generate(void *ctx, const iid_gen_request_t *req, iid_gen_progress_fn progress,
                                void *progress_user, const char *out_png_path, iid_error_t *err)
{
    iid_fake_engine_t *f = ctx;
    IID_TRY(verdict(req, err));
    struct timespec nap = {f->step_delay_ms / 1000, (long)(f->step_delay_ms % 1000) * 1000000L};
    for (int i = 1; i <= req->steps; i++) {
        if (f->step_delay_ms > 0) nanosleep(&nap, NULL);
        if (progress(progress_user, i, req->steps)) return iid__fail(err, IID_ERR_INTERRUPTED, "stopped at step %d", i);
    }
    int w = req->width ? req->width / 4 : 192, h = req->height ? req->height / 4 : 192;
    size_t n;
    unsigned char *png = iid_fake_png(w, h, (uint32_t)req->seed, &n);
    if (!png) return iid__fail(err, IID_ERR_NOMEM, "fake engine: out of memory");
    iid_status s = iid__file_write_atomic(out_png_path, png, n, err);
    free(png);
    if (s == IID_OK) f->generated++;
    return s;
}

static iid_status fake_catalog(void *ctx, iid_engine_catalog_t *out, iid_error_t *err)
{
    out->styles = fake_styles;
    out->n_styles = (int)(sizeof fake_styles / sizeof fake_styles[0]);
    out->default_style = "Watercolor";
    out->schedulers = fake_schedulers;
    out->n_schedulers = (int)(sizeof fake_schedulers / sizeof fake_schedulers[0]);
    out->default_scheduler = "euler";
    return IID_OK;
}

void iid_fake_engine_init(iid_fake_engine_t *f, int step_delay_ms, iid_server_engine_t *engine)
{
    memset(f, 0, sizeof *f);
    f->step_delay_ms = step_delay_ms;
    engine->ctx = f;
    engine->generate = fake_generate;
    engine->check = fake_check;
    engine->catalog = fake_catalog;
}
