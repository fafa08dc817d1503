/*
 * monitor_line.c: the uptime plugin's parsers: one `monitor NAME URL
 * key=value ...` line into an up_monitor, accepted status codes and ranges
 * ("200-299,301"), and the address check every monitor URL passes (the
 * core's outbound guard on names and on literal addresses, no CR/LF or
 * other control characters). Pure functions: the unit suite and
 * fuzz_uptime drive them.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "cloudbase/values.h"
#include "uptime.h"

/* A decimal in [0, max]; -1 when text is not one. */
static long parse_small(const char *s, size_t len, long max)
{
    long v = 0;
    if (len == 0 || len > 6)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

const char *up_parse_code_ranges(const char *text, up_code_ranges *out)
{
    const char *s = text;
    memset(out, 0, sizeof(*out));
    if (!*s)
        return "accept= is empty: give status codes or ranges such as 200-299,301";
    while (*s) {
        const char *end = strchr(s, ',');
        const char *dash;
        size_t len = end ? (size_t)(end - s) : strlen(s);
        long low, high;
        if (out->count == UP_MAX_CODE_RANGES)
            return "accept= takes at most 16 codes or ranges";
        dash = memchr(s, '-', len);
        if (dash) {
            low = parse_small(s, (size_t)(dash - s), 999);
            high = parse_small(dash + 1, len - (size_t)(dash - s) - 1, 999);
        } else {
            low = high = parse_small(s, len, 999);
        }
        if (low < 100 || high < 100 || high < low)
            return "accept= holds status codes (100-999) or ranges LOW-HIGH, separated by commas";
        out->low[out->count] = (int)low;
        out->high[out->count] = (int)high;
        out->count++;
        if (!end)
            break;
        s = end + 1;
        if (!*s)
            return "accept= ends with a comma";
    }
    return NULL;
}

int up_code_accepted(const up_code_ranges *r, long code)
{
    for (int i = 0; i < r->count; i++)
        if (code >= r->low[i] && code <= r->high[i])
            return 1;
    return 0;
}

static int has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

const char *up_check_url(apr_pool_t *p, const char *url, const cb_cidr_list *allowed_private)
{
    cb_url parsed;
    const char *err;
    if (has_control_chars(url))
        return "the URL holds a control character (CR, LF, ...): remove it";
    if ((err = cb_parse_url(p, url, &parsed)))
        return apr_psprintf(p, "the URL is not an absolute http(s) URL: %s", err);
    if ((err = cb_url_guard_host_as_written(parsed.host, allowed_private)))
        return apr_psprintf(p, "the URL's host %s is %s", parsed.host, err);
    return NULL;
}

/* tcp://HOST:PORT */
static const char *parse_tcp(apr_pool_t *p, const char *rest, const cb_cidr_list *allowed_private,
                             up_monitor *m)
{
    const char *colon = strrchr(rest, ':'), *err;
    const char *host;
    long port;
    if (!colon || colon == rest)
        return "a TCP monitor is tcp://HOST:PORT";
    port = parse_small(colon + 1, strlen(colon + 1), 65535);
    if (port < 1)
        return "a TCP monitor's port is 1-65535";
    host = apr_pstrmemdup(p, rest, (apr_size_t)(colon - rest));
    if (host[0] == '[' && host[strlen(host) - 1] == ']')
        host = apr_pstrmemdup(p, host + 1, strlen(host) - 2);
    if (!*host || strchr(host, '/') || strchr(host, '@'))
        return "a TCP monitor is tcp://HOST:PORT";
    if ((err = cb_url_guard_host_as_written(host, allowed_private)))
        return apr_psprintf(p, "the host %s is %s", host, err);
    m->host = host;
    m->port = (int)port;
    return NULL;
}

static const char *parse_count(apr_pool_t *p, const cb_option_line *line, const char *key,
                               int max, int *out)
{
    const char *v = cb_option_line_get(line, key);
    int64_t n;
    if (!v)
        return NULL;
    if (cb_parse_int(v, &n) || n < 0 || n > max)
        return apr_psprintf(p, "%s=%s: give a whole number from 0 to %d", key, v, max);
    *out = (int)n;
    return NULL;
}

/* headers=Name:Value;Name:Value */
static const char *parse_headers(apr_pool_t *p, const char *text, apr_table_t *out)
{
    char *copy = apr_pstrdup(p, text), *state = NULL, *item;
    for (item = apr_strtok(copy, ";", &state); item; item = apr_strtok(NULL, ";", &state)) {
        char *colon = strchr(item, ':');
        if (!colon || colon == item)
            return "headers= is Name:Value;Name:Value";
        *colon = '\0';
        for (const char *c = item; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-'))
                return "a header name in headers= holds only letters, digits and '-'";
        apr_table_add(out, item, colon + 1);
    }
    return NULL;
}

static const char *const known_keys[] = {
    "interval", "timeout", "method", "accept", "keyword", "invert_keyword", "headers",
    "retries", "up_retries", "resend", "maintenance", "discord_webhook_url", "notify_email",
    "max_redirects", "expiry_warning", "ca_file", "ignore_tls", NULL};

static const char *check_known_keys(apr_pool_t *p, const cb_option_line *line)
{
    for (int i = 0; i < line->setting_count; i++) {
        int known = 0;
        for (int k = 0; known_keys[k]; k++)
            known |= strcmp(line->keys[i], known_keys[k]) == 0;
        if (!known)
            return apr_psprintf(p, "unknown setting %s=: a monitor takes interval, timeout, "
                                   "method, accept, keyword, invert_keyword, headers, retries, "
                                   "up_retries, resend, maintenance, discord_webhook_url, "
                                   "notify_email, max_redirects, expiry_warning, ca_file, "
                                   "ignore_tls", line->keys[i]);
    }
    return NULL;
}

/* The monitor's own notification destinations. */
static const char *parse_destinations(apr_pool_t *p, const cb_option_line *line,
                                      const cb_cidr_list *allowed_private, up_monitor *m)
{
    const char *v, *err;
    if ((v = cb_option_line_get(line, "discord_webhook_url"))) {
        if ((err = up_check_url(p, v, allowed_private)))
            return apr_pstrcat(p, "discord_webhook_url=: ", err, NULL);
        m->discord_webhook_url = v;
    }
    if ((v = cb_option_line_get(line, "notify_email"))) {
        if ((err = up_check_email(v)))
            return err;
        m->notify_email = v;
    }
    return NULL;
}

/* expiry_warning=DAYS[,DAYS...]: up to 4 thresholds of 1-365 days, kept
 * largest first. */
static const char *parse_expiry_warning(apr_pool_t *p, const char *text, up_monitor *m)
{
    const char *s = text;
    const char *usage = apr_psprintf(p, "expiry_warning=%s: give days before the TLS "
                                        "certificate expires, 1 to 365, up to 4 separated by "
                                        "commas (e.g. 14,7)", text);
    m->expiry_warning_count = 0;
    for (;;) {
        const char *end = strchr(s, ',');
        long days = parse_small(s, end ? (size_t)(end - s) : strlen(s), 365);
        int at;
        if (days < 1 || m->expiry_warning_count == UP_MAX_EXPIRY_WARNINGS)
            return usage;
        for (at = m->expiry_warning_count; at > 0 && m->expiry_warning_days[at - 1] < days; at--)
            m->expiry_warning_days[at] = m->expiry_warning_days[at - 1];
        m->expiry_warning_days[at] = (int)days;
        m->expiry_warning_count++;
        if (!end)
            return NULL;
        s = end + 1;
    }
}

/* Redirects and what an https check asks of TLS: settings of http(s)://
 * monitors only (an http:// URL may redirect to https://). */
static const char *parse_http_settings(apr_pool_t *p, const cb_option_line *line, up_monitor *m)
{
    static const char *const http_only[] = {"max_redirects", "expiry_warning", "ignore_tls",
                                            "ca_file", NULL};
    const char *v, *err;
    for (int i = 0; http_only[i]; i++)
        if (m->kind != UP_KIND_HTTP && cb_option_line_get(line, http_only[i]))
            return apr_psprintf(p, "%s= is for http(s):// monitors", http_only[i]);
    if ((err = parse_count(p, line, "max_redirects", 30, &m->max_redirects)))
        return err;
    if ((v = cb_option_line_get(line, "expiry_warning")) && (err = parse_expiry_warning(p, v, m)))
        return err;
    if ((v = cb_option_line_get(line, "ignore_tls")) && cb_parse_bool(v, &m->ignore_tls))
        return apr_psprintf(p, "ignore_tls=%s: on or off", v);
    if ((v = cb_option_line_get(line, "ca_file"))) {
        apr_finfo_t info;
        if (apr_stat(&info, v, APR_FINFO_TYPE, p) != APR_SUCCESS || info.filetype != APR_REG)
            return apr_psprintf(p, "ca_file=%s: not a readable file (give a PEM file of the CAs "
                                   "to trust)", v);
        m->ca_file = v;
    }
    return NULL;
}

static const char *parse_settings(apr_pool_t *p, const cb_option_line *line,
                                  const cb_cidr_list *allowed_private, up_monitor *m)
{
    const char *v, *err;
    if ((err = check_known_keys(p, line)) ||
        (err = parse_destinations(p, line, allowed_private, m)))
        return err;
    if ((v = cb_option_line_get(line, "interval"))) {
        if (cb_parse_duration_ms(v, &m->interval_ms) || m->interval_ms < 1000 ||
            m->interval_ms > 24 * 3600 * 1000LL)
            return apr_psprintf(p, "interval=%s: give a duration from 1s to 24h (e.g. 60s)", v);
    }
    if ((v = cb_option_line_get(line, "timeout"))) {
        if (cb_parse_duration_ms(v, &m->timeout_ms) || m->timeout_ms < 100 ||
            m->timeout_ms > 120 * 1000)
            return apr_psprintf(p, "timeout=%s: give a duration from 100ms to 120s", v);
    } else {
        /* Uptime Kuma's default: 80% of the interval, here at most 48 s */
        m->timeout_ms = m->interval_ms * 8 / 10;
        if (m->timeout_ms > 48000)
            m->timeout_ms = 48000;
    }
    if ((v = cb_option_line_get(line, "method"))) {
        for (const char *c = v; *c; c++)
            if (*c < 'A' || *c > 'Z')
                return apr_psprintf(p, "method=%s: an upper-case HTTP method such as GET", v);
        if (!*v || strlen(v) > 16)
            return "method= is an HTTP method such as GET or HEAD";
        m->method = v;
    }
    if ((v = cb_option_line_get(line, "accept")) && (err = up_parse_code_ranges(v, &m->accepted)))
        return err;
    if ((v = cb_option_line_get(line, "keyword"))) {
        if (!*v)
            return "keyword= is empty";
        m->keyword = v;
    }
    if ((v = cb_option_line_get(line, "invert_keyword")) && cb_parse_bool(v, &m->invert_keyword))
        return apr_psprintf(p, "invert_keyword=%s: on or off", v);
    if (m->invert_keyword && !m->keyword)
        return "invert_keyword= needs keyword=";
    if ((v = cb_option_line_get(line, "headers")) && (err = parse_headers(p, v, m->headers)))
        return err;
    if ((v = cb_option_line_get(line, "maintenance")) && cb_parse_bool(v, &m->maintenance))
        return apr_psprintf(p, "maintenance=%s: on or off", v);
    if ((err = parse_http_settings(p, line, m)))
        return err;
    if ((err = parse_count(p, line, "retries", 100, &m->retries)) ||
        (err = parse_count(p, line, "up_retries", 100, &m->up_retries)) ||
        (err = parse_count(p, line, "resend", 10000, &m->resend)))
        return err;
    return NULL;
}

const char *up_parse_monitor(apr_pool_t *p, const char *text, const cb_cidr_list *allowed_private,
                             up_monitor *out)
{
    cb_option_line line;
    const char *err, *url;
    memset(out, 0, sizeof(*out));
    out->interval_ms = 60000;
    out->method = "GET";
    out->headers = apr_table_make(p, 2);
    out->accepted.count = 1;
    out->accepted.low[0] = 200;
    out->accepted.high[0] = 299;
    out->max_redirects = UP_DEFAULT_MAX_REDIRECTS;
    if ((err = cb_option_line_parse(p, text, 2, 2, &line)))
        return err;
    out->name = line.words[0];
    if (!*out->name || strlen(out->name) > 64)
        return "a monitor name is 1 to 64 characters";
    for (const char *c = out->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return apr_psprintf(p, "monitor name '%s' may only hold letters, digits, '-' and '_'",
                                out->name);
    url = out->url = line.words[1];
    if (has_control_chars(url))
        return "the URL holds a control character (CR, LF, ...): remove it";
    if (strncmp(url, "tcp://", 6) == 0) {
        out->kind = UP_KIND_TCP;
        if ((err = parse_tcp(p, url + 6, allowed_private, out)))
            return err;
    } else if (strncmp(url, "push://", 7) == 0) {
        out->kind = UP_KIND_PUSH;
        out->push_token = url + 7;
        if (strlen(out->push_token) < 16 || strlen(out->push_token) > 64)
            return "a push token (push://TOKEN) is 16 to 64 letters, digits, '-' or '_'";
        for (const char *c = out->push_token; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
                return "a push token (push://TOKEN) is 16 to 64 letters, digits, '-' or '_'";
    } else {
        out->kind = UP_KIND_HTTP;
        if ((err = up_check_url(p, url, allowed_private)))
            return err;
    }
    return parse_settings(p, &line, allowed_private, out);
}
