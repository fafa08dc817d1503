/*
 * notify_render.c: what the notifier puts on the wire, built from stored
 * messages without any I/O: Discord's execute-webhook JSON (Uptime
 * Kuma-style embed), the generic webhook's JSON and its HMAC-SHA256
 * signature, and the multipart/alternative mail; plus the stored-message
 * JSON and the 429 Retry-After parser. See notify_internal.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <apr_date.h>
#include <apr_escape.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "cloudbase/crypto.h"
#include "cloudbase/encoding.h"
#include "notify_internal.h"

#define DISCORD_RED 16711680
#define DISCORD_GREEN 65280
#define DISCORD_BLUE 3447003
#define DISCORD_MAX_FIELDS 25
#define DISCORD_FIELD_MAX 1024
#define DISCORD_TITLE_MAX 256
#define RETRY_AFTER_CAP_MS 3600000
#define LATEST_TIME 253402300799LL /* 9999-12-31T23:59:59Z: later times overflow apr_time_t */

static const char *kind_word(cb_notify_kind kind)
{
    return kind == CB_NOTIFY_DOWN ? "down" : kind == CB_NOTIFY_UP ? "up" : "info";
}

/* At most max bytes, cut on a UTF-8 boundary, with "..." when cut. */
static const char *clip(apr_pool_t *p, const char *s, size_t max)
{
    size_t n;
    if (!s)
        return "";
    n = strlen(s);
    if (n <= max)
        return s;
    n = max - 3;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return apr_pstrcat(p, apr_pstrndup(p, s, n), "...", NULL);
}

/* A string member; text that is not UTF-8 is replaced, never dropped. */
static void set_text(cb_json *o, const char *key, const char *value)
{
    if (cb_json_set_string(o, key, value) != 0)
        cb_json_set_string(o, key, "(text not UTF-8)");
}

cb_json *cb_notify_item_to_json(apr_pool_t *p, const cb_notify_item *item)
{
    cb_json *o = cb_json_new_object(p);
    cb_json_set_int(o, "kind", item->kind);
    set_text(o, "source", item->source);
    if (item->title)
        set_text(o, "title", item->title);
    if (item->url)
        set_text(o, "url", item->url);
    if (item->detail)
        set_text(o, "detail", item->detail);
    cb_json_set_int(o, "ping_ms", item->ping_ms);
    cb_json_set_int(o, "at", item->at_unix);
    return o;
}

int cb_notify_item_from_json(const cb_json *obj, cb_notify_item *out)
{
    int64_t kind;
    memset(out, 0, sizeof(*out));
    if (!cb_json_get_int(obj, "kind", &kind) || kind < CB_NOTIFY_DOWN || kind > CB_NOTIFY_INFO ||
        !(out->source = cb_json_get_string(obj, "source")) ||
        !cb_json_get_int(obj, "at", &out->at_unix) || out->at_unix < 0 ||
        out->at_unix > LATEST_TIME)
        return 0;
    out->kind = (cb_notify_kind)kind;
    out->title = cb_json_get_string(obj, "title");
    out->url = cb_json_get_string(obj, "url");
    out->detail = cb_json_get_string(obj, "detail");
    if (!cb_json_get_int(obj, "ping_ms", &out->ping_ms))
        out->ping_ms = -1;
    return 1;
}

const char *cb_notify_item_title(apr_pool_t *p, const cb_notify_item *item)
{
    if (item->title && *item->title)
        return item->title;
    return apr_pstrcat(p, item->source, item->kind == CB_NOTIFY_DOWN ? " is DOWN"
                                        : item->kind == CB_NOTIFY_UP ? " is UP" : "", NULL);
}

static const char *group_title(apr_pool_t *p, const cb_notify_item *items, int count)
{
    if (count == 1)
        return cb_notify_item_title(p, &items[0]);
    return apr_psprintf(p, "%d services are %s", count,
                        items[0].kind == CB_NOTIFY_DOWN ? "DOWN"
                        : items[0].kind == CB_NOTIFY_UP ? "UP" : "reporting");
}

