/*
 * main.c: the command table. One row per subcommand, one cmd_*.c file each
 * (git's layout). The only process-wide state is the stop flag that
 * SIGTERM/SIGINT set, because a signal handler can reach nothing else.
 */
#include "r2cache/cli.h"
#include "r2cache/inventory.h"
#include "r2cache/version.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libmseed.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
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
    int (*fn)(rc_cli *cli, int argc, char **argv);
    const char *summary;
} rc_command;

static const rc_command commands[] = {
    {"run", rc_cmd_run, "cache the latest windows of every station (the cron job)"},
    {"fill", rc_cmd_fill, "backfill a range: only what is missing, resumable, polite"},
    {"get", rc_cmd_get, "print cached samples of one channel"},
    {"gaps", rc_cmd_gaps, "report missing windows as gaps (minor, moderate, critical)"},
    {"migrate", rc_cmd_migrate, "copy a cache to the other key layout (seed, viewer), verified"},
    {"inventory", rc_cmd_inventory, "what is cached per station, volcano, location or all (JSON, HTML)"},
    {"verify", rc_cmd_verify, "check manifests against blobs and blobs against manifests; --repair"},
    {"reindex", rc_cmd_reindex, "rebuild manifests and inventory summaries from the blobs"},
    {"serve", rc_cmd_serve, "HTTP API over the cache: cache-status, backfill jobs, gaps, metrics"},
    {NULL, NULL, NULL}};

static void usage(FILE *out)
{
    fprintf(out, "usage: r2cache COMMAND [options]\n\n"
                 "Keeps seismic waveforms cached in object storage as zstd chunks with daily "
                 "manifests.\n\ncommands:\n");
    for (const rc_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n`r2cache COMMAND --help` shows a command's options. `r2cache --version` "
                 "shows versions.\n"
                 "exit status: 0 success, 1 partial failure, 2 usage or configuration error,\n"
                 "3 store or source unusable\n");
}

static void version(void)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("r2cache %s\n", R2CACHE_VERSION);
    printf("libcurl %s (%s), libzstd %s, cJSON %s, libmseed %s, %s\n", cv->version,
           cv->ssl_version ? cv->ssl_version : "no TLS", ZSTD_versionString(), cJSON_Version(),
           LIBMSEED_VERSION, OpenSSL_version(OPENSSL_VERSION));
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
        version();
        return RC_EXIT_OK;
    }
    const rc_command *cmd = NULL;
    for (const rc_command *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0)
            cmd = c;
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
    int code = cmd->fn(&cli, argc - 2, argv + 2);
    rc_cli_free(&cli);
    curl_global_cleanup();
    return code;
}
