/*
 * make_weights.c - random full-size SDXL-shaped weights in the real file layout,
 * for the benchmarks (never for CI: about 8 GB of disk).
 *
 *   bench_make_weights OUT_DIR [SDXL_DIR]
 *
 * writes, as a models folder (DESIGN.md section 4) laid out like the published
 * checkpoints:
 *   OUT_DIR/sdxl/unet/{config.json, diffusion_pytorch_model.safetensors}  SDXL base 1.0 UNet
 *   OUT_DIR/ControlNetModel/{config.json, diffusion_pytorch_model.safetensors}  IdentityNet
 *   OUT_DIR/sdxl/vae/{config.json, diffusion_pytorch_model.safetensors}   decoder + post_quant_conv
 *   OUT_DIR/sdxl/text_encoder{,_2}/{config.json, model.safetensors}  CLIP ViT-L and OpenCLIP bigG
 *   OUT_DIR/ip-adapter.safetensors   InstantID's Resampler (image_proj.*) and
 *                                    ip_adapter.<n>.to_k_ip / to_v_ip for every attn2
 * every tensor F16, with diffusers' names and shapes. A weight file already there
 * is kept (the content is deterministic), so a rerun only adds what is missing.
 * With SDXL_DIR (a diffusers SDXL folder: the conformance kit's models/sdxl has the
 * real CLIP tokenizers) its tokenizer/, tokenizer_2/ and scheduler/ files are copied
 * too, which makes OUT_DIR a models folder `instantid generate` runs end to end
 * (with --face-embedding and --kps in place of the face models).
 *
 * The configs are the published ones (SDXL base 1.0 unet/vae config.json,
 * InstantID's ControlNetModel config.json), written here as text. The tensor list
 * is enumerated from the config parsed by the library's own config reader,
 * following the same tree the loaders bind (trunk, up path, conditioning
 * embedding, VAE decoder), and the IP slots come from iid__unet_ip_layout(); a
 * name the loaders ask for that is not written here makes bench_step fail
 * loudly, naming it. Only the VAE decoder is written (the encoder is never
 * loaded). Values: matrices uniform with standard deviation 0.5/sqrt(fan_in),
 * biases 0.01-scale noise, norm weights 1 and biases 0, so activations stay
 * finite (no denormals or infinities to distort the timings).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/half.h"
#include "models/unet_sdxl.h"

typedef enum { K_MATRIX, K_BIAS, K_ONES, K_ZEROS } kind_t;

typedef struct {
    char *name;
    int ndim;
    int64_t shape[4];
    kind_t kind;
} spec_t;

typedef struct {
    spec_t *v;
    int n, cap;
} specs_t;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_make_weights: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void add(specs_t *s, kind_t kind, int ndim, const int64_t *shape, const char *fmt, ...)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v) die("out of memory");
    }
    spec_t *e = &s->v[s->n++];
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->name = strdup(buf);
    if (!e->name) die("out of memory");
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->kind = kind;
}

static void linear(specs_t *s, const char *p, int in, int out, int bias)
{
    add(s, K_MATRIX, 2, (int64_t[]){out, in}, "%s.weight", p);
    if (bias) add(s, K_BIAS, 1, (int64_t[]){out}, "%s.bias", p);
}

static void conv(specs_t *s, const char *p, int in, int out, int k)
{
    add(s, K_MATRIX, 4, (int64_t[]){out, in, k, k}, "%s.weight", p);
    add(s, K_BIAS, 1, (int64_t[]){out}, "%s.bias", p);
}

static void norm(specs_t *s, const char *p, int c)
{
    add(s, K_ONES, 1, (int64_t[]){c}, "%s.weight", p);
    add(s, K_ZEROS, 1, (int64_t[]){c}, "%s.bias", p);
}

static void sub(char *buf, const char *p, const char *fmt, ...)
{
    char tail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    snprintf(buf, 512, "%s.%s", p, tail);
}

static void resnet(specs_t *s, const char *p, int in, int out, int temb)
{
    char n[512];
    sub(n, p, "norm1"), norm(s, n, in);
    sub(n, p, "conv1"), conv(s, n, in, out, 3);
    if (temb) sub(n, p, "time_emb_proj"), linear(s, n, temb, out, 1);
    sub(n, p, "norm2"), norm(s, n, out);
    sub(n, p, "conv2"), conv(s, n, out, out, 3);
    if (in != out) sub(n, p, "conv_shortcut"), conv(s, n, in, out, 1);
}

static void attention(specs_t *s, const char *p, int dim, int ctx, int qkv_bias)
{
    char n[512];
    sub(n, p, "to_q"), linear(s, n, dim, dim, qkv_bias);
    sub(n, p, "to_k"), linear(s, n, ctx, dim, qkv_bias);
    sub(n, p, "to_v"), linear(s, n, ctx, dim, qkv_bias);
    sub(n, p, "to_out.0"), linear(s, n, dim, dim, 1);
}

/* Transformer2DModel with linear projections and a GEGLU feed-forward of 4C. */
static void transformer(specs_t *s, const char *p, int C, int blocks, int ctx)
{
    char n[512];
    sub(n, p, "norm"), norm(s, n, C);
    sub(n, p, "proj_in"), linear(s, n, C, C, 1);
    for (int b = 0; b < blocks; b++) {
        char t[512];
        sub(t, p, "transformer_blocks.%d", b);
        sub(n, t, "norm1"), norm(s, n, C);
        sub(n, t, "attn1"), attention(s, n, C, C, 0);
        sub(n, t, "norm2"), norm(s, n, C);
        sub(n, t, "attn2"), attention(s, n, C, ctx, 0);
        sub(n, t, "norm3"), norm(s, n, C);
        sub(n, t, "ff.net.0.proj"), linear(s, n, C, 8 * C, 1);
        sub(n, t, "ff.net.2"), linear(s, n, 4 * C, C, 1);
    }
    sub(n, p, "proj_out"), linear(s, n, C, C, 1);
}

