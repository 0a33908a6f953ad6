/*
 * buf.h: growable byte buffer (curl's dynbuf idea). Always NUL-terminated so
 * text built in it can be used as a C string; len excludes the terminator.
 */
#ifndef R2CACHE_BUF_H
#define R2CACHE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct rc_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} rc_buf;

#define RC_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void rc_buf_init(rc_buf *b);
/* Make room for at least extra more bytes. Returns 0 or RC_ENOMEM. */
int rc_buf_reserve(rc_buf *b, size_t extra);
int rc_buf_append(rc_buf *b, const void *p, size_t n);
int rc_buf_puts(rc_buf *b, const char *s);
int rc_buf_printf(rc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rc_buf_vprintf(rc_buf *b, const char *fmt, va_list ap);
/* Keep the allocation, forget the content. */
void rc_buf_reset(rc_buf *b);
/* Hand the data to the caller (who frees it); b becomes empty. */
char *rc_buf_steal(rc_buf *b, size_t *len);
void rc_buf_free(rc_buf *b);

#endif
