/*
 * it_uptime_page.c: the uptime status page in a real apache2 and headless
 * Chromium. Three monitors against upstream.py (one up, one going down,
 * one flapping) run for a few seconds; 89 past days and 23 past hours of
 * roll-ups are added to the SQLite database with the sqlite3 tool (so the
 * bars show a history); then the page is checked as served (CSP, no
 * outside asset, the style sheet on the same origin, 90 + 24 bars per
 * monitor coloured from the roll-ups, tooltips, the latency chart, the
 * incident, the overall status, accessible labels, dark mode rules), as
 * Chromium renders it (--dump-dom), and per badge. With
 * CB_UPTIME_SCREENSHOT_DIR set it also saves Chromium screenshots at
 * 1280x800 and 390x844 there (docs/images/ holds the committed ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *s = text; (s = strstr(s, needle)); s += strlen(needle))
        n++;
    return n;
}

static void start(void)
{
    static char site[8192];
    snprintf(site, sizeof(site),
             "%s<CloudBasePlugin uptime>\n"
             "  allow_private 127.0.0.0/8\n"
             "  tick 100ms\n"
             "  status_title \"Example Cloud status\"\n"
             "  monitor shop http://127.0.0.1:%d/count?tag=shop interval=1s\n"
             "  monitor payments http://127.0.0.1:%d/flap?tag=pay&pattern=UUD interval=1s\n"
             "  monitor search http://127.0.0.1:%d/flap?tag=search&pattern=UUDUUUUUUUUDUU "
             "interval=1s retries=1\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.upstream_port, it.upstream_port, it.upstream_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* Past roll-ups: day k ago and hour k ago, per monitor. */
static void seed_history(void)
{
    FILE *f;
    char path[400], cmd[1024];
    long now = (long)time(NULL), day0 = now / 86400 * 86400, hour0 = now / 3600 * 3600;
    static const char *const names[] = {"shop", "payments", "search"};
    snprintf(path, sizeof(path), "%s/seed.sql", it.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, ".timeout 10000\nBEGIN;\n");
    for (int m = 0; m < 3; m++) {
        for (int k = 1; k < 90; k++) {
            long checks = 1440, ups = 1440;
            if (m == 1 && k % 17 == 3)
                ups = 1400;          /* 97.2%: warn */
            if (m == 1 && k == 12)
                ups = 1150;          /* 79.9%: bad */
            if (m == 2 && k % 11 == 5)
                ups = 1432;          /* 99.4%: good */
            if (m == 0 && k > 80)
                checks = ups = 0;    /* the shop is new: no data */
            if (!checks)
                continue;
            fprintf(f, "INSERT OR REPLACE INTO cb_uptime_rollups VALUES ('demo', '%s', 'd', %ld, "
                       "%ld, %ld, %ld, %ld);\n",
                    names[m], day0 - k * 86400L, checks, ups, ups * (100 + 40 * m), 900L);
        }
        for (int k = 1; k < 24; k++) {
            long ups = 60, latency = 90 + 60 * m + (k * 37 % 50) + (m == 1 && k == 7 ? 300 : 0);
            fprintf(f, "INSERT OR REPLACE INTO cb_uptime_rollups VALUES ('demo', '%s', 'h', %ld, "
                       "60, %ld, %ld, %ld);\n",
                    names[m], hour0 - k * 3600L, ups, ups * latency, latency * 2);
        }
    }
    fprintf(f, "COMMIT;\n");
    fclose(f);
    ck_assert_msg(strncmp(it_database_value(), "sqlite3:", 8) == 0,
                  "the page test seeds SQLite; the site uses %s", it_database_value());
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' < '%s'", it_database_value() + 8, path);
    ck_assert_msg(system(cmd) == 0, "seeding failed; error log:\n%s", it_error_log());
}

static void screenshot(const char *dir, const char *name, int width, int height)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
             "--no-first-run --disable-background-networking --disable-component-update "
             "--disable-sync --disable-dev-shm-usage --hide-scrollbars "
             "--user-data-dir='%s/chromium-shot' --window-size=%d,%d --screenshot='%s/%s' "
             "'http://127.0.0.1:%d/status' >/dev/null 2>&1",
             it.dir, width, height, dir, name, it.http_port);
    ck_assert_msg(system(cmd) == 0, "screenshot %s failed", name);
}

