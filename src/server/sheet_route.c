/*
 * sheet_route.c - GET /sheets/IMAGE_NAME: the contact sheet of one input image
 * (or identity), drawn from the server's --log on each request (src/sheet/), so
 * it always shows the rows logged so far, web jobs included.
 *
 * Confinement: the path only selects log rows by their image_name (a name the
 * log does not hold is 404); the thumbnails are the rows' new_file_name
 * resolved inside the output folder by the same rule as /files/
 * (iid__files_resolve), so a row naming a file outside it becomes a grey cell
 * and nothing outside the folder is read. Drawing runs on one of the server's
 * request threads: a sheet of a hundred full-size outputs takes a few seconds,
 * well inside the request deadline (server.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server/files.h"
#include "server/http.h"
#include "sheet/sheet.h"

static iid_status resolve_output(void *user, const char *name, char *path, size_t cap, iid_error_t *err)
{
    const iid_server_t *s = user;
    iid_status st = iid__files_resolve(s->output_real, name, path, cap, err);
    if (st == IID_ERR_INVALID) return iid__fail(err, st, "%s: outside the output folder", name);
    if (st != IID_OK) return iid__fail(err, st, "%s: no such file in the output folder", name);
    return IID_OK;
}

enum MHD_Result iid__route_sheet(iid_server_t *s, struct MHD_Connection *c, const char *image_name)
{
    struct stat st_log;
    if (stat(s->opts.log_path, &st_log) != 0) return iid__http_error(c, 404, "no log yet");
    iid_sheet_options_t so;
    iid__sheet_options_init(&so);
    so.only = image_name;
    uint8_t *png = NULL;
    size_t size = 0;
    iid_error_t err;
    iid_status st = iid__sheet_encode(s->opts.log_path, resolve_output, s, &so, &png, &size, &err);
    if (st == IID_ERR_NOT_FOUND) return iid__http_error(c, 404, err.msg);
    if (st != IID_OK) return iid__http_error(c, 500, err.msg);
    enum MHD_Result ret = iid__http_send(c, 200, "image/png", png, size);
    free(png);
    return ret;
}
