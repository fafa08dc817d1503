/*
 * readcache_lease.c: node-local copies of read-cache answers, kept only
 * under a short Redis lease (readcache_lease.h), and the write-side bump
 * that waits for every lease holder.
 *
 * Why leases: an answer served from this process's memory skips the Redis
 * round trip that tells a reader the namespace's current version, yet the
 * cache promises that no node serves an answer older than an acknowledged
 * write. So a process keeps copies of a namespace only while it holds a
 * lease on it, recorded in Redis with the version it has applied; a write
 * is acknowledged only once every other holder has applied the write's
 * version (its next sync) or its lease has run out. A holder serves a copy
 * only while its lease, timed from before it asked, is still running: its
 * own clock runs out first, Redis's (which the writer reads) later.
 *
 * Costs: a process takes a lease only on a namespace it reads often (at
 * least HOT_READS reads within one lease), renews it every lease/25 while
 * it keeps reading (one request in many pays that Redis trip), and does
 * nothing when idle; a write waits only while some process holds a lease
 * on the namespace: until that process's next sync, or at most the rest of
 * its lease when it went quiet.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/crypto.h"
#include "cloudbase/values.h"
#include "readcache_lease.h"

#define HOT_READS 16        /* reads within one lease before a process takes one */
#define SYNCS_PER_LEASE 25  /* renewals within one lease while reads go on */
#define MAX_NAMESPACES 4096 /* per process; past it, further namespaces go to Redis */
#define MAX_WRITE_WAIT_MS 10000

/* Records this holder's lease and applied version, returns the version.
 * KEYS: version, leases. ARGV: holder, lease ms, applied version. The
 * leases hash outlives every field in it (4 leases past the newest). */
static const char sync_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ms = tonumber(ARGV[2])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], (now + ms) .. ':' .. ARGV[3])\n"
    "if redis.call('PTTL', KEYS[2]) < ms * 4 then redis.call('PEXPIRE', KEYS[2], ms * 4) end\n"
    "return tonumber(redis.call('GET', KEYS[1]) or '0')\n";

/* ARGV[2] "": bumps the version; else waits for version ARGV[2]. Drops
 * expired leases; counts the live ones but ARGV[1]'s (the writer's own,
 * applied before it acknowledges) whose applied version is older.
 * Returns {version, pending holders, ms until the last of their leases
 * ends}. KEYS: version, leases. */
const char cb_rc_bump_lua[] =
    "local v\n"
    "if ARGV[2] == '' then v = redis.call('INCR', KEYS[1]) else v = tonumber(ARGV[2]) end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local pending, wait = 0, 0\n"
    "local all = redis.call('HGETALL', KEYS[2])\n"
    "for i = 1, #all, 2 do\n"
    "  local expires, applied = string.match(all[i + 1], '^(%d+):(%-?%d+)$')\n"
    "  expires = tonumber(expires)\n"
    "  if not expires or expires <= now then\n"
    "    redis.call('HDEL', KEYS[2], all[i])\n"
    "  elseif all[i] ~= ARGV[1] and tonumber(applied) < v then\n"
    "    pending = pending + 1\n"
    "    if expires - now > wait then wait = expires - now end\n"
    "  end\n"
    "end\n"
    "return {v, pending, wait}\n";

typedef struct local_ns {
    const char *name;
    apr_uint32_t syncing;        /* 1 while one request syncs this namespace */
    apr_uint32_t reads;          /* reads in the current hotness window */
    apr_uint32_t window_start;   /* of that window, monotonic ms (wraps) */
    /* under the table's lock: */
    int64_t applied;             /* copies of this version may be served; -1 none */
    int64_t lease_until_ms;      /* monotonic; 0 when no lease is held */
    int64_t last_sync_ms;        /* monotonic, when the last sync was sent */
} local_ns;

typedef struct local_entry {
    struct local_entry *older, *newer;  /* insertion order, for eviction */
    local_ns *ns;
    int64_t version, fresh_until_ms;
    char *key, *value;                  /* inside the same allocation */
    size_t key_len, len;
} local_entry;

