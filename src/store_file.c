/*
 * store_file.c: the local-directory store ("file:///abs/path" or a plain path).
 *
 * Keys map to paths segment by segment, reversibly: an empty segment (the
 * empty location code in "UWE//HHZ") becomes "%", a literal "%" becomes "%25"
 * and a leading "." becomes "%2E", so every stored name that does not start
 * with "." is an object and every dot-file is ours (temporary files, sidecars,
 * the lock). "." and ".." segments and absolute keys are refused, so no key
 * can reach outside the root.
 *
 * Writes are atomic: body and sidecar (".<name>.meta.json": content type,
 * cache control, ETag, user metadata) go to dot-prefixed temporary files in
 * the same directory, are fsync'ed, and are renamed into place sidecar first,
 * so whoever sees the object can also see its headers. The sidecar records
 * the inode of the body it describes; a sidecar whose inode does not match
 * (a crash between the two renames) is ignored and the ETag recomputed.
 *
 * Conditional puts and deletes hold an exclusive flock on the directory's
 * ".lock" file between the check and the renames, which makes If-Match /
 * If-None-Match hold across processes, as S3 promises.
 */
#include "r2cache/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

typedef struct fstore {
    char *root; /* absolute, no trailing slash */
    int unsynced; /* asynchronous puts renamed into place but not yet synced */
} fstore;

static const char *sname(const rc_store *s)
{
    return rc_store_describe(s);
}

/* ---- key <-> path ------------------------------------------------------ */

int rc_store_file_segment_encode(const char *seg, size_t len, rc_buf *out, rc_err *e)
{
    if (len == 0) return rc_buf_puts(out, "%") ? rc_err_set(e, RC_ENOMEM, "out of memory") : RC_OK;
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return rc_err_set(e, RC_EINVAL,
                          "key segment \"%.*s\" is not allowed (it would leave its folder)",
                          (int)len, seg);
    for (size_t i = 0; i < len; i++) {
        int rc;
        if (seg[i] == '%')
            rc = rc_buf_puts(out, "%25");
        else if (seg[i] == '.' && i == 0)
            rc = rc_buf_puts(out, "%2E");
        else if (seg[i] == '\0' || seg[i] == '/')
            return rc_err_set(e, RC_EINVAL, "key segment contains a NUL or '/' byte");
        else
            rc = rc_buf_append(out, &seg[i], 1);
        if (rc) return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    return RC_OK;
}

/* Inverse of the encoding; -1 for names it never produces (skipped by list). */
static int segment_decode(const char *name, rc_buf *out)
{
    if (strcmp(name, "%") == 0) return 0;
    for (size_t i = 0; name[i]; i++) {
        if (name[i] == '%') {
            if (name[i + 1] == '2' && name[i + 2] == '5') {
                if (rc_buf_append(out, "%", 1)) return -1;
            } else if (i == 0 && name[1] == '2' && name[2] == 'E') {
                if (rc_buf_append(out, ".", 1)) return -1;
            } else {
                return -1;
            }
            i += 2;
        } else if (i == 0 && name[i] == '.') {
            return -1;
        } else if (rc_buf_append(out, &name[i], 1)) {
            return -1;
        }
    }
    return 0;
}

/* Full path of key into path; *name_off = offset of the file name in it. */
static int key_path(const rc_store *s, const char *key, rc_buf *path, size_t *name_off, rc_err *e)
{
    const fstore *fs = s->impl;
    if (key[0] == '/')
        return rc_err_set(e, RC_EINVAL, "store %s: key \"%s\" starts with '/'; keys are relative",
                          sname(s), key);
    if (strlen(key) >= sizeof(((rc_obj_info *)0)->key))
        return rc_err_set(e, RC_EINVAL, "store %s: key \"%.80s...\" is too long", sname(s), key);
    rc_buf_reset(path);
    if (rc_buf_puts(path, fs->root)) return rc_err_set(e, RC_ENOMEM, "out of memory");
    const char *p = key;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (rc_buf_puts(path, "/")) return rc_err_set(e, RC_ENOMEM, "out of memory");
        if (name_off) *name_off = path->len;
        int rc = rc_store_file_segment_encode(p, n, path, e);
        if (rc) return rc_err_wrap(e, "store %s: key \"%s\"", sname(s), key);
        if (!slash) break;
        p = slash + 1;
    }
    return RC_OK;
}

