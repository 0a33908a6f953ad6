/*
 * store_file_int.h: what the local store's files share, private to them:
 *   store_file.c  the operations, listing and opening (the rules are in its
 *                 header comment);
 *   file_path.c   keys to paths and the root-confined walk: every folder
 *                 opened from the root's fd with openat(O_NOFOLLOW), never
 *                 through a link; what the store never makes is refused;
 *   file_obj.c    one object's files: body, sidecar, temporary file, lock.
 */
#ifndef R2CACHE_STORE_FILE_INT_H
#define R2CACHE_STORE_FILE_INT_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "store_int.h"

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

static inline const char *sname(const rc_store *s)
{
    return rc_store_describe(s);
}

static inline int oom(rc_err *e)
{
    return rc_err_set(e, RC_ENOMEM, "out of memory");
}

/* What is at a name (file_entry_at). */
enum { ENT_NONE, ENT_FILE, ENT_DIR };

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

static inline const char *kp_name(const kpath *k)
{
    return k->rel.data + k->name_off;
}

static inline const char *kp_side(const kpath *k)
{
    return k->srel.data + k->name_off;
}

/* ---- file_path.c ------------------------------------------------------ */

/* Inverse of the encoding; -1 for names it never produces (skipped by list). */
int file_segment_decode(const char *name, rc_buf *out);

/* Refuse the entry name in folder dfd, which is rel (rlen bytes, relative to
 * the root) and has the (unfollowed) status st: a symbolic link, a file with
 * another hard link, or a special file. as_dir: a folder belongs there (the
 * advice). ctx says what met it ("key \"...\"", "listing \"...\""). */
int file_refuse(const rc_store *s, int dfd, const char *name, const char *rel, size_t rlen,
                const struct stat *st, int as_dir, const char *ctx, rc_err *e);

/* A file this store could have written: plain, and no other name for it.
 * (No name at all is fine: an open file a concurrent put has just replaced
 * still holds the version that was read.) */
int file_own_file(const struct stat *st);

/* What is at name in folder dfd (rel from the root), never following it:
 * ENT_NONE, ENT_DIR, or ENT_FILE (a plain file with one link; st filled).
 * Anything else is refused. */
int file_entry_at(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
                  int *kind, struct stat *st, rc_err *e);

/* Open the plain file name in folder dfd (rel from the root) for reading;
 * st describes what was opened. RC_ENOTFOUND, with no message, when nothing
 * or a folder is there. */
int file_open_file(const rc_store *s, int dfd, const char *name, const char *rel, const char *ctx,
                   int *fd, struct stat *st, rc_err *e);

/* The root folder's fd (the store keeps it). RC_ENOTFOUND, with no message,
 * when the root does not exist and create is 0; with create it is made. A
 * root removed while the store is open is looked up (or made) again. */
int file_root_fd(rc_store *s, int create, int *out, rc_err *e);

/* Open folder reldir (len bytes of on-disk path from the root; 0 = the root
 * itself) one component at a time, never through a link; with create, make
 * the missing ones (and the root). *out is an fd the caller closes.
 * RC_ENOTFOUND, with no message, when (without create) a component is absent
 * or is a plain file. */
int file_open_dir(rc_store *s, const char *reldir, size_t len, int create, const char *ctx,
                  int *out, rc_err *e);

/* RC_ENOTFOUND, with no message, when (without create) the folder is not there. */
int file_kpath_open(rc_store *s, const char *key, int create, kpath *k, rc_err *e);

/* Close the folder and free the paths (a KPATH_INIT kpath too). */
void file_kpath_free(kpath *k);

/* The absolute form of a root that does not exist yet: the real path of its
 * deepest existing ancestor (which must be a directory) plus the missing
 * components, "." and ".." resolved lexically. NULL with e set on failure. */
char *file_absent_root(const char *root, rc_err *e);

/* ---- file_obj.c ------------------------------------------------------- */

/* write(2) until done (EINTR retried): 0 or -1 with errno. */
int file_write_all(int fd, const void *data, size_t len);

/* Read fd to its end, appending to out: 0 or -1. */
int file_read_fd(int fd, rc_buf *out);

/* The local ETag (FILE_ETAG_HEX hex digits and a NUL): the start of the
 * SHA-256 of data / of what fd holds from its offset on / of a body whose
 * SHA-256 (64 hex digits) the writer already made. */
#define FILE_ETAG_HEX 32
void file_etag_hex(const void *data, size_t len, char *out);

int file_etag_fd(int fd, char *out);

void file_etag_of_sha256(const char *sha256_hex, char *out);

/* The sidecar text of a body (caller frees), NULL when out of memory. */
char *file_sidecar_json(const rc_obj_meta *m, const char *etag, size_t size, ino_t ino);

/* Fill etag/meta from the sidecar side in folder dfd (srel from the root)
 * when it describes the body with inode ino and size size: *used = 1. An
 * absent, unreadable or stale sidecar is not used (the caller recomputes the
 * ETag); a linked or special one is refused. */
int file_sidecar_read(const rc_store *s, int dfd, const char *side, const char *srel,
                      const char *ctx, ino_t ino, int64_t size, char *etag, rc_obj_meta *meta,
                      int *used, rc_err *e);

/* Exclusive flock on the key folder's ".lock" (made if absent, never
 * through a link). */
int file_dir_lock(const rc_store *s, const kpath *k, int *out, rc_err *e);

/* Release and close a file_dir_lock fd (-1: nothing). */
void file_dir_unlock(int fd);

/* Best effort, as before: some file systems (FUSE, some NFS) refuse fsync
 * on a folder, and the rename is atomic either way. */
void file_sync_dir(int dfd);

/* Temporary file in the key's folder, named ".tmp.XXXXXX" (random) so
 * listings skip it; created exclusively, so never through a link. Its name
 * goes to tmp (TMP_NAME_MAX; "" when none is left behind). */
int file_write_temp(const rc_store *s, const kpath *k, const void *data, size_t len, int durable,
                    char *tmp, ino_t *ino, rc_err *e);

/* ETag of whatever is stored at the key now: *have = 0 when absent (or only
 * a folder of other keys). */
int file_current_etag(const rc_store *s, const kpath *k, char *etag, int *have, rc_err *e);

#endif
