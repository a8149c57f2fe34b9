/*
 * cmd_info.c - `instantid info`: what model files were found, their formats,
 * dtypes, parameter counts, and the configuration read from them.
 *
 * Every component of the models folder (DESIGN.md section 4) is described on its
 * own, so one missing or broken file is reported without hiding the rest. The
 * exit status is 0 when every component was found and read, 1 otherwise.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/info_formats.h"
#include "cli/options.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "ops/backend.h"
#include "pipeline/face_models.h"
#include "pipeline/model_load.h"

typedef struct info_paths {
    const char *models;
    char sdxl[4096], controlnet[4096], ip_adapter[4096], faces[4096];
} info_paths_t;

/* Returns 1 when the config cannot be read (said on stdout), else 0. */
static int print_config(const char *path)
{
    iid_json_t j;
    iid_error_t err;
    if (iid__json_load(&j, path, &err) != IID_OK) {
        printf("    config: %s\n", err.msg);
        return 1;
    }
    iid_info_print_doc("config", &j);
    iid__json_free(&j);
    return 0;
}

/* One weight file: format, tensor count, parameter count, dtypes. */
static int describe_weights(const char *path)
{
    iid_safetensors_t st;
    iid_error_t err;
    if (iid__weights_open(&st, path, &err) != IID_OK) {
        printf("    weights: %s\n", err.msg);
        return 1;
    }
    long long params = 0;
    long long per_dtype[IID_DTYPE_COUNT] = {0};
    for (int i = 0; i < st.count; i++) {
        long long n = (long long)iid__st_numel(&st.tensors[i]);
        params += n;
        per_dtype[st.tensors[i].dtype] += n;
    }
    printf("    weights: %s (%s, %d tensors, %.3f M parameters:", path, st.format == IID_WEIGHTS_TORCH_ZIP ? "torch zip pickle" : "safetensors", st.count, params / 1e6);
    for (int d = 0; d < IID_DTYPE_COUNT; d++)
        if (per_dtype[d]) printf(" %s %lld", iid__dtype_name((iid_dtype_t)d), per_dtype[d]);
    printf(")\n");
    iid__st_close(&st);
    return 0;
}

/* The first existing file among candidates inside dir, or NULL. */
static const char *find_first(char *buf, size_t cap, const char *dir, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (iid__path_join(buf, cap, dir, names[i], NULL) == IID_OK && iid__is_file(buf)) return buf;
    return NULL;
}

/* A diffusers/transformers component folder: config.json + one weight file. */
static int describe_component(const char *label, const char *dir, const char *const *weight_names)
{
    char cfg[4096], w[4096];
    printf("%s: %s\n", label, dir);
    if (!iid__is_dir(dir)) {
        printf("    missing: no such folder\n");
        return 1;
    }
    if (strcmp(label, "ControlNetModel") == 0) printf("    format: diffusers folder\n");
    int bad = 0;
    if (iid__path_join(cfg, sizeof cfg, dir, "config.json", NULL) == IID_OK && iid__is_file(cfg)) bad |= print_config(cfg);
    else {
        printf("    missing: config.json\n");
        bad = 1;
    }
    if (find_first(w, sizeof w, dir, weight_names)) bad |= describe_weights(w);
    else {
        printf("    missing: %s\n", weight_names[0]);
        bad = 1;
    }
    return bad;
}

static long count_lines(const char *path)
{
    int fd;
    if (iid__file_open_input(path, &fd, NULL, NULL) != IID_OK) return -1;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return -1;
    }
    long n = 0;
    int c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') n++;
        last = c;
    }
    if (last != '\n') n++;
    fclose(f);
    return n;
}

static int describe_tokenizer(const char *label, const char *dir)
{
    char vocab[4096], merges[4096], cfg[4096];
    printf("%s: %s\n", label, dir);
    iid_json_t j;
    iid_error_t err;
    if (iid__path_join(vocab, sizeof vocab, dir, "vocab.json", &err) != IID_OK ||
        iid__json_load(&j, vocab, &err) != IID_OK) {
        printf("    vocab: %s\n", err.msg);
        return 1;
    }
    int entries = cJSON_GetArraySize(j.root);
    iid__json_free(&j);
    iid__path_join(merges, sizeof merges, dir, "merges.txt", NULL);
    long lines = count_lines(merges);
    printf("    CLIP BPE: vocab.json %d entries, merges.txt %ld lines\n", entries, lines);
    int bad = lines < 0;
    if (iid__path_join(cfg, sizeof cfg, dir, "tokenizer_config.json", NULL) == IID_OK && iid__is_file(cfg))
        bad |= print_config(cfg);
    return bad;
}

