/*
 * redis.h: the shared Redis client for the core and plugins.
 *
 * Binary-safe argv commands only (no user data in format strings), a
 * per-process pool of connections, connect and command timeouts in
 * milliseconds, EVALSHA with a transparent reload on NOSCRIPT, and a
 * fast-fail breaker: after a failure every call fails at once until the
 * retry interval has passed, then one call probes and the rest keep failing
 * fast until it succeeds.
 */
#ifndef CLOUDBASE_REDIS_H
#define CLOUDBASE_REDIS_H

#include "cloudbase/export.h"

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_redis cb_redis;

/* A Redis reply, read only through the accessors below (no hiredis type
 * reaches a plugin). It lives in the pool the command ran with: a cleanup
 * of that pool frees it, so nothing is freed by hand. Every accessor takes
 * NULL as a nil reply, so element lookups chain safely. */
typedef struct cb_redis_reply cb_redis_reply;

typedef enum {
    CB_REDIS_REPLY_NIL = 0,
    CB_REDIS_REPLY_INTEGER,
    CB_REDIS_REPLY_STRING,     /* a bulk string (binary-safe) */
    CB_REDIS_REPLY_STATUS,     /* "+OK" and the like */
    CB_REDIS_REPLY_ERROR,      /* "-ERR ..." sent by Redis */
    CB_REDIS_REPLY_ARRAY
} cb_redis_reply_type;

CB_API cb_redis_reply_type cb_redis_reply_kind(const cb_redis_reply *r);
/* The integer of an INTEGER reply; 0 for any other kind. */
CB_API int64_t cb_redis_reply_integer(const cb_redis_reply *r);
/* The bytes of a STRING, STATUS or ERROR reply (NUL-terminated after *len
 * bytes, valid as long as the reply); NULL for other kinds. len may be NULL. */
CB_API const char *cb_redis_reply_bytes(const cb_redis_reply *r, size_t *len);
/* A pool copy of a STRING reply's bytes (NUL-terminated); NULL for other
 * kinds, so a nil field of HMGET reads as NULL. */
CB_API const char *cb_redis_reply_strdup(apr_pool_t *p, const cb_redis_reply *r);
/* The elements of an ARRAY reply; 0 for other kinds. */
CB_API size_t cb_redis_reply_count(const cb_redis_reply *r);
/* Element i of an ARRAY reply; NULL (a nil) when r is not an array or i is
 * past its end. */
CB_API const cb_redis_reply *cb_redis_reply_element(const cb_redis_reply *r, size_t i);
/* The message of an ERROR reply ("NOSCRIPT No matching script..."); NULL
 * for other kinds. */
CB_API const char *cb_redis_reply_error(const cb_redis_reply *r);

typedef struct cb_redis_config {
    const char *host;              /* NULL with unix_path */
    int port;
    const char *unix_path;
    int db;
    const char *password;          /* resolved secret or NULL */
    int64_t connect_timeout_ms;    /* default 100 */
    int64_t command_timeout_ms;    /* default 250 */
    int64_t retry_interval_ms;     /* breaker open time, default 1000 */
    int pool_size;                 /* idle connections kept, default 16 */
    const char *cluster_nodes;     /* redis-cluster://: "host:port,..."; else NULL */
} cb_redis_config;

/* Defaults for every field. */
CB_API void cb_redis_config_defaults(cb_redis_config *cfg);
/* "redis://host:port/db", "unix:/path/to/sock[?db=N]" or
 * "redis-cluster://host:port,host:port" (a Redis Cluster: the nodes to learn
 * the slot map from; each node gets its own pool, breaker and timeouts) plus
 * options
 * "connect_timeout=100ms timeout=250ms retry=1s pool=16 password=env:NAME". */
CB_API const char *cb_redis_config_parse_url(apr_pool_t *p, const char *url, cb_redis_config *cfg);
CB_API const char *cb_redis_config_parse_option(apr_pool_t *p, const char *kv, cb_redis_config *cfg);

/* Creates a client; connects lazily. The pool's cleanup closes connections. */
CB_API cb_redis *cb_redis_create(apr_pool_t *p, const cb_redis_config *cfg);
CB_API const cb_redis_config *cb_redis_get_config(const cb_redis *r);

/* Returned while the breaker is open or when Redis fails. */
#define CB_REDIS_EDOWN (APR_OS_START_USERERR + 1)

/* Returned for a command whose keys are in different cluster slots (a
 * programming error, refused on a single server too): give every key of one
 * command the same {hash tag}, as cb_redis_key does. */
#define CB_REDIS_ECROSSSLOT (APR_OS_START_USERERR + 2)

/* Runs one command; on a cluster, on the node serving its keys' slot. On
 * APR_SUCCESS *reply is valid until p is cleared (an error reply from Redis
 * is a success here: check cb_redis_reply_kind). */
CB_API apr_status_t cb_redis_command(cb_redis *r, apr_pool_t *p, int argc, const char *const *argv,
                              const size_t *argv_len, const cb_redis_reply **reply);

typedef struct cb_redis_script {
    const char *source;
    char sha1_hex[41];
} cb_redis_script;

CB_API void cb_redis_script_init(cb_redis_script *s, const char *source);
/* EVALSHA, loading the script once when Redis answers NOSCRIPT. */
CB_API apr_status_t cb_redis_eval(cb_redis *r, apr_pool_t *p, const cb_redis_script *s,
                           int num_keys, int argc, const char *const *argv,
                           const size_t *argv_len, const cb_redis_reply **reply);

/* PING through the breaker; 1 when Redis answered (on a cluster: every
 * master of the slot map). */
CB_API int cb_redis_ping(cb_redis *r, apr_pool_t *p);
/* 0 while the breaker is open (on a cluster: some node's). */
CB_API int cb_redis_available(cb_redis *r);

/* The key "cb:{ENV}:PIECE1:PIECE2..." (pieces up to a NULL): every key of
 * an environment carries the environment as its hash tag, so one script can
 * touch several of them on a Redis Cluster. */
CB_API const char *cb_redis_key(apr_pool_t *p, const char *env, ...)
    __attribute__((sentinel));

#ifdef __cplusplus
}
#endif
#endif