/* What iid__unet_trunk_load binds: embeddings, conv_in, down path, mid block. */
static void unet_trunk(specs_t *s, const iid_unet_config_t *c)
{
    char n[512];
    linear(s, "time_embedding.linear_1", c->block_out[0], c->temb_dim, 1);
    linear(s, "time_embedding.linear_2", c->temb_dim, c->temb_dim, 1);
    linear(s, "add_embedding.linear_1", c->add_in_dim, c->temb_dim, 1);
    linear(s, "add_embedding.linear_2", c->temb_dim, c->temb_dim, 1);
    conv(s, "conv_in", c->in_channels, c->block_out[0], 3);
    int in = c->block_out[0];
    for (int i = 0; i < c->n_blocks; i++) {
        int out = c->block_out[i];
        for (int l = 0; l < c->layers[i]; l++) {
            snprintf(n, sizeof n, "down_blocks.%d.resnets.%d", i, l);
            resnet(s, n, l == 0 ? in : out, out, c->temb_dim);
            if (c->down_attn[i]) {
                snprintf(n, sizeof n, "down_blocks.%d.attentions.%d", i, l);
                transformer(s, n, out, c->tlayers[i], c->cross_dim);
            }
        }
        if (i < c->n_blocks - 1) {
            snprintf(n, sizeof n, "down_blocks.%d.downsamplers.0.conv", i);
            conv(s, n, out, out, 3);
        }
        in = out;
    }
    int C = c->block_out[c->n_blocks - 1];
    resnet(s, "mid_block.resnets.0", C, C, c->temb_dim);
    transformer(s, "mid_block.attentions.0", C, c->tlayers[c->n_blocks - 1], c->cross_dim);
    resnet(s, "mid_block.resnets.1", C, C, c->temb_dim);
}

