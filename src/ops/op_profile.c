/*
 * op_profile.c - the profile's rows: record, summarise, print (op_profile.h).
 * The wrapper's table that feeds them is op_profile_table.c.
 *
 * Rows live in an open-addressed table keyed by (op, dtype, dims), linear
 * probing; it is never filled past three quarters, so a probe ends at an empty
 * slot. A step of the SDXL UNet and IdentityNet makes a few hundred keys.
 */
#include "ops/op_profile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP 1024

/* Per op: its name, its family (IID_OP_COUNT: memory traffic) and the names of
 * its dims; a name starting with '?' is printed only when the value is not 1. */
static const struct {
    const char *name;
    int family;
    const char *dims[IID_PROF_DIMS];
} ops[IID_PROF_N] = {
    [IID_PROF_MATMUL_WT] = {"matmul_wt", IID_OP_MATMUL, {"M", "N", "K"}},
    [IID_PROF_MATMUL_WN] = {"matmul_wn", IID_OP_MATMUL, {"M", "N", "K"}},
    [IID_PROF_MATMUL_NT] = {"matmul_nt", IID_OP_MATMUL, {"M", "N", "K"}},
    [IID_PROF_MATMUL_NN] = {"matmul_nn", IID_OP_MATMUL, {"M", "N", "K"}},
    [IID_PROF_LINEAR] = {"linear", IID_OP_MATMUL, {"M", "N", "K"}},
    [IID_PROF_CONV2D] = {"conv2d", IID_OP_CONV2D, {"N", "C", "H", "W", "K", "R", "S", "?stride", "?groups", "?dil"}},
    [IID_PROF_ATTENTION] = {"attention", IID_OP_ATTENTION, {"B", "H", "Tq", "Tk", "D"}},
    [IID_PROF_LAYER_NORM] = {"layer_norm", IID_OP_NORM, {"rows", "C"}},
    [IID_PROF_GROUP_NORM] = {"group_norm", IID_OP_NORM, {"N", "C", "HW", "G"}},
    [IID_PROF_GROUP_NORM_SILU] = {"group_norm_silu", IID_OP_NORM, {"N", "C", "HW", "G"}},
    [IID_PROF_BATCH_NORM] = {"batch_norm", IID_OP_NORM, {"N", "C", "HW"}},
    [IID_PROF_UNARY] = {"unary", IID_OP_UNARY, {"op", "n"}},
    [IID_PROF_SCALE] = {"scale", IID_OP_BINARY, {"n"}},
    [IID_PROF_DIV_SCALAR] = {"div_scalar", IID_OP_BINARY, {"n"}},
    [IID_PROF_ADD] = {"add", IID_OP_BINARY, {"n"}},
    [IID_PROF_LERP] = {"lerp", IID_OP_BINARY, {"n"}},
    [IID_PROF_DIV_PLANE] = {"div_plane", IID_OP_BINARY, {"planes", "hw"}},
    [IID_PROF_BLEND_TILE] = {"blend_tile", IID_OP_BINARY, {"P", "OH", "OW", "TH", "TW"}},
    [IID_PROF_MUL_PLANE] = {"mul_plane", IID_OP_BINARY, {"planes", "hw"}},
    [IID_PROF_ADD_CHANNEL_BIAS] = {"add_channel_bias", IID_OP_BINARY, {"N", "C", "HW"}},
    [IID_PROF_MASKED_ADD] = {"masked_add", IID_OP_BINARY, {"B", "T", "C"}},
    [IID_PROF_SOFTMAX] = {"softmax_rows", IID_OP_SOFTMAX, {"rows", "n"}},
    [IID_PROF_GEGLU] = {"geglu", IID_OP_GEGLU, {"M", "width"}},
    [IID_PROF_MAXPOOL2D] = {"maxpool2d", IID_OP_POOL, {"N", "C", "H", "W", "kh", "kw"}},
    [IID_PROF_AVGPOOL2D] = {"avgpool2d", IID_OP_POOL, {"N", "C", "H", "W", "kh", "kw"}},
    [IID_PROF_UPSAMPLE] = {"upsample2x", IID_OP_RESAMPLE, {"N", "C", "H", "W"}},
    [IID_PROF_RESIZE] = {"resize_plane", IID_OP_RESAMPLE, {"P", "H", "W", "OH", "OW"}},
    [IID_PROF_PERMUTE021] = {"permute021", IID_OP_LAYOUT, {"N", "A", "B"}},
    [IID_PROF_CONCAT] = {"concat_axis1", IID_OP_LAYOUT, {"outer", "na", "nb", "inner"}},
    [IID_PROF_COPY_ROWS] = {"copy_rows", IID_OP_LAYOUT, {"rows", "len"}},
    [IID_PROF_GATHER_ROWS] = {"gather_rows", IID_OP_EMBED, {"n", "dim"}},
    [IID_PROF_TIMESTEP_EMBEDDING] = {"timestep_emb", IID_OP_EMBED, {"n", "dim"}},
    [IID_PROF_IMAGE_U8] = {"image_u8_to_f32", IID_OP_IMAGE_U8, {"HW", "C"}},
    [IID_PROF_UPLOAD] = {"upload", IID_OP_COUNT, {"bytes"}},
    [IID_PROF_DOWNLOAD] = {"download", IID_OP_COUNT, {"bytes"}},
    [IID_PROF_COPY] = {"copy", IID_OP_COUNT, {"bytes"}},
    [IID_PROF_FILL] = {"fill", IID_OP_COUNT, {"n"}},
};

