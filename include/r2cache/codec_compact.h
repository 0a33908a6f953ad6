/*
 * codec_compact.h: which codec a chunk body is written in, and the compact
 * one (docs/formats.md, "Compact chunk body").
 *
 *   int32-zstd  the default: little-endian int32 in one zstd frame (codec.h);
 *               what the browser viewers read.
 *   lms-rice    opt-in (`codec` setting): per block of 256 samples the best
 *               of four fixed polynomial predictors and a sign-sign LMS
 *               filter, residuals in Rice codes; about 0.6x the Steim2 size
 *               of the real recordings. Only r2cache reads it.
 *
 * The name travels with the blob (metadata r2c-codec, absent = int32-zstd)
 * and its manifest entry ("codec", absent = int32-zstd); every reader
 * decodes through rc_codec_decode_named, so a name it does not know is
 * refused by name instead of being read as the default.
 * Encoding is a function of the samples alone: integer arithmetic only, no
 * parameter that depends on the machine.
 */
#ifndef R2CACHE_CODEC_COMPACT_H
#define R2CACHE_CODEC_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/codec.h"
#include "r2cache/err.h"

typedef enum rc_codec_id { RC_CODEC_INT32_ZSTD = 0, RC_CODEC_LMS_RICE = 1 } rc_codec_id;

#define RC_CODEC_NAME_MAX 24

/* "int32-zstd" | "lms-rice"; NULL or "" is int32-zstd. Unknown: RC_EINVAL
 * naming it and the known ones. */
int rc_codec_id_parse(const char *name, rc_codec_id *out, rc_err *e);
const char *rc_codec_id_name(rc_codec_id id);

/* What a body's first bytes say it is: RC_CODEC_LMS_RICE for the compact
 * magic, RC_CODEC_INT32_ZSTD otherwise (decoding then judges the rest). */
rc_codec_id rc_codec_sniff(const void *data, size_t len);

/* Encode n samples with codec id (c is used by int32-zstd only). */
int rc_codec_encode_id(rc_codec *c, rc_codec_id id, const int32_t *samples, size_t n, rc_buf *out,
                       rc_err *e);

/*
 * The one decoder every reader uses: name is the codec the manifest entry or
 * the blob metadata names (NULL or "" = int32-zstd). A name this build does
 * not know, or a body whose magic is another codec's, is RC_EFORMAT naming
 * both. max_samples and ownership as rc_codec_decode.
 */
int rc_codec_decode_named(rc_codec *c, const char *name, const void *data, size_t len,
                          size_t max_samples, int32_t **samples, size_t *n, rc_err *e);

/* The compact codec itself (stateless, thread-safe). */
int rc_lmsrice_encode(const int32_t *samples, size_t n, rc_buf *out, rc_err *e);
int rc_lmsrice_decode(const void *data, size_t len, size_t max_samples, int32_t **samples,
                      size_t *n, rc_err *e);

#endif
