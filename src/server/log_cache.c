/* log_cache.c - the batch log parsed once per version of the file (log_cache.h). */
#define _POSIX_C_SOURCE 200809L
#include "server/log_cache.h"

#include <errno.h>
#include <string.h>

#include "core/status.h"

iid_status iid__log_cache_init(iid_log_cache_t *lc, iid_error_t *err)
{
    memset(lc, 0, sizeof *lc);
    if (pthread_mutex_init(&lc->lock, NULL) != 0) return iid__fail(err, IID_ERR_NOMEM, "serve: cannot create a mutex");
    lc->initialised = 1;
    return IID_OK;
}

void iid__log_cache_destroy(iid_log_cache_t *lc)
{
    if (!lc->initialised) return;
    iid__csv_free(&lc->csv);
    pthread_mutex_destroy(&lc->lock);
    memset(lc, 0, sizeof *lc);
}

static int same_version(const iid_log_cache_t *lc, const struct stat *st)
{
    return lc->loaded && lc->dev == st->st_dev && lc->ino == st->st_ino && lc->size == st->st_size &&
           lc->mtime.tv_sec == st->st_mtim.tv_sec && lc->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

iid_status iid__log_cache_acquire(iid_log_cache_t *lc, const char *path, size_t max_bytes, const iid_csv_t **out,
                                  int *missing, iid_error_t *err)
{
    *out = NULL;
    *missing = 0;
    pthread_mutex_lock(&lc->lock);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            int e = errno;
            pthread_mutex_unlock(&lc->lock);
            return iid__fail(err, IID_ERR_IO, "%s: %s", path, strerror(e));
        }
        *missing = 1;
        return IID_OK;
    }
    if (!same_version(lc, &st)) {
        iid__csv_free(&lc->csv);
        lc->loaded = 0;
        iid_status s = iid__csv_load(path, max_bytes, &lc->csv, err);
        lc->parses++;
        if (s != IID_OK) {
            pthread_mutex_unlock(&lc->lock);
            return s;
        }
        /* The version is the one stat saw before the read: a row appended during
         * the read changes the size, and the next request reads again. */
        lc->dev = st.st_dev;
        lc->ino = st.st_ino;
        lc->size = st.st_size;
        lc->mtime = st.st_mtim;
        lc->loaded = 1;
    }
    *out = &lc->csv;
    return IID_OK;
}

void iid__log_cache_release(iid_log_cache_t *lc)
{
    pthread_mutex_unlock(&lc->lock);
}
