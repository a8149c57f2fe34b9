/*
 * infotext.c - A1111 `parameters` text and the ComfyUI `prompt` graph (see
 * infotext.h). The text is written through open_memstream; the graph is built
 * with cJSON, which also quotes A1111 values the way Python's json.dumps does
 * with ensure_ascii=False (only '"', '\\' and control characters escaped).
 */
#include "pipeline/infotext.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "iid.h"

static const struct {
    const char *ours, *a1111, *schedule, *comfy, *comfy_sched;
} samplers[] = {
    {"euler", "Euler", "Uniform", "euler", "normal"},
    {"heun", "Heun", "Uniform", "heun", "normal"},
    {"deis", "DEIS", "Uniform", "deis", "normal"},
    {"dpmpp_2m", "DPM++ 2M", "Uniform", "dpmpp_2m", "normal"},
    {"dpmpp_2m_karras", "DPM++ 2M", "Karras", "dpmpp_2m", "karras"},
    {"dpmpp_2m_sde_karras", "DPM++ 2M SDE", "Karras", "dpmpp_2m_sde", "karras"},
    {"lcm", "LCM", "Uniform", "lcm", "sgm_uniform"},
};
#define N_SAMPLERS ((int)(sizeof samplers / sizeof samplers[0]))

static int sampler_index(const char *ours)
{
    for (int i = 0; ours && i < N_SAMPLERS; i++)
        if (strcmp(samplers[i].ours, ours) == 0) return i;
    return -1;
}

void iid__infotext_a1111_sampler(const char *ours, const char **sampler, const char **schedule)
{
    int i = sampler_index(ours);
    *sampler = i >= 0 ? samplers[i].a1111 : ours ? ours : "Euler";
    *schedule = i >= 0 ? samplers[i].schedule : "Uniform";
}

void iid__infotext_comfyui_sampler(const char *ours, const char **sampler, const char **scheduler)
{
    int i = sampler_index(ours);
    *sampler = i >= 0 ? samplers[i].comfy : "euler";
    *scheduler = i >= 0 ? samplers[i].comfy_sched : "normal";
}

/* ---- A1111 ------------------------------------------------------------- */

/* ", Key: value", the value quoted as A1111's quote() does (and also when it
 * holds '"', which A1111 would otherwise mangle when the value is a quoted whole). */
static void pair(FILE *f, int *first, const char *key, const char *value)
{
    fprintf(f, "%s%s: ", *first ? "" : ", ", key);
    *first = 0;
    if (!strpbrk(value, ",:\"\n\r")) {
        fputs(value, f);
        return;
    }
    cJSON *s = cJSON_CreateString(value);
    char *q = s ? cJSON_PrintUnformatted(s) : NULL;
    fputs(q ? q : "\"\"", f);
    free(q);
    cJSON_Delete(s);
}

static void pair_num(FILE *f, int *first, const char *key, double v)
{
    char buf[40];
    iid__fmt_double(buf, sizeof buf, v);
    pair(f, first, key, buf);
}

/* An sd-webui-controlnet unit: "Module: m, Model: x, Weight: w, ...". Its parser
 * splits on ',' and ": ", so no value here may hold either. */
static void controlnet_unit(FILE *f, int *first, const char *key, const char *module, const char *model, double w)
{
    char weight[40], text[512];
    iid__fmt_double(weight, sizeof weight, w);
    snprintf(text, sizeof text,
             "Module: %s, Model: %s, Weight: %s, Resize Mode: Crop and Resize, Guidance Start: 0, Guidance End: 1, "
             "Pixel Perfect: False, Control Mode: Balanced",
             module, model, weight);
    pair(f, first, key, text);
}

void iid__infotext_lora_tags(const iid_model_names_t *m, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; m && i < m->n_loras; i++) {
        int n = snprintf(buf + used, cap - used, " <lora:%s:%s>", m->loras[i].name, m->loras[i].multiplier);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
}

