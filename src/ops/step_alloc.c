/*
 * step_alloc.c - record a step's allocations, plan them into one block, replay
 * (see step_alloc.h).
 *
 * Planning walks the recorded allocations in order, keeping the buffers still
 * alive at that moment sorted by offset, and puts each new buffer in the first
 * gap large enough (or after the last one). Buffers whose lifetimes do not
 * overlap share memory; the block is as large as the highest end placed.
 */
#include "ops/step_alloc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 64

static size_t round_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

static void *sa_alloc(const iid_backend_t *be, size_t bytes)
{
    iid_step_alloc_t *sa = be->ctx;
    size_t n = round_up(bytes ? bytes : 1);
    if (sa->replaying) {
        if (sa->next < sa->n_plan && n <= sa->size[sa->next]) return sa->block + sa->offset[sa->next++];
        sa->misses++;
        sa->parent_allocs++;
        return sa->parent->i->alloc(sa->parent, bytes);
    }
    void *p = sa->parent->i->alloc(sa->parent, bytes);
    sa->parent_allocs++;
    if (!p) return NULL;
    if (sa->n_ev == sa->cap_ev) { /* the dry pass may grow its log; replays never do */
        int cap = sa->cap_ev ? 2 * sa->cap_ev : 1024;
        iid_step_event_t *ev = realloc(sa->ev, (size_t)cap * sizeof *ev);
        if (!ev) {
            sa->failed = 1;
            return p;
        }
        sa->ev = ev;
        sa->cap_ev = cap;
    }
    sa->ev[sa->n_ev++] = (iid_step_event_t){n, sa->clock++, INT_MAX, p};
    return p;
}

static void sa_free(const iid_backend_t *be, void *p)
{
    iid_step_alloc_t *sa = be->ctx;
    if (sa->block && (unsigned char *)p >= sa->block && (unsigned char *)p < sa->block + sa->block_bytes) return;
    if (!sa->replaying)
        for (int i = sa->n_ev - 1; i >= 0; i--)
            if (sa->ev[i].ptr == p && sa->ev[i].t_free == INT_MAX) {
                sa->ev[i].t_free = sa->clock++;
                break;
            }
    sa->parent->i->free(sa->parent, p);
}

void iid__step_alloc_init(iid_step_alloc_t *sa, const iid_backend_t *parent)
{
    memset(sa, 0, sizeof *sa);
    sa->parent = parent;
    sa->table = *parent->i;
    sa->table.alloc = sa_alloc;
    sa->table.free = sa_free;
    sa->be = (iid_backend_t){parent->name, parent->description, parent->host_memory, &sa->table, sa};
}

void iid__step_alloc_begin(iid_step_alloc_t *sa)
{
    sa->replaying = sa->block != NULL;
    sa->next = 0;
    sa->misses = 0;
    sa->n_ev = 0;
    sa->clock = 0;
    sa->failed = 0;
}

/* Offsets for the recorded events; returns the block size, or 0 on failure. */
static size_t plan(iid_step_alloc_t *sa)
{
    int n = sa->n_ev, n_live = 0;
    int *live = malloc((size_t)(n ? n : 1) * sizeof *live); /* event ids alive, by offset */
    free(sa->offset);
    free(sa->size);
    sa->offset = malloc((size_t)(n ? n : 1) * sizeof *sa->offset);
    sa->size = malloc((size_t)(n ? n : 1) * sizeof *sa->size);
    if (!live || !sa->offset || !sa->size) {
        free(live);
        return 0;
    }
    size_t top = ALIGN;
    for (int i = 0; i < n; i++) {
        const iid_step_event_t *e = &sa->ev[i];
        int k = 0;
        for (int j = 0; j < n_live; j++) /* drop the buffers freed before this one was made */
            if (sa->ev[live[j]].t_free > e->t_alloc) live[k++] = live[j];
        n_live = k;
        size_t at = 0;
        int pos = 0;
        for (; pos < n_live; pos++) { /* first gap that fits */
            size_t o = sa->offset[live[pos]];
            if (o >= at + e->size) break;
            size_t end = o + sa->size[live[pos]];
            if (end > at) at = end;
        }
        memmove(live + pos + 1, live + pos, (size_t)(n_live - pos) * sizeof *live);
        live[pos] = i;
        n_live++;
        sa->offset[i] = at;
        sa->size[i] = e->size;
        if (at + e->size > top) top = at + e->size;
    }
    free(live);
    sa->n_plan = n;
    return top;
}

iid_status iid__step_alloc_end(iid_step_alloc_t *sa, iid_error_t *err)
{
    int replan = !sa->replaying || sa->misses || sa->next != sa->n_plan;
    sa->replaying = 0;
    if (!replan) return IID_OK;
    if (sa->block) sa->parent->i->free(sa->parent, sa->block);
    sa->block = NULL;
    sa->block_bytes = 0;
    sa->n_plan = 0;
    if (sa->failed || !sa->n_ev) return IID_OK; /* nothing (reliable) to plan: the next step records again */
    size_t bytes = plan(sa);
    if (!bytes) return iid__fail(err, IID_ERR_NOMEM, "step allocator: out of memory for the plan");
    sa->block = sa->parent->i->alloc(sa->parent, bytes);
    sa->parent_allocs++;
    if (!sa->block) {
        sa->n_plan = 0;
        return iid__fail(err, IID_ERR_NOMEM, "step allocator: cannot allocate the %.1f MiB step block",
                         bytes / 1048576.0);
    }
    sa->block_bytes = bytes;
    return IID_OK;
}

void iid__step_alloc_free(iid_step_alloc_t *sa)
{
    if (!sa || !sa->parent) return;
    if (sa->block) sa->parent->i->free(sa->parent, sa->block);
    free(sa->ev);
    free(sa->offset);
    free(sa->size);
    iid__step_alloc_init(sa, sa->parent);
}
