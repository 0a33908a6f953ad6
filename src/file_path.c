/*
 * file_path.c: the local store's keys as paths, and the walk that confines
 * every operation to the root: folders opened one component at a time from
 * the root's fd with openat(O_NOFOLLOW | O_DIRECTORY), never through a
 * symbolic link; links, extra hard links and special files refused with a
 * message naming them (the rules and why: store_file.c's header comment).
 */
#include "store_file_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
int file_segment_decode(const char *name, rc_buf *out)
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
int file_refuse(const rc_store *s, int dfd, const char *name, const char *rel, size_t rlen,
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

/* A file this store could have written: plain, and no other name for it.
 * (No name at all is fine: an open file a concurrent put has just replaced
 * still holds the version that was read.) */
int file_own_file(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_nlink <= 1;
}

/* What is at name in folder dfd (rel from the root), never following it:
 * ENT_NONE, ENT_DIR, or ENT_FILE (a plain file with one link; st filled).
 * Anything else is refused. */
int file_entry_at(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
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
    if (file_own_file(st)) {
        *kind = ENT_FILE;
        return RC_OK;
    }
    return file_refuse(s, dfd, name, rel, strlen(rel), st, 0, ctx, e);
}

/* Open the plain file name in folder dfd (rel from the root) for reading;
 * st describes what was opened. RC_ENOTFOUND, with no message, when nothing
 * or a folder is there. */
int file_open_file(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
                   int *fd, struct stat *st, rc_err *e)
{
    int kind;
    *fd = -1;
    int rc = file_entry_at(s, dfd, name, rel, ctx, &kind, st, e);
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
            return file_refuse(s, dfd, name, rel, strlen(rel), &ls, 0, ctx, e);
        return rc_err_set(e, RC_EIO, "store %s: cannot open %s (%s): %s", sname(s), rel, ctx,
                          strerror(err));
    }
    if (fstat(f, st) != 0)
        rc = rc_err_set(e, RC_EIO, "store %s: cannot inspect %s (%s): %s", sname(s), rel, ctx,
                        strerror(errno));
    else if (S_ISDIR(st->st_mode))
        rc = RC_ENOTFOUND; /* replaced by a folder meanwhile */
    else if (!file_own_file(st))
        rc = file_refuse(s, dfd, name, rel, strlen(rel), st, 0, ctx, e);
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
int file_root_fd(rc_store *s, int create, int *out, rc_err *e)
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
        if (!S_ISDIR(st.st_mode)) return file_refuse(s, at, seg, reldir, end, &st, 1, ctx, e);
    }
    return rc_err_set(e, RC_EIO, "store %s: cannot open folder %.*s (%s): %s", sname(s), (int)end,
                      reldir, ctx, strerror(err));
}

/* Open folder reldir (len bytes of on-disk path from the root; 0 = the root
 * itself) one component at a time, never through a link; with create, make
 * the missing ones (and the root). *out is an fd the caller closes.
 * RC_ENOTFOUND, with no message, when (without create) a component is absent
 * or is a plain file. */
int file_open_dir(rc_store *s, const char *reldir, size_t len, int create, const char *ctx,
                  int *out, rc_err *e)
{
    char *p = NULL;
    int cur = -1, rfd = -1;
    *out = -1;
    int rc = file_root_fd(s, create, &rfd, e);
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

/* RC_ENOTFOUND, with no message, when (without create) the folder is not there. */
int file_kpath_open(rc_store *s, const char *key, int create, kpath *k, rc_err *e)
{
    snprintf(k->ctx, sizeof k->ctx, "key \"%s\"", key);
    int rc = key_rel(s, key, &k->rel, &k->name_off, e);
    if (rc) return rc;
    if (rc_buf_append(&k->srel, k->rel.data, k->name_off) || rc_buf_puts(&k->srel, ".") ||
        rc_buf_puts(&k->srel, kp_name(k)) || rc_buf_puts(&k->srel, ".meta.json"))
        return oom(e);
    return file_open_dir(s, k->rel.data, k->name_off ? k->name_off - 1 : 0, create, k->ctx, &k->dfd,
                         e);
}

void file_kpath_free(kpath *k)
{
    if (k->dfd >= 0) close(k->dfd);
    k->dfd = -1;
    rc_buf_free(&k->rel);
    rc_buf_free(&k->srel);
}

/* ---- opening ----------------------------------------------------------- */

/* The absolute form of a root that does not exist yet: the real path of its
 * deepest existing ancestor (which must be a directory) plus the missing
 * components, "." and ".." resolved lexically. NULL with e set on failure. */
char *file_absent_root(const char *root, rc_err *e)
{
    rc_buf b = RC_BUF_INIT;
    char *anc = NULL;
    if (root[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve the current directory: %s", root,
                       strerror(errno));
            goto fail;
        }
        int bad = rc_buf_puts(&b, cwd);
        free(cwd);
        if (bad) {
            oom(e);
            goto fail;
        }
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
            oom(e);
            goto fail;
        }
        p += n;
    }
    if (!b.data || !b.len) {
        rc_err_set(e, RC_EUNUSABLE, "store %s: cannot resolve directory", root);
        goto fail;
    }
    /* the deepest existing ancestor must be a directory we can enter */
    anc = strdup(b.data);
    if (!anc) {
        oom(e);
        goto fail;
    }
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
                goto fail;
            }
            break;
        }
        if (errno != ENOENT && errno != ENOTDIR) {
            rc_err_set(e, RC_EUNUSABLE, "store %s: cannot inspect %s: %s", root, a,
                       strerror(errno));
            goto fail;
        }
    }
    free(anc);
    return b.data; /* owned by the caller */
fail:
    free(anc);
    rc_buf_free(&b);
    return NULL;
}
