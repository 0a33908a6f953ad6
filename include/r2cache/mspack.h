/*
 * mspack.h: int32 samples -> miniSEED 2 records (libmseed 2.x msr_pack), for
 * the FDSN dataselect service.
 *
 * One call packs one continuous segment as one record series: sequence
 * numbers 1, 2, ...; big-endian; Steim2, or INT32 (encoding 3) for a
 * segment with a difference between neighbouring samples that Steim2 cannot
 * hold (outside -2^29 .. 2^29-1), so the samples are always exact. Every
 * record starts at the exact microsecond time of its first sample, as the
 * caller's time function gives it (blockette 1001 carries the microseconds
 * BTIME cannot).
 *
 * Threads: libmseed 2 reads its PACK_* environment variables into globals on
 * the first msr_pack of the process. Call rc_mspack_init() once before
 * starting threads that pack (r2cache serve); after it, packing from several
 * threads at once is safe (each call has its own record and buffers).
 */
#ifndef R2CACHE_MSPACK_H
#define R2CACHE_MSPACK_H

#include <stddef.h>
#include <stdint.h>

#include "r2cache/buf.h"
#include "r2cache/err.h"
#include "r2cache/naming.h"

/* Make libmseed's one-time packer setup happen now (one throwaway record). */
void rc_mspack_init(void);

/* Time in microseconds of sample i of the segment. */
typedef int64_t (*rc_mspack_time_fn)(void *ud, size_t i);

typedef struct rc_mspack_opts {
    int reclen;   /* 512 or 4096 */
    char quality; /* record data quality indicator, e.g. 'M' */
} rc_mspack_opts;

/*
 * Append the records of n samples (n > 0) of channel c at rate to out.
 * RC_EINVAL for a bad record length, rate or code; RC_ENOMEM; RC_EFORMAT
 * when libmseed refuses to pack.
 */
int rc_mspack_segment(const rc_chan *c, double rate, const int32_t *s, size_t n,
                      rc_mspack_time_fn time_us, void *ud, const rc_mspack_opts *o, rc_buf *out,
                      rc_err *e);

#endif
