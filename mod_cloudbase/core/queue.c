/*
 * queue.c: the durable Redis job queue (include/cloudbase/queue.h): a ready
 * list, a delayed set for retries, an in-flight set scored by visibility
 * deadline, a payload hash, an attempts hash and a dead-letter list. Each
 * step is one Lua script with every key in KEYS under the environment's
 * hash tag; time is Redis's own clock, so nodes need not agree on theirs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/queue.h"

struct cb_queue {
    cb_redis *redis;
    const char *prefix;   /* cb:{env}:q:NAME: */
    cb_queue_config cfg;
};

#define LUA_NOW "local t = redis.call('TIME')\n" \
                "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: ready, delayed, jobs, seq, idem. ARGV: payload, delay ms, use idem
 * (0/1), idem ttl ms. Returns {duplicate, id}. */
static const char enqueue_lua[] =
    "if ARGV[3] == '1' then\n"
    "  local seen = redis.call('GET', KEYS[5])\n"
    "  if seen then return {1, seen} end\n"
    "end\n"
    LUA_NOW
    "local id = tostring(redis.call('INCR', KEYS[4]))\n"
    "redis.call('HSET', KEYS[3], id, ARGV[1])\n"
    "local delay = tonumber(ARGV[2])\n"
    "if delay > 0 then redis.call('ZADD', KEYS[2], now + delay, id)\n"
    "else redis.call('LPUSH', KEYS[1], id) end\n"
    "if ARGV[3] == '1' then redis.call('SET', KEYS[5], id, 'PX', ARGV[4]) end\n"
    "return {0, id}\n";

/* KEYS: ready, delayed, inflight, jobs, attempts, dead. ARGV: visibility ms,
 * max attempts. Returns {} or {id, payload, attempt}. */
static const char reserve_lua[] =
    LUA_NOW
    "local max = tonumber(ARGV[2])\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('RPUSH', KEYS[1], id)\n"
    "end\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)) do\n"
    "  redis.call('ZREM', KEYS[3], id)\n"
    "  if (tonumber(redis.call('HGET', KEYS[5], id)) or 0) >= max then\n"
    "    redis.call('LPUSH', KEYS[6], id)\n"
    "  else\n"
    "    redis.call('RPUSH', KEYS[1], id)\n"
    "  end\n"
    "end\n"
    "while true do\n"
    "  local id = redis.call('RPOP', KEYS[1])\n"
    "  if not id then return {} end\n"
    "  local payload = redis.call('HGET', KEYS[4], id)\n"
    "  if payload then\n"
    "    local n = redis.call('HINCRBY', KEYS[5], id, 1)\n"
    "    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), id)\n"
    "    return {id, payload, n}\n"
    "  end\n"
    "end\n";

/* KEYS: inflight, jobs, attempts. ARGV: id. 1 when acked. */
static const char ack_lua[] =
    "if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "redis.call('HDEL', KEYS[3], ARGV[1])\n"
    "return 1\n";

/* KEYS: inflight, delayed, attempts, dead. ARGV: id, backoff ms, max.
 * 0 not in flight, 1 retry scheduled, 2 dead-lettered. */
static const char fail_lua[] =
    "if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "if (tonumber(redis.call('HGET', KEYS[3], ARGV[1])) or 0) >= tonumber(ARGV[3]) then\n"
    "  redis.call('LPUSH', KEYS[4], ARGV[1])\n"
    "  return 2\n"
    "end\n"
    LUA_NOW
    "redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])\n"
    "return 1\n";

/* KEYS: inflight. ARGV: id, visibility ms. 1 when extended. */
static const char extend_lua[] =
    "if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end\n"
    LUA_NOW
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
    "return 1\n";

static cb_redis_script enqueue_script, reserve_script, ack_script, fail_script, extend_script;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void init_scripts_once(void)
{
    cb_redis_script_init(&enqueue_script, enqueue_lua);
    cb_redis_script_init(&reserve_script, reserve_lua);
    cb_redis_script_init(&ack_script, ack_lua);
    cb_redis_script_init(&fail_script, fail_lua);
    cb_redis_script_init(&extend_script, extend_lua);
}

void cb_queue_config_defaults(cb_queue_config *cfg)
{
    cfg->visibility_ms = 30000;
    cfg->max_attempts = 5;
    cfg->backoff_base_ms = 1000;
    cfg->backoff_max_ms = 300000;
    cfg->idempotency_ttl_ms = 86400000;
}

