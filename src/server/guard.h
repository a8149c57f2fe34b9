/*
 * guard.h - deadlines for every connection of the server, so that slow clients
 * cannot hold its connection slots.
 *
 * libmicrohttpd's own timeout (MHD_OPTION_CONNECTION_TIMEOUT) counts idle time:
 * each byte received restarts it, so a client that trickles one header line every
 * few seconds keeps its connection for ever, and a few dozen such clients fill
 * every slot (issue 15 B1). The guard adds total deadlines, counted from when a
 * phase of the connection begins, whatever arrives meanwhile:
 *   - waiting for a request's headers (from the accept, or from the end of the
 *     previous request on a kept-alive connection): header_s seconds;
 *   - the request itself, once its headers are in (the body, then the answer):
 *     request_s seconds.
 * A connection past its deadline is shut down (shutdown(2) on its socket, which
 * libmicrohttpd owns and then closes as a normal disconnect; no answer is sent,
 * since none can be before the headers have arrived).
 *
 * Wiring: iid__guard_notify is libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION
 * callback (it tracks every connection from accept to close); the request
 * handler calls iid__guard_phase(g, c, 1) on a request's first call and the
 * completion callback iid__guard_phase(g, c, 0); some thread calls
 * iid__guard_sweep a few times a second. All of these may run on different
 * threads at once: one mutex guards the list. A record is removed in the CLOSED
 * notification, which libmicrohttpd sends before it closes the socket, so the
 * sweep never touches a descriptor that has been closed or reused.
 */
#ifndef IID_SERVER_GUARD_H
#define IID_SERVER_GUARD_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "core/status.h"

typedef struct iid_guard_conn iid_guard_conn_t;

typedef struct iid_guard {
    pthread_mutex_t lock;
    iid_guard_conn_t *head; /* open connections, newest first */
    int64_t header_ms, request_ms;
    int initialised;
} iid_guard_t;

/* Set the deadlines (seconds, both at least 1). */
iid_status iid__guard_init(iid_guard_t *g, unsigned header_s, unsigned request_s, iid_error_t *err);

/* Free what is still tracked (after the daemon has stopped). Safe on a guard
 * never initialised. */
void iid__guard_destroy(iid_guard_t *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void iid__guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);

/* Start the request phase (in_request 1: its headers are in) or the wait for
 * the next request's headers (0), restarting the clock. */
void iid__guard_phase(iid_guard_t *g, struct MHD_Connection *c, int in_request);

/* Shut down every connection past its deadline; returns how many. */
int iid__guard_sweep(iid_guard_t *g);

#endif
