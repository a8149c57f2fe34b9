/*
 * http.h - what the server's translation units share: the server state and
 * small helpers to answer a libmicrohttpd connection.
 *
 * server.c owns the daemon, authentication and dispatch (including the upload of
 * POST /api/generate); routes.c answers the GET endpoints. Every answer goes
 * through iid__http_send so that the common headers (no caching of API answers,
 * nosniff) are set in one place.
 */
#ifndef IID_SERVER_HTTP_H
#define IID_SERVER_HTTP_H

#include <limits.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "server/engine.h"
#include "server/guard.h"
#include "server/jobs.h"
#include "server/log_cache.h"
#include "server/server.h"

typedef struct iid_server {
    iid_server_options_t opts;
    iid_server_engine_t engine;
    char output_real[PATH_MAX]; /* realpath of the output folder */
    iid_job_queue_t jobs;
    iid_guard_t guard;
    iid_log_cache_t log; /* GET /api/log */
} iid_server_t;

/* Queue a response of len bytes copied from body with the given Content-Type. */
enum MHD_Result iid__http_send(struct MHD_Connection *c, unsigned status, const char *type, const void *body,
                               size_t len);

/* Queue a JSON response and delete json; a NULL json (out of memory) gives 500. */
enum MHD_Result iid__http_json(struct MHD_Connection *c, unsigned status, cJSON *json);

/* Queue {"error": message} with the given status. */
enum MHD_Result iid__http_error(struct MHD_Connection *c, unsigned status, const char *message);

/* GET handlers (routes.c); url is the decoded path. */
enum MHD_Result iid__route_page(iid_server_t *s, struct MHD_Connection *c);
enum MHD_Result iid__route_styles(iid_server_t *s, struct MHD_Connection *c);
enum MHD_Result iid__route_job(iid_server_t *s, struct MHD_Connection *c, const char *id);
enum MHD_Result iid__route_log(iid_server_t *s, struct MHD_Connection *c);
enum MHD_Result iid__route_file(iid_server_t *s, struct MHD_Connection *c, const char *rel);

/* The engine's catalog, or empty lists when it has none or it fails. */
void iid__server_catalog(const iid_server_t *s, iid_engine_catalog_t *cat);

#endif
