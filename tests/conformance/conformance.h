/*
 * conformance.h - the golden-tensor comparison harness.
 *
 * The runner walks the stages in stages.c. A stage opens the kit's golden files,
 * discovers its cases from what the files contain (tensor names, JSON entries),
 * runs our implementation and reports each compared tensor with conf_check_*(),
 * which prints one line:
 *   PASS|FAIL|SKIP <stage> <case> <tensor> max_abs=<x> rel=<y>
 * A stage that cannot run (a missing file, a feature not written yet) reports
 * conf_skip() with its reason.
 */
#ifndef IID_CONFORMANCE_H
#define IID_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include "io/json.h"
#include "io/safetensors.h"

typedef struct conf_ctx {
    const char *kit;      /* the kit's root folder */
    int passed, failed, skipped;
    int verbose;
    int bf16;             /* --dtype bf16: the GEMM stages are held to bf16_profile.c's tolerances */
    /* The single_file stage: the model stages load SDXL from this kit-relative
     * single-file checkpoint (configs from models/sdxl) instead of the folder,
     * and every line's stage reads "single_file/<stage>". NULL: the folder. */
    const char *sdxl_file;
    struct conf_cov *cov; /* the kit's golden files and what the stages used (kit_files.c) */
} conf_ctx_t;

/* Tolerances of the kit's README section 5 (relative to max |reference|). */
#define CONF_TOL_MODEL 1e-4    /* encoders, resampler, UNet, ControlNet, VAE, pipeline */
#define CONF_TOL_SCHED_STEP 1e-5
#define CONF_TOL_SIGMA 1e-6    /* elementwise relative for sigmas and scale factors */

/* The tolerance a check uses: tol (the kit's f32 one) in f32 mode; in bf16 mode
 * the stage's entry of the bf16 profile when it has one (bf16_profile.c). */
double conf_tol(const conf_ctx_t *c, const char *stage, double tol);
/* The same for uint8 image checks: levels and fraction of differing values. */
void conf_tol_u8(const conf_ctx_t *c, const char *stage, int *max_levels, double *max_fraction);

/* kit/rel into buf; returns buf. */
const char *conf_path(const conf_ctx_t *c, const char *rel, char *buf, size_t cap);

void conf_skip(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const char *fmt, ...);
void conf_fail(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const char *fmt, ...);

/* Compare n floats against a golden tensor by max abs error <= tol * max|ref|.
 * The golden tensor's element count must equal n. Returns 1 on PASS. */
int conf_check_f32(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const float *got,
                   size_t n, const iid_st_tensor_t *ref, double tol);
/* Absolute check: PASS when max |got - ref| <= tol (the face kit's tolerances are
 * absolute: pixels, score units, embedding values). */
int conf_check_f32_abs(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const float *got,
                       size_t n, const iid_st_tensor_t *ref, double tol);
/* Report a comparison the stage computed itself, as one PASS/FAIL line. */
void conf_result(conf_ctx_t *c, int ok, const char *stage, const char *kase, const char *tensor, double max_abs,
                 double rel);
/* Elementwise relative check: |got - ref| <= tol * max(|ref|, tiny). */
int conf_check_f32_elementwise(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor,
                               const float *got, size_t n, const iid_st_tensor_t *ref, double tol);
/* Exact comparison of integers (the golden may be I64, I32 or U8). */
int conf_check_int(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const int64_t *got,
                   size_t n, const iid_st_tensor_t *ref);
/* uint8 images: PASS when no value differs by more than max_levels and at most
 * max_fraction of values differ at all. */
int conf_check_u8(conf_ctx_t *c, const char *stage, const char *kase, const char *tensor, const uint8_t *got,
                  size_t n, const iid_st_tensor_t *ref, int max_levels, double max_fraction);

/* Open a golden safetensors file under golden/; on failure SKIPs the stage with
 * the reason and returns non-zero. Close it with conf_close. */
int conf_open_golden(conf_ctx_t *c, const char *stage, const char *file, iid_safetensors_t *st);

/* Reading the kit's golden files through these records what the stages used, so
 * that the runner can FAIL a golden file or tensor no stage looked at (kit_files.h).
 * conf_open_st opens kit/<rel> (iid__st_open's status; close with conf_close). */
iid_status conf_open_st(const conf_ctx_t *c, const char *rel, iid_safetensors_t *st, iid_error_t *err);
void conf_close(const conf_ctx_t *c, iid_safetensors_t *st);
/* iid__json_load of kit/<rel>. */
iid_status conf_load_json(const conf_ctx_t *c, const char *rel, iid_json_t *j, iid_error_t *err);
/* Record that a stage read kit/<rel> whole by other means: a JSON file read as
 * text, or a weight file (single-file checkpoint, LoRA) our loader consumed as a
 * whole: every tensor of it then counts as used. */
void conf_read_file(const conf_ctx_t *c, const char *rel);
/* A golden tensor given to our code as an input: found by name (NULL when absent)
 * and recorded as used. The conf_check_* functions record the tensors they compare. */
const iid_st_tensor_t *conf_in(const conf_ctx_t *c, const iid_safetensors_t *st, const char *name);
void conf_used(const conf_ctx_t *c, const iid_st_tensor_t *t);

/* Iterate distinct case prefixes: the part of each tensor name before `suffix`
 * (e.g. suffix ".te1.input_ids" yields "prompt0", "negative", ...). Calls fn for
 * each in name order. */
typedef void (*conf_case_fn)(conf_ctx_t *c, const iid_safetensors_t *st, const char *kase, void *user);
int conf_for_each_case(conf_ctx_t *c, const iid_safetensors_t *st, const char *suffix, conf_case_fn fn, void *user);

/* resampler_hyperparameters.heads of golden/ip_adapter_layout.json (the head split
 * the Resampler's shapes cannot tell). SKIPs or FAILs the stage and returns
 * non-zero when it cannot be read. */
int conf_resampler_heads(conf_ctx_t *c, const char *stage, int *heads);

/* A stage: name as the kit's golden family and its entry point. */
typedef struct conf_stage {
    const char *name;
    void (*run)(conf_ctx_t *c);
} conf_stage_t;

extern const conf_stage_t conf_stages[];
extern const int conf_stage_count;

#endif
