/*
 * log_cache.h - the batch log as GET /api/log reads it: parsed once per version
 * of the file, not once per request.
 *
 * The web page asks for the log a page at a time (5,000 rows each), so a
 * 100,000-row log takes 20 requests; parsing the file for each would cost 20
 * parses. The cache keeps the last parse with the file's identity (device,
 * inode), size and modification time, and parses again only when one of them
 * changed (the batch runner appends a row per job, which changes the size).
 * Memory: one parsed log, proportional to the file (at most max_bytes of it).
 *
 * Threading: the server's pool threads share one cache; acquire locks it (and
 * parses when stale), release unlocks, so a parse happens once however many
 * requests arrive meanwhile, and it holds up only those requests.
 *
 *   const iid_csv_t *log; int missing;
 *   if (iid__log_cache_acquire(&lc, path, max, &log, &missing, &err) == IID_OK) {
 *       ... read log (when !missing) ...
 *       iid__log_cache_release(&lc);
 *   }
 */
#ifndef IID_SERVER_LOG_CACHE_H
#define IID_SERVER_LOG_CACHE_H

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "io/csv.h"

typedef struct iid_log_cache {
    pthread_mutex_t lock;
    int initialised, loaded;
    iid_csv_t csv;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    long parses; /* how many times a file was parsed (for tests) */
} iid_log_cache_t;

iid_status iid__log_cache_init(iid_log_cache_t *lc, iid_error_t *err);
/* Free the parsed log; safe on a cache never initialised. */
void iid__log_cache_destroy(iid_log_cache_t *lc);

/* Lock the cache and bring it up to date with the file at path: *missing is set
 * (and *out NULL) when there is no such file; else *out is the parsed log, valid
 * until iid__log_cache_release. On failure (unreadable, over max_bytes, not a
 * regular file) the cache is left unlocked and err names the path. */
iid_status iid__log_cache_acquire(iid_log_cache_t *lc, const char *path, size_t max_bytes, const iid_csv_t **out,
                                  int *missing, iid_error_t *err);
void iid__log_cache_release(iid_log_cache_t *lc);

#endif
