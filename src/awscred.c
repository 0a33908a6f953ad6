/*
 * awscred.c: the credential chain (order and rules: awscred.h), the shared
 * files' INI dialect and the STS AssumeRoleWithWebIdentity call.
 *
 * INI as the aws CLI reads it: "[section]" headers, "name = value" lines
 * (names case-insensitive), "#" or ";" comments on their own line or after
 * whitespace, blank lines; an indented "name = value" under a "name =" line
 * with an empty value is a sub-setting ("s3 =" / "  endpoint_url = ...",
 * kept as "s3.endpoint_url"). Anything else is an error naming FILE:LINE.
 * A missing file is not an error (it is named when no source has keys).
 */
#include "r2cache/awscred.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "r2cache/buf.h"
#include "r2cache/s3xml.h"
#include "r2cache/sigv4.h"

#define INI_MAX_BYTES (1 << 20)
#define WEBID_TOKEN_MAX (64 << 10)
#define REFRESH_MARGIN_S 300
#define STS_ATTEMPTS 3
#define STS_RETRY_PAUSE_S 15

/* ---- INI files ------------------------------------------------------- */

typedef struct ini_kv {
    char *section; /* header text, trimmed, inner blanks collapsed */
    char *key;     /* lower case; "parent.sub" for sub-settings */
    char *value;
    int line;
} ini_kv;

typedef struct ini {
    char path[4096];
    const char *var; /* the variable that named it, or NULL (default path) */
    int present;
    ini_kv *kv;
    size_t n, cap;
    char **sections; /* every header seen, so an empty section still exists */
    size_t nsec;
} ini;

static void ini_free(ini *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->kv[i].section);
        free(f->kv[i].key);
        if (f->kv[i].value) memset(f->kv[i].value, 0, strlen(f->kv[i].value));
        free(f->kv[i].value);
    }
    free(f->kv);
    for (size_t i = 0; i < f->nsec; i++)
        free(f->sections[i]);
    free(f->sections);
    f->kv = NULL;
    f->sections = NULL;
    f->n = f->cap = f->nsec = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* "profile   obs" -> "profile obs" */
static void collapse(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if ((*r == ' ' || *r == '\t') && (w == s || w[-1] == ' ')) continue;
        *w++ = *r == '\t' ? ' ' : *r;
    }
    if (w > s && w[-1] == ' ') w--;
    *w = '\0';
}

static int ini_add(ini *f, const char *section, const char *key, const char *value, int line,
                   rc_err *e)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 32;
        ini_kv *k = realloc(f->kv, nc * sizeof *k);
        if (!k) return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", f->path);
        f->kv = k;
        f->cap = nc;
    }
    ini_kv *k = &f->kv[f->n];
    k->section = strdup(section);
    k->key = strdup(key);
    k->value = strdup(value);
    k->line = line;
    if (!k->section || !k->key || !k->value) {
        free(k->section);
        free(k->key);
        free(k->value);
        return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", f->path);
    }
    for (char *p = k->key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    f->n++;
    return RC_OK;
}

static int ini_add_section(ini *f, const char *name, rc_err *e)
{
    char **s = realloc(f->sections, (f->nsec + 1) * sizeof *s);
    if (!s) return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", f->path);
    f->sections = s;
    if (!(s[f->nsec] = strdup(name))) return rc_err_set(e, RC_ENOMEM, "out of memory");
    f->nsec++;
    return RC_OK;
}

/* Cut an inline comment: "#" or ";" after a blank. */
static void cut_comment(char *v)
{
    for (char *p = v; *p; p++)
        if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
}

