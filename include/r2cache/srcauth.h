/*
 * srcauth.h: credentials for restricted data at an FDSN data centre.
 *
 * One JSON object (the configuration's "source_auth", or a source's "auth")
 * says where the secrets are; rc_srcauth_parse reads them from there once,
 * when the configuration is loaded. Two kinds:
 *
 *   user and password   HTTP digest on /fdsnws/dataselect/1/queryauth
 *     user: "name" | user_env: "VAR"
 *     password_env: "VAR" | password_file: "/run/secrets/fdsn"
 *   EIDA token          POSTed to /fdsnws/dataselect/1/auth, which answers
 *                       temporary "user:password" for queryauth
 *     eida_token_file: "/path/token.asc" | eida_token_env: "VAR"
 *
 * An empty object {} means user_env FDSN_USER and password_env
 * FDSN_PASSWORD. A password or token written into the configuration itself
 * ("password", "eida_token") is refused: configuration files are copied,
 * committed and printed; a secret belongs in a file only its reader can
 * read, or in the environment. A file's content loses its trailing line end
 * (\n, \r\n); an empty secret is an error.
 *
 * Errors name the JSON field (PATH.FIELD) and what to do; they name the
 * variable or the file, never the secret. `where` says where the credentials
 * came from in the same words ("FDSN_USER/FDSN_PASSWORD", "source_auth.user
 * and /run/secrets/fdsn", "the EIDA token in /path/token.asc") so that a
 * refusal by the data centre can tell the operator what to check.
 */
#ifndef R2CACHE_SRCAUTH_H
#define R2CACHE_SRCAUTH_H

#include "r2cache/err.h"

struct cJSON;

/* Longest secret read from a file or variable (an EIDA token is ~2 KiB). */
#define RC_SRCAUTH_MAX_BYTES (64 * 1024)

typedef struct rc_srcauth {
    char *user;       /* NULL with an EIDA token */
    char *password;   /* NULL with an EIDA token */
    char *eida_token; /* the token file's content; NULL with user/password */
    char *where;      /* where they came from, for messages (no secret in it) */
} rc_srcauth;

/*
 * Read the object obj (at JSON path `path`, e.g. "source_auth" or
 * "sources[1].auth") into *out, reading the environment and files it names.
 * RC_EINVAL: "PATH.FIELD: what is wrong: what to do" (unknown field, wrong
 * type, both kinds, a half of a pair missing, a literal secret, an unset
 * variable, an unreadable or empty file); RC_ENOMEM. On error *out is empty
 * (nothing to free, but rc_srcauth_free is harmless).
 */
int rc_srcauth_parse(const struct cJSON *obj, const char *path, rc_srcauth *out, rc_err *e);

/* Wipe the secrets and free them; a zeroed or NULL a is fine. */
void rc_srcauth_free(rc_srcauth *a);

#endif