static int describe_sdxl(const char *sdxl)
{
    static const char *const te_weights[] = {"model.safetensors", "model.fp16.safetensors", NULL};
    static const char *const diff_weights[] = {"diffusion_pytorch_model.safetensors",
                                               "diffusion_pytorch_model.fp16.safetensors", NULL};
    char p[4096], q[4096];
    int bad = 0;
    printf("sdxl: %s\n    format: diffusers folder\n", sdxl);
    if (iid__path_join(p, sizeof p, sdxl, "model_index.json", NULL) == IID_OK && iid__is_file(p)) bad |= print_config(p);
    else {
        printf("    missing: model_index.json\n");
        bad = 1;
    }
    static const struct {
        const char *sub, *label;
        int kind; /* 0 transformers, 1 diffusers, 2 tokenizer */
    } parts[] = {{"text_encoder", "sdxl/text_encoder", 0}, {"text_encoder_2", "sdxl/text_encoder_2", 0},
                 {"tokenizer", "sdxl/tokenizer", 2},       {"tokenizer_2", "sdxl/tokenizer_2", 2},
                 {"unet", "sdxl/unet", 1},                 {"vae", "sdxl/vae", 1}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        iid__path_join(p, sizeof p, sdxl, parts[i].sub, NULL);
        if (parts[i].kind == 2) bad |= describe_tokenizer(parts[i].label, p);
        else bad |= describe_component(parts[i].label, p, parts[i].kind ? diff_weights : te_weights);
    }
    iid__path_join(p, sizeof p, sdxl, "scheduler", NULL);
    iid__path_join(q, sizeof q, p, "scheduler_config.json", NULL);
    printf("sdxl/scheduler: %s\n", p);
    if (iid__is_file(q)) bad |= print_config(q);
    else {
        printf("    missing: scheduler_config.json\n");
        bad = 1;
    }
    return bad;
}

static int describe_ip_adapter(const char *path)
{
    printf("ip-adapter: %s\n", path);
    if (!iid__is_file(path)) {
        printf("    missing: no such file\n");
        return 1;
    }
    return describe_weights(path);
}

/* One ONNX model: its role as insightface would see it, opset, inputs, outputs.
 * Returns 1 when it cannot be read. */
static int describe_onnx(const char *name, const char *path)
{
    static const char *const roles[] = {"not a face model", "face detector", "face recogniser", "landmark model",
                                        "attribute model", "face swapper"};
    iid_onnx_net_t net;
    iid_error_t err;
    if (iid__onnx_net_load(&net, path, &err) != IID_OK) {
        printf("    %s: %s\n", name, err.msg);
        return 1;
    }
    const iid_onnx_graph_t *g = &net.model.graph;
    long long params = 0;
    for (int i = 0; i < g->n_initializers; i++) params += (long long)iid__tensor_numel(&g->initializers[i].value);
    printf("    %s: ONNX opset %lld, %s, %d nodes, %.3f M parameters\n", name, (long long)net.opset,
           roles[iid__face_model_role(&net)], g->n_nodes, params / 1e6);
    const iid_onnx_value_info_t *lists[2] = {g->inputs, g->outputs};
    int counts[2] = {g->n_inputs, g->n_outputs};
    for (int k = 0; k < 2; k++) {
        printf("      %s:", k ? "outputs" : "inputs");
        for (int i = 0; i < counts[k]; i++) {
            const iid_onnx_value_info_t *v = &lists[k][i];
            printf(" %s[", v->name);
            for (int d = 0; d < v->ndim; d++)
                if (v->dims[d].param) printf("%s%s", d ? "," : "", v->dims[d].param);
                else printf("%s%lld", d ? "," : "", (long long)v->dims[d].value);
            printf("]");
        }
        printf("\n");
    }
    iid__onnx_net_free(&net);
    return 0;
}

static int describe_faces(const char *dir)
{
    printf("face models: %s\n", dir);
    DIR *d = opendir(dir);
    if (!d) {
        printf("    missing: no such folder\n");
        return 1;
    }
    int found = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".onnx") != 0) continue;
        char p[4096];
        if (iid__path_join(p, sizeof p, dir, e->d_name, NULL) != IID_OK) continue;
        bad |= describe_onnx(e->d_name, p);
        found++;
    }
    closedir(d);
    if (!found) printf("    missing: no .onnx files\n");
    return bad || found == 0;
}