static int ini_parse(ini *f, char *text, rc_err *e)
{
    char section[512] = "";
    int have_section = 0;
    char parent[128] = ""; /* the "name =" line with an empty value, for sub-settings */
    size_t parent_indent = 0, last_indent = 0;
    int have_option = 0;
    int line = 0;
    char *p = text;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        line++;
        size_t indent = strspn(p, " \t");
        char *s = trim(p);
        p = nl ? nl + 1 : p + strlen(p);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end)
                return rc_err_set(e, RC_EINVAL, "%s:%d: section header without \"]\"", f->path,
                                  line);
            *end = '\0';
            char *rest = trim(end + 1);
            if (*rest && *rest != '#' && *rest != ';')
                return rc_err_set(e, RC_EINVAL, "%s:%d: text after the section header's \"]\"",
                                  f->path, line);
            char *name = trim(s + 1);
            collapse(name);
            if (!*name)
                return rc_err_set(e, RC_EINVAL, "%s:%d: empty section name \"[]\"", f->path, line);
            snprintf(section, sizeof section, "%s", name);
            have_section = 1;
            parent[0] = '\0';
            have_option = 0;
            int rc = ini_add_section(f, section, e);
            if (rc) return rc;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            return rc_err_set(e, RC_EINVAL,
                              "%s:%d: expected \"[section]\" or \"name = value\" (or a "
                              "comment starting with # or ;)",
                              f->path, line);
        *eq = '\0';
        char *key = trim(s), *val = eq + 1;
        cut_comment(val);
        val = trim(val);
        if (!*key)
            return rc_err_set(e, RC_EINVAL, "%s:%d: \"= value\" without a name", f->path, line);
        if (!have_section)
            return rc_err_set(e, RC_EINVAL,
                              "%s:%d: \"%s\" before any [section]; put it under [default] or "
                              "a [profile NAME]",
                              f->path, line, key);
        char full[300];
        if (parent[0] && indent > parent_indent) {
            snprintf(full, sizeof full, "%s.%s", parent, key);
        } else if (have_option && indent > last_indent) {
            return rc_err_set(e, RC_EINVAL,
                              "%s:%d: \"%s\" is indented more than the line before, which "
                              "makes it a continuation of that value; indent it like the "
                              "other settings",
                              f->path, line, key);
        } else {
            snprintf(full, sizeof full, "%s", key);
            have_option = 1;
            last_indent = indent;
            parent_indent = indent;
            if (!*val)
                snprintf(parent, sizeof parent, "%s", key);
            else
                parent[0] = '\0';
        }
        int rc = ini_add(f, section, full, val, line, e);
        if (rc) return rc;
    }
    return RC_OK;
}

/* Load path (missing: present = 0, not an error). */
static int ini_load(ini *f, const char *path, const char *var, rc_err *e)
{
    snprintf(f->path, sizeof f->path, "%s", path);
    f->var = var;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT || errno == ENOTDIR) return RC_OK;
        return rc_err_set(e, RC_EINVAL, "%s%s%s: cannot read (%s)", path, var ? " from " : "",
                          var ? var : "", strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return rc_err_set(e, RC_EINVAL, "%s%s%s is a directory, not a file", path,
                          var ? " from " : "", var ? var : "");
    }
    rc_buf b = RC_BUF_INIT;
    char chunk[8192];
    size_t got;
    int rc = RC_OK;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (b.len + got > INI_MAX_BYTES) {
            rc = rc_err_set(e, RC_EINVAL, "%s: larger than 1 MiB; not an AWS shared file?", path);
            break;
        }
        if (rc_buf_append(&b, chunk, got)) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory reading %s", path);
            break;
        }
    }
    if (!rc && ferror(fp)) rc = rc_err_set(e, RC_EINVAL, "%s: read error", path);
    fclose(fp);
    memset(chunk, 0, sizeof chunk);
    if (!rc) {
        f->present = 1;
        if (b.len == 0 || memchr(b.data, '\0', b.len)) {
            if (b.len && memchr(b.data, '\0', b.len))
                rc = rc_err_set(e, RC_EINVAL, "%s: contains a NUL byte; not a text file", path);
        } else {
            rc = ini_parse(f, b.data, e);
        }
    }
    if (b.data) memset(b.data, 0, b.cap);
    rc_buf_free(&b);
    return rc;
}

static int ini_has(const ini *f, const char *section)
{
    for (size_t i = 0; i < f->nsec; i++)
        if (strcmp(f->sections[i], section) == 0) return 1;
    return 0;
}

/* The last value of key in section, or NULL. */
static const ini_kv *ini_get(const ini *f, const char *section, const char *key)
{
    const ini_kv *found = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->kv[i].section, section) == 0 && strcmp(f->kv[i].key, key) == 0)
            found = &f->kv[i];
    return found;
}

/* ---- the handle ------------------------------------------------------- */

enum { K_STATIC = 1, K_WEBID };

