/*
 * test_uptime.c: the uptime plugin's pure parts (plugins/uptime): accepted
 * status codes and ranges, the `monitor` line (kinds, settings, defaults,
 * and the refusals: metadata and link-local addresses, private addresses
 * unless allowed, CR/LF in URLs, intervals of 0 or below, unknown
 * settings), the keyword match, the anti-flapping state machine, and the
 * notification a transition becomes (fields, idempotency key per slot,
 * the monitor's own destinations), the redirect and TLS settings
 * (max_redirects, expiry_warning, ca_file, ignore_tls) and the text of a
 * certificate expiry warning.
 */
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "uptime.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

START_TEST(code_ranges)
{
    up_code_ranges r;
    ck_assert_ptr_null(up_parse_code_ranges("200-299,301", &r));
    ck_assert_int_eq(r.count, 2);
    ck_assert(up_code_accepted(&r, 200));
    ck_assert(up_code_accepted(&r, 299));
    ck_assert(up_code_accepted(&r, 301));
    ck_assert(!up_code_accepted(&r, 300));
    ck_assert(!up_code_accepted(&r, 302));
    ck_assert(!up_code_accepted(&r, 500));
    ck_assert(!up_code_accepted(&r, 0));
    ck_assert_ptr_null(up_parse_code_ranges("418", &r));
    ck_assert(up_code_accepted(&r, 418) && !up_code_accepted(&r, 200));
    ck_assert_ptr_nonnull(up_parse_code_ranges("", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("299-200", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("200-", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("-200", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("200,", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("99", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("1000", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("2xx", &r));
    ck_assert_ptr_nonnull(up_parse_code_ranges("200,,300", &r));
    ck_assert_ptr_nonnull(
        up_parse_code_ranges("200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216",
                             &r));
}
END_TEST

static const char *monitor_problem(const char *line)
{
    up_monitor m;
    return up_parse_monitor(pool, line, NULL, &m);
}

#define REFUSED(line, words) do { \
        const char *err_ = monitor_problem(line); \
        ck_assert_msg(err_ != NULL, "accepted: %s", line); \
        ck_assert_msg(strstr(err_, words) != NULL, "'%s' refused with '%s'", line, err_); \
    } while (0)

START_TEST(monitor_line)
{
    up_monitor m;
    cb_cidr_list *loopback;
    ck_assert_ptr_null(up_parse_monitor(pool, "api https://api.example.com/health", NULL, &m));
    ck_assert_str_eq(m.name, "api");
    ck_assert_int_eq(m.kind, UP_KIND_HTTP);
    ck_assert_int_eq(m.interval_ms, 60000);
    ck_assert_int_eq(m.timeout_ms, 48000);
    ck_assert_str_eq(m.method, "GET");
    ck_assert(up_code_accepted(&m.accepted, 204) && !up_code_accepted(&m.accepted, 301));
    ck_assert_int_eq(m.retries, 0);
    ck_assert_ptr_null(m.keyword);
    ck_assert_ptr_null(up_parse_monitor(
        pool, "web http://example.com/ interval=10s timeout=2s method=POST accept=200-299,301 "
              "keyword=healthy invert_keyword=on retries=3 up_retries=2 resend=5 "
              "headers=X-A:1;X-B:two",
        NULL, &m));
    ck_assert_int_eq(m.interval_ms, 10000);
    ck_assert_int_eq(m.timeout_ms, 2000);
    ck_assert_str_eq(m.method, "POST");
    ck_assert(up_code_accepted(&m.accepted, 301));
    ck_assert_str_eq(m.keyword, "healthy");
    ck_assert_int_eq(m.invert_keyword, 1);
    ck_assert_int_eq(m.retries, 3);
    ck_assert_int_eq(m.up_retries, 2);
    ck_assert_int_eq(m.resend, 5);
    ck_assert_str_eq(apr_table_get(m.headers, "X-B"), "two");
    ck_assert_int_eq(m.timeout_ms, 2000);
    ck_assert_ptr_null(up_parse_monitor(pool, "db tcp://db.example.com:5432 interval=30s", NULL,
                                        &m));
    ck_assert_int_eq(m.kind, UP_KIND_TCP);
    ck_assert_str_eq(m.host, "db.example.com");
    ck_assert_int_eq(m.port, 5432);
    ck_assert_int_eq(m.timeout_ms, 24000);
    ck_assert_ptr_null(up_parse_monitor(pool, "cron push://abcdefghijklmnop0123", NULL, &m));
    ck_assert_int_eq(m.kind, UP_KIND_PUSH);
    ck_assert_str_eq(m.push_token, "abcdefghijklmnop0123");
    /* private addresses only where allowed */
    REFUSED("local http://127.0.0.1:8080/", "127.0.0.1");
    ck_assert_ptr_null(cb_cidr_list_parse(pool, "127.0.0.0/8", &loopback));
    ck_assert_ptr_null(up_parse_monitor(pool, "local http://127.0.0.1:8080/", loopback, &m));
    ck_assert_ptr_null(up_parse_monitor(pool, "local tcp://127.0.0.1:6379", loopback, &m));
    /* metadata and link-local are refused even when private ranges are allowed */
    ck_assert_ptr_nonnull(up_parse_monitor(pool, "meta http://169.254.169.254/latest/", loopback,
                                           &m));
    REFUSED("meta http://169.254.169.254/latest/meta-data/", "169.254.169.254");
    REFUSED("meta http://metadata.google.internal/", "metadata.google.internal");
    REFUSED("ll http://[fe80::1]/", "fe80::1");
    REFUSED("ll tcp://169.254.1.1:80", "169.254.1.1");
    REFUSED("crlf http://example.com/\r\nX-Evil:1", "control character");
    REFUSED("crlf http://example.com/%0d%0a\n", "control character");
    REFUSED("zero http://example.com/ interval=0", "interval=0");
    REFUSED("zero http://example.com/ interval=0s", "interval=0s");
    REFUSED("neg http://example.com/ interval=-5s", "interval=-5s");
    REFUSED("fast http://example.com/ interval=500ms", "interval=500ms");
    REFUSED("x ftp://example.com/", "http(s)");
    REFUSED("x http://example.com/ color=red", "unknown setting color=");
    REFUSED("x http://example.com/ accept=2xx", "accept=");
    REFUSED("x http://example.com/ retries=-1", "retries=-1");
    REFUSED("x http://example.com/ method=get", "method=get");
    REFUSED("x http://example.com/ invert_keyword=on", "needs keyword=");
    REFUSED("x http://example.com/ headers=Bad Header:1", "");
    REFUSED("x tcp://example.com", "tcp://HOST:PORT");
    REFUSED("x tcp://example.com:0", "port");
    REFUSED("x tcp://example.com:70000", "port");
    REFUSED("x push://short", "push token");
    REFUSED("bad/name http://example.com/", "monitor name");
    REFUSED("onlyname", "2 words");
}
END_TEST

START_TEST(redirect_and_tls_settings)
{
    up_monitor m;
    ck_assert_ptr_null(up_parse_monitor(pool, "a https://example.com/", NULL, &m));
    ck_assert_int_eq(m.max_redirects, 10);
    ck_assert_int_eq(m.expiry_warning_count, 0);
    ck_assert_ptr_null(m.ca_file);
    ck_assert_ptr_null(up_parse_monitor(
        pool, "a https://example.com/ max_redirects=0 expiry_warning=7,21,14 ignore_tls=on "
              "ca_file=/etc/hostname", NULL, &m));
    ck_assert_int_eq(m.max_redirects, 0);
    /* kept largest first */
    ck_assert_int_eq(m.expiry_warning_count, 3);
    ck_assert_int_eq(m.expiry_warning_days[0], 21);
    ck_assert_int_eq(m.expiry_warning_days[1], 14);
    ck_assert_int_eq(m.expiry_warning_days[2], 7);
    ck_assert_int_eq(m.ignore_tls, 1);
    ck_assert_str_eq(m.ca_file, "/etc/hostname");
    REFUSED("a https://example.com/ max_redirects=31", "max_redirects=31");
    REFUSED("a https://example.com/ max_redirects=-1", "max_redirects=-1");
    REFUSED("a https://example.com/ expiry_warning=0", "expiry_warning=0: give days");
    REFUSED("a https://example.com/ expiry_warning=366", "1 to 365");
    REFUSED("a https://example.com/ expiry_warning=7,", "expiry_warning=7,");
    REFUSED("a https://example.com/ expiry_warning=1,2,3,4,5", "up to 4");
    REFUSED("a https://example.com/ ignore_tls=maybe", "ignore_tls=maybe");
    REFUSED("a https://example.com/ ca_file=/nonexistent/ca.pem", "not a readable file");
    REFUSED("a tcp://example.com:443 expiry_warning=7", "expiry_warning= is for http(s)");
    REFUSED("a push://abcdefghijklmnop0123 max_redirects=2", "max_redirects= is for http(s)");
}
END_TEST

START_TEST(certificate_warning_text)
{
    up_monitor m;
    up_result r;
    int64_t now = 1796000000000LL; /* 2026-11-30 00:53:20 UTC */
    ck_assert_ptr_null(up_parse_monitor(pool, "a https://example.com/ expiry_warning=14,7",
                                        NULL, &m));
    memset(&r, 0, sizeof(r));
    r.cert_expires_ms = now + 20 * 86400000LL;
    ck_assert_ptr_null(up_cert_warning_text(pool, &m, &r, now));
    r.cert_expires_ms = now + 13 * 86400000LL + 3600000;
    ck_assert_str_eq(up_cert_warning_text(pool, &m, &r, now),
                     "TLS certificate expires in 13 days (2026-12-13 01:53 UTC)");
    r.cert_expires_ms = now + 3600000;
    ck_assert_ptr_nonnull(strstr(up_cert_warning_text(pool, &m, &r, now), "within a day"));
    r.cert_expires_ms = now - 3600000;
    ck_assert_ptr_nonnull(strstr(up_cert_warning_text(pool, &m, &r, now), "has expired"));
    /* no certificate read, or no warning asked for */
    r.cert_expires_ms = 0;
    ck_assert_ptr_null(up_cert_warning_text(pool, &m, &r, now));
    ck_assert_ptr_null(up_parse_monitor(pool, "a https://example.com/", NULL, &m));
    r.cert_expires_ms = now + 3600000;
    ck_assert_ptr_null(up_cert_warning_text(pool, &m, &r, now));
}
END_TEST

START_TEST(keyword_match)
{
    up_monitor m;
    ck_assert_ptr_null(up_parse_monitor(pool, "k https://example.com/ keyword=ready", NULL, &m));
    ck_assert(up_body_matches(&m, "status: ready"));
    ck_assert(!up_body_matches(&m, "status: starting"));
    ck_assert_ptr_null(up_parse_monitor(pool, "k https://example.com/ keyword=error "
                                              "invert_keyword=on", NULL, &m));
    ck_assert(up_body_matches(&m, "all fine"));
    ck_assert(!up_body_matches(&m, "an error happened"));
}
END_TEST

/* Steps the machine through a pattern of 'U' (success) and 'D' (failure)
 * and returns the states as letters (U, D, P) and the notifications
 * (d, u, r, or '.'), e.g. "P. D d". */
static void run_pattern(const up_monitor *m, const char *pattern, char *states, char *notes)
{
    up_state s;
    size_t i;
    up_state_init(&s);
    for (i = 0; pattern[i]; i++) {
        up_notify_kind k = up_state_step(&s, m, pattern[i] == 'U', (int64_t)i * 1000);
        states[i] = up_status_name(s.status)[0];
        notes[i] = k == UP_NOTIFY_DOWN ? 'd' : k == UP_NOTIFY_UP ? 'u'
                 : k == UP_NOTIFY_REMINDER ? 'r' : '.';
    }
    states[i] = notes[i] = '\0';
}

START_TEST(state_machine)
{
    up_monitor m;
    char states[64], notes[64];
    ck_assert_ptr_null(up_parse_monitor(pool, "s https://example.com/", NULL, &m));
    /* retries=0: the first failure is DOWN; the first UP is not announced */
    run_pattern(&m, "UUDDUU", states, notes);
    ck_assert_str_eq(states, "UUDDUU");
    ck_assert_str_eq(notes, "..d.u.");
    /* retries=2: two failures stay PENDING, the third is DOWN */
    m.retries = 2;
    run_pattern(&m, "UDDUDDDD", states, notes);
    ck_assert_str_eq(states, "UPPUPPDD");
    ck_assert_str_eq(notes, "......d.");
    /* up_retries=2: after DOWN two successes stay PENDING, the third is UP;
     * a failure in between starts the count again */
    m.retries = 0;
    m.up_retries = 2;
    run_pattern(&m, "UDUUDUUU", states, notes);
    ck_assert_str_eq(states, "UDPPDPPU");
    ck_assert_str_eq(notes, ".d.....u");
    /* a flapping upstream (UDUD...) with retries=1 up_retries=1 never
     * announces anything */
    m.retries = 1;
    m.up_retries = 1;
    run_pattern(&m, "UDUDUDUDUD", states, notes);
    ck_assert_str_eq(notes, "..........");
    ck_assert_str_eq(states, "UPUPUPUPUP");
    /* without anti-flapping every change is announced */
    m.retries = 0;
    m.up_retries = 0;
    run_pattern(&m, "UDUDUD", states, notes);
    ck_assert_str_eq(notes, ".dudud");
    /* resend=2: a reminder every second check while DOWN */
    m.resend = 2;
    run_pattern(&m, "UDDDDDU", states, notes);
    ck_assert_str_eq(notes, ".d.r.ru");
    /* maintenance: no state change, no notification */
    m.maintenance = 1;
    run_pattern(&m, "UDDD", states, notes);
    ck_assert_str_eq(states, "MMMM");
    ck_assert_str_eq(notes, "....");
}
END_TEST

START_TEST(duration_text)
{
    ck_assert_str_eq(up_duration_text(pool, 0), "0s");
    ck_assert_str_eq(up_duration_text(pool, 999), "0s");
    ck_assert_str_eq(up_duration_text(pool, 5000), "5s");
    ck_assert_str_eq(up_duration_text(pool, 65000), "1m 5s");
    ck_assert_str_eq(up_duration_text(pool, 3600000), "1h 0m 0s");
    ck_assert_str_eq(up_duration_text(pool, (86400 + 7322) * 1000LL), "1d 2h 2m");
}
END_TEST

/* The message a transition becomes, and its idempotency key: the same for
 * a transition seen within one slot (two nodes, a retry), another in the
 * next slot and for another kind. */
START_TEST(transition_message)
{
    up_monitor m, push;
    up_result failed = {.ok = 0, .status_code = 503, .latency_ms = 42, .message = ""};
    up_result timeout = {.ok = 0, .latency_ms = 0, .message = "timed out after 800 ms"};
    up_transition t = {.monitor = &m, .kind = UP_NOTIFY_DOWN, .from = UP_STATUS_UP,
                       .to = UP_STATUS_DOWN, .result = &failed};
    cb_notify_message a, b;
    int64_t slot;
    ck_assert_ptr_null(up_parse_monitor(pool, "api https://api.example.com/health interval=10s",
                                        NULL, &m));
    slot = up_slot_start_ms(&m, 1733050000000LL);
    t.at_ms = slot + 100;
    up_notify_message(pool, &t, &a);
    ck_assert_int_eq(a.kind, CB_NOTIFY_DOWN);
    ck_assert_str_eq(a.source, "api");
    ck_assert_str_eq(a.url, "https://api.example.com/health");
    ck_assert_str_eq(a.detail, "HTTP 503");
    ck_assert_ptr_null(a.title);
    ck_assert_int_eq(a.ping_ms, 42);
    ck_assert(a.at == apr_time_from_msec(slot + 100));
    ck_assert_str_eq(a.idempotency_key,
                     apr_psprintf(pool, "uptime:api:down:%" APR_INT64_T_FMT, (apr_int64_t)slot));
    /* another node's check in the same slot: the same key */
    t.at_ms = slot + 9000;
    up_notify_message(pool, &t, &b);
    ck_assert_str_eq(a.idempotency_key, b.idempotency_key);
    /* the next slot, or UP in the same slot: another key */
    t.at_ms = slot + 10000;
    up_notify_message(pool, &t, &b);
    ck_assert_str_ne(a.idempotency_key, b.idempotency_key);
    t.at_ms = slot + 100;
    t.kind = UP_NOTIFY_UP;
    t.down_for_ms = 125000;
    up_notify_message(pool, &t, &b);
    ck_assert_int_eq(b.kind, CB_NOTIFY_UP);
    ck_assert_str_ne(a.idempotency_key, b.idempotency_key);
    ck_assert_str_eq(b.detail, "2m 5s");
    /* a reminder is a red DOWN message of its own */
    t.kind = UP_NOTIFY_REMINDER;
    t.result = &timeout;
    up_notify_message(pool, &t, &b);
    ck_assert_int_eq(b.kind, CB_NOTIFY_DOWN);
    ck_assert_str_eq(b.title, "api is still DOWN");
    ck_assert_str_eq(b.detail, "timed out after 800 ms (down for 2m 5s)");
    ck_assert_int_eq(b.ping_ms, -1);
    ck_assert_ptr_nonnull(strstr(b.idempotency_key, ":reminder:"));
    /* a push monitor's URL is its token: not in the message */
    ck_assert_ptr_null(up_parse_monitor(pool, "cron push://it-push-token-0123456789", NULL,
                                        &push));
    t.monitor = &push;
    up_notify_message(pool, &t, &b);
    ck_assert_ptr_null(b.url);
}
END_TEST

START_TEST(monitor_destinations)
{
    up_monitor m;
    cb_cidr_list *loopback;
    ck_assert_ptr_null(cb_cidr_list_parse(pool, "127.0.0.0/8", &loopback));
    ck_assert_ptr_null(up_parse_monitor(pool, "a https://example.com/ discord_webhook_url="
                                        "https://discord.com/api/webhooks/1/x "
                                        "notify_email=ops@example.com", NULL, &m));
    ck_assert_str_eq(m.discord_webhook_url, "https://discord.com/api/webhooks/1/x");
    ck_assert_str_eq(m.notify_email, "ops@example.com");
    ck_assert_int_eq(m.from_api, 0);
    /* loopback only where allow_private lists it; never metadata */
    ck_assert_ptr_nonnull(up_parse_monitor(pool, "a https://example.com/ "
                                           "discord_webhook_url=http://127.0.0.1:9/d", NULL, &m));
    ck_assert_ptr_null(up_parse_monitor(pool, "a https://example.com/ "
                                        "discord_webhook_url=http://127.0.0.1:9/d", loopback, &m));
    ck_assert_ptr_nonnull(strstr(up_parse_monitor(pool, "a https://example.com/ "
                                                  "discord_webhook_url=http://169.254.169.254/",
                                                  loopback, &m),
                                 "discord_webhook_url="));
    ck_assert_ptr_nonnull(up_parse_monitor(pool, "a https://example.com/ notify_email=nobody",
                                           NULL, &m));
    ck_assert_ptr_nonnull(up_parse_monitor(pool, "a https://example.com/ "
                                           "notify_email=a(b)@example.com", NULL, &m));
}
END_TEST

/* If-None-Match against the status cache's ETags (status_cache.c). */
START_TEST(etag_list)
{
    const char *tag = "\"00112233aabbccdd\"";
    ck_assert_int_eq(up_etag_listed("\"00112233aabbccdd\"", tag), 1);
    ck_assert_int_eq(up_etag_listed("W/\"00112233aabbccdd\"", tag), 1);
    ck_assert_int_eq(up_etag_listed("\"x\", \"00112233aabbccdd\"", tag), 1);
    ck_assert_int_eq(up_etag_listed("\"x\",\t\"00112233aabbccdd\" ,\"y\"", tag), 1);
    ck_assert_int_eq(up_etag_listed("*", tag), 1);
    ck_assert_int_eq(up_etag_listed("\"x\", *", tag), 1);
    ck_assert_int_eq(up_etag_listed("\"00112233aabbccdd", tag), 0);
    ck_assert_int_eq(up_etag_listed("\"00112233aabbccdd\"x", tag), 0);
    ck_assert_int_eq(up_etag_listed("\"00112233aabbccde\"", tag), 0);
    ck_assert_int_eq(up_etag_listed("*x", tag), 0);
    ck_assert_int_eq(up_etag_listed("", tag), 0);
    ck_assert_int_eq(up_etag_listed("\"x\"", ""), 0);
}
END_TEST

Suite *uptime_parse_suite(void)
{
    Suite *s = suite_create("uptime_parse");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, code_ranges);
    tcase_add_test(tc, monitor_line);
    tcase_add_test(tc, keyword_match);
    tcase_add_test(tc, state_machine);
    tcase_add_test(tc, duration_text);
    tcase_add_test(tc, transition_message);
    tcase_add_test(tc, monitor_destinations);
    tcase_add_test(tc, redirect_and_tls_settings);
    tcase_add_test(tc, certificate_warning_text);
    tcase_add_test(tc, etag_list);
    suite_add_tcase(s, tc);
    return s;
}
