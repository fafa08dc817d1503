/*
 * type_cache.c: a per-process cache of each local object's Content-Type
 * for signed downloads, so that a download of an unchanged object needs no
 * database read (the read cost about a tenth of a 4 KiB download's
 * throughput). An entry is keyed by the object's hash and holds the ETag
 * (size and mtime, st_local_etag) of the file version whose metadata it
 * came from; it answers only while the file on disk still has that ETag.
 * An overwrite renames a new file into place (a new mtime), and a delete
 * removes the file, so neither can be served with a stale type.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/cache.h"
#include "storage.h"

#define TYPE_CACHE_SLOTS 2048
#define TYPE_CACHE_KEY_MAX 64          /* the object hash, hex */
#define TYPE_CACHE_VALUE_MAX 400       /* ETag, '\n', type */
#define TYPE_CACHE_TTL apr_time_from_sec(300)

cb_cache *st_type_cache_create(apr_pool_t *p)
{
    return cb_cache_create(p, TYPE_CACHE_SLOTS, TYPE_CACHE_KEY_MAX, TYPE_CACHE_VALUE_MAX);
}

const char *st_type_cached(const st_state *st, apr_pool_t *p, const char *hash, const char *etag)
{
    char value[TYPE_CACHE_VALUE_MAX];
    size_t len = sizeof(value), etag_len = strlen(etag);
    if (!st->type_cache ||
        cb_cache_get(st->type_cache, hash, strlen(hash), value, &len) != APR_SUCCESS)
        return NULL;
    if (len <= etag_len || memcmp(value, etag, etag_len) != 0 || value[etag_len] != '\n')
        return NULL;
    return apr_pstrndup(p, value + etag_len + 1, len - etag_len - 1);
}

void st_type_remember(const st_state *st, apr_pool_t *p, const char *hash, const char *etag,
                      const char *type)
{
    const char *value;
    if (!st->type_cache || !etag || !type)
        return;
    value = apr_pstrcat(p, etag, "\n", type, NULL);
    /* a value too long for the cache is simply not kept */
    cb_cache_set(st->type_cache, hash, strlen(hash), value, strlen(value), TYPE_CACHE_TTL);
}
