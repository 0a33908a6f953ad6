/*
 * cli.h: what every subcommand shares: option tables bound to their values
 * by offset (they also generate --help, checked against the man page), the
 * common options (config, source, store, layout, scope, output, logging),
 * the spec each cmd_X.c exports, and turning the options into an opened
 * configuration, store and source. main.c's command table runs parse ->
 * check -> setup -> prepare -> open -> command once for every command
 * (docs/architecture.md, "Adding a subcommand"). Exit codes are err.h's
 * rc_exit.
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

#define RC_CLI_MAX_STATIONS 256

/* A command's row in main.c: which common option groups it accepts and
 * what main opens for it before calling it. */
enum {
    RC_OPT_CONFIG = 1 << 0,  /* --config --source --store --layout --include-inactive */
    RC_OPT_SCOPE = 1 << 1,   /* --station --volcano --region (--location) --all */
    RC_OPT_RANGE = 1 << 2,   /* --from --to */
    RC_OPT_NOW = 1 << 3,     /* --now */
    RC_OPT_JSON = 1 << 4,    /* --json */
    RC_OPT_SHARD = 1 << 5,   /* --shard I/N */
    RC_OPT_METRICS = 1 << 6, /* --metrics-file FILE --metrics-push URL */
    RC_OPT_ARGS = 1 << 7,    /* takes positional arguments (others refuse them) */
    RC_NEED_RANGE = 1 << 8,  /* setup refuses a --to that is not after --from */
    RC_NEED_STORE = 1 << 9,  /* open the store before the command runs */
    RC_NEED_SOURCE = 1 << 10 /* open the source too (a check or prepare hook may drop it) */
};

struct rc_cli;

/* What an option does with its value. */
typedef enum rc_opt_kind {
    RC_ARG_FLAG = 0, /* int at off = 1; takes no value */
    RC_ARG_STRING,   /* const char * at off = the value (borrowed from argv) */
    RC_ARG_INT,      /* int at off = atoi(value), refused outside [min, max] */
    RC_ARG_FN        /* fn(cli, value) stores it; nonzero = usage error (it printed why) */
} rc_opt_kind;

/*
 * One option (git's parse-options): the table is constant data and binds
 * each option to a field by offset, into the command's argument struct
 * (cli->args) for a command's own options or into rc_cli for the common
 * groups, so parsing needs no switch and no global holds a value. Rows are
 * written with the macros below; a table ends with RC_OPT_END.
 */
typedef struct rc_cli_opt {
    const char *name; /* long name without dashes */
    char short_name;  /* -x, or 0 */
    rc_opt_kind kind;
    size_t off;      /* where the value goes */
    const char *arg; /* the metavariable shown in help (NULL for a flag) */
    const char *help;
    int min, max;                                   /* RC_ARG_INT */
    int (*fn)(struct rc_cli *cli, const char *val); /* RC_ARG_FN */
} rc_cli_opt;

/* clang-format off */
#define RC_OPT_FLAG(name, type, field, help)                                                   \
    {(name), 0, RC_ARG_FLAG, offsetof(type, field), NULL, (help), 0, 0, NULL}
#define RC_OPT_STRING(name, metavar, type, field, help)                                        \
    {(name), 0, RC_ARG_STRING, offsetof(type, field), (metavar), (help), 0, 0, NULL}
#define RC_OPT_INT(name, metavar, type, field, lo, hi, help)                                   \
    {(name), 0, RC_ARG_INT, offsetof(type, field), (metavar), (help), (lo), (hi), NULL}
#define RC_OPT_FN(name, metavar, fn, help)                                                     \
    {(name), 0, RC_ARG_FN, 0, (metavar), (help), 0, 0, (fn)}
#define RC_OPT_END {NULL, 0, RC_ARG_FLAG, 0, NULL, NULL, 0, 0, NULL}
/* clang-format on */

/*
 * What a command file exports besides its function: its help, its own
 * options and the struct they fill, and up to two hooks main runs around
 * the shared setup. Each hook returns an exit code (RC_EXIT_OK to go on)
 * and prints its own message.
 */
typedef struct rc_cmd_spec {
    const char *usage;
    const char *description;
    const rc_cli_opt *options;    /* own options, bound into the args struct */
    size_t args_size;             /* sizeof the args struct (0: none) */
    void (*defaults)(void *args); /* before parsing; may be NULL */
    /* after parsing, before the configuration is loaded: checks that need
     * no configuration; may drop RC_NEED_SOURCE from cli->needs */
    rc_exit (*check)(struct rc_cli *cli);
    /* after setup (configuration, times, targets), before the store opens;
     * may drop RC_NEED_SOURCE too (serve without a configured source) */
    rc_exit (*prepare)(struct rc_cli *cli);
    void (*release)(void *args); /* always, at the end; may be NULL */
} rc_cmd_spec;