struct cb_rc_local {
    cb_redis *redis;
    const char *env;
    int64_t lease_ms, sync_every_ms;
    size_t max_bytes;
    cb_redis_script sync;
    cb_redis_script bump;
    pthread_rwlock_t lock;
    /* per process, made on first use (after the fork), under the lock: */
    apr_uint32_t ready;
    char holder[160];
    apr_pool_t *table_pool;      /* unmanaged: the hash tables' memory */
    apr_hash_t *names;           /* name -> local_ns */
    apr_hash_t *entries;         /* "NS\nHASH" -> local_entry */
    local_entry *oldest, *newest;
    size_t bytes;
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    return (int64_t)(apr_time_now() / 1000);
}

static void drop_entry(cb_rc_local *l, local_entry *e)
{
    apr_hash_set(l->entries, e->key, (apr_ssize_t)e->key_len, NULL);
    if (e->older)
        e->older->newer = e->newer;
    else
        l->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        l->newest = e->older;
    l->bytes -= e->len;
    free(e);
}

static apr_status_t destroy_local(void *data)
{
    cb_rc_local *l = data;
    while (l->oldest)
        drop_entry(l, l->oldest);
    if (l->table_pool)
        apr_pool_destroy(l->table_pool);
    l->table_pool = NULL;
    pthread_rwlock_destroy(&l->lock);
    return APR_SUCCESS;
}

cb_rc_local *cb_rc_local_create(apr_pool_t *p, cb_redis *redis, const char *env,
                                int64_t lease_ms, size_t max_bytes)
{
    cb_rc_local *l = apr_pcalloc(p, sizeof(*l));
    l->redis = redis;
    l->env = apr_pstrdup(p, env ? env : "");
    l->lease_ms = lease_ms;
    l->sync_every_ms = lease_ms / SYNCS_PER_LEASE > 0 ? lease_ms / SYNCS_PER_LEASE : 1;
    l->max_bytes = max_bytes;
    cb_redis_script_init(&l->sync, sync_lua);
    cb_redis_script_init(&l->bump, cb_rc_bump_lua);
    pthread_rwlock_init(&l->lock, NULL);
    apr_pool_cleanup_register(p, l, destroy_local, apr_pool_cleanup_null);
    return l;
}

/* The process's table, made on first use: the host forks after
 * configuration, and each process is a holder of its own. */
static int ensure_ready(cb_rc_local *l)
{
    unsigned char raw[6];
    char host[64] = "host";
    if (apr_atomic_read32(&l->ready))
        return 1;
    pthread_rwlock_wrlock(&l->lock);
    if (!apr_atomic_read32(&l->ready) && apr_pool_create_unmanaged_ex(&l->table_pool, NULL, NULL) == APR_SUCCESS) {
        l->names = apr_hash_make(l->table_pool);
        l->entries = apr_hash_make(l->table_pool);
        gethostname(host, sizeof(host) - 1);
        if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
            memset(raw, 0, sizeof(raw));
        apr_snprintf(l->holder, sizeof(l->holder), "%s-%ld-%02x%02x%02x%02x%02x%02x", host,
                     (long)getpid(), raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]);
        apr_atomic_set32(&l->ready, 1);
    }
    pthread_rwlock_unlock(&l->lock);
    return (int)apr_atomic_read32(&l->ready);
}

/* The namespace's state, added when missing and create is set. */
static local_ns *find_ns(cb_rc_local *l, const char *name, int create)
{
    local_ns *n;
    pthread_rwlock_rdlock(&l->lock);
    n = apr_hash_get(l->names, name, APR_HASH_KEY_STRING);
    pthread_rwlock_unlock(&l->lock);
    if (n || !create)
        return n;
    pthread_rwlock_wrlock(&l->lock);
    n = apr_hash_get(l->names, name, APR_HASH_KEY_STRING);
    if (!n && apr_hash_count(l->names) < MAX_NAMESPACES) {
        n = apr_pcalloc(l->table_pool, sizeof(*n));
        n->name = apr_pstrdup(l->table_pool, name);
        n->applied = -1;
        apr_hash_set(l->names, n->name, APR_HASH_KEY_STRING, n);
    }
    pthread_rwlock_unlock(&l->lock);
    return n;
}

/* One sync: records the lease with the version applied so far and reads
 * the current one; a newer version is applied (older copies stop being
 * served) and confirmed by a second sync. A failure drops the lease. */
