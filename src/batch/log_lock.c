/*
 * log_lock.c - flock(2) on the batch log and the holder's note; see log_lock.h.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */
#include "batch/log_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/file.h"

#define NOTE_MAX 512

static char *note_path(const char *path)
{
    size_t n = strlen(path) + sizeof ".lock";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s.lock", path);
    return p;
}

/* The message for a lock held elsewhere, quoting the holder's note. */
static iid_status held(const char *path, const char *note, iid_error_t *err)
{
    char *text = NULL;
    size_t len = 0;
    iid_error_t ignored;
    if (note && iid__file_read_all(note, NOTE_MAX, &text, &len, &ignored) == IID_OK)
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    iid_status st = iid__fail(err, IID_ERR_IO,
                              "%s: another batch is writing this log (%s); wait for it to end or give another --log",
                              path, text && *text ? text : "holder unknown: no lock note");
    free(text);
    return st;
}

static iid_status write_note(const char *note, iid_error_t *err)
{
    char host[256] = "?";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    char stamp[32] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    char text[NOTE_MAX];
    int n = snprintf(text, sizeof text, "pid %ld on %s since %s\n", (long)getpid(), host, stamp);
    return iid__file_write_atomic(note, text, (size_t)n, err);
}

static iid_status open_locked(iid_log_lock_t *l, const char *path, int flags, iid_error_t *err)
{
    l->fd = -1;
    l->note = note_path(path);
    if (!l->note) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
    struct stat st;
    iid_status s = IID_OK;
    if (fd < 0) s = iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        s = iid__fail(err, IID_ERR_IO, "%s: the log is not a regular file", path);
    else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        s = errno == EWOULDBLOCK ? held(path, l->note, err)
                                 : iid__fail(err, IID_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
    if (s == IID_OK) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
            s = iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (s == IID_OK) s = write_note(l->note, err);
    if (s != IID_OK) {
        if (fd >= 0) close(fd);
        free(l->note);
        l->note = NULL;
        return s;
    }
    l->fd = fd;
    return IID_OK;
}

iid_status iid__log_lock(iid_log_lock_t *l, const char *path, iid_error_t *err)
{
    return open_locked(l, path, O_RDWR | O_APPEND | O_CREAT, err);
}

void iid__log_unlock(iid_log_lock_t *l, int close_fd)
{
    if (!l || !l->note) return; /* note is set exactly while the lock is held */
    if (l->note) unlink(l->note); /* before the lock goes, so a new holder's note survives */
    free(l->note);
    l->note = NULL;
    if (close_fd) close(l->fd);
    l->fd = -1;
}

iid_status iid__log_check_free(const char *path, iid_error_t *err)
{
    if (access(path, F_OK) != 0) return IID_OK;
    iid_log_lock_t l;
    IID_TRY(open_locked(&l, path, O_RDONLY, err));
    iid__log_unlock(&l, 1);
    return IID_OK;
}
