/*
 * live_state.c: the containers' live state in Redis, beside the registry
 * in the database: per container its last known status and when it was
 * recorded, its last health check (when, healthy, the engine's status),
 * how many tasks run in it and when the last one started and ended. One
 * hash per container, "cb:{ENV}:containers:live:ID" (cb_redis_key: the
 * environment is the hash tag, so the list reads every key of one caller
 * in one script on a Redis Cluster too). Every write sets the key's
 * expiry from the container's lifetime: a non-persistent container's
 * created time + timeout + LIVE_GRACE_MS, a persistent one's
 * now + LIVE_PERSISTENT_MS (renewed by each write), a removed one's
 * now + LIVE_REMOVED_MS. Redis is a help, not a need: without it (not
 * configured, down, breaker open) writes are dropped and reads answer
 * nothing, so the API works from the registry and the engine with the
 * live fields null. See docs/plugins/containers.md "Live state".
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/log.h"
#include "cloudbase/redis.h"
#include "containers.h"

#define LIVE_GRACE_MS (3600LL * 1000)             /* the reaper's lag after a timeout */
#define LIVE_PERSISTENT_MS (30LL * 86400 * 1000)  /* renewed by every write */
#define LIVE_REMOVED_MS (600LL * 1000)            /* a removed container's last word */

/* KEYS[1] the hash; ARGV[1] the expiry (ms since the epoch), ARGV[2] the
 * change of the running tasks (-1, 0, 1; never below 0), then field/value
 * pairs to set. */
static const char write_source[] =
    "local d = tonumber(ARGV[2])\n"
    "if d ~= 0 then\n"
    "  local n = tonumber(redis.call('HGET', KEYS[1], 'tasks_running') or '0') + d\n"
    "  if n < 0 then n = 0 end\n"
    "  redis.call('HSET', KEYS[1], 'tasks_running', n)\n"
    "end\n"
    "for i = 3, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* Every key's hash (field, value, ...), in the order of KEYS. */
static const char read_source[] =
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do out[i] = redis.call('HGETALL', k) end\n"
    "return out\n";

static cb_redis_script write_script, read_script;

void ct_live_init(void)
{
    /* from create(), before any worker thread: the same constants each time */
    cb_redis_script_init(&write_script, write_source);
    cb_redis_script_init(&read_script, read_source);
}

