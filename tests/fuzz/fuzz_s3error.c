/*
 * fuzz_s3error.c: the S3 error-body parser (and the timestamp parser it
 * feeds) on arbitrary bytes, in an exactly sized heap copy without a NUL.
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
    rc_s3xml_error er;
    memset(&er, 0, sizeof er);
    (void)rc_s3xml_parse_error(xml, size, &er);
    if (strnlen(er.code, sizeof er.code) >= sizeof er.code ||
        strnlen(er.server_time, sizeof er.server_time) >= sizeof er.server_time)
        abort();
    (void)rc_s3xml_parse_time(er.server_time);
    free(xml);
    return 0;
}
