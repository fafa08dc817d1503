/*
 * test_uptime.c: the uptime plugin's pure parts (plugins/uptime): accepted
 * status codes and ranges, the `monitor` line (kinds, settings, defaults,
 * and the refusals: metadata and link-local addresses, private addresses
 * unless allowed, CR/LF in URLs, intervals of 0 or below, unknown
 * settings), the keyword match, and the anti-flapping state machine.
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

Suite *uptime_parse_suite(void)
{
    Suite *s = suite_create("uptime_parse");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, code_ranges);
    tcase_add_test(tc, monitor_line);
    tcase_add_test(tc, keyword_match);
    tcase_add_test(tc, state_machine);
    suite_add_tcase(s, tc);
    return s;
}
