/*
 * cert_warning.c: the TLS certificate expiry warning of an https monitor
 * (`expiry_warning=14,7`). A check that read its peer certificate and
 * finds it within the largest threshold says so in its message (the
 * status JSON's `message`, with the check still UP), and the most urgent
 * threshold crossed is announced once per certificate through the
 * notifier: remembered per node, and across nodes and restarts in Redis
 * (cb:{ENV}:uptime:certwarn:NAME:CERT:DAYS, SET NX until the certificate
 * expires), so one warning goes out per certificate per threshold, not
 * one per check, and a renewed certificate starts afresh.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "cloudbase/log.h"
#include "cloudbase/values.h"
#include "uptime.h"

#define DAY_MS (86400 * 1000LL)

/* Whole days left (negative once expired). */
static int64_t days_left(const up_result *r, int64_t now_ms)
{
    int64_t left = r->cert_expires_ms - now_ms;
    return left >= 0 ? left / DAY_MS : -((-left + DAY_MS - 1) / DAY_MS);
}

/* The smallest threshold (days) the certificate expires within, or -1. */
static int crossed_threshold(const up_monitor *m, const up_result *r, int64_t now_ms)
{
    int crossed = -1;
    if (!m->expiry_warning_count || !r->cert_expires_ms)
        return -1;
    for (int i = 0; i < m->expiry_warning_count; i++)
        if (r->cert_expires_ms - now_ms < m->expiry_warning_days[i] * DAY_MS &&
            (crossed < 0 || m->expiry_warning_days[i] < crossed))
            crossed = m->expiry_warning_days[i];
    return crossed;
}

static const char *date_text(apr_pool_t *p, int64_t ms)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_msec(ms));
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d UTC", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min);
}

static const char *left_text(apr_pool_t *p, int64_t left)
{
    if (left < 0)
        return "has expired";
    if (left == 0)
        return "expires within a day";
    return apr_psprintf(p, "expires in %" APR_INT64_T_FMT " day%s", (apr_int64_t)left,
                        left == 1 ? "" : "s");
}

const char *up_cert_warning_text(apr_pool_t *p, const up_monitor *m, const up_result *r,
                                 int64_t now_ms)
{
    if (crossed_threshold(m, r, now_ms) < 0)
        return NULL;
    return apr_psprintf(p, "TLS certificate %s (%s)", left_text(p, days_left(r, now_ms)),
                        date_text(p, r->cert_expires_ms));
}

/* 1 when this node or, with Redis, any node announced this certificate's
 * threshold before; else remembers it. */
static int announced_before(up_plugin *up, apr_pool_t *p, const up_monitor *m, up_runtime *rt,
                            const up_result *r, int threshold, int64_t now_ms)
{
    char id[64];
    const char *key, *ttl;
    const cb_redis_reply *reply;
    uint64_t hash = cb_fnv1a(CB_FNV1A_INIT, r->cert_id, strlen(r->cert_id));
    snprintf(id, sizeof(id), "%016llx:%d", (unsigned long long)hash, threshold);
    if (strcmp(rt->warned_cert, id) == 0)
        return 1;
    apr_cpystrn(rt->warned_cert, id, sizeof(rt->warned_cert));
    if (!up->redis)
        return 0;
    key = cb_redis_key(p, up->env, "uptime", "certwarn", m->name, id, NULL);
    /* kept until a day after the certificate expires (at least a day) */
    ttl = apr_psprintf(p, "%" APR_INT64_T_FMT,
                       (apr_int64_t)((r->cert_expires_ms > now_ms ? r->cert_expires_ms - now_ms
                                                                   : 0) + DAY_MS));
    {
        const char *argv[] = {"SET", key, "1", "NX", "PX", ttl};
        if (cb_redis_command(up->redis, p, 6, argv, NULL, &reply) != APR_SUCCESS)
            return 0; /* Redis down: this node's memory decides */
        return cb_redis_reply_kind(reply) == CB_REDIS_REPLY_NIL;
    }
}

void up_cert_warning_notify(up_plugin *up, apr_pool_t *p, const up_monitor *m, up_runtime *rt,
                            const up_result *r, int64_t now_ms)
{
    int threshold = crossed_threshold(m, r, now_ms);
    int64_t left;
    cb_notify_message message;
    cb_notify_destinations to;
    cb_url url;
    const char *host = cb_parse_url(p, m->url, &url) ? m->name : url.host;
    if (threshold < 0 || !r->cert_id || announced_before(up, p, m, rt, r, threshold, now_ms))
        return;
    left = days_left(r, now_ms);
    cb_log(CB_LOG_NOTICE, "uptime: env %s: monitor %s: the TLS certificate %s (%s)", up->env,
           m->name, left_text(p, left), date_text(p, r->cert_expires_ms));
    if (!up->notifier)
        return;
    memset(&message, 0, sizeof(message));
    message.kind = CB_NOTIFY_INFO;
    message.source = m->name;
    message.title = apr_psprintf(p, "%s: TLS certificate %s", m->name, left_text(p, left));
    message.url = m->url;
    message.detail = apr_psprintf(p, "The certificate of %s %s, on %s (warning at %d days).",
                                  host, left < 0 ? "expired" : "expires",
                                  date_text(p, r->cert_expires_ms), threshold);
    message.ping_ms = -1;
    message.at = apr_time_from_msec(now_ms);
    message.idempotency_key = apr_psprintf(p, "uptime:%s:cert:%s", m->name, rt->warned_cert);
    memset(&to, 0, sizeof(to));
    to.discord_url = m->discord_webhook_url;
    to.discord_username = "Uptime";
    to.discord_private = m->from_api ? NULL : up->allow_private_text;
    to.email_to = m->notify_email;
    if (cb_notify_to(up->notifier, p, &message, &to, NULL) != APR_SUCCESS)
        cb_log(CB_LOG_WARNING, "uptime: env %s: the certificate warning of monitor %s could not "
                               "be queued; it is not sent", up->env, m->name);
}
