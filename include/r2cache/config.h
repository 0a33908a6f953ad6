/*
 * config.h: the JSON configuration (schemas/config.schema.json, config.c) and
 * the selection of channels a command works on (select.c).
 *
 * Two inputs are accepted by --config:
 *   r2cache's own file (examples/hearts.json): source, store, layout, spans,
 *   selection {max_distance_km, data_types, max_stations_per_volcano},
 *   volcanoes[] {name, location, latitude, longitude, stations[]};
 *   the deployed viewer's stations_config.json: config{max_distance_km,
 *   data_types}, networks{NET:{volcano:[{station, location ("--" = empty),
 *   channel, distance_km, sample_rate, active}]}}.
 * Errors name the field by its JSON path ("volcanoes[2].stations[0].channel").
 */
#ifndef R2CACHE_CONFIG_H
#define R2CACHE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/codec_compact.h"
#include "r2cache/err.h"
#include "r2cache/naming.h"

struct rc_srcauth; /* srcauth.h */

typedef enum rc_data_type { RC_TYPE_SEISMIC = 1, RC_TYPE_INFRASOUND = 2 } rc_data_type;

typedef struct rc_station {
    rc_chan chan;
    rc_data_type type;
    double distance_km; /* < 0 when not given */
    char instrument_type[64];
    int has_coords;
    double latitude, longitude, elevation_m;
    double sample_rate; /* 0 = learn from the data */
    int active;         /* stations_config.json "active"; 1 otherwise */
} rc_station;

typedef struct rc_volcano {
    char name[RC_VOLCANO_MAX];     /* lower case, used in keys */
    char location[RC_VOLCANO_MAX]; /* region: hawaii, alaska */
    int has_coords;
    double latitude, longitude;
    rc_station *stations;
    size_t nstations;
} rc_volcano;

/* The "serve" block: how `r2cache serve` listens and what it allows. */
#define RC_SERVE_MAX_ORIGINS 16
typedef struct rc_serve_config {
    char listen[128]; /* ADDR:PORT, default 127.0.0.1:8080; port 0 = any free */
    char cors_origins[RC_SERVE_MAX_ORIGINS][256]; /* allowed Origin values; "*" = any */
    int ncors_origins;
    size_t max_body_bytes;    /* request body limit, default 65536 (413 beyond) */
    int max_connections;      /* concurrent HTTP connections, default 64 */
    int connection_timeout_s; /* idle connection timeout, default 30 */
    int threads;              /* HTTP worker threads, default 4 */
    int read_requires_token;  /* GETs need the bearer token too, default 0 */
    int cache_ms;             /* cache-status and / answers reused this long, default 1000 */
    int jobs_workers;         /* fill jobs run at once, default 1 */
    int jobs_max_queued;      /* jobs waiting, default 16 (429 beyond) */
} rc_serve_config;

/* At most this many ages in "recheck_no_data". */
#define RC_RECHECK_MAX 16

typedef struct rc_config {
    char *path;       /* file it came from */
    char *source_url; /* NULL if absent */
    char *store_url;  /* NULL = ./r2cache-data */
    rc_layout layout;
    int spans[RC_SPAN_COUNT]; /* 1 = build this span; default 10m and 6h */
    /* selection rule */
    double max_distance_km;       /* < 0 = no limit */
    unsigned data_types;          /* mask of rc_data_type; default seismic */
    int max_stations_per_volcano; /* 0 = no limit; closest first */
    int include_inactive;
    /* run behaviour */
    int64_t lookback_s;            /* default 3600 */
    int64_t delay_s;               /* default 120 */
    int64_t retry_interval_s;      /* default 30 */
    int64_t retry_max_s;           /* default 120 */
    double completeness_threshold; /* default 0.95 */
    int zstd_level;                /* default 3 */
    int workers;                   /* shape/compress/hash threads; 0 = the cores, at most 8 */
    rc_codec_id codec;             /* chunk codec, default int32-zstd */
    int max_connections;           /* data centre connections, default 3, cap 5 */
    /* data centre politeness and patience ("fetch" object) */
    int fetch_max_attempts;              /* default 5 */
    double fetch_backoff_base_s;         /* default 1 */
    double fetch_backoff_cap_s;          /* default 30 */
    double fetch_timeout_s;              /* whole request, default 120 */
    double fetch_stall_timeout_s;        /* default 30 */
    double fetch_rate_limit_rps;         /* default 0 = none */
    char cache_control_final[128];       /* default public, max-age=31536000, immutable */
    char cache_control_provisional[128]; /* default public, max-age=60 */
    char cache_control_manifest[128];    /* default public, max-age=60 */
    /* S3 settings from the file (environment fills the rest) */
    char *s3_endpoint;
    char *s3_region;
    char *s3_addressing; /* "path" | "virtual" | NULL */
    char *ca_bundle;
    double s3_stall_timeout_s; /* 0 = the store's default (30) */
    rc_serve_config serve;     /* the "serve" block (r2cache serve) */
    /* "recheck_no_data": ages of the data (time since a window's end) at
     * which a window the source confirmed empty is asked again; ascending.
     * Default 1h, 6h, 1d, 3d, 7d; past the last, only --recheck/--force. */
    int64_t recheck_ages[RC_RECHECK_MAX];
    int nrecheck;
    /* "source_auth": where the source's credentials for restricted data are
     * (srcauth.h; the secrets are read when the source opens); NULL = open data */
    struct rc_srcauth *source_auth;
    /* "source_availability": ask the source's fdsnws-availability first and
     * fetch only the windows it lists (default false) */
    int source_availability;
    rc_volcano *volcanoes;
    size_t nvolcanoes;
} rc_config;

