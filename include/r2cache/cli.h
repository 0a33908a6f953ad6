/*
 * cli.h: what every subcommand shares: option tables (which also generate
 * --help and are checked against the man page), the common options (config,
 * source, store, layout, scope, output, logging), and turning them into an
 * opened configuration, store and source. Exit codes live here.
 */
#ifndef R2CACHE_CLI_H
#define R2CACHE_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "r2cache/config.h"
#include "r2cache/log.h"
#include "r2cache/source.h"
#include "r2cache/store.h"

enum {
    RC_EXIT_OK = 0,       /* everything asked for was done */
    RC_EXIT_PARTIAL = 1,  /* some channels or windows failed, or interrupted */
    RC_EXIT_USAGE = 2,    /* usage or configuration error: nothing was done */
    RC_EXIT_UNUSABLE = 3  /* store or source unusable (auth, unreachable, missing bucket) */
};

#define RC_CLI_MAX_STATIONS 256

/* Which common option groups a command accepts. */
enum {
    RC_OPT_CONFIG = 1 << 0, /* --config --source --store --layout */
    RC_OPT_SCOPE = 1 << 1,  /* --station --volcano --location --all */
    RC_OPT_RANGE = 1 << 2,  /* --from --to */
    RC_OPT_NOW = 1 << 3,    /* --now */
    RC_OPT_JSON = 1 << 4,   /* --json */
    RC_OPT_SHARD = 1 << 5,  /* --shard I/N */
    RC_OPT_METRICS = 1 << 6, /* --metrics-file FILE --metrics-push URL */
    RC_OPT_ARGS = 1 << 7     /* takes positional arguments (others refuse them) */
};

typedef struct rc_cli_opt {
    const char *name; /* long name without dashes */
    const char *arg;  /* NULL = flag, else the metavariable shown in help */
    const char *help;
    int id;
} rc_cli_opt;

typedef struct rc_cli {
    const char *cmd;
    unsigned groups;
    /* common options as given */
    const char *config_path;
    const char *source_url;
    const char *store_url;
    const char *layout;
    const char *stations[RC_CLI_MAX_STATIONS];
    size_t nstations;
    const char *volcano;
    const char *location;
    int all;
    const char *from_s, *to_s, *now_s;
    int json;
    int shard_index, shard_count;
    int include_inactive;
    const char *metrics_file, *metrics_push;
    double started; /* CLOCK_MONOTONIC seconds when parsing began */
    rc_log log;
    /* resolved */
    int64_t now, from, to;
    rc_config cfg;
    int have_cfg;
    rc_store *store;
    rc_source *source;
    rc_target *targets;
    size_t ntargets;
    volatile sig_atomic_t *stop;
    const char *positional[8];
    size_t npositional;
} rc_cli;

/*
 * Parse argv (after the subcommand name). Common groups plus the command's
 * own options (own[], terminated by a NULL name); for each own option
 * on_opt(ud, id, value) is called. Returns RC_EXIT_OK, or RC_EXIT_USAGE after
 * printing a message naming the option; "--help" prints help and sets *help.
 */
int rc_cli_parse(rc_cli *cli, int argc, char **argv, const rc_cli_opt *own,
                 int (*on_opt)(void *ud, int id, const char *val), void *ud, const char *usage,
                 const char *description, int *help);

/* Print the help of a command: usage line, description, every option. */
void rc_cli_help(FILE *out, const rc_cli *cli, const rc_cli_opt *own, const char *usage,
                 const char *description);

/* Load the configuration (if RC_OPT_CONFIG), apply overrides, resolve times,
 * select targets (if RC_OPT_SCOPE). On error prints the message and returns
 * the exit code to use (RC_EXIT_USAGE). */
int rc_cli_setup(rc_cli *cli);
/* Open the store (and the source when need_source). Returns an exit code. */
int rc_cli_open(rc_cli *cli, int need_source);
void rc_cli_free(rc_cli *cli);

/* Write (--metrics-file) and push (--metrics-push) the summary of a run or
 * fill as Prometheus text; failures are logged as warnings, never fatal.
 * stations_failed < 0 when the command does not count failed channels. */
struct rc_engine_stats;
void rc_cli_metrics(const rc_cli *cli, const char *command, const struct rc_engine_stats *stats,
                    int exit_status, long stations_failed);

/*
 * The exit status of a command that ran the engine: logs the error of rc (a
 * stop by signal as a warning, with stop_hint appended when given) and maps
 * it: unusable store/source 3, interrupted or failed 1, otherwise 1 when
 * any_failed, else 0.
 */
int rc_cli_engine_status(const rc_cli *cli, int rc, const rc_err *e, int any_failed,
                         const char *stop_hint);

/* Map a status to an exit code (EAUTH/EUNUSABLE -> 3, EINVAL -> 2, else 1). */
int rc_cli_exit_for(int status);

/* Commands (one file each). */
int rc_cmd_run(rc_cli *cli, int argc, char **argv);
int rc_cmd_get(rc_cli *cli, int argc, char **argv);
int rc_cmd_fill(rc_cli *cli, int argc, char **argv);
int rc_cmd_gaps(rc_cli *cli, int argc, char **argv);
int rc_cmd_migrate(rc_cli *cli, int argc, char **argv);
int rc_cmd_serve(rc_cli *cli, int argc, char **argv);

#endif
