/*
 * it_uptime.c: the uptime plugin in a real apache2 with a real Redis and
 * upstream (tests/integration/upstream.py): an upstream that flaps, seen
 * through anti-flapping settings (retries=1 up_retries=1: exactly one DOWN
 * and one UP for a real outage, nothing for single blips) next to the same
 * pattern without them (every flip announced); a push monitor that is UP
 * while pushes come and goes DOWN when they stop; two gateway nodes on one
 * Redis where each check runs once per interval across both (the gaps
 * between checks at the upstream) and the survivor takes the checks over when a
 * node stops; and monitor lines refused at configtest with clear errors
 * (metadata and link-local addresses, a CR in the URL, intervals of 0 or
 * below).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "servers.h"

#define PUSH_TOKEN "it-push-token-0123456789"

static const char *uptime_site(const char *monitor_lines)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin uptime>\n"
             "  allow_private 127.0.0.0/8\n"
             "  tick 100ms\n"
             "  status_cache 0\n" /* these tests poll the JSON; it_uptime_live.c the cache */
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), monitor_lines);
    return site;
}

static void start_with(const char *monitor_lines)
{
    const char *conf = it_write_config("httpd.conf", "event", uptime_site(monitor_lines));
    if (!it_httpd_start(conf)) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* The status JSON (caller json_decref's). */
static json_t *status_json(void)
{
    it_response r;
    json_t *v;
    it_request("GET", "/uptime/status.json", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    v = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(v);
    it_free(&r);
    return v;
}

static json_t *find_monitor(json_t *status, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(status, "monitors"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            return m;
    ck_abort_msg("monitor %s is not in the status JSON", name);
    return NULL;
}

static const char *monitor_status(const char *name)
{
    static char out[32];
    json_t *v = status_json();
    snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(find_monitor(v, name),
                                                                        "status")));
    json_decref(v);
    return out;
}

/* The events of a monitor, oldest first, as "kind:" letters ("du" = a DOWN
 * then an UP). */
static const char *monitor_events(const char *name)
{
    static char out[256];
    json_t *v = status_json(), *events = json_object_get(v, "events"), *e;
    size_t n = 0;
    for (size_t i = json_array_size(events); i-- > 0;) {
        e = json_array_get(events, i);
        if (strcmp(json_string_value(json_object_get(e, "monitor")), name) == 0 &&
            n + 1 < sizeof(out))
            out[n++] = json_string_value(json_object_get(e, "kind"))[0];
    }
    out[n] = '\0';
    json_decref(v);
    return out;
}

/* The events, for failure messages (malloc'd, never freed: the test ends). */
static const char *events_text(void)
{
    json_t *v = status_json();
    char *text = json_dumps(json_object_get(v, "events"), 0);
    json_decref(v);
    return text;
}

/* Requests of tag seen by the upstream so far ("request GET /flap?tag=T"). */
static int upstream_count(const char *needle)
{
    char *log = it_read_file("upstream.log");
    int n = 0;
    for (const char *s = log; (s = strstr(s, needle)); s += strlen(needle))
        n++;
    free(log);
    return n;
}

static int wait_for_count(const char *needle, int count, int ms)
{
    long long deadline = it_now_ms() + ms;
    while (upstream_count(needle) < count && it_now_ms() < deadline)
        usleep(50 * 1000);
    return upstream_count(needle) >= count;
}

START_TEST(flapping_upstream)
{
    /* Blips (UD...) then a real outage (DDD) then a recovery (UUUU...). */
    const char *pattern = "UUDUDUDUDDDDUUUUU";
    char lines[2048];
    int checks = (int)strlen(pattern) + 2;
    it_setup();
    snprintf(lines, sizeof(lines),
             "  monitor steady http://127.0.0.1:%d/flap?tag=steady&pattern=%s interval=1s "
             "timeout=900ms retries=1 up_retries=1\n"
             "  monitor jumpy http://127.0.0.1:%d/flap?tag=jumpy&pattern=%s interval=1s "
             "timeout=900ms\n",
             it.upstream_port, pattern, it.upstream_port, pattern);
    start_with(lines);
    ck_assert_msg(wait_for_count("/flap?tag=steady", checks, 40000) &&
                      wait_for_count("/flap?tag=jumpy", checks, 5000),
                  "the checks did not run: %d and %d of %d",
                  upstream_count("/flap?tag=steady"), upstream_count("/flap?tag=jumpy"), checks);
    usleep(300 * 1000); /* the last check's state is stored after its answer */
    /* anti-flapping: single failures stay PENDING, the outage is one DOWN,
     * the recovery one UP */
    ck_assert_str_eq(monitor_events("steady"), "du");
    /* without it every flip is news: UU DU DU DU DDDD UUUUU, four outages */
    ck_assert_msg(strcmp(monitor_events("jumpy"), "dudududu") == 0, "jumpy: %s",
                  events_text());
    ck_assert_str_eq(monitor_status("steady"), "UP");
    ck_assert_str_eq(monitor_status("jumpy"), "UP");
    {
        json_t *v = status_json(), *m = find_monitor(v, "steady");
        double pct = json_number_value(json_object_get(m, "uptime_24h"));
        ck_assert_msg(pct > 30 && pct < 100, "uptime %.1f", pct);
        ck_assert(json_integer_value(json_object_get(m, "last_checked_at")) > 0);
        ck_assert(json_is_integer(json_object_get(m, "p95_response_ms")));
        /* public: no monitor URL */
        ck_assert_ptr_null(strstr(json_dumps(v, 0), "/flap?"));
        json_decref(v);
    }
    it_teardown();
}
END_TEST

static void push(const char *query, long expect)
{
    it_response r;
    char path[256];
    snprintf(path, sizeof(path), "/api/push/%s%s", PUSH_TOKEN, query);
    it_request("GET", path, NULL, NULL, &r);
    ck_assert_msg(r.status == expect, "push %s: %ld %s", query, r.status, r.body);
    it_free(&r);
}

static int wait_for_status(const char *name, const char *status, int ms)
{
    long long deadline = it_now_ms() + ms;
    while (strcmp(monitor_status(name), status) != 0 && it_now_ms() < deadline)
        usleep(100 * 1000);
    return strcmp(monitor_status(name), status) == 0;
}

START_TEST(push_monitor_goes_down_when_pushes_stop)
{
    long long until;
    it_setup();
    start_with("  monitor cron push://" PUSH_TOKEN " interval=2s\n");
    push("?status=up&msg=ok&ping=12", 200);
    /* pushes every 500 ms: UP */
    until = it_now_ms() + 5000;
    while (it_now_ms() < until) {
        push("?status=up&msg=ok&ping=12", 200);
        usleep(500 * 1000);
    }
    ck_assert_str_eq(monitor_status("cron"), "UP");
    ck_assert_str_eq(monitor_events("cron"), "");
    /* an unknown token and a bad status are refused */
    {
        it_response r;
        it_request("GET", "/api/push/not-a-token-000000000?status=up", NULL, NULL, &r);
        ck_assert_int_eq(r.status, 404);
        it_free(&r);
    }
    push("?status=sideways", 400);
    /* no more pushes: DOWN within two intervals and a slot */
    ck_assert_msg(wait_for_status("cron", "DOWN", 7000), "still %s", monitor_status("cron"));
    ck_assert_str_eq(monitor_events("cron"), "d");
    {
        json_t *v = status_json(), *e = json_array_get(json_object_get(v, "events"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
                         "no push within the interval");
        ck_assert_ptr_null(strstr(json_dumps(v, 0), PUSH_TOKEN));
        json_decref(v);
    }
    /* a push brings it back */
    push("?status=up&msg=back", 200);
    ck_assert_msg(wait_for_status("cron", "UP", 5000), "still %s", monitor_status("cron"));
    ck_assert_str_eq(monitor_events("cron"), "du");
    it_teardown();
}
END_TEST

/* The "count once MS MARKER" lines of the upstream's log: how many, the
 * shortest gap between two checks, the span from the first to the last,
 * and how many each node ran. */
static int count_lines(long long *min_gap, long long *span, int *node1, int *node2)
{
    char *log = it_read_file("upstream.log"), *line, *save = NULL;
    long long first = 0, previous = 0;
    int n = 0;
    *min_gap = 1000000;
    *span = 0;
    *node1 = *node2 = 0;
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long long at;
        char marker[32];
        if (sscanf(line, "count once %lld %31s", &at, marker) != 2)
            continue;
        *node1 += strcmp(marker, "node1") == 0;
        *node2 += strcmp(marker, "node2") == 0;
        if (n == 0)
            first = at;
        else if (at - previous < *min_gap)
            *min_gap = at - previous;
        previous = at;
        *span = at - first;
        n++;
    }
    free(log);
    return n;
}

START_TEST(two_nodes_check_once_per_interval)
{
    char lines[1024], lines2[1024];
    int port2 = srv_free_port(), total, node1, node2;
    long long min_gap, span;
    it_setup();
    snprintf(lines, sizeof(lines),
             "  monitor once http://127.0.0.1:%d/count?tag=once interval=1s timeout=800ms "
             "headers=X-Marker:node1\n", it.upstream_port);
    snprintf(lines2, sizeof(lines2),
             "  monitor once http://127.0.0.1:%d/count?tag=once interval=1s timeout=800ms "
             "headers=X-Marker:node2\n", it.upstream_port);
    start_with(lines);
    ck_assert(it_second_httpd_start(uptime_site(lines2), port2));
    sleep(8);
    total = count_lines(&min_gap, &span, &node1, &node2);
    ck_assert_msg(total >= 6, "only %d checks in 8 s", total);
    /* a second run in a slot would come 200 ms after the first (the other
     * node's head start), a missed slot leaves a 2 s gap */
    ck_assert_msg(min_gap >= 600, "two checks %lld ms apart (of %d)", min_gap, total);
    ck_assert_msg(total >= span / 1000, "%d checks over %lld ms: slots were missed", total, span);
    /* one node held the lease throughout; stop it and the other takes over */
    ck_assert_msg((node1 == 0) != (node2 == 0), "node1 %d node2 %d", node1, node2);
    if (node1)
        it_httpd_stop(it_gateway_conf_path());
    else
        it_httpd_stop(it.second_conf);
    {
        int before1 = node1, before2 = node2;
        long long deadline = it_now_ms() + 6000;
        while (it_now_ms() < deadline) {
            count_lines(&min_gap, &span, &node1, &node2);
            if ((before1 && node2 >= 2) || (before2 && node1 >= 2))
                break;
            usleep(100 * 1000);
        }
        ck_assert_msg((before1 && node2 >= 2) || (before2 && node1 >= 2),
                      "the surviving node did not take the checks over (node1 %d node2 %d)",
                      node1, node2);
        ck_assert_msg(min_gap >= 600, "two checks %lld ms apart", min_gap);
    }
    it_teardown();
}
END_TEST

static char output[8192];

static void expect_refused(const char *monitor_line, const char *needle)
{
    char lines[1024];
    snprintf(lines, sizeof(lines), "  monitor %s\n", monitor_line);
    ck_assert_int_ne(it_configtest(it_write_config("bad.conf", "event", uptime_site(lines)),
                                   output, sizeof(output)), 0);
    ck_assert_msg(strstr(output, needle), "expected '%s' in:\n%s", needle, output);
}

START_TEST(bad_monitors_fail_configtest)
{
    it_setup();
    /* the good line passes: the refusals below are about the line */
    ck_assert_int_eq(it_configtest(it_write_config("good.conf", "event", uptime_site(
                         "  monitor ok http://127.0.0.1:9/ interval=60s\n")), output,
                         sizeof(output)), 0);
    expect_refused("meta http://169.254.169.254/latest/meta-data/",
                   "the URL's host 169.254.169.254 is");
    expect_refused("meta http://metadata.google.internal/computeMetadata/v1/",
                   "metadata.google.internal");
    expect_refused("ll http://[fe80::1]/", "the URL's host fe80::1 is");
    expect_refused("ll tcp://169.254.10.10:22", "169.254.10.10");
    expect_refused("cr http://127.0.0.1:9/a\rb", "control character");
    expect_refused("zero http://127.0.0.1:9/ interval=0", "interval=0: give a duration from 1s");
    expect_refused("neg http://127.0.0.1:9/ interval=-5s", "interval=-5s: give a duration");
    expect_refused("private http://10.1.2.3/", "10.1.2.3");
    it_teardown();
}
END_TEST

Suite *uptime_suite(void)
{
    Suite *s = suite_create("uptime");
    TCase *tc = tcase_create("monitors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, flapping_upstream);
    tcase_add_test(tc, push_monitor_goes_down_when_pushes_stop);
    tcase_add_test(tc, two_nodes_check_once_per_interval);
    tcase_add_test(tc, bad_monitors_fail_configtest);
    suite_add_tcase(s, tc);
    return s;
}
