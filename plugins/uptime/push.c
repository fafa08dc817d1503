/*
 * push.c: push monitors. A service calls GET /api/push/{token}?status=up&
 * msg=...&ping=MS; the route keeps the last push in Redis (any node may
 * answer it), and the scheduler judges the monitor from it: DOWN-bound when
 * the last push said status=down or when no push came within the interval.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/values.h"
#include "uptime.h"

static const up_monitor *find_push_monitor(up_plugin *up, const char *token)
{
    for (int i = 0; token && i < up->monitors->nelts; i++) {
        const up_monitor *m = &APR_ARRAY_IDX(up->monitors, i, up_monitor);
        if (m->kind == UP_KIND_PUSH && strcmp(m->push_token, token) == 0)
            return m;
    }
    return NULL;
}

static const char *push_key(apr_pool_t *p, up_plugin *up, const up_monitor *m)
{
    return cb_redis_key(p, up->env, "uptime", "push", m->name, NULL);
}

cb_status up_push_route(cb_req *req, void *plugin_state)
{
    up_plugin *up = plugin_state;
    apr_pool_t *p = cb_req_pool(req);
    const up_monitor *m = find_push_monitor(up, cb_req_param(req, "token"));
    const char *status = cb_req_query_param(req, "status");
    const char *msg = cb_req_query_param(req, "msg");
    const char *ping = cb_req_query_param(req, "ping");
    const char *now, *argv[11];
    const cb_redis_reply *reply;
    int64_t ping_ms = -1;
    if (!m || m->maintenance)
        return cb_req_send_json(req, 404, "{\"ok\":false,\"msg\":\"Monitor not found or not active.\"}");
    if (status && strcmp(status, "up") != 0 && strcmp(status, "down") != 0)
        return cb_req_send_json(req, 400, "{\"ok\":false,\"msg\":\"status is up or down\"}");
    if (ping && *ping && (cb_parse_int(ping, &ping_ms) || ping_ms < 0 || ping_ms > 3600000))
        return cb_req_send_json(req, 400, "{\"ok\":false,\"msg\":\"ping is milliseconds, 0 to 3600000\"}");
    if (!up->redis)
        return cb_req_send_json(req, 503, "{\"ok\":false,\"msg\":\"push monitors need CloudBaseRedis\"}");
    now = apr_psprintf(p, "%" APR_INT64_T_FMT, (int64_t)apr_time_as_msec(apr_time_now()));
    argv[0] = "HSET";
    argv[1] = push_key(p, up, m);
    argv[2] = "at";
    argv[3] = now;
    argv[4] = "status";
    argv[5] = status ? status : "up";
    argv[6] = "msg";
    argv[7] = msg ? apr_pstrndup(p, msg, 200) : "";
    argv[8] = "ping";
    argv[9] = apr_psprintf(p, "%" APR_INT64_T_FMT, ping_ms);
    if (cb_redis_command(up->redis, p, 10, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) == CB_REDIS_REPLY_ERROR)
        return cb_req_send_json(req, 503, "{\"ok\":false,\"msg\":\"the push could not be stored; try again\"}");
    return cb_req_send_json(req, 200, "{\"ok\":true}");
}

const char *up_push_evaluate(up_plugin *up, apr_pool_t *p, const up_monitor *m, int64_t now_ms,
                             up_result *out)
{
    const char *argv[2] = {"HGETALL", push_key(p, up, m)};
    const cb_redis_reply *reply;
    int64_t at = 0, ping = -1;
    const char *status = "up", *msg = "";
    out->ok = 0;
    if (!up->redis || cb_redis_command(up->redis, p, 2, argv, NULL, &reply) != APR_SUCCESS ||
        cb_redis_reply_kind(reply) != CB_REDIS_REPLY_ARRAY) {
        out->message = "the last push cannot be read (Redis unavailable)";
        return out->message;
    }
    for (size_t i = 0; i + 1 < cb_redis_reply_count(reply); i += 2) {
        const char *k = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i));
        const char *v = cb_redis_reply_strdup(p, cb_redis_reply_element(reply, i + 1));
        if (!k || !v)
            continue;
        if (strcmp(k, "at") == 0)
            cb_parse_int(v, &at);
        else if (strcmp(k, "status") == 0)
            status = v;
        else if (strcmp(k, "msg") == 0)
            msg = v;
        else if (strcmp(k, "ping") == 0)
            cb_parse_int(v, &ping);
    }
    if (at == 0 || now_ms - at > m->interval_ms) {
        out->message = "no push within the interval";
        return out->message;
    }
    out->latency_ms = ping >= 0 ? ping : 0;
    if (strcmp(status, "down") == 0) {
        out->message = *msg ? apr_pstrcat(p, "pushed down: ", msg, NULL) : "pushed down";
        return out->message;
    }
    out->ok = 1;
    out->message = msg;
    return NULL;
}
