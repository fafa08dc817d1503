/*
 * status_cache.c: the rendered status documents (the HTML page, the status
 * JSON, the badges) kept in memory per process, so that serving them costs
 * about what a static file costs. A document is rendered when it is asked
 * for and none is cached, when the cached one is older than the TTL
 * (status_cache, default 5 s), or after a state transition seen by this
 * process's scheduler (up_status_cache_invalidate). While one request
 * re-renders, the others get the previous copy (STALE) instead of
 * rendering too. Every answer carries a strong ETag (a hash of the bytes)
 * and Last-Modified; a matching If-None-Match (or, without it, an
 * If-Modified-Since not older than the copy) is answered 304 without a
 * body. X-Cache-Status says HIT, MISS or STALE.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_date.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "uptime.h"

/* One rendered document: immutable once made, freed when replaced and no
 * request is writing it any more. */
typedef struct cached_doc {
    char *body;
    size_t len;
    char etag[24];                        /* "0123456789abcdef" with the quotes */
    char last_modified[APR_RFC822_DATE_LEN];
    apr_time_t made;
    int64_t fresh_until_ms;
    apr_uint32_t generation;
    unsigned refs;                        /* the cache's own reference counts as one */
} cached_doc;

typedef struct cache_slot {
    cached_doc *doc;
    int rendering;
} cache_slot;

struct up_status_cache {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_hash_t *slots;                    /* key -> cache_slot */
    int64_t ttl_ms;
    volatile apr_uint32_t generation;
};

static void release(cached_doc *d)
{
    if (d && --d->refs == 0) {
        free(d->body);
        free(d);
    }
}

static apr_status_t cache_cleanup(void *data)
{
    up_status_cache *c = data;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, c->slots); hi; hi = apr_hash_next(hi)) {
        cache_slot *s = apr_hash_this_val(hi);
        release(s->doc);
        s->doc = NULL;
    }
    return APR_SUCCESS;
}

up_status_cache *up_status_cache_create(apr_pool_t *p, int64_t ttl_ms)
{
    up_status_cache *c = apr_pcalloc(p, sizeof(*c));
    c->pool = p;
    c->ttl_ms = ttl_ms;
    c->slots = apr_hash_make(p);
    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    return c;
}

void up_status_cache_invalidate(up_status_cache *c)
{
    if (c)
        apr_atomic_inc32(&c->generation);
}

static cached_doc *make_doc(const char *body, size_t len, apr_uint32_t generation,
                            int64_t ttl_ms)
{
    cached_doc *d = calloc(1, sizeof(*d));
    if (!d || !(d->body = malloc(len ? len : 1))) {
        free(d);
        return NULL;
    }
    memcpy(d->body, body, len);
    d->len = len;
    apr_snprintf(d->etag, sizeof(d->etag), "\"%016" APR_UINT64_T_HEX_FMT "\"",
                 (apr_uint64_t)cb_fnv1a(CB_FNV1A_INIT, body, len));
    d->made = apr_time_now();
    apr_rfc822_date(d->last_modified, d->made);
    d->fresh_until_ms = (int64_t)apr_time_as_msec(d->made) + ttl_ms;
    d->generation = generation;
    d->refs = 1;
    return d;
}

int up_etag_listed(const char *list, const char *etag)
{
    size_t n = strlen(etag);
    const char *s = list;
    if (n == 0)
        return 0;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        if (*s == '*' && (s[1] == '\0' || s[1] == ',' || s[1] == ' ' || s[1] == '\t'))
            return 1;
        if (strncmp(s, "W/", 2) == 0)
            s += 2;
        if (strncmp(s, etag, n) == 0 &&
            (s[n] == '\0' || s[n] == ',' || s[n] == ' ' || s[n] == '\t'))
            return 1;
        while (*s && *s != ',')
            s++;
    }
    return 0;
}

