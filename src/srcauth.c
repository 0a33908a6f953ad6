/*
 * srcauth.c: reading the credentials for restricted FDSN data.
 *
 * The configuration says where a secret is (a variable, a file), never the
 * secret itself: a literal "password" or "eida_token" is refused, because a
 * configuration file is copied, committed and pasted into bug reports. The
 * secrets are read here once, so a missing variable or an unreadable file is
 * a configuration error naming the field, before any request is made. No
 * message built here contains a secret: they name the variable or the file.
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

void rc_srcauth_free(rc_srcauth *a)
{
    if (!a) return;
    wipe(a->password);
    wipe(a->eida_token);
    free(a->user);
    free(a->password);
    free(a->eida_token);
    free(a->where);
    memset(a, 0, sizeof *a);
}

static const char *const keys[] = {"user",           "user_env",        "password_env",
                                   "password_file",  "eida_token_file", "eida_token_env",
                                   "password",       "eida_token",      NULL};

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
        return rc_err_set(e, RC_EINVAL, "%s%s%s: the environment variable %s is longer than %d bytes",
                          path, name ? "." : "", name ? name : "", var, RC_SRCAUTH_MAX_BYTES);
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
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: cannot read %s: %s", path, name, file,
                        strerror(err));
    else if (n > RC_SRCAUTH_MAX_BYTES)
        rc = rc_err_set(e, RC_EINVAL,
                        "%s.%s: %s is larger than %d bytes: is it the %s file?", path, name, file,
                        RC_SRCAUTH_MAX_BYTES, what);
    buf[n] = '\0';
    if (rc == RC_OK && memchr(buf, '\0', n))
        rc = rc_err_set(e, RC_EINVAL, "%s.%s: %s holds a NUL byte: is it the %s file?", path,
                        name, file, what);
    if (rc == RC_OK && strip) {
        if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
        if (memchr(buf, '\n', n))
            rc = rc_err_set(e, RC_EINVAL,
                            "%s.%s: %s holds more than one line: put only the %s in it", path,
                            name, file, what);
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

/* One secret from exactly one of env_name / file_name (either may be absent
 * from obj), or the default variable def_env when neither is given. */
static int one_of(const cJSON *obj, const char *path, const char *env_name, const char *file_name,
                  const char *def_env, const char *what, int strip, char **out, char *src,
                  size_t nsrc, rc_err *e)
{
    const char *env = NULL, *file = NULL;
    if (field(obj, path, env_name, &env, e) || field(obj, path, file_name, &file, e))
        return e ? e->code : RC_EINVAL;
    if (env && file)
        return rc_err_set(e, RC_EINVAL, "%s: give %s or %s, not both", path, env_name, file_name);
    if (file) {
        snprintf(src, nsrc, "%s", file);
        return from_file(path, file_name, file, what, strip, out, e);
    }
    const char *var = env ? env : def_env;
    snprintf(src, nsrc, "%s", var);
    return from_env(path, env ? env_name : NULL, var, what, out, e);
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
    const char *tfile = NULL, *tenv = NULL, *user = NULL, *uenv = NULL;
    if (field(obj, path, "eida_token_file", &tfile, e) ||
        field(obj, path, "eida_token_env", &tenv, e) || field(obj, path, "user", &user, e) ||
        field(obj, path, "user_env", &uenv, e))
        return e ? e->code : RC_EINVAL;
    int has_pw = cJSON_GetObjectItemCaseSensitive(obj, "password_env") ||
                 cJSON_GetObjectItemCaseSensitive(obj, "password_file");
    char src[600], usrc[600];
    if (tfile || tenv) {
        if (user || uenv || has_pw)
            return rc_err_set(e, RC_EINVAL,
                              "%s: give an EIDA token (eida_token_file or eida_token_env) or a "
                              "user and password, not both",
                              path);
        int rc = one_of(obj, path, "eida_token_env", "eida_token_file", NULL, "EIDA token", 0,
                        &a->eida_token, src, sizeof src, e);
        if (rc) return rc;
        char w[700];
        snprintf(w, sizeof w, "the EIDA token in %s", src);
        a->where = strdup(w);
        return a->where ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    if (user && uenv)
        return rc_err_set(e, RC_EINVAL, "%s: give user or user_env, not both", path);
    int rc;
    if (user) {
        a->user = strdup(user);
        if (!a->user) return rc_err_set(e, RC_ENOMEM, "out of memory");
        snprintf(usrc, sizeof usrc, "%s.user", path);
    } else {
        const char *var = uenv ? uenv : DEFAULT_USER_ENV;
        if ((rc = from_env(path, uenv ? "user_env" : NULL, var, "user name", &a->user, e)))
            return rc;
        snprintf(usrc, sizeof usrc, "%s", var);
    }
    for (const char *c = a->user; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '"')
            return rc_err_set(e, RC_EINVAL,
                              "%s.%s: the user name holds a control character or a quote", path,
                              user ? "user" : "user_env");
    if ((rc = one_of(obj, path, "password_env", "password_file", DEFAULT_PASSWORD_ENV,
                     "password", 1, &a->password, src, sizeof src, e)))
        return rc;
    int both_env = !user && !cJSON_GetObjectItemCaseSensitive(obj, "password_file");
    char w[1300];
    snprintf(w, sizeof w, "%s%s%s", usrc, both_env ? "/" : " and ", src);
    a->where = strdup(w);
    return a->where ? RC_OK : rc_err_set(e, RC_ENOMEM, "out of memory");
}

int rc_srcauth_parse(const cJSON *obj, const char *path, rc_srcauth *out, rc_err *e)
{
    if (!out) return rc_err_set(e, RC_EINVAL, "rc_srcauth_parse: no output");
    memset(out, 0, sizeof *out);
    int rc = parse(obj, path && *path ? path : "auth", out, e);
    if (rc != RC_OK) rc_srcauth_free(out);
    return rc;
}