static void sync_lease(cb_rc_local *l, apr_pool_t *p, local_ns *n)
{
    apr_pool_t *sp;
    apr_pool_create(&sp, p);
    for (int round = 0; round < 2; round++) {
        const cb_redis_reply *reply;
        const char *argv[5];
        int64_t sent = monotonic_ms(), applied, version;
        int newer;
        pthread_rwlock_rdlock(&l->lock);
        applied = n->applied;
        pthread_rwlock_unlock(&l->lock);
        argv[0] = cb_redis_key(sp, l->env, "rc", n->name, "v", NULL);
        argv[1] = cb_redis_key(sp, l->env, "rc", n->name, "leases", NULL);
        argv[2] = l->holder;
        argv[3] = apr_psprintf(sp, "%" APR_INT64_T_FMT, l->lease_ms);
        argv[4] = apr_psprintf(sp, "%" APR_INT64_T_FMT, applied);
        if (cb_redis_eval(l->redis, sp, &l->sync, 2, 5, argv, NULL, &reply) != APR_SUCCESS ||
            cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER) {
            pthread_rwlock_wrlock(&l->lock);
            n->lease_until_ms = 0;
            pthread_rwlock_unlock(&l->lock);
            break;
        }
        version = cb_redis_reply_integer(reply);
        pthread_rwlock_wrlock(&l->lock);
        newer = version > n->applied;
        if (newer)
            n->applied = version;
        /* 1 ms short of what Redis records: it started counting later */
        n->lease_until_ms = sent + l->lease_ms - 1;
        n->last_sync_ms = sent;
        pthread_rwlock_unlock(&l->lock);
        if (!newer)
            break;
    }
    apr_pool_destroy(sp);
}

/* Takes or renews the lease when due: renewal every sync_every_ms while
 * held; a first lease once the namespace is read often enough. One
 * request syncs at a time; the others go on meanwhile. */
static void sync_when_due(cb_rc_local *l, apr_pool_t *p, local_ns *n, int64_t now)
{
    int64_t lease_until, last_sync;
    int due;
    pthread_rwlock_rdlock(&l->lock);
    lease_until = n->lease_until_ms;
    last_sync = n->last_sync_ms;
    pthread_rwlock_unlock(&l->lock);
    if (lease_until > now) {
        due = now - last_sync >= l->sync_every_ms;
    } else {
        apr_uint32_t start = apr_atomic_read32(&n->window_start);
        if ((apr_uint32_t)now - start >= (apr_uint32_t)l->lease_ms) {
            if (apr_atomic_cas32(&n->window_start, (apr_uint32_t)now, start) == start)
                apr_atomic_set32(&n->reads, 0);
        }
        due = apr_atomic_inc32(&n->reads) + 1 >= HOT_READS;
    }
    if (due && apr_atomic_cas32(&n->syncing, 1, 0) == 0) {
        sync_lease(l, p, n);
        apr_atomic_set32(&n->syncing, 0);
    }
}

static const char *entry_key(apr_pool_t *p, const char *ns, const char *hash)
{
    return apr_pstrcat(p, ns, "\n", hash, NULL);
}

int cb_rc_local_get(cb_rc_local *l, apr_pool_t *p, const char *ns, const char *hash,
                    const char **value, size_t *len)
{
    local_ns *n;
    local_entry *e;
    const char *key;
    int64_t now;
    int found = 0;
    if (!l || !ensure_ready(l) || !(n = find_ns(l, ns, 1)))
        return 0;
    now = monotonic_ms();
    sync_when_due(l, p, n, now);
    key = entry_key(p, ns, hash);
    pthread_rwlock_rdlock(&l->lock);
    if (n->lease_until_ms > now && (e = apr_hash_get(l->entries, key, APR_HASH_KEY_STRING)) &&
        e->ns == n && e->version == n->applied && wall_ms() < e->fresh_until_ms) {
        *value = apr_pstrmemdup(p, e->value, e->len);
        *len = e->len;
        found = 1;
    }
    pthread_rwlock_unlock(&l->lock);
    return found;
}

