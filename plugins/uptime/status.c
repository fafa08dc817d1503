/*
 * status.c: the public status JSON (status_json, default
 * /uptime/status.json): per monitor its state, last check, latency and
 * uptime over the recent checks kept in Redis (uptime % for 24 h, average
 * and p95 latency), the overall status and the latest transitions
 * ("events", newest first). Monitor URLs and push tokens never appear:
 * the page is public by default and URLs may name internal hosts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/json.h"
#include "cloudbase/values.h"
#include "uptime.h"

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int up_recent_stats(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t since_ms,
                    double *uptime_pct, int64_t *avg_ms, int64_t *p95_ms)
{
    const char *argv[4] = {"LRANGE", cb_redis_key(p, up->env, "uptime", "checks", m->name, NULL),
                           "0", "-1"};
    const cb_redis_reply *reply;
    size_t n, used = 0, ups = 0;
    int64_t *latencies, sum = 0;
    *uptime_pct = -1;
    *avg_ms = *p95_ms = -1;
    if (!up->redis || cb_redis_command(up->redis, p, 4, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return 0;
    n = cb_redis_reply_count(reply);
    latencies = apr_pcalloc(p, sizeof(int64_t) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        const char *entry = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i));
        long long at, latency;
        int ok;
        long code;
        if (!entry || sscanf(entry, "%lld %d %lld %ld", &at, &ok, &latency, &code) != 4)
            continue;
        if (at < since_ms)
            break; /* newest first */
        used++;
        if (ok) {
            ups++;
            latencies[ups - 1] = latency;
            sum += latency;
        }
    }
    if (used == 0)
        return 1;
    *uptime_pct = 100.0 * (double)ups / (double)used;
    if (ups) {
        qsort(latencies, ups, sizeof(int64_t), compare_i64);
        *avg_ms = sum / (int64_t)ups;
        *p95_ms = latencies[(ups * 95 + 99) / 100 - 1];
    }
    return 1;
}

const char *up_state_field(up_plugin *up, apr_pool_t *p, const char *monitor, const char *field)
{
    const char *argv[3] = {"HGET", cb_redis_key(p, up->env, "uptime", "state", monitor, NULL),
                           field};
    const cb_redis_reply *reply;
    if (!up->redis || cb_redis_command(up->redis, p, 3, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_STRING)
        return NULL;
    return cb_redis_reply_strdup(p, reply);
}

static cb_json *monitor_json(up_plugin *up, apr_pool_t *p, const up_monitor *m,
                             int64_t now_ms, up_status *status)
{
    cb_json *o = cb_json_new_object(p);
    const char *v;
    int64_t n;
    double pct;
    int64_t avg, p95;
    *status = UP_STATUS_PENDING;
    if ((v = up_state_field(up, p, m->name, "status")) && !cb_parse_int(v, &n) && n >= 0 &&
        n <= UP_STATUS_MAINTENANCE)
        *status = (up_status)n;
    if (m->maintenance)
        *status = UP_STATUS_MAINTENANCE;
    cb_json_set_string(o, "name", m->name);
    cb_json_set_string(o, "type", m->kind == UP_KIND_HTTP ? "http"
                                  : m->kind == UP_KIND_TCP ? "tcp" : "push");
    cb_json_set_string(o, "status", up_status_name(*status));
    cb_json_set_int(o, "check_interval_sec", m->interval_ms / 1000);
    if ((v = up_state_field(up, p, m->name, "last_checked_at")) && !cb_parse_int(v, &n))
        cb_json_set_int(o, "last_checked_at", n);
    else
        cb_json_set_null(o, "last_checked_at");
    if ((v = up_state_field(up, p, m->name, "last_response_ms")) && !cb_parse_int(v, &n))
        cb_json_set_int(o, "last_response_ms", n);
    else
        cb_json_set_null(o, "last_response_ms");
    if ((v = up_state_field(up, p, m->name, "last_message")))
        cb_json_set_string(o, "message", v);
    up_recent_stats(up, p, m, now_ms - 24 * 3600 * 1000LL, &pct, &avg, &p95);
    if (pct >= 0)
        cb_json_set_real(o, "uptime_24h", pct);
    else
        cb_json_set_null(o, "uptime_24h");
    if (avg >= 0) {
        cb_json_set_int(o, "avg_response_ms", avg);
        cb_json_set_int(o, "p95_response_ms", p95);
    }
    return o;
}

/* The latest transitions (newest first), as notify.c stored them. */
static cb_json *recent_events(up_plugin *up, apr_pool_t *p, int count)
{
    cb_json *list = cb_json_new_array(p);
    const char *argv[4] = {"LRANGE", cb_redis_key(p, up->env, "uptime", "events", NULL), "0",
                           apr_psprintf(p, "%d", count - 1)};
    const cb_redis_reply *reply;
    if (!up->redis || cb_redis_command(up->redis, p, 4, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY)
        return list;
    for (size_t i = 0; i < cb_redis_reply_count(reply); i++) {
        size_t len;
        const char *text = cb_redis_reply_bytes(cb_redis_reply_element(reply, i), &len);
        cb_json *event = text ? cb_json_parse(p, text, len, NULL) : NULL;
        if (event)
            cb_json_append(list, event);
    }
    return list;
}

/* The whole JSON, as the cache keeps it. */
static const char *render_json(up_plugin *up, apr_pool_t *p, const void *baton, size_t *len)
{
    const char *text;
    int64_t now_ms = (int64_t)apr_time_as_msec(apr_time_now());
    cb_json *root = cb_json_new_object(p), *list = cb_json_new_array(p);
    int down = 0, pending = 0;
    for (int i = 0; i < up->monitors->nelts; i++) {
        const up_monitor *m = &APR_ARRAY_IDX(up->monitors, i, up_monitor);
        up_status s;
        cb_json_append(list, monitor_json(up, p, m, now_ms, &s));
        down += s == UP_STATUS_DOWN;
        pending += s == UP_STATUS_PENDING;
    }
    cb_json_set_string(root, "overall", down ? (down == up->monitors->nelts ? "down" : "degraded")
                                        : pending ? "pending" : "up");
    cb_json_set(root, "monitors", list);
    cb_json_set(root, "events", recent_events(up, p, 50));
    (void)baton;
    text = cb_json_dump(p, root);
    *len = strlen(text);
    return text;
}

cb_status up_status_json(cb_req *req, void *plugin_state)
{
    cb_req_set_header(req, "Content-Type", "application/json");
    cb_req_set_header(req, "Cache-Control", "no-cache");
    return up_status_cache_serve(plugin_state, req, "json", render_json, NULL);
}
