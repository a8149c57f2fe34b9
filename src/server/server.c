/*
 * server.c - the daemon, authentication, dispatch and the generate upload
 * (server.h describes the endpoints; routes.c answers the GET ones).
 *
 * libmicrohttpd runs a pool of polling threads that call `handle` for every
 * request, first with the headers only and then once per piece of body; handle
 * passes each call to `dispatch` and reports the request's line once it has an
 * answer (report.c). A handler that takes a while (the face check of an upload,
 * a large log page) holds up only its own thread's connections. GET requests
 * are answered on the first call. POST /api/generate is refused on the first
 * call when it cannot succeed (no engine, queue full, a Content-Length over the
 * limit: no body byte is read then); otherwise its body streams into an upload
 * collector (upload.h), and on the last call the face is checked by the engine
 * (decoded, and its face detected) before the job is queued. A body that turns
 * out too large while streaming is drained unparsed and answered 413 when it
 * ends (libmicrohttpd cannot answer mid-body); a client that sends more than
 * DRAIN_SLACK beyond the limit is disconnected.
 *
 * Slow clients: every connection has total deadlines for its headers and its
 * request (guard.h), checked by the thread that waits for the stop signal; the
 * number of connections is capped in all and per client address.
 *
 * Nothing here waits for a generation: jobs run on the queue's worker thread.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "server/http.h"
#include "server/upload.h"

void iid__server_options_init(iid_server_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 7860;
    o->output_dir = "generated_images";
    o->log_path = "generation_log.csv";
    o->max_upload = (size_t)20 * 1000 * 1000;
    o->queue = 8;
    o->max_records = 256;
    o->max_connections = 256;
    o->max_per_client = IID_SERVER_PER_CLIENT_AUTO;
    o->header_timeout = 10;
    o->request_timeout = 120;
    o->http_threads = 4;
}

/* ---- answering ---------------------------------------------------------- */

enum MHD_Result iid__http_send(struct MHD_Connection *c, unsigned status, const char *type, const void *body,
                               size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result iid__http_json(struct MHD_Connection *c, unsigned status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        return iid__http_send(c, 500, "application/json", oom, sizeof oom - 1);
    }
    enum MHD_Result ret = iid__http_send(c, status, "application/json", text, strlen(text));
    free(text);
    return ret;
}

enum MHD_Result iid__http_error(struct MHD_Connection *c, unsigned status, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", message)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return iid__http_json(c, status, o);
}

void iid__server_catalog(const iid_server_t *s, iid_engine_catalog_t *cat)
{
    memset(cat, 0, sizeof *cat);
    if (s->engine.catalog && s->engine.catalog(s->engine.ctx, cat, NULL) != IID_OK) memset(cat, 0, sizeof *cat);
}

/* ---- authentication ----------------------------------------------------- */

/* Compare without an early exit, so the time taken does not reveal a prefix. */
static int same_secret(const char *given, const char *secret)
{
    size_t n = strlen(given), m = strlen(secret);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < m; i++) diff |= (unsigned char)(secret[i] ^ (i < n ? given[i] : 0));
    return diff == 0;
}

static int authorized(const iid_server_t *s, struct MHD_Connection *c)
{
    const char *token = s->opts.token;
    if (!token || !*token) return 1;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth && strncmp(auth, "Bearer ", 7) == 0 && same_secret(auth + 7, token)) return 1;
    const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    return query && same_secret(query, token);
}

/* The Host header without its port ("[::1]:7860" -> "[::1]"), in buf. */
static const char *host_name(const char *host, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", host);
    char *colon = strrchr(buf, ':');
    if (colon && !strchr(colon, ']')) *colon = '\0';
    return buf;
}

/* Without a token the server trusts whoever can reach it, which on a loopback
 * address is this machine. Two browser attacks get around that, and both are
 * refused here: DNS rebinding (a page on evil.example whose name now resolves to
 * 127.0.0.1: its requests carry Host: evil.example) and cross-site form posts (a
 * page on another origin submitting to /api/generate: its Origin differs). */
static int same_site(const iid_server_t *s, struct MHD_Connection *c, const char *method)
{
    if (s->opts.token && *s->opts.token) return 1;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host) return 1; /* HTTP/1.0 clients: not a browser */
    char name[256];
    host_name(host, name, sizeof name);
    if (strcmp(name, "127.0.0.1") != 0 && strcmp(name, "localhost") != 0 && strcmp(name, "[::1]") != 0 &&
        strcmp(name, s->opts.host) != 0)
        return 0;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return 1;
    return strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

