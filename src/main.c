/*
 * main.c: the command table. One row per subcommand, one cmd_*.c file each
 * (git's layout): the row says which common option groups the command
 * takes and what it needs opened; main parses, sets up and opens once, then
 * calls the command. The only process-wide state is the stop flag that
 * SIGTERM/SIGINT set, because a signal handler can reach nothing else.
 */
#include "r2cache/awscred.h"
#include "r2cache/cli.h"
#include "r2cache/version.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libmseed.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static volatile sig_atomic_t g_stop;

/* libmseed prints its own diagnostics to stderr; r2cache reports every
 * decoding problem itself (per channel, with the byte offset), in the log
 * format the operator chose, so libmseed's raw lines are dropped. */
static void mseed_quiet(char *msg)
{
    (void)msg;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct rc_command {
    const char *name;
    rc_exit (*fn)(rc_cli *cli);
    const rc_cmd_spec *spec;
    unsigned flags; /* RC_OPT_* groups and RC_NEED_* */
    const char *summary;
} rc_command;

#define RANGE (RC_OPT_RANGE | RC_NEED_RANGE)
#define STORE RC_NEED_STORE
#define FETCH (RC_NEED_STORE | RC_NEED_SOURCE)

static const rc_command commands[] = {
    {"run", rc_cmd_run, &rc_cmd_run_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_NOW | RC_OPT_JSON | RC_OPT_SHARD | RC_OPT_METRICS |
         FETCH,
     "cache the latest windows of every station (the cron job)"},
    {"fill", rc_cmd_fill, &rc_cmd_fill_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RANGE | RC_OPT_NOW | RC_OPT_JSON | RC_OPT_SHARD |
         RC_OPT_METRICS | FETCH,
     "backfill a range: only what is missing, resumable, polite"},
    {"get", rc_cmd_get, &rc_cmd_get_spec, RC_OPT_CONFIG | RANGE | RC_OPT_JSON | RC_OPT_ARGS | STORE,
     "cached samples of one channel as CSV, raw int32, miniSEED or JSON"},
    {"gaps", rc_cmd_gaps, &rc_cmd_gaps_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RANGE | RC_OPT_NOW | RC_OPT_JSON | RC_OPT_SHARD |
         RC_OPT_METRICS | FETCH,
     "report missing windows as gaps (minor, moderate, critical)"},
    {"migrate", rc_cmd_migrate, &rc_cmd_migrate_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RANGE | RC_OPT_NOW | RC_OPT_JSON | STORE,
     "copy a cache to the other key layout (seed, viewer), verified"},
    {"inventory", rc_cmd_inventory, &rc_cmd_inventory_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_NOW | RC_OPT_JSON | RC_OPT_METRICS |
         STORE,
     "what is cached per station, volcano, location or all (JSON, HTML)"},
    {"verify", rc_cmd_verify, &rc_cmd_verify_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_JSON | STORE,
     "check manifests against blobs and blobs against manifests; --repair"},
    {"reindex", rc_cmd_reindex, &rc_cmd_reindex_spec,
     RC_OPT_CONFIG | RC_OPT_SCOPE | RC_OPT_RANGE | RC_OPT_JSON | STORE,
     "rebuild manifests and inventory summaries from the blobs"},
    {"serve", rc_cmd_serve, &rc_cmd_serve_spec, RC_OPT_CONFIG | FETCH,
     "HTTP API over the cache: cache-status, backfill jobs, gaps, metrics"},
    {NULL, NULL, NULL, 0, NULL}};

/* Parse, check, set up and open what the row asks for, run the command. */
static rc_exit run_command(const rc_command *cmd, rc_cli *cli, int argc, char **argv)
{
    const rc_cmd_spec *spec = cmd->spec;
    cli->groups = cmd->flags & (RC_NEED_RANGE - 1);
    cli->needs = cmd->flags & ~(RC_NEED_RANGE - 1);
    rc_exit code = RC_EXIT_OK;
    if (spec->args_size && !(cli->args = calloc(1, spec->args_size))) {
        fprintf(stderr, "r2cache %s: out of memory\n", cmd->name);
        return RC_EXIT_PARTIAL;
    }
    if (spec->defaults) spec->defaults(cli->args);
    if ((code = rc_cli_parse(cli, spec, argc, argv)) || cli->help) goto out;
    if (spec->check && (code = spec->check(cli))) goto out;
    if ((code = rc_cli_setup(cli))) goto out;
    if (spec->prepare && (code = spec->prepare(cli))) goto out;
    if ((cli->needs & RC_NEED_STORE) &&
        (code = rc_cli_open(cli, (cli->needs & RC_NEED_SOURCE) != 0)))
        goto out;
    code = cmd->fn(cli);
out:
    if (spec->release && cli->args) spec->release(cli->args);
    free(cli->args);
    cli->args = NULL;
    return code;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: r2cache COMMAND [options]\n\n"
                 "Keeps seismic waveforms cached in object storage as zstd chunks with daily "
                 "manifests.\n\ncommands:\n");
    for (const rc_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n`r2cache COMMAND --help` shows a command's options. `r2cache --version` "
                 "shows versions\n(`--version --verbose`: and where S3 keys come from).\n"
                 "exit status: 0 success, 1 partial failure, 2 usage or configuration error,\n"
                 "3 store or source unusable\n");
}

static void version(int verbose)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("r2cache %s\n", R2CACHE_VERSION);
    printf("libcurl %s (%s), libzstd %s, cJSON %s, libmseed %s, %s\n", cv->version,
           cv->ssl_version ? cv->ssl_version : "no TLS", ZSTD_versionString(), cJSON_Version(),
           LIBMSEED_VERSION, OpenSSL_version(OPENSSL_VERSION));
    if (!verbose) return;
    /* where an s3:// store would take its keys from (no network, no secret) */
    rc_awscred *c = NULL;
    rc_err e = {0};
    if (rc_awscred_open(NULL, &c, &e) != RC_OK) {
        printf("S3 credentials: none usable: %s\n", e.msg);
        return;
    }
    const char *rw, *ew;
    const char *region = rc_awscred_region(c, &rw), *ep = rc_awscred_endpoint(c, &ew);
    printf("S3 credentials: %s\n", rc_awscred_source(c));
    if (region) printf("S3 region from the profile: %s (%s)\n", region, rw);
    if (ep) printf("S3 endpoint from the profile: %s (%s)\n", ep, ew);
    rc_awscred_free(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return RC_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        version(argc > 2 && strcmp(argv[2], "--verbose") == 0);
        return RC_EXIT_OK;
    }
    const rc_command *cmd = NULL;
    for (const rc_command *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0) cmd = c;
    if (!cmd) {
        fprintf(stderr, "r2cache: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return RC_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ms_loginit(mseed_quiet, NULL, mseed_quiet, NULL);
    rc_cli cli;
    memset(&cli, 0, sizeof cli);
    cli.cmd = cmd->name;
    cli.stop = &g_stop;
    rc_exit code = run_command(cmd, &cli, argc - 2, argv + 2);
    rc_cli_free(&cli);
    curl_global_cleanup();
    return code;
}
