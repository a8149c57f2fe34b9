/*
 * log_lock.c - flock(2) on "<log>.lock" and the holder's note; see log_lock.h.
 *
 * The note is unlinked when the lock is released. A process that opened the
 * old file just before that would then lock a file no longer in the folder, so
 * after locking, the path must still name the locked file, else try again.
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

#define NOTE_MAX 512

static char *note_path(const char *log_path)
{
    size_t n = strlen(log_path) + sizeof ".lock";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s.lock", log_path);
    return p;
}

/* The message for a lock held elsewhere, quoting the holder's note. */
static iid_status held(const char *log_path, int fd, iid_error_t *err)
{
    char text[NOTE_MAX] = "";
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n < 0) n = 0;
    text[n] = '\0';
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) text[--n] = '\0';
    return iid__fail(err, IID_ERR_IO,
                     "%s: another batch is writing this log (%s); wait for it to end or give another --log", log_path,
                     n ? text : "holder unknown: its lock note is empty");
}

static iid_status write_note(int fd, const char *note, iid_error_t *err)
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
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
        return iid__fail(err, IID_ERR_IO, "%s: cannot write the lock note: %s", note, strerror(errno));
    return IID_OK;
}

/* Open the note (creating it when create) and lock it. *fd is -1 when the note
 * does not exist and create is 0. */
static iid_status open_locked(const char *log_path, const char *note, int create, int *fd_out, iid_error_t *err)
{
    *fd_out = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(note, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
        if (fd < 0 && errno == ENOENT && !create) return IID_OK;
        if (fd < 0) return iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", note, strerror(errno));
        struct stat a, b;
        iid_status s = IID_OK;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode))
            s = iid__fail(err, IID_ERR_IO, "%s: the lock note is not a regular file", note);
        else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
            s = errno == EWOULDBLOCK ? held(log_path, fd, err)
                                     : iid__fail(err, IID_ERR_IO, "%s: cannot lock: %s", note, strerror(errno));
        if (s != IID_OK) {
            close(fd);
            return s;
        }
        if (stat(note, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = fd;
            return IID_OK;
        }
        close(fd); /* released and unlinked meanwhile: take the new one */
        if (!create) return IID_OK;
    }
    return iid__fail(err, IID_ERR_IO, "%s: the lock note keeps changing", note);
}

iid_status iid__log_lock(iid_log_lock_t *l, const char *log_path, iid_error_t *err)
{
    l->fd = -1;
    l->note = note_path(log_path);
    if (!l->note) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", log_path);
    iid_status s = open_locked(log_path, l->note, 1, &l->fd, err);
    if (s == IID_OK) s = write_note(l->fd, l->note, err);
    if (s != IID_OK) {
        if (l->fd >= 0) {
            unlink(l->note);
            close(l->fd);
        }
        free(l->note);
        l->note = NULL;
        l->fd = -1;
    }
    return s;
}

void iid__log_unlock(iid_log_lock_t *l)
{
    if (!l || !l->note) return;
    unlink(l->note); /* before the lock goes, so a new holder's note survives */
    close(l->fd);
    free(l->note);
    l->note = NULL;
    l->fd = -1;
}

iid_status iid__log_check_free(const char *log_path, iid_error_t *err)
{
    char *note = note_path(log_path);
    if (!note) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", log_path);
    int fd;
    iid_status s = open_locked(log_path, note, 0, &fd, err);
    if (fd >= 0) close(fd);
    free(note);
    return s;
}