cb_queue *cb_queue_create(apr_pool_t *p, cb_redis *r, const char *env, const char *name,
                          const cb_queue_config *cfg)
{
    cb_queue *q = apr_pcalloc(p, sizeof(*q));
    q->redis = r;
    q->prefix = cb_redis_key(p, env, "q", name, "", NULL);
    if (cfg)
        q->cfg = *cfg;
    else
        cb_queue_config_defaults(&q->cfg);
    if (q->cfg.max_attempts < 1)
        q->cfg.max_attempts = 1;
    pthread_once(&scripts_once, init_scripts_once);
    return q;
}

int64_t cb_queue_backoff_ms(const cb_queue_config *cfg, int attempt)
{
    int64_t delay = cfg->backoff_base_ms;
    for (int i = 1; i < attempt && delay < cfg->backoff_max_ms; i++)
        delay *= 2;
    return delay < cfg->backoff_max_ms ? delay : cfg->backoff_max_ms;
}

static const char *key(apr_pool_t *p, const cb_queue *q, const char *part)
{
    return apr_pstrcat(p, q->prefix, part, NULL);
}

static const char *num(apr_pool_t *p, int64_t n)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
}

static apr_status_t eval_integer(cb_queue *q, apr_pool_t *p, const cb_redis_script *s,
                                 int num_keys, int argc, const char *const *argv,
                                 long long *out)
{
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_eval(q->redis, p, s, num_keys, argc, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    *out = cb_redis_reply_integer(reply);
    return APR_SUCCESS;
}

apr_status_t cb_queue_enqueue(cb_queue *q, apr_pool_t *p, const void *payload, size_t len,
                              const char *idempotency_key, int64_t delay_ms,
                              const char **job_id, int *duplicate)
{
    const char *idem = key(p, q, apr_pstrcat(p, "idem:", idempotency_key ? idempotency_key : "",
                                             NULL));
    const char *argv[] = {key(p, q, "ready"), key(p, q, "delayed"), key(p, q, "jobs"),
                          key(p, q, "seq"), idem, (const char *)payload, num(p, delay_ms),
                          idempotency_key ? "1" : "0", num(p, q->cfg.idempotency_ttl_ms)};
    size_t argv_len[9];
    const cb_redis_reply *reply;
    apr_status_t rv;
    for (int i = 0; i < 9; i++)
        argv_len[i] = strlen(argv[i]);
    argv_len[5] = len;
    rv = cb_redis_eval(q->redis, p, &enqueue_script, 5, 9, argv, argv_len, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_count(reply) != 2 ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 0)) != CB_REDIS_REPLY_INTEGER ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 1)) != CB_REDIS_REPLY_STRING)
        return CB_REDIS_EDOWN;
    if (duplicate)
        *duplicate = cb_redis_reply_integer(cb_redis_reply_element(reply, 0)) == 1;
    if (job_id)
        *job_id = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, 1));
    return APR_SUCCESS;
}

apr_status_t cb_queue_reserve(cb_queue *q, apr_pool_t *p, cb_job *job)
{
    const char *argv[] = {key(p, q, "ready"), key(p, q, "delayed"), key(p, q, "inflight"),
                          key(p, q, "jobs"), key(p, q, "attempts"), key(p, q, "dead"),
                          num(p, q->cfg.visibility_ms), num(p, q->cfg.max_attempts)};
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_eval(q->redis, p, &reserve_script, 6, 8, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return CB_REDIS_EDOWN;
    if (cb_redis_reply_count(reply) == 0)
        return APR_ENOENT;
    if (cb_redis_reply_count(reply) != 3 ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 0)) != CB_REDIS_REPLY_STRING ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 1)) != CB_REDIS_REPLY_STRING ||
        cb_redis_reply_kind(cb_redis_reply_element(reply, 2)) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    job->id = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, 0));
    job->payload = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, 1));
    cb_redis_reply_bytes(cb_redis_reply_element(reply, 1), &job->payload_len);
    job->attempt = (int)cb_redis_reply_integer(cb_redis_reply_element(reply, 2));
    return APR_SUCCESS;
}

apr_status_t cb_queue_ack(cb_queue *q, apr_pool_t *p, const cb_job *job)
{
    const char *argv[] = {key(p, q, "inflight"), key(p, q, "jobs"), key(p, q, "attempts"),
                          job->id};
    long long acked;
    apr_status_t rv = eval_integer(q, p, &ack_script, 3, 4, argv, &acked);
    if (rv != APR_SUCCESS)
        return rv;
    return acked ? APR_SUCCESS : APR_ENOENT;
}