/* ---- POST /api/generate ------------------------------------------------- */

/* How much more than max_upload a failing upload may send before we hang up. */
#define DRAIN_SLACK ((size_t)4 << 20)

typedef struct conn_state {
    iid_upload_t *upload;
    unsigned fail_status; /* nonzero: answer this once the body has ended */
    size_t drained;       /* body bytes dropped since then */
    char fail_msg[IID_ERROR_MSG_MAX];
} conn_state_t;

static enum MHD_Result begin_generate(iid_server_t *s, struct MHD_Connection *c, void **con_cls)
{
    if (!s->engine.generate)
        return iid__http_error(c, 503, s->opts.engine_error && *s->opts.engine_error
                                           ? s->opts.engine_error
                                           : "generation engine not available in this build");
    if (iid__jobs_full(&s->jobs)) return iid__http_error(c, 503, "the queue is full; try again later");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || n > s->opts.max_upload) {
            char msg[128];
            snprintf(msg, sizeof msg, "upload: larger than the limit of %zu bytes", s->opts.max_upload);
            return iid__http_error(c, 413, msg);
        }
    }
    conn_state_t *cs = calloc(1, sizeof *cs);
    if (!cs) return iid__http_error(c, 500, "out of memory");
    iid_error_t err;
    if (iid__upload_begin(c, s->opts.max_upload, &cs->upload, &err) != IID_OK) {
        free(cs);
        return iid__http_error(c, 400, err.msg);
    }
    *con_cls = cs;
    return MHD_YES;
}

/* The answer to an upload the engine's check refused (engine.h). */
static unsigned check_http_status(iid_status st)
{
    switch (st) {
    case IID_ERR_FORMAT:
    case IID_ERR_INVALID: return 400;
    case IID_ERR_RANGE: return 413;
    case IID_ERR_UNSUPPORTED: return 415;
    case IID_ERR_NO_FACE: return 422;
    default: return 500;
    }
}

static enum MHD_Result continue_generate(iid_server_t *s, struct MHD_Connection *c, conn_state_t *cs,
                                         const char *data, size_t *size)
{
    iid_error_t err;
    if (*size) {
        size_t n = *size;
        *size = 0;
        if (cs->fail_status) {
            /* libmicrohttpd cannot answer before the body has ended: drain it,
             * but drop a client that keeps sending far beyond the limit. */
            cs->drained += n;
            return cs->drained > s->opts.max_upload + DRAIN_SLACK ? MHD_NO : MHD_YES;
        }
        iid_status st = iid__upload_feed(cs->upload, data, n, &err);
        if (st == IID_OK) return MHD_YES;
        cs->fail_status = st == IID_ERR_RANGE ? 413 : st == IID_ERR_NOMEM ? 500 : 400;
        snprintf(cs->fail_msg, sizeof cs->fail_msg, "%s", err.msg);
        return MHD_YES;
    }
    if (cs->fail_status) return iid__http_error(c, cs->fail_status, cs->fail_msg);
    iid_engine_catalog_t cat;
    iid__server_catalog(s, &cat);
    iid_job_t *job;
    iid_status st = iid__upload_finish(cs->upload, &cat, &job, &err);
    if (st != IID_OK) return iid__http_error(c, st == IID_ERR_RANGE ? 413 : st == IID_ERR_NOMEM ? 500 : 400, err.msg);
    /* Decode (and look for the face) now, so that a bad photo is answered here
     * rather than as a failed job minutes later. */
    st = s->engine.check ? s->engine.check(s->engine.ctx, &job->req, &err) : IID_OK;
    if (st != IID_OK) {
        iid__job_free(job);
        return iid__http_error(c, check_http_status(st), err.msg);
    }
    char id[IID_JOB_ID_SIZE];
    st = iid__jobs_submit(&s->jobs, job, id, &err);
    if (st != IID_OK) {
        iid__job_free(job);
        return iid__http_error(c, st == IID_ERR_RANGE ? 503 : 500, err.msg);
    }
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "id", id)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return iid__http_json(c, 202, o);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    iid_server_t *s = cls;
    (void)toe;
    iid__guard_phase(&s->guard, c, 0); /* the next request's headers are due */
    conn_state_t *cs = *con_cls;
    if (!cs) return;
    iid__upload_free(cs->upload);
    free(cs);
    *con_cls = NULL;
}