static const char *i64(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static int64_t now_ms(void)
{
    return apr_time_as_msec(apr_time_now());
}

static const char *live_key(apr_pool_t *p, const ct_plugin *ct, const char *id)
{
    return cb_redis_key(p, ct->env, "containers", "live", id, NULL);
}

/* When the key of r (NULL: a removed container) expires. */
static int64_t expiry(const ct_record *r)
{
    if (!r)
        return now_ms() + LIVE_REMOVED_MS;
    if (r->persist)
        return now_ms() + LIVE_PERSISTENT_MS;
    return r->created_ms + r->timeout_ms + LIVE_GRACE_MS;
}

/* One write: up to four field/value pairs (NULL-ended). */
static void write_live(ct_plugin *ct, apr_pool_t *p, const char *id, int64_t expires_at,
                       int task_delta, const char *const *pairs)
{
    const char *argv[12];
    const cb_redis_reply *reply;
    int argc = 0;
    if (!ct->redis || !id)
        return;
    argv[argc++] = live_key(p, ct, id);
    argv[argc++] = i64(p, expires_at);
    argv[argc++] = task_delta > 0 ? "1" : task_delta < 0 ? "-1" : "0";
    for (int i = 0; pairs[i] && pairs[i + 1] && argc < 11; i += 2) {
        argv[argc++] = pairs[i];
        argv[argc++] = pairs[i + 1];
    }
    if (cb_redis_eval(ct->redis, p, &write_script, 1, argc, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        cb_log(CB_LOG_DEBUG, "containers: live state of %s not written (Redis unavailable)", id);
}

void ct_live_status(ct_plugin *ct, apr_pool_t *p, const ct_record *r, const char *status)
{
    const char *pairs[] = {"status", status, "status_at", i64(p, now_ms()), NULL};
    write_live(ct, p, r->id, expiry(r), 0, pairs);
}

void ct_live_health(ct_plugin *ct, apr_pool_t *p, const ct_record *r, const char *status,
                    int healthy)
{
    const char *now = i64(p, now_ms());
    const char *pairs[] = {"status", status, "status_at", now, "health_at", now,
                           "healthy", healthy ? "1" : "0", NULL};
    write_live(ct, p, r->id, expiry(r), 0, pairs);
}

void ct_live_task(ct_plugin *ct, apr_pool_t *p, const ct_record *r, int started)
{
    const char *pairs[] = {started ? "task_started_at" : "task_ended_at", i64(p, now_ms()),
                           NULL};
    write_live(ct, p, r->id, expiry(r), started ? 1 : -1, pairs);
}

void ct_live_removed(ct_plugin *ct, apr_pool_t *p, const char *id)
{
    const char *pairs[] = {"status", "removed", "status_at", i64(p, now_ms()), NULL};
    write_live(ct, p, id, expiry(NULL), 0, pairs);
}

static int64_t number(const char *text)
{
    return text ? strtoll(text, NULL, 10) : 0;
}

/* A hash's (field, value, ...) array into *out. */
static void read_hash(apr_pool_t *p, const cb_redis_reply *hash, ct_live *out)
{
    size_t n = cb_redis_reply_count(hash);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *field = cb_redis_reply_strdup(p, cb_redis_reply_element(hash, i));
        const char *value = cb_redis_reply_strdup(p, cb_redis_reply_element(hash, i + 1));
        if (!field || !value)
            continue;
        out->known = 1;
        if (strcmp(field, "status") == 0)
            out->status = value;
        else if (strcmp(field, "status_at") == 0)
            out->status_at = number(value);
        else if (strcmp(field, "health_at") == 0)
            out->health_at = number(value);
        else if (strcmp(field, "healthy") == 0)
            out->healthy = strcmp(value, "1") == 0;
        else if (strcmp(field, "tasks_running") == 0)
            out->tasks_running = number(value);
        else if (strcmp(field, "task_started_at") == 0)
            out->task_started_at = number(value);
        else if (strcmp(field, "task_ended_at") == 0)
            out->task_ended_at = number(value);
    }
}

int ct_live_read(ct_plugin *ct, apr_pool_t *p, const ct_record *records, int count,
                 ct_live *out)
{
    const char **argv;
    const cb_redis_reply *reply;
    memset(out, 0, sizeof(*out) * (size_t)(count > 0 ? count : 0));
    if (!ct->redis || count <= 0)
        return 0;
    argv = apr_palloc(p, sizeof(*argv) * (size_t)count);
    for (int i = 0; i < count; i++)
        argv[i] = live_key(p, ct, records[i].id);
    if (cb_redis_eval(ct->redis, p, &read_script, count, count, argv, NULL, &reply) !=
            APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return 0;
    for (int i = 0; i < count; i++)
        read_hash(p, cb_redis_reply_element(reply, (size_t)i), &out[i]);
    return 1;
}

static void set_time(cb_json *o, const char *key, int64_t ms)
{
    if (ms > 0)
        cb_json_set_int(o, key, ms);
    else
        cb_json_set_null(o, key);
}

void ct_live_to_json(apr_pool_t *p, cb_json *o, const ct_live *l)
{
    cb_json *health, *tasks;
    if (!l || !l->known) {
        cb_json_set_null(o, "statusUpdatedAt");
        cb_json_set_null(o, "lastHealthCheck");
        cb_json_set_null(o, "tasks");
        return;
    }
    if (l->status)
        cb_json_set_string(o, "status", l->status);
    set_time(o, "statusUpdatedAt", l->status_at);
    if (l->health_at > 0) {
        health = cb_json_new_object(p);
        cb_json_set_int(health, "checkedAt", l->health_at);
        cb_json_set_bool(health, "healthy", l->healthy);
        cb_json_set(o, "lastHealthCheck", health);
    } else {
        cb_json_set_null(o, "lastHealthCheck");
    }
    tasks = cb_json_new_object(p);
    cb_json_set_int(tasks, "running", l->tasks_running);
    set_time(tasks, "lastStartedAt", l->task_started_at);
    set_time(tasks, "lastEndedAt", l->task_ended_at);
    cb_json_set(o, "tasks", tasks);
}
