/*
 * notify.c: the uptime plugin's notifier interface. up_on_transition is
 * called once per confirmed transition (to DOWN; to UP after DOWN) and per
 * reminder while DOWN, never for PENDING or MAINTENANCE. Until the core's
 * notifier service exists it logs the transition and appends it to the
 * environment's event list in Redis (cb:{ENV}:uptime:events, newest first,
 * capped); the notifier is wired in here and nowhere else
 * (docs/plugins/uptime.md, "Notifications").
 */
#include <apr_strings.h>

#include "cloudbase/json.h"
#include "cloudbase/log.h"
#include "uptime.h"

#define UP_EVENTS_KEPT 1000

static const char *kind_name(up_notify_kind kind)
{
    switch (kind) {
    case UP_NOTIFY_DOWN: return "down";
    case UP_NOTIFY_UP: return "up";
    case UP_NOTIFY_REMINDER: return "reminder";
    default: return "none";
    }
}

void up_on_transition(up_plugin *up, apr_pool_t *p, const up_transition *t)
{
    cb_json *event = cb_json_new_object(p);
    const char *key = cb_redis_key(p, up->env, "uptime", "events", NULL);
    const char *push[3], *trim[4];
    const cb_redis_reply *reply;
    cb_json_set_string(event, "monitor", t->monitor->name);
    cb_json_set_string(event, "kind", kind_name(t->kind));
    cb_json_set_string(event, "from", up_status_name(t->from));
    cb_json_set_string(event, "to", up_status_name(t->to));
    cb_json_set_int(event, "at", t->at_ms);
    cb_json_set_int(event, "down_for_ms", t->down_for_ms);
    cb_json_set_int(event, "ping_ms", t->result->latency_ms);
    cb_json_set_string(event, "message", t->result->message ? t->result->message : "");
    cb_log(CB_LOG_NOTICE, "uptime: env %s: monitor %s %s (%s -> %s)%s%s", up->env,
           t->monitor->name, kind_name(t->kind), up_status_name(t->from), up_status_name(t->to),
           t->result->message && *t->result->message ? ": " : "",
           t->result->message ? t->result->message : "");
    if (!up->redis)
        return;
    push[0] = "LPUSH";
    push[1] = key;
    push[2] = cb_json_dump(p, event);
    trim[0] = "LTRIM";
    trim[1] = key;
    trim[2] = "0";
    trim[3] = apr_psprintf(p, "%d", UP_EVENTS_KEPT - 1);
    if (cb_redis_command(up->redis, p, 3, push, NULL, &reply) == APR_SUCCESS)
        cb_redis_command(up->redis, p, 4, trim, NULL, &reply);
}
