/*
 * server.h: the HTTP machinery of `r2cache serve`, on libmicrohttpd (its
 * epoll thread pool; libmicrohttpd parses HTTP, never we).
 *
 * The server knows routes, not seismology: a route table maps method + path
 * (exact, or a prefix ending in '/') to a handler that fills an
 * rc_server_reply. Around every handler the server applies what every
 * endpoint shares: bounded connections and per-connection timeouts, request
 * bodies up to a limit (413), Bearer-token auth for every POST and DELETE
 * (and for reads when read_requires_token), CORS with OPTIONS preflight,
 * 404 / 405 with Allow, JSON error bodies {"error": "...", "status": N}, and
 * one log line per request (method, path without its query, status, bytes,
 * milliseconds; the Authorization header and query values never appear).
 *
 * A handler that must wait for something slow (a job with ?wait=true) does
 * not block its thread: it returns RC_SERVER_SUSPEND after arranging for
 * rc_server_wake(req) to be called; the connection is suspended
 * (MHD_suspend_connection) and, once woken, the handler is called again with
 * the same request (req->resumed counts the calls).
 */
#ifndef R2CACHE_SERVER_H
#define R2CACHE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/config.h"
#include "r2cache/err.h"
#include "r2cache/log.h"

typedef struct rc_server rc_server;
typedef struct rc_server_req rc_server_req;

/* What a handler answers. body is JSON unless content_type says otherwise. */
typedef struct rc_server_reply {
    int status;
    const char *content_type; /* default application/json */
    rc_buf body;
    char retry_after[16]; /* Retry-After value, "" = none */
    char location[128];   /* Location header, "" = none */
} rc_server_reply;

/* Handler return values. */
enum { RC_SERVER_DONE = 0, RC_SERVER_SUSPEND = 1 };

typedef int (*rc_server_fn)(void *ud, rc_server_req *req, rc_server_reply *out);

/* One row of the route table. path "/api/jobs/" with prefix = 1 matches
 * every path below it. methods: "GET", "POST", "DELETE" (one per row). */
typedef struct rc_server_route {
    const char *method;
    const char *path;
    int prefix;
    rc_server_fn fn;
    int open_when_starting; /* answered before the store answered once (/healthz) */
    int is_read;            /* a POST that only reads (FDSN bulk query): auth as a GET */
} rc_server_route;

typedef struct rc_server_opts {
    const rc_serve_config *cfg; /* listen, CORS, limits */
    const char *listen;         /* overrides cfg->listen when not NULL */
    const char *token;          /* API token, NULL = none configured */
    const rc_log *log;
    const rc_server_route *routes; /* terminated by a NULL method */
    void *ud;                      /* passed to every handler */
    /* observers (may be NULL): called once per finished request */
    void (*observe)(void *ud, const char *route, int status, double seconds);
} rc_server_opts;

/* Parse "ADDR:PORT" ("[::1]:8080" for IPv6). RC_EINVAL naming what is wrong. */
int rc_server_parse_listen(const char *s, char *host, size_t hostn, int *port, rc_err *e);

/* Start listening (port 0 = a free one). RC_EINVAL for a bad address,
 * RC_EUNUSABLE when the address cannot be bound. */
int rc_server_start(const rc_server_opts *o, rc_server **out, rc_err *e);
/* The port actually bound. */
int rc_server_port(const rc_server *s);
/* Until called, routes without open_when_starting answer 503 (Retry-After). */
void rc_server_set_ready(rc_server *s, int ready);
int rc_server_is_ready(const rc_server *s);
/* Stop accepting new connections (in-flight requests still complete). */
void rc_server_quiesce(rc_server *s);
/* Close everything and free. Every suspended request must be woken first. */
void rc_server_stop(rc_server *s);

/* ---- the request, as a handler sees it -------------------------------- */

const char *rc_server_req_method(const rc_server_req *r);
const char *rc_server_req_path(const rc_server_req *r);
/* The route row matched ("/api/jobs/" for /api/jobs/7). */
const char *rc_server_req_route(const rc_server_req *r);
/* Query argument by name (NULL when absent; "" for "?name"). */
const char *rc_server_req_arg(const rc_server_req *r, const char *name);
/* Every query argument: calls fn(ud, name, value) in order; stops when fn
 * returns nonzero and returns that value. */
int rc_server_req_args(const rc_server_req *r, int (*fn)(void *ud, const char *k, const char *v),
                       void *ud);
/* The raw query string without '?', rebuilt from the arguments ("" when none). */
const char *rc_server_req_query(rc_server_req *r);
const char *rc_server_req_header(const rc_server_req *r, const char *name);
const char *rc_server_req_body(const rc_server_req *r, size_t *len);
/* Number of times the handler has been woken after RC_SERVER_SUSPEND. */
int rc_server_req_resumed(const rc_server_req *r);
/* Handler-owned state kept across suspensions (freed with free_fn). */
void *rc_server_req_state(const rc_server_req *r);
void rc_server_req_set_state(rc_server_req *r, void *state, void (*free_fn)(void *));
/* Resume a suspended request; safe from any thread, and before the
 * suspension took effect (then the handler is simply called again). */
void rc_server_wake(rc_server_req *r);

/* ---- replies ------------------------------------------------------------ */

/* {"error": msg, "status": status} */
int rc_server_reply_error(rc_server_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print JSON (formatted like the CLI's cJSON_Print, plus a newline). Takes
 * ownership of json. */
struct cJSON;
int rc_server_reply_json(rc_server_reply *out, int status, struct cJSON *json);

#endif
