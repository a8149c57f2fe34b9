/* face_cache.c - the LRU table of face analyses (see face_cache.h). */
#include "pipeline/face_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

iid_face_key_t iid__face_key(const void *data, size_t size, const iid_face_opts_t *opts)
{
    iid_face_key_t k;
    memset(&k, 0, sizeof k);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    k.hash = h;
    k.size = size;
    k.width = opts->width;
    k.height = opts->height;
    memcpy(k.pad_rgb, opts->pad_rgb, 3);
    return k;
}

static int same_key(const iid_face_key_t *a, const iid_face_key_t *b)
{
    return a->hash == b->hash && a->size == b->size && a->width == b->width && a->height == b->height &&
           memcmp(a->pad_rgb, b->pad_rgb, 3) == 0;
}

static void entry_clear(iid_face_entry_t *e)
{
    free(e->msg);
    iid_face_prep_free(&e->face);
    memset(e, 0, sizeof *e);
}

iid_status iid__face_cache_init(iid_face_cache_t *c, int cap, iid_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->cap = cap > 0 ? cap : 1;
    c->items = calloc((size_t)c->cap, sizeof *c->items);
    return c->items ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "out of memory for the face cache");
}

void iid__face_cache_free(iid_face_cache_t *c)
{
    if (!c) return;
    for (int i = 0; c->items && i < c->cap; i++) entry_clear(&c->items[i]);
    free(c->items);
    memset(c, 0, sizeof *c);
}

const iid_face_entry_t *iid__face_cache_find(iid_face_cache_t *c, const iid_face_key_t *key)
{
    for (int i = 0; i < c->cap; i++) {
        iid_face_entry_t *e = &c->items[i];
        if (e->last_use && same_key(&e->key, key)) {
            e->last_use = ++c->tick;
            return e;
        }
    }
    return NULL;
}

void iid__face_cache_put(iid_face_cache_t *c, const iid_face_key_t *key, iid_status status, const char *msg,
                         const char *name, const iid_face_prep_t *face)
{
    iid_face_entry_t *victim = &c->items[0];
    for (int i = 1; i < c->cap; i++)
        if (c->items[i].last_use < victim->last_use) victim = &c->items[i];
    entry_clear(victim);
    iid_face_prep_t *f = &victim->face;
    if (status != IID_OK) {
        if (!(victim->msg = strdup(msg && *msg ? msg : iid_status_str(status)))) return;
        size_t n = strlen(name);
        if (strncmp(victim->msg, name, n) == 0 && strncmp(victim->msg + n, ": ", 2) == 0) victim->name_len = n + 2;
    } else {
        *f = *face;
        f->kps_image = f->mask = NULL;
        f->sources = f->left_out = NULL;
        f->embedding = malloc((size_t)(face->embedding_dim > 0 ? face->embedding_dim : 1) * sizeof(float));
        if (!f->embedding) {
            memset(f, 0, sizeof *f);
            return;
        }
        memcpy(f->embedding, face->embedding, (size_t)face->embedding_dim * sizeof(float));
    }
    victim->key = *key;
    victim->status = status;
    victim->last_use = ++c->tick;
}
