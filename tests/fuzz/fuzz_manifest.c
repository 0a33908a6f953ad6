/*
 * fuzz_manifest.c: rc_manifest_parse on arbitrary bytes, both layouts (the
 * first input byte picks the layout). What parses must serialize, and the
 * serialized form must parse again to the same bytes: a manifest that r2cache
 * reads but cannot write back would block every later update of its day.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    rc_layout l = (data[0] & 1) ? RC_LAYOUT_VIEWER : RC_LAYOUT_SEED;
    rc_manifest m;
    rc_err e;
    if (rc_manifest_parse(l, (const char *)data + 1, size - 1, &m, &e) != RC_OK) return 0;
    rc_buf a = RC_BUF_INIT, b = RC_BUF_INIT;
    if (rc_manifest_serialize(&m, &a, &e) == RC_OK) {
        rc_manifest m2;
        if (rc_manifest_parse(l, a.data, a.len, &m2, &e) != RC_OK)
            abort(); /* our own output is unreadable */
        if (rc_manifest_serialize(&m2, &b, &e) != RC_OK || a.len != b.len ||
            memcmp(a.data, b.data, a.len) != 0)
            abort(); /* serialization is not a fixed point */
        rc_manifest_free(&m2);
    }
    rc_buf_free(&a);
    rc_buf_free(&b);
    rc_manifest_free(&m);
    return 0;
}
