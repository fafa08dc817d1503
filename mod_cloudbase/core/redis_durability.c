/*
 * redis_durability.c: whether the Redis server keeps the gateway's data.
 * Users, API keys and sessions live only in Redis, so /health warns when
 * Redis runs without AOF persistence (appendonly no) or with a
 * maxmemory-policy that evicts keys. One INFO command answers both; each
 * process asks at most once per DURABILITY_RECHECK_SECONDS and reuses the
 * answer in between, so /health costs no extra round trip most of the time.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <hiredis.h>

#include "cb_core.h"

#define DURABILITY_RECHECK_SECONDS 60

struct cb_redis_durability {
    apr_thread_mutex_t *lock;
    apr_time_t checked_at;        /* 0: never asked */
    int asking;                   /* one thread is asking Redis */
    cb_redis_info info;           /* from the last INFO answer */
};

cb_redis_durability *cb_redis_durability_create(apr_pool_t *p)
{
    cb_redis_durability *d = apr_pcalloc(p, sizeof(*d));
    apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, p);
    return d;
}

/* The value of "name:" at the start of a line of an INFO answer (lines
 * "name:value\r\n"), copied into out, cut to out_size - 1 bytes; 0 when
 * absent. */
static int info_field(const char *info, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    for (const char *line = info; line && *line;) {
        const char *end = line + strcspn(line, "\r\n");
        if ((size_t)(end - line) > name_len && strncmp(line, name, name_len) == 0 &&
            line[name_len] == ':') {
            size_t len = (size_t)(end - line) - name_len - 1;
            if (len >= out_size)
                len = out_size - 1;
            memcpy(out, line + name_len + 1, len);
            out[len] = '\0';
            return 1;
        }
        line = end + strspn(end, "\r\n");
    }
    return 0;
}

void cb_redis_info_parse(const char *info, cb_redis_info *out)
{
    char aof[8] = "";
    memset(out, 0, sizeof(*out));
    out->known = info_field(info, "aof_enabled", aof, sizeof(aof)) &&
                 info_field(info, "maxmemory_policy", out->eviction_policy,
                            sizeof(out->eviction_policy));
    out->aof_enabled = out->known && strcmp(aof, "1") == 0;
    if (!out->known)
        out->eviction_policy[0] = '\0';
}

/* Asks Redis when the last answer is older than the recheck interval and no
 * other thread is asking. */
static void refresh(cb_redis_durability *d, cb_redis *r, apr_pool_t *p)
{
    static const char *const argv[1] = {"INFO"};
    apr_time_t now = apr_time_now();
    const cb_redis_reply *reply;
    apr_status_t rv;
    apr_thread_mutex_lock(d->lock);
    if (d->asking || (d->checked_at &&
                      now - d->checked_at < apr_time_from_sec(DURABILITY_RECHECK_SECONDS))) {
        apr_thread_mutex_unlock(d->lock);
        return;
    }
    d->asking = 1;
    apr_thread_mutex_unlock(d->lock);

    rv = cb_redis_command(r, p, 1, argv, NULL, &reply);

    apr_thread_mutex_lock(d->lock);
    d->asking = 0;
    if (rv == APR_SUCCESS) {
        /* An error answer (INFO refused by an ACL) is cached as unknown too,
         * so that it is not asked again on every request. */
        d->checked_at = now;
        if (cb_redis_reply_kind(reply) == CB_REDIS_REPLY_STRING)
            cb_redis_info_parse(cb_redis_reply_bytes(reply, NULL), &d->info);
        else
            memset(&d->info, 0, sizeof(d->info));
    }
    apr_thread_mutex_unlock(d->lock);
}

apr_array_header_t *cb_redis_durability_warnings(cb_redis_durability *d, cb_redis *r,
                                                 apr_pool_t *p)
{
    apr_array_header_t *warnings = apr_array_make(p, 2, sizeof(const char *));
    cb_redis_info info;
    refresh(d, r, p);
    apr_thread_mutex_lock(d->lock);
    info = d->info;
    apr_thread_mutex_unlock(d->lock);
    if (!info.known)
        return warnings;
    if (!info.aof_enabled)
        APR_ARRAY_PUSH(warnings, const char *) =
            "Redis runs without AOF persistence (appendonly no): users, API keys and sessions "
            "written since its last snapshot are lost when it restarts; set appendonly yes";
    if (strcmp(info.eviction_policy, "noeviction") != 0)
        APR_ARRAY_PUSH(warnings, const char *) = apr_psprintf(
            p, "Redis maxmemory-policy is %s: it may evict users, API keys and sessions when "
               "memory is full; set maxmemory-policy noeviction", info.eviction_policy);
    return warnings;
}
