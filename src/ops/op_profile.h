/*
 * op_profile.h - an opt-in profile of the ops a step runs: time, calls and
 * FLOPs per (op, shape, dtype), for the "GEMM/conv at >= 50% of the peak"
 * target of issue #11 (bench/bench_step.c prints it).
 *
 * A profile wraps a backend the way a step allocator does (step_alloc.h): its
 * `be` has a table whose every entry times the parent's entry and adds the call
 * to the profile, which is the wrapper's ctx. Nothing is global: the caller
 * owns the profile and hands iid__op_profile_backend() to the models for the
 * calls it wants profiled (wrap the step allocator, not the other way round:
 * the parent's entries are called with the parent's own backend).
 *
 * Off (the default: $IID_OP_PROFILE unset or "0", read once by the caller at
 * setup), iid__op_profile_backend() is the parent itself, so the ops run with
 * no wrapper and no cost at all; the one branch is at setup.
 *
 *   iid_op_profile_t p;
 *   IID_TRY(iid__op_profile_init(&p, &sa.be, iid__op_profile_requested(), err));
 *   in.be = iid__op_profile_backend(&p);   ... run the step ...
 *   iid__op_profile_print(&p, stdout, step_seconds, 40);
 *   iid__op_profile_free(&p);
 *
 * FLOPs count multiply and add as two: 2 M N K for a product, 2 N K OH OW
 * (C/groups) R S for a convolution (K output channels), 4 B H Tq Tk D for
 * attention (both products; a causal mask is not discounted); the other ops
 * count none. dtype is the stored dtype of the op's weight (the compute dtype
 * is the backend's, $IID_DTYPE on cpu), F32 for ops on activations only. On a
 * device backend each op is synchronised before its time is taken. An op the
 * parent does not support runs on "ref" (the dispatchers' fallback) unseen; cpu
 * and ref support every op. Record never
 * allocates (a fixed table made at init; calls past its capacity are counted
 * as dropped). One profile serves one thread.
 */
#ifndef IID_OPS_OP_PROFILE_H
#define IID_OPS_OP_PROFILE_H

#include <stdio.h>

#include "ops/backend.h"

#define IID_OP_PROFILE_ENV "IID_OP_PROFILE"
#define IID_PROF_DIMS 10

/* One per timed table entry. */
typedef enum iid_prof_op {
    IID_PROF_MATMUL_WT = 0,
    IID_PROF_MATMUL_WN,
    IID_PROF_MATMUL_NT,
    IID_PROF_MATMUL_NN,
    IID_PROF_LINEAR,
    IID_PROF_CONV2D,
    IID_PROF_ATTENTION,
    IID_PROF_LAYER_NORM,
    IID_PROF_GROUP_NORM,
    IID_PROF_GROUP_NORM_SILU,
    IID_PROF_BATCH_NORM,
    IID_PROF_UNARY,
    IID_PROF_SCALE,
    IID_PROF_DIV_SCALAR,
    IID_PROF_ADD,
    IID_PROF_LERP,
    IID_PROF_DIV_PLANE,
    IID_PROF_BLEND_TILE,
    IID_PROF_MUL_PLANE,
    IID_PROF_ADD_CHANNEL_BIAS,
    IID_PROF_MASKED_ADD,
    IID_PROF_SOFTMAX,
    IID_PROF_GEGLU,
    IID_PROF_MAXPOOL2D,
    IID_PROF_AVGPOOL2D,
    IID_PROF_UPSAMPLE,
    IID_PROF_RESIZE,
    IID_PROF_PERMUTE021,
    IID_PROF_CONCAT,
    IID_PROF_COPY_ROWS,
    IID_PROF_GATHER_ROWS,
    IID_PROF_TIMESTEP_EMBEDDING,
    IID_PROF_IMAGE_U8,
    IID_PROF_UPLOAD,
    IID_PROF_DOWNLOAD,
    IID_PROF_COPY,
    IID_PROF_FILL,
    IID_PROF_N
} iid_prof_op_t;

/* One (op, dtype, shape) and what its calls took. */
typedef struct iid_prof_row {
    iid_prof_op_t op;
    iid_dtype_t dtype;
    int64_t dims[IID_PROF_DIMS]; /* as iid__op_profile_shape() names them; unused ones 0 */
    long calls;                  /* 0: an empty slot */
    double seconds;
    double flops;                /* over all the calls */
} iid_prof_row_t;

typedef struct iid_op_profile {
    iid_backend_t be;            /* the wrapper (only when enabled) */
    const iid_backend_t *parent;
    int enabled;
    iid_prof_row_t *rows;        /* open addressing, cap slots (a power of two) */
    int cap, n_rows;
    long dropped;                /* calls not recorded: the table was full */
    double dropped_seconds;
} iid_op_profile_t;

/* What the GEMM-family rows add up to. */
typedef struct iid_prof_summary {
    double seconds;              /* every recorded call, dropped ones included */
    double gemm_seconds;         /* matmul_*, linear, conv2d */
    double gemm_flops;
    long calls;
} iid_prof_summary_t;

/* 1 when $IID_OP_PROFILE asks for a profile (set, not empty, not "0"). */
int iid__op_profile_requested(void);

/* Wrap parent; when enabled, the row table is allocated here (IID_ERR_NOMEM). */
iid_status iid__op_profile_init(iid_op_profile_t *p, const iid_backend_t *parent, int enabled, iid_error_t *err);
/* The backend to run on: the wrapper when enabled, else parent itself. */
const iid_backend_t *iid__op_profile_backend(const iid_op_profile_t *p);
/* Forget what was recorded (at the start of each step). */
void iid__op_profile_reset(iid_op_profile_t *p);
void iid__op_profile_free(iid_op_profile_t *p);

iid_prof_summary_t iid__op_profile_summary(const iid_op_profile_t *p);
/* The op's name ("linear") and the row's shape ("M=4096 N=1280 K=1280") into buf. */
const char *iid__op_profile_name(iid_prof_op_t op);
void iid__op_profile_shape(const iid_prof_row_t *r, char *buf, size_t cap);
/* The rows sorted by time, at most max_rows of them (the rest summed in one
 * line), then the time per op family; "% step" is of step_seconds (the sum of
 * the ops when 0). Fails only when out of memory for the sort. */
iid_status iid__op_profile_print(const iid_op_profile_t *p, FILE *f, double step_seconds, int max_rows,
                                 iid_error_t *err);

/* ---- for the wrapper's table (op_profile_table.c) ---- */
extern const iid_backend_i iid__op_profile_table;
double iid__op_profile_clock(void);
/* Add one call of op started at t0 (iid__op_profile_clock), after synchronising
 * a device parent. */
void iid__op_profile_stop(iid_op_profile_t *p, double t0, iid_prof_op_t op, iid_dtype_t dtype, double flops,
                          const int64_t *dims);

#endif
