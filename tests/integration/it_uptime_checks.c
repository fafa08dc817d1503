/*
 * it_uptime_checks.c: what uptime checks do beyond a single answer, with
 * real parts (apache2, Redis, upstream.py, a TLS server made with the
 * openssl CLI, the Discord-compatible receiver): redirects followed up to
 * max_redirects, too many of them and a hop to a metadata address failing
 * the check with a clear message (the refused hop never connects); a
 * short-lived self-signed certificate trusted through ca_file reported by
 * expiry_warning in the status JSON and announced once, not once per
 * check; and a check that hangs until its timeout not delaying the checks
 * of another monitor that fall due meanwhile (counted at the upstream).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "notify_receivers.h"
#include "servers.h"
#include "tls_server.h"

static void start_with(const char *uptime_lines)
{
    static char site[8192];
    const char *conf;
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin uptime>\n"
             "  allow_private 127.0.0.0/8\n"
             "  tick 100ms\n"
             "  status_cache 0\n" /* these tests poll the JSON; it_uptime_live.c the cache */
             "%s"
             "</CloudBasePlugin>\n",
             it_default_site(), uptime_lines);
    conf = it_write_config("httpd.conf", "event", site);
    ck_assert_msg(it_httpd_start(conf), "httpd did not start:\n%s", it_error_log());
}

/* A monitor's member in the status JSON ("" when absent). */
static const char *monitor_field(const char *name, const char *field)
{
    static char out[512];
    it_response r;
    json_t *v, *m;
    size_t i;
    out[0] = '\0';
    it_request("GET", "/uptime/status.json", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    v = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(v);
    json_array_foreach(json_object_get(v, "monitors"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0) {
            json_t *f = json_object_get(m, field);
            if (json_is_string(f))
                snprintf(out, sizeof(out), "%s", json_string_value(f));
            else if (json_is_integer(f))
                snprintf(out, sizeof(out), "%lld", (long long)json_integer_value(f));
        }
    json_decref(v);
    it_free(&r);
    return out;
}

static int wait_field(const char *name, const char *field, const char *needle, int ms)
{
    long long deadline = it_now_ms() + ms;
    while (!strstr(monitor_field(name, field), needle) && it_now_ms() < deadline)
        usleep(100 * 1000);
    return strstr(monitor_field(name, field), needle) != NULL;
}

START_TEST(redirects_and_certificate_expiry)
{
    char lines[4096];
    int tls_port = srv_free_port();
    pid_t tls;
    long long first_check;
    int checks = 0;
    const char *cert_words[] = {"TLS certificate expires in 2 days", NULL};
    it_setup();
    nr_start_receivers();
    ck_assert(tls_make_certificate(it.dir, "short", 3));
    ck_assert_int_gt(tls = tls_start_server(it.dir, "short", tls_port), 0);
    snprintf(lines, sizeof(lines),
             "  notify discord ops http://127.0.0.1:%d/discord/ops private=127.0.0.0/8\n"
             "  monitor hops http://127.0.0.1:%d/hops?n=3 interval=1s timeout=900ms\n"
             "  monitor capped http://127.0.0.1:%d/hops?n=3 interval=1s timeout=900ms "
             "max_redirects=2\n"
             "  monitor metadata http://127.0.0.1:%d/redirect?to=http://169.254.169.254/"
             "latest/meta-data/ interval=1s timeout=900ms\n"
             "  monitor expiring https://127.0.0.1:%d/ interval=1s timeout=900ms "
             "expiry_warning=14,7 ca_file=%s/short.crt\n"
             "  monitor lasting https://127.0.0.1:%d/ interval=1s timeout=900ms "
             "expiry_warning=1 ca_file=%s/short.crt\n",
             nr_receiver_port, it.upstream_port, it.upstream_port, it.upstream_port, tls_port,
             it.dir, tls_port, it.dir);
    start_with(lines);
    /* three redirects followed to the answer; the default cap is 10 */
    ck_assert_msg(wait_field("hops", "status", "UP", 8000), "hops: %s %s",
                  monitor_field("hops", "status"), monitor_field("hops", "message"));
    ck_assert_msg(it_upstream_saw("request GET /hops?n=0"), "the last hop was not requested");
    /* more than max_redirects=2: DOWN, and says why */
    ck_assert_msg(wait_field("capped", "status", "DOWN", 5000), "capped: %s",
                  monitor_field("capped", "status"));
    ck_assert_str_eq(monitor_field("capped", "message"), "too many redirects (more than 2)");
    /* a hop to the metadata address is refused before anything connects */
    ck_assert_msg(wait_field("metadata", "status", "DOWN", 5000), "metadata: %s",
                  monitor_field("metadata", "status"));
    ck_assert_msg(strstr(monitor_field("metadata", "message"), "a redirect was refused") &&
                      strstr(monitor_field("metadata", "message"), "metadata"),
                  "metadata: %s", monitor_field("metadata", "message"));
    /* the certificate expires in under 3 days: within 7 (and 14), not 1 */
    ck_assert_msg(wait_field("expiring", "message", "TLS certificate expires in 2 days", 5000),
                  "expiring: %s %s", monitor_field("expiring", "status"),
                  monitor_field("expiring", "message"));
    ck_assert_str_eq(monitor_field("expiring", "status"), "UP");
    {
        /* the certificate's notAfter in the state hash: 2-3 days ahead */
        char command[256], value[64] = "";
        FILE *cli;
        long long expires;
        snprintf(command, sizeof(command), "redis-cli -p %d HGET 'cb:{demo}:uptime:state:expiring' "
                 "cert_expires_at", it.redis_port);
        ck_assert_ptr_nonnull(cli = popen(command, "r"));
        ck_assert_ptr_nonnull(fgets(value, sizeof(value), cli));
        pclose(cli);
        expires = atoll(value) - (long long)time(NULL) * 1000;
        ck_assert_msg(expires > 2 * 86400000LL && expires <= 3 * 86400000LL, "%s", value);
    }
    ck_assert_msg(wait_field("lasting", "status", "UP", 5000), "lasting: %s",
                  monitor_field("lasting", "message"));
    ck_assert_str_eq(monitor_field("lasting", "message"), "");
    /* one warning (for the 7-day threshold) however many checks follow */
    ck_assert_int_eq(nr_wait_deliveries("/discord/ops", NULL, cert_words, 1), 1);
    first_check = atoll(monitor_field("expiring", "last_checked_at"));
    for (long long deadline = it_now_ms() + 8000; checks < 3 && it_now_ms() < deadline;) {
        long long at = atoll(monitor_field("expiring", "last_checked_at"));
        if (at > first_check) {
            checks++;
            first_check = at;
        }
        usleep(200 * 1000);
    }
    ck_assert_msg(checks >= 3, "only %d more checks of the expiring monitor", checks);
    usleep(600 * 1000); /* past the notifier's grouping window */
    ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, cert_words), 1);
    {
        const char *at7[] = {"warning at 7 days", NULL};
        ck_assert_int_eq(nr_deliveries("/discord/ops", NULL, at7), 1);
    }
    srv_stop(tls);
    it_teardown();
}
END_TEST