/* The up path and head of the UNet (unet_sdxl.c, load_up_block). */
static void unet_up(specs_t *s, const iid_unet_config_t *c)
{
    char n[512];
    int nb = c->n_blocks;
    for (int i = 0; i < nb; i++) {
        int rev = nb - 1 - i, out = c->block_out[rev];
        int prev = i == 0 ? c->block_out[nb - 1] : c->block_out[rev + 1];
        int below = c->block_out[rev > 0 ? rev - 1 : 0], L = c->layers[rev] + 1;
        for (int l = 0; l < L; l++) {
            int skip = l == L - 1 ? below : out, h = l == 0 ? prev : out;
            snprintf(n, sizeof n, "up_blocks.%d.resnets.%d", i, l);
            resnet(s, n, h + skip, out, c->temb_dim);
            if (c->up_attn[i]) {
                snprintf(n, sizeof n, "up_blocks.%d.attentions.%d", i, l);
                transformer(s, n, out, c->up_tlayers[i], c->cross_dim);
            }
        }
        if (i < nb - 1) {
            snprintf(n, sizeof n, "up_blocks.%d.upsamplers.0.conv", i);
            conv(s, n, out, out, 3);
        }
    }
    norm(s, "conv_norm_out", c->block_out[0]);
    conv(s, "conv_out", c->block_out[0], c->out_channels, 3);
}

/* ControlNet extras: conditioning embedding (16, 32, 96, 256) and the 1x1 outputs. */
static void controlnet_extras(specs_t *s, const iid_unet_config_t *c)
{
    static const int boc[4] = {16, 32, 96, 256};
    char n[512];
    conv(s, "controlnet_cond_embedding.conv_in", 3, boc[0], 3);
    for (int i = 0; i + 1 < 4; i++) {
        snprintf(n, sizeof n, "controlnet_cond_embedding.blocks.%d", 2 * i);
        conv(s, n, boc[i], boc[i], 3);
        snprintf(n, sizeof n, "controlnet_cond_embedding.blocks.%d", 2 * i + 1);
        conv(s, n, boc[i], boc[i + 1], 3);
    }
    conv(s, "controlnet_cond_embedding.conv_out", boc[3], c->block_out[0], 3);
    int k = 0;
    snprintf(n, sizeof n, "controlnet_down_blocks.%d", k++);
    conv(s, n, c->block_out[0], c->block_out[0], 1);
    for (int i = 0; i < c->n_blocks; i++) {
        int reps = c->layers[i] + (i < c->n_blocks - 1);
        for (int r = 0; r < reps; r++) {
            snprintf(n, sizeof n, "controlnet_down_blocks.%d", k++);
            conv(s, n, c->block_out[i], c->block_out[i], 1);
        }
    }
    int C = c->block_out[c->n_blocks - 1];
    conv(s, "controlnet_mid_block", C, C, 1);
}

/* The SDXL VAE decoder, block_out (128, 256, 512, 512), 2 layers per block. */
static void vae_decoder(specs_t *s)
{
    static const int bo[4] = {128, 256, 512, 512};
    char n[512];
    conv(s, "post_quant_conv", 4, 4, 1);
    conv(s, "decoder.conv_in", 4, 512, 3);
    resnet(s, "decoder.mid_block.resnets.0", 512, 512, 0);
    norm(s, "decoder.mid_block.attentions.0.group_norm", 512);
    attention(s, "decoder.mid_block.attentions.0", 512, 512, 1);
    resnet(s, "decoder.mid_block.resnets.1", 512, 512, 0);
    for (int i = 0; i < 4; i++) {
        int out = bo[3 - i], prev = bo[i == 0 ? 3 : 4 - i];
        for (int l = 0; l < 3; l++) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, l);
            resnet(s, n, l == 0 ? prev : out, out, 0);
        }
        if (i < 3) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.upsamplers.0.conv", i);
            conv(s, n, out, out, 3);
        }
    }
    norm(s, "decoder.conv_norm_out", 128);
    conv(s, "decoder.conv_out", 128, 3, 3);
}

