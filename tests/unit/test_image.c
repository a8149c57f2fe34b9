/* test_image.c - decoding: every file of assets/bad-inputs one by one (messages or
 * pixels checked against what Pillow recorded in observed.json), EXIF orientation
 * (all 8 values, end to end through a JPEG APP1), PNG colour types made here with
 * libpng, WebP lossless+alpha, limits, truncation at every cut, sniffing. */
#include <cjson/cJSON.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

#include "io/file.h"
#include "io/image.h"
#include "support.h"

static const char *bad(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/assets/bad-inputs/%s", iid_test_shared(), name);
    return path;
}

static char *slurp(const char *path, size_t *n)
{
    char *d;
    iid_error_t err;
    if (iid__file_read_all(path, 1 << 26, &d, n, &err) != IID_OK) fail_msg("%s", err.msg);
    return d;
}

/* The files that must fail, with the exact reason after "<path>: ". */
static const struct {
    const char *file;
    iid_status code;
    const char *reason;
} bad_files[] = {
    {"zero_bytes.jpg", IID_ERR_FORMAT, "empty file"},
    {"truncated_header.jpg", IID_ERR_FORMAT, "truncated JPEG data (ends inside the headers)"},
    {"truncated_half.jpg", IID_ERR_FORMAT, "truncated JPEG data"},
    {"truncated.png", IID_ERR_FORMAT, "truncated PNG data"},
    {"text_named.png", IID_ERR_FORMAT, "not an image (looks like text)"},
    {"animated_2frames.gif", IID_ERR_UNSUPPORTED, "unsupported format (GIF)"},
    {"huge_dims_100000x100000.png", IID_ERR_RANGE, "100000x100000 exceeds the 50-megapixel limit"},
};

static void test_bad_inputs_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        iid_image_t img;
        iid_error_t err;
        const char *path = bad(bad_files[i].file);
        assert_int_equal(iid__image_load(&img, path, NULL, &err), bad_files[i].code);
        char want[4096 + 128];
        snprintf(want, sizeof want, "%s: %s", path, bad_files[i].reason);
        assert_string_equal(err.msg, want);
        assert_null(img.data);
        assert_null(strchr(err.msg, '\n'));
    }
}

/* Every other file decodes to the size OpenCV reported (orientation applied) and
 * to the channel means Pillow's convert("RGB") gave, to the recorded 2 decimals. */
static void test_bad_inputs_valid(void **state)
{
    (void)state;
    size_t n;
    char *text = slurp(bad("observed.json"), &n);
    cJSON *obs = cJSON_Parse(text);
    free(text);
    assert_non_null(obs);
    const cJSON *f;
    int decoded = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(obs, "files"))
    {
        int is_bad = 0;
        for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++)
            is_bad |= strcmp(f->string, bad_files[i].file) == 0;
        if (is_bad) continue;
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(f, "cv2_imread");
        const cJSON *pil = cJSON_GetObjectItemCaseSensitive(f, "pillow");
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(pil, "convert_rgb_mean");
        if (!cJSON_IsObject(cv) || !cJSON_IsArray(mean)) fail_msg("%s: unexpected observation", f->string);
        iid_image_t img;
        iid_error_t err;
        if (iid__image_load(&img, bad(f->string), NULL, &err) != IID_OK) fail_msg("%s", err.msg);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cv, "shape");
        assert_int_equal(img.height, cJSON_GetArrayItem(shape, 0)->valueint);
        assert_int_equal(img.width, cJSON_GetArrayItem(shape, 1)->valueint);
        assert_int_equal(img.channels, 3);
        size_t px = (size_t)img.width * img.height;
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (size_t k = 0; k < px; k++) s += img.data[k * 3 + c];
            double want = cJSON_GetArrayItem(mean, c)->valuedouble;
            if (fabs(s / (double)px - want) > 0.005 + 1e-9)
                fail_msg("%s: channel %d mean %.4f, Pillow %.2f", f->string, c, s / (double)px, want);
        }
        iid__image_free(&img);
        decoded++;
    }
    cJSON_Delete(obs);
    assert_int_equal(decoded, 12);
}