char *iid__infotext_a1111(const iid_infotext_t *t)
{
    const iid_render_params_t *r = t->r;
    char *text = NULL, buf[64];
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return NULL;
    char tags[IID_MAX_LORA_NAMES * 176];
    iid__infotext_lora_tags(t->models, tags, sizeof tags);
    fputs(r->prompt ? r->prompt : "", f);
    fputs(tags, f);
    if (r->negative && *r->negative) fprintf(f, "\nNegative prompt: %s", r->negative);
    fputc('\n', f);
    const char *sampler, *schedule;
    iid__infotext_a1111_sampler(r->scheduler, &sampler, &schedule);
    int first = 1;
    snprintf(buf, sizeof buf, "%d", r->steps);
    pair(f, &first, "Steps", buf);
    pair(f, &first, "Sampler", sampler);
    pair(f, &first, "Schedule type", schedule);
    pair_num(f, &first, "CFG scale", r->guidance);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->seed);
    pair(f, &first, "Seed", buf);
    snprintf(buf, sizeof buf, "%dx%d", t->width, t->height);
    pair(f, &first, "Size", buf);
    if (t->models && t->models->hash[0]) pair(f, &first, "Model hash", t->models->hash);
    if (t->models && t->models->checkpoint[0]) pair(f, &first, "Model", t->models->checkpoint);
    controlnet_unit(f, &first, "ControlNet 0", "instant_id_face_embedding", "ip-adapter_instant_id_sdxl",
                    r->adapter_strength);
    controlnet_unit(f, &first, "ControlNet 1", "instant_id_face_keypoints", "control_instant_id_sdxl",
                    r->identitynet_strength);
    pair_num(f, &first, "IdentityNet strength", r->identitynet_strength);
    pair_num(f, &first, "Adapter strength", r->adapter_strength);
    pair(f, &first, "Enhance non-face region", r->face_mask ? "True" : "False");
    if (t->style) pair(f, &first, "Style", t->style);
    if (t->face_name) pair(f, &first, "Face image", t->face_name);
    if (t->job_id >= 0) {
        snprintf(buf, sizeof buf, "%ld", t->job_id);
        pair(f, &first, "Job id", buf);
    }
    pair(f, &first, "Version", "instantid " IID_VERSION);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- ComfyUI ----------------------------------------------------------- */

/* The graph under construction; any failed allocation marks it bad. */
typedef struct graph {
    cJSON *root;
    int bad;
} graph_t;

static void add(graph_t *g, cJSON *obj, const char *name, cJSON *item)
{
    if (!obj || !item || !cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        g->bad = 1;
    }
}

static void add_str(graph_t *g, cJSON *obj, const char *name, const char *v) { add(g, obj, name, cJSON_CreateString(v)); }
static void add_num(graph_t *g, cJSON *obj, const char *name, double v) { add(g, obj, name, cJSON_CreateNumber(v)); }

/* Node `id` of class_type; returns its inputs object (NULL marks the graph bad). */
static cJSON *node(graph_t *g, const char *id, const char *class_type)
{
    cJSON *n = cJSON_CreateObject(), *inputs = cJSON_CreateObject();
    add_str(g, n, "class_type", class_type);
    add(g, n, "inputs", inputs);
    add(g, g->root, id, n);
    return g->bad ? NULL : inputs;
}

static void add_item(graph_t *g, cJSON *array, cJSON *item)
{
    if (!array || !item || !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        g->bad = 1;
    }
}

/* An input wired to output `slot` of node `id`: ["id", slot]. */
static void link(graph_t *g, cJSON *inputs, const char *name, const char *id, int slot)
{
    cJSON *a = cJSON_CreateArray();
    add_item(g, a, cJSON_CreateString(id));
    add_item(g, a, cJSON_CreateNumber(slot));
    add(g, inputs, name, a);
}

