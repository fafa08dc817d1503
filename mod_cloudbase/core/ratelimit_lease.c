/*
 * ratelimit_lease.c: per-process rate-limit leases.
 *
 * When a key has plenty of room (at least 64 times what a lease takes), the
 * Redis script counts a few requests at once and the process spends them
 * locally, so a busy key costs one Redis round trip per lease rather than
 * per request. The units are counted in Redis when granted, so a limit is
 * never exceeded; a lease lives at most one bucket (and at most a second),
 * which the window's extra bucket covers; units left when a lease expires
 * are given back to Redis with the key's next decision. Near the limit the
 * script grants single units: every request is decided in Redis.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "ratelimit.h"

#define LEASE_SLOTS 1024
#define LEASE_PROBES 4
#define LEASE_KEY_MAX 192

typedef struct lease_slot {
    char key[LEASE_KEY_MAX];   /* "" = free */
    int64_t units;             /* counted in Redis, not yet spent */
    int64_t bucket;            /* the Redis bucket they were counted in */
    apr_time_t expires;
    int64_t limit, remaining;  /* for the headers of local decisions */
    apr_time_t reset_at;
} lease_slot;

struct cb_rl_leases {
    apr_thread_mutex_t *lock;
    lease_slot slot[LEASE_SLOTS];
};

cb_rl_leases *cb_rl_leases_create(apr_pool_t *p)
{
    cb_rl_leases *l = apr_pcalloc(p, sizeof(*l));
    if (apr_thread_mutex_create(&l->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
        return NULL;
    return l;
}

/* The key's slot, or NULL; with create, a free or expired-and-empty one. */
static lease_slot *find(cb_rl_leases *l, const char *key, apr_time_t now, int create)
{
    uint64_t h = cb_rl_hash(CB_FNV1A_INIT, key);
    lease_slot *spare = NULL;
    for (int i = 0; i < LEASE_PROBES; i++) {
        lease_slot *s = &l->slot[(h + (uint64_t)i) % LEASE_SLOTS];
        if (strcmp(s->key, key) == 0)
            return s;
        if (!spare && (!s->key[0] || (s->expires <= now && s->units == 0)))
            spare = s;
    }
    if (!create || !spare)
        return NULL;
    memset(spare, 0, sizeof(*spare));
    apr_cpystrn(spare->key, key, sizeof(spare->key));
    return spare;
}

void cb_rl_leases_take(cb_rl_leases *l, int n, const char *const *keys, apr_time_t now,
                       cb_rl_lease_take *out)
{
    memset(out, 0, sizeof(*out) * (size_t)n);
    if (!l)
        return;
    apr_thread_mutex_lock(l->lock);
    for (int i = 0; i < n; i++) {
        lease_slot *s = strlen(keys[i]) < LEASE_KEY_MAX ? find(l, keys[i], now, 0) : NULL;
        if (!s || s->units <= 0)
            continue;
        if (s->expires <= now) {
            /* Unspent units of a dead lease go back with this decision. */
            out[i].refund_units = s->units;
            out[i].refund_bucket = s->bucket;
            s->units = 0;
            continue;
        }
        s->units--;
        s->remaining = s->remaining > 0 ? s->remaining - 1 : 0;
        out[i].local = 1;
        out[i].verdict.allowed = 1;
        out[i].verdict.limit = s->limit;
        out[i].verdict.remaining = s->remaining;
        out[i].verdict.reset_ms = apr_time_as_msec(s->reset_at - now);
    }
    apr_thread_mutex_unlock(l->lock);
}

void cb_rl_leases_untake(cb_rl_leases *l, int n, const char *const *keys,
                         const cb_rl_lease_take *taken, apr_time_t now)
{
    if (!l)
        return;
    apr_thread_mutex_lock(l->lock);
    for (int i = 0; i < n; i++) {
        lease_slot *s;
        if (!taken[i].local || !(s = find(l, keys[i], now, 0)))
            continue;
        s->units++;
        s->remaining++;
    }
    apr_thread_mutex_unlock(l->lock);
}

void cb_rl_leases_store(cb_rl_leases *l, const char *key, int64_t units, int64_t bucket,
                        apr_time_t expires, const cb_rl_verdict *v, apr_time_t now)
{
    lease_slot *s;
    if (!l || units <= 0 || strlen(key) >= LEASE_KEY_MAX)
        return;
    apr_thread_mutex_lock(l->lock);
    s = find(l, key, now, 1);
    if (s && s->units > 0 && s->expires > now) {
        /* Two grants raced: keep both, under the older bucket and expiry
         * (giving back to an older bucket of the window is as safe). */
        s->units += units;
        s->remaining = v->remaining;
        s->reset_at = now + apr_time_from_msec(v->reset_ms);
    }
    else if (s) {
        s->units = units;
        s->bucket = bucket;
        s->expires = expires;
        s->limit = v->limit;
        s->remaining = v->remaining;
        s->reset_at = now + apr_time_from_msec(v->reset_ms);
    }
    /* No slot free: the units stay counted and unspent, which only refuses
     * early; it never lets more through. */
    apr_thread_mutex_unlock(l->lock);
}
