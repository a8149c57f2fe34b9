/*
 * arena.h - bump allocation for short-lived scratch memory.
 *
 * An arena hands out 64-byte aligned blocks from chunks it owns; everything is
 * released at once by iid__arena_reset() (to a mark) or iid__arena_free(). Used for
 * per-layer activations, so a forward pass frees its temporaries by resetting to
 * the mark taken at its start.
 */
#ifndef IID_CORE_ARENA_H
#define IID_CORE_ARENA_H

#include <stddef.h>

typedef struct iid_arena_chunk iid_arena_chunk_t;

typedef struct iid_arena {
    iid_arena_chunk_t *head; /* most recent chunk */
    size_t chunk_size;       /* default size of a new chunk */
    size_t in_use;           /* bytes handed out now */
    size_t peak;             /* largest in_use seen */
} iid_arena_t;

typedef struct iid_arena_mark {
    iid_arena_chunk_t *chunk;
    size_t used;
    size_t in_use;
} iid_arena_mark_t;

void iid__arena_init(iid_arena_t *a, size_t chunk_size);
/* NULL when memory is exhausted; the arena stays usable. */
void *iid__arena_alloc(iid_arena_t *a, size_t bytes);
/* Zero-filled variant. */
void *iid__arena_calloc(iid_arena_t *a, size_t count, size_t size);
iid_arena_mark_t iid__arena_mark(const iid_arena_t *a);
void iid__arena_reset(iid_arena_t *a, iid_arena_mark_t mark);
void iid__arena_free(iid_arena_t *a);

#endif
