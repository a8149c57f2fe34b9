/*
 * step_alloc.h - a denoising step's memory, planned once and then reused.
 *
 * A step allocator wraps a backend: its `be` is a backend whose table is the
 * parent's with alloc and free replaced, handed to the models for the calls of a
 * step (iid_unet_inputs_t.be, iid_controlnet_inputs_t.be). Every activation and
 * every kernel scratch buffer of a step goes through it.
 *
 *   - The first step is the dry pass: allocations go to the parent and their
 *     sizes and lifetimes (alloc and free order) are recorded.
 *   - iid__step_alloc_end() then places every recorded buffer at an offset of
 *     one block (first fit among the buffers alive at the same time, like
 *     ggml-alloc's graph allocator) and allocates that block from the parent:
 *     its size is the step's peak activation memory.
 *   - The following steps replay: the k-th allocation is the block plus the k-th
 *     offset, frees are no-ops, and the parent is never called. A step that
 *     allocates differently (another shape, more buffers) falls back to the
 *     parent for what does not fit the plan and is recorded again at its end.
 *
 * parent_allocs counts the calls to the parent's alloc, so a test can check that
 * a planned step allocates nothing. One allocator serves one thread.
 */
#ifndef IID_OPS_STEP_ALLOC_H
#define IID_OPS_STEP_ALLOC_H

#include "ops/backend.h"

typedef struct iid_step_event {
    size_t size;     /* bytes, rounded up to 64 */
    int t_alloc;     /* event clock at alloc and free (INT_MAX: still alive) */
    int t_free;
    void *ptr;       /* the parent's pointer during the dry pass */
} iid_step_event_t;

typedef struct iid_step_alloc {
    iid_backend_t be;            /* the wrapper: pass &sa->be to the models */
    iid_backend_i table;         /* the parent's table, alloc and free replaced */
    const iid_backend_t *parent;
    int replaying;               /* a plan exists and this step follows it */
    iid_step_event_t *ev;        /* the dry pass's allocations, in order */
    int n_ev, cap_ev, clock;
    size_t *offset;              /* per planned allocation */
    size_t *size;
    int n_plan, next;
    unsigned char *block;        /* the planned memory, from the parent */
    size_t block_bytes;          /* = the peak activation memory of a step */
    long parent_allocs;          /* calls to the parent's alloc so far */
    int misses;                  /* allocations of this step the plan did not cover */
    int failed;                  /* recording ran out of memory */
} iid_step_alloc_t;

/* Wrap parent; nothing is allocated yet. */
void iid__step_alloc_init(iid_step_alloc_t *sa, const iid_backend_t *parent);
/* Start a step: replay the plan when there is one, else record. */
void iid__step_alloc_begin(iid_step_alloc_t *sa);
/* End a step: after a dry pass (or a step that left the plan) make the plan and
 * its block. Fails only when the block cannot be allocated. */
iid_status iid__step_alloc_end(iid_step_alloc_t *sa, iid_error_t *err);
/* Release the block and the bookkeeping; the allocator is then as after _init. */
void iid__step_alloc_free(iid_step_alloc_t *sa);

#endif
