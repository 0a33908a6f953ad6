/* store_s3.c: placeholder until the S3 backend lands (issue 3). */
#include "r2cache/store.h"

int rc_store_s3_open(rc_store *s, const char *url, rc_err *e)
{
    (void)s;
    return rc_err_set(e, RC_EUNUSABLE, "%s: the S3 backend is not part of this build yet", url);
}