static const iid_opt_spec_t info_opts[] = {
    IID_CLI_COMMON_OPTS,
};
#define N_INFO_OPTS ((int)(sizeof info_opts / sizeof info_opts[0]))

/* The compute backends compiled in, the default one marked. */
static void describe_backends(void)
{
    const iid_backend_t *def = iid__backend_default();
    printf("backends:");
    for (int i = 0; iid__backend_at(i); i++)
        printf(" %s%s", iid__backend_at(i)->name, iid__backend_at(i) == def ? " (default)" : "");
    printf("\n");
    for (int i = 0; iid__backend_at(i); i++)
        printf("    %s: %s\n", iid__backend_at(i)->name, iid__backend_at(i)->description);
}

int iid_cmd_info(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    iid_cli_models_t m;
    iid_status st = iid_cli_parse(&o, info_opts, N_INFO_OPTS, argc, argv, 0, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid info [options]",
                     "Describe every model component found: format, dtypes, parameter count and configuration;\n"
                     "a single-file --sdxl with its AUTOMATIC1111 Model hash, each --lora with what it targets;\n"
                     "and the compute backends compiled in (the default one marked; --backend picks another).\n"
                     "Exit status: 0 when every component was found and read, 1 otherwise, 2 on bad usage.\n"
                     "(The options that choose how to run, such as --device or --threads, are accepted so one\n"
                     "config file serves every command; info only reads the files.)",
                     info_opts, N_INFO_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK) st = iid_cli_models_read(&o, &m, &err);
    if (st == IID_OK && !iid__is_dir(m.models) && !(m.sdxl && m.controlnet && m.ip_adapter && m.face_models))
        st = iid__fail(&err, IID_ERR_NOT_FOUND, "%s: models folder not found (see --models)", m.models);
    if (st != IID_OK) {
        fprintf(stderr, "instantid info: %s\n", err.msg);
        iid_cli_free(&o);
        return 2;
    }
    info_paths_t p = {.models = m.models};
    const char *sdxl = m.sdxl, *cn = m.controlnet, *ip = m.ip_adapter, *faces = m.face_models;
    snprintf(p.sdxl, sizeof p.sdxl, "%s", sdxl ? sdxl : "");
    if (!sdxl) iid__path_join(p.sdxl, sizeof p.sdxl, p.models, "sdxl", NULL);
    snprintf(p.controlnet, sizeof p.controlnet, "%s", cn ? cn : "");
    if (!cn) iid__path_join(p.controlnet, sizeof p.controlnet, p.models, "ControlNetModel", NULL);
    if (!cn && !iid__is_dir(p.controlnet))
        iid__path_join(p.controlnet, sizeof p.controlnet, p.models, "ControlNetModel.safetensors", NULL);
    snprintf(p.faces, sizeof p.faces, "%s", faces ? faces : "");
    if (!faces) iid__path_join(p.faces, sizeof p.faces, p.models, "antelopev2", NULL);
    if (ip) snprintf(p.ip_adapter, sizeof p.ip_adapter, "%s", ip);
    else {
        iid__path_join(p.ip_adapter, sizeof p.ip_adapter, p.models, "ip-adapter.bin", NULL);
        if (!iid__is_file(p.ip_adapter))
            iid__path_join(p.ip_adapter, sizeof p.ip_adapter, p.models, "ip-adapter.safetensors", NULL);
    }
    static const char *const cn_weights[] = {"diffusion_pytorch_model.safetensors",
                                             "diffusion_pytorch_model.fp16.safetensors", NULL};
    char sdxl_config[4096];
    snprintf(sdxl_config, sizeof sdxl_config, "%s", m.sdxl_config ? m.sdxl_config : "");
    iid__sdxl_default_config(p.models, p.sdxl, sdxl_config, sizeof sdxl_config);
    describe_backends();
    int bad = iid_info_sdxl_is_single(p.sdxl) ? iid_info_sdxl_single(p.sdxl, sdxl_config) : describe_sdxl(p.sdxl);
    bad |= iid__is_file(p.controlnet) ? iid_info_controlnet_file(p.controlnet)
                                      : describe_component("ControlNetModel", p.controlnet, cn_weights);
    for (int i = 0; i < m.n_loras; i++) bad |= iid_info_lora(m.loras[i], p.sdxl, sdxl_config);
    bad |= describe_ip_adapter(p.ip_adapter);
    bad |= describe_faces(p.faces);
    iid_cli_free(&o);
    return bad ? 1 : 0;
}
