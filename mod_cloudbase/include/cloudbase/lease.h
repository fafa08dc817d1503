/*
 * lease.h: a Redis lease with a fencing token, so that one node of many runs
 * a job (a sweeper, a scheduler tick, a migration).
 *
 * A lease is a name held by one holder for a TTL. Acquiring it hands out a
 * fencing token that increases by one on every new tenure of that name, for
 * ever (a counter that never expires), so a resource that remembers the
 * highest token it has seen can refuse a late write from a holder whose
 * lease has lapsed. Renew and release succeed only for the current holder
 * with the current token. Keys are cb:{env}:lease:NAME and
 * cb:{env}:lease:NAME:fence, in one hash slot; every step is one Lua script.
 *
 * When Redis is down every call returns CB_REDIS_EDOWN: nobody acquires the
 * lease, so the job does not run anywhere (fail closed); a holder that
 * cannot renew must stop before its TTL runs out.
 */
#ifndef CLOUDBASE_LEASE_H
#define CLOUDBASE_LEASE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>

#include "cloudbase/export.h"
#include "cloudbase/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_lease {
    const char *env;
    const char *name;
    const char *holder;   /* who holds it: unique per process and thread */
    int64_t token;        /* fencing token of this tenure; 0 when not held */
} cb_lease;

/* A holder id unique to this host, process and call: "host:pid:random". */
CB_API const char *cb_lease_holder_id(apr_pool_t *p);

/* Fills *lease for env/name/holder (strings must outlive the lease). */
CB_API void cb_lease_init(cb_lease *lease, const char *env, const char *name, const char *holder);

/* APR_SUCCESS with lease->token set when this holder now holds the lease
 * (taking it again while held keeps the token and extends the TTL);
 * APR_EBUSY when someone else holds it; CB_REDIS_EDOWN when Redis fails. */
CB_API apr_status_t cb_lease_acquire(cb_redis *r, apr_pool_t *p, cb_lease *lease, int64_t ttl_ms);
/* Extends the TTL; APR_EBUSY (and token 0) when the lease was lost. */
CB_API apr_status_t cb_lease_renew(cb_redis *r, apr_pool_t *p, cb_lease *lease, int64_t ttl_ms);
/* Gives the lease up; APR_EBUSY when this holder no longer held it. */
CB_API apr_status_t cb_lease_release(cb_redis *r, apr_pool_t *p, cb_lease *lease);

#ifdef __cplusplus
}
#endif
#endif
