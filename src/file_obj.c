/*
 * file_obj.c: the files of one object in the local store: reading and
 * hashing a body, the sidecar (".NAME.meta.json") that holds its headers,
 * the temporary file a write goes to before its rename, and the folder's
 * ".lock" that conditional writes hold. Every file is opened relative to
 * its folder's fd, never through a link (file_path.c).
 */
#include "store_file_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* ---- small file helpers ------------------------------------------------ */

int file_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int file_read_fd(int fd, rc_buf *out)
{
    for (;;) {
        if (rc_buf_reserve(out, 65536)) return -1;
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        out->len += (size_t)r;
        out->data[out->len] = '\0';
    }
    return 0;
}

/* The local store's ETag: the first 32 hex digits of the body's SHA-256.
 * It is opaque to readers (only conditional puts compare it); SHA-256
 * because the engine hashes every blob with it already (manifest `sha256`),
 * so a blob's ETag costs no second pass. */
static void etag_of_digest(const unsigned char *d, unsigned int dl, char *out)
{
    out[0] = '\0';
    for (unsigned int i = 0; i < dl && i < FILE_ETAG_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void file_etag_hex(const void *data, size_t len, char *out)
{
    rc_body_hash h;
    rc_store_body_hash(NULL, data, len, &h); /* SHA-256 only */
    file_etag_of_sha256(h.sha256, out);
}

void file_etag_of_sha256(const char *sha256_hex, char *out)
{
    out[0] = '\0';
    if (strlen(sha256_hex) != 64) return; /* the digest failed */
    memcpy(out, sha256_hex, FILE_ETAG_HEX);
    out[FILE_ETAG_HEX] = '\0';
}

int file_etag_fd(int fd, char *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[65536];
    while (ok) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            ok = 0;
        else if (r == 0)
            break;
        else
            ok = EVP_DigestUpdate(ctx, buf, (size_t)r);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (ok) ok = EVP_DigestFinal_ex(ctx, d, &dl);
    EVP_MD_CTX_free(ctx);
    if (!ok) return -1;
    etag_of_digest(d, dl, out);
    return 0;
}

/* ---- sidecar ----------------------------------------------------------- */

char *file_sidecar_json(const rc_obj_meta *m, const char *etag, size_t size, ino_t ino)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "content_type",
                            m && m->content_type[0] ? m->content_type : "application/octet-stream");
    if (m && m->cache_control[0]) cJSON_AddStringToObject(o, "cache_control", m->cache_control);
    cJSON_AddStringToObject(o, "etag", etag);
    cJSON_AddNumberToObject(o, "size", (double)size);
    cJSON_AddNumberToObject(o, "inode", (double)ino);
    cJSON *um = cJSON_AddObjectToObject(o, "meta");
    for (int i = 0; m && um && i < m->n; i++)
        cJSON_AddStringToObject(um, m->name[i], m->value[i]);
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    return txt;
}

/* Fill etag/meta from the sidecar side in folder dfd (srel from the root)
 * when it describes the body with inode ino and size size: *used = 1. An
 * absent, unreadable or stale sidecar is not used (the caller recomputes the
 * ETag); a linked or special one is refused. */
int file_sidecar_read(const rc_store *s, int dfd, const char *side, const char *srel,
                      const char *ctx, ino_t ino, int64_t size, char *etag, rc_obj_meta *meta,
                      int *used, rc_err *e)
{
    rc_err le;
    struct stat st;
    int fd;
    *used = 0;
    int rc = file_open_file(s, dfd, side, srel, ctx, &fd, &st, &le);
    if (rc == RC_EUNUSABLE) {
        if (e) *e = le;
        return rc;
    }
    if (rc) return RC_OK;
    rc_buf b = RC_BUF_INIT;
    int ok = file_read_fd(fd, &b) == 0;
    close(fd);
    cJSON *o = ok && b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    rc_buf_free(&b);
    if (!o) return RC_OK;
    const cJSON *jino = cJSON_GetObjectItemCaseSensitive(o, "inode");
    const cJSON *jsize = cJSON_GetObjectItemCaseSensitive(o, "size");
    const cJSON *jetag = cJSON_GetObjectItemCaseSensitive(o, "etag");
    if (cJSON_IsNumber(jino) && cJSON_IsNumber(jsize) && cJSON_IsString(jetag) &&
        (ino_t)jino->valuedouble == ino && (int64_t)jsize->valuedouble == size &&
        strlen(jetag->valuestring) < RC_ETAG_MAX) {
        *used = 1;
        strcpy(etag, jetag->valuestring);
        if (meta) {
            memset(meta, 0, sizeof *meta);
            const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "content_type");
            const cJSON *cc = cJSON_GetObjectItemCaseSensitive(o, "cache_control");
            if (cJSON_IsString(ct))
                snprintf(meta->content_type, sizeof meta->content_type, "%s", ct->valuestring);
            if (cJSON_IsString(cc))
                snprintf(meta->cache_control, sizeof meta->cache_control, "%s", cc->valuestring);
            const cJSON *um = cJSON_GetObjectItemCaseSensitive(o, "meta");
            const cJSON *it;
            cJSON_ArrayForEach(it, um)
            {
                if (cJSON_IsString(it) && it->string)
                    rc_obj_meta_set(meta, it->string, it->valuestring);
            }
        }
    }
    cJSON_Delete(o);
    return RC_OK;
}

/* ---- locking ----------------------------------------------------------- */

/* Exclusive flock on the key folder's ".lock" (made if absent, never
 * through a link). */