/* The arrival times (ms) of the upstream's "count TAG MS" lines. */
static int arrivals(const char *tag, long long *at, int max)
{
    char *log = it_read_file("upstream.log"), *line, *save = NULL, prefix[64];
    int n = 0;
    snprintf(prefix, sizeof(prefix), "count %s %%lld", tag);
    for (line = strtok_r(log, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save))
        if (sscanf(line, prefix, &at[n]) == 1)
            n++;
    free(log);
    return n;
}

START_TEST(slow_check_does_not_delay_others)
{
    char lines[1024];
    long long at[64], longest = 0;
    int n = 0;
    long long deadline;
    it_setup();
    /* "hang" waits out its timeout (1.9 s) in every 2 s slot; "quick" is
     * due every second. Run as one batch, quick's checks would wait for
     * hang's and come about 2 s apart. */
    snprintf(lines, sizeof(lines),
             "  monitor hang http://127.0.0.1:%d/slow?ms=5000 interval=2s timeout=1900ms\n"
             "  monitor quick http://127.0.0.1:%d/count?tag=quick interval=1s timeout=900ms\n",
             it.upstream_port, it.upstream_port);
    start_with(lines);
    deadline = it_now_ms() + 15000;
    while ((n = arrivals("quick", at, 64)) < 8 && it_now_ms() < deadline)
        usleep(200 * 1000);
    ck_assert_msg(n >= 8, "only %d quick checks", n);
    /* hang's checks ran meanwhile (and failed on their timeout) */
    ck_assert_msg(it_upstream_saw("request GET /slow?ms=5000"), "hang was not checked");
    ck_assert_msg(wait_field("hang", "message", "timed out", 5000), "hang: %s",
                  monitor_field("hang", "message"));
    for (int i = 1; i < n; i++)
        if (at[i] - at[i - 1] > longest)
            longest = at[i] - at[i - 1];
    /* one interval apart, give or take a tick and a loaded machine */
    ck_assert_msg(longest < 1600, "quick checks up to %lld ms apart", longest);
    it_teardown();
}
END_TEST

Suite *uptime_checks_suite(void)
{
    Suite *s = suite_create("uptime_checks");
    TCase *tc = tcase_create("checks");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, redirects_and_certificate_expiry);
    tcase_add_test(tc, slow_check_does_not_delay_others);
    suite_add_tcase(s, tc);
    return s;
}
