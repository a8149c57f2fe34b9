/*
 * routes.c - the GET endpoints: the page, styles, job records, the batch log, the
 * output files and the batch's input images (server.h lists them).
 *
 * The log is parsed again whenever the file changed (log_cache.h: the batch
 * runner appends to it while we serve); rows still being written are skipped by
 * the CSV reader. The answer is one page of rows (?offset=&limit=) with the
 * total, so its JSON and the look-ups below grow with the page, not the log; the
 * request runs on one of the server's pool threads, so a long log holds up no
 * other request. Each row's new_file_name is looked up in the output folder (the
 * thumbnail) and its image_name in the output, then the input folder (the source
 * photo that Refine reloads).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iid.h"
#include "io/csv.h"
#include "server/log_cache.h"
#include "server/files.h"
#include "server/http.h"

#define LOG_MAX_BYTES ((size_t)64 << 20)
/* Rows per /api/log answer unless ?limit= says otherwise, and the most it may:
 * the answer's JSON and its /files/ look-ups grow with the page, not the log. */
#define LOG_PAGE_DEFAULT 500
#define LOG_PAGE_MAX 5000

extern const unsigned char iid__web_index_html[];
extern const size_t iid__web_index_html_len;

enum MHD_Result iid__route_page(iid_server_t *s, struct MHD_Connection *c)
{
    (void)s;
    struct MHD_Response *r = MHD_create_response_from_buffer(iid__web_index_html_len, (void *)iid__web_index_html,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; "
                            "script-src 'unsafe-inline'; connect-src 'self'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static cJSON *string_array(const char *const *names, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *v = cJSON_CreateString(names[i]);
        if (!v) {
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, v);
    }
    return a;
}

enum MHD_Result iid__route_styles(iid_server_t *s, struct MHD_Connection *c)
{
    iid_engine_catalog_t cat;
    iid__server_catalog(s, &cat);
    cJSON *o = cJSON_CreateObject();
    cJSON *styles = string_array(cat.styles, cat.n_styles);
    cJSON *schedulers = string_array(cat.schedulers, cat.n_schedulers);
    const char *def_style = cat.default_style ? cat.default_style : cat.n_styles ? cat.styles[0] : NULL;
    const char *def_sched =
        cat.default_scheduler ? cat.default_scheduler : cat.n_schedulers ? cat.schedulers[0] : NULL;
    if (!o || !styles || !schedulers) {
        cJSON_Delete(o);
        cJSON_Delete(styles);
        cJSON_Delete(schedulers);
        return iid__http_json(c, 500, NULL);
    }
    cJSON_AddItemToObject(o, "styles", styles);
    cJSON_AddItemToObject(o, "schedulers", schedulers);
    const char *why_not = s->engine.generate ? NULL
                          : s->opts.engine_error && *s->opts.engine_error ? s->opts.engine_error
                                                                           : "generation engine not available in this build";
    const char *lcm_reason = why_not             ? why_not
                             : cat.lcm_available ? NULL
                             : cat.lcm_reason    ? cat.lcm_reason
                                                 : "the engine has no LCM mode";
    int ok = cJSON_AddBoolToObject(o, "engine", s->engine.generate != NULL) &&
             (why_not ? cJSON_AddStringToObject(o, "engine_error", why_not)
                      : cJSON_AddNullToObject(o, "engine_error")) &&
             cJSON_AddBoolToObject(o, "lcm", cat.lcm_available && s->engine.generate) &&
             (lcm_reason ? cJSON_AddStringToObject(o, "lcm_reason", lcm_reason)
                         : cJSON_AddNullToObject(o, "lcm_reason")) &&
             cJSON_AddBoolToObject(o, "lcm_default", cat.lcm_available && cat.lcm_default && s->engine.generate) &&
             cJSON_AddNumberToObject(o, "lcm_steps", IID_LCM_STEPS) &&
             cJSON_AddNumberToObject(o, "lcm_guidance", IID_LCM_GUIDANCE) &&
             cJSON_AddBoolToObject(o, "inputs", s->input_real[0] != '\0') &&
             cJSON_AddNumberToObject(o, "max_upload", (double)s->opts.max_upload) &&
             (def_style ? cJSON_AddStringToObject(o, "default_style", def_style)
                        : cJSON_AddNullToObject(o, "default_style")) &&
             (def_sched ? cJSON_AddStringToObject(o, "default_scheduler", def_sched)
                        : cJSON_AddNullToObject(o, "default_scheduler"));
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    return iid__http_json(c, 200, o);
}

enum MHD_Result iid__route_job(iid_server_t *s, struct MHD_Connection *c, const char *id)
{
    int status = 404;
    cJSON *o = s->engine.generate ? iid__jobs_describe(&s->jobs, id, &status) : NULL;
    if (!o && status == 404) return iid__http_error(c, 404, "no such job (finished jobs are forgotten after a while)");
    return iid__http_json(c, (unsigned)status, o);
}

/* Row r of the log as {"values": {...}, "result": url|null, "source": url|null}.
 * The source is looked for in the output folder, then in the input folder. */
