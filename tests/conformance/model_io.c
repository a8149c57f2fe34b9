/* model_io.c - golden input lookup with parent-case fallback (see model_io.h). */
#include "model_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const iid_st_tensor_t *conf_output(const iid_safetensors_t *st, const char *kase, const char *name)
{
    char full[1024];
    if (kase && *kase) snprintf(full, sizeof full, "%s.%s", kase, name);
    else snprintf(full, sizeof full, "%s", name);
    return iid__st_find(st, full);
}

const iid_st_tensor_t *conf_input(const conf_ctx_t *c, const iid_safetensors_t *st, const char *kase,
                                  const char *name)
{
    char k[512];
    snprintf(k, sizeof k, "%s", kase ? kase : "");
    for (;;) {
        const iid_st_tensor_t *t = conf_output(st, k, name);
        if (t || !*k) {
            conf_used(c, t);
            return t;
        }
        char *dot = strrchr(k, '.');
        if (dot) *dot = '\0';
        else k[0] = '\0';
    }
}

float *conf_f32(const iid_st_tensor_t *t)
{
    if (!t) return NULL;
    size_t n = (size_t)iid__st_numel(t);
    float *buf = malloc((n ? n : 1) * sizeof *buf);
    if (buf && iid__st_read_f32(t, buf, NULL) != IID_OK) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

iid_tensor_t conf_tensor(const iid_st_tensor_t *t)
{
    float *d = conf_f32(t);
    iid_tensor_t x = {0};
    if (!d) return x;
    x = iid__tensor_wrap(NULL, d, t->ndim, t->shape);
    x.owns = true;
    return x;
}

int conf_for_each_case_or_root(conf_ctx_t *c, const iid_safetensors_t *st, const char *suffix, conf_case_fn fn,
                               void *user)
{
    int n = 0;
    if (iid__st_find(st, suffix + 1)) {
        fn(c, st, "", user);
        n++;
    }
    return n + conf_for_each_case(c, st, suffix, fn, user);
}

iid_status conf_sdxl_source(const conf_ctx_t *c, iid_sdxl_source_t *src, iid_error_t *err)
{
    char folder[4096], file[4096];
    conf_path(c, "models/sdxl", folder, sizeof folder);
    if (!c->sdxl_file) return iid__sdxl_source_init(src, folder, NULL, err);
    iid_status s = iid__sdxl_source_init(src, conf_path(c, c->sdxl_file, file, sizeof file), folder, err);
    if (s == IID_OK) conf_read_file(c, c->sdxl_file); /* the kit's single file has a stage */
    return s;
}