static void add_field(apr_pool_t *p, cb_json *fields, const char *name, const char *value,
                      int is_inline)
{
    cb_json *f = cb_json_new_object(p);
    set_text(f, "name", clip(p, name, DISCORD_TITLE_MAX));
    set_text(f, "value", clip(p, value && *value ? value : "-", DISCORD_FIELD_MAX));
    cb_json_set_bool(f, "inline", is_inline);
    cb_json_append(fields, f);
}

static const char *ping_text(apr_pool_t *p, int64_t ping_ms)
{
    return ping_ms >= 0 ? apr_psprintf(p, "%" APR_INT64_T_FMT " ms", (apr_int64_t)ping_ms) : "N/A";
}

static const char *discord_time(apr_pool_t *p, int64_t at_unix)
{
    return apr_psprintf(p, "<t:%" APR_INT64_T_FMT ":F>", (apr_int64_t)at_unix);
}

const char *cb_notify_discord_body(apr_pool_t *p, const char *username,
                                   const cb_notify_item *items, int count)
{
    cb_json *body = cb_json_new_object(p), *embeds = cb_json_new_array(p);
    cb_json *embed = cb_json_new_object(p), *fields = cb_json_new_array(p);
    cb_notify_kind kind = items[0].kind;
    set_text(body, "username", username && *username ? username : "CloudBase Notifier");
    set_text(embed, "title", clip(p, group_title(p, items, count), DISCORD_TITLE_MAX));
    cb_json_set_int(embed, "color", kind == CB_NOTIFY_DOWN ? DISCORD_RED
                                    : kind == CB_NOTIFY_UP ? DISCORD_GREEN : DISCORD_BLUE);
    if (count == 1) {
        const cb_notify_item *m = &items[0];
        add_field(p, fields, "Service Name", m->source, 0);
        if (m->url)
            add_field(p, fields, "Service URL", m->url, 0);
        add_field(p, fields, "Time (UTC)", discord_time(p, m->at_unix), 0);
        if (kind == CB_NOTIFY_DOWN)
            add_field(p, fields, "Error", m->detail, 0);
        else if (kind == CB_NOTIFY_UP)
            add_field(p, fields, "Downtime Duration", m->detail, 0);
        else
            add_field(p, fields, "Message", m->detail, 0);
        add_field(p, fields, "Ping", ping_text(p, m->ping_ms), 0);
    } else {
        int shown = count > DISCORD_MAX_FIELDS ? DISCORD_MAX_FIELDS - 1 : count;
        for (int i = 0; i < shown; i++) {
            const cb_notify_item *m = &items[i];
            add_field(p, fields, m->source,
                      apr_pstrcat(p, m->url ? m->url : "", m->url ? "\n" : "",
                                  discord_time(p, m->at_unix), "\n",
                                  m->detail ? m->detail : "", NULL), 0);
        }
        if (shown < count)
            add_field(p, fields, "More", apr_psprintf(p, "and %d more", count - shown), 0);
    }
    cb_json_set(embed, "fields", fields);
    /* Discord's embed timestamp is ISO 8601; the message's own time. */
    {
        apr_time_exp_t t;
        apr_time_exp_gmt(&t, apr_time_from_sec(items[0].at_unix));
        set_text(embed, "timestamp",
                 apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900, t.tm_mon + 1,
                              t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec));
    }
    cb_json_append(embeds, embed);
    cb_json_set(body, "embeds", embeds);
    return cb_json_dump(p, body);
}

const char *cb_notify_webhook_body(apr_pool_t *p, const cb_notify_item *items, int count)
{
    cb_json *body = cb_json_new_object(p), *list = cb_json_new_array(p);
    set_text(body, "kind", kind_word(items[0].kind));
    set_text(body, "title", group_title(p, items, count));
    cb_json_set_int(body, "count", count);
    for (int i = 0; i < count; i++)
        cb_json_append(list, cb_notify_item_to_json(p, &items[i]));
    cb_json_set(body, "messages", list);
    return cb_json_dump(p, body);
}

