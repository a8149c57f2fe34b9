/*
 * iid.h - the public C API of instantid.
 *
 * instantid is a C11 implementation of InstantID (SDXL + IdentityNet + IP-Adapter
 * face tokens). This header is the manual for what a program linking libiid can
 * rely on: status codes, the error record every fallible call fills in, and the
 * engine that `instantid generate`, `batch` and `serve` all drive. Internal
 * modules live under src/ and use the `iid__` prefix.
 *
 * Overview. An engine context (iid_ctx_t) loads the models once. A face is
 * prepared from a photo (decoded, resized as InstantID's demo does, the largest
 * face detected, aligned and embedded), from several photos of one person (their
 * embeddings averaged), or from an embedding and five keypoints. An image is then
 * rendered from a prepared face and render parameters, as many times as wanted.
 * The context caches what a sweep repeats: the text embeddings per (prompt,
 * negative prompt) and the face analysis per input image (by content, so a
 * re-uploaded photo hits too), both in bounded LRU caches; so a batch that renders
 * one photo with one prompt at many settings pays only for the denoising.
 *
 *   iid_ctx_params_t cp;
 *   iid_ctx_params_init(&cp);
 *   cp.models = "models";
 *   iid_ctx_t *ctx;
 *   iid_error_t err;
 *   if (iid_ctx_create(&ctx, &cp, &err) != IID_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   iid_face_prep_t face;
 *   if (iid_prepare_face_file(ctx, "me.jpg", NULL, &face, &err) == IID_OK) {
 *       iid_render_params_t r;
 *       iid_render_params_init(&r);
 *       r.prompt = "a watercolor portrait, human, sharp focus";
 *       r.seed = 42;
 *       if (iid_render_png(ctx, &face, &r, "out.png", NULL, 0, &err) != IID_OK) fprintf(stderr, "%s\n", err.msg);
 *       iid_face_prep_free(&face);
 *   }
 *   iid_ctx_free(ctx);
 *
 * Failure model: every function that can fail returns an iid_status (IID_OK is 0,
 * errors are negative) and, when given a non-NULL iid_error_t, writes a one-line
 * message naming the file, tensor or field at fault and what was expected.
 * Library code never exits and never prints on its own. Outputs are left empty
 * (zeroed) on failure and every `_free` accepts NULL and empty records. A photo
 * without a face is IID_ERR_NO_FACE; an undecodable one IID_ERR_FORMAT (or
 * IID_ERR_UNSUPPORTED / IID_ERR_RANGE); both are remembered by the face cache, so
 * asking again answers the same status and message without decoding again.
 *
 * Threads: renders on one context run one at a time (the caller serialises
 * them: the server has one worker thread). Preparing faces may happen on other
 * threads meanwhile (the server checks an upload while a job renders): the face
 * models and the face cache are behind the context's own lock, so prepares wait
 * for each other, never for a render.
 *
 *   iid_error_t err;
 *   iid_error_clear(&err);
 *   if (some_call(..., &err) != IID_OK)
 *       fprintf(stderr, "instantid: %s\n", err.msg);
 */
#ifndef IID_H
#define IID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IID_VERSION "0.1.0"

typedef enum iid_status {
    IID_OK = 0,
    IID_ERR_IO = -1,          /* a file could not be opened, read or written */
    IID_ERR_FORMAT = -2,      /* a file's contents break its format */
    IID_ERR_NOMEM = -3,       /* an allocation failed */
    IID_ERR_INVALID = -4,     /* a caller-supplied value is out of its domain */
    IID_ERR_UNSUPPORTED = -5, /* valid input we deliberately do not handle */
    IID_ERR_NOT_FOUND = -6,   /* a named file, tensor or key is missing */
    IID_ERR_RANGE = -7,       /* a size or offset exceeds its bound */
    IID_ERR_INTERRUPTED = -8, /* the caller asked to stop */
    IID_ERR_NO_FACE = -9      /* an input image holds no detectable face */
} iid_status;

#define IID_ERROR_MSG_MAX 512

/* The error record: code and a one-line, human-readable message. */
typedef struct iid_error {
    iid_status code;
    char msg[IID_ERROR_MSG_MAX];
} iid_error_t;

/* Reset an error record to IID_OK with an empty message. NULL is a no-op. */
void iid_error_clear(iid_error_t *err);

/* A short constant description of a status code ("format error", ...). */
const char *iid_status_str(iid_status code);

/* ---- the engine ------------------------------------------------------------ */

/* A loaded InstantID: models, backend and caches. Opaque. */
typedef struct iid_ctx iid_ctx_t;

