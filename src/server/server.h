/*
 * server.h - `instantid serve`: the local web UI and JSON API (DESIGN.md section 5).
 *
 * Why libmicrohttpd: it is a small, mature C library packaged by Debian, it parses
 * HTTP/1.1 (keep-alive, chunked bodies, Expect: 100-continue) and multipart forms
 * incrementally with a bounded memory per connection, and it runs its own pool of
 * polling threads, so the server is a set of handlers rather than a socket loop of
 * ours.
 *
 * Endpoints:
 *   GET  /                  the page (web/index.html, compiled into the binary)
 *   GET  /api/styles        {"engine": bool, "engine_error": why not|null,
 *                            "styles": [...], "default_style": s,
 *                            "schedulers": [...], "default_scheduler": s,
 *                            "lcm": bool, "lcm_reason": why not|null,
 *                            "lcm_default": bool (the page starts in LCM mode),
 *                            "lcm_steps": 5, "lcm_guidance": 1.5 (the demo's
 *                            LCM values: a job with lcm on and no steps or
 *                            guidance gets them; it always runs the lcm scheduler),
 *                            "inputs": bool (an input folder is known),
 *                            "max_upload": bytes}; the lists are there without an
 *                            engine too
 *   POST /api/generate      multipart/form-data: face (file), pose (optional file),
 *                           prompt, negative_prompt, style, identitynet_strength,
 *                           adapter_strength, steps, guidance, seed, width, height,
 *                           scheduler, enhance_face_region (bool), lcm (bool), each
 *                           at most once -> 202 {"id": "..."} (32 random hex
 *                           digits), once the engine's check has decoded the face
 *                           (and pose) and found a face in it; each job, done or
 *                           failed, is appended to the log (web_log.h)
 *   GET  /api/jobs/ID       {"id", "state": queued|running|done|error, "step",
 *                            "total", "result": "/files/..."|null,
 *                            "error": message|null, "params": {...}}; a failed
 *                            job answers with its error's HTTP code (engine.h)
 *   GET  /api/log           one page of the batch log (?offset=O, default 0;
 *                            &limit=L, default 500, at most 5000): {"path",
 *                            "columns": [...], "total": rows in the log, "offset",
 *                            "limit", "rows": [{"values": {column: text}, "result":
 *                            url|null, "source": url|null}]}; result is set when
 *                            new_file_name is a file in the output folder, source
 *                            when image_name is one in the output or input folder;
 *                            "missing": true when there is no log
 *   GET  /files/PATH        a regular file inside the output folder
 *   GET  /inputs/PATH       a regular file inside the batch's input folder (--input,
 *                           or the folder the batch recorded in LOG.json)
 *   GET  /sheets/IMAGE      the contact sheet (PNG) of the log's rows whose
 *                           image_name is IMAGE, thumbnails read only from the
 *                           output folder (src/sheet/sheet.h); 404 for a name
 *                           the log does not hold
 *
 * Errors are JSON {"error": message} with 400 (bad or repeated form field, bad
 * paging argument, undecodable image), 401 (token missing or wrong), 403 (a path
 * outside the served folder; another site's Host or Origin), 404, 405, 413
 * (upload over max_upload, judged from Content-Length and again while the body
 * streams; an image over the decoder's pixel limit), 415 (an image format we do
 * not take: GIF, animated WebP, ...), 422 (no face), 503 (queue full, or no engine
 * in this build), 500 (our fault only).
 *
 * Security: the default host is 127.0.0.1. Any other than a loopback address
 * requires a token; when a token is set, every /api/, /files/, /inputs/ and /sheets/ request
 * must carry it as "Authorization: Bearer T" or "?token=T" (the page itself is
 * public; it reads the token from its own URL). Without a token, requests whose Host header
 * is not a loopback name (DNS rebinding) and POSTs from another Origin (cross-site
 * forms) are refused with 403.
 *
 * Abuse (issue 15 B1): libmicrohttpd's idle timeout restarts with every byte, so
 * clients trickling a header line every few seconds kept their connections for
 * ever and filled every slot. Now each connection has total deadlines (guard.h):
 * header_timeout for a request's headers, request_timeout for its body and
 * answer; at most max_connections are open, and at most max_per_client from one
 * client address. That cap defaults to none on a loopback host: every client
 * there is this machine, at one address, so a cap would let one local program
 * lock out the browser; the deadlines and the total limit bound such clients
 * instead. Off loopback it defaults to IID_SERVER_PER_CLIENT_REMOTE, so one remote
 * address cannot take the slots of others. http_threads threads answer requests,
 * so a slow handler (an upload's face check, a long log page) holds up only the
 * connections of its thread.
 */
#ifndef IID_SERVER_SERVER_H
#define IID_SERVER_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "server/engine.h"

/* max_per_client's default: 16 when the host is not a loopback address; no cap
 * on a loopback one (every client there is this machine, at one address). */
#define IID_SERVER_PER_CLIENT_AUTO (-1)
#define IID_SERVER_PER_CLIENT_REMOTE 16

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
    /* Against slow and greedy clients (see "Abuse" above). */
    int max_connections;      /* open connections in all; default 256 */
    int max_per_client;       /* open connections per client address, 0 = no cap;
                               * default IID_SERVER_PER_CLIENT_AUTO */
    unsigned header_timeout;  /* seconds for a request's headers to arrive; default 10 */
    unsigned request_timeout; /* seconds for its body to arrive and its answer to
                               * leave, once the headers are in; default 120 */
    int http_threads;         /* threads answering requests; default 4 */
    /* Called once the server listens, with its base URL ("http://127.0.0.1:7860/")
     * and port; may be NULL. */
    void (*on_ready)(void *user, const char *url, int port);
    void *on_ready_user;
} iid_server_options_t;

/* Fill in the defaults above. */
void iid__server_options_init(iid_server_options_t *o);

/* Check, without serving, that iid__server_run could listen with opts: the host
 * parses, a non-loopback host has a token, and the port can be bound now (it is
 * released again at once). `batch --then-serve` calls it before the batch, so a
 * port in use fails in seconds, not after hours of generation. */
iid_status iid__server_probe(const iid_server_options_t *opts, iid_error_t *err);

/* Serve until *stop becomes nonzero (a signal handler may set it), then stop
 * accepting, interrupt the running job through its progress callback, and
 * return IID_OK. Fails without serving when an option is invalid (a non-loopback
 * host without a token, an unusable output folder) or the address cannot be
 * bound; the message names the option. engine may have NULL functions (engine.h). */
iid_status iid__server_run(const iid_server_options_t *opts, const iid_server_engine_t *engine,
                           volatile sig_atomic_t *stop, iid_error_t *err);

#endif
