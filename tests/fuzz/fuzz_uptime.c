/*
 * fuzz_uptime.c: libFuzzer target for the uptime plugin's parsers
 * (plugins/uptime/monitor_line.c, api_body.c): every input is a `monitor`
 * line for up_parse_monitor (with loopback allowed, as a test site has
 * it), a status code list for up_parse_code_ranges, a PUT body of the
 * uptime API for up_api_parse_body, and an If-None-Match value for
 * up_etag_listed (status_cache.c).
 *
 * Invariants: an accepted monitor has a name of letters, digits, '-' and
 * '_', an interval from 1 s to 24 h, a timeout from 100 ms to 120 s, no
 * control character in its URL, an http(s) URL whose host the outbound
 * guard accepts, a TCP port 1-65535, a push token of 16-64 safe bytes,
 * retries within bounds, and its own Discord webhook (http(s), guard
 * accepted) and address (one '@', nothing that changes a mail header). Accepted code ranges are LOW <= HIGH within
 * 100-999, and every bound is itself accepted. Accepted API settings have
 * an interval of 1-86400 s, a check URL (when enabled) the guard accepts
 * and without control characters, an https Discord webhook, and an e-mail
 * address with one '@' and no spaces. If-None-Match: a value without '"'
 * and '*' never matches; the value with ", " and the tag appended always
 * matches, as does the tag as W/ (weak) alone.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "uptime.h"

#define FUZZ_TARGET_NAME "fuzz_uptime"
#define FUZZ_HAS_SETUP
#include "fuzz_support.h"

static cb_cidr_list *loopback;

static void fuzz_setup(void)
{
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    if (cb_cidr_list_parse(p, "127.0.0.0/8", &loopback))
        abort();
}

static int only_of(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define NAME_BYTES "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

static void check_monitor(const char *text)
{
    up_monitor m;
    if (up_parse_monitor(iteration_pool, text, loopback, &m))
        return;
    require(*m.name && only_of(m.name, NAME_BYTES), "a bad monitor name", text);
    require(m.interval_ms >= 1000 && m.interval_ms <= 24 * 3600 * 1000LL, "interval out of range",
            text);
    require(m.timeout_ms >= 100 && m.timeout_ms <= 120000, "timeout out of range", text);
    for (const char *c = m.url; *c; c++)
        require((unsigned char)*c >= 0x20 && *c != 0x7f, "a control character in the URL", text);
    require(m.retries >= 0 && m.retries <= 100 && m.up_retries >= 0 && m.up_retries <= 100 &&
                m.resend >= 0,
            "retries out of range", text);
    if (m.kind == UP_KIND_HTTP)
        require(!strncasecmp(m.url, "http://", 7) || !strncasecmp(m.url, "https://", 8),
                "an HTTP monitor without http(s)", text);
    if (m.kind == UP_KIND_TCP) {
        require(m.port >= 1 && m.port <= 65535, "a bad TCP port", text);
        require(cb_url_guard_host(m.host) == NULL, "a metadata host", text);
    }
    if (m.kind == UP_KIND_PUSH)
        require(strlen(m.push_token) >= 16 && strlen(m.push_token) <= 64 &&
                    only_of(m.push_token, NAME_BYTES),
                "a bad push token", text);
    require(m.accepted.count >= 1, "no accepted codes", text);
    if (m.discord_webhook_url) {
        require(!strncasecmp(m.discord_webhook_url, "http://", 7) ||
                    !strncasecmp(m.discord_webhook_url, "https://", 8),
                "a Discord webhook without http(s)", text);
        require(cb_url_guard_url(m.discord_webhook_url) == NULL, "a refused Discord webhook",
                text);
    }
    if (m.notify_email)
        require(strchr(m.notify_email, '@') && !strpbrk(m.notify_email, " \t\r\n<>,;()[]"),
                "a bad notify_email", text);
}

static void check_ranges(const char *text)
{
    up_code_ranges r;
    if (up_parse_code_ranges(text, &r))
        return;
    require(r.count >= 1 && r.count <= UP_MAX_CODE_RANGES, "a bad range count", text);
    for (int i = 0; i < r.count; i++) {
        require(r.low[i] >= 100 && r.high[i] <= 999 && r.low[i] <= r.high[i], "a bad range",
                text);
        require(up_code_accepted(&r, r.low[i]) && up_code_accepted(&r, r.high[i]),
                "a bound not accepted", text);
    }
}

static void check_api_body(const char *text, size_t size)
{
    up_api_settings s = {.check_interval_sec = 60};
    if (up_api_parse_body(iteration_pool, text, size, loopback, &s))
        return;
    require(s.check_interval_sec >= 1 && s.check_interval_sec <= 86400, "interval out of range",
            text);
    require(!s.enabled || s.check_url, "enabled without a check URL", text);
    if (s.check_url)
        require(up_check_url(iteration_pool, s.check_url, loopback) == NULL,
                "a check URL the guard refuses", text);
    if (s.discord_webhook_url)
        require(!strncmp(s.discord_webhook_url, "https://", 8), "a webhook that is not https",
                text);
    if (s.notify_email)
        require(strchr(s.notify_email, '@') && !strchr(s.notify_email, ' '), "a bad e-mail",
                text);
}

static void check_etag_list(const char *text)
{
    static const char tag[] = "\"0123456789abcdef\"";
    require(strpbrk(text, "\"*") || !up_etag_listed(text, tag),
            "If-None-Match without a tag or * matched", text);
    require(up_etag_listed(apr_pstrcat(iteration_pool, text, ", ", tag, NULL), tag),
            "If-None-Match ending in the tag did not match", text);
    require(up_etag_listed("W/\"0123456789abcdef\"", tag), "a weak tag did not match", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_monitor(text);
    check_ranges(text);
    check_api_body(text, size);
    check_etag_list(text);
    apr_pool_clear(iteration_pool);
    return 0;
}