/* ---- dispatch ----------------------------------------------------------- */

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum MHD_Result dispatch(iid_server_t *s, struct MHD_Connection *c, const char *url, const char *method,
                                const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    if (*con_cls) return continue_generate(s, c, *con_cls, upload_data, upload_data_size);
    iid__guard_phase(&s->guard, c, 1); /* the headers are in */
    int is_api = has_prefix(url, "/api/"), is_files = has_prefix(url, "/files/") || has_prefix(url, "/inputs/") ||
                                                  has_prefix(url, "/sheets/");
    if (!same_site(s, c, method)) return iid__http_error(c, 403, "request from another site (Host or Origin)");
    if ((is_api || is_files) && !authorized(s, c)) return iid__http_error(c, 401, "missing or wrong token");
    if (strcmp(url, "/api/generate") == 0) {
        if (strcmp(method, "POST") != 0) return iid__http_error(c, 405, "use POST");
        return begin_generate(s, c, con_cls);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return iid__http_error(c, 405, "use GET");
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) return iid__route_page(s, c);
    if (strcmp(url, "/api/styles") == 0) return iid__route_styles(s, c);
    if (strcmp(url, "/api/log") == 0) return iid__route_log(s, c);
    if (has_prefix(url, "/api/jobs/")) return iid__route_job(s, c, url + strlen("/api/jobs/"));
    if (has_prefix(url, "/files/")) return iid__route_file(s, c, url + strlen("/files/"));
    if (has_prefix(url, "/sheets/")) return iid__route_sheet(s, c, url + strlen("/sheets/"));
    if (is_files) return iid__route_input(s, c, url + strlen("/inputs/"));
    return iid__http_error(c, 404, "no such page");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    iid_server_t *s = cls;
    enum MHD_Result ret = dispatch(s, c, url, method, upload_data, upload_data_size, con_cls);
    iid__report_request(s, c, method, url);
    return ret;
}

/* ---- start and stop ----------------------------------------------------- */

typedef struct bind_addr {
    struct sockaddr_storage ss;
    int ipv6, loopback;
} bind_addr_t;

static iid_status parse_host(const char *host, int port, bind_addr_t *a, iid_error_t *err)
{
    memset(a, 0, sizeof *a);
    if (port < 0 || port > 65535) return iid__fail(err, IID_ERR_INVALID, "--port: %d is not a port number", port);
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        a->loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return IID_OK;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        a->ipv6 = 1;
        a->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        return IID_OK;
    }
    return iid__fail(err, IID_ERR_INVALID, "--host: '%s' is not an IP address (or localhost)", host);
}

/* The address to listen on; a non-loopback one only with a token. */
static iid_status check_address(const iid_server_options_t *opts, bind_addr_t *addr, iid_error_t *err)
{
    IID_TRY(parse_host(opts->host, opts->port, addr, err));
    if (!addr->loopback && !(opts->token && *opts->token))
        return iid__fail(err, IID_ERR_INVALID,
                         "--host: %s is reachable from other machines; refusing to start without --token",
                         opts->host);
    return IID_OK;
}

