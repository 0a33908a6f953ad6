/*
 * fuzz_mseed.c: the decode-and-shape path on arbitrary bytes: index the
 * buffer (rc_traces_add), shape a window of each channel it found and
 * round-trip the window through the zstd codec, as the engine does with a
 * data centre's response. Windows are one minute (cut into 20-second base
 * sub-windows, so gap filling across sub-windows runs too) and at most
 * 2^18 slots, so each input is cheap and an absurd sample rate in a record
 * header is not mistaken for a memory bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/codec.h"
#include "r2cache/shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20)) return 0;
    rc_traces *t = NULL;
    rc_err e;
    if (rc_traces_new(&t, &e) != RC_OK) return 0;
    (void)rc_traces_add(t, data, size, &e);
    rc_codec *codec = NULL;
    if (rc_codec_new(3, &codec, &e) != RC_OK) abort();
    size_t nchan = rc_traces_nchan(t);
    for (size_t i = 0; i < nchan && i < 8; i++) {
        const rc_chan *c = rc_traces_chan(t, i);
        double rate = rc_traces_rate(t, c);
        int64_t first_us, last_us;
        if (!(rate > 0) || rate > 1000 || rc_traces_extent(t, c, &first_us, &last_us) != RC_OK)
            continue;
        int64_t first_s = first_us / 1000000 - (first_us % 1000000 < 0);
        int64_t start = first_s - ((first_s % 60) + 60) % 60;
        if (rc_slots(rate, 60) > (1 << 18)) continue;
        rc_window w;
        if (rc_shape(t, c, 0, start, 60, 20, &w, &e) != RC_OK) continue;
        rc_window_stats st;
        rc_window_stats_range(&w, 0, w.nslots, &st);
        if (st.samples != w.nslots || st.present > st.samples) abort();
        rc_buf z = RC_BUF_INIT;
        if (rc_codec_encode(codec, w.samples, (size_t)w.nslots, &z, &e) == RC_OK) {
            int32_t *back = NULL;
            size_t n = 0;
            if (rc_codec_decode(codec, z.data, z.len, (size_t)w.nslots, &back, &n, &e) != RC_OK ||
                n != (size_t)w.nslots || memcmp(back, w.samples, n * sizeof *back) != 0)
                abort(); /* a chunk that does not read back */
            free(back);
        }
        rc_buf_free(&z);
        rc_window_free(&w);
    }
    rc_codec_free(codec);
    rc_traces_free(t);
    return 0;
}
