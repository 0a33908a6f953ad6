/*
 * server.c: HTTP on libmicrohttpd for `r2cache serve` (see server.h).
 *
 * libmicrohttpd runs an epoll thread pool (MHD_USE_EPOLL_INTERNAL_THREAD +
 * MHD_OPTION_THREAD_POOL_SIZE) and calls answer() for each request: first
 * with the headers only, then with each piece of the body, then once more
 * with nothing, which is when we route. Everything a request owns lives in
 * its rc_server_req (libmicrohttpd's con_cls), freed in completed(), which
 * also writes the request's log line.
 *
 * Suspension: a handler returning RC_SERVER_SUSPEND is parked with
 * MHD_suspend_connection. rc_server_wake may run on another thread before
 * or after that; req->lock orders the two (a wake that comes first is kept
 * as wake_pending and the handler is simply called again).
 */
#include "r2cache/server.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rc_server {
    struct MHD_Daemon *d;
    rc_server_opts o;
    const rc_serve_config *cfg;
    size_t max_body;
    int port;
    int ready;
    pthread_mutex_t lock; /* ready */
    int quiesced_fd;      /* listen socket handed back by MHD_quiesce_daemon */
    unsigned char token_hash[SHA256_DIGEST_LENGTH];
    int have_token;
};

struct rc_server_req {
    rc_server *srv;
    struct MHD_Connection *conn;
    char method[16];
    char *path;
    const rc_server_route *route;
    rc_buf body;
    int too_large;
    int answered; /* a response is queued */
    int status;
    size_t bytes;
    double t0;
    int resumed;
    void *state;
    void (*state_free)(void *);
    char *query;
    pthread_mutex_t lock; /* suspended, wake_pending */
    int suspended, wake_pending;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- listen address --------------------------------------------------- */

int rc_server_parse_listen(const char *s, char *host, size_t hostn, int *port, rc_err *e)
{
    const char *colon = strrchr(s ? s : "", ':');
    if (!s || !colon || colon == s)
        return rc_err_set(e, RC_EINVAL, "listen address \"%s\": give ADDR:PORT (127.0.0.1:8080)",
                          s ? s : "");
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']')
            return rc_err_set(e, RC_EINVAL,
                              "listen address \"%s\": an IPv6 address goes in "
                              "brackets ([::1]:8080)",
                              s);
        h++;
        hl -= 2;
    }
    if (hl + 1 > hostn) return rc_err_set(e, RC_EINVAL, "listen address \"%s\": host too long", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || !end || *end || p < 0 || p > 65535)
        return rc_err_set(e, RC_EINVAL, "listen address \"%s\": port must be 0 to 65535", s);
    *port = (int)p;
    return RC_OK;
}

/* ---- replies ------------------------------------------------------------ */

int rc_server_reply_error(rc_server_reply *out, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "error", msg) ||
        !cJSON_AddNumberToObject(o, "status", status)) {
        cJSON_Delete(o);
        return RC_ENOMEM;
    }
    return rc_server_reply_json(out, status, o);
}

int rc_server_reply_json(rc_server_reply *out, int status, cJSON *json)
{
    char *txt = json ? cJSON_Print(json) : NULL;
    cJSON_Delete(json);
    out->status = status;
    out->content_type = "application/json";
    rc_buf_reset(&out->body);
    if (!txt || rc_buf_puts(&out->body, txt) || rc_buf_puts(&out->body, "\n")) {
        free(txt);
        out->status = 500;
        rc_buf_reset(&out->body);
        rc_buf_puts(&out->body, "{\"error\": \"out of memory\", \"status\": 500}\n");
        return RC_ENOMEM;
    }
    free(txt);
    return RC_OK;
}

/* ---- request accessors -------------------------------------------------- */

const char *rc_server_req_method(const rc_server_req *r)
{
    return r->method;
}
const char *rc_server_req_path(const rc_server_req *r)
{
    return r->path;
}
const char *rc_server_req_route(const rc_server_req *r)
{
    return r->route ? r->route->path : "";
}
int rc_server_req_resumed(const rc_server_req *r)
{
    return r->resumed;
}
void *rc_server_req_state(const rc_server_req *r)
{
    return r->state;
}

