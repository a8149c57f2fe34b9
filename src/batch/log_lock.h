/*
 * log_lock.h - one batch per log: an exclusive flock(2) on the lock note
 * "<log>.lock", held for the whole run, whose text names the holder ("pid 1234
 * on HOST since TIME") so that a second batch can say who has the log.
 *
 * The lock is separate from the log file itself, which occasional writers (the
 * web server's rows, server/web_log.c) lock for one row at a time while a batch
 * runs. The kernel drops a flock when its holder dies (kill -9 included), so a
 * note left behind by a crash never blocks anyone: its text is only read while
 * its lock is actually held.
 *
 *   iid_log_lock_t l;
 *   if (iid__log_lock(&l, "generation_log.csv", &err) != IID_OK) return err.code;
 *   ... run the batch ...
 *   iid__log_unlock(&l);
 */
#ifndef IID_BATCH_LOG_LOCK_H
#define IID_BATCH_LOG_LOCK_H

#include "core/status.h"

typedef struct iid_log_lock {
    int fd;     /* the note, locked */
    char *note; /* the note's path; NULL when not held (as in a zeroed struct) */
} iid_log_lock_t;

/* Take log_path's lock without waiting and write the note. When another process
 * holds it: IID_ERR_IO with a one-line message naming the log and the holder. */
iid_status iid__log_lock(iid_log_lock_t *l, const char *log_path, iid_error_t *err);

/* Remove the note and drop the lock. A lock not held is a no-op. */
void iid__log_unlock(iid_log_lock_t *l);

/* Fail as iid__log_lock would when another process holds log_path's lock; OK
 * when it is free (nothing is written). Lets a command refuse before minutes of
 * model loading; the lock taken for the run stays the authority. */
iid_status iid__log_check_free(const char *log_path, iid_error_t *err);

#endif
