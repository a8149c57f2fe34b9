/* arena.c - chunked bump allocator with marks. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IID_ARENA_ALIGN 64

struct iid_arena_chunk {
    iid_arena_chunk_t *prev;
    size_t size;
    size_t used;
    unsigned char *base; /* aligned start of the usable bytes */
};

void iid__arena_init(iid_arena_t *a, size_t chunk_size)
{
    memset(a, 0, sizeof *a);
    a->chunk_size = chunk_size ? chunk_size : (size_t)1 << 20;
}

static size_t round_up(size_t n) { return (n + IID_ARENA_ALIGN - 1) & ~(size_t)(IID_ARENA_ALIGN - 1); }

void *iid__arena_alloc(iid_arena_t *a, size_t bytes)
{
    size_t need = round_up(bytes ? bytes : 1);
    if (need < bytes) return NULL; /* overflow */
    iid_arena_chunk_t *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > a->chunk_size ? need : a->chunk_size;
        if (size > SIZE_MAX - sizeof *c - IID_ARENA_ALIGN) return NULL;
        unsigned char *raw = malloc(sizeof *c + size + IID_ARENA_ALIGN);
        if (!raw) return NULL;
        c = (iid_arena_chunk_t *)raw;
        uintptr_t p = (uintptr_t)(raw + sizeof *c);
        c->base = (unsigned char *)round_up(p);
        c->size = size;
        c->used = 0;
        c->prev = a->head;
        a->head = c;
    }
    void *p = c->base + c->used;
    c->used += need;
    a->in_use += need;
    if (a->in_use > a->peak) a->peak = a->in_use;
    return p;
}

void *iid__arena_calloc(iid_arena_t *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = iid__arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

iid_arena_mark_t iid__arena_mark(const iid_arena_t *a)
{
    iid_arena_mark_t m = {a->head, a->head ? a->head->used : 0, a->in_use};
    return m;
}

void iid__arena_reset(iid_arena_t *a, iid_arena_mark_t mark)
{
    while (a->head && a->head != mark.chunk) {
        iid_arena_chunk_t *prev = a->head->prev;
        free(a->head);
        a->head = prev;
    }
    if (a->head) a->head->used = mark.used;
    a->in_use = mark.in_use;
}

void iid__arena_free(iid_arena_t *a)
{
    iid_arena_mark_t none = {NULL, 0, 0};
    iid__arena_reset(a, none);
}
