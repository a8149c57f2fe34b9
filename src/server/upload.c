/*
 * upload.c - collecting and validating the generate form (upload.h).
 *
 * Each known field has a growable buffer; the post processor's iterator appends
 * to it (a field may arrive in several calls with increasing offsets; a field
 * sent twice is refused). At finish
 * the buffers are NUL-terminated, parsed, checked, and their memory handed to the
 * job without copying the images.
 */
#include "server/upload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "iid.h"

#define TEXT_FIELD_MAX (16 * 1024)
#define POST_BUFFER 16384

enum {
    F_FACE, F_POSE, F_PROMPT, F_NEGATIVE, F_STYLE, F_SCHEDULER, F_IDNET, F_ADAPTER, F_STEPS, F_GUIDANCE,
    F_SEED, F_WIDTH, F_HEIGHT, F_FACE_MASK, F_LCM, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "face", "pose", "prompt", "negative_prompt", "style", "scheduler", "identitynet_strength",
    "adapter_strength", "steps", "guidance", "seed", "width", "height", "enhance_face_region", "lcm"};

typedef struct field_buf {
    char *data;
    size_t len, cap;
    int present;
    char *filename; /* for file fields */
} field_buf_t;

struct iid_upload {
    struct MHD_PostProcessor *pp;
    size_t limit, received;
    int over_limit;
    iid_error_t failure; /* set by the iterator */
    field_buf_t f[F_COUNT];
};

static int find_field(const char *key)
{
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(key, field_names[i]) == 0) return i;
    return -1;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                const char *content_type, const char *transfer_encoding, const char *data,
                                uint64_t off, size_t size)
{
    iid_upload_t *u = cls;
    int i = key ? find_field(key) : -1;
    if (i < 0) return MHD_YES;
    field_buf_t *b = &u->f[i];
    /* A field's value may come in several calls, at increasing offsets; offset 0
     * again means the form repeats the field. Concatenating the two would turn
     * steps=2 and steps=5 into 25, so the request is refused. */
    if (b->present && off == 0) {
        iid__fail(&u->failure, IID_ERR_INVALID, "%s: given more than once", key);
        return MHD_NO;
    }
    b->present = 1;
    if (filename && !b->filename) {
        b->filename = strdup(filename);
        if (!b->filename) {
            iid__fail(&u->failure, IID_ERR_NOMEM, "%s: out of memory", key);
            return MHD_NO;
        }
    }
    if (i > F_POSE && b->len + size > TEXT_FIELD_MAX) {
        iid__fail(&u->failure, IID_ERR_INVALID, "%s: longer than %d bytes", key, TEXT_FIELD_MAX);
        return MHD_NO;
    }
    if (b->len + size + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + size + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            iid__fail(&u->failure, IID_ERR_NOMEM, "%s: out of memory for %zu bytes", key, cap);
            return MHD_NO;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, size);
    b->len += size;
    b->data[b->len] = '\0';
    return MHD_YES;
}

iid_status iid__upload_begin(struct MHD_Connection *c, size_t limit, iid_upload_t **out, iid_error_t *err)
{
    *out = NULL;
    iid_upload_t *u = calloc(1, sizeof *u);
    if (!u) return iid__fail(err, IID_ERR_NOMEM, "upload: out of memory");
    u->limit = limit;
    u->pp = MHD_create_post_processor(c, POST_BUFFER, on_field, u);
    if (!u->pp) {
        free(u);
        return iid__fail(err, IID_ERR_UNSUPPORTED, "Content-Type: expected multipart/form-data");
    }
    *out = u;
    return IID_OK;
}

iid_status iid__upload_feed(iid_upload_t *u, const char *data, size_t size, iid_error_t *err)
{
    u->received += size;
    if (u->received > u->limit) u->over_limit = 1;
    if (u->over_limit)
        return iid__fail(err, IID_ERR_RANGE, "upload: larger than the limit of %zu bytes", u->limit);
    if (u->failure.msg[0]) return iid__fail(err, u->failure.code, "%s", u->failure.msg);
    if (MHD_post_process(u->pp, data, size) != MHD_YES) {
        if (u->failure.msg[0]) return iid__fail(err, u->failure.code, "%s", u->failure.msg);
        return iid__fail(err, IID_ERR_FORMAT, "upload: malformed form data");
    }
    return IID_OK;
}

/* The field's text, or NULL when absent or empty (so the default applies). */
static const char *text_of(const iid_upload_t *u, int i)
{
    return u->f[i].present && u->f[i].len ? u->f[i].data : NULL;
}

