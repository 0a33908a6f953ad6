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
 *
 * No symbolic link beneath the root is ever followed, for reads or writes.
 * The root is resolved once, at open (realpath: the root itself may be a
 * link, /data -> /mnt/data; that is the operator's path, as are the folders
 * above it) and held open as a directory fd; a root that does not exist yet
 * is opened by the first write, which creates it. Every operation walks the
 * key's folders from that fd one component at a time with
 * openat(O_NOFOLLOW | O_DIRECTORY), creates missing ones with mkdirat, and
 * opens, creates, renames and unlinks the object, its sidecar, its temporary
 * files and the lock with openat(O_NOFOLLOW) / renameat / unlinkat relative to
 * the last folder's fd. (openat2's RESOLVE_NO_SYMLINKS would refuse links
 * too, but could neither create the missing folders nor tell which component
 * is the link; the walk does both with plain POSIX calls, on every kernel.)
 *
 * This store never makes a symbolic link, a second hard link to a file, a
 * fifo, a socket or a device, so meeting one -- as a folder, an object, a
 * sidecar or a lock, in any operation -- is refused with a message naming it
 * relative to the root (a link with its target) and saying what to do:
 * "data/2025/11 is a symbolic link to /mnt/old/11; the local store never
 * follows symbolic links out of its root: replace data/2025/11 with a
 * directory or remove it". Listings refuse them the same way instead of
 * skipping them: a month moved to another disk and linked back must make
 * verify and inventory fail and say why, not report an empty store. (Names no
 * key maps to -- dot-files, "%zz" -- are skipped by listings as before; a
 * listing fails only on what could hold a key under its prefix.)
 *
 * Such a refusal is RC_EUNUSABLE, deliberately not RC_EINVAL. The key is
 * fine; what is wrong is the store's tree, changed by someone into a shape
 * r2cache never makes, and no retry or other input will fix it. RC_EINVAL is
 * "bad input", which the command line reports as exit 2 ("nothing was done")
 * and the engine as one failed window while it carries on writing; RC_EUNUSABLE
 * is what every caller treats as the store being unusable: run and fill stop
 * with exit 3 naming the store instead of writing on into a tree that has
 * been redirected, and verify, inventory, gaps and get exit 3 with the
 * message. A key under another key's plain file stays RC_EINVAL: that is a
 * conflict between two keys, which is about the keys.
 *
 * Files: this one holds the operations, the listing and opening;
 * file_path.c maps keys to paths and walks from the root (the rules above);
 * file_obj.c handles one object's files (body, sidecar, temporary, lock).
 * They share store_file_int.h.
 */
#include "store_file_int.h"

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
#include <openssl/rand.h>

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
    kpath k = KPATH_INIT;
    char tobj[TMP_NAME_MAX] = "", tside[TMP_NAME_MAX] = "";
    char etag[RC_ETAG_MAX];
    char *side = NULL;
    int lockfd = -1, kind;
    struct stat st;
    ino_t ino = 0;
    int rc = file_kpath_open(s, key, 1, &k, e);
    if (rc) goto out;
    /* what is there now must be the store's: nothing, a plain file, or a
     * folder (which the rename below refuses) */
    rc = file_entry_at(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &kind, &st, e);
    if (rc == RC_OK) rc = file_entry_at(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, &kind, &st, e);
    if (rc) goto out;
    if (o && o->meta && strlen(o->meta->hash.sha256) == 64)
        file_etag_of_sha256(o->meta->hash.sha256, etag); /* the writer hashed these bytes */
    else
        file_etag_hex(data, len, etag);
    rc = file_write_temp(s, &k, data, len, durable, tobj, &ino, e);
    if (rc) goto out;
    side = file_sidecar_json(o ? o->meta : NULL, etag, len, ino);
    if (!side) {
        rc = oom(e);
        goto out;
    }
    rc = file_write_temp(s, &k, side, strlen(side), durable, tside, NULL, e);
    if (rc) goto out;

    /* Every put takes the lock, so an unconditional put cannot slip in between
     * a conditional put's check and its rename. */
    rc = file_dir_lock(s, &k, &lockfd, e);
    if (rc) goto out;
    if (o && (o->if_none_match || o->if_match)) {
        char cur[RC_ETAG_MAX] = "";
        int have = 0;
        rc = file_current_etag(s, &k, cur, &have, e);
        if (rc) goto out;
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
    if (renameat(k.dfd, tside, k.dfd, kp_side(&k)) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot write sidecar %s (%s): %s", sname(s),
                        k.srel.data, k.ctx, strerror(errno));
        goto out;
    }
    tside[0] = '\0';
    if (renameat(k.dfd, tobj, k.dfd, kp_name(&k)) != 0) {
        int err = errno;
        rc = rc_err_set(e, err == EISDIR ? RC_EINVAL : RC_EIO,
                        "store %s: cannot write key \"%s\" at %s: %s%s", sname(s), key, k.rel.data,
                        strerror(err),
                        err == EISDIR ? " (other keys use it as a folder; a local store cannot "
                                        "hold both)"
                                      : "");
        goto out;
    }
    tobj[0] = '\0';
    if (durable)
        file_sync_dir(k.dfd);
    else
        ((fstore *)s->impl)->unsynced = 1;
    if (etag_out) strcpy(etag_out, etag);