iid_status iid__server_probe(const iid_server_options_t *opts, iid_error_t *err)
{
    bind_addr_t addr;
    IID_TRY(check_address(opts, &addr, err));
    if (opts->port == 0) return IID_OK; /* any free port will do */
    int fd = socket(addr.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return iid__fail(err, IID_ERR_IO, "--host/--port: cannot open a socket: %s", strerror(errno));
    int one = 1; /* as libmicrohttpd binds: a port in TIME_WAIT is not "in use" */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = addr.ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = bind(fd, (struct sockaddr *)&addr.ss, len), e = errno;
    close(fd);
    if (rc == 0) return IID_OK;
    if (e == EADDRINUSE)
        return iid__fail(err, IID_ERR_IO, "--port: %d on %s is already in use; choose another --port (0 picks a free one)",
                         opts->port, opts->host);
    return iid__fail(err, IID_ERR_IO, "--host/--port: cannot listen on %s port %d: %s", opts->host, opts->port,
                     strerror(e));
}

static iid_status prepare_output(iid_server_t *s, iid_error_t *err)
{
    const char *dir = s->opts.output_dir;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return iid__fail(err, IID_ERR_IO, "--output: %s: cannot create: %s", dir, strerror(errno));
    if (!realpath(dir, s->output_real)) return iid__fail(err, IID_ERR_IO, "--output: %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(s->output_real, &st) != 0 || !S_ISDIR(st.st_mode))
        return iid__fail(err, IID_ERR_IO, "--output: %s: not a folder", dir);
    return IID_OK;
}

/* Serve until told to stop, enforcing the connection deadlines meanwhile. */
static void wait_for_stop(iid_server_t *s, volatile sig_atomic_t *stop)
{
    struct timespec nap = {0, 50 * 1000 * 1000};
    while (!*stop) {
        nanosleep(&nap, NULL);
        iid__guard_sweep(&s->guard);
    }
}

static iid_status check_limits(const iid_server_options_t *o, iid_error_t *err)
{
    if (o->max_upload == 0) return iid__fail(err, IID_ERR_INVALID, "--max-upload: must be positive");
    if (o->max_connections < 1)
        return iid__fail(err, IID_ERR_INVALID, "--max-connections: %d must be at least 1", o->max_connections);
    if (o->max_per_client < IID_SERVER_PER_CLIENT_AUTO)
        return iid__fail(err, IID_ERR_INVALID, "--max-per-client: %d must be 0 (no cap) or more", o->max_per_client);
    if (o->http_threads < 1) return iid__fail(err, IID_ERR_INVALID, "http_threads: %d must be at least 1", o->http_threads);
    return IID_OK;
}

static struct MHD_Daemon *start_daemon(iid_server_t *s, const bind_addr_t *addr)
{
    const iid_server_options_t *o = &s->opts;
    int per_client = o->max_per_client;
    if (per_client == IID_SERVER_PER_CLIENT_AUTO) per_client = addr->loopback ? 0 : IID_SERVER_PER_CLIENT_REMOTE;
    /* The idle timeout only cleans up after clients the guard's deadlines have
     * already bounded; libmicrohttpd splits the connection limit evenly among
     * the pool's threads. */
    unsigned idle = o->header_timeout > o->request_timeout ? o->header_timeout : o->request_timeout;
    struct MHD_OptionItem items[8];
    int n = 0;
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)&addr->ss};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)iid__guard_notify, &s->guard};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, idle, NULL};
    int threads = o->http_threads < o->max_connections ? o->http_threads : o->max_connections;
    if (threads > 1) items[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    if (per_client > 0) items[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client, NULL};
    items[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    /* MHD_USE_ITC: stopping wakes every pool thread through its own channel. Without
     * it libmicrohttpd wakes them by shutting the listening socket, which a thread at
     * its connection limit does not watch: with many slow clients, stopping then
     * waited out the idle timeout (request_timeout, 2 minutes by default). */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | (addr->ipv6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, s, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
}

/* Release what iid__server_run set up (each part is safe when never started). */
static void free_server(iid_server_t *s)
{
    iid__jobs_stop(&s->jobs);
    iid__log_cache_destroy(&s->log);
    iid__guard_destroy(&s->guard);
    free(s);
}

iid_status iid__server_run(const iid_server_options_t *opts, const iid_server_engine_t *engine,
                           volatile sig_atomic_t *stop, iid_error_t *err)
{
    bind_addr_t addr;
    IID_TRY(check_address(opts, &addr, err));
    IID_TRY(check_limits(opts, err));
    iid_server_t *s = calloc(1, sizeof *s);
    if (!s) return iid__fail(err, IID_ERR_NOMEM, "serve: out of memory");
    s->opts = *opts;
    s->engine = *engine;
    iid_status st = iid__guard_init(&s->guard, opts->header_timeout, opts->request_timeout, err);
    if (st == IID_OK) st = iid__log_cache_init(&s->log, err);
    if (st == IID_OK) st = prepare_output(s, err);
    if (st == IID_OK) st = iid__server_inputs_open(s, err);
    if (st == IID_OK) st = iid__jobs_start(&s->jobs, engine, s->output_real, opts->queue, opts->max_records, err);
    s->jobs.on_done = iid__server_job_done; /* before the daemon: no job can run yet */
    s->jobs.on_done_user = s;
    if (st != IID_OK) {
        free_server(s);
        return st;
    }
    struct MHD_Daemon *d = start_daemon(s, &addr);
    if (!d) {
        int e = errno;
        free_server(s);
        return iid__fail(err, IID_ERR_IO, "--host/--port: cannot listen on %s port %d: %s", opts->host, opts->port,
                         e ? strerror(e) : "libmicrohttpd refused");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : opts->port;
    if (opts->on_ready) {
        char url[128];
        const char *host = strcmp(opts->host, "localhost") == 0 ? "127.0.0.1" : opts->host;
        snprintf(url, sizeof url, addr.ipv6 ? "http://[%s]:%d/" : "http://%s:%d/", host, port);
        opts->on_ready(opts->on_ready_user, url, port);
    }
    wait_for_stop(s, stop);
    MHD_stop_daemon(d);
    free_server(s);
    return IID_OK;
}
