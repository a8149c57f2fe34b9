/*
 * server_engine.h - the InstantID engine behind the server's engine interface
 * (engine.h): each request's face (and pose) upload is prepared, its style
 * applied, and one image rendered, reporting every step.
 */
#ifndef IID_SERVER_SERVER_ENGINE_H
#define IID_SERVER_SERVER_ENGINE_H

#include "pipeline/engine.h"
#include "server/engine.h"
#include "text/styles.h"

/* Put e (and a copy of the style names of styles, which must outlive the
 * server) behind *out. e may be NULL: the table then lists the styles and
 * schedulers and has no generate. Release with iid__server_engine_close. */
iid_status iid__server_engine_open(iid_engine_t *e, const iid_styles_t *styles, const iid_render_options_t *opts,
                                   iid_server_engine_t *out, iid_error_t *err);
void iid__server_engine_close(iid_server_engine_t *se);

#endif
