/*
 * srcauth.c: reading the credentials for restricted FDSN data.
 *
 * The configuration says where a secret is (a variable, a file), never the
 * secret itself: a literal "password" or "eida_token" is refused, because a
 * configuration file is copied, committed and pasted into bug reports.
 * Parsing keeps only the names; the secrets are read when a source is opened
 * (rc_srcauth_read), so commands that never fetch need none of them, and a
 * missing variable or an unreadable file is an error naming the field
 * before any request is made. No message built here contains a secret: they
 * name the variable or the file.
 */
#include "r2cache/srcauth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_USER_ENV "FDSN_USER"
#define DEFAULT_PASSWORD_ENV "FDSN_PASSWORD"

static void wipe(char *s)
{
    if (!s) return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
}

void rc_srcauth_secret_free(rc_srcauth_secret *s)
{
    if (!s) return;
    wipe(s->password);
    wipe(s->eida_token);
    free(s->user);
    free(s->password);
    free(s->eida_token);
    memset(s, 0, sizeof *s);
}

void rc_srcauth_free(rc_srcauth *a)
{
    if (!a) return;
    free(a->path);
    free(a->user);
    free(a->user_env);
    free(a->password_env);
    free(a->password_file);
    free(a->token_env);
    free(a->token_file);
    free(a->where);
    memset(a, 0, sizeof *a);
}

static const char *const keys[] = {"user",          "user_env",        "password_env",
                                   "password_file", "eida_token_file", "eida_token_env",
                                   "password",      "eida_token",      NULL};

/* A string field of obj, or NULL when absent; RC_EINVAL when not a string. */
static int field(const cJSON *obj, const char *path, const char *name, const char **out, rc_err *e)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) return RC_OK;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return rc_err_set(e, RC_EINVAL, "%s.%s: must be a non-empty string", path, name);
    *out = v->valuestring;
    return RC_OK;
}

/* The value of environment variable var (from field PATH.NAME, or the
 * default when name is NULL), copied. */
static int from_env(const char *path, const char *name, const char *var, const char *what,
                    char **out, rc_err *e)
{
    const char *v = getenv(var);
    if ((!v || !*v) && !name)
        return rc_err_set(e, RC_EINVAL,
                          "%s: the environment variable %s (the default for the %s) is %s: set "
                          "it, or say where the %s is",
                          path, var, what, v ? "empty" : "not set", what);
    if (!v || !*v)
        return rc_err_set(e, RC_EINVAL,
                          "%s.%s: the environment variable %s is %s: set it to the %s, or name "
                          "another variable or a file",
                          path, name, var, v ? "empty" : "not set", what);
    if (strlen(v) > RC_SRCAUTH_MAX_BYTES)
        return rc_err_set(e, RC_EINVAL,
                          "%s%s%s: the environment variable %s is longer than %d bytes", path,
                          name ? "." : "", name ? name : "", var, RC_SRCAUTH_MAX_BYTES);
    *out = strdup(v);
    return *out ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory reading %s", var);
}

/* The content of file (from field PATH.NAME); strip: drop the trailing line end. */
static int from_file(const char *path, const char *name, const char *file, const char *what,
                     int strip, char **out, rc_err *e)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return rc_err_set(e, RC_EINVAL,
                          "%s.%s: cannot read %s: %s: put the %s in that file (readable by "
                          "r2cache only), or use another field",
                          path, name, file, strerror(errno), what);
    char *buf = malloc(RC_SRCAUTH_MAX_BYTES + 2);
    if (!buf) {
        fclose(f);
        return rc_err_set(e, RC_ENOMEM, "out of memory reading %s", file);
    }
    size_t n = fread(buf, 1, RC_SRCAUTH_MAX_BYTES + 1, f);
    int failed = ferror(f);
    int err = errno;
    fclose(f);
    int rc = RC_OK;
    if (failed)
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: cannot read %s: %s", path, name, file, strerror(err));
    else if (n > RC_SRCAUTH_MAX_BYTES)
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: %s is larger than %d bytes: is it the %s file?", path,
                        name, file, RC_SRCAUTH_MAX_BYTES, what);
    buf[n] = '\0';
    if (rc == RC_OK && memchr(buf, '\0', n))
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: %s holds a NUL byte: is it the %s file?", path, name,
                        file, what);
    if (rc == RC_OK && strip) {
        if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
        if (memchr(buf, '\n', n))
            rc = rc_err_set(e, RC_EINVAL,
                            "%s.%s: %s holds more than one line: put only the %s in it", path, name,
                            file, what);
    }
    if (rc == RC_OK && n == 0)
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: %s is empty: put the %s in it", path, name, file,
                        what);
    if (rc != RC_OK) {
        memset(buf, 0, RC_SRCAUTH_MAX_BYTES + 2);
        free(buf);
        return rc;
    }
    *out = buf;
    return RC_OK;
}

static int dup_into(char **dst, const char *v, rc_err *e)
{
    if (!v) return RC_OK;
    *dst = strdup(v);
    return *dst ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory");
}