/* exif_orientation_6.jpg is UPPERCASE_EXT.JPG's picture stored sideways: upright
 * it must be close to it (JPEG re-encoding differs by a few levels); the opposite
 * rotation is far off. */
static void test_exif_file_upright(void **state)
{
    (void)state;
    iid_image_t a, b;
    iid_error_t err;
    assert_int_equal(iid__image_load(&a, bad("UPPERCASE_EXT.JPG"), NULL, &err), IID_OK);
    assert_int_equal(iid__image_load(&b, bad("exif_orientation_6.jpg"), NULL, &err), IID_OK);
    assert_int_equal(b.width, 256);
    assert_int_equal(b.height, 300);
    size_t n = (size_t)a.width * a.height * 3;
    double d = 0;
    for (size_t i = 0; i < n; i++) d += abs(a.data[i] - b.data[i]);
    assert_true(d / (double)n < 3.0);
    assert_int_equal(iid__image_orient(&b, 3, &err), IID_OK); /* upside down */
    d = 0;
    for (size_t i = 0; i < n; i++) d += abs(a.data[i] - b.data[i]);
    assert_true(d / (double)n > 15.0);
    iid__image_free(&a);
    iid__image_free(&b);
}

/* The 8 orientations on a 3x2 image whose pixels hold their own index. */
static void test_orient_semantics(void **state)
{
    (void)state;
    /* src (3 wide, 2 high):  0 1 2
     *                        3 4 5 */
    static const uint8_t want[9][6] = {
        {0},
        {0, 1, 2, 3, 4, 5}, /* 1: as stored */
        {2, 1, 0, 5, 4, 3}, /* 2: mirrored left-right */
        {5, 4, 3, 2, 1, 0}, /* 3: rotated 180 */
        {3, 4, 5, 0, 1, 2}, /* 4: mirrored top-bottom */
        {0, 3, 1, 4, 2, 5}, /* 5: transposed (2 wide, 3 high) */
        {3, 0, 4, 1, 5, 2}, /* 6: rotated 90 clockwise */
        {5, 2, 4, 1, 3, 0}, /* 7: transverse */
        {2, 5, 1, 4, 0, 3}, /* 8: rotated 90 counter-clockwise */
    };
    for (int o = 1; o <= 8; o++) {
        iid_image_t img;
        iid_error_t err;
        assert_int_equal(iid__image_alloc(&img, 3, 2, 1, &err), IID_OK);
        for (int i = 0; i < 6; i++) img.data[i] = (uint8_t)i;
        assert_int_equal(iid__image_orient(&img, o, &err), IID_OK);
        assert_int_equal(img.width, o >= 5 ? 2 : 3);
        assert_int_equal(img.height, o >= 5 ? 3 : 2);
        assert_memory_equal(img.data, want[o], 6);
        iid__image_free(&img);
    }
}

/* A JPEG with an APP1 Exif segment (TIFF in the given byte order) inserted after SOI. */
static uint8_t *with_exif(const uint8_t *jpg, size_t n, int orientation, int little, size_t *out_n)
{
    uint8_t tiff[26];
    int k = 0;
    memcpy(tiff, little ? "II*\0" : "MM\0*", 4), k = 4;
    const uint8_t ifd_le[] = {8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0};
    const uint8_t ifd_be[] = {0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1};
    memcpy(tiff + k, little ? ifd_le : ifd_be, 14), k += 14;
    tiff[k++] = little ? (uint8_t)orientation : 0;
    tiff[k++] = little ? 0 : (uint8_t)orientation;
    memset(tiff + k, 0, 6), k += 6; /* value padding, next IFD = 0 */
    size_t seg = 2 + 6 + (size_t)k;
    *out_n = n + 2 + seg;
    uint8_t *o = malloc(*out_n);
    memcpy(o, jpg, 2);
    o[2] = 0xff, o[3] = 0xe1, o[4] = (uint8_t)(seg >> 8), o[5] = (uint8_t)seg;
    memcpy(o + 6, "Exif\0\0", 6);
    memcpy(o + 12, tiff, (size_t)k);
    memcpy(o + 12 + k, jpg + 2, n - 2);
    return o;
}