static iid_status parse_double(const iid_upload_t *u, int i, double def, double lo, double hi, double *out,
                               iid_error_t *err)
{
    const char *s = text_of(u, i);
    *out = def;
    if (!s) return IID_OK;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return iid__fail(err, IID_ERR_INVALID, "%s: '%.40s' is not a number", field_names[i], s);
    if (v < lo || v > hi)
        return iid__fail(err, IID_ERR_INVALID, "%s: %g is outside %g..%g", field_names[i], v, lo, hi);
    *out = v;
    return IID_OK;
}

static iid_status parse_int(const iid_upload_t *u, int i, long long def, long long lo, long long hi,
                            long long *out, iid_error_t *err)
{
    const char *s = text_of(u, i);
    *out = def;
    if (!s) return IID_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return iid__fail(err, IID_ERR_INVALID, "%s: '%.40s' is not an integer", field_names[i], s);
    if (v < lo || v > hi)
        return iid__fail(err, IID_ERR_INVALID, "%s: %lld is outside %lld..%lld", field_names[i], v, lo, hi);
    *out = v;
    return IID_OK;
}

static iid_status parse_size(const iid_upload_t *u, int i, int *out, iid_error_t *err)
{
    long long v;
    IID_TRY(parse_int(u, i, 0, 0, 4096, &v, err));
    if (v != 0 && (v < 64 || v % 8 != 0))
        return iid__fail(err, IID_ERR_INVALID, "%s: %lld must be 0 (from the face image) or a multiple of 8 in 64..4096",
                         field_names[i], v);
    *out = (int)v;
    return IID_OK;
}

/* A check box: 1/true/on/yes or 0/false/off/no; def when absent. */
static iid_status parse_bool(const iid_upload_t *u, int i, int def, int *out, iid_error_t *err)
{
    static const char *const yes[] = {"1", "true", "on", "yes"}, *const no[] = {"0", "false", "off", "no"};
    const char *s = text_of(u, i);
    *out = def;
    if (!s) return IID_OK;
    for (int k = 0; k < 4; k++) {
        if (strcmp(s, yes[k]) == 0 || strcmp(s, no[k]) == 0) {
            *out = strcmp(s, yes[k]) == 0;
            return IID_OK;
        }
    }
    return iid__fail(err, IID_ERR_INVALID, "%s: '%.40s' is not true or false", field_names[i], s);
}

/* The field's text, or the default, checked against a list of names when the
 * list is not empty. Returns a malloc'd copy in *out. */
static iid_status pick_name(const iid_upload_t *u, int i, const char *const *names, int n, const char *def,
                            char **out, iid_error_t *err)
{
    const char *s = text_of(u, i);
    if (!s) s = def ? def : n > 0 ? names[0] : "";
    if (n > 0) {
        int found = 0;
        for (int k = 0; k < n && !found; k++) found = strcmp(s, names[k]) == 0;
        if (!found) return iid__fail(err, IID_ERR_INVALID, "%s: unknown name '%.60s'", field_names[i], s);
    }
    *out = strdup(s);
    if (!*out) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", field_names[i]);
    return IID_OK;
}

/* Move a text field's buffer (or "") into *dst, replacing the "" there. */
static iid_status take_text(iid_upload_t *u, int i, const char **dst, iid_error_t *err)
{
    field_buf_t *b = &u->f[i];
    char *s = b->data ? b->data : strdup("");
    if (!s) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", field_names[i]);
    b->data = NULL;
    b->len = b->cap = 0;
    free((void *)*dst);
    *dst = s;
    return IID_OK;
}

static iid_status take_file(iid_upload_t *u, int i, const unsigned char **data, size_t *size, const char **name,
                            iid_error_t *err)
{
    field_buf_t *b = &u->f[i];
    *data = (const unsigned char *)b->data;
    *size = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    if (b->filename) {
        free((void *)*name);
        *name = b->filename;
        b->filename = NULL;
    }
    return IID_OK;
}