static void ip_adapter(specs_t *s, const iid_unet_config_t *c)
{
    int n = iid__unet_ip_layout(c, NULL, 0);
    iid_ip_slot_t *slots = malloc((size_t)n * sizeof *slots);
    if (!slots) die("out of memory");
    iid__unet_ip_layout(c, slots, n);
    for (int i = 0; i < n; i++) {
        add(s, K_MATRIX, 2, (int64_t[]){slots[i].hidden, slots[i].cross}, "ip_adapter.%d.to_k_ip.weight", slots[i].index);
        add(s, K_MATRIX, 2, (int64_t[]){slots[i].hidden, slots[i].cross}, "ip_adapter.%d.to_v_ip.weight", slots[i].index);
    }
    free(slots);
}

/* CLIPTextModel(WithProjection): text_model.* and, for bigG, text_projection. */
static void clip_text(specs_t *s, int C, int inter, int layers, int vocab, int positions, int projection)
{
    char n[512];
    add(s, K_MATRIX, 2, (int64_t[]){vocab, C}, "text_model.embeddings.token_embedding.weight");
    add(s, K_MATRIX, 2, (int64_t[]){positions, C}, "text_model.embeddings.position_embedding.weight");
    for (int l = 0; l < layers; l++) {
        char p[512];
        snprintf(p, sizeof p, "text_model.encoder.layers.%d", l);
        sub(n, p, "layer_norm1"), norm(s, n, C);
        sub(n, p, "self_attn.q_proj"), linear(s, n, C, C, 1);
        sub(n, p, "self_attn.k_proj"), linear(s, n, C, C, 1);
        sub(n, p, "self_attn.v_proj"), linear(s, n, C, C, 1);
        sub(n, p, "self_attn.out_proj"), linear(s, n, C, C, 1);
        sub(n, p, "layer_norm2"), norm(s, n, C);
        sub(n, p, "mlp.fc1"), linear(s, n, C, inter, 1);
        sub(n, p, "mlp.fc2"), linear(s, n, inter, C, 1);
    }
    norm(s, "text_model.final_layer_norm", C);
    if (projection) linear(s, "text_projection", C, projection, 0);
}

/* InstantID's Resampler: 16 queries of width 1280, 4 layers of 20 heads x 64, a
 * 512-value face embedding in, 2048-wide tokens out (its ip-adapter.bin's shapes). */
static void resampler(specs_t *s)
{
    enum { DIM = 1280, EMB = 512, OUT = 2048, QUERIES = 16, DEPTH = 4, FF = 4 * DIM };
    char n[512];
    add(s, K_MATRIX, 3, (int64_t[]){1, QUERIES, DIM}, "image_proj.latents");
    linear(s, "image_proj.proj_in", EMB, DIM, 1);
    linear(s, "image_proj.proj_out", DIM, OUT, 1);
    norm(s, "image_proj.norm_out", OUT);
    for (int i = 0; i < DEPTH; i++) {
        char p[512];
        snprintf(p, sizeof p, "image_proj.layers.%d", i);
        sub(n, p, "0.norm1"), norm(s, n, DIM);
        sub(n, p, "0.norm2"), norm(s, n, DIM);
        sub(n, p, "0.to_q"), linear(s, n, DIM, DIM, 0);
        sub(n, p, "0.to_kv"), linear(s, n, DIM, 2 * DIM, 0);
        sub(n, p, "0.to_out"), linear(s, n, DIM, DIM, 0);
        sub(n, p, "1.0"), norm(s, n, DIM);
        sub(n, p, "1.1"), linear(s, n, DIM, FF, 0);
        sub(n, p, "1.3"), linear(s, n, FF, DIM, 0);
    }
}

