/*
 * readcache_lease.h: the read cache's node-local copies under Redis leases
 * (core-internal; readcache.c calls it, readcache_lease.c has it). See
 * cb_readcache_set_local in readcache.h for what a caller sees.
 *
 * Redis keeps, per namespace, a hash of the processes holding a lease:
 *   cb:{ENV}:rc:NS:leases   field HOLDER = "EXPIRES_MS:APPLIED"
 * (EXPIRES_MS by Redis's clock; APPLIED the newest version the holder has
 * stopped serving older copies for). A write bumps the version and is
 * acknowledged only when every other live holder has applied it, or its
 * lease has run out.
 */
#ifndef CB_READCACHE_LEASE_H
#define CB_READCACHE_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "cloudbase/redis.h"

typedef struct cb_rc_local cb_rc_local;

/* Local copies for one cache: leases of lease_ms, at most max_bytes of
 * copies in each process. Made before the host forks; each process fills
 * its own table on first use. */
cb_rc_local *cb_rc_local_create(apr_pool_t *p, cb_redis *redis, const char *env,
                                int64_t lease_ms, size_t max_bytes);

/* 1 and a copy in p of the answer stored for (ns, hash) when this process
 * holds a lease on ns, the copy is of the version it has applied and still
 * fresh; else 0. Takes or renews the lease when due (one Redis script). */
int cb_rc_local_get(cb_rc_local *l, apr_pool_t *p, const char *ns, const char *hash,
                    const char **value, size_t *len);

/* Keeps a copy of an answer read from Redis (or filled) at version, when
 * this process holds a lease on ns and has applied that version. */
void cb_rc_local_put(cb_rc_local *l, const char *ns, const char *hash, const char *version,
                     int64_t fresh_until_ms, const char *value, size_t len);

/* The Lua source of the bump (cb_redis_script_init it once). */
extern const char cb_rc_bump_lua[];

/* A write's bump, with bump made of cb_rc_bump_lua: INCR of the version,
 * then waits until every other holder of a live lease on ns has applied
 * it, or its lease has run out (a lease is short: the wait is bounded by
 * the longest one left). local (NULL when this node keeps no copies)
 * applies it here first. APR_SUCCESS, or CB_REDIS_EDOWN when the bump
 * itself failed. */
apr_status_t cb_rc_bump_and_wait(cb_redis *redis, const cb_redis_script *bump,
                                 cb_rc_local *local, apr_pool_t *p, const char *env,
                                 const char *ns);

#endif
