/*
 * cmd_serve.c: `r2cache serve`, the HTTP front end (api.c on server.c).
 *
 * Loads the configuration once, opens the store and the source once to
 * check their URLs (every request and job then opens its own handles),
 * reads the API token from the environment, starts listening and logs the
 * port actually bound. Requests other than /healthz, /readyz and /metrics
 * answer 503 until the store has answered once. SIGTERM/SIGINT: stop
 * accepting, let running fills stop after the chunk in hand (they resume
 * when asked again), wake every waiting request, close, exit 0.
 */
#include "r2cache/api.h"
#include "r2cache/cli.h"
#include "r2cache/jobs.h"
#include "r2cache/mspack.h"
#include "r2cache/server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct serve_args {
    const char *listen;
    char host[128];
    int port;
    char *token;
} serve_args;

static const rc_cli_opt serve_opts[] = {
    RC_OPT_STRING("listen", "ADDR:PORT", serve_args, listen,
                  "address to listen on (default serve.listen, else 127.0.0.1:8080; "
                  "port 0 picks a free port, logged)"),
    RC_OPT_END};

static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        break; /* a signal: let the caller look at the stop flag */
}

/* The token from R2CACHE_API_TOKEN, or the file R2CACHE_API_TOKEN_FILE names
 * (a Kubernetes secret), trailing whitespace removed. *tok = NULL: none. */
static rc_exit load_token(const rc_cli *cli, char **tok)
{
    *tok = NULL;
    const char *env = getenv("R2CACHE_API_TOKEN");
    const char *file = getenv("R2CACHE_API_TOKEN_FILE");
    if (env && env[0] && file && file[0]) {
        rc_log_error(&cli->log, "token",
                     "both R2CACHE_API_TOKEN and R2CACHE_API_TOKEN_FILE are set: keep one");
        return RC_EXIT_USAGE;
    }
    char buf[4096];
    size_t n = 0;
    if (file && file[0]) {
        FILE *f = fopen(file, "r");
        if (!f) {
            rc_log_error(&cli->log, "token", "R2CACHE_API_TOKEN_FILE %s: %s", file,
                         strerror(errno));
            return RC_EXIT_USAGE;
        }
        n = fread(buf, 1, sizeof buf - 1, f);
        int bad = ferror(f) || !feof(f);
        fclose(f);
        if (bad) {
            rc_log_error(&cli->log, "token",
                         "R2CACHE_API_TOKEN_FILE %s: unreadable or longer than %zu bytes", file,
                         sizeof buf - 1);
            return RC_EXIT_USAGE;
        }
    } else if (env) {
        n = strlen(env);
        if (n >= sizeof buf) {
            rc_log_error(&cli->log, "token", "R2CACHE_API_TOKEN is longer than %zu bytes",
                         sizeof buf - 1);
            return RC_EXIT_USAGE;
        }
        memcpy(buf, env, n);
    } else {
        return RC_EXIT_OK;
    }
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    if (!n) {
        rc_log_error(&cli->log, "token",
                     "%s is empty: give a token, or unset it to refuse every "
                     "mutating request",
                     file && file[0] ? "R2CACHE_API_TOKEN_FILE's file" : "R2CACHE_API_TOKEN");
        return RC_EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) {
            rc_log_error(&cli->log, "token",
                         "the API token holds a space or a control "
                         "character: use printable ASCII only");
            return RC_EXIT_USAGE;
        }
    *tok = strdup(buf);
    memset(buf, 0, sizeof buf);
    return *tok ? RC_EXIT_OK : RC_EXIT_PARTIAL;
}

/* After the configuration: the listen address and the token, before the
 * store opens; no configured source means no fill jobs (and no source). */
static rc_exit prepare(rc_cli *cli)
{
    serve_args *a = cli->args;
    rc_err e;
    rc_err_clear(&e);
    const char *listen = a->listen ? a->listen : cli->cfg.serve.listen;
    if (rc_server_parse_listen(listen, a->host, sizeof a->host, &a->port, &e) != RC_OK) {
        rc_log_error(&cli->log, "error", "%s%s",
                     a->listen ? "--listen: " : "serve.listen: ", e.msg);
        return RC_EXIT_USAGE;
    }
    rc_exit code = load_token(cli, &a->token);
    if (code) return code;
    if (!cli->cfg.source_url && !cli->cfg.sources) cli->needs &= ~(unsigned)RC_NEED_SOURCE;
    return RC_EXIT_OK;
}

static void release(void *args)
{
    serve_args *a = args;
    free(a->token);
}

