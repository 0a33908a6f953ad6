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
 */
#include "store_int.h"

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

/* Every folder beneath the root is opened this way: never through a link. */
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* ".tmp." and six random characters, NUL */
#define TMP_NAME_MAX 16
/* "key \"...\"" or "listing \"...\"" with a key of up to 511 bytes */
#define CTX_MAX 560

typedef struct fstore {
    char *root;   /* absolute, no trailing slash ("" for "/") */
    int rootfd;   /* the root folder; -1 until it exists */
    int unsynced; /* asynchronous puts renamed into place but not yet synced */
} fstore;

static const char *sname(const rc_store *s)
{
    return rc_store_describe(s);
}

static int oom(rc_err *e)
{
    return rc_err_set(e, RC_ENOMEM, "out of memory");
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

/* The key's on-disk path relative to the root ("data/2025/11/.../NAME")
 * into rel; *name_off = offset of NAME in it. */
static int key_rel(const rc_store *s, const char *key, rc_buf *rel, size_t *name_off, rc_err *e)
{
    if (key[0] == '/')
        return rc_err_set(e, RC_EINVAL, "store %s: key \"%s\" starts with '/'; keys are relative",
                          sname(s), key);
    if (strlen(key) >= sizeof(((rc_obj_info *)0)->key))
        return rc_err_set(e, RC_EINVAL, "store %s: key \"%.80s...\" is too long", sname(s), key);
    rc_buf_reset(rel);
    const char *p = key;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        *name_off = rel->len;
        int rc = rc_store_file_segment_encode(p, n, rel, e);
        if (rc) return rc_err_wrap(e, "store %s: key \"%s\"", sname(s), key);
        if (!slash) break;
        if (rc_buf_puts(rel, "/")) return oom(e);
        p = slash + 1;
    }
    return RC_OK;
}

/* ---- what this store never makes --------------------------------------- */

static const char *special_name(mode_t m)
{
    if (S_ISFIFO(m)) return "named pipe (fifo)";
    if (S_ISSOCK(m)) return "socket";
    if (S_ISCHR(m)) return "character device";
    if (S_ISBLK(m)) return "block device";
    return "special file";
}

/* Refuse the entry name in folder dfd, which is rel (rlen bytes, relative to
 * the root) and has the (unfollowed) status st: a symbolic link, a file with
 * another hard link, or a special file. as_dir: a folder belongs there (the
 * advice). ctx says what met it ("key \"...\"", "listing \"...\""). */
static int refuse(const rc_store *s, int dfd, const char *name, const char *rel, size_t rlen,
                  const struct stat *st, int as_dir, const char *ctx, rc_err *e)
{
    int n = (int)rlen;
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t tl = readlinkat(dfd, name, target, sizeof target - 1);
        if (tl < 0)
            snprintf(target, sizeof target, "(unreadable: %s)", strerror(errno));
        else
            target[tl] = '\0';
        return rc_err_set(e, RC_EUNUSABLE,
                          "store %s: %.*s is a symbolic link to %s; the local store never follows "
                          "symbolic links out of its root: replace %.*s with %s or remove it (%s)",
                          sname(s), n, rel, target, n, rel, as_dir ? "a directory" : "a plain file",
                          ctx);
    }
    if (S_ISREG(st->st_mode))
        return rc_err_set(e, RC_EUNUSABLE,
                          "store %s: %.*s has %ju hard links; the local store never reads a file "
                          "that is linked elsewhere too: replace %.*s with a copy of its own or "
                          "remove it (%s)",
                          sname(s), n, rel, (uintmax_t)st->st_nlink, n, rel, ctx);
    return rc_err_set(e, RC_EUNUSABLE,
                      "store %s: %.*s is a %s, not a plain file or directory; the local store "
                      "holds only plain files and directories: remove %.*s or move it out of the "
                      "store (%s)",
                      sname(s), n, rel, special_name(st->st_mode), n, rel, ctx);
}