out:
    file_dir_unlock(lockfd);
    if (tobj[0]) unlinkat(k.dfd, tobj, 0);
    if (tside[0]) unlinkat(k.dfd, tside, 0);
    free(side);
    file_kpath_free(&k);
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
    if (rc && e) *e = pe;
    return rc;
}

static int file_wait(rc_store *s, rc_err *e)
{
    fstore *fs = s->impl;
    if (!fs->unsynced) return RC_OK;
    if (fs->rootfd < 0 || syncfs(fs->rootfd) != 0)
        return rc_err_set(e, RC_EIO, "store %s: cannot sync written objects to disk: %s", sname(s),
                          fs->rootfd < 0 ? "the store directory is gone" : strerror(errno));
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
    kpath k = KPATH_INIT;
    struct stat st;
    int fd = -1, used = 0;
    int rc = file_kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = file_open_file(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &fd, &st, e);
    if (rc) goto out;
    rc_buf_reset(out);
    if (file_read_fd(fd, out) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                        k.rel.data, strerror(errno));
        goto out;
    }
    if (info) {
        fill_info(info, key, &st);
        info->size = (int64_t)out->len;
        /* The fd pins the body we read: the sidecar counts only if it names
         * this very inode, even when a writer replaced the key meanwhile. */
        rc = file_sidecar_read(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, st.st_ino,
                               (int64_t)out->len, info->etag, &info->meta, &used, e);
        if (rc) goto out;
        if (!used) {
            memset(&info->meta, 0, sizeof info->meta);
            file_etag_hex(out->data ? out->data : "", out->len, info->etag);
        }
    }
out:
    if (rc == RC_ENOTFOUND) rc = not_found(s, key, e);
    if (fd >= 0) close(fd);
    file_kpath_free(&k);
    return rc;
}

static int file_head(rc_store *s, const char *key, rc_obj_info *info, rc_err *e)
{
    kpath k = KPATH_INIT;
    struct stat st;
    int fd = -1, used = 0;
    int rc = file_kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = file_open_file(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &fd, &st, e);
    if (rc) goto out;
    fill_info(info, key, &st);
    rc = file_sidecar_read(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, st.st_ino,
                           (int64_t)st.st_size, info->etag, &info->meta, &used, e);
    if (rc == RC_OK && !used) {
        memset(&info->meta, 0, sizeof info->meta);
        if (file_etag_fd(fd, info->etag) != 0)
            rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                            k.rel.data, strerror(errno));
    }
out:
    if (rc == RC_ENOTFOUND) rc = not_found(s, key, e);
    if (fd >= 0) close(fd);
    file_kpath_free(&k);
    return rc;
}

static int file_del(rc_store *s, const char *key, rc_err *e)
{
    kpath k = KPATH_INIT;
    struct stat st;
    int lockfd = -1, kind = ENT_NONE, skind;
    int rc = file_kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = file_entry_at(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &kind, &st, e);
    /* the sidecar is checked before anything is removed */
    if (rc == RC_OK && kind == ENT_FILE)
        rc = file_entry_at(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, &skind, &st, e);
    if (rc || kind != ENT_FILE)
        goto out; /* absent (or only a folder of other keys): nothing to delete */
    rc = file_dir_lock(s, &k, &lockfd, e);
    if (rc) goto out;
    if (unlinkat(k.dfd, kp_name(&k), 0) != 0 && errno != ENOENT) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot delete key \"%s\" (%s): %s", sname(s), key,
                        k.rel.data, strerror(errno));
        goto out;
    }
    if (unlinkat(k.dfd, kp_side(&k), 0) != 0 && errno != ENOENT) {
        rc = rc_err_set(e, RC_EIO,
                        "store %s: deleted key \"%s\" but cannot remove its sidecar %s: %s",
                        sname(s), key, k.srel.data, strerror(errno));
        goto out;
    }
    file_sync_dir(k.dfd);