apr_status_t cb_queue_fail(cb_queue *q, apr_pool_t *p, const cb_job *job, int *dead)
{
    const char *argv[] = {key(p, q, "inflight"), key(p, q, "delayed"), key(p, q, "attempts"),
                          key(p, q, "dead"), job->id,
                          num(p, cb_queue_backoff_ms(&q->cfg, job->attempt)),
                          num(p, q->cfg.max_attempts)};
    long long outcome;
    apr_status_t rv = eval_integer(q, p, &fail_script, 4, 7, argv, &outcome);
    if (rv != APR_SUCCESS)
        return rv;
    if (dead)
        *dead = outcome == 2;
    return outcome ? APR_SUCCESS : APR_ENOENT;
}

apr_status_t cb_queue_extend(cb_queue *q, apr_pool_t *p, const cb_job *job)
{
    const char *argv[] = {key(p, q, "inflight"), job->id, num(p, q->cfg.visibility_ms)};
    long long extended;
    apr_status_t rv = eval_integer(q, p, &extend_script, 1, 3, argv, &extended);
    if (rv != APR_SUCCESS)
        return rv;
    return extended ? APR_SUCCESS : APR_ENOENT;
}

static apr_status_t count_of(cb_queue *q, apr_pool_t *p, const char *cmd, const char *part,
                             long long *out)
{
    const char *argv[] = {cmd, key(p, q, part)};
    const cb_redis_reply *reply;
    apr_status_t rv = cb_redis_command(q->redis, p, 2, argv, NULL, &reply);
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_INTEGER)
        return CB_REDIS_EDOWN;
    *out = cb_redis_reply_integer(reply);
    return APR_SUCCESS;
}

apr_status_t cb_queue_counts_get(cb_queue *q, apr_pool_t *p, cb_queue_counts *out)
{
    apr_status_t rv = count_of(q, p, "LLEN", "ready", &out->ready);
    if (rv == APR_SUCCESS)
        rv = count_of(q, p, "ZCARD", "delayed", &out->delayed);
    if (rv == APR_SUCCESS)
        rv = count_of(q, p, "ZCARD", "inflight", &out->inflight);
    if (rv == APR_SUCCESS)
        rv = count_of(q, p, "LLEN", "dead", &out->dead);
    return rv;
}

apr_status_t cb_queue_dead_letters(cb_queue *q, apr_pool_t *p, int max,
                                   apr_array_header_t **jobs)
{
    const char *range[] = {"LRANGE", key(p, q, "dead"), "0", num(p, max > 0 ? max - 1 : 0)};
    const cb_redis_reply *ids;
    apr_status_t rv = cb_redis_command(q->redis, p, 4, range, NULL, &ids);
    *jobs = apr_array_make(p, 4, sizeof(cb_job));
    if (rv != APR_SUCCESS)
        return rv;
    if (cb_redis_reply_kind(ids) != CB_REDIS_REPLY_ARRAY)
        return CB_REDIS_EDOWN;
    for (size_t i = 0; i < cb_redis_reply_count(ids) && max > 0; i++) {
        const char *id = cb_redis_reply_strdup(p, cb_redis_reply_element(ids, i));
        const char *get[] = {"HGET", key(p, q, "jobs"), id};
        const char *count[] = {"HGET", key(p, q, "attempts"), id};
        const cb_redis_reply *payload, *attempts;
        cb_job *job;
        if (!id)
            return CB_REDIS_EDOWN; /* LRANGE answers strings only */
        if (cb_redis_command(q->redis, p, 3, get, NULL, &payload) != APR_SUCCESS ||
            cb_redis_command(q->redis, p, 3, count, NULL, &attempts) != APR_SUCCESS)
            return CB_REDIS_EDOWN;
        job = apr_array_push(*jobs);
        job->id = id;
        job->payload = cb_redis_reply_strdup(p, payload);
        cb_redis_reply_bytes(payload, &job->payload_len);
        if (!job->payload) {
            job->payload = "";
            job->payload_len = 0;
        }
        job->attempt = cb_redis_reply_kind(attempts) == CB_REDIS_REPLY_STRING
                           ? atoi(cb_redis_reply_bytes(attempts, NULL)) : 0;
    }
    return APR_SUCCESS;
}
