/*
 * source_fdsn_int.h: what the FDSN backend's files share, private to them
 * (source_fdsn.c: the transfers and what each answer means;
 * source_fdsn_req.c: the service URL and the request body; source_avail.c:
 * the availability service).
 */
#ifndef R2CACHE_SOURCE_FDSN_INT_H
#define R2CACHE_SOURCE_FDSN_INT_H

#include "source_int.h"

#include <curl/curl.h>

/* rc_url_redact of the first n bytes of url into a new string (messages
 * only); NULL when out of memory. */
char *fdsn_redact_n(const char *url, size_t n);

/*
 * The base URL (scheme://[userinfo@]host[:port][/prefix]) of s->url into
 * base. A pasted service URL (.../fdsnws, .../fdsnws/dataselect[/1[/query]],
 * trailing slashes) loses its service path; a query or fragment, spaces, a
 * missing host or another FDSN service path is RC_EINVAL with the base URL
 * to give instead.
 */
int fdsn_base_url(const rc_source *s, rc_buf *base, rc_err *e);

/* The options every request to the data centre is made with (dataselect,
 * queryauth, availability): bounded waits from o, TLS always verified,
 * redirects within http(s) only, a POST kept across them. */
void fdsn_curl_policy(CURL *h, const rc_source_opts *o);

#endif