typedef struct rc_cli {
    const char *cmd;
    unsigned groups; /* RC_OPT_* of the command's row */
    unsigned needs;  /* RC_NEED_* of the row, as the check hook left them */
    void *args;      /* the command's own options (rc_cmd_spec.args_size bytes) */
    /* common options as given */
    const char *config_path;
    const char *source_url;
    const char *store_url;
    const char *layout;
    const char *stations[RC_CLI_MAX_STATIONS];
    size_t nstations;
    const char *volcano;
    const char *region; /* --region, or its old name --location */
    int all;
    const char *from_s, *to_s, *now_s;
    int json;
    int shard_index, shard_count;
    int workers; /* --workers N, -1 when not given */
    int include_inactive;
    const char *metrics_file, *metrics_push;
    int help;
    rc_log_level log_level;
    rc_log_format log_format;
    double started; /* CLOCK_MONOTONIC seconds when parsing began */
    rc_log log;
    int subsecond; /* --from/--to may have a fractional second (get; set by its check) */
    /* resolved */
    int64_t now, from, to; /* seconds; with subsecond, from and to are floor(us / 1e6) */
    int64_t from_us, to_us;
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
 * Parse argv (after the subcommand name): the common groups of cli->groups
 * plus spec's own options, bound into cli->args. Returns RC_EXIT_OK, or
 * RC_EXIT_USAGE after printing a message naming the option; "--help" prints
 * help and sets cli->help.
 */
rc_exit rc_cli_parse(rc_cli *cli, const rc_cmd_spec *spec, int argc, char **argv);

/* Print the help of a command: usage line, description, every option. */
void rc_cli_help(FILE *out, const rc_cli *cli, const rc_cmd_spec *spec);

/* Resolve times (with RC_NEED_RANGE: refuse a --to that is not after
 * --from), load the configuration (if RC_OPT_CONFIG) and apply overrides,
 * select targets (if RC_OPT_SCOPE). On error prints the message and returns
 * the exit code to use (RC_EXIT_USAGE). */
rc_exit rc_cli_setup(rc_cli *cli);
/* Open the store (and the source when need_source). */
rc_exit rc_cli_open(rc_cli *cli, int need_source);
void rc_cli_free(rc_cli *cli);

/* Write (--metrics-file) and push (--metrics-push) the summary of a run or
 * fill as Prometheus text; failures are logged as warnings, never fatal.
 * stations_failed < 0 when the command does not count failed channels. */
struct rc_engine_stats;
void rc_cli_metrics(const rc_cli *cli, const char *command, const struct rc_engine_stats *stats,
                    rc_exit exit_status, long stations_failed);

/* The same with more Prometheus families appended (extra: text of
 * rc_metrics_channels or rc_gaps_metrics, or NULL). Commands other than run
 * and fill write only the status families (timestamp, duration, exit
 * status, stations) before extra. */
void rc_cli_metrics_extra(const rc_cli *cli, const char *command,
                          const struct rc_engine_stats *stats, rc_exit exit_status,
                          long stations_failed, const char *extra);

/*
 * The status word of every --json answer (docs/operations.md, "JSON
 * output"): "complete" for exit 0, "partial" or (stopped by a signal)
 * "interrupted" for exit 1, "failed" for 2 and 3. verify and gaps say
 * "damaged" themselves when what they found is the reason for exit 1.
 */
const char *rc_cli_status_word(rc_exit code, int interrupted);

/* Print o on stdout as the command's --json answer: "command", "version"
 * (R2CACHE_VERSION) and "status" first (status NULL: o's own "status"), then
 * o's other fields in their order. Takes o (NULL: says out of memory). */
struct cJSON;
void rc_cli_print_json(const rc_cli *cli, struct cJSON *o, const char *status);

/*
 * The exit status of a command that ran the engine: logs the error of rc (a
 * stop by signal as a warning, with stop_hint appended when given) and maps
 * it: unusable store/source 3, interrupted or failed 1, otherwise 1 when
 * any_failed, else 0.
 */
rc_exit rc_cli_engine_status(const rc_cli *cli, rc_status rc, const rc_err *e, int any_failed,
                             const char *stop_hint);

/* The former name of rc_exit_for (err.h), for call sites not yet renamed. */
#define rc_cli_exit_for(status) rc_exit_for((rc_status)(status))

/* Commands (one file each, cmd_X.c): the spec main parses and sets up
 * with, and the function it then calls. */
#define RC_COMMAND(x)                                                                              \
    extern const rc_cmd_spec rc_cmd_##x##_spec;                                                    \
    rc_exit rc_cmd_##x(rc_cli *cli)
RC_COMMAND(run);
RC_COMMAND(fill);
RC_COMMAND(get);
RC_COMMAND(gaps);
RC_COMMAND(migrate);
RC_COMMAND(inventory);
RC_COMMAND(verify);
RC_COMMAND(reindex);
RC_COMMAND(serve);

#endif
