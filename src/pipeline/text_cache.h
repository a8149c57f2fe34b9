/*
 * text_cache.h - text embeddings kept per (prompt, negative, prompt mode,
 * guidance on/off), so a sweep over one prompt runs the two text encoders once.
 *
 * A small LRU table: lookups compare the strings (a handful of entries, each
 * far cheaper to compare than to encode). An entry holds the prompt's and, with
 * guidance, the negative's embeddings; the least recently used one is dropped
 * when the table is full.
 *
 *   const iid_prompt_embeds_t *pos, *neg;
 *   int hit;
 *   IID_TRY(iid__text_cache_get(&c, &pipeline->text, mode, prompt, negative, cfg, &pos, &neg, &hit, err));
 *   // pos/neg stay valid until the next get or free
 */
#ifndef IID_PIPELINE_TEXT_CACHE_H
#define IID_PIPELINE_TEXT_CACHE_H

#include "pipeline/text_cond.h"

typedef struct iid_text_entry {
    char *prompt, *negative; /* negative NULL = None */
    int mode, cfg;
    iid_prompt_embeds_t pos, neg;
    long last_use; /* 0: empty */
} iid_text_entry_t;

typedef struct iid_text_cache {
    iid_text_entry_t *items;
    int cap;
    long tick;
} iid_text_cache_t;

/* A cache of cap entries (at least 1). */
iid_status iid__text_cache_init(iid_text_cache_t *c, int cap, iid_error_t *err);
void iid__text_cache_free(iid_text_cache_t *c);
/* Drop every entry (the text encoders changed), keeping the table. */
void iid__text_cache_clear(iid_text_cache_t *c);

/* The embeddings of (prompt, negative) under mode and cfg: from the cache
 * (*hit = 1) or encoded with tc and stored (*hit = 0). *neg is NULL without
 * cfg. The pointers stay valid until the next call or free. */
iid_status iid__text_cache_get(iid_text_cache_t *c, const iid_text_cond_t *tc, iid_prompt_mode_t mode,
                               const char *prompt, const char *negative, int cfg, const iid_prompt_embeds_t **pos,
                               const iid_prompt_embeds_t **neg, int *hit, iid_error_t *err);

#endif
