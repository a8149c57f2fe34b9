/* component_dir.c - config.json + weights of a component folder (see component_dir.h). */
#include "io/component_dir.h"

#include <string.h>

#include "io/file.h"

iid_status iid__component_open(const char *dir, const char *weights, iid_json_t *cfg, iid_safetensors_t *st,
                               iid_error_t *err)
{
    char path[4096];
    memset(cfg, 0, sizeof *cfg);
    memset(st, 0, sizeof *st);
    IID_TRY(iid__path_join(path, sizeof path, dir, "config.json", err));
    IID_TRY(iid__json_load(cfg, path, err));
    iid_status s = iid__path_join(path, sizeof path, dir, weights, err);
    if (s == IID_OK) s = iid__st_open(st, path, err);
    if (s != IID_OK) iid__json_free(cfg);
    return s;
}