START_TEST(status_page_renders_history)
{
    it_response r;
    char url[128], *dom;
    const char *shots = getenv("CB_UPTIME_SCREENSHOT_DIR");
    it_setup();
    start();
    /* let the checks run: payments goes DOWN at its third check */
    for (int i = 0; i < 100 && !it_upstream_saw("count shop"); i++)
        usleep(100 * 1000);
    sleep(4);
    seed_history();
    it_request("GET", "/status", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(it_header(&r, "Content-Type"), "text/html"));
    ck_assert_str_eq(it_header(&r, "Content-Security-Policy"),
                     "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
                     "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'");
    /* no inline script (its one script is same-origin: it_uptime_live.c), no
     * outside asset */
    ck_assert_int_eq(count_of(r.body, "<script"), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "<script src=\"/status/status.js\" defer></script>"));
    ck_assert_ptr_null(strstr(r.body, "src=\"http"));
    ck_assert_ptr_null(strstr(r.body, "href=\"http"));
    ck_assert_ptr_nonnull(strstr(r.body, "<link rel=\"stylesheet\" href=\"/status/style.css\">"));
    ck_assert_int_eq(count_of(r.body, "<section class=\"monitor\""), 3);
    /* 90 + 24 bars per monitor, each with a tooltip (and 24 in the chart) */
    ck_assert_int_eq(count_of(r.body, "<rect x="), 3 * (90 + 24));
    ck_assert_int_eq(count_of(r.body, "</title></rect>"), 3 * (90 + 24 + 24));
    /* colours from the roll-ups: payments' 79.9% day is red, 97.2% amber,
     * search's 99.4% days light green, shop's first days without data */
    ck_assert_int_ge(count_of(r.body, "class=\"bad\"><title>"), 1);
    ck_assert_int_ge(count_of(r.body, "class=\"warn\"><title>"), 5);
    ck_assert_int_ge(count_of(r.body, "class=\"good\"><title>"), 8);
    ck_assert_int_ge(count_of(r.body, "class=\"nodata\"><title>"), 9);
    ck_assert_ptr_nonnull(strstr(r.body, ": 79.86% up, 1440 checks, average 140 ms</title>"));
    /* the latency chart of each monitor, a point per seeded hour */
    ck_assert_int_eq(count_of(r.body, "<svg class=\"chart\""), 3);
    ck_assert_int_ge(count_of(r.body, "<polyline class=\"line\""), 3);
    ck_assert_int_eq(count_of(r.body, "<rect class=\"hit\""), 3 * 24);
    ck_assert_ptr_nonnull(strstr(r.body, " ms average, "));
    /* overall status and the incident */
    ck_assert_ptr_nonnull(strstr(r.body, "role=\"status\">Partial outage</div>"));
    ck_assert_ptr_nonnull(strstr(r.body, "<h2 id=\"inc\">Current incidents</h2><ul><li><strong>"
                                         "payments</strong> is down since "));
    ck_assert_ptr_nonnull(strstr(r.body, "status 500 is not accepted"));
    /* accessible labels */
    ck_assert_ptr_nonnull(strstr(r.body, "aria-label=\"Daily uptime of payments, last 90 days: "));
    ck_assert_ptr_nonnull(strstr(r.body, "aria-label=\"Average response time of shop per hour"));
    it_free(&r);
    /* the style sheet: same origin, dark mode */
    it_request("GET", "/status/style.css", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "@media (prefers-color-scheme:dark)"));
    it_free(&r);
    /* badges */
    it_request("GET", "/status/badge/shop.svg", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Content-Type"), "image/svg+xml");
    ck_assert_ptr_nonnull(strstr(r.body, "aria-label=\"shop: Up\""));
    it_free(&r);
    it_request("GET", "/status/badge/payments.svg", NULL, NULL, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "aria-label=\"payments: Down\""));
    it_free(&r);
    it_request("GET", "/status/badge/nobody.svg", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    it_free(&r);
    /* as Chromium renders it, with the CSP applied */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/status", it.http_port);
    dom = it_browser_dump(url);
    ck_assert_msg(dom && strstr(dom, "Example Cloud status"), "Chromium did not load the page");
    ck_assert_int_eq(count_of(dom, "<rect x="), 3 * (90 + 24));
    ck_assert_int_eq(count_of(dom, "<svg class=\"chart\""), 3);
    ck_assert_ptr_nonnull(strstr(dom, "Partial outage"));
    free(dom);
    if (shots && *shots) {
        screenshot(shots, "uptime-status-1280x800.png", 1280, 800);
        screenshot(shots, "uptime-status-390x844.png", 390, 844);
    }
    it_teardown();
}
END_TEST

Suite *uptime_page_suite(void)
{
    Suite *s = suite_create("uptime_page");
    TCase *tc = tcase_create("page");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, status_page_renders_history);
    suite_add_tcase(s, tc);
    return s;
}
