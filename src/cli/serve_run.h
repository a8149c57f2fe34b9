/*
 * serve_run.h - running the web UI from the CLI: `instantid serve` and
 * `instantid batch --then-serve` share it, the latter with the engine the batch
 * already loaded.
 */
#ifndef IID_CLI_SERVE_RUN_H
#define IID_CLI_SERVE_RUN_H

#include "pipeline/engine.h"
#include "server/server.h"

/* Serve until Ctrl-C or SIGTERM with engine e (NULL: the page, the log and the
 * files only; generation answers 503 and the page shows so->engine_error).
 * Requests and jobs are reported on stderr. Returns the process exit status. */
int iid_cli_serve(const iid_server_options_t *so, iid_engine_t *e, const iid_render_options_t *ro);

#endif
