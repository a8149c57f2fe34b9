/* kit_files.c - the kit's golden files, the manifests' checks and what the stages
 * used (see kit_files.h). */
#define _POSIX_C_SOURCE 200809L
#include "kit_files.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file.h"
#include "io/json.h"
#include "io/sha256.h"

#define STAGE "kit"
#define MAX_OPEN 16       /* golden files a stage holds open at once */
#define MAX_LISTED 8      /* unused tensors named per file before a count */

typedef struct kit_file {
    char *rel;
    int needs_stage; /* golden data: a stage must read it */
    int opened;      /* a stage read it */
    int listed;      /* golden/MANIFEST.json lists it (and its check reported it) */
    int count;       /* tensors, for a safetensors file */
    char **names;    /* sorted, as the index holds them */
    unsigned char *used;
} kit_file_t;

typedef struct pending {
    char *path; /* a file, or a folder ending in '/' */
    char *reason;
    int matched;
} pending_t;

struct conf_cov {
    kit_file_t *files;
    int n, cap;
    pending_t *pending;
    int n_pending;
    struct {
        const iid_safetensors_t *st;
        int file;
    } open[MAX_OPEN];
};

static int file_index(const struct conf_cov *cov, const char *rel)
{
    for (int i = 0; i < cov->n; i++)
        if (strcmp(cov->files[i].rel, rel) == 0) return i;
    return -1;
}

/* The entry of rel, added when new; -1 when out of memory. */
static int file_add(struct conf_cov *cov, const char *rel, int needs_stage)
{
    int i = file_index(cov, rel);
    if (i >= 0) {
        cov->files[i].needs_stage |= needs_stage;
        return i;
    }
    if (cov->n == cov->cap) {
        int cap = cov->cap ? 2 * cov->cap : 64;
        kit_file_t *f = realloc(cov->files, (size_t)cap * sizeof *f);
        if (!f) return -1;
        cov->files = f;
        cov->cap = cap;
    }
    kit_file_t *f = &cov->files[cov->n];
    memset(f, 0, sizeof *f);
    f->rel = strdup(rel);
    if (!f->rel) return -1;
    f->needs_stage = needs_stage;
    return cov->n++;
}

/* Record the tensor names of an index (once per file). */
static int file_set_names(kit_file_t *f, const iid_safetensors_t *st)
{
    if (f->names) return 0;
    f->names = calloc((size_t)st->count + 1, sizeof *f->names);
    f->used = calloc((size_t)st->count + 1, 1);
    if (!f->names || !f->used) return -1;
    for (int i = 0; i < st->count; i++)
        if (!(f->names[i] = strdup(st->tensors[i].name))) return -1;
    f->count = st->count;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* A PNG next to a golden safetensors whose stem starts its name (README section 2). */
static int is_picture(const char *dir, const char *name)
{
    if (!ends_with(name, ".png")) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (!ends_with(e->d_name, ".safetensors")) continue;
        size_t stem = strlen(e->d_name) - strlen(".safetensors");
        found = strncmp(e->d_name, name, stem) == 0 && (name[stem] == '.' || name[stem] == '_');
    }
    closedir(d);
    return found;
}

/* Walk kit/<rel> adding the golden files (see kit_files.h for what is not). */
static int walk(struct conf_cov *cov, const char *kit, const char *rel, int depth)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", kit, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", kit, sub);
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (strcmp(e->d_name, "models") != 0) rc = walk(cov, kit, sub, depth + 1);
        } else if (depth > 0 && strcmp(e->d_name, "README.md") != 0 && strcmp(e->d_name, "MANIFEST.json") != 0 &&
                   !is_picture(dir, e->d_name)) {
            rc = file_add(cov, sub, 1) < 0 ? -1 : 0;
        }
    }
    closedir(d);
    return rc;
}