const rc_cmd_spec rc_cmd_serve_spec = {
    "r2cache serve --config FILE [--listen ADDR:PORT] [--store URL] [--source URL] "
    "[--layout seed|viewer]",
    "Serve the cache over HTTP (foreground): GET /api/cache-status (= inventory --json),\n"
    "POST /api/backfill and /gaps/backfill[/auto|/range] (fill jobs), GET /api/jobs[/ID],\n"
    "DELETE /api/jobs/ID, GET /gaps/summary, /gaps/detect (= gaps --json), /metrics,\n"
    "/healthz, /readyz, / (the HTML availability page) and /fdsnws/ (FDSN dataselect and\n"
    "availability over the cache). POST and DELETE need \"Authorization: Bearer TOKEN\"\n"
    "with the token from R2CACHE_API_TOKEN or the file R2CACHE_API_TOKEN_FILE names.\n"
    "Limits, CORS and jobs: the \"serve\" block of the configuration. SIGTERM or SIGINT\n"
    "stops it cleanly (running fills stop after the chunk in hand; exit 0).",
    serve_opts,
    sizeof(serve_args),
    NULL,
    NULL,
    prepare,
    release};

rc_exit rc_cmd_serve(rc_cli *cli)
{
    serve_args *a = cli->args;
    rc_err e;
    rc_err_clear(&e);
    const char *listen = a->listen ? a->listen : cli->cfg.serve.listen;
    const char *host = a->host;
    char *token = a->token; /* ours now: freed below as before */
    a->token = NULL;
    const rc_serve_config *sc = &cli->cfg.serve;
    rc_jobs *jobs = NULL;
    rc_api *api = NULL;
    rc_server *srv = NULL;
    rc_mspack_init(); /* libmseed packer globals, before any thread packs */
    int rc = rc_jobs_new(sc->jobs_workers, sc->jobs_max_queued, &jobs, &e);
    if (rc == RC_OK) {
        rc_api_opts ao = {&cli->cfg,
                          cli->cfg.store_url ? cli->cfg.store_url : "./r2cache-data",
                          rc_store_options(cli->store),
                          cli->source ? cli->cfg.source_url : NULL,
                          cli->source ? rc_source_options(cli->source) : NULL,
                          &cli->log,
                          jobs};
        rc = rc_api_new(&ao, &api, &e);
    }
    if (rc == RC_OK) {
        rc_server_opts so = {sc, listen, token, &cli->log, rc_api_routes(), api, rc_api_observe};
        rc = rc_server_start(&so, &srv, &e);
    }
    if (token) memset(token, 0, strlen(token));
    if (rc != RC_OK) {
        rc_log_error(&cli->log, "error", "%s", e.msg);
        rc_api_free(api);
        rc_jobs_free(jobs);
        free(token);
        return rc == RC_EUNUSABLE ? RC_EXIT_UNUSABLE : rc_cli_exit_for(rc);
    }
    rc_log_info(&cli->log, "listen",
                "listening on http://%s%s%s:%d (store %s, source %s, %d job workers, API token "
                "%s)",
                strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
                rc_server_port(srv), rc_store_describe(cli->store),
                cli->source ? rc_source_describe(cli->source) : "none", sc->jobs_workers,
                token ? "configured" : "not configured (POST and DELETE answer 403)");
    double next_probe = 0, t = 0;
    while (!*cli->stop) {
        if (!rc_server_is_ready(srv) && t >= next_probe) {
            rc_err pe;
            rc_err_clear(&pe);
            if (rc_api_probe(api, &pe) == RC_OK) {
                rc_server_set_ready(srv, 1);
                rc_log_info(&cli->log, "ready", "the store answered: serving every endpoint");
            } else {
                rc_log_warn(&cli->log, "starting",
                            "store not reachable yet (%s); answering 503 "
                            "and asking again in 5 s",
                            pe.msg);
                next_probe = t + 5;
            }
        }
        nap(0.1);
        t += 0.1;
    }
    rc_log_info(&cli->log, "stop",
                "signal received: no new connections; running jobs stop "
                "after the chunk in hand");
    rc_server_quiesce(srv);
    rc_jobs_shutdown(jobs); /* wakes every request waiting for a job */
    nap(0.3);               /* let woken requests send their answers */
    rc_server_stop(srv);
    rc_api_free(api);
    rc_jobs_free(jobs);
    free(token);
    rc_log_info(&cli->log, "stop", "stopped");
    return RC_EXIT_OK;
}
