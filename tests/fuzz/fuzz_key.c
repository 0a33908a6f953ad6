/*
 * fuzz_key.c: rc_key_parse on arbitrary bytes, both layouts (the first input
 * byte picks the layout). An accepted key must rebuild to exactly the same
 * string: two spellings of one chunk would let duplicates into the store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/naming.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    rc_layout l = (data[0] & 1) ? RC_LAYOUT_VIEWER : RC_LAYOUT_SEED;
    char *key = malloc(size);
    if (!key) return 0;
    memcpy(key, data + 1, size - 1);
    key[size - 1] = '\0';
    rc_key_info info;
    rc_err e;
    if (rc_key_parse(l, key, &info, &e) == RC_OK) {
        char again[RC_KEY_MAX];
        int rc = info.kind == RC_KEY_CHUNK
                     ? rc_key_chunk(l, &info.chunk, again, sizeof again, &e)
                     : rc_key_manifest(l, &info.manifest, again, sizeof again, &e);
        if (rc != RC_OK || strcmp(again, key) != 0)
            abort(); /* accepted key that does not round-trip */
    }
    free(key);
    return 0;
}
