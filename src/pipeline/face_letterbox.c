/*
 * face_letterbox.c - SCRFD letterbox and input blob (see face_letterbox.h for the
 * rules; the arithmetic mirrors insightface's scrfd.py detect()).
 */
#include "pipeline/face_letterbox.h"

#include <string.h>

#include "io/image_resize.h"

iid_status iid__face_letterbox(const iid_image_t *img, int input_w, int input_h, const char *name, iid_letterbox_t *lb,
                               iid_error_t *err)
{
    memset(lb, 0, sizeof *lb);
    if (!name) name = "image";
    if (!img->data || img->width < 1 || img->height < 1 || img->channels != 3)
        return iid__fail(err, IID_ERR_INVALID, "%s: letterbox needs a non-empty RGB image", name);
    if (input_w < 1 || input_h < 1)
        return iid__fail(err, IID_ERR_INVALID, "%s: invalid detector input size %dx%d", name, input_w, input_h);
    double im_ratio = (double)img->height / (double)img->width;
    double model_ratio = (double)input_h / (double)input_w;
    int new_w, new_h;
    if (im_ratio > model_ratio) {
        new_h = input_h;
        new_w = (int)(new_h / im_ratio);
    } else {
        new_w = input_w;
        new_h = (int)(new_w * im_ratio);
    }
    if (new_w < 1 || new_h < 1)
        return iid__fail(err, IID_ERR_INVALID, "%s: %dx%d is too thin for the %dx%d detector input (resized to %dx%d)",
                         name, img->width, img->height, input_w, input_h, new_w, new_h);

    iid_image_t small;
    iid_status s = iid__image_resize_cv_linear(img, new_w, new_h, &small, err);
    if (s == IID_OK) s = iid__image_alloc(&lb->canvas, input_w, input_h, 3, err);
    if (s != IID_OK) {
        iid__image_free(&small);
        return iid__prefix(err, s, "%s", name);
    }
    for (int y = 0; y < new_h; y++)
        memcpy(lb->canvas.data + (size_t)y * input_w * 3, small.data + (size_t)y * new_w * 3, (size_t)new_w * 3);
    iid__image_free(&small);
    lb->new_w = new_w;
    lb->new_h = new_h;
    lb->det_scale = (double)new_h / (double)img->height;
    return IID_OK;
}

void iid__face_letterbox_free(iid_letterbox_t *lb)
{
    if (!lb) return;
    iid__image_free(&lb->canvas);
    memset(lb, 0, sizeof *lb);
}

void iid__face_blob(const iid_image_t *canvas, float *blob)
{
    size_t plane = (size_t)canvas->width * (size_t)canvas->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) blob[c * plane + i] = ((float)canvas->data[i * 3 + c] - 127.5f) / 128.0f;
}
