/*
 * face_prep.c - photo -> resized image -> face analysis -> keypoint image and
 * mask (see face_prep.h for the contract).
 *
 * The resize follows gradio_demo/app.py's resize_img literally: PIL's
 * Image.resize with BILINEAR, once per call of the plan (the demo resizes to the
 * unfloored size, then to the floored one; Pillow's same-size resize is a copy,
 * which iid__image_resize_pil reproduces). Resize-and-pad resizes once and places
 * the result on a canvas of the padding colour.
 *
 * Face analysis runs on the resized image exactly as insightface's app.get does on
 * the demo's cv2 image: letterbox to the detector's input size (the model's own
 * fixed size when it declares one, else 640 x 640 as FaceAnalysis.prepare sets),
 * detect, take the largest face, align and embed on the resized BGR pixels.
 */
#include "pipeline/face_prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image_resize.h"
#include "pipeline/control_mask.h"
#include "pipeline/draw_kps.h"
#include "pipeline/face_analysis.h"
#include "pipeline/face_letterbox.h"
#include "pipeline/resize.h"

void iid__face_prep_opts_init(iid_face_prep_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->pad_rgb[0] = o->pad_rgb[1] = o->pad_rgb[2] = 255;
    o->max_side = 1280;
    o->min_side = 1024;
    o->multiple = 64;
}

void iid_face_prep_free(iid_face_prep_t *p)
{
    if (!p) return;
    free(p->embedding);
    free(p->kps_image);
    free(p->mask);
    free(p->sources);
    free(p->left_out);
    memset(p, 0, sizeof *p);
}

/* Make sure err's message names the photo: lower layers (resize plans, the
 * network runner) report without it. */
static iid_status name_error(iid_error_t *err, iid_status st, const char *name)
{
    if (!err) return st;
    size_t n = strlen(name);
    if (strncmp(err->msg, name, n) == 0 && err->msg[n] == ':') return st;
    return iid__prefix(err, st, "%s", name);
}

/* The resized image of the options: resize_img (one or two PIL bilinear resizes)
 * or resize-and-pad. */
static iid_status resize_photo(const iid_image_t *rgb, const char *name, const iid_face_prep_opts_t *o,
                               iid_image_t *out, iid_error_t *err)
{
    iid_resize_plan_t plan;
    iid_status st;
    memset(out, 0, sizeof *out);
    if (o->width > 0 || o->height > 0) {
        if ((st = iid__resize_pad_plan(rgb->width, rgb->height, o->width, o->height, &plan, err)) != IID_OK)
            return name_error(err, st, name);
        iid_image_t content;
        if ((st = iid__image_resize_pil(rgb, plan.content_w, plan.content_h, IID_PIL_BILINEAR, &content, err)) !=
            IID_OK)
            return name_error(err, st, name);
        st = iid__image_alloc(out, plan.out_w, plan.out_h, 3, err);
        if (st == IID_OK) iid__pad_place(&plan, content.data, o->pad_rgb, out->data);
        iid__image_free(&content);
        return st == IID_OK ? st : name_error(err, st, name);
    }
    iid_resize_opts_t ro;
    iid__resize_opts_init(&ro);
    ro.max_side = o->max_side;
    ro.min_side = o->min_side;
    ro.base_pixel_number = o->multiple;
    if ((st = iid__resize_img_plan(rgb->width, rgb->height, &ro, &plan, err)) != IID_OK)
        return name_error(err, st, name);
    const iid_image_t *cur = rgb;
    iid_image_t tmp = {0};
    for (int i = 0; i < plan.n_calls; i++) {
        iid_image_t next;
        st = iid__image_resize_pil(cur, plan.calls_wh[i][0], plan.calls_wh[i][1], IID_PIL_BILINEAR, &next, err);
        iid__image_free(&tmp);
        if (st != IID_OK) return name_error(err, st, name);
        tmp = next;
        cur = &tmp;
    }
    *out = tmp;
    return IID_OK;
}