struct rc_awscred {
    pthread_mutex_t mu;
    int kind;
    char source[12288];
    rc_awscred_keys keys;
    int have_keys;
    time_t expires, obtained; /* web identity only */
    time_t retry_at;          /* after a failed refresh: not before */
    atomic_long sts_calls;
    atomic_int refs;
    pthread_cond_t cv; /* a refresh finished */
    int refreshing, refresh_failed;
    rc_err refresh_err;
    /* web identity */
    char role_arn[2100];
    char token_file[4096];
    char session_name[72];
    char sts_url[512];
    /* profile settings */
    char region[64], region_where[4200];
    char endpoint[512], endpoint_where[4200];
    const rc_log *log;
    char ca_bundle[4096];
    long timeout_s;
};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int set_keys(rc_awscred *c, const char *ak, const char *sk, const char *tok,
                    const char *what, rc_err *e)
{
    if (strlen(ak) >= sizeof c->keys.access_key || strlen(sk) >= sizeof c->keys.secret_key)
        return rc_err_set(e, RC_EINVAL, "%s: the access key or secret key is too long", what);
    if (tok && strlen(tok) > RC_AWSCRED_TOKEN_MAX)
        return rc_err_set(e, RC_EINVAL, "%s: the session token is longer than %d bytes", what,
                          RC_AWSCRED_TOKEN_MAX);
    snprintf(c->keys.access_key, sizeof c->keys.access_key, "%s", ak);
    snprintf(c->keys.secret_key, sizeof c->keys.secret_key, "%s", sk);
    snprintf(c->keys.token, sizeof c->keys.token, "%s", tok ? tok : "");
    c->have_keys = 1;
    c->kind = K_STATIC;
    return RC_OK;
}

/* A profile setting: the credentials file first, then the config file. */
typedef struct prof {
    const char *name;
    ini *cred, *conf;
    char conf_section[300];
    int in_cred, in_conf;
} prof;

static const ini_kv *prof_get(const prof *p, const char *key, const ini **from)
{
    const ini_kv *k = p->in_cred ? ini_get(p->cred, p->name, key) : NULL;
    if (k) {
        *from = p->cred;
        return k;
    }
    k = p->in_conf ? ini_get(p->conf, p->conf_section, key) : NULL;
    if (k) *from = p->conf;
    return k;
}

static const char *prof_val(const prof *p, const char *key)
{
    const ini *from;
    const ini_kv *k = prof_get(p, key, &from);
    return k && *k->value ? k->value : NULL;
}

static void where_of(char *out, size_t n, const prof *p, const ini *from, const ini_kv *k)
{
    snprintf(out, n, "profile '%s' (%s line %d)", p->name, from->path, k->line);
}

/* The profile's endpoint for service ("s3", "sts"): services section first,
 * then the profile's endpoint_url. */
static const ini_kv *prof_endpoint(const prof *p, const char *service, const ini **from,
                                   char *where, size_t wn)
{
    const char *svc = prof_val(p, "services");
    if (svc && p->conf->present) {
        char sec[300], key[64];
        snprintf(sec, sizeof sec, "services %s", svc);
        snprintf(key, sizeof key, "%s.endpoint_url", service);
        const ini_kv *k = ini_get(p->conf, sec, key);
        if (k && *k->value) {
            *from = p->conf;
            snprintf(where, wn, "[services %s] %s of profile '%s' (%s line %d)", svc, service,
                     p->name, p->conf->path, k->line);
            return k;
        }
    }
    const ini_kv *k = prof_get(p, "endpoint_url", from);
    if (k && *k->value) {
        where_of(where, wn, p, *from, k);
        return k;
    }
    return NULL;
}

