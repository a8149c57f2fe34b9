/*
 * lora.c - LoRA key schemes and the fusion into a weight index (see lora.h).
 *
 * Modules are matched to the model by their underscore "stem": every weight
 * "<module>.weight" of the model's index is written with '.' as '_' and looked up
 * in a sorted table, so the kohya scheme (which lost the dots) and the dotted
 * PEFT/diffusers scheme resolve the same way, without guessing where the dots were.
 */
#include "formats/lora.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/sgm_names.h"
#include "io/st_index.h"
#include "io/torch_zip.h"
#include "ops/ops.h"

const char *iid__lora_part_name(iid_lora_part_t part)
{
    static const char *names[] = {"unet", "text_encoder", "text_encoder_2"};
    return part < IID_LORA_PARTS ? names[part] : "?";
}

/* ---- reading ---------------------------------------------------------------- */

typedef enum { KEY_DOWN, KEY_UP, KEY_ALPHA } key_kind_t;

/* Split a key into part, module stem and kind; 0 when the key is no LoRA key we
 * read (err then says why). */
static int split_key(const char *key, iid_lora_part_t *part, char *stem, size_t cap, key_kind_t *kind,
                     const char **scheme)
{
    static const struct { const char *prefix; iid_lora_part_t part; int kohya; } prefixes[] = {
        {"lora_unet_", IID_LORA_UNET, 1},   {"lora_te1_", IID_LORA_TE1, 1}, {"lora_te2_", IID_LORA_TE2, 1},
        {"unet.", IID_LORA_UNET, 0},        {"text_encoder.", IID_LORA_TE1, 0},
        {"text_encoder_2.", IID_LORA_TE2, 0},
    };
    static const struct { const char *suffix; key_kind_t kind; } suffixes[] = {
        {".lora_down.weight", KEY_DOWN}, {".lora_up.weight", KEY_UP}, {".lora_A.weight", KEY_DOWN},
        {".lora_B.weight", KEY_UP},      {".lora.down.weight", KEY_DOWN}, {".lora.up.weight", KEY_UP},
        {".alpha", KEY_ALPHA},
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t lp = strlen(prefixes[i].prefix), lk = strlen(key);
        if (strncmp(key, prefixes[i].prefix, lp) != 0) continue;
        for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
            size_t ls = strlen(suffixes[k].suffix);
            if (lk <= lp + ls || strcmp(key + lk - ls, suffixes[k].suffix) != 0) continue;
            size_t n = lk - lp - ls;
            if (n >= cap) return 0;
            for (size_t c = 0; c < n; c++) stem[c] = key[lp + c] == '.' ? '_' : key[lp + c];
            stem[n] = '\0';
            *part = prefixes[i].part;
            *kind = suffixes[k].kind;
            *scheme = prefixes[i].kohya ? "kohya" : "diffusers/PEFT";
            return 1;
        }
        return 0;
    }
    return 0;
}

static iid_lora_module_t *module_for(iid_lora_t *l, iid_lora_part_t part, const char *stem, iid_error_t *err)
{
    for (int i = l->n_mods - 1; i >= 0; i--)
        if (l->mods[i].part == part && strcmp(l->mods[i].stem, stem) == 0) return &l->mods[i];
    iid_lora_module_t *m = realloc(l->mods, (size_t)(l->n_mods + 1) * sizeof *m);
    if (!m) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", l->file.path), NULL;
    l->mods = m;
    m = &l->mods[l->n_mods];
    memset(m, 0, sizeof *m);
    m->part = part;
    m->alpha = NAN;
    m->stem = strdup(stem);
    if (!m->stem) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", l->file.path), NULL;
    l->n_mods++;
    return m;
}