static void test_exif_all_orientations_jpeg(void **state)
{
    (void)state;
    size_t n;
    char *jpg = slurp(bad("UPPERCASE_EXT.JPG"), &n);
    iid_image_t plain;
    iid_error_t err;
    assert_int_equal(iid__image_decode(&plain, jpg, n, "plain", NULL, &err), IID_OK);
    for (int o = 1; o <= 8; o++) {
        for (int little = 0; little < 2; little++) {
            size_t m;
            uint8_t *e = with_exif((const uint8_t *)jpg, n, o, little, &m);
            iid_image_t got, want;
            assert_int_equal(iid__image_decode(&got, e, m, "exif", NULL, &err), IID_OK);
            assert_int_equal(iid__image_alloc(&want, plain.width, plain.height, 3, &err), IID_OK);
            memcpy(want.data, plain.data, (size_t)plain.width * plain.height * 3);
            assert_int_equal(iid__image_orient(&want, o, &err), IID_OK);
            assert_int_equal(got.width, want.width);
            assert_int_equal(got.height, want.height);
            assert_memory_equal(got.data, want.data, (size_t)got.width * got.height * 3);
            iid__image_free(&got);
            iid__image_free(&want);
            free(e);
        }
    }
    iid__image_free(&plain);
    free(jpg);
}

static void test_exif_parser_bounds(void **state)
{
    (void)state;
    const uint8_t ok[] = {'M', 'M', 0, '*', 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0};
    assert_int_equal(iid__exif_orientation(ok, sizeof ok), 6);
    for (size_t cut = 0; cut < sizeof ok; cut++) assert_int_equal(iid__exif_orientation(ok, cut), 1);
    uint8_t far[sizeof ok];
    memcpy(far, ok, sizeof ok);
    far[4] = 0x7f; /* IFD offset far outside */
    assert_int_equal(iid__exif_orientation(far, sizeof far), 1);
    memcpy(far, ok, sizeof ok);
    far[19] = 9; /* not a valid orientation */
    assert_int_equal(iid__exif_orientation(far, sizeof far), 1);
    memcpy(far, ok, sizeof ok);
    far[8] = 0xff; /* 65280 entries claimed: the first is read, then the walk stops */
    assert_int_equal(iid__exif_orientation(far, sizeof far), 6);
    far[10] = 0x02; /* tag 0x0212, not the orientation */
    assert_int_equal(iid__exif_orientation(far, sizeof far), 1);
    assert_int_equal(iid__exif_orientation(NULL, 0), 1);
}

/* --- PNG files of every colour type, written here with libpng --- */

typedef struct membuf {
    uint8_t *d;
    size_t n, cap;
} membuf_t;

static void mem_write(png_structp png, png_bytep p, size_t len)
{
    membuf_t *m = png_get_io_ptr(png);
    if (m->n + len > m->cap) {
        m->cap = (m->n + len) * 2;
        m->d = realloc(m->d, m->cap);
    }
    memcpy(m->d + m->n, p, len);
    m->n += len;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* Encode w x h samples (rows packed as libpng expects for the type and depth). */
static membuf_t make_png_exif(int w, int h, int color, int depth, int interlace, const uint8_t *rows_data,
                              const png_color *pal, int npal, const uint8_t *trns, int ntrns, const uint8_t *exif,
                              int nexif)
{
    membuf_t m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) fail_msg("libpng write failed");
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    if (exif) png_set_eXIf_1(png, info, (png_uint_32)nexif, (png_bytep)exif);
    png_write_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)rows_data + (size_t)y * rb;
    png_write_image(png, rows);
    png_write_end(png, info);
    free(rows);
    png_destroy_write_struct(&png, &info);
    return m;
}