/* ---- small file helpers ------------------------------------------------ */

/* mkdir -p of path from the component at from (a pointer into path) on. */
static int mkdir_from(char *path, char *from, int *err)
{
    for (char *p = from;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            int fail = mkdir(path, 0755) != 0 && errno != EEXIST;
            *p = c;
            if (fail) {
                *err = errno;
                return -1;
            }
            if (c == '\0') return 0;
        }
    }
}

/* The root is created by the first write, not by open: a read-only command
 * (inventory, gaps, get, a dry run) leaves no directory behind. */
static int make_root(const rc_store *s, rc_err *e)
{
    const fstore *fs = s->impl;
    char *tmp = strdup(fs->root);
    if (!tmp) return rc_err_set(e, RC_ENOMEM, "out of memory");
    int err = 0;
    int rc = RC_OK;
    if (tmp[0] && mkdir_from(tmp, tmp + 1, &err) != 0)
        rc = rc_err_set(e, RC_EUNUSABLE,
                        "store %s: cannot create the store directory %s: %s; check the path and "
                        "its permissions",
                        sname(s), fs->root, strerror(err));
    free(tmp);
    return rc;
}

static int mkdirs(const rc_store *s, const char *dir, const char *key, rc_err *e)
{
    const fstore *fs = s->impl;
    size_t rl = strlen(fs->root);
    if (strlen(dir) <= rl) {
        struct stat st;
        return stat(fs->root, &st) == 0 ? RC_OK : make_root(s, e);
    }
    char *tmp = strdup(dir);
    if (!tmp) return rc_err_set(e, RC_ENOMEM, "out of memory");
    for (char *p = tmp + rl + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            int made = mkdir(tmp, 0755) == 0 || errno == EEXIST;
            if (!made && errno == ENOENT) {
                /* folders are made top-down: the root is not there (yet, or any more) */
                int rc = make_root(s, e);
                if (rc) {
                    free(tmp);
                    return rc;
                }
                made = mkdir(tmp, 0755) == 0 || errno == EEXIST;
            }
            if (!made) {
                int err = errno;
                int rc = rc_err_set(e, err == ENOTDIR ? RC_EINVAL : RC_EIO,
                                    "store %s: cannot create folder %s for key \"%s\": %s%s",
                                    sname(s), tmp, key, strerror(err),
                                    err == ENOTDIR ? " (an object of that name exists)" : "");
                free(tmp);
                return rc;
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    free(tmp);
    return RC_OK;
}

static int write_all(int fd, const void *data, size_t len)
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

static int read_fd(int fd, rc_buf *out)
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

static void md5_hex(const void *data, size_t len, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    out[0] = '\0';
    if (!EVP_Digest(data, len, d, &dl, EVP_md5(), NULL)) return;
    for (unsigned int i = 0; i < dl; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int md5_file_hex(const char *path, char *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
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
    close(fd);
    if (!ok) return -1;
    for (unsigned int i = 0; i < dl; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* ---- sidecar ----------------------------------------------------------- */

static int sidecar_path(const rc_buf *path, size_t name_off, rc_buf *out)
{
    rc_buf_reset(out);
    if (rc_buf_append(out, path->data, name_off) || rc_buf_puts(out, ".") ||
        rc_buf_puts(out, path->data + name_off) || rc_buf_puts(out, ".meta.json"))
        return -1;
    return 0;
}

static char *sidecar_json(const rc_obj_meta *m, const char *etag, size_t size, ino_t ino)
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

/* Fill etag/meta from the sidecar when it describes the body with inode ino
 * and size size. Returns 1 when used, 0 otherwise. */
static int sidecar_read(const char *spath, ino_t ino, int64_t size, char *etag, rc_obj_meta *meta)
{
    int fd = open(spath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    rc_buf b = RC_BUF_INIT;
    int ok = read_fd(fd, &b) == 0;
    close(fd);
    cJSON *o = ok && b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    rc_buf_free(&b);
    if (!o) return 0;
    const cJSON *jino = cJSON_GetObjectItemCaseSensitive(o, "inode");
    const cJSON *jsize = cJSON_GetObjectItemCaseSensitive(o, "size");
    const cJSON *jetag = cJSON_GetObjectItemCaseSensitive(o, "etag");
    int used = 0;
    if (cJSON_IsNumber(jino) && cJSON_IsNumber(jsize) && cJSON_IsString(jetag) &&
        (ino_t)jino->valuedouble == ino && (int64_t)jsize->valuedouble == size &&
        strlen(jetag->valuestring) < RC_ETAG_MAX) {
        used = 1;
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
    return used;
}

/* ---- locking ----------------------------------------------------------- */

static int dir_lock(const rc_store *s, const rc_buf *path, size_t name_off, const char *key,
                    rc_err *e)
{
    rc_buf lp = RC_BUF_INIT;
    if (rc_buf_append(&lp, path->data, name_off) || rc_buf_puts(&lp, ".lock")) {
        rc_buf_free(&lp);
        return -rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    int fd = open(lp.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc_err_set(e, RC_EIO, "store %s: cannot open lock file %s for key \"%s\": %s", sname(s),
                   lp.data, key, strerror(errno));
        rc_buf_free(&lp);
        return -RC_EIO;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        rc_err_set(e, RC_EIO, "store %s: cannot lock %s for key \"%s\": %s", sname(s), lp.data, key,
                   strerror(errno));
        close(fd);
        rc_buf_free(&lp);
        return -RC_EIO;
    }
    rc_buf_free(&lp);
    return fd;
}

static void dir_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

static void fsync_dir(const rc_buf *path, size_t name_off)
{
    char *d = strndup(path->data, name_off);
    if (!d) return;
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(d);
}

/* Temporary file in the object's folder, named ".tmp.XXXXXX" so listings skip it. */
static int write_temp(const rc_store *s, const rc_buf *path, size_t name_off, const char *key,
                      const void *data, size_t len, int durable, rc_buf *tmp, ino_t *ino,
                      rc_err *e)
{
    rc_buf_reset(tmp);
    if (rc_buf_append(tmp, path->data, name_off) || rc_buf_puts(tmp, ".tmp.XXXXXX"))
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    int fd = mkostemp(tmp->data, O_CLOEXEC);
    if (fd < 0) {
        int rc =
            rc_err_set(e, RC_EIO, "store %s: cannot create a temporary file for key \"%s\": %s",
                       sname(s), key, strerror(errno));
        rc_buf_reset(tmp);
        return rc;
    }
    struct stat st;
    if (fchmod(fd, 0644) != 0 || write_all(fd, data, len) != 0 || (durable && fsync(fd) != 0) ||
        fstat(fd, &st) != 0) {
        int rc = rc_err_set(e, RC_EIO, "store %s: cannot write %s for key \"%s\": %s", sname(s),
                            tmp->data, key, strerror(errno));
        close(fd);
        unlink(tmp->data);
        rc_buf_reset(tmp);
        return rc;
    }
    if (ino) *ino = st.st_ino;
    if (close(fd) != 0) {
        int rc = rc_err_set(e, RC_EIO, "store %s: cannot write %s for key \"%s\": %s", sname(s),
                            tmp->data, key, strerror(errno));
        unlink(tmp->data);
        rc_buf_reset(tmp);
        return rc;
    }
    return RC_OK;
}

/* ETag of whatever is stored at path now; 0 absent, 1 present, <0 error. */
static int current_etag(const rc_buf *path, size_t name_off, char *etag)
{
    struct stat st;
    if (stat(path->data, &st) != 0) return (errno == ENOENT || errno == ENOTDIR) ? 0 : -1;
    if (!S_ISREG(st.st_mode)) return 0;
    rc_buf sp = RC_BUF_INIT;
    int have = sidecar_path(path, name_off, &sp) == 0 &&
               sidecar_read(sp.data, st.st_ino, (int64_t)st.st_size, etag, NULL);
    rc_buf_free(&sp);
    if (!have && md5_file_hex(path->data, etag) != 0) return -1;
    return 1;
}

static void strip_quotes(const char *in, char *out, size_t n)
{
    size_t l = strlen(in);
    if (l >= 2 && in[0] == '"' && in[l - 1] == '"')
        snprintf(out, n, "%.*s", (int)(l - 2), in + 1);
    else
        snprintf(out, n, "%s", in);
}

/* ---- operations -------------------------------------------------------- */

/* durable = 0 (asynchronous puts): no fsync per file; rc_store_wait syncs
 * the whole file system once, before anything that refers to these objects
 * (a manifest entry) is written. A crash before that can leave a renamed
 * object with lost contents; readers that rebuild entries from blobs check
 * the recorded size and hash before trusting one. */
static int put_impl(rc_store *s, const char *key, const void *data, size_t len,
                    const rc_put_opts *o, char *etag_out, int durable, rc_err *e)
{
    rc_buf path = RC_BUF_INIT, sp = RC_BUF_INIT, tobj = RC_BUF_INIT, tside = RC_BUF_INIT;
    size_t name_off = 0;
    int lockfd = -1;
    char etag[RC_ETAG_MAX];
    char *side = NULL;
    int rc = key_path(s, key, &path, &name_off, e);
    if (rc) goto out;
    {
        char *dir = strndup(path.data, name_off - 1);
        if (!dir) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory");
            goto out;
        }
        rc = mkdirs(s, dir, key, e);
        free(dir);
        if (rc) goto out;
    }
    md5_hex(data, len, etag);
    ino_t ino = 0;
    rc = write_temp(s, &path, name_off, key, data, len, durable, &tobj, &ino, e);
    if (rc) goto out;
    side = sidecar_json(o ? o->meta : NULL, etag, len, ino);
    if (!side || sidecar_path(&path, name_off, &sp)) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        goto out;
    }
    rc = write_temp(s, &path, name_off, key, side, strlen(side), durable, &tside, NULL, e);
    if (rc) goto out;

    /* Every put takes the lock, so an unconditional put cannot slip in between
     * a conditional put's check and its rename. */
    lockfd = dir_lock(s, &path, name_off, key, e);
    if (lockfd < 0) {
        rc = -lockfd;
        goto out;
    }
    if (o && (o->if_none_match || o->if_match)) {
        char cur[RC_ETAG_MAX] = "";
        int have = current_etag(&path, name_off, cur);
        if (have < 0) {
            rc = rc_err_set(e, RC_EIO, "store %s: cannot read the current version of \"%s\": %s",
                            sname(s), key, strerror(errno));
            goto out;
        }
        if (o->if_none_match && have) {
            rc = rc_err_set(e, RC_ECONFLICT,
                            "store %s: key \"%s\" already exists (create-only put lost a race); "
                            "re-read it and retry",
                            sname(s), key);
            goto out;
        }
        if (o->if_match) {
            char want[RC_ETAG_MAX];
            strip_quotes(o->if_match, want, sizeof want);
            if (!have) {
                rc = rc_err_set(e, RC_ECONFLICT,
                                "store %s: key \"%s\" is gone (If-Match %s); re-read it and retry",
                                sname(s), key, want);
                goto out;
            }
            if (strcmp(cur, want) != 0) {
                rc = rc_err_set(e, RC_ECONFLICT,
                                "store %s: key \"%s\" changed (ETag %s, expected %s); "
                                "re-read it and retry",
                                sname(s), key, cur, want);
                goto out;
            }
        }
    }
    if (rename(tside.data, sp.data) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot write sidecar %s for key \"%s\": %s", sname(s),
                        sp.data, key, strerror(errno));
        goto out;
    }
    rc_buf_reset(&tside);
    if (rename(tobj.data, path.data) != 0) {
        int err = errno;
        rc = rc_err_set(e, err == EISDIR ? RC_EINVAL : RC_EIO,
                        "store %s: cannot write key \"%s\" at %s: %s%s", sname(s), key, path.data,
                        strerror(err),
                        err == EISDIR ? " (other keys use it as a folder; a local store cannot "
                                        "hold both)"
                                      : "");
        goto out;
    }
    rc_buf_reset(&tobj);
    if (durable)
        fsync_dir(&path, name_off);
    else
        ((fstore *)s->impl)->unsynced = 1;
    if (etag_out) strcpy(etag_out, etag);
out:
    dir_unlock(lockfd);
    if (tobj.len) unlink(tobj.data);
    if (tside.len) unlink(tside.data);
    free(side);
    rc_buf_free(&path);
    rc_buf_free(&sp);
    rc_buf_free(&tobj);
    rc_buf_free(&tside);
    return rc;
}

static int file_put(rc_store *s, const char *key, const void *data, size_t len,
                    const rc_put_opts *o, char *etag_out, rc_err *e)
{
    return put_impl(s, key, data, len, o, etag_out, 1, e);
}

/* Chunks are queued in bulk (a day is 148 objects); one sync per batch
 * instead of three fsyncs per object is what makes a local fill fast. */
static int file_put_async(rc_store *s, const char *key, const void *data, size_t len,
                          const rc_obj_meta *meta, rc_put_done_cb cb, void *ud, rc_err *e)
{
    rc_put_opts o = {meta, NULL, 0};
    rc_err pe;
    rc_err_clear(&pe);
    int rc = put_impl(s, key, data, len, &o, NULL, 0, &pe);
    if (cb) {
        cb(ud, key, rc, &pe);
        return RC_OK;
    }
    if (rc && e)
        *e = pe;
    return rc;
}

static int file_wait(rc_store *s, rc_err *e)
{
    fstore *fs = s->impl;
    if (!fs->unsynced)
        return RC_OK;
    int fd = open(fs->root[0] ? fs->root : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) {
        int rc = rc_err_set(e, RC_EIO, "store %s: cannot sync written objects to disk: %s",
                            sname(s), strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    fs->unsynced = 0;
    return RC_OK;
}

static int not_found(const rc_store *s, const char *key, rc_err *e)
{
    return rc_err_set(e, RC_ENOTFOUND, "store %s: key \"%s\" not found", sname(s), key);
}

static void fill_info(rc_obj_info *info, const char *key, const struct stat *st)
{
    memset(info, 0, sizeof *info);
    snprintf(info->key, sizeof info->key, "%s", key);
    info->size = (int64_t)st->st_size;
    info->mtime = (int64_t)st->st_mtime;
}

static int file_get(rc_store *s, const char *key, rc_buf *out, rc_obj_info *info, rc_err *e)
{
    rc_buf path = RC_BUF_INIT, sp = RC_BUF_INIT;
    size_t name_off = 0;
    int fd = -1;
    int rc = key_path(s, key, &path, &name_off, e);
    if (rc) goto done;
    fd = open(path.data, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = not_found(s, key, e);
        else
            rc = rc_err_set(e, RC_EIO, "store %s: cannot open key \"%s\" (%s): %s", sname(s), key,
                            path.data, strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = not_found(s, key, e);
        goto done;
    }
    rc_buf_reset(out);
    if (read_fd(fd, out) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                        path.data, strerror(errno));
        goto done;
    }
    if (info) {
        fill_info(info, key, &st);
        info->size = (int64_t)out->len;
        /* The fd pins the body we read: the sidecar counts only if it names
         * this very inode, even when a writer replaced the key meanwhile. */
        if (sidecar_path(&path, name_off, &sp) != 0 ||
            !sidecar_read(sp.data, st.st_ino, (int64_t)out->len, info->etag, &info->meta)) {
            memset(&info->meta, 0, sizeof info->meta);
            md5_hex(out->data ? out->data : "", out->len, info->etag);
        }
    }
done:
    if (fd >= 0) close(fd);
    rc_buf_free(&path);
    rc_buf_free(&sp);
    return rc;
}

static int file_head(rc_store *s, const char *key, rc_obj_info *info, rc_err *e)
{
    rc_buf path = RC_BUF_INIT, sp = RC_BUF_INIT;
    size_t name_off = 0;
    int rc = key_path(s, key, &path, &name_off, e);
    if (rc) goto done;
    struct stat st;
    if (stat(path.data, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = not_found(s, key, e);
        else
            rc = rc_err_set(e, RC_EIO, "store %s: cannot stat key \"%s\" (%s): %s", sname(s), key,
                            path.data, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = not_found(s, key, e); /* a folder of other keys, not an object */
        goto done;
    }
    fill_info(info, key, &st);
    if (sidecar_path(&path, name_off, &sp) != 0 ||
        !sidecar_read(sp.data, st.st_ino, (int64_t)st.st_size, info->etag, &info->meta)) {
        memset(&info->meta, 0, sizeof info->meta);
        if (md5_file_hex(path.data, info->etag) != 0)
            rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                            path.data, strerror(errno));
    }
done:
    rc_buf_free(&path);
    rc_buf_free(&sp);
    return rc;
}

static int file_del(rc_store *s, const char *key, rc_err *e)
{
    rc_buf path = RC_BUF_INIT, sp = RC_BUF_INIT;
    size_t name_off = 0;
    int lockfd = -1;
    int rc = key_path(s, key, &path, &name_off, e);
    if (rc) goto done;
    struct stat st;
    if (stat(path.data, &st) != 0 || !S_ISREG(st.st_mode))
        goto done; /* absent (or only a folder of other keys): nothing to delete */
    lockfd = dir_lock(s, &path, name_off, key, e);
    if (lockfd < 0) {
        rc = -lockfd;
        goto done;
    }
    if (unlink(path.data) != 0 && errno != ENOENT) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot delete key \"%s\" (%s): %s", sname(s), key,
                        path.data, strerror(errno));
        goto done;
    }
    if (sidecar_path(&path, name_off, &sp) == 0) unlink(sp.data);
    fsync_dir(&path, name_off);
done:
    dir_unlock(lockfd);
    rc_buf_free(&path);
    rc_buf_free(&sp);
    return rc;
}

/* ---- listing ----------------------------------------------------------- */

typedef struct lent {
    char *name;    /* on disk */
    char *sortkey; /* decoded, with "/" appended for folders */
    int isdir;
} lent;

static int lent_cmp(const void *a, const void *b)
{
    return strcmp(((const lent *)a)->sortkey, ((const lent *)b)->sortkey);
}

typedef struct lctx {
    rc_store *s;
    const char *prefix;
    size_t plen;
    rc_list_cb cb;
    void *ud;
    int stop;
} lctx;

/* Could a key under folder key dkey (ending in "/") start with prefix? */
static int prefix_compatible(const char *dkey, size_t dlen, const char *prefix, size_t plen)
{
    size_t n = dlen < plen ? dlen : plen;
    return memcmp(dkey, prefix, n) == 0;
}

static int walk(lctx *c, rc_buf *dir, rc_buf *kp, rc_err *e)
{
    DIR *d = opendir(dir->data);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return RC_OK;
        return rc_err_set(e, RC_EIO, "store %s: cannot list folder %s: %s", sname(c->s), dir->data,
                          strerror(errno));
    }
    lent *v = NULL;
    size_t n = 0, cap = 0;
    int rc = RC_OK;
    struct dirent *de;
    rc_buf dec = RC_BUF_INIT;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        rc_buf_reset(&dec);
        if (segment_decode(de->d_name, &dec) != 0) continue; /* not a name this store writes */
        int isdir;
        if (de->d_type == DT_DIR)
            isdir = 1;
        else if (de->d_type == DT_REG)
            isdir = 0;
        else if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (S_ISDIR(st.st_mode))
                isdir = 1;
            else if (S_ISREG(st.st_mode))
                isdir = 0;
            else
                continue;
        } else {
            continue; /* symlinks and devices are never ours */
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            lent *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", dir->data);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n].name = strdup(de->d_name);
        v[n].isdir = isdir;
        if ((isdir && rc_buf_puts(&dec, "/")) || rc_buf_reserve(&dec, 1)) {
            free(v[n].name);
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", dir->data);
            break;
        }
        v[n].sortkey = rc_buf_steal(&dec, NULL);
        if (!v[n].name || !v[n].sortkey) {
            free(v[n].name);
            free(v[n].sortkey);
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", dir->data);
            break;
        }
        n++;
    }
    closedir(d);
    rc_buf_free(&dec);
    if (rc == RC_OK && n > 1) qsort(v, n, sizeof *v, lent_cmp);

    size_t dlen = dir->len, klen = kp->len;
    for (size_t i = 0; rc == RC_OK && !c->stop && i < n; i++) {
        dir->len = dlen;
        dir->data[dlen] = '\0';
        kp->len = klen;
        kp->data[klen] = '\0';
        if (rc_buf_puts(dir, "/") || rc_buf_puts(dir, v[i].name) || rc_buf_puts(kp, v[i].sortkey)) {
            rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", dir->data);
            break;
        }
        if (v[i].isdir) {
            if (prefix_compatible(kp->data, kp->len, c->prefix, c->plen)) rc = walk(c, dir, kp, e);
            continue;
        }
        if (kp->len < c->plen || memcmp(kp->data, c->prefix, c->plen) != 0) continue;
        if (kp->len >= sizeof(((rc_obj_info *)0)->key)) continue;
        struct stat st;
        if (stat(dir->data, &st) != 0 || !S_ISREG(st.st_mode)) continue; /* deleted while listing */
        rc_obj_info info;
        fill_info(&info, kp->data, &st);
        /* sidecar of "<dir>/<name>" is "<dir>/.<name>.meta.json" */
        rc_buf sp = RC_BUF_INIT;
        size_t name_off = dlen + 1;
        int have = sidecar_path(dir, name_off, &sp) == 0 &&
                   sidecar_read(sp.data, st.st_ino, info.size, info.etag, NULL);
        rc_buf_free(&sp);
        if (!have && md5_file_hex(dir->data, info.etag) != 0)
            continue; /* vanished between stat and read */
        if (c->cb(c->ud, &info)) c->stop = 1;
    }
    dir->len = dlen;
    dir->data[dlen] = '\0';
    kp->len = klen;
    if (kp->data) kp->data[klen] = '\0';
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].sortkey);
    }
    free(v);
    return rc;
}

static int file_list(rc_store *s, const char *prefix, rc_list_cb cb, void *ud, rc_err *e)
{
    const fstore *fs = s->impl;
    lctx c = {s, prefix, strlen(prefix), cb, ud, 0};
    rc_buf dir = RC_BUF_INIT, kp = RC_BUF_INIT;
    int rc = RC_OK;
    if (rc_buf_puts(&dir, fs->root) || rc_buf_puts(&kp, "")) {
        rc = rc_err_set(e, RC_ENOMEM, "out of memory");
        goto done;
    }
    /* Start in the deepest folder the prefix names completely. */
    const char *p = prefix;
    const char *slash;
    while ((slash = strchr(p, '/')) != NULL) {
        size_t n = (size_t)(slash - p);
        rc_err tmp;
        if (rc_buf_puts(&dir, "/")) goto oom;
        if (rc_store_file_segment_encode(p, n, &dir, &tmp) != RC_OK)
            goto done; /* "." or "..": no stored key can start with it */
        if (rc_buf_append(&kp, p, n + 1)) goto oom;
        p = slash + 1;
    }
    rc = walk(&c, &dir, &kp, e);
    goto done;
oom:
    rc = rc_err_set(e, RC_ENOMEM, "out of memory");
done:
    rc_buf_free(&dir);
    rc_buf_free(&kp);
    return rc;
}

static void file_close(rc_store *s)
{
    fstore *fs = s->impl;
    if (fs && fs->unsynced) {
        rc_err e;
        file_wait(s, &e);
    }
    if (fs) {
        free(fs->root);
        free(fs);
    }
    s->impl = NULL;
}

static const rc_store_ops file_ops = {
    .scheme = "file",
    .put = file_put,
    .get = file_get,
    .head = file_head,
    .del = file_del,
    .list = file_list,
    .put_async = file_put_async,
    .wait = file_wait,
    .close = file_close,
};

/* The absolute form of a root that does not exist yet: the real path of its
 * deepest existing ancestor (which must be a directory) plus the missing
 * components, "." and ".." resolved lexically. NULL with e set on failure. */
static char *absent_root(const char *root, rc_err *e)
{
    rc_buf b = RC_BUF_INIT;
    if (root[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve the current directory: %s",
                       root, strerror(errno));
            return NULL;
        }
        int bad = rc_buf_puts(&b, cwd);
        free(cwd);
        if (bad) goto oom;
    }
    for (const char *p = root; *p;) {
        while (*p == '/') p++;
        size_t n = strcspn(p, "/");
        if (n == 0) break;
        if (n == 1 && p[0] == '.') {
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *last = b.data ? strrchr(b.data, '/') : NULL;
            if (last) {
                b.len = (size_t)(last - b.data);
                b.data[b.len] = '\0';
            }
        } else if (rc_buf_puts(&b, "/") || rc_buf_append(&b, p, n)) {
            goto oom;
        }
        p += n;
    }
    if (!b.data || !b.len) {
        rc_buf_free(&b);
        rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve directory", root);
        return NULL;
    }
    /* the deepest existing ancestor must be a directory we can enter */
    char *anc = strdup(b.data);
    if (!anc) goto oom;
    struct stat st;
    for (;;) {
        char *slash = strrchr(anc, '/');
        if (!slash) break;
        *slash = '\0';
        const char *a = anc[0] ? anc : "/";
        if (stat(a, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                rc_err_set(e, RC_EUNUSABLE,
                           "store %s: %s is not a directory, so the store cannot be created "
                           "under it; check the path",
                           root, a);
                free(anc);
                rc_buf_free(&b);
                return NULL;
            }
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            rc_err_set(e, RC_EUNUSABLE, "store %s: cannot inspect %s: %s", root, a,
                       strerror(errno));
            free(anc);
            rc_buf_free(&b);
            return NULL;
        }
    }
    free(anc);
    return b.data; /* owned by the caller */
oom:
    rc_buf_free(&b);
    rc_err_set(e, RC_ENOMEM, "out of memory");
    return NULL;
}

int rc_store_file_open(rc_store *s, const char *root, rc_err *e)
{
    if (!root || !*root) return rc_err_set(e, RC_EINVAL, "store: empty directory path");
    struct stat st0;
    if (stat(root, &st0) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        /* created by the first write (make_root) */
        char *abs = absent_root(root, e);
        if (!abs) return e->code;
        fstore *fs = calloc(1, sizeof *fs);
        if (!fs) {
            free(abs);
            return rc_err_set(e, RC_ENOMEM, "out of memory");
        }
        fs->root = abs;
        s->impl = fs;
        s->ops = &file_ops;
        return RC_OK;
    }
    char *abs = realpath(root, NULL);
    if (!abs)
        return rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve directory: %s", root,
                          strerror(errno));
    struct stat st;
    if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(abs);
        return rc_err_set(e, RC_EUNUSABLE, "store %s: not a directory", root);
    }
    if (access(abs, R_OK | W_OK | X_OK) != 0) {
        int rc =
            rc_err_set(e, RC_EUNUSABLE, "store %s: directory %s is not readable and writable: %s",
                       root, abs, strerror(errno));
        free(abs);
        return rc;
    }
    fstore *fs = calloc(1, sizeof *fs);
    if (!fs) {
        free(abs);
        return rc_err_set(e, RC_ENOMEM, "out of memory");
    }
    /* realpath of "/" is "/": keep no trailing slash so paths join as root + "/" + seg. */
    if (strcmp(abs, "/") == 0) abs[0] = '\0';
    fs->root = abs;
    s->impl = fs;
    s->ops = &file_ops;
    return RC_OK;
}