enum { ENT_NONE, ENT_FILE, ENT_DIR };

/* A file this store could have written: plain, and no other name for it.
 * (No name at all is fine: an open file a concurrent put has just replaced
 * still holds the version that was read.) */
static int own_file(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_nlink <= 1;
}

/* What is at name in folder dfd (rel from the root), never following it:
 * ENT_NONE, ENT_DIR, or ENT_FILE (a plain file with one link; st filled).
 * Anything else is refused. */
static int entry_at(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
                    int *kind, struct stat *st, rc_err *e)
{
    *kind = ENT_NONE;
    if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return RC_OK;
        return rc_err_set(e, RC_EIO, "store %s: cannot inspect %s (%s): %s", sname(s), rel, ctx,
                          strerror(errno));
    }
    if (S_ISDIR(st->st_mode)) {
        *kind = ENT_DIR;
        return RC_OK;
    }
    if (own_file(st)) {
        *kind = ENT_FILE;
        return RC_OK;
    }
    return refuse(s, dfd, name, rel, strlen(rel), st, 0, ctx, e);
}

/* Open the plain file name in folder dfd (rel from the root) for reading;
 * st describes what was opened. RC_ENOTFOUND, with no message, when nothing
 * or a folder is there. */
static int open_file(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
                     int *fd, struct stat *st, rc_err *e)
{
    int kind;
    *fd = -1;
    int rc = entry_at(s, dfd, name, rel, ctx, &kind, st, e);
    if (rc) return rc;
    if (kind != ENT_FILE) return RC_ENOTFOUND;
    /* O_NONBLOCK: should a fifo replace the file after the check, the open
     * does not wait for a writer (fstat below refuses it) */
    int f = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
        int err = errno;
        struct stat ls;
        if (err == ENOENT) return RC_ENOTFOUND;
        if (err == ELOOP && fstatat(dfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0)
            return refuse(s, dfd, name, rel, strlen(rel), &ls, 0, ctx, e);
        return rc_err_set(e, RC_EIO, "store %s: cannot open %s (%s): %s", sname(s), rel, ctx,
                          strerror(err));
    }
    if (fstat(f, st) != 0)
        rc = rc_err_set(e, RC_EIO, "store %s: cannot inspect %s (%s): %s", sname(s), rel, ctx,
                        strerror(errno));
    else if (S_ISDIR(st->st_mode))
        rc = RC_ENOTFOUND; /* replaced by a folder meanwhile */
    else if (!own_file(st))
        rc = refuse(s, dfd, name, rel, strlen(rel), st, 0, ctx, e);
    if (rc) {
        close(f);
        return rc;
    }
    *fd = f;
    return RC_OK;
}

/* ---- the root and the folders beneath it ------------------------------- */

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
 * (inventory, gaps, get, a dry run) leaves no directory behind. The folders
 * above the root are the operator's path, links included. */
static int make_root(const rc_store *s, rc_err *e)
{
    const fstore *fs = s->impl;
    char *tmp = strdup(fs->root);
    if (!tmp) return oom(e);
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

/* The root folder's fd (the store keeps it). RC_ENOTFOUND, with no message,
 * when the root does not exist and create is 0; with create it is made. A
 * root removed while the store is open is looked up (or made) again. */
static int root_fd(rc_store *s, int create, int *out, rc_err *e)
{
    fstore *fs = s->impl;
    const char *path = fs->root[0] ? fs->root : "/";
    struct stat st;
    if (fs->rootfd >= 0 && fstat(fs->rootfd, &st) == 0 && st.st_nlink > 0) {
        *out = fs->rootfd;
        return RC_OK;
    }
    if (fs->rootfd >= 0) close(fs->rootfd);
    fs->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fs->rootfd < 0 && errno == ENOENT && create) {
        int rc = make_root(s, e);
        if (rc) return rc;
        fs->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fs->rootfd < 0) {
        if ((errno == ENOENT || errno == ENOTDIR) && !create) return RC_ENOTFOUND;
        return rc_err_set(e, RC_EUNUSABLE,
                          "store %s: cannot open the store directory %s: %s; check the path and "
                          "its permissions",
                          sname(s), path, strerror(errno));
    }
    *out = fs->rootfd;
    return RC_OK;
}

