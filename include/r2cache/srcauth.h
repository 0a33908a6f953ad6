/*
 * srcauth.h: credentials for restricted data at an FDSN data centre.
 *
 * One JSON object (the configuration's "source_auth", or a source's "auth")
 * says where the secrets are; two kinds:
 *
 *   user and password   HTTP digest on /fdsnws/dataselect/1/queryauth
 *     user: "name" | user_env: "VAR"            (default user_env FDSN_USER)
 *     password_env: "VAR" | password_file: "/run/secrets/fdsn"
 *                                               (default password_env FDSN_PASSWORD)
 *   EIDA token          POSTed to /fdsnws/dataselect/1/auth, which answers
 *                       temporary "user:password" for queryauth
 *     eida_token_file: "/path/token.asc" | eida_token_env: "VAR"
 *
 * So an empty object {} means FDSN_USER and FDSN_PASSWORD. A password or
 * token written into the configuration itself ("password", "eida_token") is
 * refused: configuration files are copied, committed and printed; a secret
 * belongs in a file only its reader can read, or in the environment.
 *
 * Two steps, so that commands that never talk to the source (gaps,
 * inventory, get, verify) do not need the secrets: rc_srcauth_parse checks
 * the object's shape when the configuration is loaded and reads nothing;
 * rc_srcauth_read reads the variables and files when a source is opened
 * (a rotated password file is picked up by the next open). A file's content
 * loses its trailing line end (\n, \r\n) for a password, and is kept whole
 * for a token (a signed document); an empty secret is an error.
 *
 * Errors name the JSON field (PATH.FIELD) and what to do; they name the
 * variable or the file, never the secret. `where` says where the credentials
 * come from in the same words ("FDSN_USER/FDSN_PASSWORD", "source_auth.user
 * and /run/secrets/fdsn", "the EIDA token in /path/token.asc") so that a
 * refusal by the data centre can tell the operator what to check.
 */
#ifndef R2CACHE_SRCAUTH_H
#define R2CACHE_SRCAUTH_H

#include "r2cache/err.h"

struct cJSON;

/* Longest secret read from a file or variable (an EIDA token is ~2 KiB). */
#define RC_SRCAUTH_MAX_BYTES (64 * 1024)

/* Where the credentials are (no secret in it). */
typedef struct rc_srcauth {
    char *path;                         /* JSON path of the object, for messages ("source_auth") */
    char *user;                         /* a literal user name, or NULL */
    char *user_env;                     /* the variable holding the user name; NULL = FDSN_USER */
    char *password_env, *password_file; /* at most one; neither = FDSN_PASSWORD */
    char *token_env, *token_file;       /* exactly one set (EIDA token kind) */
    char *where;                        /* where they come from, for messages */
} rc_srcauth;

/* The secrets themselves, read by rc_srcauth_read. */
typedef struct rc_srcauth_secret {
    char *user, *password; /* user/password kind; NULL with a token */
    char *eida_token;      /* token kind; NULL otherwise */
} rc_srcauth_secret;

/*
 * Check the object obj (at JSON path `path`, e.g. "source_auth" or
 * "sources[1].auth") and keep where its secrets are in *out. Reads no
 * variable and no file. RC_EINVAL: "PATH.FIELD: what is wrong: what to do"
 * (not an object, unknown field, wrong type, both kinds, both of a pair, a
 * literal secret); RC_ENOMEM. On error *out is empty.
 */
int rc_srcauth_parse(const struct cJSON *obj, const char *path, rc_srcauth *out, rc_err *e);

/*
 * Read the secrets a names, now. RC_EINVAL naming the field (an unset or
 * empty variable, an unreadable, empty, oversized or several-line password
 * file); RC_ENOMEM. On error *out is empty. Free with rc_srcauth_secret_free.
 */
int rc_srcauth_read(const rc_srcauth *a, rc_srcauth_secret *out, rc_err *e);

/* Wipe the secrets and free them; a zeroed or NULL s is fine. */
void rc_srcauth_secret_free(rc_srcauth_secret *s);

/* Free what rc_srcauth_parse kept; a zeroed or NULL a is fine. */
void rc_srcauth_free(rc_srcauth *a);

#endif
