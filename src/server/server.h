/*
 * server.h - `instantid serve`: the local web UI and JSON API (DESIGN.md section 5).
 *
 * Why libmicrohttpd: it is a small, mature C library packaged by Debian, it parses
 * HTTP/1.1 (keep-alive, chunked bodies, Expect: 100-continue) and multipart forms
 * incrementally with a bounded memory per connection, and it runs its own polling
 * thread, so the server is a set of handlers rather than a socket loop of ours.
 *
 * Endpoints:
 *   GET  /                  the page (web/index.html, compiled into the binary)
 *   GET  /api/styles        {"engine": bool, "engine_error": why not|null,
 *                            "styles": [...], "default_style": s,
 *                            "schedulers": [...], "default_scheduler": s,
 *                            "lcm": bool, "lcm_reason": why not|null,
 *                            "inputs": bool (an input folder is known),
 *                            "max_upload": bytes}; the lists are there without an
 *                            engine too
 *   POST /api/generate      multipart/form-data: face (file), pose (optional file),
 *                           prompt, negative_prompt, style, identitynet_strength,
 *                           adapter_strength, steps, guidance, seed, width, height,
 *                           scheduler, enhance_face_region (bool), lcm (bool)
 *                           -> 202 {"id": "..."}; each job, done or failed, is
 *                           appended to the log (web_log.h)
 *   GET  /api/jobs/ID       {"id", "state": queued|running|done|error, "step",
 *                            "total", "result": "/files/..."|null,
 *                            "error": message|null, "params": {...}}; a failed
 *                            job answers with its error's HTTP code (engine.h)
 *   GET  /api/log           the batch log: {"path", "columns": [...], "rows":
 *                            [{"values": {column: text}, "result": url|null,
 *                            "source": url|null}]}; result is set when
 *                            new_file_name is a file in the output folder, source
 *                            when image_name is one in the output or input folder
 *   GET  /files/PATH        a regular file inside the output folder
 *   GET  /inputs/PATH       a regular file inside the batch's input folder (--input,
 *                           or the folder the batch recorded in LOG.json)
 *
 * Errors are JSON {"error": message} with 400 (bad form field or image), 401
 * (token missing or wrong), 403 (a path outside the served folder), 404, 405, 413
 * (upload over max_upload, judged from Content-Length and again while the body
 * streams), 422 (no face), 503 (queue full, or no engine in this build).
 *
 * Security: the default host is 127.0.0.1. Any other than a loopback address
 * requires a token; when a token is set, every /api/, /files/ and /inputs/ request
 * must carry it as "Authorization: Bearer T" or "?token=T" (the page itself is
 * public; it reads the token from its own URL). Without a token, requests whose Host header
 * is not a loopback name (DNS rebinding) and POSTs from another Origin (cross-site
 * forms) are refused with 403.
 */
#ifndef IID_SERVER_SERVER_H
#define IID_SERVER_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "server/engine.h"

typedef struct iid_server_options {
    const char *host;       /* an IPv4 or IPv6 address, or "localhost"; default 127.0.0.1 */
    int port;               /* default 7860; 0 picks a free port (see on_ready) */
    const char *token;      /* NULL or "": no token (loopback hosts only) */
    const char *output_dir; /* results and /files/; created when missing; default generated_images */
    const char *log_path;   /* the batch log for /api/log; default generation_log.csv */
    const char *input_dir;  /* the batch's face images, for /inputs/; NULL: read from
                             * the log's sidecar LOG.json (batch/log_meta.h) if any */
    const char *engine_error; /* why there is no engine (GET /api/styles shows it); may be NULL */
    FILE *report;           /* one line per request and per job; NULL: silent */
    size_t max_upload;      /* bytes per POST body; default 20 MB */
    int queue;              /* jobs waiting (not counting the running one); default 8 */
    int max_records;        /* finished jobs remembered for /api/jobs; default 256 */
    /* Called once the server listens, with its base URL ("http://127.0.0.1:7860/")
     * and port; may be NULL. */
    void (*on_ready)(void *user, const char *url, int port);
    void *on_ready_user;
} iid_server_options_t;

/* Fill in the defaults above. */
void iid__server_options_init(iid_server_options_t *o);

/* Serve until *stop becomes nonzero (a signal handler may set it), then stop
 * accepting, interrupt the running job through its progress callback, and
 * return IID_OK. Fails without serving when an option is invalid (a non-loopback
 * host without a token, an unusable output folder) or the address cannot be
 * bound; the message names the option. engine may have NULL functions (engine.h). */
iid_status iid__server_run(const iid_server_options_t *opts, const iid_server_engine_t *engine,
                           volatile sig_atomic_t *stop, iid_error_t *err);

#endif