/* openat of folder seg in at (reldir[0..end) from the root) failed with errno. */
static int dir_failure(const rc_store *s, int at, const char *seg, const char *reldir, size_t end,
                       int create, const char *ctx, rc_err *e)
{
    int err = errno;
    struct stat st;
    if (err == ENOENT && !create) return RC_ENOTFOUND;
    if ((err == ELOOP || err == ENOTDIR) && fstatat(at, seg, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISREG(st.st_mode) && !create) return RC_ENOTFOUND; /* no key lives under a file */
        if (S_ISREG(st.st_mode))
            return rc_err_set(e, RC_EINVAL,
                              "store %s: %.*s is a file (an object of that name exists), so it "
                              "cannot be a folder; a local store cannot hold both a key and keys "
                              "under it (%s)",
                              sname(s), (int)end, reldir, ctx);
        if (!S_ISDIR(st.st_mode)) return refuse(s, at, seg, reldir, end, &st, 1, ctx, e);
    }
    return rc_err_set(e, RC_EIO, "store %s: cannot open folder %.*s (%s): %s", sname(s), (int)end,
                      reldir, ctx, strerror(err));
}

/* Open folder reldir (len bytes of on-disk path from the root; 0 = the root
 * itself) one component at a time, never through a link; with create, make
 * the missing ones (and the root). *out is an fd the caller closes.
 * RC_ENOTFOUND, with no message, when (without create) a component is absent
 * or is a plain file. */
static int open_dir(rc_store *s, const char *reldir, size_t len, int create, const char *ctx,
                    int *out, rc_err *e)
{
    char *p = NULL;
    int cur = -1, rfd = -1;
    *out = -1;
    int rc = root_fd(s, create, &rfd, e);
    if (rc) goto fail;
    p = strndup(reldir, len);
    if (!p) {
        rc = oom(e);
        goto fail;
    }
    /* a new open file description (not dup): a listing's readdir position is its own */
    cur = openat(rfd, ".", DIR_FLAGS);
    if (cur < 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot open the store directory: %s", sname(s),
                        strerror(errno));
        goto fail;
    }
    for (char *seg = len ? p : NULL; seg;) {
        char *slash = strchr(seg, '/');
        if (slash) *slash = '\0';
        size_t end = (size_t)(seg - p) + strlen(seg);
        int fd = openat(cur, seg, DIR_FLAGS);
        if (fd < 0 && errno == ENOENT && create) {
            if (mkdirat(cur, seg, 0755) != 0 && errno != EEXIST) {
                rc = rc_err_set(e, RC_EIO, "store %s: cannot create folder %.*s (%s): %s", sname(s),
                                (int)end, reldir, ctx, strerror(errno));
                goto fail;
            }
            fd = openat(cur, seg, DIR_FLAGS);
        }
        if (fd < 0) {
            rc = dir_failure(s, cur, seg, reldir, end, create, ctx, e);
            goto fail;
        }
        close(cur);
        cur = fd;
        seg = slash ? slash + 1 : NULL;
    }
    free(p);
    *out = cur;
    return RC_OK;
fail:
    if (cur >= 0) close(cur);
    free(p);
    return rc;
}

/* A key's place beneath the root, with its folder open. */
typedef struct kpath {
    rc_buf rel;        /* "data/.../NAME", from the root */
    rc_buf srel;       /* "data/.../.NAME.meta.json", its sidecar */
    size_t name_off;   /* of NAME in rel, and of ".NAME.meta.json" in srel */
    int dfd;           /* the key's folder, or -1 */
    char ctx[CTX_MAX]; /* "key \"...\"", for messages */
} kpath;