static int parse(const cJSON *obj, const char *path, rc_srcauth *a, rc_err *e)
{
    if (!cJSON_IsObject(obj))
        return rc_err_set(e, RC_EINVAL,
                          "%s: must be an object such as {\"user_env\": \"FDSN_USER\", "
                          "\"password_env\": \"FDSN_PASSWORD\"} or {\"eida_token_file\": "
                          "\"/path/token.asc\"}",
                          path);
    for (const cJSON *c = obj->child; c; c = c->next) {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            if (c->string && strcmp(c->string, *k) == 0) known = 1;
        if (!known)
            return rc_err_set(e, RC_EINVAL,
                              "%s.%s: unknown field (allowed here: user, user_env, "
                              "password_env, password_file, eida_token_file, eida_token_env)",
                              path, c->string ? c->string : "");
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, "password"))
        return rc_err_set(e, RC_EINVAL,
                          "%s.password: a password is not accepted in the configuration file "
                          "(files are copied, committed and shown): put it in a file readable "
                          "only by r2cache and give password_file, or in the environment and "
                          "give password_env",
                          path);
    if (cJSON_GetObjectItemCaseSensitive(obj, "eida_token"))
        return rc_err_set(e, RC_EINVAL,
                          "%s.eida_token: a token is not accepted in the configuration file: "
                          "give the file it is in (eida_token_file) or an environment "
                          "variable (eida_token_env)",
                          path);
    const char *tfile, *tenv, *user, *uenv, *penv, *pfile;
    if (field(obj, path, "eida_token_file", &tfile, e) ||
        field(obj, path, "eida_token_env", &tenv, e) || field(obj, path, "user", &user, e) ||
        field(obj, path, "user_env", &uenv, e) || field(obj, path, "password_env", &penv, e) ||
        field(obj, path, "password_file", &pfile, e))
        return e ? e->code : RC_EINVAL;
    if (dup_into(&a->path, path, e)) return RC_ENOMEM;
    char w[1300];
    if (tfile || tenv) {
        if (user || uenv || penv || pfile)
            return rc_err_set(e, RC_EINVAL,
                              "%s: give an EIDA token (eida_token_file or eida_token_env) or a "
                              "user and password, not both",
                              path);
        if (tfile && tenv)
            return rc_err_set(e, RC_EINVAL, "%s: give eida_token_env or eida_token_file, not both",
                              path);
        snprintf(w, sizeof w, "the EIDA token in %s", tfile ? tfile : tenv);
        if (dup_into(&a->token_file, tfile, e) || dup_into(&a->token_env, tenv, e) ||
            dup_into(&a->where, w, e))
            return RC_ENOMEM;
        return RC_OK;
    }
    if (user && uenv) return rc_err_set(e, RC_EINVAL, "%s: give user or user_env, not both", path);
    if (penv && pfile)
        return rc_err_set(e, RC_EINVAL, "%s: give password_env or password_file, not both", path);
    if (user)
        for (const char *c = user; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '"')
                return rc_err_set(e, RC_EINVAL,
                                  "%s.user: the user name holds a control character or a quote",
                                  path);
    /* absent names stay NULL (rc_srcauth_read says "the default" then) */
    const char *uvar = uenv ? uenv : DEFAULT_USER_ENV;
    const char *pvar = penv ? penv : DEFAULT_PASSWORD_ENV;
    if (user && pfile)
        snprintf(w, sizeof w, "%s.user and %s", path, pfile);
    else if (user)
        snprintf(w, sizeof w, "%s.user and %s", path, pvar);
    else if (pfile)
        snprintf(w, sizeof w, "%s and %s", uvar, pfile);
    else
        snprintf(w, sizeof w, "%s/%s", uvar, pvar);
    if (dup_into(&a->user, user, e) || dup_into(&a->user_env, uenv, e) ||
        dup_into(&a->password_env, penv, e) || dup_into(&a->password_file, pfile, e) ||
        dup_into(&a->where, w, e))
        return RC_ENOMEM;
    return RC_OK;
}

int rc_srcauth_parse(const cJSON *obj, const char *path, rc_srcauth *out, rc_err *e)
{
    if (!out) return rc_err_set(e, RC_EINVAL, "rc_srcauth_parse: no output");
    memset(out, 0, sizeof *out);
    int rc = parse(obj, path && *path ? path : "auth", out, e);
    if (rc != RC_OK) rc_srcauth_free(out);
    return rc;
}

static int read_secrets(const rc_srcauth *a, const char *path, rc_srcauth_secret *s, rc_err *e)
{
    int rc;
    if (a->token_file)
        return from_file(path, "eida_token_file", a->token_file, "EIDA token", 0, &s->eida_token,
                         e);
    if (a->token_env)
        return from_env(path, "eida_token_env", a->token_env, "EIDA token", &s->eida_token, e);
    if (a->user) {
        if ((rc = dup_into(&s->user, a->user, e))) return rc;
    } else {
        const char *var = a->user_env ? a->user_env : DEFAULT_USER_ENV;
        if ((rc = from_env(path, a->user_env ? "user_env" : NULL, var, "user name", &s->user, e)))
            return rc;
        for (const char *c = s->user; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '"')
                return rc_err_set(e, RC_EINVAL,
                                  "%s.user_env: the user name in %s holds a control character "
                                  "or a quote",
                                  path, var);
    }
    if (a->password_file)
        return from_file(path, "password_file", a->password_file, "password", 1, &s->password, e);
    const char *var = a->password_env ? a->password_env : DEFAULT_PASSWORD_ENV;
    return from_env(path, a->password_env ? "password_env" : NULL, var, "password", &s->password,
                    e);
}

int rc_srcauth_read(const rc_srcauth *a, rc_srcauth_secret *out, rc_err *e)
{
    if (!out) return rc_err_set(e, RC_EINVAL, "rc_srcauth_read: no output");
    memset(out, 0, sizeof *out);
    if (!a) return rc_err_set(e, RC_EINVAL, "rc_srcauth_read: no credentials");
    int rc = read_secrets(a, a->path ? a->path : "auth", out, e);
    if (rc != RC_OK) rc_srcauth_secret_free(out);
    return rc;
}
