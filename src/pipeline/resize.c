/*
 * resize.c - resize_img's size rule and the batch tool's resize-and-pad geometry
 * (see resize.h for both rules).
 *
 * Python's round(x) for a float is round-half-to-even on the double value; the
 * products ratio * side are formed in double exactly as Python forms them
 * (ratio = min_side / min(w, h) is a true division of two ints).
 */
#include "pipeline/resize.h"

#include <math.h>
#include <string.h>

#define SIDE_MAX 65536

void iid__resize_opts_init(iid_resize_opts_t *o)
{
    o->max_side = 1280;
    o->min_side = 1024;
    o->base_pixel_number = 64;
    o->pad_to_max_side = 0;
    o->size_w = o->size_h = 0;
}

/* Python's round(): half to even, which nearbyint() gives in the default rounding
 * mode (library code never changes it). */
static long long py_round(double x) { return (long long)nearbyint(x); }

static int bad_side(long long v) { return v < 1 || v > SIDE_MAX; }

iid_status iid__resize_img_plan(int in_w, int in_h, const iid_resize_opts_t *o, iid_resize_plan_t *plan,
                                iid_error_t *err)
{
    memset(plan, 0, sizeof *plan);
    if (bad_side(in_w) || bad_side(in_h))
        return iid__fail(err, IID_ERR_INVALID, "resize_img: input size %dx%d out of range", in_w, in_h);
    if (bad_side(o->max_side) || bad_side(o->min_side) || o->base_pixel_number < 1 || o->base_pixel_number > SIDE_MAX)
        return iid__fail(err, IID_ERR_INVALID, "resize_img: max_side/min_side/base_pixel_number out of range");
    long long w, h;
    if (o->size_w || o->size_h) {
        w = o->size_w, h = o->size_h;
    } else {
        double ratio = (double)o->min_side / (double)(in_w < in_h ? in_w : in_h);
        long long sw = py_round(ratio * in_w), sh = py_round(ratio * in_h);
        ratio = (double)o->max_side / (double)(sw > sh ? sw : sh);
        long long rw = py_round(ratio * (double)sw), rh = py_round(ratio * (double)sh);
        plan->calls_wh[0][0] = (int)rw, plan->calls_wh[0][1] = (int)rh;
        plan->n_calls = 1;
        w = rw / o->base_pixel_number * o->base_pixel_number;
        h = rh / o->base_pixel_number * o->base_pixel_number;
    }
    plan->calls_wh[plan->n_calls][0] = (int)w;
    plan->calls_wh[plan->n_calls][1] = (int)h;
    plan->n_calls++;
    if (bad_side(w) || bad_side(h))
        return iid__fail(err, IID_ERR_INVALID, "resize_img: a %dx%d image would become %lldx%lld (height and width must be > 0)",
                         in_w, in_h, w, h);
    plan->content_w = plan->out_w = (int)w;
    plan->content_h = plan->out_h = (int)h;
    if (o->pad_to_max_side) {
        if (w > o->max_side || h > o->max_side)
            return iid__fail(err, IID_ERR_INVALID, "resize_img: %lldx%lld does not fit the %d padding square", w, h,
                             o->max_side);
        plan->out_w = plan->out_h = o->max_side;
        plan->pad_x = (o->max_side - (int)w) / 2;
        plan->pad_y = (o->max_side - (int)h) / 2;
    }
    return IID_OK;
}

iid_status iid__resize_pad_plan(int in_w, int in_h, int target_w, int target_h, iid_resize_plan_t *plan,
                                iid_error_t *err)
{
    memset(plan, 0, sizeof *plan);
    if (bad_side(in_w) || bad_side(in_h) || bad_side(target_w) || bad_side(target_h))
        return iid__fail(err, IID_ERR_INVALID, "resize: %dx%d to %dx%d is out of range", in_w, in_h, target_w, target_h);
    double sx = (double)target_w / in_w, sy = (double)target_h / in_h, s = sx < sy ? sx : sy;
    long long w = py_round(in_w * s), h = py_round(in_h * s);
    w = w < 1 ? 1 : w > target_w ? target_w : w;
    h = h < 1 ? 1 : h > target_h ? target_h : h;
    plan->out_w = target_w, plan->out_h = target_h;
    plan->content_w = (int)w, plan->content_h = (int)h;
    plan->pad_x = (target_w - (int)w) / 2;
    plan->pad_y = (target_h - (int)h) / 2;
    plan->n_calls = 1;
    plan->calls_wh[0][0] = (int)w, plan->calls_wh[0][1] = (int)h;
    return IID_OK;
}

void iid__pad_place(const iid_resize_plan_t *plan, const uint8_t *src, const uint8_t color[3], uint8_t *dst)
{
    size_t n = (size_t)plan->out_w * plan->out_h;
    for (size_t p = 0; p < n; p++) memcpy(dst + 3 * p, color, 3);
    for (int y = 0; y < plan->content_h; y++)
        memcpy(dst + ((size_t)(y + plan->pad_y) * plan->out_w + plan->pad_x) * 3, src + (size_t)y * plan->content_w * 3,
               (size_t)plan->content_w * 3);
}