static int sts_endpoint(rc_awscred *c, const prof *p, rc_err *e)
{
    const char *v;
    char where[4200] = "";
    const ini *from;
    const ini_kv *k;
    if ((v = env("AWS_ENDPOINT_URL_STS"))) {
        snprintf(c->sts_url, sizeof c->sts_url, "%s", v);
        snprintf(where, sizeof where, "AWS_ENDPOINT_URL_STS");
    } else if ((v = env("AWS_ENDPOINT_URL"))) {
        snprintf(c->sts_url, sizeof c->sts_url, "%s", v);
        snprintf(where, sizeof where, "AWS_ENDPOINT_URL");
    } else if ((k = prof_endpoint(p, "sts", &from, where, sizeof where))) {
        snprintf(c->sts_url, sizeof c->sts_url, "%s", k->value);
    } else {
        const char *region = env("AWS_REGION");
        if (!region) region = env("AWS_DEFAULT_REGION");
        if (!region && c->region[0]) region = c->region;
        const char *mode = env("AWS_STS_REGIONAL_ENDPOINTS");
        int legacy = mode && strcmp(mode, "legacy") == 0;
        if (region && strcmp(region, "auto") != 0 && !legacy)
            snprintf(c->sts_url, sizeof c->sts_url, "https://sts.%s.amazonaws.com", region);
        else
            snprintf(c->sts_url, sizeof c->sts_url, "https://sts.amazonaws.com");
    }
    size_t n = strlen(c->sts_url);
    while (n && c->sts_url[n - 1] == '/')
        c->sts_url[--n] = '\0';
    const char *h = strncmp(c->sts_url, "https://", 8) == 0  ? c->sts_url + 8
                    : strncmp(c->sts_url, "http://", 7) == 0 ? c->sts_url + 7
                                                             : NULL;
    if (!h || !*h || *h == '/' || *h == ':' || h[strlen(h) - 1] == ':' || strchr(h, '@'))
        return rc_err_set(e, RC_EINVAL,
                          "STS endpoint \"%s\" (from %s) is not https://HOST[:PORT] (or "
                          "http:// for a local test server)",
                          c->sts_url, where);
    return RC_OK;
}

