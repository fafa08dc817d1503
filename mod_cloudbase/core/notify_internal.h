/*
 * notify_internal.h: what the notifier's files share (include/cloudbase/
 * notify.h is the public side): a parsed channel, a message as stored on
 * the queue, the pure builders of what goes on the wire (Discord JSON, the
 * signed webhook body, the MIME mail) and the Retry-After parser. The
 * builders and parsers take no Redis and no network, so the unit suite
 * notify and tests/fuzz/fuzz_notify drive them directly.
 */
#ifndef CB_NOTIFY_INTERNAL_H
#define CB_NOTIFY_INTERNAL_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/http.h"
#include "cloudbase/json.h"
#include "cloudbase/notify.h"

typedef enum { CB_CHANNEL_DISCORD = 1, CB_CHANNEL_WEBHOOK, CB_CHANNEL_EMAIL } cb_channel_type;
typedef enum { CB_SMTP_TLS_STARTTLS = 0, CB_SMTP_TLS_REQUIRED, CB_SMTP_TLS_OFF } cb_smtp_tls;

typedef struct cb_notify_channel {
    cb_channel_type type;
    const char *name;
    const char *url;               /* webhook URL, or smtp(s)://host:port */
    const char *username;          /* Discord's display name */
    const char *secret;            /* webhook HMAC key (never logged) */
    const char *from;              /* e-mail */
    const apr_array_header_t *to;  /* const char *, e-mail */
    const char *smtp_user;
    const char *smtp_password;     /* never logged */
    cb_smtp_tls tls;
    const char *ca_file;           /* CA bundle for the mail server's certificate, or NULL */
    const cb_cidr_list *allowed_private;
} cb_notify_channel;

/* Parses one channel line (docs/notifications.md):
 *   discord NAME URL [username=TEXT] [private=CIDRS]
 *   webhook NAME URL secret=SECRET [private=CIDRS]
 *   email NAME smtp://HOST:PORT from=ADDR to=ADDR[,ADDR] [user=NAME]
 *         [password=SECRET] [tls=starttls|required|off] [ca=PATH] [private=CIDRS]
 * SECRET is file:PATH, env:NAME or a literal. NULL, or what is wrong (never
 * holding a secret). */
const char *cb_notify_channel_parse(apr_pool_t *p, const char *line, cb_notify_channel *out);

/* 1 when a is "user@host" without blanks, controls or the characters
 * that would change an SMTP command or a header. */
int cb_notify_address_ok(const char *a);
/* A webhook URL: an http(s) URL the outbound guard does not refuse by its
 * name or, when written as an address, by that address (allowed: the
 * private ranges it may reach). NULL, or what is wrong. */
const char *cb_notify_check_web_url(apr_pool_t *p, const char *url, const cb_cidr_list *allowed);

/* A message as stored on the queue: cb_notify_message with its time fixed. */
typedef struct cb_notify_item {
    cb_notify_kind kind;
    const char *source, *title, *url, *detail;
    int64_t ping_ms;
    int64_t at_unix;  /* seconds */
} cb_notify_item;

cb_json *cb_notify_item_to_json(apr_pool_t *p, const cb_notify_item *item);
/* 0 when the object is not a stored message. */
int cb_notify_item_from_json(const cb_json *obj, cb_notify_item *out);
/* The title a message shows: its own, or "<source> is DOWN/UP". */
const char *cb_notify_item_title(apr_pool_t *p, const cb_notify_item *item);

/* Discord's execute-webhook body: username and one embed; one message gets
 * Uptime Kuma's fields (service, URL, time, error or downtime, ping), a
 * group gets one field per message (at most 25, then "and N more"). */
const char *cb_notify_discord_body(apr_pool_t *p, const char *username,
                                   const cb_notify_item *items, int count);
/* The generic webhook's body: {"kind", "count", "messages": [...]}. */
const char *cb_notify_webhook_body(apr_pool_t *p, const cb_notify_item *items, int count);
/* "sha256=" + hex HMAC-SHA256(key, timestamp "." body): the value of
 * X-CloudBase-Signature, timestamp going in X-CloudBase-Timestamp. */
const char *cb_notify_webhook_signature(apr_pool_t *p, const char *key, int64_t timestamp,
                                        const char *body, size_t body_len);
/* The whole mail (headers and a multipart/alternative body with a
 * text/plain and a text/html part), CRLF line ends. boundary must be
 * unique; message_id without the angle brackets. */
const char *cb_notify_mail(apr_pool_t *p, const cb_notify_channel *ch, const cb_notify_item *items,
                           int count, int64_t date_unix, const char *message_id,
                           const char *boundary);

/* How long a 429 asks to wait, in ms: the larger of the Retry-After header
 * (delta seconds, fractions allowed) and the body's JSON retry_after
 * (float seconds), capped at one hour; -1 when neither says. */
int64_t cb_notify_retry_after_ms(const char *header, const char *body, size_t body_len);

/* Sends one mail over SMTP with libcurl. NULL, or why not (for the log). */
const char *cb_notify_smtp_send(apr_pool_t *p, const cb_notify_channel *ch, const char *mail,
                                size_t mail_len, int64_t timeout_ms);

#endif
