/*
 * main.c - the conformance runner.
 *
 *   conformance [--kit DIR] [--stage S,...] [--backend NAME] [--dtype f32|bf16] [--pending FILE] [--list]
 *
 * The kit defaults to $INSTANTID_KIT, else ../shared/conformance. Without a kit
 * the runner prints why and exits 77 (skipped). Otherwise it runs every selected
 * stage (every model bound to --backend, default the library's default
 * backend), prints one line per compared tensor and a final
 * "N passed, N failed, N skipped". A stage that compares nothing FAILs. A full run
 * (no --stage) also checks the kit's files against its manifests and FAILs every
 * golden file or tensor no stage used, except the files the PENDING list names
 * (kit_files.h). Exit 1 on any FAIL, else 77 when anything was skipped (CTest
 * reports the test as skipped, never as passed), else 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conformance.h"
#include "kit_files.h"
#include "ops/backend.h"

static int selected(const char *list, const char *name)
{
    if (!list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: conformance [--kit DIR] [--stage S,...] [--backend NAME] [--dtype f32|bf16] [--pending FILE]\n"
               "                   [--list]\n"
               "  --kit DIR      the conformance kit (default $INSTANTID_KIT, else ../shared/conformance)\n"
               "  --stage S,...  run only these stages (the kit's files are then not checked)\n"
               "  --backend NAME run the models on this compute backend (ref, cpu, cuda; default: the first\n"
               "                 available, cuda when compiled in and a GPU answers)\n"
               "  --dtype D      GEMM/convolution dtype (f32 default; bf16 is held to the bf16 profile of\n"
               "                 bf16_profile.c and skips, exit 77, where oneDNN cannot run bf16)\n"
               "  --pending FILE kit files no stage reads, one 'path reason' a line\n"
               "                 (default " CONF_PENDING_DEFAULT ")\n"
               "  --list         print the stage names and exit\n");
}

int main(int argc, char **argv)
{
    const char *kit = getenv("INSTANTID_KIT");
    if (!kit || !*kit) kit = "../shared/conformance";
    const char *stages = NULL, *backend = NULL, *dtype = NULL, *pending = CONF_PENDING_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kit") == 0 && i + 1 < argc) kit = argv[++i];
        else if (strcmp(argv[i], "--pending") == 0 && i + 1 < argc) pending = argv[++i];
        else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc) stages = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) backend = argv[++i];
        else if (strcmp(argv[i], "--dtype") == 0 && i + 1 < argc) dtype = argv[++i];
        else if (strcmp(argv[i], "--list") == 0) {
            for (int s = 0; s < conf_stage_count; s++) printf("%s\n", conf_stages[s].name);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (stages) {
        for (const char *p = stages; *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int known = 0;
            for (int s = 0; s < conf_stage_count; s++)
                if (strlen(conf_stages[s].name) == len && strncmp(conf_stages[s].name, p, len) == 0) known = 1;
            if (!known) {
                fprintf(stderr, "conformance: unknown stage '%.*s' (see --list)\n", (int)len, p);
                return 2;
            }
            p += len + (comma ? 1 : 0);
        }
    }
    if (backend) { /* the models bind to $IID_BACKEND's backend at load */
        const iid_backend_t *be;
        iid_error_t err;
        iid_status s = iid__backend_lookup(backend, &be, &err);
        if (s == IID_ERR_UNSUPPORTED) { /* a backend this build or machine cannot run: a skip, not a pass */
            printf("SKIP: %s\n", err.msg);
            return 77;
        }
        if (s != IID_OK) {
            fprintf(stderr, "conformance: %s\n", err.msg);
            return 2;
        }
        setenv(IID_BACKEND_ENV, backend, 1);
    }
    iid_compute_dtype_t dt;
    if (dtype && strcmp(dtype, "bf16") == 0 && !iid__bf16_supported()) {
        printf("SKIP: --dtype bf16: oneDNN cannot run bf16 on this CPU (it needs AVX-512)\n");
        printf("0 passed, 0 failed, 0 skipped\n");
        return 77;
    }
    iid_error_t derr;
    if (iid__compute_dtype_choose(dtype, &dt, &derr) != IID_OK) {
        fprintf(stderr, "conformance: %s\n", derr.msg);
        return 2;
    }
    setenv(IID_DTYPE_ENV, dt.dtype == IID_DTYPE_BF16 ? "bf16" : "f32", 1); /* the models bind with it at load */
    struct stat st;
    char golden[4096];
    snprintf(golden, sizeof golden, "%s/golden", kit);
    if (stat(golden, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: no conformance kit at '%s' (pass --kit DIR or set INSTANTID_KIT)\n", kit);
        printf("0 passed, 0 failed, 0 skipped\n");
        return 77;
    }
    printf("backend: %s\ndtype: %s\n", iid__backend_default()->name, dt.why);
    conf_ctx_t c = {.kit = kit, .bf16 = dt.dtype == IID_DTYPE_BF16};
    if (conf_kit_scan(&c, pending) != 0) {
        fprintf(stderr, "conformance: out of memory\n");
        conf_kit_free(&c);
        return 1;
    }
    for (int s = 0; s < conf_stage_count; s++) {
        if (!selected(stages, conf_stages[s].name)) continue;
        int before = c.passed + c.failed + c.skipped;
        conf_stages[s].run(&c);
        if (c.passed + c.failed + c.skipped == before)
            conf_fail(&c, conf_stages[s].name, "-", "-", "the stage compared nothing");
    }
    if (stages) printf("NOTE: --stage given: the kit's files and what the stages left unused are not checked\n");
    else conf_kit_report(&c);
    conf_kit_free(&c);
    printf("%d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped);
    return c.failed ? 1 : c.skipped ? 77 : 0;
}