iid_status iid__face_prep_image(iid_face_models_t *fm, const iid_image_t *rgb, const char *name,
                                const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err)
{
    iid_face_prep_opts_t defaults;
    memset(out, 0, sizeof *out);
    if (!name) name = "image";
    if (!o) {
        iid__face_prep_opts_init(&defaults);
        o = &defaults;
    }
    if (!rgb || !rgb->data || rgb->channels != 3 || rgb->width < 1 || rgb->height < 1)
        return iid__fail(err, IID_ERR_INVALID, "%s: not a decoded RGB image", name);

    iid_image_t img = {0};
    iid_letterbox_t lb = {0};
    iid_tensor_t blob = {0};
    iid_face_analysis_t fa = {0};
    uint8_t *bgr = NULL;
    iid_status st = resize_photo(rgb, name, o, &img, err);
    if (st != IID_OK) return st;
    const int W = img.width, H = img.height;
    const size_t npx = (size_t)W * (size_t)H;

    /* insightface's input: the resized photo as BGR. */
    if (!(bgr = malloc(npx * 3))) {
        st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for a %dx%d image", name, W, H);
        goto done;
    }
    for (size_t p = 0; p < npx; p++) {
        bgr[3 * p + 0] = img.data[3 * p + 2];
        bgr[3 * p + 1] = img.data[3 * p + 1];
        bgr[3 * p + 2] = img.data[3 * p + 0];
    }

    int dw, dh;
    iid__face_detector_size(&fm->detector, &dw, &dh);
    if ((st = iid__face_letterbox(&img, dw, dh, name, &lb, err)) != IID_OK) goto done;
    int64_t shape[4] = {1, 3, dh, dw}; /* (1, 3, H, W) */
    if ((st = iid__tensor_alloc(&blob, IID_DTYPE_F32, 4, shape, err)) != IID_OK) {
        st = name_error(err, st, name);
        goto done;
    }
    iid__face_blob(&lb.canvas, blob.data);

    st = iid__face_analyze(fm, &blob, lb.det_scale, bgr, W, H, &fa, err);
    if (st == IID_ERR_NOT_FOUND) { /* the detector found nothing */
        st = iid__fail(err, IID_ERR_NO_FACE, "%s: no face found", name);
        goto done;
    }
    if (st != IID_OK) {
        st = name_error(err, st, name);
        goto done;
    }

    const iid_face_t *f = &fa.faces.faces[fa.chosen];
    out->width = W;
    out->height = H;
    out->face_count = fa.faces.count;
    out->face_score = f->score;
    memcpy(out->bbox, f->box, sizeof out->bbox);
    for (int k = 0; k < IID_FACE_KPS; k++) {
        out->kps[2 * k] = f->kps[k][0];
        out->kps[2 * k + 1] = f->kps[k][1];
    }
    int D = (int)fa.embedding.shape[1]; /* (1, D) */
    out->embedding_dim = D;
    out->embedding = malloc((size_t)D * sizeof(float));
    if (!out->embedding) {
        st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for the face results", name);
        goto done;
    }
    memcpy(out->embedding, fa.embedding.data, (size_t)D * sizeof(float));
    double ss = 0.0;
    for (int i = 0; i < D; i++) ss += (double)out->embedding[i] * out->embedding[i];
    out->embedding_norm = (float)sqrt(ss);
    st = iid__face_prep_draw(out, 1, name, err);

done:
    if (st != IID_OK) iid_face_prep_free(out);
    iid__face_analysis_free(&fa);
    iid__tensor_free(&blob);
    iid__face_letterbox_free(&lb);
    free(bgr);
    iid__image_free(&img);
    return st;
}

iid_status iid__face_prep_file(iid_face_models_t *fm, const char *path, const iid_face_prep_opts_t *o,
                               iid_face_prep_t *out, iid_error_t *err)
{
    iid_image_t img;
    memset(out, 0, sizeof *out);
    IID_TRY(iid__image_load(&img, path, NULL, err));
    iid_status st = iid__face_prep_image(fm, &img, path, o, out, err);
    iid__image_free(&img);
    return st;
}

iid_status iid__face_prep_bytes(iid_face_models_t *fm, const void *data, size_t size, const char *name,
                                const iid_face_prep_opts_t *o, iid_face_prep_t *out, iid_error_t *err)
{
    iid_image_t img;
    memset(out, 0, sizeof *out);
    if (!name) name = "image";
    IID_TRY(iid__image_decode(&img, data, size, name, NULL, err));
    iid_status st = iid__face_prep_image(fm, &img, name, o, out, err);
    iid__image_free(&img);
    return st;
}

iid_status iid__face_prep_draw(iid_face_prep_t *p, int with_mask, const char *name, iid_error_t *err)
{
    size_t n = (size_t)p->width * (size_t)p->height * 3;
    if (!(p->kps_image = malloc(n)) || (with_mask && !(p->mask = malloc(n))))
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for a %dx%d keypoint image", name, p->width,
                         p->height);
    iid_status st = iid__draw_kps(p->kps, p->width, p->height, p->kps_image, err);
    if (st == IID_OK && with_mask) st = iid__face_mask(p->bbox, p->width, p->height, p->mask, err);
    return st == IID_OK ? st : name_error(err, st, name);
}

void iid_face_prep_use_pose(iid_face_prep_t *face, iid_face_prep_t *pose)
{
    free(face->kps_image);
    free(face->mask);
    face->width = pose->width;
    face->height = pose->height;
    memcpy(face->bbox, pose->bbox, sizeof face->bbox);
    memcpy(face->kps, pose->kps, sizeof face->kps);
    face->kps_image = pose->kps_image;
    face->mask = pose->mask;
    pose->kps_image = NULL;
    pose->mask = NULL;
    iid_face_prep_free(pose);
}