char *iid__infotext_comfyui(const iid_infotext_t *t)
{
    const iid_render_params_t *r = t->r;
    graph_t gr = {cJSON_CreateObject(), 0}, *g = &gr;
    if (!g->root) return NULL;
    char ckpt[300], seed[32];
    snprintf(ckpt, sizeof ckpt, "%s.safetensors",
             t->models && t->models->checkpoint[0] ? t->models->checkpoint : "sd_xl_base_1.0");
    cJSON *in = node(g, "1", "CheckpointLoaderSimple");
    add_str(g, in, "ckpt_name", ckpt);
    /* LoRAs: LoraLoader 13, 14, ... chained after the checkpoint; model and clip come
     * from the last one */
    char model_src[16] = "1";
    for (int k = 0; t->models && k < t->models->n_loras; k++) {
        char id[16], file[160];
        snprintf(id, sizeof id, "%d", 13 + k);
        snprintf(file, sizeof file, "%s.safetensors", t->models->loras[k].name);
        in = node(g, id, "LoraLoader");
        add_str(g, in, "lora_name", file);
        double mult = strtod(t->models->loras[k].multiplier, NULL);
        add_num(g, in, "strength_model", mult);
        add_num(g, in, "strength_clip", mult);
        link(g, in, "model", model_src, 0);
        link(g, in, "clip", model_src, 1);
        snprintf(model_src, sizeof model_src, "%s", id);
    }
    in = node(g, "2", "InstantIDModelLoader");
    add_str(g, in, "instantid_file", "ip-adapter.bin");
    in = node(g, "3", "InstantIDFaceAnalysis");
    add_str(g, in, "provider", "CPU");
    in = node(g, "4", "ControlNetLoader");
    add_str(g, in, "control_net_name", "instantid/diffusion_pytorch_model.safetensors");
    in = node(g, "5", "LoadImage");
    add_str(g, in, "image", t->face_name ? t->face_name : "face.png");
    for (int k = 0; k < 2; k++) {
        in = node(g, k ? "7" : "6", "CLIPTextEncode");
        const char *text = k ? r->negative : r->prompt;
        add_str(g, in, "text", text ? text : "");
        link(g, in, "clip", model_src, 1);
    }
    in = node(g, "8", "ApplyInstantIDAdvanced");
    static const char *const wires[][3] = {{"instantid", "2", "0"}, {"insightface", "3", "0"},
                                           {"control_net", "4", "0"}, {"image", "5", "0"},
                                           {"model", NULL, "0"},    {"positive", "6", "0"},
                                           {"negative", "7", "0"}};
    for (int k = 0; k < 7; k++) link(g, in, wires[k][0], wires[k][1] ? wires[k][1] : model_src, wires[k][2][0] - '0');
    add_num(g, in, "ip_weight", r->adapter_strength);
    add_num(g, in, "cn_strength", r->identitynet_strength);
    add_num(g, in, "start_at", 0);
    add_num(g, in, "end_at", 1);
    add_num(g, in, "noise", 0);
    add_str(g, in, "combine_embeds", "average");
    in = node(g, "9", "EmptyLatentImage");
    add_num(g, in, "width", t->width);
    add_num(g, in, "height", t->height);
    add_num(g, in, "batch_size", 1);
    const char *sampler, *scheduler;
    iid__infotext_comfyui_sampler(r->scheduler, &sampler, &scheduler);
    in = node(g, "10", "KSampler");
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed); /* exact: a double holds only 53 bits */
    add(g, in, "seed", cJSON_CreateRaw(seed));
    add_num(g, in, "steps", r->steps);
    add_num(g, in, "cfg", r->guidance);
    add_str(g, in, "sampler_name", sampler);
    add_str(g, in, "scheduler", scheduler);
    add_num(g, in, "denoise", 1);
    link(g, in, "model", "8", 0);
    link(g, in, "positive", "8", 1);
    link(g, in, "negative", "8", 2);
    link(g, in, "latent_image", "9", 0);
    in = node(g, "11", "VAEDecode");
    link(g, in, "samples", "10", 0);
    link(g, in, "vae", "1", 2);
    in = node(g, "12", "SaveImage");
    add_str(g, in, "filename_prefix", "instantid");
    link(g, in, "images", "11", 0);
    char *json = g->bad ? NULL : cJSON_PrintUnformatted(g->root);
    cJSON_Delete(g->root);
    return json;
}
