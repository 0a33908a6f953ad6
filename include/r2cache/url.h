/*
 * url.h: URLs as they may be shown to an operator.
 *
 * Operators paste URLs with credentials in them (http://user:password@host,
 * ?token=...). Anything r2cache prints (logs, errors, JSON, metrics labels)
 * goes through rc_url_redact first, so a secret never reaches an output.
 */
#ifndef R2CACHE_URL_H
#define R2CACHE_URL_H

#include <stddef.h>

/*
 * Copy url into out (n bytes, always NUL-terminated, truncated if needed)
 * with its whole userinfo ("user:password" before the host's '@') replaced
 * by "***", and the values of query parameters whose names suggest a secret
 * replaced by "***": names ending in token, key, secret, password, passwd,
 * pass, pwd, auth, signature, sig, credential or session, case-insensitive
 * (access_token, X-Amz-Signature). A string without a scheme ("://") gets
 * only the query rule. Returns out.
 */
char *rc_url_redact(const char *url, char *out, size_t n);

#endif