static const char *numpy_dtype(iid_dtype_t dt)
{
    switch (dt) {
    case IID_DTYPE_F32: return "float32";
    case IID_DTYPE_F16: return "float16";
    case IID_DTYPE_BF16: return "bfloat16";
    case IID_DTYPE_F64: return "float64";
    case IID_DTYPE_I64: return "int64";
    case IID_DTYPE_I32: return "int32";
    case IID_DTYPE_U8: return "uint8";
    case IID_DTYPE_BOOL: return "bool";
    default: return "?";
    }
}

/* One golden/MANIFEST.json entry: the file opens and holds every listed tensor
 * with its dtype and shape. */
static void check_golden_entry(conf_ctx_t *c, const char *rel, const cJSON *tensors)
{
    char path[4096];
    iid_safetensors_t st;
    iid_error_t err;
    iid_error_clear(&err);
    if (iid__st_open(&st, conf_path(c, rel, path, sizeof path), &err) != IID_OK) {
        conf_fail(c, STAGE, rel, "-", "listed in golden/MANIFEST.json but missing or unreadable: %s", err.msg);
        return;
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, tensors)
    {
        const iid_st_tensor_t *g = iid__st_find(&st, t->string);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        if (!g) {
            conf_fail(c, STAGE, rel, t->string, "listed in golden/MANIFEST.json but not in the file");
            continue;
        }
        int same = cJSON_IsString(dt) && strcmp(dt->valuestring, numpy_dtype(g->dtype)) == 0 &&
                   cJSON_IsArray(shape) && cJSON_GetArraySize(shape) == g->ndim;
        for (int k = 0; same && k < g->ndim; k++) {
            const cJSON *v = cJSON_GetArrayItem(shape, k);
            same = cJSON_IsNumber(v) && (int64_t)v->valuedouble == g->shape[k];
        }
        if (!same) conf_fail(c, STAGE, rel, t->string, "dtype or shape differs from golden/MANIFEST.json");
    }
    iid__st_close(&st);
}

static void check_golden_manifest(conf_ctx_t *c)
{
    char path[4096];
    iid_json_t j;
    iid_error_t err;
    iid_error_clear(&err);
    if (iid__json_load(&j, conf_path(c, "golden/MANIFEST.json", path, sizeof path), &err) != IID_OK) {
        conf_fail(c, STAGE, "golden/MANIFEST.json", "-", "%s", err.msg);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j.root)
    {
        char rel[1024];
        snprintf(rel, sizeof rel, "golden/%s", e->string);
        int i = file_add(c->cov, rel, 1);
        if (i < 0) break;
        c->cov->files[i].listed = 1;
        check_golden_entry(c, rel, cJSON_GetObjectItemCaseSensitive(e, "tensors"));
    }
    iid__json_free(&j);
}

/* faces/MANIFEST.json: {"files": [{"path", "bytes", "sha256"}]}, paths relative to faces/
 * (checked when the kit has a faces/ folder). */
static void check_faces_manifest(conf_ctx_t *c)
{
    char path[4096];
    iid_json_t j;
    iid_error_t err;
    iid_error_clear(&err);
    struct stat st;
    if (stat(conf_path(c, "faces", path, sizeof path), &st) != 0) return; /* a kit without the face part */
    if (iid__json_load(&j, conf_path(c, "faces/MANIFEST.json", path, sizeof path), &err) != IID_OK) {
        conf_fail(c, STAGE, "faces/MANIFEST.json", "-", "%s", err.msg);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j.root, "files"))
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(e, "bytes");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
        if (!cJSON_IsString(p)) {
            conf_fail(c, STAGE, "faces/MANIFEST.json", "-", "an entry without a path");
            continue;
        }
        char rel[1024];
        snprintf(rel, sizeof rel, "faces/%s", p->valuestring);
        char *data = NULL;
        size_t size = 0;
        iid_error_clear(&err);
        if (iid__file_read_all(conf_path(c, rel, path, sizeof path), (size_t)1 << 30, &data, &size, &err) != IID_OK) {
            conf_fail(c, STAGE, rel, "-", "listed in faces/MANIFEST.json but missing or unreadable: %s", err.msg);
            continue;
        }
        char hex[65];
        iid__sha256_bytes(data, size, hex);
        free(data);
        if (cJSON_IsNumber(bytes) && (double)size != bytes->valuedouble)
            conf_fail(c, STAGE, rel, "-", "%zu bytes, faces/MANIFEST.json says %.0f", size, bytes->valuedouble);
        else if (cJSON_IsString(sha) && strcmp(hex, sha->valuestring) != 0)
            conf_fail(c, STAGE, rel, "-", "SHA-256 %s, faces/MANIFEST.json says %s", hex, sha->valuestring);
    }
    iid__json_free(&j);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* PENDING: "<path> <reason>" per line; '#' starts a comment line. */
