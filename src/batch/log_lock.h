/*
 * log_lock.h - one writer per batch log: an exclusive flock(2) on the log file,
 * and a lock note beside it ("<log>.lock": pid, host and start time of the
 * holder) so that a second batch can say who holds the log.
 *
 * The kernel drops a flock when its holder dies (kill -9 included), so a stale
 * note never blocks anyone: it is only read when the lock is actually held.
 *
 *   iid_log_lock_t l;
 *   if (iid__log_lock(&l, "generation_log.csv", &err) != IID_OK) return err.code;
 *   ... write through l.fd ...
 *   iid__log_unlock(&l);
 */
#ifndef IID_BATCH_LOG_LOCK_H
#define IID_BATCH_LOG_LOCK_H

#include "core/status.h"

typedef struct iid_log_lock {
    int fd;     /* the log, open O_RDWR | O_APPEND, locked */
    char *note; /* the note's path, written by us; NULL when not held */
} iid_log_lock_t;

/* Open (creating when missing) and lock path without waiting. When another
 * process holds it: IID_ERR_IO with a one-line message naming the log and the
 * holder from its note. A path that exists and is not a regular file is
 * refused. */
iid_status iid__log_lock(iid_log_lock_t *l, const char *path, iid_error_t *err);

/* Remove the note and close the log, which drops the lock. A lock not held
 * (note NULL, as in a zeroed struct) is a no-op. Callers that handed fd to a FILE close that instead and pass
 * close_fd = 0. */
void iid__log_unlock(iid_log_lock_t *l, int close_fd);

/* Fail as iid__log_lock would when another process holds path's lock; OK when
 * path does not exist or is free. Lets a command refuse before minutes of model
 * loading; the lock taken for the run itself stays the authority. */
iid_status iid__log_check_free(const char *path, iid_error_t *err);

#endif
