/*
 * it_uptime_live.c: the uptime status page served from the per-process
 * cache and refreshed in place, in a real apache2 (one child process, so
 * that consecutive requests meet the same cache) and headless Chromium.
 * One gateway start: an HTTP monitor against upstream.py (Up) and a push
 * monitor (Down until pushed). Checked: the page, the status JSON and a
 * badge answer a second request from the cache (X-Cache-Status: HIT, the
 * same ETag), If-None-Match gets a 304 without a body, the page has one
 * same-origin script and no inline one under a CSP with script-src 'self'
 * and falls back to a <noscript> reload; then tests/sdk/status-refresh-
 * test.js pushes and sees the monitor go Up in Chromium without a reload
 * and without a CSP violation; then, the pushes having stopped, the cached
 * page shows the monitor Down again within the cache's TTL plus a check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define PUSH_TOKEN "it-live-token-0123456789"

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
             "%sServerLimit 1\nStartServers 1\nThreadsPerChild 25\nMaxRequestWorkers 25\n"
             "<CloudBasePlugin uptime>\n"
             "  allow_private 127.0.0.0/8\n"
             "  tick 100ms\n"
             "  status_cache 2s\n"
             "  status_refresh 1s\n"
             "  monitor web http://127.0.0.1:%d/count?tag=live interval=1s\n"
             "  monitor job push://" PUSH_TOKEN " interval=2s\n"
             "</CloudBasePlugin>\n",
             it_default_site(), it.upstream_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

/* The pill of monitor name on the page body ("Up", "Down", ...). */
static int page_shows(const char *body, const char *name, const char *word)
{
    char needle[160];
    const char *at;
    snprintf(needle, sizeof(needle), "<h2 id=\"m-%s\">", name);
    at = strstr(body, needle);
    if (!at || !(at = strstr(at, "<span class=\"pill ")))
        return 0;
    snprintf(needle, sizeof(needle), "\">%s</span>", word);
    at = strchr(at + 18, '"');
    return at && strncmp(at, needle, strlen(needle)) == 0;
}

/* Polls the (cached) page until it shows name's word, up to ms. */
static int wait_page_shows(const char *name, const char *word, int ms)
{
    long long deadline = it_now_ms() + ms;
    for (;;) {
        it_response r;
        int shown;
        it_request("GET", "/status", NULL, NULL, &r);
        shown = r.status == 200 && page_shows(r.body, name, word);
        it_free(&r);
        if (shown || it_now_ms() > deadline)
            return shown;
        usleep(100 * 1000);
    }
}

static const char *hdr(const it_response *r, const char *name)
{
    const char *v = it_header(r, name);
    return v ? v : "";
}

/* 1 when the answer declares its length exactly once, equal to its body,
 * and is not chunked (a Content-Length set by the plugin and another by
 * httpd made two, which clients such as wrk reject). */
static int length_declared_once(const it_response *r)
{
    int count = 0;
    long long declared = -1;
    for (const char *line = r->headers; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            count++;
            declared = atoll(line + 15);
        }
        if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
            return 0;
        if (!*line)
            break;
    }
    return count == 1 && declared == (long long)r->body_len;
}

/* Two requests for path in a row: the second is a HIT carrying the first
 * one's ETag and bytes, and If-None-Match with that ETag then gets a 304
 * without a body. Tried three times, for when a copy expired in between. */
