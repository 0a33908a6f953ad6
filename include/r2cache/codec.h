/*
 * codec.h: the chunk body. Little-endian int32 samples in exactly one zstd
 * frame (content size recorded in the frame header). One context, created
 * once and reused for every chunk (zstd's own advice); not thread-safe.
 */
#ifndef R2CACHE_CODEC_H
#define R2CACHE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"

typedef struct rc_codec rc_codec;

/* level: zstd level 1..19 (default 3). */
int rc_codec_new(int level, rc_codec **out, rc_err *e);
void rc_codec_free(rc_codec *c);

/* Replace out's content with the compressed frame of n samples. */
int rc_codec_encode(rc_codec *c, const int32_t *samples, size_t n, rc_buf *out, rc_err *e);

/*
 * Decode one frame into a new array (*samples, caller frees with free()).
 * Refuses more than one frame, trailing bytes, a size that is not a multiple
 * of 4, or more than max_samples samples (0 = no limit): RC_EFORMAT.
 */
int rc_codec_decode(rc_codec *c, const void *data, size_t len, size_t max_samples,
                    int32_t **samples, size_t *n, rc_err *e);

/* Decode one frame of exactly `want` samples into dst (which holds them):
 * the checks of rc_codec_decode, and RC_EFORMAT when the frame holds any
 * other number of samples (dst is then untouched). */
int rc_codec_decode_into(rc_codec *c, const void *data, size_t len, int32_t *dst, size_t want,
                         rc_err *e);

/* Hex SHA-256 of a blob's bytes (64 characters + NUL): the sha256 of
 * manifest entries and what verify compares with it. */
void rc_codec_sha256(const void *data, size_t len, char out[65]);

#endif