static cJSON *log_row(const iid_server_t *s, const iid_input_index_t *ix, const iid_csv_t *t, long r, int col_new,
                      int col_image, int col_success)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *values = cJSON_CreateObject();
    if (!o || !values) {
        cJSON_Delete(o);
        cJSON_Delete(values);
        return NULL;
    }
    cJSON_AddItemToObject(o, "values", values);
    for (int i = 0; i < t->ncols; i++)
        if (!cJSON_AddStringToObject(values, t->header[i], iid__csv_cell(t, r, i))) goto fail;
    char url[PATH_MAX * 3 + 16];
    int success = col_success >= 0 && strcmp(iid__csv_cell(t, r, col_success), "True") == 0;
    const char *new_file = col_new >= 0 ? iid__csv_cell(t, r, col_new) : NULL;
    const char *image = col_image >= 0 ? iid__csv_cell(t, r, col_image) : NULL;
    if (success && iid__files_url(s->output_real, "/files/", new_file, url, sizeof url)) {
        if (!cJSON_AddStringToObject(o, "result", url)) goto fail;
    } else if (!cJSON_AddNullToObject(o, "result")) goto fail;
    if (iid__files_url(s->output_real, "/files/", image, url, sizeof url) ||
        iid__server_input_url(s, ix, image, url, sizeof url)) {
        if (!cJSON_AddStringToObject(o, "source", url)) goto fail;
    } else if (!cJSON_AddNullToObject(o, "source")) goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

/* A paging argument: absent gives def; else a whole number in 0..max. */
static int page_arg(struct MHD_Connection *c, const char *name, long def, long max, long *out, char *msg, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    *out = def;
    if (!v) return 1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < 0 || n > max) {
        snprintf(msg, cap, "%s: '%.40s' is not a whole number in 0..%ld", name, v, max);
        return 0;
    }
    *out = n;
    return 1;
}

/* Add the total, the columns and rows offset.. of the log to o; 0 when out of
 * memory. */
static int add_page(const iid_server_t *s, const iid_input_index_t *ix, const iid_csv_t *csv, long offset, long limit,
                    cJSON *o, cJSON *columns, cJSON *rows)
{
    if (!cJSON_AddNumberToObject(o, "total", (double)csv->nrows)) return 0;
    if (csv->ncols == 0) return 1;
    int col_new = iid__csv_column(csv, "new_file_name"), col_image = iid__csv_column(csv, "image_name");
    int col_success = iid__csv_column(csv, "success");
    for (int i = 0; i < csv->ncols; i++) {
        cJSON *v = cJSON_CreateString(csv->header[i]);
        if (!v) return 0;
        cJSON_AddItemToArray(columns, v);
    }
    long end = offset < csv->nrows ? offset + (limit < csv->nrows - offset ? limit : csv->nrows - offset) : offset;
    for (long r = offset; r < end; r++) {
        cJSON *row = log_row(s, ix, csv, r, col_new, col_image, col_success);
        if (!row) return 0;
        cJSON_AddItemToArray(rows, row);
    }
    return 1;
}

enum MHD_Result iid__route_log(iid_server_t *s, struct MHD_Connection *c)
{
    const char *path = s->opts.log_path;
    long offset, limit;
    char msg[128];
    if (!page_arg(c, "offset", 0, LONG_MAX, &offset, msg, sizeof msg) ||
        !page_arg(c, "limit", LOG_PAGE_DEFAULT, LOG_PAGE_MAX, &limit, msg, sizeof msg))
        return iid__http_error(c, 400, msg);
    cJSON *o = cJSON_CreateObject();
    cJSON *columns = cJSON_CreateArray();
    cJSON *rows = cJSON_CreateArray();
    if (!o || !columns || !rows) {
        cJSON_Delete(o);
        cJSON_Delete(columns);
        cJSON_Delete(rows);
        return iid__http_json(c, 500, NULL);
    }
    cJSON_AddItemToObject(o, "columns", columns);
    cJSON_AddItemToObject(o, "rows", rows);
    const iid_csv_t *csv;
    int missing;
    iid_error_t err;
    /* Built before the cache is locked: a scan of the input folder holds up
     * no other page. */
    iid_input_index_t ix;
    if (iid__input_index_build(s, &ix, &err) != IID_OK) memset(&ix, 0, sizeof ix); /* no subfolder look-up */
    if (iid__log_cache_acquire(&s->log, path, LOG_MAX_BYTES, &csv, &missing, &err) != IID_OK) {
        iid__input_index_free(&ix);
        cJSON_Delete(o);
        return iid__http_error(c, 500, err.msg);
    }
    int ok = cJSON_AddStringToObject(o, "path", path) && cJSON_AddNumberToObject(o, "offset", (double)offset) &&
             cJSON_AddNumberToObject(o, "limit", (double)limit) &&
             (missing ? cJSON_AddBoolToObject(o, "missing", 1) && cJSON_AddNumberToObject(o, "total", 0)
                      : add_page(s, &ix, csv, offset, limit, o, columns, rows));
    iid__log_cache_release(&s->log);
    iid__input_index_free(&ix);
    if (ok) return iid__http_json(c, 200, o);
    cJSON_Delete(o);
    return iid__http_json(c, 500, NULL);
}

/* Answer with the regular file rel inside root_real (what names the folder in
 * error messages). */
static enum MHD_Result send_confined(struct MHD_Connection *c, const char *root_real, const char *rel,
                                     const char *what)
{
    char real[PATH_MAX], msg[96];
    iid_error_t err;
    iid_status st = iid__files_resolve(root_real, rel, real, sizeof real, &err);
    snprintf(msg, sizeof msg, "outside the %s", what);
    if (st == IID_ERR_INVALID) return iid__http_error(c, 403, msg);
    snprintf(msg, sizeof msg, "no such file in the %s", what);
    if (st != IID_OK) return iid__http_error(c, 404, msg);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return iid__http_error(c, 404, msg);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", iid__files_content_type(real));
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result iid__route_file(iid_server_t *s, struct MHD_Connection *c, const char *rel)
{
    return send_confined(c, s->output_real, rel, "output folder");
}

enum MHD_Result iid__route_input(iid_server_t *s, struct MHD_Connection *c, const char *rel)
{
    if (!s->input_real[0])
        return iid__http_error(c, 404, "no input folder (start serve with --input, or run a batch on this log)");
    return send_confined(c, s->input_real, rel, "input folder");
}