/* What iid_ctx_create loads and how. Fill with iid_ctx_params_init, then set. */
typedef struct iid_ctx_params {
    const char *models;      /* models folder (DESIGN.md section 4); default "models" */
    const char *sdxl;        /* each part's own path; NULL: its place under models. sdxl: a
                                diffusers folder or a single-file (SGM) .safetensors checkpoint */
    const char *sdxl_config; /* configs, tokenizers and scheduler of a single-file sdxl (a
                                diffusers SDXL folder); NULL: models/sdxl-config when present,
                                else inferred from the shapes with SDXL base 1.0's defaults */
    const char *const *loras;/* "FILE[:MULTIPLIER]" LoRAs fused into the weights at load */
    int n_loras;
    const char *lcm_lora;    /* an LCM-LoRA file each render may switch on (iid_render_params_t.lcm), fused
                                with multiplier 1 after loras; NULL: none (renders cannot ask for LCM mode) */
    int lcm;                 /* with lcm_lora: load in LCM mode (saves a reload when the first render wants it) */
    const char *controlnet;
    const char *ip_adapter;
    const char *face_models;
    const char *backend;     /* compute backend by name ("cpu", "ref"); NULL: the build's default */
    const char *dtype;       /* GEMM/convolution dtype: "f32" (default), "bf16" or "auto" (bf16 where the CPU
                              * has AVX512_BF16 or AMX); the cpu backend binds weights in the dtype
                              * $IID_DTYPE names ("f32"/"bf16"), so set it to match before creating */
    int threads;             /* CPU threads; 0 = all cores */
    int resampler_heads;     /* the face Resampler's heads (20, the published file's; shapes cannot tell) */
    int load_faces;          /* load the face models (1); 0 when only embeddings are given */
    int text_cache;          /* text embeddings kept, entries (default 64; at least 1 is kept) */
    int face_cache;          /* face analyses kept, entries (default 1024, about 2.5 KiB each; at least 1) */
} iid_ctx_params_t;

void iid_ctx_params_init(iid_ctx_params_t *p);

/* Load every model named by p. On failure nothing stays allocated, *out is NULL
 * and err names the file at fault (or the unknown backend / dtype). */
iid_status iid_ctx_create(iid_ctx_t **out, const iid_ctx_params_t *p, iid_error_t *err);
void iid_ctx_free(iid_ctx_t *ctx);

/* Whether renders may ask for LCM mode (a context created with lcm_lora). */
int iid_ctx_lcm(const iid_ctx_t *ctx);

/* The backend name the context computes on ("cpu"), for logs. */
const char *iid_ctx_backend(const iid_ctx_t *ctx);

/* Geometry of the initial latents for a width x height render: channels and the
 * latent stride (pixels per latent), read from the loaded VAE. */
void iid_ctx_latent_shape(const iid_ctx_t *ctx, int *channels, int *stride);

/* Counters since the context was created: what the caches saved. A test (and
 * `--verbose`) reads them; they cost nothing. */
typedef struct iid_ctx_stats {
    long text_encodes;   /* (prompt, negative) pairs run through the text encoders */
    long text_hits;      /* renders that reused cached text embeddings */
    long face_analyses;  /* photos decoded and analysed (detector + recogniser), failures included */
    long face_hits;      /* prepares answered from the face cache, failures included */
    long renders;        /* renders started */
    long lcm_switches;   /* reloads of the UNet (and text encoders) to switch LCM mode */
    size_t activation_peak; /* bytes of the largest denoising step's planned activations */
} iid_ctx_stats_t;

void iid_ctx_get_stats(iid_ctx_t *ctx, iid_ctx_stats_t *out);

/* ---- faces ----------------------------------------------------------------- */

/* How a photo is sized before detection; that size is the output size. */
typedef struct iid_face_opts {
    int width, height;        /* 0 x 0: the demo's resize_img rule; else resize and pad to W x H */
    unsigned char pad_rgb[3]; /* padding colour (white) */
} iid_face_opts_t;

void iid_face_opts_init(iid_face_opts_t *o);

/* A prepared face: what rendering needs, at the output size. Buffers are owned
 * by the record (iid_face_prep_free). */
typedef struct iid_face_prep {
    int width, height;        /* the resized photo = the output size */
    int face_count;           /* faces detected in the photo the keypoints come from */
    float face_score;         /* detection score of the chosen (largest) face */
    float bbox[4];            /* its box x1, y1, x2, y2 in output pixels */
    float kps[10];            /* its 5 keypoints (x, y) in output pixels */
    float *embedding;         /* (embedding_dim) raw ArcFace output, not normalised */
    int embedding_dim;
    float embedding_norm;     /* L2 norm of embedding */
    unsigned char *kps_image; /* (height, width, 3) RGB keypoint image */
    unsigned char *mask;      /* (height, width, 3) 255 inside bbox; NULL without a box */
    char *sources;            /* several photos: "a.jpg, b.jpg" (base names) used in the mean; else NULL */
    char *left_out;           /* several photos: "c.jpg: no face found; ..." left out; else NULL */
} iid_face_prep_t;

/* Prepare the largest face of a photo file (opts NULL: defaults). The analysis
 * is cached by the file's content and opts. Errors name the file. */
iid_status iid_prepare_face_file(iid_ctx_t *ctx, const char *path, const iid_face_opts_t *opts,
                                 iid_face_prep_t *out, iid_error_t *err);