static iid_status add_key(iid_lora_t *l, const iid_st_tensor_t *t, iid_error_t *err)
{
    iid_lora_part_t part;
    key_kind_t kind;
    const char *scheme;
    char stem[512];
    if (!split_key(t->name, &part, stem, sizeof stem, &kind, &scheme)) {
        const char *why = strstr(t->name, "hada_") || strstr(t->name, "lokr_") ? " (LyCORIS LoHa/LoKr is not supported)"
                          : strstr(t->name, "lora_mid") ? " (Tucker-decomposed LoCon is not supported)"
                          : strstr(t->name, "dora_scale") ? " (DoRA is not supported)"
                          : strncmp(t->name, "lora_te_", 8) == 0 ? " (an SD 1.x text-encoder LoRA, not SDXL)"
                                                                 : "";
        return iid__fail(err, IID_ERR_UNSUPPORTED, "%s: key '%s' is not a LoRA key this program reads%s", l->file.path,
                         t->name, why);
    }
    if (l->scheme && strcmp(l->scheme, scheme) != 0)
        return iid__fail(err, IID_ERR_FORMAT, "%s: mixes the kohya and diffusers/PEFT key schemes ('%s')", l->file.path,
                         t->name);
    l->scheme = scheme;
    iid_lora_module_t *m = module_for(l, part, stem, err);
    if (!m) return IID_ERR_NOMEM;
    if (kind == KEY_ALPHA) {
        if (iid__st_numel(t) != 1) return iid__fail(err, IID_ERR_FORMAT, "%s: '%s' is not a scalar", l->file.path, t->name);
        IID_TRY(iid__st_read_f32(t, &m->alpha, err));
    } else if (t->ndim != 2 && t->ndim != 4)
        return iid__fail(err, IID_ERR_FORMAT, "%s: '%s' must be 2-D or 4-D", l->file.path, t->name);
    else if (kind == KEY_DOWN) m->down = t;
    else m->up = t;
    return IID_OK;
}

static iid_status check_module(const iid_lora_t *l, iid_lora_module_t *m, iid_error_t *err)
{
    if (!m->down || !m->up)
        return iid__fail(err, IID_ERR_FORMAT, "%s: module '%s' has no %s weight", l->file.path, m->stem,
                         m->down ? "up" : "down");
    m->rank = (int)m->down->shape[0];
    int64_t up_rank = iid__st_numel(m->up) / m->up->shape[0];
    if (m->rank <= 0 || up_rank != m->rank || (m->up->ndim == 4 && (m->up->shape[2] != 1 || m->up->shape[3] != 1)))
        return iid__fail(err, IID_ERR_FORMAT, "%s: module '%s': down rank %d does not match its up weight", l->file.path,
                         m->stem, m->rank);
    if (isnan(m->alpha)) m->alpha = (float)m->rank;
    return IID_OK;
}

iid_status iid__lora_open(iid_lora_t *l, const char *path, iid_error_t *err)
{
    memset(l, 0, sizeof *l);
    IID_TRY(iid__weights_open(&l->file, path, err)); /* safetensors, or a torch .bin (older diffusers LoRAs) */
    iid_status s = IID_OK;
    for (int i = 0; i < l->file.count && s == IID_OK; i++) s = add_key(l, &l->file.tensors[i], err);
    for (int i = 0; i < l->n_mods && s == IID_OK; i++) {
        s = check_module(l, &l->mods[i], err);
        l->n_convs += s == IID_OK && l->mods[i].down->ndim == 4;
    }
    if (s == IID_OK && l->n_mods == 0) s = iid__fail(err, IID_ERR_FORMAT, "%s: holds no LoRA modules", path);
    if (s != IID_OK) iid__lora_close(l);
    return s;
}

void iid__lora_close(iid_lora_t *l)
{
    if (!l) return;
    for (int i = 0; i < l->n_mods; i++) free(l->mods[i].stem);
    free(l->mods);
    iid__st_close(&l->file);
    memset(l, 0, sizeof *l);
}

int iid__lora_count(const iid_lora_t *l, iid_lora_part_t part)
{
    int n = 0;
    for (int i = 0; i < l->n_mods; i++) n += l->mods[i].part == part;
    return n;
}