out:
    if (rc == RC_ENOTFOUND) rc = RC_OK; /* no folder for it: nothing to delete */
    file_dir_unlock(lockfd);
    file_kpath_free(&k);
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
    rc_buf rel;        /* on-disk path of the folder being walked, from the root: "" or "a/b/" */
    rc_buf kp;         /* its key prefix: "" or "a/b/" */
    rc_buf srel;       /* scratch: a sidecar's path */
    char ctx[CTX_MAX]; /* "listing \"...\"", for messages */
} lctx;

/* The walk enters only folders whose key agrees with the prefix, so kp
 * agrees with it over their common length; these look at one more name. */

/* Could a key under folder kp + name + "/" start with prefix? */
static int folder_matches(const lctx *c, const char *name, size_t nlen)
{
    size_t kl = c->kp.len;
    if (kl >= c->plen) return 1;
    size_t rest = c->plen - kl;
    if (nlen >= rest) return memcmp(name, c->prefix + kl, rest) == 0;
    return memcmp(name, c->prefix + kl, nlen) == 0 && c->prefix[kl + nlen] == '/';
}

/* Does key kp + name start with prefix? */
static int key_matches(const lctx *c, const char *name, size_t nlen)
{
    size_t kl = c->kp.len;
    if (kl >= c->plen) return 1;
    size_t rest = c->plen - kl;
    return nlen >= rest && memcmp(name, c->prefix + kl, rest) == 0;
}

static void truncate_buf(rc_buf *b, size_t len)
{
    b->len = len;
    b->data[len] = '\0';
}

/* Refuse entry name (status st) of the folder being walked (c->rel). */
static int list_refuse(lctx *c, int dfd, const char *name, const struct stat *st, rc_err *e)
{
    size_t rlen = c->rel.len;
    struct stat t;
    /* for the advice only: what the link stands for (its target is not opened) */
    int as_dir = S_ISLNK(st->st_mode) && fstatat(dfd, name, &t, 0) == 0 && S_ISDIR(t.st_mode);
    int rc = rc_buf_puts(&c->rel, name)
                 ? oom(e)
                 : file_refuse(c->s, dfd, name, c->rel.data, c->rel.len, st, as_dir, c->ctx, e);
    truncate_buf(&c->rel, rlen);
    return rc;
}

/* One object of the folder dfd being walked: c->rel and c->kp name it, dlen
 * is the length of its folder's part of c->rel. */