static void assert_served_from_cache(const char *path)
{
    int done = 0;
    for (int attempt = 0; attempt < 3 && !done; attempt++) {
        it_response first, second, cond;
        char inm[96];
        const char *headers[] = {inm, NULL};
        it_request("GET", path, NULL, NULL, &first);
        it_request("GET", path, NULL, NULL, &second);
        ck_assert_int_eq(first.status, 200);
        ck_assert_int_eq(second.status, 200);
        ck_assert_int_ne(hdr(&second, "Last-Modified")[0], '\0');
        ck_assert_int_eq(hdr(&second, "ETag")[0], '"');
        ck_assert_msg(length_declared_once(&second), "%s: Content-Length not once and exact:\n%s",
                      path, second.headers);
        if (strcmp(hdr(&second, "X-Cache-Status"), "HIT") == 0 &&
            strcmp(hdr(&second, "ETag"), hdr(&first, "ETag")) == 0 &&
            strcmp(second.body, first.body) == 0) {
            snprintf(inm, sizeof(inm), "If-None-Match: %s", hdr(&second, "ETag"));
            it_request("GET", path, headers, NULL, &cond);
            done = cond.status == 304 && cond.body[0] == '\0' &&
                   strcmp(hdr(&cond, "ETag"), hdr(&second, "ETag")) == 0;
            it_free(&cond);
        }
        it_free(&first);
        it_free(&second);
    }
    ck_assert_msg(done, "%s: a second request was not a HIT, or no 304 followed", path);
}

static void run_refresh_script(void)
{
    const char *sdk = getenv("CB_SDK_DIR");
    char cmd[2048], line[1024], output[16384];
    size_t used = 0;
    FILE *p;
    int rc;
    ck_assert_msg(sdk != NULL, "CB_SDK_DIR is not set (scripts/test.sh sets it)");
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && timeout 90 node status-refresh-test.js http://127.0.0.1:%d /status job "
             "/api/push/" PUSH_TOKEN " 2>&1",
             sdk, it.http_port);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    output[0] = '\0';
    while (fgets(line, sizeof(line), p) && used < sizeof(output) - 1) {
        fputs(line, stderr);
        used += (size_t)snprintf(output + used, sizeof(output) - used, "%s", line);
    }
    rc = pclose(p);
    ck_assert_msg(strstr(output, "ok - ") != NULL, "the refresh test ran no check:\n%s", output);
    ck_assert_msg(rc == 0 && strstr(output, "not ok") == NULL, "the refresh test failed:\n%s",
                  output);
}

START_TEST(status_page_cached_and_refreshed_in_place)
{
    it_response r;
    it_setup();
    start();
    /* the push monitor goes Down at its first check; the HTTP one Up */
    ck_assert_msg(wait_page_shows("job", "Down", 15000) && wait_page_shows("web", "Up", 15000),
                  "the monitors did not settle; error log:\n%s", it_error_log());
    it_request("GET", "/status", NULL, NULL, &r);
    ck_assert_str_eq(it_header(&r, "Content-Security-Policy"),
                     "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
                     "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'");
    /* one same-origin script, nothing inline; a reload without JavaScript */
    ck_assert_int_eq(count_of(r.body, "<script"), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "<script src=\"/status/status.js\" defer></script>"));
    ck_assert_ptr_nonnull(strstr(r.body, "<noscript><meta http-equiv=\"refresh\" content=\"60\">"
                                         "</noscript>"));
    ck_assert_ptr_nonnull(strstr(r.body, "<body data-refresh=\"1\">"));
    it_free(&r);
    it_request("GET", "/status/status.js", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(it_header(&r, "Content-Type"), "text/javascript; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "replaceChildren"));
    it_free(&r);
    assert_served_from_cache("/status");
    assert_served_from_cache("/uptime/status.json");
    assert_served_from_cache("/status/badge/web.svg");
    /* in Chromium: Down, then Up in place after a push */
    run_refresh_script();
    /* no more pushes: Down again at the next check, on the cached page
     * within the TTL (2 s) after it (interval 2 s) */
    ck_assert_msg(wait_page_shows("job", "Down", 8000), "the page did not show job Down again");
    it_teardown();
}
END_TEST

Suite *uptime_live_suite(void)
{
    Suite *s = suite_create("uptime_live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, status_page_cached_and_refreshed_in_place);
    suite_add_tcase(s, tc);
    return s;
}
