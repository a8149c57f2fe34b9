/*
 * identity.c - one person from several photos (iid_prepare_identity, iid.h).
 *
 * Each photo is prepared on its own (through the context's face cache), then:
 *   embedding = element-wise mean of the RAW ArcFace embeddings of the photos
 *               that prepared. InstantID feeds the raw, un-normalised vector to
 *               its Resampler (the demo passes insightface's face['embedding']),
 *               so the mean stays in the space the Resampler was trained on;
 *               ComfyUI_InstantID's default "average" combines several images
 *               the same way. Normalising first would change the vector's scale
 *               (raw norms are around 20-30) that the Resampler expects.
 *   geometry  = keypoints, box, size, keypoint image and mask of the photo whose
 *               chosen face has the largest box area (in its resized pixels;
 *               the first such photo in the given order on a tie): the largest
 *               face is the best-resolved pose.
 * Photos that fail are left out of the mean and listed in left_out with their
 * reasons; the used ones (base names) in sources.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "iid.h"

/* Append "<sep><text>" to a malloc'd string; returns 0 when out of memory. */
static int append(char **s, const char *sep, const char *text)
{
    size_t old = *s ? strlen(*s) : 0, add = (old ? strlen(sep) : 0) + strlen(text);
    char *n = realloc(*s, old + add + 1);
    if (!n) return 0;
    if (!old) n[0] = '\0';
    else strcat(n, sep);
    strcat(n, text);
    *s = n;
    return 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static float box_area(const iid_face_prep_t *f)
{
    return (f->bbox[2] - f->bbox[0]) * (f->bbox[3] - f->bbox[1]);
}

/* out takes faces[geo]'s buffers and gets the mean embedding of the used faces. */
static iid_status combine(iid_face_prep_t *faces, const unsigned char *ok, int n, int geo, iid_face_prep_t *out,
                          iid_error_t *err)
{
    int D = faces[geo].embedding_dim, used = 0;
    double *sum = calloc((size_t)D, sizeof *sum);
    if (!sum) return iid__fail(err, IID_ERR_NOMEM, "out of memory averaging face embeddings");
    for (int i = 0; i < n; i++) {
        if (!ok[i]) continue;
        if (faces[i].embedding_dim != D) {
            free(sum);
            return iid__fail(err, IID_ERR_INVALID, "face embeddings of %d and %d values cannot be averaged", D,
                             faces[i].embedding_dim);
        }
        for (int k = 0; k < D; k++) sum[k] += faces[i].embedding[k];
        used++;
    }
    *out = faces[geo];
    memset(&faces[geo], 0, sizeof faces[geo]);
    double ss = 0.0;
    for (int k = 0; k < D; k++) {
        out->embedding[k] = (float)(sum[k] / used);
        ss += (double)out->embedding[k] * out->embedding[k];
    }
    out->embedding_norm = (float)sqrt(ss);
    free(sum);
    return IID_OK;
}

iid_status iid_prepare_identity(iid_ctx_t *ctx, const char *const *paths, int n, const iid_face_opts_t *opts,
                                iid_face_prep_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (n < 1) return iid__fail(err, IID_ERR_INVALID, "an identity needs at least one photo");
    iid_face_prep_t *faces = calloc((size_t)n, sizeof *faces);
    unsigned char *ok = calloc((size_t)n, 1);
    char *sources = NULL, *left_out = NULL;
    iid_status first_fail = IID_OK, s = IID_OK;
    int geo = -1, mem = faces && ok;
    for (int i = 0; mem && i < n; i++) {
        iid_error_t e;
        iid_error_clear(&e);
        iid_status st = iid_prepare_face_file(ctx, paths[i], opts, &faces[i], &e);
        if (st == IID_ERR_NOMEM) {
            mem = 0;
        } else if (st != IID_OK) {
            if (first_fail == IID_OK) first_fail = st;
            mem = append(&left_out, "; ", e.msg[0] ? e.msg : iid_status_str(st));
        } else {
            ok[i] = 1;
            if (geo < 0 || box_area(&faces[i]) > box_area(&faces[geo])) geo = i;
            mem = append(&sources, ", ", base_name(paths[i]));
        }
    }
    if (!mem) s = iid__fail(err, IID_ERR_NOMEM, "out of memory preparing %d photos", n);
    else if (geo < 0) s = iid__fail(err, first_fail, "no usable photo among %d: %s", n, left_out);
    else s = combine(faces, ok, n, geo, out, err);
    if (s == IID_OK) {
        out->sources = sources;
        out->left_out = left_out;
    } else {
        free(sources);
        free(left_out);
    }
    for (int i = 0; faces && i < n; i++) iid_face_prep_free(&faces[i]);
    free(faces);
    free(ok);
    return s;
}
