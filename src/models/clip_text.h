/*
 * clip_text.h - the CLIP text transformer (transformers' CLIPTextModel and
 * CLIPTextModelWithProjection), as SDXL's two text encoders use it.
 *
 * A model is loaded from a folder holding `config.json` and `model.safetensors`
 * with transformers' names (`text_model.embeddings.token_embedding.weight`,
 * `text_model.encoder.layers.<i>.self_attn.q_proj.weight`, ...,
 * `text_model.final_layer_norm.*`, and for the projection model
 * `text_projection.weight`). Every size comes from config.json and is checked
 * against the tensor shapes, so the kit's tiny encoders and SDXL's real ones
 * (CLIP ViT-L and OpenCLIP bigG) load with the same code. The token embedding and
 * the projection matrices are views into the mapped file in their stored dtype
 * (models/blocks.h: rows are widened as they are used); LayerNorm parameters,
 * biases and the position embedding are f32 copies.
 *
 * The forward pass follows the reference exactly where it matters:
 *   x = token_embedding[ids] + position_embedding[0..T)        // (B, T, C)
 *   per layer: x += out_proj(attn(ln1(x)))  (causal mask only, no padding mask,
 *              q scaled by head_dim^-0.5); x += fc2(act(fc1(ln2(x))))
 *   last_hidden_state = final_layer_norm(x)
 *   pooled = last_hidden_state at the FIRST position of the row's largest id
 *            (the legacy rule that `eos_token_id: 2` configs select; for CLIP
 *            token ids the largest is the end-of-text token 49407)
 *   text_embeds = pooled @ text_projection^T (no bias)
 * `hidden_act` "quick_gelu" is x*sigmoid(1.702x), "gelu" the exact erf GELU.
 *
 * Example (SDXL's second encoder, penultimate states and pooled projection):
 *   iid_clip_text_t te2;
 *   if (iid__clip_text_load(&te2, "models/sdxl/text_encoder_2", &err) != IID_OK) ...
 *   iid_clip_outputs_t o = {.hidden_index = -2, .hidden = h, .text_embeds = p};
 *   iid__clip_text_forward(&te2, ids, 1, 77, &o, &err);
 *   iid__clip_text_free(&te2);
 */
#ifndef IID_MODELS_CLIP_TEXT_H
#define IID_MODELS_CLIP_TEXT_H

#include <stdint.h>

#include "core/status.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "models/blocks.h"

typedef enum iid_clip_act {
    IID_CLIP_ACT_QUICK_GELU = 0, /* x * sigmoid(1.702 x) */
    IID_CLIP_ACT_GELU            /* exact erf GELU */
} iid_clip_act_t;

typedef struct iid_clip_config {
    int vocab_size;      /* rows of the token embedding */
    int hidden;          /* C */
    int layers;          /* encoder layers */
    int heads;           /* attention heads; C % heads == 0 */
    int intermediate;    /* MLP width */
    int max_positions;   /* longest sequence (77 for CLIP) */
    int projection_dim;  /* width of text_embeds; 0 when the model has no projection */
    float eps;           /* LayerNorm epsilon */
    iid_clip_act_t act;
} iid_clip_config_t;

typedef struct iid_clip_layer {
    float *ln1_w, *ln1_b;              /* (C) */
    iid_weight_t q_w, k_w, v_w, o_w;   /* (C, C) */
    float *q_b, *k_b, *v_b, *o_b;      /* (C) */
    float *ln2_w, *ln2_b;              /* (C) */
    iid_weight_t fc1_w;                /* (I, C) */
    float *fc1_b;                      /* (I) */
    iid_weight_t fc2_w;                /* (C, I) */
    float *fc2_b;                      /* (C) */
} iid_clip_layer_t;