static int list_file(lctx *c, int dfd, const char *name, size_t dlen, rc_err *e)
{
    rc_obj_info info;
    struct stat st;
    int fd = -1, used = 0;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return RC_OK; /* deleted while listing */
        return rc_err_set(e, RC_EIO, "store %s: cannot inspect %s (%s): %s", sname(c->s),
                          c->rel.data, c->ctx, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return RC_OK; /* replaced by a folder while listing */
    if (!file_own_file(&st))
        return file_refuse(c->s, dfd, name, c->rel.data, c->rel.len, &st, 0, c->ctx, e);
    fill_info(&info, c->kp.data, &st);
    /* sidecar of "<dir>/<name>" is "<dir>/.<name>.meta.json" */
    rc_buf_reset(&c->srel);
    if (rc_buf_append(&c->srel, c->rel.data, dlen) || rc_buf_puts(&c->srel, ".") ||
        rc_buf_puts(&c->srel, name) || rc_buf_puts(&c->srel, ".meta.json"))
        return oom(e);
    int rc = file_sidecar_read(c->s, dfd, c->srel.data + dlen, c->srel.data, c->ctx, st.st_ino,
                               info.size, info.etag, NULL, &used, e);
    if (rc) return rc;
    if (!used) {
        rc = file_open_file(c->s, dfd, name, c->rel.data, c->ctx, &fd, &st, e);
        if (rc == RC_ENOTFOUND) return RC_OK; /* vanished meanwhile */
        if (rc) return rc;
        fill_info(&info, c->kp.data, &st);
        int bad = file_etag_fd(fd, info.etag) != 0;
        close(fd);
        if (bad)
            return rc_err_set(e, RC_EIO, "store %s: cannot read %s (%s): %s", sname(c->s),
                              c->rel.data, c->ctx, strerror(errno));
    }
    if (c->cb(c->ud, &info)) c->stop = 1;
    return RC_OK;
}

/* List the folder fd (consumed), which c->rel and c->kp name, in key order. */
static int walk(lctx *c, int fd, rc_err *e)
{
    lent *v = NULL;
    size_t n = 0, cap = 0;
    size_t rlen = c->rel.len, klen = c->kp.len;
    rc_buf dec = RC_BUF_INIT;
    int rc = RC_OK;
    DIR *d = fdopendir(fd);
    if (!d) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot list folder %s (%s): %s", sname(c->s),
                        rlen ? c->rel.data : ".", c->ctx, strerror(errno));
        close(fd);
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = rc_err_set(e, RC_EIO, "store %s: cannot list folder %s (%s): %s", sname(c->s),
                                rlen ? c->rel.data : ".", c->ctx, strerror(errno));
            break;
        }
        if (de->d_name[0] == '.') continue;
        rc_buf_reset(&dec);
        if (file_segment_decode(de->d_name, &dec) != 0) continue; /* not a name this store writes */
        if (rc_buf_reserve(&dec, 1)) {
            rc = oom(e);
            break;
        }
        unsigned char type = de->d_type;
        struct stat st;
        if (type != DT_DIR && type != DT_REG) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) continue; /* deleted while listing */
                rc = rc_err_set(e, RC_EIO, "store %s: cannot inspect %s%s (%s): %s", sname(c->s),
                                c->rel.data, de->d_name, c->ctx, strerror(errno));
                break;
            }
            type = IFTODT(st.st_mode);
        }
        if (type == DT_REG ? !key_matches(c, dec.data, dec.len)
                           : !folder_matches(c, dec.data, dec.len))
            continue;
        if (type != DT_DIR && type != DT_REG) {
            rc = list_refuse(c, dirfd(d), de->d_name, &st, e); /* not skipped: refused */
            break;
        }
        if (type == DT_REG && klen + dec.len >= sizeof(((rc_obj_info *)0)->key)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            lent *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = oom(e);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n].isdir = type == DT_DIR;
        if (v[n].isdir && rc_buf_puts(&dec, "/")) {
            rc = oom(e);
            break;
        }
        v[n].name = strdup(de->d_name);
        v[n].sortkey = rc_buf_steal(&dec, NULL);
        if (!v[n].name || !v[n].sortkey) {
            free(v[n].name);
            free(v[n].sortkey);
            rc = oom(e);
            break;
        }
        n++;
    }
    if (rc == RC_OK && n > 1) qsort(v, n, sizeof *v, lent_cmp);

    for (size_t i = 0; rc == RC_OK && !c->stop && i < n; i++) {
        truncate_buf(&c->rel, rlen);
        truncate_buf(&c->kp, klen);
        if (rc_buf_puts(&c->rel, v[i].name) || rc_buf_puts(&c->kp, v[i].sortkey)) {
            rc = oom(e);
            break;
        }
        if (!v[i].isdir) {
            rc = list_file(c, dirfd(d), v[i].name, rlen, e);
            continue;
        }
        int sub = openat(dirfd(d), v[i].name, DIR_FLAGS);
        if (sub < 0) {
            int err = errno;
            struct stat st;
            if (err == ENOENT) continue; /* deleted while listing */
            if ((err == ELOOP || err == ENOTDIR) &&
                fstatat(dirfd(d), v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISREG(st.st_mode)) continue; /* replaced by a file while listing */
                truncate_buf(&c->rel, rlen);
                rc = list_refuse(c, dirfd(d), v[i].name, &st, e);
            } else {
                rc = rc_err_set(e, RC_EIO, "store %s: cannot list folder %s (%s): %s", sname(c->s),
                                c->rel.data, c->ctx, strerror(err));
            }
            break;
        }
        if (rc_buf_puts(&c->rel, "/")) {
            close(sub);
            rc = oom(e);
            break;
        }
        rc = walk(c, sub, e);
    }
    truncate_buf(&c->rel, rlen);
    truncate_buf(&c->kp, klen);
