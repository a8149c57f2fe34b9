/* text_cache.c - the LRU table of text embeddings (see text_cache.h). */
#include "pipeline/text_cache.h"

#include <stdlib.h>
#include <string.h>

static void entry_clear(iid_text_entry_t *e)
{
    free(e->prompt);
    free(e->negative);
    iid__prompt_embeds_free(&e->pos);
    iid__prompt_embeds_free(&e->neg);
    memset(e, 0, sizeof *e);
}

iid_status iid__text_cache_init(iid_text_cache_t *c, int cap, iid_error_t *err)
{
    memset(c, 0, sizeof *c);
    c->cap = cap > 0 ? cap : 1;
    c->items = calloc((size_t)c->cap, sizeof *c->items);
    return c->items ? IID_OK : iid__fail(err, IID_ERR_NOMEM, "out of memory for the text cache");
}

void iid__text_cache_free(iid_text_cache_t *c)
{
    if (!c) return;
    for (int i = 0; c->items && i < c->cap; i++) entry_clear(&c->items[i]);
    free(c->items);
    memset(c, 0, sizeof *c);
}

void iid__text_cache_clear(iid_text_cache_t *c)
{
    for (int i = 0; c->items && i < c->cap; i++) entry_clear(&c->items[i]);
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

iid_status iid__text_cache_get(iid_text_cache_t *c, const iid_text_cond_t *tc, iid_prompt_mode_t mode,
                               const char *prompt, const char *negative, int cfg, const iid_prompt_embeds_t **pos,
                               const iid_prompt_embeds_t **neg, int *hit, iid_error_t *err)
{
    *pos = *neg = NULL;
    *hit = 0;
    iid_text_entry_t *victim = &c->items[0];
    for (int i = 0; i < c->cap; i++) {
        iid_text_entry_t *e = &c->items[i];
        if (e->last_use && e->mode == (int)mode && e->cfg == cfg && same_text(e->prompt, prompt) &&
            same_text(e->negative, negative)) {
            e->last_use = ++c->tick;
            *pos = &e->pos;
            *neg = cfg ? &e->neg : NULL;
            *hit = 1;
            return IID_OK;
        }
        if (e->last_use < victim->last_use) victim = e;
    }
    entry_clear(victim);
    if (!(victim->prompt = strdup(prompt)) || (negative && !(victim->negative = strdup(negative)))) {
        entry_clear(victim);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory for the text cache");
    }
    iid_status s = iid__text_cond_encode(tc, mode, prompt, negative, cfg, &victim->pos, cfg ? &victim->neg : NULL, err);
    if (s != IID_OK) {
        entry_clear(victim);
        return s;
    }
    victim->mode = (int)mode;
    victim->cfg = cfg;
    victim->last_use = ++c->tick;
    *pos = &victim->pos;
    *neg = cfg ? &victim->neg : NULL;
    return IID_OK;
}
