/*
 * notify.c: the uptime plugin's side of the core notifier. up_on_transition
 * is called once per confirmed transition (to DOWN; to UP after DOWN) and
 * per reminder while DOWN, never for PENDING or MAINTENANCE. It logs the
 * transition, appends it to the environment's event list in Redis
 * (cb:{ENV}:uptime:events, newest first, capped; the status JSON's events)
 * and hands it to the plugin's notifier (its `notify` channel lines, and
 * the monitor's own discord_webhook_url and notify_email) as an
 * Uptime Kuma-style message whose idempotency key names the monitor, the
 * transition and the slot it happened in, so that a node that takes a
 * monitor over, or a second report of the same transition, sends nothing
 * twice. See docs/plugins/uptime.md, "Notifications".
 */
#include <string.h>

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

const char *up_duration_text(apr_pool_t *p, int64_t ms)
{
    static const struct { const char *unit; int64_t seconds; } units[] = {
        {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
    int64_t left = ms < 0 ? 0 : ms / 1000;
    const char *text = "";
    int shown = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && shown < 3; i++) {
        int64_t n = left / units[i].seconds;
        if (n == 0 && !shown)
            continue;
        left -= n * units[i].seconds;
        text = apr_psprintf(p, "%s%s%" APR_INT64_T_FMT "%s", text, shown ? " " : "",
                            (apr_int64_t)n, units[i].unit);
        shown++;
    }
    return shown ? text : "0s";
}

/* What went wrong, for the message: the check's own words, else the
 * status code. */
static const char *error_text(apr_pool_t *p, const up_result *r)
{
    if (r->message && *r->message)
        return r->message;
    if (r->status_code)
        return apr_psprintf(p, "HTTP %ld", r->status_code);
    return "the check failed";
}

void up_notify_message(apr_pool_t *p, const up_transition *t, cb_notify_message *out)
{
    const up_monitor *m = t->monitor;
    int64_t slot = up_slot_start_ms(m, t->at_ms);
    memset(out, 0, sizeof(*out));
    out->source = m->name;
    /* a push monitor's URL is its token: never sent */
    out->url = m->kind == UP_KIND_PUSH ? NULL : m->url;
    out->ping_ms = t->result->latency_ms > 0 ? t->result->latency_ms : -1;
    out->at = apr_time_from_msec(t->at_ms);
    out->idempotency_key = apr_psprintf(p, "uptime:%s:%s:%" APR_INT64_T_FMT, m->name,
                                        kind_name(t->kind), (apr_int64_t)slot);
    switch (t->kind) {
    case UP_NOTIFY_UP:
        out->kind = CB_NOTIFY_UP;
        out->detail = up_duration_text(p, t->down_for_ms);
        break;
    case UP_NOTIFY_REMINDER:
        /* Uptime Kuma resends the DOWN message: red, with how long so far */
        out->kind = CB_NOTIFY_DOWN;
        out->title = apr_pstrcat(p, m->name, " is still DOWN", NULL);
        out->detail = apr_pstrcat(p, error_text(p, t->result), " (down for ",
                                  up_duration_text(p, t->down_for_ms), ")", NULL);
        break;
    default:
        out->kind = CB_NOTIFY_DOWN;
        out->detail = error_text(p, t->result);
        break;
    }
}

/* Hands the transition to the notifier. When Redis cannot take it the
 * message is lost (logged): the state machine's own state is in Redis
 * too, so a transition seen while Redis is down is not remembered either. */
static void send_notification(up_plugin *up, apr_pool_t *p, const up_transition *t)
{
    const up_monitor *m = t->monitor;
    cb_notify_message message;
    cb_notify_destinations to = {.discord_url = m->discord_webhook_url,
                                 .discord_username = "Uptime",
                                 /* a URL set through the API reaches public addresses only */
                                 .discord_private = m->from_api ? NULL : up->allow_private_text,
                                 .email_to = m->notify_email};
    cb_notify_outcome outcome;
    apr_status_t rv;
    if (!up->notifier)
        return;
    up_notify_message(p, t, &message);
    rv = cb_notify_to(up->notifier, p, &message, &to, &outcome);
    if (rv == APR_EINVAL)
        cb_log(CB_LOG_WARNING, "uptime: env %s: the %s notification of monitor %s was not sent: "
               "its discord_webhook_url or notify_email is refused", up->env,
               kind_name(t->kind), m->name);
    else if (rv != APR_SUCCESS)
        cb_log(CB_LOG_WARNING, "uptime: env %s: the %s notification of monitor %s could not be "
               "queued (Redis unavailable); it is not sent", up->env, kind_name(t->kind),
               m->name);
}

static void keep_event(up_plugin *up, apr_pool_t *p, const up_transition *t)
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

void up_on_transition(up_plugin *up, apr_pool_t *p, const up_transition *t)
{
    cb_log(CB_LOG_NOTICE, "uptime: env %s: monitor %s %s (%s -> %s)%s%s", up->env,
           t->monitor->name, kind_name(t->kind), up_status_name(t->from), up_status_name(t->to),
           t->result->message && *t->result->message ? ": " : "",
           t->result->message ? t->result->message : "");
    if (up->redis)
        keep_event(up, p, t);
    up_status_cache_invalidate(up->status_cache);
    send_notification(up, p, t);
}