static const char *const family_names[IID_OP_COUNT + 1] = {
    [IID_OP_MATMUL] = "matmul",   [IID_OP_CONV2D] = "conv2d", [IID_OP_ATTENTION] = "attention",
    [IID_OP_NORM] = "norm",       [IID_OP_UNARY] = "unary",   [IID_OP_BINARY] = "binary",
    [IID_OP_SOFTMAX] = "softmax", [IID_OP_POOL] = "pool",     [IID_OP_RESAMPLE] = "resample",
    [IID_OP_GEGLU] = "geglu",     [IID_OP_LAYOUT] = "layout", [IID_OP_EMBED] = "embed",
    [IID_OP_IMAGE_U8] = "image",  [IID_OP_COUNT] = "memory",
};

static int is_gemm(iid_prof_op_t op) { return ops[op].family == IID_OP_MATMUL || ops[op].family == IID_OP_CONV2D; }

int iid__op_profile_requested(void)
{
    const char *v = getenv(IID_OP_PROFILE_ENV);
    return v && *v && strcmp(v, "0") != 0;
}

iid_status iid__op_profile_init(iid_op_profile_t *p, const iid_backend_t *parent, int enabled, iid_error_t *err)
{
    memset(p, 0, sizeof *p);
    p->parent = parent;
    if (!enabled) return IID_OK;
    p->rows = calloc(CAP, sizeof *p->rows);
    if (!p->rows) return iid__fail(err, IID_ERR_NOMEM, "op profile: out of memory for %d rows", CAP);
    p->cap = CAP;
    p->enabled = 1;
    p->be = (iid_backend_t){parent->name, parent->description, parent->host_memory, &iid__op_profile_table, p};
    return IID_OK;
}

const iid_backend_t *iid__op_profile_backend(const iid_op_profile_t *p) { return p->enabled ? &p->be : p->parent; }

void iid__op_profile_reset(iid_op_profile_t *p)
{
    if (p->rows) memset(p->rows, 0, (size_t)p->cap * sizeof *p->rows);
    p->n_rows = 0;
    p->dropped = 0;
    p->dropped_seconds = 0.0;
}

void iid__op_profile_free(iid_op_profile_t *p)
{
    if (!p) return;
    free(p->rows);
    memset(p, 0, sizeof *p);
}

double iid__op_profile_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t key_hash(iid_prof_op_t op, iid_dtype_t dtype, const int64_t *dims)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a over the key's words */
    h = (h ^ (uint64_t)op) * 1099511628211u;
    h = (h ^ (uint64_t)dtype) * 1099511628211u;
    for (int i = 0; i < IID_PROF_DIMS; i++) h = (h ^ (uint64_t)dims[i]) * 1099511628211u;
    return h ^ (h >> 29);
}

void iid__op_profile_stop(iid_op_profile_t *p, double t0, iid_prof_op_t op, iid_dtype_t dtype, double flops,
                          const int64_t *dims)
{
    /* A device op's time is its run, not its launch; a failure stays queued for
     * the caller's own synchronize. */
    if (!p->parent->host_memory) (void)p->parent->i->synchronize(p->parent);
    double dt = iid__op_profile_clock() - t0;
    uint64_t h = key_hash(op, dtype, dims);
    for (int i = 0; i < p->cap; i++) {
        iid_prof_row_t *r = &p->rows[(h + (uint64_t)i) & (uint64_t)(p->cap - 1)];
        if (!r->calls) {
            if (4 * (p->n_rows + 1) > 3 * p->cap) break;
            r->op = op;
            r->dtype = dtype;
            memcpy(r->dims, dims, sizeof r->dims);
            p->n_rows++;
        } else if (r->op != op || r->dtype != dtype || memcmp(r->dims, dims, sizeof r->dims) != 0) {
            continue;
        }
        r->calls++;
        r->seconds += dt;
        r->flops += flops;
        return;
    }
    p->dropped++;
    p->dropped_seconds += dt;
}