/* ---- writing ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int64_t numel(const spec_t *e)
{
    int64_t n = 1;
    for (int d = 0; d < e->ndim; d++) n *= e->shape[d];
    return n;
}

/* One safetensors file of F16 tensors, streamed in chunks; an existing file is kept. */
static void write_st(const char *path, const specs_t *s, uint64_t seed)
{
    struct stat have;
    if (stat(path, &have) == 0) {
        printf("kept %s (already there)\n", path);
        return;
    }
    cJSON *hdr = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(hdr, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t off = 0;
    for (int i = 0; i < s->n; i++) {
        const spec_t *e = &s->v[i];
        cJSON *o = cJSON_AddObjectToObject(hdr, e->name);
        cJSON_AddStringToObject(o, "dtype", "F16");
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *of = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += 2 * (uint64_t)numel(e);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    char *json = cJSON_PrintUnformatted(hdr);
    if (!json) die("out of memory");
    size_t hl = strlen(json), pad = (8 - hl % 8) % 8; /* data 8-byte aligned, as the real files */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.part", path); /* an interrupted run leaves no file to keep */
    FILE *f = fopen(tmp, "wb");
    if (!f) die("%s: %s", tmp, strerror(errno));
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(((uint64_t)(hl + pad) >> (8 * i)) & 0xff);
    fwrite(len, 1, 8, f);
    fwrite(json, 1, hl, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    enum { CHUNK = 1 << 20 };
    uint16_t *buf = malloc(CHUNK * sizeof *buf);
    if (!buf) die("out of memory");
    uint64_t x = seed * 0x9E3779B97F4A7C15ull | 1;
    for (int i = 0; i < s->n; i++) {
        const spec_t *e = &s->v[i];
        int64_t n = numel(e), fan_in = e->ndim > 1 ? n / e->shape[0] : 1;
        /* uniform on [-a, a] has standard deviation a / sqrt(3) */
        float a = e->kind == K_MATRIX ? 0.5f * sqrtf(3.0f / (float)fan_in) : 0.01f;
        for (int64_t done = 0; done < n;) {
            int64_t m = n - done < CHUNK ? n - done : CHUNK;
            for (int64_t k = 0; k < m; k++) {
                float v = e->kind == K_ONES ? 1.0f : e->kind == K_ZEROS ? 0.0f
                          : a * ((float)(rng_next(&x) >> 40) * (2.0f / 16777216.0f) - 1.0f);
                buf[k] = iid__f32_to_f16(v);
            }
            if (fwrite(buf, sizeof *buf, (size_t)m, f) != (size_t)m) die("%s: write failed", tmp);
            done += m;
        }
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) die("%s: write failed", path);
    printf("wrote %s: %d tensors, %.2f GB\n", path, s->n, (double)(8 + hl + pad + off) / 1e9);
    free(buf);
    free(json);
    cJSON_Delete(hdr);
}

static void specs_free(specs_t *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i].name);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void mkdirs(const char *root, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) die("%s: %s", p, strerror(errno));
            *q = c;
            if (!c) break;
        }
    }
}

static void write_text(const char *root, const char *rel, const char *text)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) die("%s: cannot write", p);
}

#define SDXL_TRUNK_FIELDS                                                                                              \
    "\"act_fn\": \"silu\", \"addition_embed_type\": \"text_time\", \"addition_embed_type_num_heads\": 64,\n"           \
    "\"addition_time_embed_dim\": 256, \"attention_head_dim\": [5, 10, 20], \"block_out_channels\": [320, 640, 1280],\n" \
    "\"class_embed_type\": null, \"cross_attention_dim\": 2048,\n"                                                     \
    "\"down_block_types\": [\"DownBlock2D\", \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\"],\n"                   \
    "\"downsample_padding\": 1, \"encoder_hid_dim\": null, \"encoder_hid_dim_type\": null, \"flip_sin_to_cos\": true,\n" \
    "\"freq_shift\": 0, \"in_channels\": 4, \"layers_per_block\": 2, \"mid_block_scale_factor\": 1,\n"                 \
    "\"mid_block_type\": \"UNetMidBlock2DCrossAttn\", \"norm_eps\": 1e-05, \"norm_num_groups\": 32,\n"                 \
    "\"num_attention_heads\": null, \"num_class_embeds\": null, \"only_cross_attention\": false,\n"                    \
    "\"projection_class_embeddings_input_dim\": 2816, \"resnet_time_scale_shift\": \"default\",\n"                     \
    "\"transformer_layers_per_block\": [1, 2, 10], \"upcast_attention\": null, \"use_linear_projection\": true"

