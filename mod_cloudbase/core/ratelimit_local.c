/*
 * ratelimit_local.c: per-node rate-limit counters for when Redis is down.
 *
 * A fixed-size table in anonymous shared memory, made before the host forks,
 * so every process of the node counts together. Fixed windows, one slot per
 * key (open addressing; a key that finds no free slot shares one, which can
 * only refuse early, never let more through). A process-shared robust mutex
 * guards it: a process that dies holding it does not wedge the others. This
 * path only runs while Redis is unavailable.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <apr_shm.h>

#include "ratelimit.h"

#define PROBES 8

typedef struct local_slot {
    uint64_t key_hash;
    int64_t window_start_ms;
    int64_t window_ms;
    int64_t count;
} local_slot;

struct cb_rl_local {
    pthread_mutex_t lock;
    int slots;
    local_slot slot[];
};

static apr_status_t destroy_lock(void *data)
{
    pthread_mutex_destroy(&((cb_rl_local *)data)->lock);
    return APR_SUCCESS;
}

cb_rl_local *cb_rl_local_create(apr_pool_t *p, int slots)
{
    apr_shm_t *shm;
    apr_size_t size = sizeof(cb_rl_local) + (apr_size_t)slots * sizeof(local_slot);
    pthread_mutexattr_t attr;
    cb_rl_local *t;
    if (apr_shm_create(&shm, size, NULL, p) != APR_SUCCESS)
        return NULL;
    t = apr_shm_baseaddr_get(shm);
    memset(t, 0, size);
    t->slots = slots;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&t->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    /* Registered after the shm's own cleanup, so it runs first. */
    apr_pool_cleanup_register(p, t, destroy_lock, apr_pool_cleanup_null);
    return t;
}

/* 0 marks a free slot. */
static uint64_t hash_key(const char *key)
{
    uint64_t h = cb_rl_hash(CB_FNV1A_INIT, key);
    return h ? h : 1;
}

static void lock(cb_rl_local *t)
{
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&t->lock); /* counters stay usable */
}

/* The slot of a key for the window containing now, reset when its window
 * has passed or a dead key held it. */
static local_slot *find_slot(cb_rl_local *t, uint64_t h, int64_t window_ms, int64_t now_ms)
{
    int64_t start = now_ms - now_ms % window_ms;
    local_slot *free_slot = NULL, *first = NULL;
    /* The key's own slot first, wherever it is in the chain: taking a free
     * one before it would restart the key's count mid-window. */
    for (int i = 0; i < PROBES; i++) {
        local_slot *s = &t->slot[(h + (uint64_t)i) % (uint64_t)t->slots];
        if (s->key_hash == h && s->window_ms == window_ms) {
            if (s->window_start_ms != start) {
                s->window_start_ms = start;
                s->count = 0;
            }
            return s;
        }
        if (!free_slot && (s->key_hash == 0 || s->window_start_ms + s->window_ms <= now_ms))
            free_slot = s;
        if (!first)
            first = s;
    }
    if (free_slot) {
        free_slot->key_hash = h;
        free_slot->window_ms = window_ms;
        free_slot->window_start_ms = start;
        free_slot->count = 0;
        return free_slot;
    }
    return first; /* shared with another key: stricter, never looser */
}

void cb_rl_local_decide(cb_rl_local *t, int n, const char *const *keys,
                        const int64_t *limits, const int64_t *windows_ms, int64_t now_ms,
                        cb_rl_verdict *out)
{
    int allowed = 1;
    if (!t) {
        /* No table (shared memory refused at start-up, which
         * cb_ratelimit_create reports): refuse rather than count nothing. */
        memset(out, 0, sizeof(*out));
        out->reset_ms = 1000;
        return;
    }
    lock(t);
    /* Every key is checked, however many there are: first the verdict... */
    for (int i = 0; i < n; i++) {
        local_slot *s = find_slot(t, hash_key(keys[i]), windows_ms[i], now_ms);
        cb_rl_verdict v;
        v.allowed = s->count < limits[i];
        v.limit = limits[i];
        v.remaining = limits[i] - s->count - 1;
        v.reset_ms = s->window_start_ms + windows_ms[i] - now_ms;
        if (!v.allowed) {
            allowed = 0;
            v.remaining = 0;
        }
        cb_rl_keep_tightest(out, &v, i == 0);
    }
    /* ...then the count. Under the lock find_slot gives each key the slot it
     * had in the first pass (each was claimed for this window there). */
    if (allowed)
        for (int i = 0; i < n; i++)
            find_slot(t, hash_key(keys[i]), windows_ms[i], now_ms)->count++;
    pthread_mutex_unlock(&t->lock);
    out->allowed = allowed;
}