const char *cb_notify_webhook_signature(apr_pool_t *p, const char *key, int64_t timestamp,
                                        const char *body, size_t body_len)
{
    const char *ts = apr_psprintf(p, "%" APR_INT64_T_FMT ".", (apr_int64_t)timestamp);
    size_t ts_len = strlen(ts);
    char *signed_text = apr_palloc(p, ts_len + body_len + 1);
    unsigned char mac[CB_SHA256_LEN];
    memcpy(signed_text, ts, ts_len);
    memcpy(signed_text + ts_len, body, body_len);
    signed_text[ts_len + body_len] = '\0';
    if (cb_hmac_sha256(key, strlen(key), signed_text, ts_len + body_len, mac) != 0)
        return NULL;
    return apr_pstrcat(p, "sha256=", cb_hex_encode(p, mac, sizeof(mac)), NULL);
}

/* ---------------------------------------------------------------- mail */

/* Header text: control characters (CR, LF) become spaces; non-ASCII text
 * is sent as one RFC 2047 encoded word. */
static const char *header_text(apr_pool_t *p, const char *s)
{
    char *copy = apr_pstrdup(p, s ? s : "");
    int ascii = 1;
    for (char *c = copy; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
        else if ((unsigned char)*c >= 0x80)
            ascii = 0;
    }
    if (ascii)
        return copy;
    return apr_pstrcat(p, "=?UTF-8?B?",
                       cb_base64_encode(p, (const unsigned char *)copy, strlen(copy)), "?=", NULL);
}

static const char *html_escape(apr_pool_t *p, const char *s)
{
    return apr_pescape_entity(p, s ? s : "", 0);
}

/* Plain text: lines end with CRLF, bare CR and LF included. */
static void append_lines(apr_pool_t *p, apr_array_header_t *out, const char *text)
{
    const char *s = text ? text : "";
    while (*s) {
        size_t n = strcspn(s, "\r\n");
        APR_ARRAY_PUSH(out, const char *) = apr_pstrndup(p, s, n);
        APR_ARRAY_PUSH(out, const char *) = "\r\n";
        s += n;
        if (*s == '\r' && s[1] == '\n')
            s += 2;
        else if (*s)
            s++;
    }
}

static const char *utc_time(apr_pool_t *p, int64_t at_unix)
{
    char date[APR_RFC822_DATE_LEN];
    apr_rfc822_date(date, apr_time_from_sec(at_unix));
    return apr_pstrdup(p, date);
}

