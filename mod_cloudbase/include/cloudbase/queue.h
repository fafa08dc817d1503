/*
 * queue.h: a durable job queue in Redis with at-least-once delivery.
 *
 * enqueue puts a job (an opaque payload) on the ready list, or on the
 * delayed set when it has a delay; an idempotency key makes a repeated
 * enqueue within its TTL return the first job's id instead of a new job.
 * reserve moves one job into the in-flight set with a visibility deadline
 * and counts the attempt; ack removes it for good. fail puts it back after
 * an exponential backoff, or on the dead-letter list once max_attempts
 * attempts have failed. A job whose worker died (httpd killed, node gone)
 * stays in flight until its deadline and is then delivered again, so a job
 * is never lost, and a handler must tolerate running twice. Long jobs call
 * cb_queue_extend before the deadline. Times come from Redis's clock.
 *
 * Keys: cb:{env}:q:NAME:{ready,delayed,inflight,jobs,attempts,dead,seq} and
 * cb:{env}:q:NAME:idem:KEY, in one hash slot; every step is one Lua script.
 * When Redis is down every call returns CB_REDIS_EDOWN: nothing is taken or
 * lost, enqueue fails (the caller decides whether to answer 503 or retry),
 * and jobs in flight are redelivered once Redis is back and they expire.
 */
#ifndef CLOUDBASE_QUEUE_H
#define CLOUDBASE_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

#include "cloudbase/export.h"
#include "cloudbase/redis.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_queue cb_queue;

typedef struct cb_queue_config {
    int64_t visibility_ms;       /* in-flight deadline, default 30000 */
    int max_attempts;            /* then the dead-letter list, default 5 */
    int64_t backoff_base_ms;     /* first retry delay, doubled per attempt; default 1000 */
    int64_t backoff_max_ms;      /* cap on the retry delay, default 300000 */
    int64_t idempotency_ttl_ms;  /* how long a key dedups, default 86400000 */
} cb_queue_config;

typedef struct cb_job {
    const char *id;
    const char *payload;         /* NUL-terminated; may hold NULs within len */
    size_t payload_len;
    int attempt;                 /* 1 on first delivery */
} cb_job;

typedef struct cb_queue_counts {
    long long ready, delayed, inflight, dead;
} cb_queue_counts;

CB_API void cb_queue_config_defaults(cb_queue_config *cfg);
/* A queue handle; cfg NULL takes the defaults. Nothing is sent to Redis. */
CB_API cb_queue *cb_queue_create(apr_pool_t *p, cb_redis *r, const char *env, const char *name,
                          const cb_queue_config *cfg);

/* Adds a job. idempotency_key may be NULL; when a job with that key was
 * enqueued within the TTL, *duplicate is set to 1 and *job_id is that job's
 * id. job_id and duplicate may be NULL. */
CB_API apr_status_t cb_queue_enqueue(cb_queue *q, apr_pool_t *p, const void *payload, size_t len,
                              const char *idempotency_key, int64_t delay_ms,
                              const char **job_id, int *duplicate);
/* Takes the next due job: APR_SUCCESS with *job filled, APR_ENOENT when
 * none is due. Expired in-flight jobs are redelivered (or dead-lettered
 * after max_attempts) and due retries become ready first. */
CB_API apr_status_t cb_queue_reserve(cb_queue *q, apr_pool_t *p, cb_job *job);
/* Done: removes the job. APR_ENOENT when it was not in flight any more. */
CB_API apr_status_t cb_queue_ack(cb_queue *q, apr_pool_t *p, const cb_job *job);
/* Failed: retry after the backoff, or dead-letter (*dead = 1; may be NULL). */
CB_API apr_status_t cb_queue_fail(cb_queue *q, apr_pool_t *p, const cb_job *job, int *dead);
/* Pushes the visibility deadline visibility_ms from now. */
CB_API apr_status_t cb_queue_extend(cb_queue *q, apr_pool_t *p, const cb_job *job);
CB_API apr_status_t cb_queue_counts_get(cb_queue *q, apr_pool_t *p, cb_queue_counts *out);
/* Up to max dead jobs, newest first, as cb_job entries. */
CB_API apr_status_t cb_queue_dead_letters(cb_queue *q, apr_pool_t *p, int max,
                                   apr_array_header_t **jobs);
/* The retry delay after the given failed attempt (1-based). */
CB_API int64_t cb_queue_backoff_ms(const cb_queue_config *cfg, int attempt);

#ifdef __cplusplus
}
#endif
#endif
