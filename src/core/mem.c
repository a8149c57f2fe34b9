/*
 * mem.c - peak and current resident memory from /proc/self/status (see mem.h).
 *
 * The status file is small (about 1.5 KB); it is read whole into a stack buffer
 * and the one field is parsed, so the call is cheap enough to make after every
 * denoising step.
 */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX 8192

size_t iid__mem_status_field(const char *status, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) != 0 || p[kl] != ':') continue;
        char *end;
        unsigned long long kb = strtoull(p + kl + 1, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (end == p + kl + 1 || strncmp(end, "kB", 2) != 0) return 0;
        return (size_t)kb * 1024u;
    }
    return 0;
}

static size_t read_field(const char *key)
{
    char buf[STATUS_MAX];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return iid__mem_status_field(buf, key);
}

size_t iid__mem_peak_bytes(void) { return read_field("VmHWM"); }

size_t iid__mem_rss_bytes(void) { return read_field("VmRSS"); }