const char *cb_notify_mail(apr_pool_t *p, const cb_notify_channel *ch, const cb_notify_item *items,
                           int count, int64_t date_unix, const char *message_id,
                           const char *boundary)
{
    apr_array_header_t *out = apr_array_make(p, 64, sizeof(const char *));
    apr_array_header_t *text = apr_array_make(p, 32, sizeof(const char *));
    const char *to = apr_array_pstrcat(p, (apr_array_header_t *)ch->to, ',');
    const char *title = group_title(p, items, count);
    const char *html = "";
#define OUT(s) (APR_ARRAY_PUSH(out, const char *) = (s))
    for (int i = 0; i < count; i++) {
        const cb_notify_item *m = &items[i];
        const char *label = m->kind == CB_NOTIFY_UP ? "Downtime" : m->kind == CB_NOTIFY_DOWN
                                                                   ? "Error" : "Message";
        append_lines(p, text, cb_notify_item_title(p, m));
        if (m->url)
            append_lines(p, text, apr_pstrcat(p, "URL: ", m->url, NULL));
        append_lines(p, text, apr_pstrcat(p, "Time: ", utc_time(p, m->at_unix), NULL));
        if (m->detail)
            append_lines(p, text, apr_pstrcat(p, label, ": ", m->detail, NULL));
        append_lines(p, text, apr_pstrcat(p, "Ping: ", ping_text(p, m->ping_ms), NULL));
        APR_ARRAY_PUSH(text, const char *) = "\r\n";
        html = apr_pstrcat(p, html, "<tr><td>", html_escape(p, m->source), "</td><td>",
                           html_escape(p, m->url), "</td><td>",
                           html_escape(p, utc_time(p, m->at_unix)), "</td><td>",
                           html_escape(p, m->detail), "</td><td>",
                           html_escape(p, ping_text(p, m->ping_ms)), "</td></tr>\r\n", NULL);
    }
    OUT("From: "); OUT(header_text(p, ch->from)); OUT("\r\n");
    OUT("To: "); OUT(header_text(p, to)); OUT("\r\n");
    OUT("Subject: "); OUT(header_text(p, apr_pstrcat(p, "[", kind_word(items[0].kind), "] ",
                                                     title, NULL))); OUT("\r\n");
    OUT("Date: "); OUT(utc_time(p, date_unix)); OUT("\r\n");
    OUT("Message-ID: <"); OUT(header_text(p, message_id)); OUT(">\r\n");
    OUT("MIME-Version: 1.0\r\n");
    OUT("Content-Type: multipart/alternative; boundary=\""); OUT(boundary); OUT("\"\r\n\r\n");
    OUT("--"); OUT(boundary); OUT("\r\n");
    OUT("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    OUT(apr_array_pstrcat(p, text, 0));
    OUT("--"); OUT(boundary); OUT("\r\n");
    OUT("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    OUT("<!DOCTYPE html>\r\n<html><body>\r\n<h2 style=\"color:");
    OUT(items[0].kind == CB_NOTIFY_DOWN ? "#c00" : items[0].kind == CB_NOTIFY_UP ? "#080" : "#036");
    OUT("\">"); OUT(html_escape(p, title)); OUT("</h2>\r\n");
    OUT("<table border=\"1\" cellpadding=\"4\">\r\n<tr><th>Service</th><th>URL</th><th>Time"
        "</th><th>Detail</th><th>Ping</th></tr>\r\n");
    OUT(html);
    OUT("</table>\r\n</body></html>\r\n");
    OUT("--"); OUT(boundary); OUT("--\r\n");
#undef OUT
    return apr_array_pstrcat(p, out, 0);
}

/* ---------------------------------------------------------------- 429 */

/* Non-negative seconds ("2", "0.25") as ms; -1 when s is not one. */
static int64_t seconds_ms(const char *s, size_t len)
{
    char buf[32], *end;
    double v;
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (!len || len >= sizeof(buf) || !isdigit((unsigned char)*s))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)buf[i]) && buf[i] != '.')
            return -1;
    v = strtod(buf, &end);
    if (*end || v != v || v < 0)
        return -1;
    if (v * 1000.0 >= RETRY_AFTER_CAP_MS)
        return RETRY_AFTER_CAP_MS;
    return (int64_t)(v * 1000.0 + 0.999);
}

int64_t cb_notify_retry_after_ms(const char *header, const char *body, size_t body_len)
{
    int64_t best = -1;
    if (header) {
        int64_t h = seconds_ms(header, strlen(header));
        if (h < 0) {
            apr_time_t when = apr_date_parse_http(header);
            if (when > 0) {
                apr_time_t now = apr_time_now();
                h = when > now ? apr_time_as_msec(when - now) : 0;
                if (h > RETRY_AFTER_CAP_MS)
                    h = RETRY_AFTER_CAP_MS;
            }
        }
        best = h;
    }
    if (body && body_len) {
        apr_pool_t *p;
        cb_json *doc;
        double v;
        apr_pool_create_unmanaged_ex(&p, NULL, NULL);
        doc = cb_json_parse(p, body, body_len, NULL);
        if (doc && cb_json_number_value(cb_json_get(doc, "retry_after"), &v) && v == v && v >= 0) {
            int64_t b = v * 1000.0 >= RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS
                                                         : (int64_t)(v * 1000.0 + 0.999);
            if (b > best)
                best = b;
        }
        apr_pool_destroy(p);
    }
    return best;
}
