/*
 * replay.c - a plain driver for the fuzz targets: every file named on the command
 * line, or found in a folder named there, goes once through the target's
 * LLVMFuzzerTestOneInput. Built with the normal compiler (no libFuzzer, no clang),
 * so that `make test` replays each target's corpus (tests/fuzz/corpus/<name>) and
 * the sanitizer build checks every kept reproducer for crashes, leaks and UB.
 * Exit 0 when every input ran, 1 when a file or folder cannot be read or none was
 * found.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT ((size_t)64 << 20)

static int run_file(const char *path)
{
    char *data = NULL;
    size_t size = 0;
    iid_error_t err;
    if (iid__file_read_all(path, MAX_INPUT, &data, &size, &err) != IID_OK) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    /* An exact-size copy, so that reading past the input is caught by ASan. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        free(data);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return -1;
    }
    if (size) memcpy(copy, data, size);
    free(data);
    printf("replay %s (%zu bytes)\n", path, size);
    fflush(stdout);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The files of a folder in name order (runs are reproducible). */
static int run_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: cannot open the folder\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) != 0) rc = -1;
            else (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else if (run_file(argv[i]) == 0) {
            count++;
        } else {
            rc = -1;
        }
    }
    if (rc == 0 && count == 0) {
        fprintf(stderr, "replay: no input files given\n");
        rc = -1;
    }
    if (rc == 0) printf("replayed %d inputs\n", count);
    return rc == 0 ? 0 : 1;
}