static const char UNET_CONFIG[] =
    "{\"_class_name\": \"UNet2DConditionModel\", \"_diffusers_version\": \"0.19.0.dev0\",\n" SDXL_TRUNK_FIELDS ",\n"
    "\"center_input_sample\": false, \"class_embeddings_concat\": false, \"conv_in_kernel\": 3, \"conv_out_kernel\": 3,\n"
    "\"cross_attention_norm\": null, \"dual_cross_attention\": false, \"mid_block_only_cross_attention\": null,\n"
    "\"out_channels\": 4, \"resnet_out_scale_factor\": 1.0, \"resnet_skip_time_act\": false, \"sample_size\": 128,\n"
    "\"time_cond_proj_dim\": null, \"time_embedding_act_fn\": null, \"time_embedding_dim\": null,\n"
    "\"time_embedding_type\": \"positional\", \"timestep_post_act\": null,\n"
    "\"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"UpBlock2D\"]}\n";

static const char CONTROLNET_CONFIG[] =
    "{\"_class_name\": \"ControlNetModel\", \"_diffusers_version\": \"0.21.2\",\n" SDXL_TRUNK_FIELDS ",\n"
    "\"conditioning_channels\": 3, \"conditioning_embedding_out_channels\": [16, 32, 96, 256],\n"
    "\"controlnet_conditioning_channel_order\": \"rgb\", \"global_pool_conditions\": false}\n";

static const char VAE_CONFIG[] =
    "{\"_class_name\": \"AutoencoderKL\", \"_diffusers_version\": \"0.20.0.dev0\", \"act_fn\": \"silu\",\n"
    "\"block_out_channels\": [128, 256, 512, 512],\n"
    "\"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"],\n"
    "\"force_upcast\": true, \"in_channels\": 3, \"latent_channels\": 4, \"layers_per_block\": 2, \"norm_num_groups\": 32,\n"
    "\"out_channels\": 3, \"sample_size\": 1024, \"scaling_factor\": 0.13025,\n"
    "\"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}\n";

/* SDXL base 1.0's text_encoder and text_encoder_2 config.json. */
#define CLIP_CONFIG(arch, act, hidden, inter, heads, layers, projection)                                              \
    "{\"architectures\": [\"" arch "\"], \"attention_dropout\": 0.0, \"bos_token_id\": 0, \"dropout\": 0.0,\n"  \
    "\"eos_token_id\": 2, \"hidden_act\": \"" act "\", \"hidden_size\": " hidden ", \"initializer_factor\": 1.0,\n"    \
    "\"initializer_range\": 0.02, \"intermediate_size\": " inter ", \"layer_norm_eps\": 1e-05,\n"                   \
    "\"max_position_embeddings\": 77, \"model_type\": \"clip_text_model\", \"num_attention_heads\": " heads ",\n"   \
    "\"num_hidden_layers\": " layers ", \"pad_token_id\": 1, \"projection_dim\": " projection ",\n"                 \
    "\"torch_dtype\": \"float16\", \"vocab_size\": 49408}\n"
