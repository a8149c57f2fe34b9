/*
 * file.c - POSIX file helpers: opening inputs safely, map, slurp, atomic write,
 * output-path checks.
 *
 * Outputs: an existing path that is not a regular file (/dev/full, a FIFO) is
 * never replaced, and a command can refuse an output that is one of its inputs
 * (same device and inode, whatever the spelling of the path).
 *
 * Every file the program reads goes through iid__file_open_input: opened with
 * O_NONBLOCK, so a FIFO given as an image, config or model cannot block the
 * open() forever, and refused unless fstat says it is a regular file.
 */
#define _POSIX_C_SOURCE 200809L
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a non-regular file is, for messages. */
static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a regular file";
}

iid_status iid__file_open_input(const char *path, int *fd_out, size_t *size, iid_error_t *err)
{
    *fd_out = -1;
    if (size) *size = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return iid__fail(err, IID_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return iid__fail(err, IID_ERR_IO, "%s: not a regular file (%s)", path, kind_of(st.st_mode));
    }
    /* Regular files ignore O_NONBLOCK; clear it anyway so reads mean what they say. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return iid__fail(err, IID_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *fd_out = fd;
    if (size) *size = (size_t)st.st_size;
    return IID_OK;
}

iid_status iid__file_map(iid_mapped_file_t *m, const char *path, iid_error_t *err)
{
    m->data = NULL;
    m->size = 0;
    int fd;
    size_t size;
    IID_TRY(iid__file_open_input(path, &fd, &size, err));
    if (size > 0) {
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return iid__fail(err, IID_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        m->data = p;
        m->size = size;
    }
    close(fd);
    return IID_OK;
}

void iid__file_unmap(iid_mapped_file_t *m)
{
    if (m && m->data) munmap(m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
    }
}

iid_status iid__file_open_bounded(const char *path, size_t max_bytes, int *fd, size_t *size, iid_error_t *err)
{
    IID_TRY(iid__file_open_input(path, fd, size, err));
    if (*size > max_bytes) {
        close(*fd);
        *fd = -1;
        return iid__fail(err, IID_ERR_RANGE, "%s: %zu bytes exceeds the limit of %zu", path, *size, max_bytes);
    }
    return IID_OK;
}

size_t iid__file_read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

iid_status iid__file_read_all(const char *path, size_t max_bytes, char **out, size_t *size, iid_error_t *err)
{
    *out = NULL;
    if (size) *size = 0;
    int fd;
    size_t n;
    IID_TRY(iid__file_open_bounded(path, max_bytes, &fd, &n, err));
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return iid__fail(err, IID_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = iid__file_read_full(fd, buf, n);
    close(fd);
    if (got != n) {
        free(buf);
        return iid__fail(err, IID_ERR_IO, "%s: short read", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (size) *size = n;
    return IID_OK;
}

iid_status iid__file_check_output(const char *path, const char *const *inputs, int n, iid_error_t *err)
{
    struct stat out;
    if (stat(path, &out) != 0) return IID_OK; /* nothing there yet */
    /* rename() would replace a device or FIFO node by a plain file. */
    if (!S_ISREG(out.st_mode))
        return iid__fail(err, IID_ERR_IO, "%s: exists and is %s, not a file to replace", path,
                         kind_of(out.st_mode));
    for (int i = 0; i < n; i++) {
        struct stat in;
        if (inputs[i] && stat(inputs[i], &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            return iid__fail(err, IID_ERR_INVALID, "%s: is the input %s; refusing to overwrite it", path, inputs[i]);
    }
    return IID_OK;
}

iid_status iid__file_write_atomic(const char *path, const void *data, size_t size, iid_error_t *err)
{
    IID_TRY(iid__file_check_output(path, NULL, 0, err));
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) return iid__fail(err, IID_ERR_RANGE, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return iid__fail(err, IID_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fwrite(data, 1, size, f) == size;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return iid__fail(err, IID_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return iid__fail(err, IID_ERR_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return IID_OK;
}

int iid__is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int iid__is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

iid_status iid__path_join(char *buf, size_t cap, const char *a, const char *b, iid_error_t *err)
{
    size_t la = strlen(a);
    int slash = la > 0 && a[la - 1] != '/';
    int n = snprintf(buf, cap, "%s%s%s", a, slash ? "/" : "", b);
    if (n < 0 || (size_t)n >= cap) return iid__fail(err, IID_ERR_RANGE, "path too long: %s/%s", a, b);
    return IID_OK;
}
