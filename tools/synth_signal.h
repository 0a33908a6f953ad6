/*
 * synth_signal.h: the deterministic signal r2cache-synth writes, shared with
 * the tests so they can compute the expected value of any sample.
 *
 * Sample i of a channel (time i / rate since the epoch, plus the clock
 * offset) is two integer-period sines with a per-channel phase plus a small
 * hashed pseudo-noise: smooth enough to compress like real data, different
 * per channel, |value| <= 19000. All arithmetic that decides the value is
 * integer except the sines, whose arguments are reduced modulo their period
 * first, so results do not depend on how large the index is.
 */
#ifndef R2CACHE_SYNTH_SIGNAL_H
#define R2CACHE_SYNTH_SIGNAL_H

#include <math.h>
#include <stdint.h>

static inline uint64_t rc_synth_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t rc_synth_chan_hash(const char *chan_id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)chan_id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

static inline int32_t rc_synth_value(const char *chan_id, int64_t sample_index)
{
    const double two_pi = 6.283185307179586;
    uint64_t h = rc_synth_chan_hash(chan_id);
    int64_t p1 = 1000 + (int64_t)(h % 997); /* periods in samples */
    int64_t p2 = 37 + (int64_t)((h >> 20) % 61);
    int64_t ph1 = (int64_t)((h >> 32) % (uint64_t)p1); /* per-channel phases */
    int64_t ph2 = (int64_t)((h >> 48) % (uint64_t)p2);
    int64_t a = ((sample_index + ph1) % p1 + p1) % p1;
    int64_t b = ((sample_index + ph2) % p2 + p2) % p2;
    double v = 12000.0 * sin(two_pi * (double)a / (double)p1) +
               6000.0 * sin(two_pi * (double)b / (double)p2);
    int32_t noise = (int32_t)(rc_synth_mix(h ^ (uint64_t)sample_index) % 2001) - 1000;
    return (int32_t)lround(v) + noise;
}

#endif
