/*
 * mem.h - how much memory this process holds, for --verbose and the benchmarks.
 *
 * On Linux the numbers come from /proc/self/status: VmHWM (the peak resident set
 * since the process started) and VmRSS (resident now). Resident pages of
 * memory-mapped weight files count, as they should: a model read from a mapped
 * checkpoint occupies RAM all the same. Elsewhere, or when the file cannot be
 * read, both functions return 0 ("unknown").
 */
#ifndef IID_CORE_MEM_H
#define IID_CORE_MEM_H

#include <stddef.h>

/* Peak resident set size of the process in bytes, or 0 when unknown. */
size_t iid__mem_peak_bytes(void);
/* Current resident set size in bytes, or 0 when unknown. */
size_t iid__mem_rss_bytes(void);
/* The "VmXXX:   1234 kB" field `key` of a /proc/self/status text, in bytes; 0
 * when absent or malformed. Split out so tests can feed it a fixed text. */
size_t iid__mem_status_field(const char *status, const char *key);

#endif