static int webid_setup(rc_awscred *c, const char *role, const char *tokfile, const char *sess,
                       const char *from, const prof *p, rc_err *e)
{
    if (strlen(role) >= sizeof c->role_arn || strlen(tokfile) >= sizeof c->token_file)
        return rc_err_set(e, RC_EINVAL, "%s: role ARN or token file name too long", from);
    snprintf(c->role_arn, sizeof c->role_arn, "%s", role);
    snprintf(c->token_file, sizeof c->token_file, "%s", tokfile);
    if (sess) {
        size_t n = strlen(sess);
        if (n < 2 || n > 64 ||
            strspn(sess, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_+=,.@-") != n)
            return rc_err_set(e, RC_EINVAL,
                              "%s: role session name \"%s\" must be 2-64 characters of "
                              "A-Z a-z 0-9 _+=,.@-",
                              from, sess);
        snprintf(c->session_name, sizeof c->session_name, "%s", sess);
    } else {
        snprintf(c->session_name, sizeof c->session_name, "r2cache-%ld", (long)time(NULL));
    }
    int rc = sts_endpoint(c, p, e);
    if (rc) return rc;
    c->kind = K_WEBID;
    snprintf(c->source, sizeof c->source, "web identity (%s): role %s, token file %s, STS %s", from,
             c->role_arn, c->token_file, c->sts_url);
    return RC_OK;
}

/* What the profile says about keys: static keys, web identity, or nothing
 * (RC_ENOTFOUND); RC_EINVAL for what r2cache cannot use. */
static int from_profile(rc_awscred *c, const prof *p, rc_err *e)
{
    const ini *fa = NULL, *fs = NULL;
    const ini_kv *ak = prof_get(p, "aws_access_key_id", &fa);
    const ini_kv *sk = prof_get(p, "aws_secret_access_key", &fs);
    if (ak && !*ak->value) ak = NULL;
    if (sk && !*sk->value) sk = NULL;
    if (ak && sk) {
        const char *tok = prof_val(p, "aws_session_token");
        char what[4200];
        snprintf(what, sizeof what, "profile '%s' in %s", p->name, fa->path);
        int rc = set_keys(c, ak->value, sk->value, tok, what, e);
        if (rc) return rc;
        if (fa == fs)
            snprintf(c->source, sizeof c->source, "profile '%s' from %s", p->name, fa->path);
        else
            snprintf(c->source, sizeof c->source, "profile '%s' from %s and %s", p->name, fa->path,
                     fs->path);
        return RC_OK;
    }
    if (ak || sk) {
        const ini_kv *k = ak ? ak : sk;
        const ini *f = ak ? fa : fs;
        return rc_err_set(e, RC_EINVAL,
                          "%s:%d: profile '%s' has %s but no %s; give both (or neither)", f->path,
                          k->line, p->name, ak ? "aws_access_key_id" : "aws_secret_access_key",
                          ak ? "aws_secret_access_key" : "aws_access_key_id");
    }
    const char *role = prof_val(p, "role_arn");
    const char *tokfile = prof_val(p, "web_identity_token_file");
    if (role && tokfile) {
        char from[4300];
        snprintf(from, sizeof from, "profile '%s' in %s", p->name,
                 p->in_conf && ini_get(p->conf, p->conf_section, "role_arn") ? p->conf->path
                                                                             : p->cred->path);
        return webid_setup(c, role, tokfile, prof_val(p, "role_session_name"), from, p, e);
    }
    static const char *const unsupported[][2] = {
        {"source_profile", "role_arn with source_profile (AssumeRole)"},
        {"credential_source", "role_arn with credential_source"},
        {"credential_process", "credential_process"},
        {"sso_session", "IAM Identity Center (sso_session)"},
        {"sso_start_url", "IAM Identity Center (sso_start_url)"},
        {"login_session", "console login (login_session)"},
    };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        const ini *f;
        const ini_kv *k = prof_get(p, unsupported[i][0], &f);
        if (k)
            return rc_err_set(e, RC_EINVAL,
                              "%s:%d: profile '%s' uses %s, which r2cache does not support; "
                              "give it aws_access_key_id and aws_secret_access_key, or "
                              "role_arn and web_identity_token_file",
                              f->path, k->line, p->name, unsupported[i][1]);
    }
    if (role)
        return rc_err_set(e, RC_EINVAL,
                          "profile '%s' has role_arn but no web_identity_token_file; r2cache "
                          "assumes roles only with a web identity token",
                          p->name);
    if (tokfile)
        return rc_err_set(e, RC_EINVAL,
                          "profile '%s' has web_identity_token_file but no role_arn; give both",
                          p->name);
    return RC_ENOTFOUND;
}

static void home_path(char *out, size_t n, const char *var, const char *name, const char **used)
{
    const char *v = env(var);
    if (v) {
        snprintf(out, n, "%s", v);
        *used = var;
        return;
    }
    *used = NULL;
    const char *home = env("HOME");
    snprintf(out, n, "%s/.aws/%s", home ? home : "", name);
}

static int resolve(rc_awscred *c, rc_err *e)
{
    ini cred, conf;
    memset(&cred, 0, sizeof cred);
    memset(&conf, 0, sizeof conf);
    char path[4096];
    const char *var;
    home_path(path, sizeof path, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &var);
    int rc = ini_load(&cred, path, var, e);
    home_path(path, sizeof path, "AWS_CONFIG_FILE", "config", &var);
    if (!rc) rc = ini_load(&conf, path, var, e);

    prof p = {0};
    const char *pvar = "AWS_PROFILE";
    p.name = env("AWS_PROFILE");
    if (!p.name && (p.name = env("AWS_DEFAULT_PROFILE"))) pvar = "AWS_DEFAULT_PROFILE";
    int named = p.name != NULL;
    if (!p.name) p.name = "default";
    p.cred = &cred;
    p.conf = &conf;
    p.in_cred = ini_has(&cred, p.name);
    snprintf(p.conf_section, sizeof p.conf_section, "profile %s", p.name);
    p.in_conf = ini_has(&conf, p.conf_section);
    if (!p.in_conf && strcmp(p.name, "default") == 0 && ini_has(&conf, "default")) {
        snprintf(p.conf_section, sizeof p.conf_section, "default");
        p.in_conf = 1;
    }
    if (!rc && named && !p.in_cred && !p.in_conf)
        rc = rc_err_set(e, RC_EINVAL,
                        "%s=%s: no profile [%s] in %s%s and no [profile %s] in %s%s; check the "
                        "name or set AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE",
                        pvar, p.name, p.name, cred.path, cred.present ? "" : " (absent)", p.name,
                        conf.path, conf.present ? "" : " (absent)");

    /* the profile's region and endpoint, whichever source has the keys */
    if (!rc) {
        const ini *from;
        const ini_kv *k = prof_get(&p, "region", &from);
        if (k && *k->value) {
            snprintf(c->region, sizeof c->region, "%s", k->value);
            where_of(c->region_where, sizeof c->region_where, &p, from, k);
        }
        k = prof_endpoint(&p, "s3", &from, c->endpoint_where, sizeof c->endpoint_where);
        if (k) snprintf(c->endpoint, sizeof c->endpoint, "%s", k->value);
    }

    if (!rc) {
        const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
        const char *role = env("AWS_ROLE_ARN"), *tokfile = env("AWS_WEB_IDENTITY_TOKEN_FILE");
        if (ak && sk) {
            const char *tok = env("AWS_SESSION_TOKEN");
            rc = set_keys(c, ak, sk, tok, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", e);
            snprintf(c->source, sizeof c->source, "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY%s",
                     tok ? " / AWS_SESSION_TOKEN" : "");
        } else if ((ak = env("R2_ACCESS_KEY_ID")) && (sk = env("R2_SECRET_ACCESS_KEY"))) {
            rc = set_keys(c, ak, sk, NULL, "R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY", e);
            snprintf(c->source, sizeof c->source, "R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY");
        } else if (role && tokfile) {
            rc = webid_setup(c, role, tokfile, env("AWS_ROLE_SESSION_NAME"),
                             "AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE", &p, e);
        } else if (role || tokfile) {
            rc = rc_err_set(e, RC_EINVAL,
                            "%s is set but %s is not: web identity needs both (EKS sets them "
                            "for a service account with the eks.amazonaws.com/role-arn "
                            "annotation)",
                            role ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                            role ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");
        } else {
            rc = from_profile(c, &p, e);
            if (rc == RC_ENOTFOUND)
                rc = rc_err_set(
                    e, RC_EAUTH,
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                    "R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY), AWS_WEB_IDENTITY_TOKEN_FILE and "
                    "AWS_ROLE_ARN, or keys in profile '%s' (looked in %s%s and %s%s)",
                    p.name, cred.path, cred.present ? "" : " (absent)", conf.path,
                    conf.present ? "" : " (absent)");
        }
    }
    ini_free(&cred);
    ini_free(&conf);
    return rc;
}

int rc_awscred_open(const rc_awscred_opts *o, rc_awscred **out, rc_err *e)
{
    *out = NULL;
    rc_awscred *c = calloc(1, sizeof *c);
    if (!c) return rc_err_set(e, RC_ENOMEM, "out of memory (credentials)");
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return rc_err_set(e, RC_ENOMEM, "cannot create a mutex (credentials)");
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return rc_err_set(e, RC_ENOMEM, "cannot create a condition variable (credentials)");
    }
    if (o) {
        c->log = o->log;
        if (o->ca_bundle) snprintf(c->ca_bundle, sizeof c->ca_bundle, "%s", o->ca_bundle);
        c->timeout_s = o->timeout_s;
    }
    if (c->timeout_s <= 0) c->timeout_s = 30;
    atomic_init(&c->refs, 1);
    int rc = resolve(c, e);
    if (rc) {
        rc_awscred_free(c);
        return rc;
    }
    *out = c;
    return RC_OK;
}

rc_awscred *rc_awscred_ref(rc_awscred *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void rc_awscred_free(rc_awscred *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    rc_awscred_keys_wipe(&c->keys);
    free(c);
}

void rc_awscred_keys_wipe(rc_awscred_keys *k)
{
    volatile unsigned char *p = (volatile unsigned char *)k;
    for (size_t i = 0; i < sizeof *k; i++)
        p[i] = 0;
}

const char *rc_awscred_source(const rc_awscred *c)
{
    return c->source;
}

const char *rc_awscred_region(const rc_awscred *c, const char **where)
{
    if (where) *where = c->region[0] ? c->region_where : NULL;
    return c->region[0] ? c->region : NULL;
}

const char *rc_awscred_endpoint(const rc_awscred *c, const char **where)
{
    if (where) *where = c->endpoint[0] ? c->endpoint_where : NULL;
    return c->endpoint[0] ? c->endpoint : NULL;
}

long rc_awscred_sts_calls(rc_awscred *c)
{
    return atomic_load(&c->sts_calls);
}

/* ---- STS --------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    rc_buf *b = ud;
    size_t n = sz * nm;
    if (b->len + n > (4u << 20)) return 0;
    return rc_buf_append(b, p, n) ? 0 : n;
}

static int read_token(const rc_awscred *c, rc_buf *tok, rc_err *e)
{
    FILE *f = fopen(c->token_file, "r");
    if (!f)
        return rc_err_set(e, RC_EAUTH,
                          "web identity: cannot read the token file %s (%s); on EKS the "
                          "pod's service account must carry the role annotation",
                          c->token_file, strerror(errno));
    char chunk[4096];
    size_t got;
    int rc = RC_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (tok->len + got > WEBID_TOKEN_MAX || rc_buf_append(tok, chunk, got)) {
            rc = rc_err_set(e, RC_EAUTH, "web identity: the token file %s is larger than 64 KiB",
                            c->token_file);
            break;
        }
    fclose(f);
    memset(chunk, 0, sizeof chunk);
    while (!rc && tok->len && isspace((unsigned char)tok->data[tok->len - 1]))
        tok->data[--tok->len] = '\0';
    if (!rc && tok->len == 0)
        rc = rc_err_set(e, RC_EAUTH, "web identity: the token file %s is empty", c->token_file);
    return rc;
}

static int form_add(rc_buf *b, const char *name, const char *value)
{
    return (b->len && rc_buf_puts(b, "&")) || rc_buf_puts(b, name) || rc_buf_puts(b, "=") ||
           rc_sigv4_uri_encode(b, value, strlen(value), 0);
}

static void wipe_buf(rc_buf *b)
{
    if (b->data) memset(b->data, 0, b->cap);
    rc_buf_free(b);
}

/* What one STS call gave. */
typedef struct sts_result {
    rc_awscred_keys keys;
    time_t obtained, expires;
} sts_result;

/* One AssumeRoleWithWebIdentity: RC_OK with out set, else e filled.
 * *transient says whether another attempt may help. Reads only what does not
 * change after open, so it runs without the mutex. */
static int sts_once(rc_awscred *c, sts_result *out, int *transient, rc_err *e)
{
    *transient = 0;
    rc_buf tok = RC_BUF_INIT, form = RC_BUF_INIT, resp = RC_BUF_INIT;
    int rc = read_token(c, &tok, e);
    if (rc) goto out;
    if (form_add(&form, "Action", "AssumeRoleWithWebIdentity") ||
        form_add(&form, "Version", "2011-06-15") || form_add(&form, "RoleArn", c->role_arn) ||
        form_add(&form, "RoleSessionName", c->session_name) ||
        form_add(&form, "WebIdentityToken", tok.data)) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory (STS request)");
        goto out;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory (STS request)");
        goto out;
    }
    char url[600];
    snprintf(url, sizeof url, "%s/", c->sts_url);
    struct curl_slist *hd = curl_slist_append(NULL, "Accept: application/xml");
    struct curl_slist *hd2 =
        hd ? curl_slist_append(hd, "Content-Type: application/x-www-form-urlencoded; "
                                   "charset=utf-8")
           : NULL;
    if (hd2) hd = hd2;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form.len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout_s < 10 ? c->timeout_s : 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "r2cache");
    if (c->ca_bundle[0]) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
    atomic_fetch_add(&c->sts_calls, 1);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hd);
    if (cc != CURLE_OK) {
        *transient = 1;
        rc = rc_err_set(e, RC_EAUTH, "web identity: STS at %s unreachable: %s", c->sts_url,
                        cerr[0] ? cerr : curl_easy_strerror(cc));
        goto out;
    }
    rc_s3xml_sts *r = calloc(1, sizeof *r);
    if (!r) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory (STS answer)");
        goto out;
    }
    int prc = rc_s3xml_parse_sts(resp.data, resp.len, r);
    if (status != 200 || prc != RC_OK) {
        *transient = status >= 500 || status == 429;
        if (r->error.code[0])
            rc = rc_err_set(e, RC_EAUTH,
                            "web identity: STS at %s refused AssumeRoleWithWebIdentity for %s "
                            "(HTTP %ld %s: %s%s%s); check the role's trust policy and the "
                            "token file %s",
                            c->sts_url, c->role_arn, status, r->error.code, r->error.message,
                            r->error.request_id[0] ? ", request id " : "", r->error.request_id,
                            c->token_file);
        else
            rc = rc_err_set(e, RC_EAUTH,
                            "web identity: STS at %s answered AssumeRoleWithWebIdentity with "
                            "HTTP %ld and no credentials; is %s an STS endpoint?",
                            c->sts_url, status, c->sts_url);
    } else {
        int64_t exp = rc_s3xml_parse_time(r->expiration);
        if (strlen(r->access_key) >= sizeof out->keys.access_key ||
            strlen(r->secret_key) >= sizeof out->keys.secret_key) {
            rc = rc_err_set(e, RC_EAUTH,
                            "web identity: STS at %s answered with an access key "
                            "or secret key too long to use",
                            c->sts_url);
        } else {
            snprintf(out->keys.access_key, sizeof out->keys.access_key, "%s", r->access_key);
            snprintf(out->keys.secret_key, sizeof out->keys.secret_key, "%s", r->secret_key);
            snprintf(out->keys.token, sizeof out->keys.token, "%s", r->session_token);
            out->obtained = time(NULL);
            out->expires = exp > 0 ? (time_t)exp : out->obtained + 3600;
        }
        if (rc == RC_OK)
            rc_log_debug(c->log, "credentials",
                         "web identity: STS at %s gave temporary keys for %s, expiring %s",
                         c->sts_url, c->role_arn,
                         r->expiration[0] ? r->expiration : "(not said: 1 h)");
    }
    memset(r, 0, sizeof *r);
    free(r);
