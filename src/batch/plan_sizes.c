/* plan_sizes.c - generation sizes of a plan's images and the plan's work. */
#include "batch/plan_sizes.h"

#include <stdlib.h>

#include "batch/estimate.h"
#include "io/image.h"
#include "pipeline/resize.h"

iid_status iid__plan_sizes(const iid_plan_t *plan, const iid_batch_size_t *size, int **w, int **h, iid_error_t *err)
{
    size_t n = plan->image_count > 0 ? (size_t)plan->image_count : 1;
    *w = calloc(n, sizeof **w);
    *h = calloc(n, sizeof **h);
    if (!*w || !*h) {
        free(*w), free(*h);
        *w = *h = NULL;
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    iid_resize_opts_t ro;
    iid__resize_opts_init(&ro);
    for (int i = 0; i < plan->image_count; i++) {
        if (size->width > 0) {
            (*w)[i] = size->width;
            (*h)[i] = size->height;
            continue;
        }
        iid_image_t img;
        iid_resize_plan_t rp;
        if (iid__image_load(&img, plan->images[i], NULL, NULL) != IID_OK) continue;
        if (iid__resize_img_plan(img.width, img.height, &ro, &rp, NULL) == IID_OK) {
            (*w)[i] = rp.out_w;
            (*h)[i] = rp.out_h;
        }
        iid__image_free(&img);
    }
    return IID_OK;
}

double iid__plan_work(const iid_plan_t *plan, const unsigned char *todo, const int *w, const int *h)
{
    double work = 0.0;
    for (long i = 0; i < plan->count; i++) {
        const iid_plan_job_t *j = &plan->jobs[i];
        if (!todo || todo[i]) work += iid__estimate_job_work(w[j->image], h[j->image], j->steps);
    }
    return work;
}
