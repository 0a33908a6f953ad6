/*
 * fuzz_s3list.c: the ListObjectsV2 parser on arbitrary bytes. The input is
 * handed over in an exactly sized heap copy without a NUL, so ASan catches
 * any read past len (the parser's contract).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "r2cache/s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = malloc(size ? size : 1);
    if (!xml) return 0;
    memcpy(xml, data, size);
    rc_s3xml_list l;
    memset(&l, 0, sizeof l);
    rc_err e;
    if (rc_s3xml_parse_list(xml, size, &l, &e) == RC_OK) {
        for (size_t i = 0; i < l.n; i++)
            if (strnlen(l.objects[i].key, sizeof l.objects[i].key) >= sizeof l.objects[i].key)
                abort();
    }
    rc_s3xml_list_free(&l);
    free(xml);
    return 0;
}