iid_status iid__lora_spec_parse(iid_lora_spec_t *spec, const char *arg, iid_error_t *err)
{
    memset(spec, 0, sizeof *spec);
    spec->multiplier = 1.0f;
    size_t n = strlen(arg);
    const char *colon = strrchr(arg, ':');
    if (colon && colon[1]) {
        char *end;
        double m = strtod(colon + 1, &end);
        if (*end == '\0' && isfinite(m)) {
            spec->multiplier = (float)m;
            n = (size_t)(colon - arg);
        }
    }
    if (n == 0 || n >= sizeof spec->path)
        return iid__fail(err, IID_ERR_INVALID, "--lora '%s': expected FILE[:MULTIPLIER]", arg);
    memcpy(spec->path, arg, n);
    spec->path[n] = '\0';
    return IID_OK;
}

/* ---- fusion ----------------------------------------------------------------- */

typedef struct stem_entry {
    char *stem;
    iid_st_tensor_t *weight;
} stem_entry_t;

static int cmp_stem(const void *a, const void *b)
{
    return strcmp(((const stem_entry_t *)a)->stem, ((const stem_entry_t *)b)->stem);
}

/* Appends (stem of name, entry) when name is "<module>.weight". */
static iid_status add_stem(stem_entry_t *table, int *n, const char *name, iid_st_tensor_t *t, const char *label,
                           iid_error_t *err)
{
    size_t l = strlen(name);
    if (l <= 7 || strcmp(name + l - 7, ".weight") != 0) return IID_OK;
    char *s = strndup(name, l - 7);
    if (!s) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", label);
    for (char *c = s; *c; c++)
        if (*c == '.') *c = '_';
    table[(*n)++] = (stem_entry_t){s, t};
    return IID_OK;
}

/* Every "<module>.weight" of st as (stem, entry), sorted by stem; a UNet's weights
 * also under their SGM names (kohya's SDXL LoRAs use those). */
static iid_status stem_table(iid_safetensors_t *st, iid_lora_part_t part, stem_entry_t **out, int *n, iid_error_t *err)
{
    char **aliases = NULL;
    *n = 0;
    *out = calloc((size_t)(st->count ? 2 * st->count : 1), sizeof **out);
    if (!*out) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", st->path);
    iid_status s = part == IID_LORA_UNET ? iid__sgm_unet_aliases(st, &aliases, err) : IID_OK;
    for (int i = 0; i < st->count && s == IID_OK; i++) {
        s = add_stem(*out, n, st->tensors[i].name, &st->tensors[i], st->path, err);
        if (s == IID_OK && aliases && aliases[i]) s = add_stem(*out, n, aliases[i], &st->tensors[i], st->path, err);
    }
    iid__sgm_aliases_free(aliases, st->count);
    if (s == IID_OK) qsort(*out, (size_t)*n, sizeof **out, cmp_stem);
    return s;
}

static int is_owned(const iid_safetensors_t *st, const void *p)
{
    for (int i = 0; i < st->owned_count; i++)
        if (st->owned[i] == p) return 1;
    return 0;
}