static const char TE1_CONFIG[] = CLIP_CONFIG("CLIPTextModel", "quick_gelu", "768", "3072", "12", "12", "768");
static const char TE2_CONFIG[] =
    CLIP_CONFIG("CLIPTextModelWithProjection", "gelu", "1280", "5120", "20", "32", "1280");

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) die("%s: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) die("%s: %s", to, strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) die("%s: write failed", to);
    if (ferror(in)) die("%s: read failed", from);
    fclose(in);
    if (fclose(out) != 0) die("%s: write failed", to);
}

/* The regular files of SDXL_DIR/rel into root/sdxl/rel. */
static void copy_dir(const char *sdxl_dir, const char *root, const char *rel)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", sdxl_dir, rel);
    DIR *d = opendir(from);
    if (!d) die("%s: %s", from, strerror(errno));
    snprintf(to, sizeof to, "sdxl/%s", rel);
    mkdirs(root, to);
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        snprintf(from, sizeof from, "%s/%s/%s", sdxl_dir, rel, e->d_name);
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        snprintf(to, sizeof to, "%s/sdxl/%s/%s", root, rel, e->d_name);
        copy_file(from, to);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: bench_make_weights OUT_DIR [SDXL_DIR]   (writes about 9.6 GB)\n");
        return 2;
    }
    const char *root = argv[1];
    char path[4096];
    mkdirs(root, "sdxl/unet");
    mkdirs(root, "sdxl/vae");
    mkdirs(root, "sdxl/text_encoder");
    mkdirs(root, "sdxl/text_encoder_2");
    mkdirs(root, "ControlNetModel");
    write_text(root, "sdxl/unet/config.json", UNET_CONFIG);
    write_text(root, "ControlNetModel/config.json", CONTROLNET_CONFIG);
    write_text(root, "sdxl/vae/config.json", VAE_CONFIG);
    write_text(root, "sdxl/text_encoder/config.json", TE1_CONFIG);
    write_text(root, "sdxl/text_encoder_2/config.json", TE2_CONFIG);
    if (argc == 3) {
        copy_dir(argv[2], root, "tokenizer");
        copy_dir(argv[2], root, "tokenizer_2");
        copy_dir(argv[2], root, "scheduler");
    }

    iid_unet_config_t ucfg, ccfg;
    iid_error_t err;
    snprintf(path, sizeof path, "%s/sdxl/unet/config.json", root);
    if (iid__unet_config_load(&ucfg, path, &err) != IID_OK) die("%s", err.msg);
    snprintf(path, sizeof path, "%s/ControlNetModel/config.json", root);
    if (iid__unet_config_load(&ccfg, path, &err) != IID_OK) die("%s", err.msg);

    specs_t s = {0};
    unet_trunk(&s, &ucfg);
    unet_up(&s, &ucfg);
    snprintf(path, sizeof path, "%s/sdxl/unet/diffusion_pytorch_model.safetensors", root);
    write_st(path, &s, 1);
    specs_free(&s);

    unet_trunk(&s, &ccfg);
    controlnet_extras(&s, &ccfg);
    snprintf(path, sizeof path, "%s/ControlNetModel/diffusion_pytorch_model.safetensors", root);
    write_st(path, &s, 2);
    specs_free(&s);

    vae_decoder(&s);
    snprintf(path, sizeof path, "%s/sdxl/vae/diffusion_pytorch_model.safetensors", root);
    write_st(path, &s, 3);
    specs_free(&s);

    resampler(&s);
    ip_adapter(&s, &ucfg);
    snprintf(path, sizeof path, "%s/ip-adapter.safetensors", root);
    write_st(path, &s, 4);
    specs_free(&s);

    clip_text(&s, 768, 3072, 12, 49408, 77, 0);
    snprintf(path, sizeof path, "%s/sdxl/text_encoder/model.safetensors", root);
    write_st(path, &s, 5);
    specs_free(&s);

    clip_text(&s, 1280, 5120, 32, 49408, 77, 1280);
    snprintf(path, sizeof path, "%s/sdxl/text_encoder_2/model.safetensors", root);
    write_st(path, &s, 6);
    specs_free(&s);
    return 0;
}
