/*
 * cache.h: cb_cache, a per-process cache of small values in a fixed number
 * of slots, with a socache-like interface: get, set with a TTL, remove.
 *
 * Each key maps to one slot (a newer key that lands there replaces the
 * older one). A hit needs the very same key, compared byte for byte, never
 * a hash alone, and an entry not yet past its TTL (checked on every get).
 * Keys and values are copied in and out, up to sizes fixed at creation;
 * nothing returned points into the cache. Safe for the host's worker
 * threads (striped locks). Made in a pool before the host forks, each
 * process then has its own copy; the pool's cleanup frees it.
 */
#ifndef CLOUDBASE_CACHE_H
#define CLOUDBASE_CACHE_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>

#include "cloudbase/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_cache cb_cache;

/* slots entries, each holding a key of up to max_key bytes and a value of
 * up to max_value bytes (all memory taken now). NULL when an argument is 0
 * or the locks cannot be made. */
CB_API cb_cache *cb_cache_create(apr_pool_t *p, unsigned slots, size_t max_key,
                                 size_t max_value);

/* A hit copies the value into value (*value_len: its size on entry, the
 * value's length on return) and answers APR_SUCCESS. APR_NOTFOUND on a miss
 * or an expired entry; APR_ENOSPC when the value is longer than the buffer
 * (nothing copied, *value_len set to the length needed). */
CB_API apr_status_t cb_cache_get(cb_cache *c, const void *key, size_t key_len, void *value,
                                 size_t *value_len);

/* Stores a copy for ttl (> 0) from now, replacing what the slot held.
 * APR_ENOSPC when the key or the value is longer than the cache takes, and
 * APR_EINVAL for an empty key or ttl <= 0: nothing is stored then, and an
 * older entry for the same key is removed, so a refused store never leaves
 * a stale value behind. */
CB_API apr_status_t cb_cache_set(cb_cache *c, const void *key, size_t key_len,
                                 const void *value, size_t value_len, apr_interval_time_t ttl);

/* Forgets the key's entry, if this exact key holds its slot. */
CB_API void cb_cache_remove(cb_cache *c, const void *key, size_t key_len);

#ifdef __cplusplus
}
#endif
#endif