static int not_modified(cb_req *req, const cached_doc *d)
{
    const char *inm = cb_req_header(req, "If-None-Match");
    const char *ims = cb_req_header(req, "If-Modified-Since");
    apr_time_t since;
    if (inm)
        return up_etag_listed(inm, d->etag);
    if (ims && (since = apr_date_parse_http(ims)) != APR_DATE_BAD)
        return apr_time_sec(d->made) <= apr_time_sec(since);
    return 0;
}

static cb_status answer(cb_req *req, const cached_doc *d, const char *cache_status)
{
    cb_req_set_header(req, "ETag", d->etag);
    cb_req_set_header(req, "Last-Modified", d->last_modified);
    cb_req_set_header(req, "X-Cache-Status", cache_status);
    if (not_modified(req, d)) {
        cb_req_set_status(req, 304);
        return CB_DONE;
    }
    cb_req_set_status(req, 200);
    /* the length up front: the answer goes out in one piece, not chunked */
    cb_req_set_header(req, "Content-Length",
                      apr_psprintf(cb_req_pool(req), "%" APR_SIZE_T_FMT, d->len));
    cb_req_write(req, d->body, d->len);
    return CB_DONE;
}

cb_status up_status_cache_serve(up_plugin *up, cb_req *req, const char *key,
                                up_render_fn render, const void *baton)
{
    up_status_cache *c = up->status_cache;
    apr_pool_t *p = cb_req_pool(req);
    int64_t now_ms = (int64_t)apr_time_as_msec(apr_time_now());
    apr_uint32_t generation;
    cache_slot *slot;
    cached_doc *d = NULL, *made;
    const char *status = "MISS", *body;
    size_t len;
    cb_status rc;
    if (!c || c->ttl_ms <= 0) {
        body = render(up, p, baton, &len);
        made = make_doc(body, len, 0, 0);
        if (!made)
            return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                     "the status is not available now; try again");
        rc = answer(req, made, "MISS");
        release(made);
        return rc;
    }
    generation = apr_atomic_read32(&c->generation);
    apr_thread_mutex_lock(c->lock);
    slot = apr_hash_get(c->slots, key, APR_HASH_KEY_STRING);
    if (!slot) {
        slot = apr_pcalloc(c->pool, sizeof(*slot));
        apr_hash_set(c->slots, apr_pstrdup(c->pool, key), APR_HASH_KEY_STRING, slot);
    }
    if (slot->doc && (slot->rendering ||
                      (now_ms < slot->doc->fresh_until_ms && slot->doc->generation == generation))) {
        d = slot->doc;
        d->refs++;
        status = now_ms < d->fresh_until_ms && d->generation == generation ? "HIT" : "STALE";
    } else {
        slot->rendering = 1;
    }
    apr_thread_mutex_unlock(c->lock);
    if (d) {
        rc = answer(req, d, status);
        apr_thread_mutex_lock(c->lock);
        release(d);
        apr_thread_mutex_unlock(c->lock);
        return rc;
    }
    body = render(up, p, baton, &len);
    made = make_doc(body, len, generation, c->ttl_ms);
    apr_thread_mutex_lock(c->lock);
    slot->rendering = 0;
    if (made) {
        /* unchanged bytes keep their Last-Modified */
        if (slot->doc && slot->doc->len == made->len && strcmp(slot->doc->etag, made->etag) == 0 &&
            memcmp(slot->doc->body, made->body, made->len) == 0) {
            made->made = slot->doc->made;
            memcpy(made->last_modified, slot->doc->last_modified, sizeof(made->last_modified));
        }
        release(slot->doc);
        slot->doc = made;
        made->refs++;
    }
    apr_thread_mutex_unlock(c->lock);
    if (!made)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE",
                                 "the status is not available now; try again");
    rc = answer(req, made, "MISS");
    apr_thread_mutex_lock(c->lock);
    release(made);
    apr_thread_mutex_unlock(c->lock);
    return rc;
}
