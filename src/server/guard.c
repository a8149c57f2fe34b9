/*
 * guard.c - total deadlines for the server's connections (guard.h).
 *
 * Each open connection has a record in a doubly linked list: its socket, the
 * phase it is in and when that phase began. The sweep walks the list; with at
 * most a few hundred connections (the daemon's limit) that is cheaper than any
 * timer structure.
 */
#define _POSIX_C_SOURCE 200809L
#include "server/guard.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct iid_guard_conn {
    iid_guard_conn_t *prev, *next;
    int fd;
    int in_request; /* headers are in: the body and the answer are under way */
    int cut;        /* shut down already */
    int64_t since_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

iid_status iid__guard_init(iid_guard_t *g, unsigned header_s, unsigned request_s, iid_error_t *err)
{
    g->head = NULL;
    g->initialised = 0;
    if (header_s < 1) return iid__fail(err, IID_ERR_INVALID, "--header-timeout: must be at least 1 second");
    if (request_s < 1) return iid__fail(err, IID_ERR_INVALID, "--request-timeout: must be at least 1 second");
    g->header_ms = (int64_t)header_s * 1000;
    g->request_ms = (int64_t)request_s * 1000;
    if (pthread_mutex_init(&g->lock, NULL) != 0) return iid__fail(err, IID_ERR_NOMEM, "serve: cannot create a mutex");
    g->initialised = 1;
    return IID_OK;
}

void iid__guard_destroy(iid_guard_t *g)
{
    if (!g->initialised) return;
    for (iid_guard_conn_t *r = g->head, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    g->head = NULL;
    pthread_mutex_destroy(&g->lock);
    g->initialised = 0;
}

void iid__guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    iid_guard_t *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        iid_guard_conn_t *r = calloc(1, sizeof *r);
        if (!r || !info) {
            /* An unguarded connection is the attack we exist for: drop it. */
            free(r);
            if (info) shutdown(info->connect_fd, SHUT_RDWR);
            *socket_context = NULL;
            return;
        }
        r->fd = info->connect_fd;
        r->since_ms = now_ms();
        pthread_mutex_lock(&g->lock);
        r->next = g->head;
        if (g->head) g->head->prev = r;
        g->head = r;
        pthread_mutex_unlock(&g->lock);
        *socket_context = r;
        return;
    }
    iid_guard_conn_t *r = *socket_context;
    if (!r) return;
    pthread_mutex_lock(&g->lock);
    if (r->prev) r->prev->next = r->next;
    else g->head = r->next;
    if (r->next) r->next->prev = r->prev;
    pthread_mutex_unlock(&g->lock);
    free(r);
    *socket_context = NULL;
}

void iid__guard_phase(iid_guard_t *g, struct MHD_Connection *c, int in_request)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    iid_guard_conn_t *r = info ? info->socket_context : NULL;
    if (!r) return;
    pthread_mutex_lock(&g->lock);
    r->in_request = in_request;
    r->since_ms = now_ms();
    pthread_mutex_unlock(&g->lock);
}

int iid__guard_sweep(iid_guard_t *g)
{
    int cut = 0;
    int64_t now = now_ms();
    pthread_mutex_lock(&g->lock);
    for (iid_guard_conn_t *r = g->head; r; r = r->next) {
        if (r->cut || now - r->since_ms <= (r->in_request ? g->request_ms : g->header_ms)) continue;
        shutdown(r->fd, SHUT_RDWR);
        r->cut = 1;
        cut++;
    }
    pthread_mutex_unlock(&g->lock);
    return cut;
}
