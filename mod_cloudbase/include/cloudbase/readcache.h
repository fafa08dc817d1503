/*
 * readcache.h: a shared read cache in Redis for query answers, never older
 * than the last acknowledged write, on any node.
 *
 * Answers live in namespaces (a model and its envType, say). Each namespace
 * has a version kept in Redis, and every stored answer carries the version
 * it was filled at; a write bumps the version (INCR, O(1) whatever the
 * number of cached queries), and every node's next read, which fetches the
 * version and the answer together, takes an answer of another version for
 * a miss. The caller supplies the query key (the normalised query plus the
 * caller's permission scope: answers are only shared between callers whose
 * key is equal).
 *
 * A missing or expired answer is filled by one caller per key: a short
 * Redis lock (SET NX PX) elects the filler; the others poll for its answer
 * a bounded time, then take the stale copy (an answer past its TTL kept up
 * to stale_ttl, of the same version only) or go to the source themselves.
 * With Redis unreachable (the client's breaker open, a timeout) a read goes
 * to the source and says BYPASS; nothing is an error.
 *
 * Local copies (cb_readcache_set_local, off by default): a process that
 * reads a namespace often takes a short lease on it in Redis and keeps
 * copies of its answers in memory, served as HITs with no Redis round
 * trip while the lease runs. A write (bump or purge) is acknowledged only
 * when every other process holding a lease on the namespace has applied
 * it (at its next renewal, every lease/25 while it reads) or its lease has
 * run out, so the rule above holds for these copies too.
 *
 * Keys (cb_redis_key, so one environment's keys share a cluster slot and
 * one MGET reads the version and an answer, a HIT's single round trip):
 *   cb:{ENV}:rc:NS:v                 the namespace's version (no TTL)
 *   cb:{ENV}:rc:NS:e:SHA256          an answer:
 *                                    "cbrc2 VERSION FRESH_UNTIL_MS\n" + bytes
 *   cb:{ENV}:rc:NS:l:VERSION:SHA256  the filler's lock
 *   cb:{ENV}:rc:NS:leases            the lease holders of local copies:
 *                                    field HOLDER = "EXPIRES_MS:APPLIED"
 * where SHA256 is the hex digest of the caller's key.
 */
#ifndef CLOUDBASE_READCACHE_H
#define CLOUDBASE_READCACHE_H

#include "cloudbase/export.h"
#include "cloudbase/redis.h"

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_readcache cb_readcache;

typedef enum {
    CB_READCACHE_HIT = 0,  /* a fresh answer from Redis */
    CB_READCACHE_MISS,     /* filled from the source (and stored) */
    CB_READCACHE_BYPASS,   /* Redis unreachable (or no Redis): from the source */
    CB_READCACHE_STALE     /* past its TTL, same version, while another caller refills */
} cb_readcache_status;

typedef struct cb_readcache_config {
    int64_t ttl_ms;        /* an answer is fresh this long; default 30 s */
    int64_t stale_ttl_ms;  /* and kept as a stale copy this long (>= ttl); default 5 min */
    int64_t lock_ms;       /* the filler's lock; default 5 s */
    int64_t wait_ms;       /* how long the others wait for the filler; default 1 s */
    int64_t poll_ms;       /* how often they look; default 10 ms */
    size_t max_value;      /* larger answers are not stored; default 1 MiB */
} cb_readcache_config;

CB_API void cb_readcache_config_defaults(cb_readcache_config *cfg);

/* A cache of environment env on redis (NULL: every read is BYPASS). The
 * config is copied; zero fields take the defaults. */
CB_API cb_readcache *cb_readcache_create(apr_pool_t *p, cb_redis *redis, const char *env,
                                         const cb_readcache_config *cfg);

/* Turns local copies on (see above): leases of lease_ms, at most max_bytes
 * of copies per process (an answer over max_bytes/16 is not copied). Call
 * once, at configuration, before the host forks; lease_ms <= 0 leaves them
 * off. */
CB_API void cb_readcache_set_local(cb_readcache *c, int64_t lease_ms, size_t max_bytes);

/* Produces the answer from the source, in p. Any status but APR_SUCCESS is
 * handed back to the caller of cb_readcache_get and nothing is stored. */
typedef apr_status_t (*cb_readcache_fill_fn)(void *baton, apr_pool_t *p, const char **value,
                                             size_t *len);

/* The answer to key (any bytes) in namespace ns ([A-Za-z0-9_.-], at most
 * 128 characters): from Redis when fresh, else from fill (see above). On
 * APR_SUCCESS *value (len bytes, NUL-terminated, in p) and *status are set;
 * otherwise the status fill returned (or APR_EINVAL for a bad namespace).
 * Safe from any number of threads. */
CB_API apr_status_t cb_readcache_get(cb_readcache *c, apr_pool_t *p, const char *ns,
                                     const void *key, size_t key_len, cb_readcache_fill_fn fill,
                                     void *baton, const char **value, size_t *len,
                                     cb_readcache_status *status);

/* After a write to ns's source (and before acknowledging it): bumps the
 * version, so no node serves an answer from before the write, and waits
 * for the processes holding a lease on ns (local copies). APR_SUCCESS,
 * or CB_REDIS_EDOWN when Redis could not be told: the write still stands,
 * but other nodes may serve answers from before it until they expire
 * (ttl_ms; stale_ttl_ms for STALE). Count it; do not fail the write. */
CB_API apr_status_t cb_readcache_bump(cb_readcache *c, apr_pool_t *p, const char *ns);

/* Drops every answer of ns at once (a bump; the old entries expire on
 * their own). The same return values as cb_readcache_bump. */
CB_API apr_status_t cb_readcache_purge(cb_readcache *c, apr_pool_t *p, const char *ns);

/* "HIT", "MISS", "BYPASS" or "STALE", for X-Cache-Status. */
CB_API const char *cb_readcache_status_name(cb_readcache_status status);

/* Parses a stored answer ("cbrc2 VERSION FRESH_UNTIL_MS\n" + bytes): 1 and
 * the fields when well formed, else 0 (the version is checked, not
 * returned). Exposed for the fuzz target. */
CB_API int cb_readcache_parse_entry(const char *stored, size_t stored_len, int64_t *fresh_until_ms,
                                    const char **value, size_t *value_len);

#ifdef __cplusplus
}
#endif
#endif