void cb_rc_local_put(cb_rc_local *l, const char *ns, const char *hash, const char *version,
                     int64_t fresh_until_ms, const char *value, size_t len)
{
    local_ns *n;
    local_entry *e, *old;
    int64_t v;
    char key[256];
    size_t key_len;
    if (!l || !apr_atomic_read32(&l->ready) || !value || len > l->max_bytes / 16 || cb_parse_int(version, &v) ||
        !(n = find_ns(l, ns, 0)))
        return;
    key_len = (size_t)apr_snprintf(key, sizeof(key), "%s\n%s", ns, hash);
    if (key_len >= sizeof(key) - 1 || !(e = malloc(sizeof(*e) + key_len + 1 + len + 1)))
        return;
    e->ns = n;
    e->version = v;
    e->fresh_until_ms = fresh_until_ms;
    e->key = (char *)(e + 1);
    memcpy(e->key, key, key_len + 1);
    e->key_len = key_len;
    e->value = e->key + key_len + 1;
    memcpy(e->value, value, len);
    e->value[len] = '\0';
    e->len = len;
    pthread_rwlock_wrlock(&l->lock);
    /* only a copy that may be served now: of the applied version, under a lease */
    if (n->lease_until_ms <= monotonic_ms() || v != n->applied) {
        pthread_rwlock_unlock(&l->lock);
        free(e);
        return;
    }
    if ((old = apr_hash_get(l->entries, e->key, (apr_ssize_t)key_len)))
        drop_entry(l, old);
    while (l->oldest && l->bytes + len > l->max_bytes)
        drop_entry(l, l->oldest);
    e->older = l->newest;
    e->newer = NULL;
    if (l->newest)
        l->newest->newer = e;
    else
        l->oldest = e;
    l->newest = e;
    l->bytes += len;
    apr_hash_set(l->entries, e->key, (apr_ssize_t)key_len, e);
    pthread_rwlock_unlock(&l->lock);
}

/* This process applies version v of ns itself (it wrote it). */
static void apply_here(cb_rc_local *l, const char *ns, int64_t v)
{
    local_ns *n;
    if (!l || !apr_atomic_read32(&l->ready) || !(n = find_ns(l, ns, 0)))
        return;
    pthread_rwlock_wrlock(&l->lock);
    if (v > n->applied)
        n->applied = v;
    pthread_rwlock_unlock(&l->lock);
}

/* {version, pending, wait ms} of a bump script's answer: 1 when well formed. */
static int bump_answer(const cb_redis_reply *reply, int64_t out[3])
{
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY || cb_redis_reply_count(reply) != 3)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        const cb_redis_reply *e = cb_redis_reply_element(reply, i);
        if (!e || cb_redis_reply_kind(e) != CB_REDIS_REPLY_INTEGER)
            return 0;
        out[i] = cb_redis_reply_integer(e);
    }
    return 1;
}

apr_status_t cb_rc_bump_and_wait(cb_redis *redis, const cb_redis_script *bump,
                                 cb_rc_local *local, apr_pool_t *p, const char *env,
                                 const char *ns)
{
    const char *argv[4];
    const cb_redis_reply *reply;
    int64_t answer[3], deadline;
    argv[0] = cb_redis_key(p, env, "rc", ns, "v", NULL);
    argv[1] = cb_redis_key(p, env, "rc", ns, "leases", NULL);
    argv[2] = local && apr_atomic_read32(&local->ready) ? local->holder : "";
    argv[3] = "";
    if (cb_redis_eval(redis, p, bump, 2, 4, argv, NULL, &reply) != APR_SUCCESS ||
        !bump_answer(reply, answer))
        return CB_REDIS_EDOWN;
    apply_here(local, ns, answer[0]);
    deadline = monotonic_ms() + (answer[2] < MAX_WRITE_WAIT_MS ? answer[2] : MAX_WRITE_WAIT_MS);
    argv[3] = apr_psprintf(p, "%" APR_INT64_T_FMT, answer[0]);
    while (answer[1] > 0 && monotonic_ms() < deadline) {
        apr_pool_t *wp;
        int answered;
        apr_sleep(apr_time_from_msec(1));
        apr_pool_create(&wp, p);
        answered = cb_redis_eval(redis, wp, bump, 2, 4, argv, NULL, &reply) == APR_SUCCESS &&
                   bump_answer(reply, answer);
        apr_pool_destroy(wp);
        if (!answered) {
            /* Redis went away meanwhile: the leases it knew of end by then */
            int64_t left = deadline - monotonic_ms();
            if (left > 0)
                apr_sleep(apr_time_from_msec(left));
            break;
        }
    }
    return APR_SUCCESS;
}
