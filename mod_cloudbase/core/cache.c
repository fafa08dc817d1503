/*
 * cache.c: cb_cache, the per-process slot cache (cloudbase/cache.h).
 *
 * One flat array of fixed-size slots; a key's slot is FNV-1a of the key
 * modulo the slot count (direct mapped: one key per slot). Keys longer than
 * HASHED_TAIL bytes are hashed on their last HASHED_TAIL bytes only: that is
 * where keys such as signed tokens (the signature) differ, and it keeps a hit
 * on a 600-byte token as cheap as on a short key. Keys alike at the end
 * merely share a slot: the comparison that decides a hit is always over the
 * whole key. Slots share
 * LOCK_STRIPES mutexes: a get holds one for a compare and a copy only.
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "cloudbase/cache.h"
#include "cloudbase/encoding.h"

#define LOCK_STRIPES 64
#define HASHED_TAIL 48

typedef struct cache_slot {
    apr_time_t expires;        /* 0: empty */
    size_t key_len;
    size_t value_len;
    /* then max_key key bytes, then max_value value bytes */
} cache_slot;

struct cb_cache {
    unsigned slots;
    unsigned stripes;
    size_t max_key, max_value;
    size_t stride;             /* bytes per slot, 8-aligned */
    char *memory;
    apr_thread_mutex_t *locks[LOCK_STRIPES];
};

cb_cache *cb_cache_create(apr_pool_t *p, unsigned slots, size_t max_key, size_t max_value)
{
    cb_cache *c;
    if (!slots || !max_key || !max_value || max_key > SIZE_MAX / 4 || max_value > SIZE_MAX / 4)
        return NULL;
    c = apr_pcalloc(p, sizeof(*c));
    c->slots = slots;
    c->stripes = slots < LOCK_STRIPES ? slots : LOCK_STRIPES;
    c->max_key = max_key;
    c->max_value = max_value;
    c->stride = (sizeof(cache_slot) + max_key + max_value + 7) & ~(size_t)7;
    if (c->stride > SIZE_MAX / slots)
        return NULL;
    c->memory = apr_pcalloc(p, c->stride * slots);
    for (unsigned i = 0; i < c->stripes; i++)
        if (apr_thread_mutex_create(&c->locks[i], APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
            return NULL;
    return c;
}

static unsigned slot_index(const cb_cache *c, const char *key, size_t len)
{
    size_t start = len > HASHED_TAIL ? len - HASHED_TAIL : 0;
    return (unsigned)(cb_fnv1a(CB_FNV1A_INIT, key + start, len - start) % c->slots);
}

static cache_slot *slot_at(const cb_cache *c, unsigned index)
{
    return (cache_slot *)(void *)(c->memory + (size_t)index * c->stride);
}

static char *key_of(cache_slot *s)
{
    return (char *)(s + 1);
}

static char *value_of(const cb_cache *c, cache_slot *s)
{
    return key_of(s) + c->max_key;
}

static int holds(cache_slot *s, const void *key, size_t len)
{
    return s->expires && s->key_len == len && memcmp(key_of(s), key, len) == 0;
}

apr_status_t cb_cache_get(cb_cache *c, const void *key, size_t key_len, void *value,
                          size_t *value_len)
{
    unsigned index;
    cache_slot *s;
    apr_thread_mutex_t *lock;
    apr_status_t rv = APR_NOTFOUND;
    apr_time_t now;
    if (!key_len || key_len > c->max_key)
        return APR_NOTFOUND;
    index = slot_index(c, key, key_len);
    s = slot_at(c, index);
    lock = c->locks[index % c->stripes];
    now = apr_time_now();
    apr_thread_mutex_lock(lock);
    if (holds(s, key, key_len) && s->expires > now) {
        if (s->value_len > *value_len) {
            rv = APR_ENOSPC;
        }
        else {
            memcpy(value, value_of(c, s), s->value_len);
            rv = APR_SUCCESS;
        }
        *value_len = s->value_len;
    }
    apr_thread_mutex_unlock(lock);
    return rv;
}

apr_status_t cb_cache_set(cb_cache *c, const void *key, size_t key_len, const void *value,
                          size_t value_len, apr_interval_time_t ttl)
{
    unsigned index;
    cache_slot *s;
    apr_thread_mutex_t *lock;
    apr_time_t expires;
    if (!key_len)
        return APR_EINVAL;
    if (key_len > c->max_key)
        return APR_ENOSPC; /* no slot can hold it, so none holds a stale copy */
    if (value_len > c->max_value || ttl <= 0) {
        cb_cache_remove(c, key, key_len);
        return ttl <= 0 ? APR_EINVAL : APR_ENOSPC;
    }
    index = slot_index(c, key, key_len);
    s = slot_at(c, index);
    lock = c->locks[index % c->stripes];
    expires = apr_time_now() + ttl;
    apr_thread_mutex_lock(lock);
    memcpy(key_of(s), key, key_len);
    memcpy(value_of(c, s), value, value_len);
    s->key_len = key_len;
    s->value_len = value_len;
    s->expires = expires;
    apr_thread_mutex_unlock(lock);
    return APR_SUCCESS;
}

void cb_cache_remove(cb_cache *c, const void *key, size_t key_len)
{
    unsigned index;
    cache_slot *s;
    apr_thread_mutex_t *lock;
    if (!key_len || key_len > c->max_key)
        return;
    index = slot_index(c, key, key_len);
    s = slot_at(c, index);
    lock = c->locks[index % c->stripes];
    apr_thread_mutex_lock(lock);
    if (holds(s, key, key_len))
        s->expires = 0;
    apr_thread_mutex_unlock(lock);
}