iid_prof_summary_t iid__op_profile_summary(const iid_op_profile_t *p)
{
    iid_prof_summary_t s = {p->dropped_seconds, 0.0, 0.0, p->dropped};
    for (int i = 0; i < p->cap; i++) {
        const iid_prof_row_t *r = &p->rows[i];
        if (!r->calls) continue;
        s.seconds += r->seconds;
        s.calls += r->calls;
        if (is_gemm(r->op)) {
            s.gemm_seconds += r->seconds;
            s.gemm_flops += r->flops;
        }
    }
    return s;
}

const char *iid__op_profile_name(iid_prof_op_t op) { return (unsigned)op < IID_PROF_N ? ops[op].name : "?"; }

void iid__op_profile_shape(const iid_prof_row_t *r, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < IID_PROF_DIMS && ops[r->op].dims[i] && at < cap; i++) {
        const char *name = ops[r->op].dims[i];
        if (name[0] == '?') {
            if (r->dims[i] == 1) continue;
            name++;
        }
        int n = snprintf(buf + at, cap - at, "%s%s=%lld", at ? " " : "", name, (long long)r->dims[i]);
        if (n < 0) return;
        at += (size_t)n;
    }
}

static int by_time(const void *a, const void *b)
{
    double x = ((const iid_prof_row_t *)a)->seconds, y = ((const iid_prof_row_t *)b)->seconds;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void rate(char *buf, size_t cap, double flops, double seconds)
{
    if (flops > 0 && seconds > 0) snprintf(buf, cap, "%.1f", flops / seconds * 1e-9);
    else snprintf(buf, cap, "-");
}

iid_status iid__op_profile_print(const iid_op_profile_t *p, FILE *f, double step_seconds, int max_rows,
                                 iid_error_t *err)
{
    iid_prof_summary_t s = iid__op_profile_summary(p);
    double whole = step_seconds > 0 ? step_seconds : s.seconds;
    iid_prof_row_t *rows = malloc((size_t)(p->n_rows ? p->n_rows : 1) * sizeof *rows);
    if (!rows) return iid__fail(err, IID_ERR_NOMEM, "op profile: out of memory for the sort");
    int n = 0;
    for (int i = 0; i < p->cap; i++)
        if (p->rows[i].calls) rows[n++] = p->rows[i];
    qsort(rows, (size_t)n, sizeof *rows, by_time);
    fprintf(f, "op profile: %ld calls, %d shapes, %.3f s in the ops (%.1f%% of %.3f s)\n", s.calls, n, s.seconds,
            whole > 0 ? 100.0 * s.seconds / whole : 0.0, whole);
    fprintf(f, "%-16s %-46s %-5s %6s %9s %8s %6s\n", "op", "shape", "dtype", "calls", "seconds", "GFLOP/s", "%step");
    double rest = 0.0;
    int rest_n = 0;
    for (int i = 0; i < n; i++) {
        if (i >= max_rows) {
            rest += rows[i].seconds;
            rest_n++;
            continue;
        }
        char shape[128], gf[32];
        iid__op_profile_shape(&rows[i], shape, sizeof shape);
        rate(gf, sizeof gf, rows[i].flops, rows[i].seconds);
        fprintf(f, "%-16s %-46s %-5s %6ld %9.4f %8s %6.2f\n", ops[rows[i].op].name, shape,
                iid__dtype_name(rows[i].dtype), rows[i].calls, rows[i].seconds, gf,
                whole > 0 ? 100.0 * rows[i].seconds / whole : 0.0);
    }
    if (rest_n) fprintf(f, "(%d more shapes: %.4f s)\n", rest_n, rest);
    if (p->dropped) fprintf(f, "(%ld calls past the table's capacity: %.4f s)\n", p->dropped, p->dropped_seconds);
    free(rows);
    double fam_s[IID_OP_COUNT + 1] = {0}, fam_f[IID_OP_COUNT + 1] = {0};
    for (int i = 0; i < p->cap; i++)
        if (p->rows[i].calls) {
            fam_s[ops[p->rows[i].op].family] += p->rows[i].seconds;
            fam_f[ops[p->rows[i].op].family] += p->rows[i].flops;
        }
    fprintf(f, "by family:");
    for (int k = 0; k <= IID_OP_COUNT; k++) {
        if (fam_s[k] <= 0) continue;
        char gf[32];
        rate(gf, sizeof gf, fam_f[k], fam_s[k]);
        fprintf(f, " %s %.3f s (%.1f%%%s%s%s)", family_names[k], fam_s[k], whole > 0 ? 100.0 * fam_s[k] / whole : 0.0,
                fam_f[k] > 0 ? ", " : "", fam_f[k] > 0 ? gf : "", fam_f[k] > 0 ? " GFLOP/s" : "");
    }
    fprintf(f, "\n");
    return IID_OK;
}