static int read_pending(conf_ctx_t *c, const char *pending_path)
{
    struct conf_cov *cov = c->cov;
    FILE *f = fopen(pending_path, "r");
    if (!f) {
        conf_fail(c, STAGE, pending_path, "-", "cannot read the PENDING list");
        return 0;
    }
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *sp = s + strcspn(s, " \t");
        char *reason = *sp ? trim(sp + 1) : sp;
        *sp = '\0';
        pending_t *p = realloc(cov->pending, ((size_t)cov->n_pending + 1) * sizeof *p);
        if (!p) break;
        cov->pending = p;
        p = &cov->pending[cov->n_pending];
        p->path = strdup(s);
        p->reason = strdup(*reason ? reason : "(no reason given)");
        p->matched = 0;
        if (!p->path || !p->reason) {
            free(p->path);
            free(p->reason);
            break;
        }
        cov->n_pending++;
    }
    fclose(f);
    return 0;
}

int conf_kit_scan(conf_ctx_t *c, const char *pending_path)
{
    c->cov = calloc(1, sizeof *c->cov);
    if (!c->cov || walk(c->cov, c->kit, "", 0) != 0) return -1;
    check_golden_manifest(c);
    check_faces_manifest(c);
    if (pending_path) read_pending(c, pending_path);
    /* Every golden safetensors opens, and its tensor names are known before any stage runs. */
    for (int i = 0; i < c->cov->n; i++) {
        kit_file_t *f = &c->cov->files[i];
        if (!ends_with(f->rel, ".safetensors")) continue;
        char path[4096];
        iid_safetensors_t st;
        iid_error_t err;
        iid_error_clear(&err);
        if (iid__st_open(&st, conf_path(c, f->rel, path, sizeof path), &err) != IID_OK) {
            if (!f->listed) conf_fail(c, STAGE, f->rel, "-", "unreadable: %s", err.msg);
            continue;
        }
        int rc = file_set_names(f, &st);
        iid__st_close(&st);
        if (rc != 0) return -1;
    }
    return 0;
}

static const pending_t *pending_for(struct conf_cov *cov, const char *rel)
{
    for (int i = 0; i < cov->n_pending; i++) {
        pending_t *p = &cov->pending[i];
        size_t n = strlen(p->path);
        if (strcmp(p->path, rel) == 0 || (n && p->path[n - 1] == '/' && strncmp(p->path, rel, n) == 0)) {
            p->matched = 1;
            return p;
        }
    }
    return NULL;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const kit_file_t *)a)->rel, ((const kit_file_t *)b)->rel);
}

void conf_kit_report(conf_ctx_t *c)
{
    struct conf_cov *cov = c->cov;
    if (!cov) return;
    if (cov->n) qsort(cov->files, (size_t)cov->n, sizeof *cov->files, cmp_file);
    for (int i = 0; i < cov->n; i++) {
        const kit_file_t *f = &cov->files[i];
        if (!f->needs_stage) continue;
        const pending_t *p = pending_for(cov, f->rel);
        if (p && f->opened) {
            conf_fail(c, STAGE, f->rel, "-", "a stage reads it now: remove its line from tests/conformance/PENDING");
        } else if (p) {
            printf("PENDING %s %s\n", f->rel, p->reason);
        } else if (!f->opened) {
            conf_fail(c, STAGE, f->rel, "-",
                      "no stage reads this golden file (add a stage, or list it in tests/conformance/PENDING with the reason)");
        } else {
            int unused = 0;
            for (int k = 0; k < f->count; k++) {
                if (f->used[k]) continue;
                if (++unused <= MAX_LISTED)
                    conf_fail(c, STAGE, f->rel, f->names[k], "never compared nor used as an input by any stage");
            }
            if (unused > MAX_LISTED)
                conf_fail(c, STAGE, f->rel, "-", "and %d more tensors never compared nor used", unused - MAX_LISTED);
        }
    }
    for (int i = 0; i < cov->n_pending; i++)
        if (!cov->pending[i].matched)
            printf("PENDING %s %s (not in this kit)\n", cov->pending[i].path, cov->pending[i].reason);
    fflush(stdout);
}