void rc_server_req_set_state(rc_server_req *r, void *state, void (*free_fn)(void *))
{
    if (r->state && r->state_free && r->state != state) r->state_free(r->state);
    r->state = state;
    r->state_free = free_fn;
}

const char *rc_server_req_arg(const rc_server_req *r, const char *name)
{
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      NULL) != MHD_YES)
        return NULL;
    return v ? v : "";
}

const char *rc_server_req_header(const rc_server_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *rc_server_req_body(const rc_server_req *r, size_t *len)
{
    if (len) *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

typedef struct args_ctx {
    int (*fn)(void *ud, const char *k, const char *v);
    void *ud;
    int rc;
} args_ctx;

static enum MHD_Result args_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    args_ctx *a = cls;
    a->rc = a->fn(a->ud, key, value ? value : "");
    return a->rc ? MHD_NO : MHD_YES;
}

int rc_server_req_args(const rc_server_req *r, int (*fn)(void *ud, const char *k, const char *v),
                       void *ud)
{
    args_ctx a = {fn, ud, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, args_iter, &a);
    return a.rc;
}

static void put_escaped(rc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':' || ch == ',' ||
            ch == '*' || ch == '?') {
            char c = (char)ch;
            rc_buf_append(b, &c, 1);
        } else {
            char t[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc_buf_append(b, t, 3);
        }
    }
}

static int query_add(void *ud, const char *k, const char *v)
{
    rc_buf *b = ud;
    if (b->len) rc_buf_puts(b, "&");
    put_escaped(b, k);
    rc_buf_puts(b, "=");
    put_escaped(b, v);
    return 0;
}

const char *rc_server_req_query(rc_server_req *r)
{
    if (!r->query) {
        rc_buf b = RC_BUF_INIT;
        rc_server_req_args(r, query_add, &b);
        r->query = b.data ? rc_buf_steal(&b, NULL) : strdup("");
    }
    return r->query ? r->query : "";
}

/* ---- suspension ---------------------------------------------------------- */

void rc_server_wake(rc_server_req *r)
{
    /* Resume after unlocking: once resumed, the request may complete and be
     * freed (with its lock) on an MHD thread at any moment. While it is
     * suspended nothing else touches it, so conn stays valid until then. */
    struct MHD_Connection *conn = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->suspended) {
        r->suspended = 0;
        conn = r->conn;
    } else {
        r->wake_pending = 1;
    }
    pthread_mutex_unlock(&r->lock);
    if (conn) MHD_resume_connection(conn);
}

/* ---- readiness ---------------------------------------------------------- */

void rc_server_set_ready(rc_server *s, int ready)
{
    pthread_mutex_lock(&s->lock);
    s->ready = ready;
    pthread_mutex_unlock(&s->lock);
}

int rc_server_is_ready(const rc_server *s)
{
    rc_server *m = (rc_server *)s;
    pthread_mutex_lock(&m->lock);
    int r = m->ready;
    pthread_mutex_unlock(&m->lock);
    return r;
}

int rc_server_port(const rc_server *s)
{
    return s->port;
}

/* ---- answering ---------------------------------------------------------- */

static const char *origin_allowed(const rc_server *s, const char *origin)
{
    if (!origin || !s->cfg) return NULL;
    for (int i = 0; i < s->cfg->ncors_origins; i++) {
        if (strcmp(s->cfg->cors_origins[i], "*") == 0) return "*";
        if (strcmp(s->cfg->cors_origins[i], origin) == 0) return origin;
    }
    return NULL;
}

static void add_header(struct MHD_Response *resp, const char *k, const char *v)
{
    /* a header that cannot be added leaves the reply without it; MHD only
     * refuses on allocation failure or invalid characters (none here) */
    if (MHD_add_response_header(resp, k, v) != MHD_YES) return;
}

static enum MHD_Result send_reply(rc_server_req *r, rc_server_reply *rep, const char *allow,
                                  int preflight)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        rep->body.len, rep->body.data ? rep->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    if (rep->body.len || rep->status != 204)
        add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                   rep->content_type ? rep->content_type : "application/json");
    if (rep->retry_after[0]) add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, rep->retry_after);
    if (rep->location[0]) add_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location);
    if (allow) add_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (rep->status == 401)
        add_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"r2cache\"");
    if (rep->status == 413) add_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    const char *ao = origin_allowed(r->srv, rc_server_req_header(r, "Origin"));
    if (ao) {
        add_header(resp, "Access-Control-Allow-Origin", ao);
        add_header(resp, "Vary", "Origin");
        add_header(resp, "Access-Control-Expose-Headers", "Retry-After, Location");
        if (preflight && allow) {
            add_header(resp, "Access-Control-Allow-Methods", allow);
            add_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
            add_header(resp, "Access-Control-Max-Age", "600");
        }
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    r->status = rep->status;
    r->bytes = rep->body.len;
    return ok;
}