out:
    if (d) closedir(d);
    rc_buf_free(&dec);
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].sortkey);
    }
    free(v);
    return rc;
}

static int file_list(rc_store *s, const char *prefix, rc_list_cb cb, void *ud, rc_err *e)
{
    lctx c = {s, prefix, strlen(prefix), cb, ud, 0, RC_BUF_INIT, RC_BUF_INIT, RC_BUF_INIT, ""};
    int fd = -1, rc = RC_OK;
    if (prefix[0])
        snprintf(c.ctx, sizeof c.ctx, "listing \"%s\"", prefix);
    else
        snprintf(c.ctx, sizeof c.ctx, "listing the whole store");
    if (rc_buf_puts(&c.rel, "") || rc_buf_puts(&c.kp, "") || rc_buf_puts(&c.srel, "")) {
        rc = oom(e);
        goto out;
    }
    /* Start in the deepest folder the prefix names completely. */
    const char *p = prefix;
    const char *slash;
    while ((slash = strchr(p, '/')) != NULL) {
        size_t n = (size_t)(slash - p);
        rc_err tmp;
        rc = rc_store_file_segment_encode(p, n, &c.rel, &tmp);
        if (rc == RC_ENOMEM) {
            rc = oom(e);
            goto out;
        }
        if (rc) {
            rc = RC_OK; /* "." or "..": no stored key can start with it */
            goto out;
        }
        if (rc_buf_puts(&c.rel, "/") || rc_buf_append(&c.kp, p, n + 1)) {
            rc = oom(e);
            goto out;
        }
        p = slash + 1;
    }
    rc = file_open_dir(s, c.rel.data, c.rel.len ? c.rel.len - 1 : 0, 0, c.ctx, &fd, e);
    if (rc == RC_ENOTFOUND) rc = RC_OK; /* nothing stored under the prefix */
    if (rc == RC_OK && fd >= 0) rc = walk(&c, fd, e);
out:
    rc_buf_free(&c.rel);
    rc_buf_free(&c.kp);
    rc_buf_free(&c.srel);
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
        if (fs->rootfd >= 0) close(fs->rootfd);
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

/* Open the store at root: resolved here, once (realpath), and held open
 * as a folder; a root that does not exist yet is made by the first write. */
int rc_store_file_open(rc_store *s, const char *url, rc_err *e)
{
    const char *root = url;
    if (url && strncmp(url, "file://", 7) == 0) {
        root = url + 7;
        if (root[0] != '/')
            return rc_err_set(e, RC_EINVAL,
                              "store URL %s: a file URL needs an absolute path "
                              "(file:///abs/path, three slashes); or give a plain directory path",
                              url);
    }
    char *abs = NULL;
    int fd = -1, rc;
    struct stat st;
    if (!root || !*root) return rc_err_set(e, RC_EINVAL, "store: empty directory path");
    if (stat(root, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        /* created by the first write (root_fd) */
        abs = file_absent_root(root, e);
        if (!abs) return e ? e->code : RC_EUNUSABLE;
    } else {
        abs = realpath(root, NULL);
        if (!abs) {
            rc = rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve directory: %s", root,
                            strerror(errno));
            goto fail;
        }
        fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            rc = errno == ENOTDIR
                     ? rc_err_set(e, RC_EUNUSABLE, "store %s: not a directory", root)
                     : rc_err_set(e, RC_EUNUSABLE, "store %s: cannot open directory %s: %s", root,
                                  abs, strerror(errno));
            goto fail;
        }
        if (access(abs, R_OK | W_OK | X_OK) != 0) {
            rc = rc_err_set(e, RC_EUNUSABLE,
                            "store %s: directory %s is not readable and writable: %s", root, abs,
                            strerror(errno));
            goto fail;
        }
        /* realpath of "/" is "/": keep no trailing slash, as for every other root. */
        if (strcmp(abs, "/") == 0) abs[0] = '\0';
    }
    fstore *fs = calloc(1, sizeof *fs);
    if (!fs) {
        rc = oom(e);
        goto fail;
    }
    fs->root = abs;
    fs->rootfd = fd;
    s->impl = fs;
    s->ops = &file_ops;
    return RC_OK;
fail:
    if (fd >= 0) close(fd);
    free(abs);
    return rc;
}