#define KPATH_INIT                                                                                 \
    {                                                                                              \
        RC_BUF_INIT, RC_BUF_INIT, 0, -1, ""                                                        \
    }

static const char *kp_name(const kpath *k)
{
    return k->rel.data + k->name_off;
}

static const char *kp_side(const kpath *k)
{
    return k->srel.data + k->name_off;
}

/* RC_ENOTFOUND, with no message, when (without create) the folder is not there. */
static int kpath_open(rc_store *s, const char *key, int create, kpath *k, rc_err *e)
{
    snprintf(k->ctx, sizeof k->ctx, "key \"%s\"", key);
    int rc = key_rel(s, key, &k->rel, &k->name_off, e);
    if (rc) return rc;
    if (rc_buf_append(&k->srel, k->rel.data, k->name_off) || rc_buf_puts(&k->srel, ".") ||
        rc_buf_puts(&k->srel, kp_name(k)) || rc_buf_puts(&k->srel, ".meta.json"))
        return oom(e);
    return open_dir(s, k->rel.data, k->name_off ? k->name_off - 1 : 0, create, k->ctx, &k->dfd, e);
}

static void kpath_free(kpath *k)
{
    if (k->dfd >= 0) close(k->dfd);
    k->dfd = -1;
    rc_buf_free(&k->rel);
    rc_buf_free(&k->srel);
}

/* ---- small file helpers ------------------------------------------------ */

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