static int path_matches(const rc_server_route *rt, const char *path)
{
    if (rt->prefix) return strncmp(path, rt->path, strlen(rt->path)) == 0;
    return strcmp(path, rt->path) == 0;
}

/* The methods the table offers for path ("GET, POST"); returns how many. */
static int allowed_methods(const rc_server *s, const char *path, char *out, size_t n)
{
    int k = 0;
    out[0] = '\0';
    for (const rc_server_route *rt = s->o.routes; rt->method; rt++) {
        if (!path_matches(rt, path) || strstr(out, rt->method)) continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", k ? ", " : "", rt->method);
        k++;
    }
    if (k) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s", strstr(out, "GET") ? ", HEAD, OPTIONS" : ", OPTIONS");
    }
    return k;
}

static int token_ok(const rc_server *s, const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)t, strlen(t), h);
    /* equal-length digests compared in constant time: neither the token nor
     * its length leaks through timing */
    return CRYPTO_memcmp(h, s->token_hash, sizeof h) == 0;
}

/* The reason a request may not proceed (status, message), 0 when it may. */
static int check_auth(const rc_server *s, const rc_server_req *r, rc_server_reply *rep)
{
    int mutating = (strcmp(r->method, "POST") == 0 || strcmp(r->method, "DELETE") == 0 ||
                    strcmp(r->method, "PUT") == 0) &&
                   !(r->route && r->route->is_read);
    if (!mutating && !(s->cfg && s->cfg->read_requires_token)) return 0;
    if (!s->have_token) {
        rc_server_reply_error(rep, 403,
                              "%s needs an API token and none is configured: set "
                              "R2CACHE_API_TOKEN, or R2CACHE_API_TOKEN_FILE to a file holding "
                              "it, and restart r2cache serve",
                              mutating ? "this request" : "reading (serve.read_requires_token)");
        return 403;
    }
    if (!token_ok(s, rc_server_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION))) {
        rc_server_reply_error(rep, 401,
                              rc_server_req_header(r, MHD_HTTP_HEADER_AUTHORIZATION)
                                  ? "the bearer token is not the one configured"
                                  : "give the API token as \"Authorization: Bearer TOKEN\"");
        return 401;
    }
    return 0;
}

