/*
 * bf16_profile.c - the tolerances of `conformance --dtype bf16`.
 *
 * The kit's goldens are f32. With --dtype bf16 the weights and the inputs of
 * every GEMM and convolution are rounded to bf16 (8 significant bits, a
 * relative step of 2^-8) and accumulated in f32, so each stage that runs
 * through them lands further from the golden than the kit's f32 tolerance.
 * The profile states, per stage, the normalised error accepted (max |got - ref|
 * / max |ref|, as conf_check_f32 measures it): about 3x what the cpu backend
 * measured on the kit (the measured values are in the comments), so a real
 * bug, which moves these errors to O(1), still fails. Stages without a GEMM
 * (tokenizer, schedulers, image geometry) and the face models (ONNX graphs,
 * computed in f32 whatever --dtype says) keep the kit's tolerances. The
 * Resampler's matrices are f32 host copies on the f32 sgemm; its attention
 * would multiply bf16 operands, as every attention over 128 keys or more does
 * with --dtype bf16, should a kit give it that many (the shared kit does not).
 */
#include <string.h>

#include "conformance.h"

typedef struct bf16_tol {
    const char *stage;
    double rel;           /* normalised max error */
    int u8_levels;        /* uint8 image checks: max difference ... */
    double u8_fraction;   /* ... and fraction of values that may differ */
} bf16_tol_t;

/* Measured on the kit (cpu backend, AVX512_BF16, oneDNN 2.6), worst check per stage:
 * text_encoders 4.4e-3, resampler 1.4e-3 (its attention in bf16 whatever the key count),
 * controlnet 1.3e-2 (1.8e-2 with attention in bf16), unet 9.0e-3, unet_plain 1.1e-2, unet_lora 1.6e-2,
 * vae_decode 6.9e-3 (uint8: 2 levels on 15% of values), pipeline 4.1e-2 and
 * pipeline_full 3.3e-2 (latents after 4 guided steps; uint8: 3 levels on 37%).
 * The uint8 fraction is left open (1.0): with bf16 most pixels may round to a
 * neighbouring level, the level bound and image_float carry the check. The
 * single_file stage's lines ("single_file/unet", ...) use their stage's entry. */
static const bf16_tol_t profile[] = {
    {"text_encoders", 1.5e-2, 0, 0},
    {"resampler", 5e-3, 0, 0},
    {"controlnet", 4e-2, 0, 0},
    {"unet", 3e-2, 0, 0},
    {"unet_plain", 3e-2, 0, 0},
    {"unet_lora", 5e-2, 0, 0},
    {"vae_decode", 2e-2, 6, 1.0},
    {"pipeline", 0.12, 9, 1.0},
    {"pipeline_full", 0.1, 9, 1.0},
};

static const bf16_tol_t *find(const conf_ctx_t *c, const char *stage)
{
    if (!c->bf16) return NULL;
    const char *slash = strrchr(stage, '/'); /* "single_file/unet" is held as "unet" */
    if (slash) stage = slash + 1;
    for (size_t i = 0; i < sizeof profile / sizeof profile[0]; i++)
        if (strcmp(profile[i].stage, stage) == 0) return &profile[i];
    return NULL;
}

double conf_tol(const conf_ctx_t *c, const char *stage, double tol)
{
    const bf16_tol_t *t = find(c, stage);
    return t && t->rel > tol ? t->rel : tol;
}

void conf_tol_u8(const conf_ctx_t *c, const char *stage, int *max_levels, double *max_fraction)
{
    const bf16_tol_t *t = find(c, stage);
    if (!t || !t->u8_levels) return;
    if (t->u8_levels > *max_levels) *max_levels = t->u8_levels;
    if (t->u8_fraction > *max_fraction) *max_fraction = t->u8_fraction;
}
