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

#include "batch/inputs.h"
#include "server/engine.h"
#include "server/guard.h"
#include "server/jobs.h"
#include "server/log_cache.h"
#include "server/server.h"

typedef struct iid_server {
    iid_server_options_t opts;
    iid_server_engine_t engine;
    char output_real[PATH_MAX]; /* realpath of the output folder */
    char input_real[PATH_MAX];  /* realpath of the batch's input folder; "" when unknown */
    int input_recursive;        /* the batch scanned its subfolders too */
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
enum MHD_Result iid__route_input(iid_server_t *s, struct MHD_Connection *c, const char *rel);
/* GET /sheets/IMAGE_NAME: that image's contact sheet as PNG (sheet_route.c). */
enum MHD_Result iid__route_sheet(iid_server_t *s, struct MHD_Connection *c, const char *image_name);

/* Find the input folder (opts.input_dir, else the log's sidecar) and fill
 * s->input_real (inputs.c). Fails only when --input is given and is not a
 * folder; a missing or unreadable sidecar leaves no input folder (reported). */
iid_status iid__server_inputs_open(iid_server_t *s, iid_error_t *err);

/* The input folder's images sorted by base name, for a recursive batch (empty
 * otherwise); built per GET /api/log. */
typedef struct iid_input_index {
    iid_path_list_t list;
} iid_input_index_t;
iid_status iid__input_index_build(const iid_server_t *s, iid_input_index_t *ix, iid_error_t *err);
void iid__input_index_free(iid_input_index_t *ix);

/* The "/inputs/..." URL of a log row's image_name, when the input folder holds
 * it (directly, or in a subfolder listed by ix, which may be NULL). */
int iid__server_input_url(const iid_server_t *s, const iid_input_index_t *ix, const char *image_name, char *url,
                          size_t cap);

/* One line on opts.report once a request has its answer (report.c): time,
 * method, path, status. Successful job polls are left out (the job line says
 * how each job ended). */
void iid__report_request(const iid_server_t *s, struct MHD_Connection *c, const char *method, const char *url);

/* The job queue's on_done (jobs.h), with the server as user: append the job's
 * row to the log (web_log.h) and report the job's line. */
void iid__server_job_done(void *user, const iid_job_t *job, iid_status status, const iid_error_t *err,
                          const char *file_name, double seconds);

/* The engine's catalog, or empty lists when it has none or it fails. */
void iid__server_catalog(const iid_server_t *s, iid_engine_catalog_t *cat);

#endif