/* Defaults only (no volcanoes). */
void rc_config_defaults(rc_config *c);
/* A configuration file larger than this is refused (--config /dev/zero). */
#define RC_CONFIG_MAX_BYTES (64 << 20)
/* Load and validate. RC_EINVAL with "FILE: FIELD: what is wrong" on error;
 * a name given twice in one JSON object is an error naming its path. */
int rc_config_load(const char *path, rc_config *c, rc_err *e);
int rc_config_parse(const char *json, size_t len, const char *name, rc_config *c, rc_err *e);
void rc_config_free(rc_config *c);
/* The codec against the layout: a viewer-layout store is read by the
 * browser viewer, which decodes int32-zstd only. RC_EINVAL naming both. */
int rc_config_check_codec(const rc_config *c, rc_err *e);
/* Shortest configured span (the base span). */
rc_span rc_config_base_span(const rc_config *c);

/* What a command works on (select.c). */
typedef struct rc_scope {
    const char *const *stations; /* NET.STA.LOC.CHA or patterns, may be NULL */
    size_t nstations;
    const char *volcano; /* may be NULL */
    const char *region;  /* a volcano's "location" (hawaii, alaska); may be NULL */
    int all;
    /* shard I of N (N = 0: no sharding) */
    int shard_index, shard_count;
} rc_scope;

typedef struct rc_target {
    const rc_station *st;
    const rc_volcano *volc;
} rc_target;

/*
 * Channels of the configuration that pass the selection rule and the scope,
 * in configuration order. A station given exactly overrides the rule; a
 * pattern (with `*` or `?`, see rc_select_pattern_parse) chooses among the
 * channels the rule keeps. A --station, pattern, --volcano or --region that
 * matches nothing in the configuration is RC_EINVAL naming it. *out is
 * malloc'd.
 */
int rc_config_select(const rc_config *c, const rc_scope *scope, rc_target **out, size_t *n,
                     rc_err *e);

/* A --station pattern: NET.STA.LOC.CHA, each component A-Z 0-9 with `*`
 * (any run, none included) and `?` (one character); an empty location (or
 * "--") matches only the empty code. */
typedef struct rc_select_pattern {
    char part[4][RC_CODE_MAX * 2];
} rc_select_pattern;

/* 1 when s has `*` or `?` (a pattern rather than one channel). */
int rc_select_is_pattern(const char *s);
/* RC_EINVAL naming s and the component when it is not a pattern. */
int rc_select_pattern_parse(const char *s, rc_select_pattern *p, rc_err *e);
int rc_select_pattern_match(const rc_select_pattern *p, const rc_chan *c);

/* The target of channel c under volcano volc in t[0..n), or NULL. */
const rc_target *rc_target_find(const rc_target *t, size_t n, const rc_chan *c, const char *volc);

/* Stable shard of a channel: FNV-1a of "NET.STA.LOC.CHA" modulo count. */
int rc_shard_of(const rc_chan *c, int count);

#endif
