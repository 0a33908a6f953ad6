/*
 * buf.c: growable byte buffer. Doubles capacity, keeps a NUL after the data.
 */
#include "r2cache/buf.h"
#include "r2cache/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rc_buf_init(rc_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int rc_buf_reserve(rc_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) return RC_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return RC_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return RC_ENOMEM;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return RC_OK;
}

int rc_buf_append(rc_buf *b, const void *p, size_t n)
{
    if (rc_buf_reserve(b, n)) return RC_ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RC_OK;
}

int rc_buf_puts(rc_buf *b, const char *s)
{
    return rc_buf_append(b, s, strlen(s));
}

int rc_buf_vprintf(rc_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return RC_EINVAL;
    if (rc_buf_reserve(b, (size_t)n)) return RC_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return RC_OK;
}

int rc_buf_printf(rc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = rc_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void rc_buf_reset(rc_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

char *rc_buf_steal(rc_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) *len = b->len;
    rc_buf_init(b);
    return p;
}

void rc_buf_free(rc_buf *b)
{
    free(b->data);
    rc_buf_init(b);
}