static enum MHD_Result dispatch(rc_server *s, rc_server_req *r)
{
    rc_server_reply rep;
    memset(&rep, 0, sizeof rep);
    char allow[128];
    int is_head = strcmp(r->method, "HEAD") == 0;
    const char *m = is_head ? "GET" : r->method;
    enum MHD_Result res;
    if (!r->route) {
        if (!allowed_methods(s, r->path, allow, sizeof allow)) {
            rc_server_reply_error(&rep, 404, "no such endpoint: %s", r->path);
            goto send;
        }
        if (strcmp(m, "OPTIONS") == 0) {
            rep.status = 204;
            res = send_reply(r, &rep, allow, 1);
            rc_buf_free(&rep.body);
            return res;
        }
        for (const rc_server_route *rt = s->o.routes; rt->method && !r->route; rt++)
            if (path_matches(rt, r->path) && strcmp(rt->method, m) == 0) r->route = rt;
        if (!r->route) {
            rc_server_reply_error(&rep, 405, "%s is not allowed on %s (allowed: %s)", r->method,
                                  r->path, allow);
            res = send_reply(r, &rep, allow, 0);
            rc_buf_free(&rep.body);
            return res;
        }
        if (check_auth(s, r, &rep)) goto send;
        if (!r->route->open_when_starting && !rc_server_is_ready(s)) {
            rc_server_reply_error(&rep, 503, "starting: the store has not answered yet");
            snprintf(rep.retry_after, sizeof rep.retry_after, "5");
            goto send;
        }
        if (r->too_large) {
            rc_server_reply_error(&rep, 413, "request body larger than %zu bytes", s->max_body);
            goto send;
        }
    }
    for (;;) {
        int hr = r->route->fn(s->o.ud, r, &rep);
        if (hr != RC_SERVER_SUSPEND) break;
        pthread_mutex_lock(&r->lock);
        if (r->wake_pending) {
            r->wake_pending = 0;
            pthread_mutex_unlock(&r->lock);
            r->resumed++;
            continue;
        }
        MHD_suspend_connection(r->conn);
        r->suspended = 1;
        r->resumed++; /* the next call is the one after the wake */
        pthread_mutex_unlock(&r->lock);
        rc_buf_free(&rep.body);
        return MHD_YES;
    }
    if (!rep.status) rc_server_reply_error(&rep, 500, "the handler of %s gave no answer", r->path);
send:
    res = send_reply(r, &rep, NULL, 0);
    rc_buf_free(&rep.body);
    return res;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    rc_server *s = cls;
    rc_server_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->t0 = mono();
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = strdup(url);
        pthread_mutex_init(&r->lock, NULL);
        *con_cls = r;
        if (!r->path) return MHD_NO;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->max_body) {
            /* refuse before reading (and before any 100 Continue) */
            rc_server_reply rep;
            memset(&rep, 0, sizeof rep);
            rc_server_reply_error(&rep, 413, "request body larger than %zu bytes", s->max_body);
            enum MHD_Result res = send_reply(r, &rep, NULL, 0);
            rc_buf_free(&rep.body);
            return res;
        }
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0; /* the rest of an oversize body is discarded */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_large) {
            if (r->body.len + *upload_data_size > s->max_body) {
                r->too_large = 1;
                rc_buf_free(&r->body);
            } else if (rc_buf_append(&r->body, upload_data, *upload_data_size)) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(s, r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    rc_server *s = cls;
    rc_server_req *r = *con_cls;
    if (!r) return;
    double sec = mono() - r->t0;
    int status = r->answered ? r->status : 0;
    const char *how = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK      ? ""
                      : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
                      : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT    ? " (client closed)"
                                                                      : " (connection closed)";
    rc_log_info(s->o.log, "http", "%s %s %d %zu B %.1f ms%s", r->method, r->path ? r->path : "?",
                status, r->bytes, sec * 1000.0, how);
    if (s->o.observe) s->o.observe(s->o.ud, r->route ? r->route->path : "other", status, sec);
    if (r->state && r->state_free) r->state_free(r->state);
    rc_buf_free(&r->body);
    free(r->path);
    free(r->query);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    rc_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
        msg[--l] = '\0';
    rc_log_debug(s->o.log, "http", "libmicrohttpd: %s", msg);
}

int rc_server_start(const rc_server_opts *o, rc_server **out, rc_err *e)
{
    const char *listen = o->listen ? o->listen : o->cfg->listen;
    char host[128];
    int port = 0;
    int rc = rc_server_parse_listen(listen, host, sizeof host, &port, e);
    if (rc) return rc;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
    if (gai != 0 || !ai)
        return rc_err_set(e, RC_EINVAL, "listen address \"%s\": %s", listen, gai_strerror(gai));
    rc_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    s->o = *o;
    s->cfg = o->cfg;
    s->max_body = o->cfg->max_body_bytes ? o->cfg->max_body_bytes : 65536;
    s->quiesced_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    if (o->token && o->token[0]) {
        SHA256((const unsigned char *)o->token, strlen(o->token), s->token_hash);
        s->have_token = 1;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    unsigned threads = (unsigned)(o->cfg->threads > 0 ? o->cfg->threads : 4);
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->cfg->max_connections > 0 ? o->cfg->max_connections : 64),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->cfg->connection_timeout_s > 0 ? o->cfg->connection_timeout_s : 30),
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return rc_err_set(e, RC_EUNUSABLE,
                          "cannot listen on %s (address in use, or not an address of this "
                          "host?); choose another with --listen or serve.listen",
                          listen);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    *out = s;
    return RC_OK;
}

void rc_server_quiesce(rc_server *s)
{
    if (s && s->d && s->quiesced_fd < 0) s->quiesced_fd = MHD_quiesce_daemon(s->d);
}

void rc_server_stop(rc_server *s)
{
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    if (s->quiesced_fd >= 0) close(s->quiesced_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
