/*
 * notify.h: the notifier, a core service that sends alerts (a monitor went
 * DOWN or UP, a balance ran low) to Discord webhooks, e-mail over SMTP and
 * generic JSON webhooks signed with HMAC-SHA256 (docs/notifications.md).
 *
 * A plugin declares the channels as list lines (its own CB_OPT_LIST option,
 * conventionally `notify`), creates one notifier from create() and calls
 * cb_notify from anywhere (a request, a background task). cb_notify only
 * writes to Redis: the message goes on the durable queue (cloudbase/queue.h)
 * and the notifier's own background task delivers it to every channel,
 * with retries and exponential backoff, Discord's 429 honoured, a webhook
 * answering 404 disabled, repeats per source capped and messages of one
 * kind that arrive within the grouping window sent as one message. A
 * message is delivered at least once per channel: a node killed during a
 * delivery leaves it in flight, and it is delivered again once its
 * visibility deadline passes.
 *
 *   const cb_notify_message m = {.kind = CB_NOTIFY_DOWN, .source = "api",
 *       .url = "https://api.example.com/health", .detail = "HTTP 503",
 *       .ping_ms = -1, .idempotency_key = "api:down:1733050000"};
 *   cb_notify(notifier, pool, &m, NULL);
 */
#ifndef CLOUDBASE_NOTIFY_H
#define CLOUDBASE_NOTIFY_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "cloudbase/export.h"
#include "cloudbase/cloudbase.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_notifier cb_notifier;

typedef enum {
    CB_NOTIFY_DOWN = 1,   /* red embed, "is DOWN" */
    CB_NOTIFY_UP = 2,     /* green embed, "is UP" */
    CB_NOTIFY_INFO = 3    /* neutral (reminders, balance alerts) */
} cb_notify_kind;

typedef struct cb_notify_message {
    cb_notify_kind kind;
    const char *source;          /* what it is about (a monitor's name): caps and grouping */
    const char *title;           /* NULL: "<source> is DOWN" / "is UP" */
    const char *url;             /* the monitored URL, or NULL */
    const char *detail;          /* the error (DOWN), the downtime (UP), or the text */
    int64_t ping_ms;             /* response time; -1 when there is none */
    apr_time_t at;               /* when it happened; 0 = now */
    const char *idempotency_key; /* required: a repeat within 24 h is not sent again */
} cb_notify_message;

/* Settings of one notifier; zero members take the defaults. */
typedef struct cb_notifier_config {
    const apr_array_header_t *channels; /* cb_option_item lines (cb_opt_list) */
    int64_t group_window_ms;     /* default 2000; messages of one kind in one window go as one */
    int max_per_source;          /* default 10 messages per source per cap window */
    int64_t cap_window_ms;       /* default 3600000 */
    int max_attempts;            /* default 8, then the dead-letter list */
    int64_t backoff_base_ms;     /* default 1000, doubled per attempt, capped at 5 min */
    int64_t visibility_ms;       /* in-flight deadline of a delivery, default 30000 */
    int require_https;           /* 1: refuse http:// webhooks and tls=off mail servers */
} cb_notifier_config;

/* From create(): parses the channel lines (errors are configuration errors
 * naming the line) and registers the delivery task. name keeps notifiers
 * of several plugins apart in Redis. NULL after an error, or when the
 * environment has no Redis (also a configuration error). */
CB_API cb_notifier *cb_notifier_create(cb_plugin_ctx *ctx, const char *name,
                                       const cb_notifier_config *cfg);

typedef enum {
    CB_NOTIFY_QUEUED = 0,        /* on the queue */
    CB_NOTIFY_DUPLICATE = 1,     /* the idempotency key was seen: nothing new queued */
    CB_NOTIFY_CAPPED = 2         /* the source reached its cap: dropped (logged once per window) */
} cb_notify_outcome;

/* Queues m for every channel (a notifier without channels accepts and
 * drops it; see cb_notify_to for destinations of one message). APR_SUCCESS with *outcome (may be NULL);
 * APR_EINVAL without an idempotency key or source; CB_REDIS_EDOWN when
 * Redis is down (nothing was queued: the caller retries on its next run). */
CB_API apr_status_t cb_notify(cb_notifier *n, apr_pool_t *p, const cb_notify_message *m,
                              cb_notify_outcome *outcome);

/* Destinations of one message on top of the notifier's channels (a
 * monitor's own Discord webhook and address, say). NULL members: none. */
typedef struct cb_notify_destinations {
    const char *discord_url;     /* a Discord webhook URL (http(s)://) */
    const char *discord_username; /* the name its messages show; NULL: "CloudBase Notifier" */
    const char *discord_private; /* CIDR text: loopback/private ranges discord_url may reach;
                                  * NULL: public addresses only */
    const char *email_to;        /* one address; sent through the notifier's first email
                                  * channel (its server, sender, credentials and TLS) */
} cb_notify_destinations;

/* cb_notify, and also to the destinations in to (may be NULL). Messages of
 * one kind for one destination are grouped like a channel's; a Discord
 * destination that answers 404 is disabled like a channel. APR_EINVAL as
 * cb_notify, and for a destination URL or address that is not one (or a
 * URL the outbound guard refuses outright); an email_to without an email
 * channel is dropped with a warning in the log. */
CB_API apr_status_t cb_notify_to(cb_notifier *n, apr_pool_t *p, const cb_notify_message *m,
                                 const cb_notify_destinations *to, cb_notify_outcome *outcome);

#ifdef __cplusplus
}
#endif
#endif