static int md5_fd(int fd, char *out)
{
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
    if (!ok) return -1;
    for (unsigned int i = 0; i < dl; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* ---- sidecar ----------------------------------------------------------- */

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

/* Fill etag/meta from the sidecar side in folder dfd (srel from the root)
 * when it describes the body with inode ino and size size: *used = 1. An
 * absent, unreadable or stale sidecar is not used (the caller recomputes the
 * ETag); a linked or special one is refused. */
static int sidecar_read(const rc_store *s, int dfd, const char *side, const char *srel,
                        const char *ctx, ino_t ino, int64_t size, char *etag, rc_obj_meta *meta,
                        int *used, rc_err *e)
{
    rc_err le;
    struct stat st;
    int fd;
    *used = 0;
    int rc = open_file(s, dfd, side, srel, ctx, &fd, &st, &le);
    if (rc == RC_EUNUSABLE) {
        if (e) *e = le;
        return rc;
    }
    if (rc) return RC_OK;
    rc_buf b = RC_BUF_INIT;
    int ok = read_fd(fd, &b) == 0;
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
static int dir_lock(const rc_store *s, const kpath *k, int *out, rc_err *e)
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
    rc = entry_at(s, k->dfd, ".lock", lrel.data, k->ctx, &kind, &st, e);
    if (rc) goto fail;
    fd = openat(k->dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        struct stat ls;
        if (err == ELOOP && fstatat(k->dfd, ".lock", &ls, AT_SYMLINK_NOFOLLOW) == 0)
            rc = refuse(s, k->dfd, ".lock", lrel.data, lrel.len, &ls, 0, k->ctx, e);
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
    if (!own_file(&st)) {
        rc = refuse(s, k->dfd, ".lock", lrel.data, lrel.len, &st, 0, k->ctx, e);
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

static void dir_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Best effort, as before: some file systems (FUSE, some NFS) refuse fsync
 * on a folder, and the rename is atomic either way. */
static void sync_dir(int dfd)
{
    if (fsync(dfd) != 0) return;
}

/* Temporary file in the key's folder, named ".tmp.XXXXXX" (random) so
 * listings skip it; created exclusively, so never through a link. Its name
 * goes to tmp (TMP_NAME_MAX; "" when none is left behind). */
static int write_temp(const rc_store *s, const kpath *k, const void *data, size_t len, int durable,
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
    if (fchmod(fd, 0644) != 0 || write_all(fd, data, len) != 0 || (durable && fsync(fd) != 0) ||
        fstat(fd, &st) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot write %.*s%s (%s): %s", sname(s),
                        (int)k->name_off, k->rel.data, tmp, k->ctx, strerror(errno));
        goto fail;
    }
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
static int current_etag(const rc_store *s, const kpath *k, char *etag, int *have, rc_err *e)
{
    struct stat st;
    int fd, used = 0;
    *have = 0;
    int rc = open_file(s, k->dfd, kp_name(k), k->rel.data, k->ctx, &fd, &st, e);
    if (rc == RC_ENOTFOUND) return RC_OK;
    if (rc) return rc;
    rc = sidecar_read(s, k->dfd, kp_side(k), k->srel.data, k->ctx, st.st_ino, (int64_t)st.st_size,
                      etag, NULL, &used, e);
    if (rc == RC_OK && !used && md5_fd(fd, etag) != 0)
        rc = rc_err_set(e, RC_EIO, "store %s: cannot read the current version of %s (%s): %s",
                        sname(s), k->rel.data, k->ctx, strerror(errno));
    close(fd);
    if (rc == RC_OK) *have = 1;
    return rc;
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
    kpath k = KPATH_INIT;
    char tobj[TMP_NAME_MAX] = "", tside[TMP_NAME_MAX] = "";
    char etag[RC_ETAG_MAX];
    char *side = NULL;
    int lockfd = -1, kind;
    struct stat st;
    ino_t ino = 0;
    int rc = kpath_open(s, key, 1, &k, e);
    if (rc) goto out;
    /* what is there now must be the store's: nothing, a plain file, or a
     * folder (which the rename below refuses) */
    rc = entry_at(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &kind, &st, e);
    if (rc == RC_OK) rc = entry_at(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, &kind, &st, e);
    if (rc) goto out;
    md5_hex(data, len, etag);
    rc = write_temp(s, &k, data, len, durable, tobj, &ino, e);
    if (rc) goto out;
    side = sidecar_json(o ? o->meta : NULL, etag, len, ino);
    if (!side) {
        rc = oom(e);
        goto out;
    }
    rc = write_temp(s, &k, side, strlen(side), durable, tside, NULL, e);
    if (rc) goto out;

    /* Every put takes the lock, so an unconditional put cannot slip in between
     * a conditional put's check and its rename. */
    rc = dir_lock(s, &k, &lockfd, e);
    if (rc) goto out;
    if (o && (o->if_none_match || o->if_match)) {
        char cur[RC_ETAG_MAX] = "";
        int have = 0;
        rc = current_etag(s, &k, cur, &have, e);
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
        sync_dir(k.dfd);
    else
        ((fstore *)s->impl)->unsynced = 1;
    if (etag_out) strcpy(etag_out, etag);
out:
    dir_unlock(lockfd);
    if (tobj[0]) unlinkat(k.dfd, tobj, 0);
    if (tside[0]) unlinkat(k.dfd, tside, 0);
    free(side);
    kpath_free(&k);
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
    int rc = kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = open_file(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &fd, &st, e);
    if (rc) goto out;
    rc_buf_reset(out);
    if (read_fd(fd, out) != 0) {
        rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                        k.rel.data, strerror(errno));
        goto out;
    }
    if (info) {
        fill_info(info, key, &st);
        info->size = (int64_t)out->len;
        /* The fd pins the body we read: the sidecar counts only if it names
         * this very inode, even when a writer replaced the key meanwhile. */
        rc = sidecar_read(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, st.st_ino, (int64_t)out->len,
                          info->etag, &info->meta, &used, e);
        if (rc) goto out;
        if (!used) {
            memset(&info->meta, 0, sizeof info->meta);
            md5_hex(out->data ? out->data : "", out->len, info->etag);
        }
    }
out:
    if (rc == RC_ENOTFOUND) rc = not_found(s, key, e);
    if (fd >= 0) close(fd);
    kpath_free(&k);
    return rc;
}

static int file_head(rc_store *s, const char *key, rc_obj_info *info, rc_err *e)
{
    kpath k = KPATH_INIT;
    struct stat st;
    int fd = -1, used = 0;
    int rc = kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = open_file(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &fd, &st, e);
    if (rc) goto out;
    fill_info(info, key, &st);
    rc = sidecar_read(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, st.st_ino, (int64_t)st.st_size,
                      info->etag, &info->meta, &used, e);
    if (rc == RC_OK && !used) {
        memset(&info->meta, 0, sizeof info->meta);
        if (md5_fd(fd, info->etag) != 0)
            rc = rc_err_set(e, RC_EIO, "store %s: cannot read key \"%s\" (%s): %s", sname(s), key,
                            k.rel.data, strerror(errno));
    }
out:
    if (rc == RC_ENOTFOUND) rc = not_found(s, key, e);
    if (fd >= 0) close(fd);
    kpath_free(&k);
    return rc;
}

static int file_del(rc_store *s, const char *key, rc_err *e)
{
    kpath k = KPATH_INIT;
    struct stat st;
    int lockfd = -1, kind = ENT_NONE, skind;
    int rc = kpath_open(s, key, 0, &k, e);
    if (rc == RC_OK) rc = entry_at(s, k.dfd, kp_name(&k), k.rel.data, k.ctx, &kind, &st, e);
    /* the sidecar is checked before anything is removed */
    if (rc == RC_OK && kind == ENT_FILE)
        rc = entry_at(s, k.dfd, kp_side(&k), k.srel.data, k.ctx, &skind, &st, e);
    if (rc || kind != ENT_FILE)
        goto out; /* absent (or only a folder of other keys): nothing to delete */
    rc = dir_lock(s, &k, &lockfd, e);
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
    sync_dir(k.dfd);
out:
    if (rc == RC_ENOTFOUND) rc = RC_OK; /* no folder for it: nothing to delete */
    dir_unlock(lockfd);
    kpath_free(&k);
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
                 : refuse(c->s, dfd, name, c->rel.data, c->rel.len, st, as_dir, c->ctx, e);
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
    if (!own_file(&st)) return refuse(c->s, dfd, name, c->rel.data, c->rel.len, &st, 0, c->ctx, e);
    fill_info(&info, c->kp.data, &st);
    /* sidecar of "<dir>/<name>" is "<dir>/.<name>.meta.json" */
    rc_buf_reset(&c->srel);
    if (rc_buf_append(&c->srel, c->rel.data, dlen) || rc_buf_puts(&c->srel, ".") ||
        rc_buf_puts(&c->srel, name) || rc_buf_puts(&c->srel, ".meta.json"))
        return oom(e);
    int rc = sidecar_read(c->s, dfd, c->srel.data + dlen, c->srel.data, c->ctx, st.st_ino,
                          info.size, info.etag, NULL, &used, e);
    if (rc) return rc;
    if (!used) {
        rc = open_file(c->s, dfd, name, c->rel.data, c->ctx, &fd, &st, e);
        if (rc == RC_ENOTFOUND) return RC_OK; /* vanished meanwhile */
        if (rc) return rc;
        fill_info(&info, c->kp.data, &st);
        int bad = md5_fd(fd, info.etag) != 0;
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
        if (segment_decode(de->d_name, &dec) != 0) continue; /* not a name this store writes */
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
    rc = open_dir(s, c.rel.data, c.rel.len ? c.rel.len - 1 : 0, 0, c.ctx, &fd, e);
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

/* The absolute form of a root that does not exist yet: the real path of its
 * deepest existing ancestor (which must be a directory) plus the missing
 * components, "." and ".." resolved lexically. NULL with e set on failure. */
static char *absent_root(const char *root, rc_err *e)
{
    rc_buf b = RC_BUF_INIT;
    if (root[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve the current directory: %s", root,
                       strerror(errno));
            return NULL;
        }
        int bad = rc_buf_puts(&b, cwd);
        free(cwd);
        if (bad) goto oom;
    }
    for (const char *p = root; *p;) {
        while (*p == '/')
            p++;
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
        abs = absent_root(root, e);
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