void conf_kit_free(conf_ctx_t *c)
{
    struct conf_cov *cov = c->cov;
    if (!cov) return;
    for (int i = 0; i < cov->n; i++) {
        for (int k = 0; k < cov->files[i].count; k++) free(cov->files[i].names[k]);
        free(cov->files[i].names);
        free(cov->files[i].used);
        free(cov->files[i].rel);
    }
    for (int i = 0; i < cov->n_pending; i++) {
        free(cov->pending[i].path);
        free(cov->pending[i].reason);
    }
    free(cov->pending);
    free(cov->files);
    free(cov);
    c->cov = NULL;
}

/* ---- what the stages call ------------------------------------------------ */

static void mark_opened(const conf_ctx_t *c, const char *rel, int *index)
{
    int i = c->cov ? file_add(c->cov, rel, 0) : -1;
    if (i >= 0) c->cov->files[i].opened = 1;
    if (index) *index = i;
}

iid_status conf_open_st(const conf_ctx_t *c, const char *rel, iid_safetensors_t *st, iid_error_t *err)
{
    char path[4096];
    iid_status s = iid__st_open(st, conf_path(c, rel, path, sizeof path), err);
    if (s != IID_OK) return s;
    int i;
    mark_opened(c, rel, &i);
    if (i < 0) return IID_OK;
    struct conf_cov *cov = c->cov;
    if (file_set_names(&cov->files[i], st) != 0) return IID_OK;
    for (int k = 0; k < MAX_OPEN; k++)
        if (!cov->open[k].st) {
            cov->open[k].st = st;
            cov->open[k].file = i;
            break;
        }
    return IID_OK;
}

void conf_close(const conf_ctx_t *c, iid_safetensors_t *st)
{
    for (int k = 0; c->cov && k < MAX_OPEN; k++)
        if (c->cov->open[k].st == st) c->cov->open[k].st = NULL;
    iid__st_close(st);
}

iid_status conf_load_json(const conf_ctx_t *c, const char *rel, iid_json_t *j, iid_error_t *err)
{
    char path[4096];
    iid_status s = iid__json_load(j, conf_path(c, rel, path, sizeof path), err);
    if (s == IID_OK) mark_opened(c, rel, NULL);
    return s;
}

void conf_read_file(const conf_ctx_t *c, const char *rel)
{
    int i;
    mark_opened(c, rel, &i);
    if (i >= 0 && c->cov->files[i].used) memset(c->cov->files[i].used, 1, (size_t)c->cov->files[i].count);
}

void conf_used(const conf_ctx_t *c, const iid_st_tensor_t *t)
{
    if (!c->cov || !t) return;
    for (int k = 0; k < MAX_OPEN; k++) {
        const iid_safetensors_t *st = c->cov->open[k].st;
        if (!st || t < st->tensors || t >= st->tensors + st->count) continue;
        kit_file_t *f = &c->cov->files[c->cov->open[k].file];
        long idx = t - st->tensors;
        if (idx < f->count && strcmp(f->names[idx], t->name) == 0) f->used[idx] = 1;
        return;
    }
}

const iid_st_tensor_t *conf_in(const conf_ctx_t *c, const iid_safetensors_t *st, const char *name)
{
    const iid_st_tensor_t *t = iid__st_find(st, name);
    conf_used(c, t);
    return t;
}