out:
    wipe_buf(&tok);
    wipe_buf(&form);
    wipe_buf(&resp);
    return rc;
}

static int sts_fetch(rc_awscred *c, sts_result *out, rc_err *e)
{
    int rc = RC_OK;
    for (int attempt = 1; attempt <= STS_ATTEMPTS; attempt++) {
        int transient;
        rc = sts_once(c, out, &transient, e);
        if (rc == RC_OK || !transient || attempt == STS_ATTEMPTS) break;
        struct timespec ts = {0, 250000000L * attempt};
        nanosleep(&ts, NULL);
    }
    return rc;
}

static int due(const rc_awscred *c, time_t now)
{
    if (c->kind != K_WEBID) return 0;
    if (!c->have_keys || now >= c->expires) return 1;
    if (now < c->retry_at) return 0; /* a refresh failed a moment ago */
    time_t life = c->expires - c->obtained;
    time_t margin = life / 2 < REFRESH_MARGIN_S ? life / 2 : REFRESH_MARGIN_S;
    return now >= c->expires - margin;
}

/* One thread refreshes (without the mutex: STS may take seconds); the
 * others sign with the current keys while those are unexpired, and wait
 * for the refresh only when they are not. */
int rc_awscred_get(rc_awscred *c, rc_awscred_keys *k, rc_err *e)
{
    int rc = RC_OK;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        time_t now = time(NULL);
        if (!due(c, now)) break;
        int valid = c->have_keys && now < c->expires;
        if (c->refreshing) {
            if (valid) break;
            pthread_cond_wait(&c->cv, &c->mu);
            if (c->refresh_failed && !(c->have_keys && time(NULL) < c->expires)) {
                rc = rc_err_set(e, c->refresh_err.code, "%s", c->refresh_err.msg);
                break;
            }
            continue;
        }
        c->refreshing = 1;
        pthread_mutex_unlock(&c->mu);
        sts_result *r = calloc(1, sizeof *r);
        rc_err fe = {0};
        int frc = r ? sts_fetch(c, r, &fe) : rc_err_set(&fe, RC_ENOMEM, "out of memory (STS)");
        pthread_mutex_lock(&c->mu);
        c->refreshing = 0;
        if (frc == RC_OK) {
            c->keys = r->keys;
            c->obtained = r->obtained;
            c->expires = r->expires;
            c->have_keys = 1;
            c->refresh_failed = 0;
        } else {
            c->refresh_failed = 1;
            c->refresh_err = fe;
            now = time(NULL);
            if (c->have_keys && now < c->expires) {
                rc_log_warn(c->log, "credentials",
                            "refreshing the temporary keys failed, using the current ones until "
                            "they expire in %ld s: %s",
                            (long)(c->expires - now), fe.msg);
                /* try again after a pause, not at every request */
                c->retry_at = now + STS_RETRY_PAUSE_S;
            } else {
                rc = rc_err_set(e, fe.code, "%s", fe.msg);
            }
        }
        if (r) {
            rc_awscred_keys_wipe(&r->keys);
            free(r);
        }
        pthread_cond_broadcast(&c->cv);
        break;
    }
    if (rc == RC_OK) *k = c->keys;
    pthread_mutex_unlock(&c->mu);
    return rc;
}