int file_dir_lock(const rc_store *s, const kpath *k, int *out, rc_err *e)
{
    rc_buf lrel = RC_BUF_INIT;
    struct stat st;
    int fd = -1, kind;
    *out = -1;
    int rc = RC_OK;
    if (rc_buf_append(&lrel, k->rel.data, k->name_off) || rc_buf_puts(&lrel, ".lock")) {
        rc = oom(e);
        goto fail;
    }
    rc = file_entry_at(s, k->dfd, ".lock", lrel.data, k->ctx, &kind, &st, e);
    if (rc) goto fail;
    fd = openat(k->dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        struct stat ls;
        if (err == ELOOP && fstatat(k->dfd, ".lock", &ls, AT_SYMLINK_NOFOLLOW) == 0)
            rc = file_refuse(s, k->dfd, ".lock", lrel.data, lrel.len, &ls, 0, k->ctx, e);
        else
            rc = rc_err_set(e, RC_EIO, "store %s: cannot open lock file %s (%s): %s", sname(s),
                            lrel.data, k->ctx, strerror(err));
        goto fail;
    }
    if (fstat(fd, &st) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot inspect lock file %s (%s): %s", sname(s),
                        lrel.data, k->ctx, strerror(errno));
        goto fail;
    }
    if (!file_own_file(&st)) {
        rc = file_refuse(s, k->dfd, ".lock", lrel.data, lrel.len, &st, 0, k->ctx, e);
        goto fail;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        rc = rc_err_set(e, RC_EIO, "store %s: cannot lock %s (%s): %s", sname(s), lrel.data, k->ctx,
                        strerror(errno));
        goto fail;
    }
    rc_buf_free(&lrel);
    *out = fd;
    return RC_OK;
fail:
    if (fd >= 0) close(fd);
    rc_buf_free(&lrel);
    return rc;
}

void file_dir_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Best effort, as before: some file systems (FUSE, some NFS) refuse fsync
 * on a folder, and the rename is atomic either way. */
void file_sync_dir(int dfd)
{
    if (fsync(dfd) != 0) return;
}

/* Temporary file in the key's folder, named ".tmp.XXXXXX" (random) so
 * listings skip it; created exclusively, so never through a link. Its name
 * goes to tmp (TMP_NAME_MAX; "" when none is left behind). */
/* Bodies from this size on start their writeback at once (a 6-hour chunk is
 * about 5 MB; 10-minute chunks, sidecars and manifests wait for the sync). */
#define FILE_WRITEBACK_MIN ((size_t)1 << 20)

int file_write_temp(const rc_store *s, const kpath *k, const void *data, size_t len, int durable,
                    char *tmp, ino_t *ino, rc_err *e)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    struct stat st;
    int fd = -1, rc = RC_OK;
    tmp[0] = '\0';
    for (int attempt = 0; fd < 0; attempt++) {
        unsigned char r[6];
        if (RAND_bytes(r, (int)sizeof r) != 1) {
            rc = rc_err_set(e, RC_EIO,
                            "store %s: cannot make a temporary file name (%s): no randomness",
                            sname(s), k->ctx);
            goto fail;
        }
        memcpy(tmp, ".tmp.", 5);
        for (size_t i = 0; i < sizeof r; i++)
            tmp[5 + i] = abc[r[i] % (sizeof abc - 1)];
        tmp[5 + sizeof r] = '\0';
        fd = openat(k->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && (errno != EEXIST || attempt >= 100)) {
            tmp[0] = '\0';
            rc = rc_err_set(e, RC_EIO, "store %s: cannot create a temporary file in %.*s (%s): %s",
                            sname(s), (int)k->name_off, k->rel.data, k->ctx, strerror(errno));
            goto fail;
        }
    }
    if (fchmod(fd, 0644) != 0 || file_write_all(fd, data, len) != 0 ||
        (durable && fsync(fd) != 0) || fstat(fd, &st) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot write %.*s%s (%s): %s", sname(s),
                        (int)k->name_off, k->rel.data, tmp, k->ctx, strerror(errno));
        goto fail;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    /* A deferred put is made durable by the batch's syncfs: start writing
     * a large body back now, while the run goes on computing, so that sync
     * finds it on disk instead of waiting for all of it at the end. Only a
     * hint: its result does not matter (syncfs reports what failed). */
    if (!durable && len >= FILE_WRITEBACK_MIN)
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    if (ino) *ino = st.st_ino;
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot write %.*s%s (%s): %s", sname(s),
                        (int)k->name_off, k->rel.data, tmp, k->ctx, strerror(errno));
        goto fail;
    }
    return RC_OK;
fail:
    if (fd >= 0) close(fd);
    if (tmp[0]) unlinkat(k->dfd, tmp, 0);
    tmp[0] = '\0';
    return rc;
}

/* ETag of whatever is stored at the key now: *have = 0 when absent (or only
 * a folder of other keys). */
int file_current_etag(const rc_store *s, const kpath *k, char *etag, int *have, rc_err *e)
{
    struct stat st;
    int fd, used = 0;
    *have = 0;
    int rc = file_open_file(s, k->dfd, kp_name(k), k->rel.data, k->ctx, &fd, &st, e);
    if (rc == RC_ENOTFOUND) return RC_OK;
    if (rc) return rc;
    rc = file_sidecar_read(s, k->dfd, kp_side(k), k->srel.data, k->ctx, st.st_ino,
                           (int64_t)st.st_size, etag, NULL, &used, e);
    if (rc == RC_OK && !used && file_etag_fd(fd, etag) != 0)
        rc = rc_err_set(e, RC_EIO, "store %s: cannot read the current version of %s (%s): %s",
                        sname(s), k->rel.data, k->ctx, strerror(errno));
    close(fd);
    if (rc == RC_OK) *have = 1;
    return rc;
}