static membuf_t make_png(int w, int h, int color, int depth, int interlace, const uint8_t *rows_data,
                         const png_color *pal, int npal, const uint8_t *trns, int ntrns)
{
    return make_png_exif(w, h, color, depth, interlace, rows_data, pal, npal, trns, ntrns, NULL, 0);
}

static void expect_rgb(membuf_t m, int w, int h, const uint8_t *rgb)
{
    iid_image_t img;
    iid_error_t err;
    if (iid__image_decode(&img, m.d, m.n, "t.png", NULL, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    assert_memory_equal(img.data, rgb, (size_t)w * h * 3);
    iid__image_free(&img);
    free(m.d);
}

static void test_png_colour_types(void **state)
{
    (void)state;
    /* 8-bit grey, interlaced, 5x3. */
    uint8_t g[15], rgb[45];
    for (int i = 0; i < 15; i++) g[i] = (uint8_t)(i * 16), rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
    expect_rgb(make_png(5, 3, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, g, NULL, 0, NULL, 0), 5, 3, rgb);
    /* 1-bit grey: 0 -> 0, 1 -> 255. */
    uint8_t bits[1] = {0xa0}; /* 1 0 1 0 */
    uint8_t rgb1[12] = {255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0};
    expect_rgb(make_png(4, 1, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, bits, NULL, 0, NULL, 0), 4, 1, rgb1);
    /* 16-bit grey keeps the high byte (0x12ff -> 0x12, not rounded to 0x13). */
    uint8_t g16[4] = {0x12, 0xff, 0xab, 0x01};
    uint8_t rgb16[6] = {0x12, 0x12, 0x12, 0xab, 0xab, 0xab};
    expect_rgb(make_png(2, 1, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, g16, NULL, 0, NULL, 0), 2, 1, rgb16);
    /* Grey + alpha: alpha dropped, grey kept even where alpha is 0. */
    uint8_t ga[4] = {77, 0, 200, 255};
    uint8_t rgbga[6] = {77, 77, 77, 200, 200, 200};
    expect_rgb(make_png(2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, ga, NULL, 0, NULL, 0), 2, 1, rgbga);
    /* 16-bit RGBA: high bytes, alpha dropped. */
    uint8_t rgba16[16] = {1, 2, 3, 4, 5, 6, 0, 0, 250, 9, 251, 9, 252, 9, 0, 0};
    uint8_t rgbr[6] = {1, 3, 5, 250, 251, 252};
    expect_rgb(make_png(2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, rgba16, NULL, 0, NULL, 0), 2, 1, rgbr);
    /* Palette with tRNS: expanded, transparency ignored. */
    png_color pal[2] = {{10, 20, 30}, {40, 50, 60}};
    uint8_t trns[2] = {0, 128};
    uint8_t idx[3] = {1, 0, 1};
    uint8_t rgbp[9] = {40, 50, 60, 10, 20, 30, 40, 50, 60};
    expect_rgb(make_png(3, 1, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, idx, pal, 2, trns, 2), 3, 1, rgbp);
}

/* Orientation 6 from a PNG eXIf chunk and from a WebP EXIF chunk (the kit's
 * face.webp rewrapped as an extended VP8X file). */
static void test_exif_png_webp(void **state)
{
    (void)state;
    const uint8_t tiff[] = {'M', 'M', 0, '*', 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
    const uint8_t g[6] = {0, 1, 2, 3, 4, 5}; /* 3 wide, 2 high */
    const uint8_t rot[18] = {3, 3, 3, 0, 0, 0, 4, 4, 4, 1, 1, 1, 5, 5, 5, 2, 2, 2};
    expect_rgb(make_png_exif(3, 2, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, g, NULL, 0, NULL, 0, tiff,
                             (int)sizeof tiff),
               2, 3, rot);

    size_t n;
    char *simple = slurp(bad("face.webp"), &n);
    assert_int_equal(memcmp(simple + 12, "VP8 ", 4), 0);
    size_t body = n - 12, m = 12 + 18 + body + 8 + sizeof tiff;
    uint8_t *x = malloc(m);
    memcpy(x, "RIFF", 4);
    uint32_t riff = (uint32_t)(m - 8);
    for (int i = 0; i < 4; i++) x[4 + i] = (uint8_t)(riff >> (8 * i));
    /* "WEBP", then VP8X: size 10, flags = EXIF present, 3 reserved bytes, canvas
     * width - 1 = 255 and height - 1 = 299 as 24-bit little-endian. */
    const uint8_t head[22] = {'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
                              0x08, 0, 0, 0, 0xff, 0, 0, 0x2b, 0x01, 0};
    memcpy(x + 8, head, sizeof head);
    memcpy(x + 30, simple + 12, body);
    memcpy(x + 30 + body, "EXIF", 4);
    const uint8_t len[4] = {(uint8_t)sizeof tiff, 0, 0, 0};
    memcpy(x + 34 + body, len, 4);
    memcpy(x + 38 + body, tiff, sizeof tiff);
    iid_image_t plain, got;
    iid_error_t err;
    assert_int_equal(iid__image_decode(&plain, simple, n, "plain.webp", NULL, &err), IID_OK);
    if (iid__image_decode(&got, x, m, "exif.webp", NULL, &err) != IID_OK) fail_msg("%s", err.msg);
    assert_int_equal(got.width, 300);
    assert_int_equal(got.height, 256);
    assert_int_equal(iid__image_orient(&plain, 6, &err), IID_OK);
    assert_memory_equal(got.data, plain.data, (size_t)300 * 256 * 3);
    iid__image_free(&plain);
    iid__image_free(&got);
    free(x);
    free(simple);
}

static void test_webp_lossless_alpha(void **state)
{
    (void)state;
    uint8_t rgba[4 * 6], rgb[3 * 6];
    for (int i = 0; i < 6; i++) {
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = rgba[4 * i + c] = (uint8_t)(i * 40 + c * 7);
        rgba[4 * i + 3] = (uint8_t)(60 + i * 30);
    }
    uint8_t *enc = NULL;
    size_t n = WebPEncodeLosslessRGBA(rgba, 3, 2, 12, &enc);
    assert_true(n > 0);
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_decode(&img, enc, n, "t.webp", NULL, &err), IID_OK);
    assert_int_equal(img.width, 3);
    assert_int_equal(img.height, 2);
    assert_memory_equal(img.data, rgb, sizeof rgb);
    iid__image_free(&img);
    /* Truncated WebP. */
    assert_int_equal(iid__image_decode(&img, enc, n - 3, "t.webp", NULL, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "t.webp: truncated WebP data");
    WebPFree(enc);
    /* An extended header flagged as animated. */
    const uint8_t anim[30] = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
                              10, 0, 0, 0, 0x02, 0, 0, 0, 9, 0, 0, 9, 0, 0};
    assert_int_equal(iid__image_decode(&img, anim, sizeof anim, "a.webp", NULL, &err), IID_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "a.webp: unsupported format (animated WebP)");
}

static void test_alloc(void **state)
{
    (void)state;
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_alloc(&img, 0, 5, 3, &err), IID_ERR_INVALID);
    assert_string_equal(err.msg, "invalid image size 0x5x3");
    assert_null(img.data);
    assert_int_equal(iid__image_alloc(&img, 2, 2, 5, &err), IID_ERR_INVALID);
    assert_int_equal(iid__image_alloc(&img, 2, 3, 4, &err), IID_OK);
    for (int i = 0; i < 24; i++) assert_int_equal(img.data[i], 0);
    iid__image_free(&img);
    assert_null(img.data);
    assert_int_equal(img.width, 0);
    iid__image_free(&img); /* twice is harmless */
}

static void test_limits(void **state)
{
    (void)state;
    iid_image_limits_t lim;
    iid__image_limits_init(&lim);
    assert_true(lim.max_pixels == 50000000u && lim.max_side == 16384);
    iid_image_t img;
    iid_error_t err;
    lim.max_pixels = 76799; /* 256 x 300 = 76800 */
    assert_int_equal(iid__image_load(&img, bad("png_named.jpg"), &lim, &err), IID_ERR_RANGE);
    assert_non_null(strstr(err.msg, "png_named.jpg: 256x300 exceeds the 0.076799-megapixel limit"));
    lim.max_pixels = 76800;
    assert_int_equal(iid__image_load(&img, bad("progressive.jpg"), &lim, &err), IID_OK);
    iid__image_free(&img);
    lim.max_side = 299;
    assert_int_equal(iid__image_load(&img, bad("face.webp"), &lim, &err), IID_ERR_RANGE);
    assert_non_null(strstr(err.msg, "face.webp: 256x300 exceeds the 299-pixel side limit"));
    lim.max_side = 300;
    lim.max_bytes = 1000;
    assert_int_equal(iid__image_load(&img, bad("face.webp"), &lim, &err), IID_ERR_RANGE);
    assert_null(img.data);
    /* The 3000x1 strip passes the side limit; a 20000-wide one does not. */
    iid__image_limits_init(&lim);
    assert_int_equal(iid__image_load(&img, bad("thin_3000x1.png"), &lim, &err), IID_OK);
    iid__image_free(&img);
    iid__image_free(NULL);
}

/* Any prefix of a valid file that stops before its last pixel fails with one line
 * naming the file (and no leak or crash, under ASan); a prefix that stops in the
 * pixel data says "truncated". A PNG that loses only its IEND still decodes, as in
 * PIL. */
static void test_every_truncation(void **state)
{
    (void)state;
    const char *files[] = {"one_pixel.png", "palette_256.png", "progressive.jpg", "face.webp", "cmyk.jpg"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t n;
        char *d = slurp(bad(files[f]), &n);
        size_t step = n / 97 + 1;
        for (size_t cut = 0; cut < n - 24; cut += step) {
            iid_image_t img;
            iid_error_t err;
            iid_status s = iid__image_decode(&img, d, cut, "cut", NULL, &err);
            if (s == IID_OK) fail_msg("%s cut at %zu of %zu decoded", files[f], cut, n);
            assert_null(img.data);
            assert_int_equal(strncmp(err.msg, "cut: ", 5), 0);
            assert_null(strchr(err.msg, '\n'));
            if (cut > n / 2) assert_non_null(strstr(err.msg, "truncated"));
        }
        free(d);
    }
    const char *ends[] = {"one_pixel.png", "palette_256.png"};
    for (size_t f = 0; f < 2; f++) {
        size_t n;
        char *d = slurp(bad(ends[f]), &n);
        iid_image_t whole, cut;
        iid_error_t err;
        assert_int_equal(iid__image_decode(&whole, d, n, "whole", NULL, &err), IID_OK);
        assert_int_equal(iid__image_decode(&cut, d, n - 12, "no-iend", NULL, &err), IID_OK); /* no IEND */
        assert_memory_equal(cut.data, whole.data, (size_t)whole.width * whole.height * 3);
        iid__image_free(&whole);
        iid__image_free(&cut);
        free(d);
    }
}

/* A chunk whose claimed length runs past the data (here 2 GB) ends the data where
 * it starts: libpng never sees, nor allocates for, the lie. */
static void test_png_lying_chunk(void **state)
{
    (void)state;
    size_t n;
    char *d = slurp(bad("one_pixel.png"), &n);
    assert_int_equal(iid__png_whole_chunks((const uint8_t *)d, n), n);
    assert_int_equal(iid__png_whole_chunks((const uint8_t *)d, n - 1), n - 12); /* IEND cut */
    assert_int_equal(iid__png_whole_chunks((const uint8_t *)d, 5), 0);
    const uint8_t lie[12] = {0x79, 0x04, 0x00, 0x0c, 't', 'E', 'X', 't', 'k', 0, 'v', 0};
    size_t m = n + sizeof lie;
    char *x = malloc(m);
    memcpy(x, d, 33); /* signature + IHDR */
    memcpy(x + 33, lie, sizeof lie);
    memcpy(x + 33 + sizeof lie, d + 33, n - 33);
    assert_int_equal(iid__png_whole_chunks((const uint8_t *)x, m), 33);
    iid_image_t img;
    iid_error_t err;
    assert_int_equal(iid__image_decode(&img, x, m, "lie.png", NULL, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "lie.png: truncated PNG data");
    free(x);
    free(d);
}

/* JPEG variants libjpeg-turbo's 8-bit build does not decode: unsupported, not
 * corrupt. */
static void test_jpeg_unsupported(void **state)
{
    (void)state;
    size_t n;
    char *d = slurp(bad("UPPERCASE_EXT.JPG"), &n);
    size_t sof = 0;
    for (size_t i = 2; i + 4 < n && !sof; i++)
        if ((uint8_t)d[i] == 0xff && (uint8_t)d[i + 1] == 0xc0) sof = i;
    assert_true(sof > 0);
    iid_image_t img;
    iid_error_t err;
    d[sof + 4] = 12; /* sample precision */
    assert_int_equal(iid__image_decode(&img, d, n, "p12.jpg", NULL, &err), IID_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "p12.jpg: unsupported JPEG (Unsupported JPEG data precision 12)");
    d[sof + 4] = 8;
    d[sof + 1] = (char)0xc3; /* lossless process */
    assert_int_equal(iid__image_decode(&img, d, n, "ll.jpg", NULL, &err), IID_ERR_UNSUPPORTED);
    assert_int_equal(strncmp(err.msg, "ll.jpg: unsupported JPEG (", 26), 0);
    assert_null(img.data);
    free(d);
}

static void test_sniffing(void **state)
{
    (void)state;
    iid_image_t img;
    iid_error_t err;
    const uint8_t bmp[] = {'B', 'M', 0x36, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0};
    assert_int_equal(iid__image_decode(&img, bmp, sizeof bmp, "x.bmp", NULL, &err), IID_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "x.bmp: unsupported format (BMP)");
    const uint8_t junk[] = {0, 1, 2, 3, 0xfe, 0xfd, 0xfc, 0x80, 0x81, 0x82};
    assert_int_equal(iid__image_decode(&img, junk, sizeof junk, "j.png", NULL, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "j.png: not an image (unknown format)");
    assert_int_equal(iid__image_decode(&img, "\xff\xd8", 2, "s.jpg", NULL, &err), IID_ERR_FORMAT);
    assert_string_equal(err.msg, "s.jpg: not an image (only 2 bytes)");
    /* A PNG whose IDAT was corrupted: an error, not a crash. */
    size_t n;
    char *d = slurp(bad("one_pixel.png"), &n);
    d[n - 20] ^= 0x55;
    assert_int_equal(iid__image_decode(&img, d, n, "c.png", NULL, &err), IID_ERR_FORMAT);
    assert_int_equal(strncmp(err.msg, "c.png: corrupt PNG data (", 25), 0);
    free(d);
    /* Missing files and folders. */
    assert_int_equal(iid__image_load(&img, "/nonexistent/x.png", NULL, &err), IID_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.png: cannot open"));
    assert_int_equal(iid__image_load(&img, iid_test_shared(), NULL, &err), IID_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs_rejected),
        cmocka_unit_test(test_bad_inputs_valid),
        cmocka_unit_test(test_exif_file_upright),
        cmocka_unit_test(test_orient_semantics),
        cmocka_unit_test(test_exif_all_orientations_jpeg),
        cmocka_unit_test(test_exif_parser_bounds),
        cmocka_unit_test(test_png_colour_types),
        cmocka_unit_test(test_exif_png_webp),
        cmocka_unit_test(test_webp_lossless_alpha),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_png_lying_chunk),
        cmocka_unit_test(test_jpeg_unsupported),
        cmocka_unit_test(test_sniffing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