typedef struct iid_clip_text {
    iid_clip_config_t cfg;
    iid_weight_t token_emb;            /* (vocab, C) */
    float *pos_emb;                    /* (max_positions, C) */
    iid_clip_layer_t *layer;           /* cfg.layers entries */
    float *final_ln_w, *final_ln_b;    /* (C) */
    iid_weight_t proj;                 /* (projection_dim, C); data NULL when absent */
    iid_safetensors_t file;            /* the mapped checkpoint, owned after iid__clip_text_load */
    const iid_backend_t *be;           /* runs the forward; the default one after load */
} iid_clip_text_t;

/* What a forward pass should produce. Set the pointers of the outputs wanted (the
 * caller owns the buffers) and leave the others NULL. */
typedef struct iid_clip_outputs {
    float *embeddings;   /* (B, T, C): token + position embeddings (hidden_states[0]) */
    int hidden_index;    /* which hidden state `hidden` receives, transformers' indexing:
                            0 = embeddings, i = output of layer i, negative counts from
                            the end (-1 = last layer before the final LayerNorm,
                            -2 = penultimate, what SDXL uses) */
    float *hidden;       /* (B, T, C) */
    float *last_hidden;  /* (B, T, C): after final_layer_norm */
    float *pooled;       /* (B, C): last_hidden at the pooled position */
    float *text_embeds;  /* (B, projection_dim): needs a projection model */
} iid_clip_outputs_t;

/* Parse and check a config.json (fields as transformers' CLIPTextConfig writes
 * them; layer_norm_eps defaults to 1e-5 and hidden_act to quick_gelu when absent).
 * projection_dim is left 0: whether a projection exists is decided by the weights.
 * An unknown hidden_act or a non-positive size is an error naming the file. */
iid_status iid__clip_config_load(iid_clip_config_t *cfg, const char *config_path, iid_error_t *err);
/* The same from a parsed document. */
iid_status iid__clip_config_parse(iid_clip_config_t *cfg, const iid_json_t *j, iid_error_t *err);

/* Bind the weights of an open index to a config (m->cfg must be set; sizes are
 * checked against every tensor's shape). The projection is bound when
 * `text_projection.weight` exists, or required when require_projection is set.
 * On failure nothing is left allocated and err names the file and the tensor.
 * The weights view st: the caller keeps it open until iid__clip_text_free(). */
iid_status iid__clip_text_bind(iid_clip_text_t *m, const iid_safetensors_t *st, int require_projection,
                               iid_error_t *err);

/* Load dir/config.json + dir/model.safetensors. The projection is required when
 * the config's `architectures` names CLIPTextModelWithProjection, and bound
 * whenever the weights hold it. The model owns the mapped file; free with
 * iid__clip_text_free. */
iid_status iid__clip_text_load(iid_clip_text_t *m, const char *dir, iid_error_t *err);
/* The same from a config document and an open index, which moves into the model
 * (*st is left zeroed on success and closed on failure). */
iid_status iid__clip_text_load_parts(iid_clip_text_t *m, const iid_json_t *config, iid_safetensors_t *st,
                                    iid_error_t *err);

/* Release the weights; safe on NULL and on a zeroed or already freed model. */
void iid__clip_text_free(iid_clip_text_t *m);
/* Hand back the backend's prepared copies of the weight matrices (iid__weight_trim). */
void iid__clip_text_trim(const iid_clip_text_t *m);

/* Pooled position of one row of T ids: the first index of the largest id. */
int iid__clip_pooled_index(const int64_t *ids, int T);

/* Run the encoder on ids (B, T), 1 <= T <= max_positions, every id in
 * [0, vocab_size). Fills the requested outputs of *out. Layers past the last
 * state needed are skipped. Fails with IID_ERR_INVALID on a bad id, length or
 * hidden_index, or when text_embeds is asked of a model without projection;
 * IID_ERR_NOMEM when scratch memory cannot be had. */
iid_status iid__clip_text_forward(const iid_clip_text_t *m, const int64_t *ids, int B, int T,
                                  const iid_clip_outputs_t *out, iid_error_t *err);

#endif
