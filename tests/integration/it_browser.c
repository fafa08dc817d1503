/*
 * it_browser.c: real browser behaviour in headless Chromium. A page on the
 * gateway's own origin calls the API; a page on an allowed secure domain
 * calls it cross-origin (with a preflight); a page on an origin that is not
 * allowed is blocked by the browser because the gateway refuses it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

/* The page fetches ?target= with ?method= and a JSON body and a custom
 * header (so a cross-origin call needs a preflight), then writes the
 * outcome into the DOM for --dump-dom to read. */
static const char page[] =
    "<!doctype html><html><body><pre id=\"out\">pending</pre><script>\n"
    "const q = new URLSearchParams(location.search);\n"
    "const init = {method: q.get('method') || 'GET', headers: {}};\n"
    "if (init.method !== 'GET') { init.body = '{\"x\":1}';\n"
    "  init.headers['Content-Type'] = 'application/json'; }\n"
    "init.headers['X-Request-Id'] = 'browser-test-1';\n"
    "fetch(q.get('target'), init)\n"
    "  .then(async r => { out.textContent = 'RESULT:ok:' + r.status + ':' +\n"
    "      r.headers.get('X-Request-Id') + ':' + (await r.text()).length; })\n"
    "  .catch(e => { out.textContent = 'RESULT:blocked:' + e.name; });\n"
    "</script></body></html>\n";

static void start(void)
{
    char site[4096], path[400];
    FILE *f;
    it_setup();
    snprintf(path, sizeof(path), "%s/docroot/page.html", it.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(page, f);
    fclose(f);
    /* The same httpd also listens on site_port: a second origin. Only
     * http://127.0.0.1:site_port is a secure domain; http://localhost:site_port
     * is the same server under a name that is not. */
    snprintf(site, sizeof(site),
             "Listen 127.0.0.1:%d\n%s"
             "CloudBaseSecureDomains http://127.0.0.1:%d\n",
             it.site_port, it_default_site(), it.site_port);
    if (!it_httpd_start(it_write_config("httpd.conf", "event", site))) {
        char *log = it_error_log();
        it_teardown();
        ck_abort_msg("httpd did not start:\n%s", log);
    }
}

static char *run_page(const char *page_origin, const char *method, const char *target)
{
    char url[1024];
    char *dom;
    snprintf(url, sizeof(url), "%s/page.html?method=%s&target=%s", page_origin, method, target);
    dom = it_browser_dump(url);
    ck_assert_msg(dom != NULL, "chromium did not run (is the chromium package installed?)");
    return dom;
}

START_TEST(same_origin_call)
{
    char origin[128], *dom;
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", it.http_port);
    dom = run_page(origin, "POST", "/v1/test/echo");
    ck_assert_msg(strstr(dom, "RESULT:ok:200:browser-test-1:") != NULL, "%s", dom);
    free(dom);
}
END_TEST

START_TEST(allowed_cross_origin_call)
{
    char origin[128], target[256], *dom;
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", it.site_port);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/v1/test/echo", it.http_port);
    dom = run_page(origin, "POST", target);
    ck_assert_msg(strstr(dom, "RESULT:ok:200:browser-test-1:") != NULL, "%s", dom);
    free(dom);
    /* A proxy route too: the preflight is answered by the gateway and the
     * upstream's answer carries the CORS headers. */
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/v1/test/proxy/echo", it.http_port);
    dom = run_page(origin, "POST", target);
    ck_assert_msg(strstr(dom, "RESULT:ok:200:browser-test-1:") != NULL, "%s", dom);
    free(dom);
}
END_TEST

START_TEST(disallowed_origin_is_blocked)
{
    char origin[128], target[256], *dom;
    snprintf(origin, sizeof(origin), "http://localhost:%d", it.site_port);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/v1/test/echo", it.http_port);
    dom = run_page(origin, "GET", target);
    ck_assert_msg(strstr(dom, "RESULT:blocked:TypeError") != NULL, "%s", dom);
    free(dom);
    snprintf(target, sizeof(target), "http://127.0.0.1:%d/v1/test/proxy/echo", it.http_port);
    dom = run_page(origin, "POST", target);
    ck_assert_msg(strstr(dom, "RESULT:blocked:TypeError") != NULL, "%s", dom);
    free(dom);
}
END_TEST

Suite *browser_suite(void)
{
    Suite *s = suite_create("browser");
    TCase *tc = tcase_create("chromium");
    tcase_add_checked_fixture(tc, start, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_origin_call);
    tcase_add_test(tc, allowed_cross_origin_call);
    tcase_add_test(tc, disallowed_origin_is_blocked);
    suite_add_tcase(s, tc);
    return s;
}
