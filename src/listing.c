/*
 * listing.c: parsed, sorted object listings and the walk over their
 * channel-days (verify, reindex).
 *
 * Trade-offs: the whole listing is held in memory (one key string and its
 * parsed form per object) so it can be sorted into channel-day runs; a year
 * of 15 channels is ~816,000 objects, well under a gigabyte.
 */
#include "r2cache/listing.h"
#include "r2cache/timewin.h"

#include <stdlib.h>
#include <string.h>

const rc_chan *rc_listing_obj_chan(const rc_listing_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? &o->ki.chunk.chan : &o->ki.manifest.chan;
}

const char *rc_listing_obj_volcano(const rc_listing_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? o->ki.chunk.volcano : o->ki.manifest.volcano;
}

int64_t rc_listing_obj_day(const rc_listing_obj *o)
{
    return o->ki.kind == RC_KEY_CHUNK ? rc_day_start(o->ki.chunk.start) : o->ki.manifest.day;
}

typedef struct lobj_ctx {
    rc_layout layout;
    rc_listing *out;
    rc_inventory *unparsed;
    int oom;
} lobj_ctx;

static int lobj_cb(void *ud, const rc_obj_info *o)
{
    lobj_ctx *c = ud;
    rc_key_info ki;
    rc_err e;
    if (rc_key_parse(c->layout, o->key, &ki, &e) != RC_OK) {
        if (c->unparsed) rc_inventory_note_unparsed(c->unparsed, o->key);
        return 0;
    }
    rc_listing *l = c->out;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        rc_listing_obj *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            c->oom = 1;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    rc_listing_obj *x = &l->v[l->n];
    x->key = strdup(o->key);
    if (!x->key) {
        c->oom = 1;
        return 1;
    }
    x->ki = ki;
    x->size = o->size;
    x->mtime = o->mtime;
    l->n++;
    return 0;
}

static int obj_cmp(const void *a, const void *b)
{
    const rc_listing_obj *x = a, *y = b;
    char p[RC_CHAN_STR_MAX], q[RC_CHAN_STR_MAX];
    rc_chan_format(rc_listing_obj_chan(x), p);
    rc_chan_format(rc_listing_obj_chan(y), q);
    int c = strcmp(p, q);
    if (!c) c = strcmp(rc_listing_obj_volcano(x), rc_listing_obj_volcano(y));
    if (c) return c;
    int64_t dx = rc_listing_obj_day(x), dy = rc_listing_obj_day(y);
    if (dx != dy) return dx < dy ? -1 : 1;
    if (x->ki.kind != y->ki.kind) return x->ki.kind == RC_KEY_MANIFEST ? -1 : 1;
    if (x->ki.kind == RC_KEY_CHUNK) {
        if (x->ki.chunk.span != y->ki.chunk.span)
            return x->ki.chunk.span < y->ki.chunk.span ? -1 : 1;
        if (x->ki.chunk.start != y->ki.chunk.start)
            return x->ki.chunk.start < y->ki.chunk.start ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

int rc_listing_list(rc_store *st, rc_layout l, const char *prefix, rc_listing *out,
                    rc_inventory *unparsed, rc_err *e)
{
    lobj_ctx c = {l, out, unparsed, 0};
    int rc = rc_store_list(st, prefix, lobj_cb, &c, e);
    if (rc == RC_OK && c.oom) rc = rc_err_set(e, RC_ENOMEM, "out of memory listing %s", prefix);
    if (rc == RC_OK && out->n > 1) qsort(out->v, out->n, sizeof *out->v, obj_cmp);
    return rc;
}

void rc_listing_free(rc_listing *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].key);
    free(o->v);
    memset(o, 0, sizeof *o);
}

int rc_listing_each_day(const rc_listing *l, int64_t from, int64_t to,
                        const volatile sig_atomic_t *stop, rc_listing_day_fn fn, void *user)
{
    size_t i = 0;
    while (i < l->n && !(stop && *stop)) {
        size_t j = i + 1;
        const rc_listing_obj *a = &l->v[i];
        int64_t day = rc_listing_obj_day(a);
        while (j < l->n && rc_listing_obj_day(&l->v[j]) == day &&
               rc_chan_equal(rc_listing_obj_chan(&l->v[j]), rc_listing_obj_chan(a)) &&
               strcmp(rc_listing_obj_volcano(&l->v[j]), rc_listing_obj_volcano(a)) == 0)
            j++;
        if (day + 86400 > from && day < to) {
            int r = fn(user, a, j - i);
            if (r) return r;
        }
        i = j;
    }
    return 0;
}