static iid_status fuse_one(iid_safetensors_t *st, iid_st_tensor_t *w, const iid_lora_module_t *m, float scale,
                           const char *lora_path, iid_error_t *err)
{
    int64_t out = w->shape[0], numel = iid__st_numel(w), K = out > 0 ? numel / out : 0;
    int64_t up_out = m->up->shape[0], down_k = iid__st_numel(m->down) / m->rank;
    if (w->ndim < 2 || up_out != out || down_k != K)
        return iid__fail(err, IID_ERR_FORMAT, "%s: module '%s' (%lld x %lld) does not fit weight '%s' of %s",
                         lora_path, m->stem, (long long)up_out, (long long)down_k, w->name, st->path);
    float *up = malloc((size_t)(out * m->rank) * sizeof *up), *down = malloc((size_t)(m->rank * K) * sizeof *down);
    float *acc = malloc((size_t)numel * sizeof *acc);
    int owned = is_owned(st, w->data);
    void *dst = owned ? (void *)w->data : malloc(w->nbytes ? w->nbytes : 1);
    iid_status s = (up && down && acc && dst) ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "%s: out of memory fusing '%s'",
                                                                  lora_path, m->stem);
    if (s == IID_OK) s = iid__st_read_f32(m->up, up, err);
    if (s == IID_OK) s = iid__st_read_f32(m->down, down, err);
    if (s == IID_OK) s = iid__st_read_f32(w, acc, err);
    if (s == IID_OK) {
        iid__sgemm('N', (int)out, (int)K, m->rank, scale, up, m->rank, down, (int)K, 1.0f, acc, (int)K);
        s = iid__convert_from_f32(dst, w->dtype, acc, (size_t)numel, err);
    }
    if (s == IID_OK && !owned) {
        iid__st_release_range(st, w->data, w->nbytes);
        s = iid__st_adopt(st, dst, err);
        dst = NULL;
        if (s == IID_OK) w->data = st->owned[st->owned_count - 1];
    }
    if (!owned) free(dst);
    free(up), free(down), free(acc);
    return s;
}

/* Every module of part matched to its weight in st (hits[i] for module i, NULL
 * for other parts); fails naming the first few modules that match nothing. */
static iid_status resolve(iid_safetensors_t *st, const iid_lora_t *l, iid_lora_part_t part, iid_st_tensor_t **hits,
                          iid_error_t *err)
{
    stem_entry_t *table;
    int n;
    iid_status s = stem_table(st, part, &table, &n, err);
    char missing[400] = "";
    int n_missing = 0;
    for (int i = 0; i < l->n_mods && s == IID_OK; i++) {
        const iid_lora_module_t *m = &l->mods[i];
        hits[i] = NULL;
        if (m->part != part) continue;
        stem_entry_t key = {m->stem, NULL};
        stem_entry_t *hit = bsearch(&key, table, (size_t)n, sizeof *table, cmp_stem);
        if (hit) hits[i] = hit->weight;
        else if (n_missing++ < 3)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s'%s'", n_missing > 1 ? ", " : "",
                     m->stem);
    }
    if (s == IID_OK && n_missing)
        s = iid__fail(err, IID_ERR_FORMAT, "%s: %d %s module%s match nothing in %s: %s%s", l->file.path, n_missing,
                      iid__lora_part_name(part), n_missing > 1 ? "s" : "", st->path, missing, n_missing > 3 ? ", ..." : "");
    for (int i = 0; table && i < n; i++) free(table[i].stem);
    free(table);
    return s;
}

iid_status iid__lora_check(iid_safetensors_t *st, const iid_lora_t *l, iid_lora_part_t part, iid_error_t *err)
{
    iid_st_tensor_t **hits = calloc((size_t)l->n_mods, sizeof *hits);
    if (!hits) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", l->file.path);
    iid_status s = resolve(st, l, part, hits, err);
    free(hits);
    return s;
}

iid_status iid__lora_fuse(iid_safetensors_t *st, const iid_lora_t *l, iid_lora_part_t part, float multiplier,
                          iid_error_t *err)
{
    if (iid__lora_count(l, part) == 0) return IID_OK;
    iid_st_tensor_t **hits = calloc((size_t)l->n_mods, sizeof *hits);
    if (!hits) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", l->file.path);
    iid_status s = resolve(st, l, part, hits, err); /* nothing is copied unless every module fits */
    for (int i = 0; i < l->n_mods && s == IID_OK; i++)
        if (hits[i]) {
            const iid_lora_module_t *m = &l->mods[i];
            s = fuse_one(st, hits[i], m, multiplier * m->alpha / (float)m->rank, l->file.path, err);
            /* the module is used up: its pages need not stay resident */
            iid__st_release_range(&l->file, m->down->data, m->down->nbytes);
            iid__st_release_range(&l->file, m->up->data, m->up->nbytes);
        }
    free(hits);
    return s;
}