/* The same from encoded bytes (an upload); name labels it in errors. */
iid_status iid_prepare_face_memory(iid_ctx_t *ctx, const void *data, size_t size, const char *name,
                                   const iid_face_opts_t *opts, iid_face_prep_t *out, iid_error_t *err);

/* One person from several photos (InstantID feeds the RAW embedding to its
 * Resampler; averaging raw vectors is what ComfyUI_InstantID's default
 * "average" does): the embedding is the element-wise mean of the raw
 * embeddings of the photos that prepare; the keypoints, box, size and mask come
 * from the photo whose chosen face has the largest box area (the first such in
 * the given order). Photos that fail are left out and listed in out->left_out;
 * the used ones in out->sources. Fails (with every photo's reason, the status
 * of the first failure) only when no photo prepares. */
iid_status iid_prepare_identity(iid_ctx_t *ctx, const char *const *paths, int n, const iid_face_opts_t *opts,
                                iid_face_prep_t *out, iid_error_t *err);

/* A face from a raw embedding (dim values, copied) and 5 keypoints (x, y) in
 * output pixels at width x height: no photo, no box, no mask. */
iid_status iid_prepare_face_embedding(iid_ctx_t *ctx, const float *embedding, int dim, const float kps[10],
                                      int width, int height, iid_face_prep_t *out, iid_error_t *err);

/* Take the pose from another prepared face: keypoints, box, size, keypoint
 * image and mask become pose's (moved; pose is freed); the embedding stays. */
void iid_face_prep_use_pose(iid_face_prep_t *face, iid_face_prep_t *pose);

void iid_face_prep_free(iid_face_prep_t *p);

/* ---- rendering ------------------------------------------------------------- */

/* Called after each denoising step (step 1..total); return non-zero to stop
 * (the render then fails with IID_ERR_INTERRUPTED). */
typedef int (*iid_step_fn)(void *user, int step, int total);

typedef struct iid_render_params {
    const char *prompt;          /* the styled prompt (required) */
    const char *negative;        /* the styled negative prompt; NULL = none */
    int plain_prompts;           /* 0: the demo's weighted prompts; 1: SDXL's encode_prompt (77 tokens) */
    int steps;                   /* 30 */
    double guidance;             /* 5; <= 1 turns classifier-free guidance off */
    double identitynet_strength; /* 0.8 */
    double adapter_strength;     /* 0.8 */
    const char *scheduler;       /* "euler" (see `instantid generate --help` for the names) */
    uint64_t seed;               /* initial noise */
    int face_mask;               /* 1: confine IdentityNet and the adapter to the face box ("enhance non-face region") */
    int vae_tile;                /* VAE decode tile in latents; 0 = whole image */
    const float *latents;        /* optional initial latents (1, C, H/s, W/s), before the scheduler's scaling */
    size_t latents_count;        /* their number of values, checked against the size */
    int lcm;                     /* 1: LCM mode, the context's lcm_lora fused (the caller picks the lcm scheduler,
                                    steps and guidance: the demo's are lcm, IID_LCM_STEPS, IID_LCM_GUIDANCE) */
    iid_step_fn on_step;         /* optional */
    void *user;                  /* passed to on_step */
} iid_render_params_t;

/* InstantID demo's LCM toggle sets 5 steps and guidance 1.5. */
#define IID_LCM_STEPS 5
#define IID_LCM_GUIDANCE 1.5

/* InstantID demo's defaults: weighted prompts, 30 steps, guidance 5, strengths
 * 0.8, euler, face mask on, seed 0. */
void iid_render_params_init(iid_render_params_t *r);

/* Render face->width x face->height into rgb (height * width * 3 bytes, RGB).
 * The text embeddings come from the context's cache when this (prompt,
 * negative, prompt mode, guidance on/off) was encoded before.
 * LCM mode: when r->lcm differs from the previous render's mode, the UNet is
 * reloaded with the LoRAs of the new mode (the memory-mapped weights are
 * shared, only the LoRA-touched layers are fused copies), and so are the text
 * encoders (and the text cache emptied) when the LCM-LoRA has text-encoder
 * modules; the result is then exactly that of a context loaded with those LoRAs. */
iid_status iid_render(iid_ctx_t *ctx, const iid_face_prep_t *face, const iid_render_params_t *r, unsigned char *rgb,
                      iid_error_t *err);

/* A PNG text chunk: keyword (1-79 printable ASCII characters) and UTF-8 text,
 * e.g. {"parameters", AUTOMATIC1111's infotext}. */
typedef struct iid_png_chunk {
    const char *key;
    const char *text;
} iid_png_chunk_t;

/* Render and write a PNG atomically (temporary name, then rename) carrying the
 * n_texts (0..16) text chunks of texts (may be NULL when n_texts is 0). */
iid_status iid_render_png(iid_ctx_t *ctx, const iid_face_prep_t *face, const iid_render_params_t *r,
                          const char *png_path, const iid_png_chunk_t *texts, int n_texts, iid_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* IID_H */