static iid_status fill_job(iid_upload_t *u, const iid_engine_catalog_t *cat, iid_job_t *job, iid_error_t *err)
{
    iid_gen_request_t *r = &job->req;
    if (!u->f[F_FACE].present || u->f[F_FACE].len == 0)
        return iid__fail(err, IID_ERR_INVALID, "face: no image uploaded");
    long long steps, seed;
    IID_TRY(parse_bool(u, F_LCM, 0, &r->lcm, err));
    if (r->lcm && !cat->lcm_available)
        return iid__fail(err, IID_ERR_INVALID, "lcm: LCM mode is not available%s%s", cat->lcm_reason ? ": " : "",
                         cat->lcm_reason ? cat->lcm_reason : "");
    IID_TRY(parse_double(u, F_IDNET, 0.8, 0.0, 2.0, &r->identitynet_strength, err));
    IID_TRY(parse_double(u, F_ADAPTER, 0.8, 0.0, 2.0, &r->adapter_strength, err));
    IID_TRY(parse_int(u, F_STEPS, r->lcm ? IID_LCM_STEPS : 30, 1, 200, &steps, err));
    IID_TRY(parse_double(u, F_GUIDANCE, r->lcm ? IID_LCM_GUIDANCE : 5.0, 0.0, 30.0, &r->guidance, err));
    IID_TRY(parse_int(u, F_SEED, 42, 0, (long long)1 << 53, &seed, err));
    IID_TRY(parse_size(u, F_WIDTH, &r->width, err));
    IID_TRY(parse_size(u, F_HEIGHT, &r->height, err));
    if ((r->width == 0) != (r->height == 0))
        return iid__fail(err, IID_ERR_INVALID, "width, height: give both or neither");
    r->steps = (int)steps;
    r->seed = (uint64_t)seed;
    IID_TRY(parse_bool(u, F_FACE_MASK, -1, &r->face_mask, err));
    char *style, *scheduler, *tags;
    IID_TRY(pick_name(u, F_STYLE, cat->styles, cat->n_styles, cat->default_style, &style, err));
    free((void *)r->style);
    r->style = style;
    if (r->lcm) { /* as the demo, whose LCM mode runs LCMScheduler whatever the sampler menu says */
        if (!(scheduler = strdup("lcm"))) return iid__fail(err, IID_ERR_NOMEM, "scheduler: out of memory");
    } else
        IID_TRY(pick_name(u, F_SCHEDULER, cat->schedulers, cat->n_schedulers, cat->default_scheduler, &scheduler, err));
    free((void *)r->scheduler);
    r->scheduler = scheduler;
    const char *job_tags = r->lcm ? cat->lcm_lora_tags : cat->lora_tags;
    if (!(tags = strdup(job_tags ? job_tags : ""))) return iid__fail(err, IID_ERR_NOMEM, "lora tags: out of memory");
    free((void *)r->lora_tags);
    r->lora_tags = tags;
    IID_TRY(take_text(u, F_PROMPT, &r->prompt, err));
    IID_TRY(take_text(u, F_NEGATIVE, &r->negative_prompt, err));
    IID_TRY(take_file(u, F_FACE, &r->face, &r->face_size, &r->face_name, err));
    if (u->f[F_POSE].present && u->f[F_POSE].len > 0)
        IID_TRY(take_file(u, F_POSE, &r->pose, &r->pose_size, &r->pose_name, err));
    return IID_OK;
}

iid_status iid__upload_finish(iid_upload_t *u, const iid_engine_catalog_t *catalog, iid_job_t **job,
                              iid_error_t *err)
{
    *job = NULL;
    if (u->over_limit) return iid__fail(err, IID_ERR_RANGE, "upload: larger than the limit of %zu bytes", u->limit);
    if (u->failure.msg[0]) return iid__fail(err, u->failure.code, "%s", u->failure.msg);
    /* Destroying the post processor delivers any field still buffered and tells
     * whether the body ended where the form said it would. */
    enum MHD_Result complete = MHD_destroy_post_processor(u->pp);
    u->pp = NULL;
    if (u->failure.msg[0]) return iid__fail(err, u->failure.code, "%s", u->failure.msg);
    if (complete != MHD_YES) return iid__fail(err, IID_ERR_FORMAT, "upload: the form data ends early");
    iid_job_t *j = iid__job_new();
    if (!j) return iid__fail(err, IID_ERR_NOMEM, "upload: out of memory");
    iid_status s = fill_job(u, catalog, j, err);
    if (s != IID_OK) {
        iid__job_free(j);
        return s;
    }
    *job = j;
    return IID_OK;
}

void iid__upload_free(iid_upload_t *u)
{
    if (!u) return;
    if (u->pp) MHD_destroy_post_processor(u->pp);
    for (int i = 0; i < F_COUNT; i++) {
        free(u->f[i].data);
        free(u->f[i].filename);
    }
    free(u);
}
